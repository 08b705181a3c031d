//! Durable operations: what an orchestrator may `.await`.
//!
//! An operation is plain data until the generated state machine suspends on it. Then
//! [`DurableOp::schedule`] turns it into commands and a [`Waiter`]; the waiter is saved
//! in the checkpointed state (it is small: task ids, no results) and, once the wake
//! condition holds, turns the delivered results into the `.await`'s value.

use std::marker::PhantomData;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::activity::{Activity, ActivityError, ActivityFn, InputOf};
use crate::codec;
use crate::inspect::{Awaited, CallState, Lookup, Shown};
use crate::orchestration::{
    Orchestration, OrchestrationContext, OrchestrationFn, OrchestrationInput, StepError,
};
use crate::task::{Command, Completions, Millis, RetryPolicy, TaskId, Wake};

/// The durable operations user code builds from its context, beside the types they
/// build.
impl OrchestrationContext {
    /// A durable timer that fires `duration` after this step's time; `.await` it for
    /// `()`. It survives restarts, and fires late rather than never.
    pub fn timer(&self, duration: Duration) -> Timer {
        Timer::new(crate::store::millis_after(self.now_millis(), duration))
    }

    /// A durable timer that fires at `time` (at once if it has passed).
    pub fn timer_until(&self, time: SystemTime) -> Timer {
        let due = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| crate::store::millis_after(0, d));
        Timer::new(due)
    }

    /// Waits for the external event `name`; `.await` it for its payload. Events raised
    /// before the orchestration waits are kept, first in first out, per name. A payload
    /// of another type fails the instance.
    pub fn event<T: serde::de::DeserializeOwned + 'static>(
        &self,
        name: impl Into<String>,
    ) -> Event<T> {
        Event::new(name.into())
    }

    /// Starts `orchestration` with `input` as a child instance; `.await` it for
    /// `Result<Output, OrchestrationError>`.
    pub fn sub_orchestration<F: OrchestrationFn>(
        &self,
        orchestration: F,
        input: OrchestrationInput<F>,
    ) -> SubOrchestration<F::Orchestration> {
        let _ = orchestration;
        SubOrchestration::new(input)
    }

    /// Calls `activity` with `input`; `.await` it for `Result<Output, ActivityError>`.
    pub fn call<F: ActivityFn>(&self, activity: F, input: InputOf<F>) -> Call<F::Activity> {
        let _ = activity;
        Call::new(input)
    }
}

/// Something an orchestrator can `.await`: activity calls and durable timers (and, as
/// the runtime grows, external events, sub-orchestrations, joins and races).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a durable operation, so an orchestrator cannot `.await` it",
    label = "awaited in an #[orchestrator]",
    note = "every `.await` in an orchestrator is a checkpoint: only durable operations such as `ctx.call(activity, input)` or `ctx.timer(duration)` can be awaited",
    note = "to wait, await a durable timer (`ctx.timer(..)`); do other async work (I/O, HTTP) inside an #[activity] and call it with `ctx.call`",
    note = "to split an orchestrator into helper `async fn`s that await durable operations, mark each helper `#[durable::function]` and call it as `helper(&ctx, input).await`"
)]
pub trait DurableOp {
    /// The value of the `.await`.
    type Output;
    /// What is saved with the state while the operation is outstanding.
    type Waiter: Waiter<Output = Self::Output>;

    /// Emits the operation's commands on `ctx` and returns its waiter.
    fn schedule(self, ctx: &OrchestrationContext) -> Result<Self::Waiter, StepError>;
}

/// The saved half of an outstanding durable operation.
pub trait Waiter: Serialize + DeserializeOwned + 'static {
    /// The value of the `.await`.
    type Output;

    /// The name a checkpoint's layout knows the operation by: its type's name, unless
    /// it has a stabler one (a durable function: its registered name, so that its Rust
    /// path may change).
    fn layout_name() -> &'static str
    where
        Self: Sized,
    {
        std::any::type_name::<Self>()
    }

    /// Which results the operation needs before the orchestration can go on.
    fn wake(&self) -> Wake;

    /// What the operation waits for, as inspection shows it. `lookup` has the
    /// instance's queued calls and timers; `ctx` runs a durable function's code to read
    /// its own checkpoint.
    fn describe(&self, ctx: &OrchestrationContext, lookup: &Lookup<'_>) -> Awaited
    where
        Self: Sized,
    {
        let _ = (ctx, lookup);
        Awaited::Other {
            type_name: std::any::type_name::<Self>(),
        }
    }

    /// Builds the `.await`'s value from the delivered results.
    fn complete(self, completions: &mut Completions) -> Result<Self::Output, StepError>;

    /// Goes on with the delivered results: the `.await`'s value, or, for an operation
    /// that runs steps of its own (a durable function), the waiter of its next
    /// checkpoint, at which the caller suspends again. Most operations are done once
    /// their results are in: the default completes.
    fn resume(
        self,
        ctx: &OrchestrationContext,
        completions: &mut Completions,
    ) -> Result<Resumed<Self>, StepError>
    where
        Self: Sized,
    {
        let _ = ctx;
        Ok(Resumed::Ready(self.complete(completions)?))
    }
}

