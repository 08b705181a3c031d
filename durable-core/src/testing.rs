//! An in-process driver for tests: runs an orchestration to completion, executing its
//! activities inline, and carries nothing from one step to the next but the encoded
//! state bytes. Every `.await` is therefore a full save / drop / restore round trip.
//!
//! It applies what the runtime applies: retry policies and timeouts of activity calls,
//! timers, events and races, in the order the runtime would see them. Time is virtual:
//! a timer fires when nothing that arrives sooner can wake the orchestration (a retry's
//! backoff and a timer's duration advance the clock instead of being waited for), so a
//! test of an hour-long timeout runs in microseconds. A panic in an activity is a failed
//! attempt, and a panic in the orchestrator fails the run, as in the runtime.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::activity::{erase, Activity, ActivityContext, ActivityFn, ErasedActivity};
use crate::codec::{self, CodecError};
use crate::orchestration::{
    Orchestration, OrchestrationContext, OrchestrationFn, OrchestrationInput, OrchestrationOutput,
    Step, StepError, StepInput,
};
use crate::runtime::panic_message;
use crate::store::{millis_after, now_millis, Millis, PartReader};
use crate::task::{Command, Completions, RetryPolicy, TaskId, TaskResult};

/// Runs orchestrations in-process with activities executed inline.
#[derive(Default)]
pub struct InlineRunner {
    activities: HashMap<&'static str, ErasedActivity>,
    /// External events, by name, oldest first: delivered to the waits of every run.
    events: Vec<(String, Vec<u8>)>,
}

/// How an inline run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineRun<T> {
    /// The orchestrator's result; an error is the message of the error it returned.
    pub result: Result<T, String>,
    /// The encoded size of each state it saved, in order: one per `.await`.
    pub checkpoints: Vec<usize>,
}

/// An inline run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum InlineError {
    #[error(transparent)]
    Step(#[from] StepError),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("activity `{0}` is not registered with the runner")]
    UnknownActivity(&'static str),
    #[error("the orchestration suspended, but what it waits for can never arrive")]
    Stuck,
    #[error(
        "the inline runner does not run sub-orchestrations (`{0}`); use a Runtime on a MemoryStore"
    )]
    SubOrchestration(&'static str),
}

impl InlineRunner {
    /// A runner with no activities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `activity` under its name.
    pub fn activity<F: ActivityFn>(mut self, activity: F) -> Self {
        let _ = activity;
        let name = <F::Activity as Activity>::NAME;
        self.activities.insert(name, erase::<F::Activity>());
        self
    }

    /// Makes an external event available: the first wait for `name` in a run gets the
    /// first payload queued under that name, and so on.
    pub fn event<T: serde::Serialize>(
        mut self,
        name: &str,
        payload: &T,
    ) -> Result<Self, CodecError> {
        self.events.push((
            name.to_owned(),
            codec::encode_payload(payload, "event payload")?,
        ));
        Ok(self)
    }

    /// Runs `orchestration` on `input` to its end.
    pub async fn run<F: OrchestrationFn>(
        &self,
        orchestration: F,
        input: &OrchestrationInput<F>,
    ) -> Result<InlineRun<OrchestrationOutput<F>>, InlineError> {
        let _ = orchestration;
        self.run_machine::<F::Orchestration>(input).await
    }

