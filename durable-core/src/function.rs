//! Durable functions: helpers an orchestrator (or another helper) awaits inline, whose
//! own state nests in the caller's checkpoint.
//!
//! `#[durable::function] async fn reserve(ctx: &OrchestrationContext, item: Item) ->
//! Result<Lease, E>` is compiled by the same machinery as an orchestrator, into a type
//! implementing [`Function`] and [`DurableOp`](crate::DurableOp): `reserve(&ctx, item).await` runs the
//! helper's first step inside the caller's step, with the caller's context (its calls,
//! timers and events are the caller's). When the helper reaches an `.await`, the caller
//! suspends at its own `.await` with a [`FunctionWaiter`] holding the helper's
//! checkpoint; each later step of the caller resumes the helper first, until it returns.
//! A helper adds no commit of its own, and no instance.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::inspect::{self, Awaited, Lookup};
use crate::machine::{Flow, Machine, StepIo};
use crate::op::{Resumed, Waiter};
use crate::orchestration::{OrchestrationContext, StepError, StepInput, Suspension};
use crate::slot::Persist;
use crate::task::{Completions, Wake};

/// A durable function, implemented by `#[durable::function]`.
pub trait Function: 'static {
    /// What it takes.
    type Input: Persist;
    /// What its `.await` gives: the helper's `Result`.
    type Output: Persist;
    /// Its name (`#[durable::function(name = "..")]`, the function's by default): in
    /// errors, and in the layout of its callers' checkpoints.
    const NAME: &'static str;
    /// `durable::function::NAME`: what its callers' checkpoints know it by.
    const LAYOUT: &'static str;

    /// Runs one step: from the start, or from its checkpoint with the results it waited
    /// for, to its next `.await` or to its end.
    fn step(
        ctx: &OrchestrationContext,
        input: StepInput<'_>,
    ) -> Result<Called<Self::Output>, StepError>;
}

/// How a step of a durable function ended.
pub enum Called<T> {
    /// It returned this.
    Done(T),
    /// It reached an `.await`.
    Suspended(Suspension),
}

/// Runs one step of function `F` (what `#[durable::function]` generates calls).
pub fn drive_function<F: Function<Output = Result<T, E>>, T, E>(
    ctx: &OrchestrationContext,
    input: StepInput<'_>,
    machine: Machine<T, E>,
) -> Result<Called<Result<T, E>>, StepError> {
    let mut io = StepIo::new(F::NAME, input)?;
    match machine(ctx, &mut io) {
        Ok(Flow::Done(output)) => Ok(Called::Done(Ok(output))),
        Err(error) => Ok(Called::Done(Err(error))),
        Ok(Flow::Suspended(suspension)) => Ok(Called::Suspended(suspension)),
        Ok(Flow::Fault(fault)) => Err(fault),
    }
}

/// What a caller saves while a durable function it awaits is suspended: the function's
/// checkpoint and what it waits for, or its result when it returned without waiting.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct FunctionWaiter<F> {
    state: Option<Vec<u8>>,
    wake: Wake,
    done: Option<Vec<u8>>,
    #[serde(skip)]
    function: PhantomData<fn() -> F>,
}

impl<F: Function> FunctionWaiter<F> {
    /// Runs the first step of `F` on `input`, in the caller's step.
    pub fn start(ctx: &OrchestrationContext, input: &F::Input) -> Result<Self, StepError> {
        let input = codec::encode_payload(input, "function input")?;
        let called = F::step(ctx, StepInput::Start { input: &input })?;
        Self::after(called)
    }

    fn after(called: Called<F::Output>) -> Result<Self, StepError> {
        Ok(match called {
            // returned without waiting: the caller steps again at once to take it
            Called::Done(output) => Self {
                state: None,
                wake: Wake::All(Vec::new()),
                done: Some(codec::encode_payload(&output, "function result")?),
                function: PhantomData,
            },
            Called::Suspended(suspension) => Self {
                state: Some(suspension.state),
                wake: suspension.wake,
                done: None,
                function: PhantomData,
            },
        })
    }
}

impl<F: Function> Waiter for FunctionWaiter<F> {
    type Output = F::Output;

    fn layout_name() -> &'static str {
        F::LAYOUT
    }

    fn wake(&self) -> Wake {
        self.wake.clone()
    }

    fn describe(&self, ctx: &OrchestrationContext, lookup: &Lookup<'_>) -> Awaited {
        match &self.state {
            Some(state) => Awaited::Function {
                name: F::NAME,
                waiting: Box::new(inspect::read(ctx, state, lookup, Ok(F::step))),
            },
            None => Awaited::Returned { name: F::NAME },
        }
    }

    fn complete(self, _: &mut Completions) -> Result<F::Output, StepError> {
        match self.done {
            Some(bytes) => Ok(codec::decode_payload(&bytes, "function result")?),
            None => Err(StepError::NotResumable { function: F::NAME }),
        }
    }

    fn resume(
        self,
        ctx: &OrchestrationContext,
        completions: &mut Completions,
    ) -> Result<Resumed<Self>, StepError> {
        if let Some(bytes) = self.done {
            return Ok(Resumed::Ready(codec::decode_payload(
                &bytes,
                "function result",
            )?));
        }
        let Some(state) = self.state else {
            return Err(StepError::NotResumable { function: F::NAME });
        };
        let step = F::step(
            ctx,
            StepInput::Resume {
                state: &state,
                completions,
            },
        );
        let called = step.map_err(|error| StepError::InFunction {
            function: F::NAME,
            error: Box::new(error),
        })?;
        match called {
            Called::Done(output) => Ok(Resumed::Ready(output)),
            called @ Called::Suspended(_) => Ok(Resumed::Again(Self::after(called)?)),
        }
    }
}