/// What [`Waiter::resume`] gives.
pub enum Resumed<W: Waiter> {
    /// The `.await`'s value.
    Ready(W::Output),
    /// Not done: suspend again with this waiter.
    Again(W),
}

/// A call of activity `A`: `ctx.call(activity, input)`.
#[must_use = "a durable operation does nothing until an orchestrator awaits it"]
#[derive(Debug, Clone)]
pub struct Call<A: Activity> {
    input: A::Input,
    retry: Option<RetryPolicy>,
    timeout: Option<Duration>,
}

impl<A: Activity> Call<A> {
    pub(crate) fn new(input: A::Input) -> Self {
        Self {
            input,
            retry: None,
            timeout: None,
        }
    }

    /// Gives each attempt at most `timeout` to run: an attempt still running then is
    /// aborted at its next `.await` and counts as failed, so the retry policy applies.
    /// Without it an attempt may run as long as it likes; its worker keeps its claim
    /// on the call meanwhile.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries the call on failure as `policy` says; the `.await` sees the last
    /// attempt's error only when every attempt failed.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
}

impl<A: Activity> DurableOp for Call<A> {
    type Output = Result<A::Output, ActivityError>;
    type Waiter = CallWaiter<A>;

    fn schedule(self, ctx: &OrchestrationContext) -> Result<CallWaiter<A>, StepError> {
        let input = codec::encode_payload(&self.input, "activity input")?;
        let task = ctx.new_task();
        ctx.command(Command::CallActivity {
            task,
            name: A::NAME,
            input,
            retry: self.retry,
            timeout: self.timeout,
        });
        Ok(CallWaiter {
            task,
            activity: PhantomData,
        })
    }
}

/// The saved half of a [`Call`]: the task id of the call.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct CallWaiter<A> {
    task: TaskId,
    #[serde(skip)]
    activity: PhantomData<fn() -> A>,
}

impl<A: Activity> Waiter for CallWaiter<A> {
    type Output = Result<A::Output, ActivityError>;

    fn wake(&self) -> Wake {
        Wake::Task(self.task)
    }

    fn describe(&self, _: &OrchestrationContext, lookup: &Lookup<'_>) -> Awaited {
        let Some(queued) = lookup.call(self.task) else {
            return Awaited::Activity {
                task: self.task,
                name: A::NAME,
                input: None,
                attempt: None,
                state: CallState::Completed,
                not_before: None,
            };
        };
        let call = &queued.task;
        let state = match (queued.claimed, call.attempt) {
            (true, _) => CallState::Running,
            (false, 1) => CallState::Queued,
            (false, _) => CallState::Retrying,
        };
        Awaited::Activity {
            task: self.task,
            name: A::NAME,
            input: Some(Shown::payload::<A::Input>(&call.input)),
            attempt: Some(call.attempt),
            state,
            not_before: (call.not_before > 0).then_some(call.not_before),
        }
    }

    fn complete(self, completions: &mut Completions) -> Result<Self::Output, StepError> {
        match completions.take(self.task) {
            None => Err(StepError::MissingResult(self.task)),
            Some(Ok(bytes)) => Ok(Ok(codec::decode_payload(&bytes, "activity output")?)),
            Some(Err(message)) => Ok(Err(ActivityError {
                activity: A::NAME.to_owned(),
                message,
            })),
        }
    }
}

/// A durable timer: `ctx.timer(duration)` or `ctx.timer_until(time)`.
#[must_use = "a durable operation does nothing until an orchestrator awaits it"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    due: Millis,
}

impl Timer {
    pub(crate) fn new(due: Millis) -> Self {
        Self { due }
    }
}

impl DurableOp for Timer {
    type Output = ();
    type Waiter = TimerWaiter;

    fn schedule(self, ctx: &OrchestrationContext) -> Result<TimerWaiter, StepError> {
        let task = ctx.new_task();
        ctx.command(Command::StartTimer {
            task,
            due: self.due,
        });
        Ok(TimerWaiter { task })
    }
}

/// The saved half of a [`Timer`].
#[derive(Debug, Serialize, Deserialize)]
pub struct TimerWaiter {
    task: TaskId,
}

impl Waiter for TimerWaiter {
    type Output = ();

    fn wake(&self) -> Wake {
        Wake::Task(self.task)
    }

    fn describe(&self, _: &OrchestrationContext, lookup: &Lookup<'_>) -> Awaited {
        Awaited::Timer {
            task: self.task,
            due: lookup.timer(self.task),
        }
    }

    fn complete(self, completions: &mut Completions) -> Result<(), StepError> {
        completions
            .take(self.task)
            .map(drop)
            .ok_or(StepError::MissingResult(self.task))
    }
}

