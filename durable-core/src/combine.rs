//! Fan-out / fan-in and races: durable operations made of other durable operations.
//! All parts are scheduled in the same step (one commit); the orchestration resumes
//! once, when the combined wake condition holds.

use serde::{Deserialize, Serialize};

use crate::inspect::{Awaited, Lookup};
use crate::op::{Call, DurableOp, Event, SubOrchestration, Timer, Waiter};
use crate::orchestration::{OrchestrationContext, StepError};
use crate::task::{Completions, Wake};

/// A durable operation that can be joined or raced: one whose results are all it
/// needs. A durable function runs steps of its own when it resumes, which a join or a
/// race cannot give it yet.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be joined or raced",
    label = "a durable function, or an operation made of one",
    note = "a durable function runs steps of its own as it resumes: await it on its own, or make it a sub-orchestration (`ctx.sub_orchestration`) to run it beside others"
)]
pub trait Combinable: DurableOp {}

impl<A: crate::activity::Activity> Combinable for Call<A> {}
impl Combinable for Timer {}
impl<T: serde::de::DeserializeOwned + 'static> Combinable for Event<T> {}
impl<O: crate::orchestration::Orchestration> Combinable for SubOrchestration<O> {}
impl<O: Combinable> Combinable for JoinAll<O> {}
impl<A: Combinable, B: Combinable> Combinable for Join<A, B> {}
impl<A: Combinable, B: Combinable> Combinable for Select<A, B> {}

/// Awaits every operation of `ops` and gives their values in order (fan-out/fan-in).
pub fn join_all<O: Combinable>(ops: impl IntoIterator<Item = O>) -> JoinAll<O> {
    JoinAll {
        ops: ops.into_iter().collect(),
    }
}

/// Awaits both operations: `(a, b)`.
pub fn join<A: Combinable, B: Combinable>(a: A, b: B) -> Join<A, B> {
    Join { a, b }
}

/// Awaits whichever of the two operations finishes first: `Either::Left(a)` or
/// `Either::Right(b)` (if both results are there, `a` wins). The loser's result, if it
/// ever comes, is dropped.
pub fn select<A: Combinable, B: Combinable>(a: A, b: B) -> Select<A, B> {
    Select { a, b }
}

/// The value of a [`select`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Either<L, R> {
    Left(L),
    Right(R),
}

#[must_use = "a durable operation does nothing until an orchestrator awaits it"]
pub struct JoinAll<O> {
    ops: Vec<O>,
}

impl<O: DurableOp> DurableOp for JoinAll<O> {
    type Output = Vec<O::Output>;
    type Waiter = JoinAllWaiter<O::Waiter>;

    fn schedule(self, ctx: &OrchestrationContext) -> Result<Self::Waiter, StepError> {
        let waiters = self
            .ops
            .into_iter()
            .map(|op| op.schedule(ctx))
            .collect::<Result<_, _>>()?;
        Ok(JoinAllWaiter { waiters })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct JoinAllWaiter<W: Waiter> {
    waiters: Vec<W>,
}

impl<W: Waiter> Waiter for JoinAllWaiter<W> {
    type Output = Vec<W::Output>;

    fn wake(&self) -> Wake {
        Wake::All(self.waiters.iter().map(Waiter::wake).collect())
    }

    fn describe(&self, ctx: &OrchestrationContext, lookup: &Lookup<'_>) -> Awaited {
        Awaited::All(
            self.waiters
                .iter()
                .map(|w| w.describe(ctx, lookup))
                .collect(),
        )
    }

    fn complete(self, completions: &mut Completions) -> Result<Self::Output, StepError> {
        self.waiters
            .into_iter()
            .map(|w| w.complete(completions))
            .collect()
    }
}

#[must_use = "a durable operation does nothing until an orchestrator awaits it"]
pub struct Join<A, B> {
    a: A,
    b: B,
}

impl<A: DurableOp, B: DurableOp> DurableOp for Join<A, B> {
    type Output = (A::Output, B::Output);
    type Waiter = PairWaiter<A::Waiter, B::Waiter>;

    fn schedule(self, ctx: &OrchestrationContext) -> Result<Self::Waiter, StepError> {
        Ok(PairWaiter {
            a: self.a.schedule(ctx)?,
            b: self.b.schedule(ctx)?,
        })
    }
}

/// The saved half of a [`join`] or a [`select`].
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct PairWaiter<A: Waiter, B: Waiter> {
    a: A,
    b: B,
}

impl<A: Waiter, B: Waiter> Waiter for PairWaiter<A, B> {
    type Output = (A::Output, B::Output);

    fn wake(&self) -> Wake {
        Wake::All(vec![self.a.wake(), self.b.wake()])
    }

    fn describe(&self, ctx: &OrchestrationContext, lookup: &Lookup<'_>) -> Awaited {
        Awaited::All(vec![
            self.a.describe(ctx, lookup),
            self.b.describe(ctx, lookup),
        ])
    }

    fn complete(self, completions: &mut Completions) -> Result<Self::Output, StepError> {
        Ok((self.a.complete(completions)?, self.b.complete(completions)?))
    }
}

#[must_use = "a durable operation does nothing until an orchestrator awaits it"]
pub struct Select<A, B> {
    a: A,
    b: B,
}

impl<A: DurableOp, B: DurableOp> DurableOp for Select<A, B> {
    type Output = Either<A::Output, B::Output>;
    type Waiter = SelectWaiter<A::Waiter, B::Waiter>;

    fn schedule(self, ctx: &OrchestrationContext) -> Result<Self::Waiter, StepError> {
        Ok(SelectWaiter(PairWaiter {
            a: self.a.schedule(ctx)?,
            b: self.b.schedule(ctx)?,
        }))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct SelectWaiter<A: Waiter, B: Waiter>(PairWaiter<A, B>);

impl<A: Waiter, B: Waiter> Waiter for SelectWaiter<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn wake(&self) -> Wake {
        Wake::Any(vec![self.0.a.wake(), self.0.b.wake()])
    }

    fn describe(&self, ctx: &OrchestrationContext, lookup: &Lookup<'_>) -> Awaited {
        Awaited::Any(vec![
            self.0.a.describe(ctx, lookup),
            self.0.b.describe(ctx, lookup),
        ])
    }

    fn complete(self, completions: &mut Completions) -> Result<Self::Output, StepError> {
        let PairWaiter { a, b } = self.0;
        if a.wake().is_ready(|t| completions.contains(t)) {
            Ok(Either::Left(a.complete(completions)?))
        } else {
            Ok(Either::Right(b.complete(completions)?))
        }
    }
}