    async fn run_machine<O: Orchestration>(
        &self,
        input: &O::Input,
    ) -> Result<InlineRun<O::Output>, InlineError> {
        let input = codec::encode_payload(input, "orchestration input")?;
        let mut clock = now_millis();
        let mut next_task = 0;
        let mut checkpoints = Vec::new();
        let mut saved: Option<(Vec<u8>, Completions)> = None;
        let mut events = self.events.clone();
        // events delivered to the last checkpoint: each leaves the queue once the
        // machine takes it (one that lost a race stays, as in the runtime)
        let mut offered: Vec<(TaskId, usize)> = Vec::new();
        // results started by earlier steps and not delivered yet, with when they arrive
        let mut pending: Vec<(Millis, TaskId, TaskResult)> = Vec::new();
        // what the run keeps beside its checkpoints, as a store that keeps parts does
        let parts: Arc<Mutex<HashMap<u64, Vec<u8>>>> = Arc::default();
        let reader = {
            let parts = parts.clone();
            PartReader(Arc::new(move |_: &str, key: u64| {
                let parts = parts.lock().unwrap_or_else(|p| p.into_inner());
                Ok(parts.get(&key).cloned())
            }))
        };
        loop {
            // the context is not `Send`: it lives for the step only, not across `.await`s
            let (step, commands) = {
                let ctx = OrchestrationContext::new("inline", next_task, clock)
                    .with_parts(Some(reader.clone()));
                let step = std::panic::catch_unwind(AssertUnwindSafe(|| match &mut saved {
                    None => O::step(&ctx, StepInput::Start { input: &input }),
                    Some((state, completions)) => {
                        O::step(&ctx, StepInput::Resume { state, completions })
                    }
                }));
                next_task = ctx.next_task();
                let mut kept = parts.lock().unwrap_or_else(|p| p.into_inner());
                for (key, bytes) in ctx.take_part_writes() {
                    match bytes {
                        Some(bytes) => kept.insert(key, bytes),
                        None => kept.remove(&key),
                    };
                }
                (step, ctx.take_commands())
            };
            if let Some((_, completions)) = &saved {
                let mut taken: Vec<usize> = std::mem::take(&mut offered)
                    .into_iter()
                    .filter(|(task, _)| !completions.contains(*task))
                    .map(|(_, i)| i)
                    .collect();
                taken.sort_unstable_by(|a, b| b.cmp(a));
                for i in taken {
                    events.remove(i);
                }
            }
            let suspension = match step {
                Err(panic) => {
                    return Ok(InlineRun {
                        result: Err(format!(
                            "the orchestration panicked: {}",
                            panic_message(&*panic)
                        )),
                        checkpoints,
                    })
                }
                Ok(step) => match step? {
                    Step::Completed(output) => {
                        let output = codec::decode_payload(&output, "orchestration output")?;
                        return Ok(InlineRun {
                            result: Ok(output),
                            checkpoints,
                        });
                    }
                    Step::Failed(message) => {
                        return Ok(InlineRun {
                            result: Err(message),
                            checkpoints,
                        })
                    }
                    Step::Suspended(suspension) => suspension,
                },
            };
            checkpoints.push(suspension.state.len());
            // what the step started, with the virtual time each completes at; an event
            // is taken from the queue only if it is delivered (a race may not need it)
            let mut arrivals: Vec<(Millis, TaskId, TaskResult)> = Vec::new();
            let mut claimed: Vec<(TaskId, usize)> = Vec::new();
            for command in commands {
                match command {
                    Command::CallActivity {
                        task,
                        name,
                        input,
                        retry,
                        timeout,
                    } => {
                        let (result, waited) = self.call(name, input, retry, timeout).await?;
                        arrivals.push((millis_after(clock, waited), task, result));
                    }
                    Command::StartTimer { task, due } => arrivals.push((due, task, Ok(Vec::new()))),
                    Command::StartChild { name, .. } => {
                        return Err(InlineError::SubOrchestration(name))
                    }
                    Command::WaitEvent { task, name } => {
                        let free = |i: &usize| !claimed.iter().any(|(_, c)| c == i);
                        let found = (0..events.len())
                            .filter(free)
                            .find(|i| events[*i].0 == name);
                        if let Some(i) = found {
                            claimed.push((task, i));
                            arrivals.push((clock, task, Ok(events[i].1.clone())));
                        }
                    }
                }
            }
            // deliver in time order until the orchestration can go on; what arrives
            // later waits for the next step if the checkpoint still waits for it (a task
            // set), and is dropped if not (a race's loser), as in the runtime
            let awaited = suspension.wake.tasks();
            pending.extend(arrivals);
            pending.retain(|(_, task, _)| awaited.contains(task));
            pending.sort_by_key(|(at, _, _)| *at);
            let mut completions = Completions::new();
            while !suspension.wake.is_ready(|task| completions.contains(task)) {
                let Some((at, _, _)) = pending.first() else {
                    return Err(InlineError::Stuck);
                };
                clock = clock.max(*at);
                while pending.first().is_some_and(|(at, _, _)| *at <= clock) {
                    let (_, task, result) = pending.remove(0);
                    completions.insert(task, result);
                }
            }
            offered = claimed;
            saved = Some((suspension.state, completions));
        }
    }

    /// Runs a call with its retry policy and timeout, as the runtime does; its result
    /// and how long its retries waited.
    async fn call(
        &self,
        name: &'static str,
        input: Vec<u8>,
        retry: Option<RetryPolicy>,
        timeout: Option<Duration>,
    ) -> Result<(TaskResult, Duration), InlineError> {
        let activity = *self
            .activities
            .get(name)
            .ok_or(InlineError::UnknownActivity(name))?;
        let mut waited = Duration::ZERO;
        let mut attempt = 1;
        loop {
            let running = tokio::spawn(activity(
                ActivityContext::new("inline", attempt),
                input.clone(),
            ));
            let joined = match timeout {
                None => Some(running.await),
                Some(limit) => tokio::time::timeout(limit, running).await.ok(),
            };
            let result = match joined {
                None => Err(format!(
                    "activity `{name}` timed out after {:?}",
                    timeout.unwrap_or_default()
                )),
                Some(Ok(result)) => result,
                Some(Err(e)) if e.is_panic() => Err(format!(
                    "activity `{name}` panicked: {}",
                    panic_message(&*e.into_panic())
                )),
                Some(Err(e)) => Err(format!("activity `{name}` was cancelled: {e}")),
            };
            match (&result, retry.and_then(|r| r.delay_after(attempt))) {
                (Err(_), Some(delay)) => {
                    waited += delay;
                    attempt += 1;
                }
                _ => {
                    let result = result.map_err(|error| match attempt {
                        1 => error,
                        n => format!("{error} (after {n} attempts)"),
                    });
                    return Ok((result, waited));
                }
            }
        }
    }
}