/// An external event: `ctx.event::<T>(name)`, completed by the next event raised with
/// that name (events raised earlier wait in the instance, first in first out).
#[must_use = "a durable operation does nothing until an orchestrator awaits it"]
#[derive(Debug)]
pub struct Event<T> {
    name: String,
    payload: PhantomData<fn() -> T>,
}

impl<T> Event<T> {
    pub(crate) fn new(name: String) -> Self {
        Self {
            name,
            payload: PhantomData,
        }
    }
}

impl<T: DeserializeOwned + 'static> DurableOp for Event<T> {
    type Output = T;
    type Waiter = EventWaiter<T>;

    fn schedule(self, ctx: &OrchestrationContext) -> Result<EventWaiter<T>, StepError> {
        let task = ctx.new_task();
        ctx.command(Command::WaitEvent {
            task,
            name: self.name.clone(),
        });
        Ok(EventWaiter {
            task,
            name: self.name,
            payload: PhantomData,
        })
    }
}

/// The saved half of an [`Event`].
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct EventWaiter<T> {
    task: TaskId,
    name: String,
    #[serde(skip)]
    payload: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + 'static> Waiter for EventWaiter<T> {
    type Output = T;

    fn wake(&self) -> Wake {
        Wake::Task(self.task)
    }

    fn describe(&self, _: &OrchestrationContext, _: &Lookup<'_>) -> Awaited {
        Awaited::Event {
            task: self.task,
            name: self.name.clone(),
        }
    }

    fn complete(self, completions: &mut Completions) -> Result<T, StepError> {
        match completions.take(self.task) {
            Some(Ok(bytes)) => {
                codec::decode_payload(&bytes, "event payload").map_err(|e| StepError::BadEvent {
                    name: self.name,
                    error: e.to_string(),
                })
            }
            Some(Err(message)) => Err(StepError::BadEvent {
                name: self.name,
                error: message,
            }),
            None => Err(StepError::MissingResult(self.task)),
        }
    }
}

/// A sub-orchestration failed: what `ctx.sub_orchestration(..).await` gives then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("sub-orchestration `{orchestration}` ({id}) failed: {message}")]
pub struct OrchestrationError {
    pub orchestration: String,
    pub id: String,
    pub message: String,
}

/// A sub-orchestration: `ctx.sub_orchestration(orchestration, input)`. Its instance id is
/// the parent's id and the task number, so it is started once whatever happens.
#[must_use = "a durable operation does nothing until an orchestrator awaits it"]
pub struct SubOrchestration<O: Orchestration> {
    input: O::Input,
}

impl<O: Orchestration> SubOrchestration<O> {
    pub(crate) fn new(input: O::Input) -> Self {
        Self { input }
    }
}

/// The id of the sub-orchestration that `parent` starts as `task`: deterministic, so a
/// step that runs twice starts the child once.
pub(crate) fn child_id(parent: &str, task: TaskId) -> String {
    format!("{parent}:{}", task.0)
}

impl<O: Orchestration> DurableOp for SubOrchestration<O> {
    type Output = Result<O::Output, OrchestrationError>;
    type Waiter = SubOrchestrationWaiter<O>;

    fn schedule(self, ctx: &OrchestrationContext) -> Result<Self::Waiter, StepError> {
        let input = codec::encode_payload(&self.input, "orchestration input")?;
        let task = ctx.new_task();
        let id = child_id(ctx.instance_id(), task);
        ctx.command(Command::StartChild {
            task,
            name: O::NAME,
            version: O::VERSION,
            id: id.clone(),
            input,
        });
        Ok(SubOrchestrationWaiter {
            task,
            id,
            orchestration: PhantomData,
        })
    }
}

/// The saved half of a [`SubOrchestration`].
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct SubOrchestrationWaiter<O> {
    task: TaskId,
    id: String,
    #[serde(skip)]
    orchestration: PhantomData<fn() -> O>,
}

impl<O: Orchestration> Waiter for SubOrchestrationWaiter<O> {
    type Output = Result<O::Output, OrchestrationError>;

    fn wake(&self) -> Wake {
        Wake::Task(self.task)
    }

    fn describe(&self, _: &OrchestrationContext, _: &Lookup<'_>) -> Awaited {
        Awaited::Child {
            task: self.task,
            id: self.id.clone(),
            orchestration: O::NAME,
        }
    }

    fn complete(self, completions: &mut Completions) -> Result<Self::Output, StepError> {
        match completions.take(self.task) {
            None => Err(StepError::MissingResult(self.task)),
            Some(Ok(bytes)) => Ok(Ok(codec::decode_payload(&bytes, "orchestration output")?)),
            Some(Err(message)) => Ok(Err(OrchestrationError {
                orchestration: O::NAME.to_owned(),
                id: self.id,
                message,
            })),
        }
    }
}
