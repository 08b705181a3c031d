//! Bounded parallelism: a set of durable operations in flight that a loop keeps filled,
//! like tokio's `JoinSet`. It is an ordinary saved local: its checkpoint holds the
//! operations in flight (their waiters), not the ones done, so a loop over 10,000 items
//! with 20 in flight keeps a checkpoint the size of 20. Inside an orchestrator (whole
//! and tested in `examples/bounded_parallelism.rs`):
//!
//! ```text
//! let mut pool = TaskSet::of_calls(process);
//! for item in items.iter() {
//!     if pool.len() == 20 {
//!         let (done, rest) = pool.next().await; // one or more have finished
//!         pool = rest;
//!         total += done.len();
//!     }
//!     pool.push(&ctx, ctx.call(process, *item));
//! }
//! while !pool.is_empty() {
//!     let (done, rest) = pool.next().await;
//!     pool = rest;
//!     total += done.len();
//! }
//! ```

use serde::{Deserialize, Serialize};

use crate::activity::{Activity, ActivityFn};
use crate::combine::Combinable;
use crate::inspect::{Awaited, Lookup};
use crate::op::Call;
use crate::op::{DurableOp, Waiter};
use crate::orchestration::{OrchestrationContext, StepError};
use crate::task::{Completions, Wake};

/// Operations of type `O` in flight, each with the number it was pushed as.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct TaskSet<O: DurableOp> {
    in_flight: Vec<(u64, O::Waiter)>,
    pushed: u64,
    /// The first operation that could not be scheduled: reported by [`TaskSet::next`].
    failed: Option<String>,
}

impl<O: DurableOp> Default for TaskSet<O> {
    fn default() -> Self {
        Self {
            in_flight: Vec::new(),
            pushed: 0,
            failed: None,
        }
    }
}

impl<A: Activity> TaskSet<Call<A>> {
    /// An empty set of calls of `activity`: names the set's type, which the machine
    /// needs before the first push (`TaskSet::new()` needs an annotation instead).
    pub fn of_calls<F: ActivityFn<Activity = A>>(activity: F) -> Self {
        let _ = activity;
        Self::default()
    }
}

impl<O: Combinable> TaskSet<O> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `op` now (its call, timer or child is scheduled with this step) and
    /// returns the number it is pushed as, from 0. An operation that cannot be
    /// scheduled (its input does not encode) fails the next [`TaskSet::next`].
    pub fn push(&mut self, ctx: &OrchestrationContext, op: O) -> u64 {
        let n = self.pushed;
        self.pushed += 1;
        match op.schedule(ctx) {
            Ok(waiter) => self.in_flight.push((n, waiter)),
            Err(e) => {
                self.failed.get_or_insert_with(|| e.to_string());
            }
        }
        n
    }

    /// How many are in flight.
    pub fn len(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether none is in flight.
    pub fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Waits until at least one in flight has finished (at once if none is in flight),
    /// and gives every one that has, with the number it was pushed as, and the set.
    pub fn next(self) -> Next<O> {
        Next { set: self }
    }
}

/// The durable operation of [`TaskSet::next`].
#[must_use = "a durable operation does nothing until an orchestrator awaits it"]
pub struct Next<O: DurableOp> {
    set: TaskSet<O>,
}

impl<O: Combinable + 'static> DurableOp for Next<O> {
    type Output = (Vec<(u64, O::Output)>, TaskSet<O>);
    type Waiter = NextWaiter<O>;

    fn schedule(self, _: &OrchestrationContext) -> Result<NextWaiter<O>, StepError> {
        if let Some(message) = &self.set.failed {
            return Err(StepError::TaskSet(message.clone()));
        }
        Ok(NextWaiter { set: self.set })
    }
}

/// What is saved while [`TaskSet::next`] waits: the set.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct NextWaiter<O: DurableOp> {
    set: TaskSet<O>,
}

impl<O: Combinable + 'static> Waiter for NextWaiter<O> {
    type Output = (Vec<(u64, O::Output)>, TaskSet<O>);

    fn wake(&self) -> Wake {
        match self.set.in_flight.len() {
            // nothing to wait for: go on at once
            0 => Wake::All(Vec::new()),
            _ => Wake::Any(self.set.in_flight.iter().map(|(_, w)| w.wake()).collect()),
        }
    }

    fn describe(&self, ctx: &OrchestrationContext, lookup: &Lookup<'_>) -> Awaited {
        let in_flight = self
            .set
            .in_flight
            .iter()
            .map(|(_, w)| w.describe(ctx, lookup));
        match self.set.in_flight.len() {
            // as `wake` says: nothing to wait for
            0 => Awaited::All(Vec::new()),
            _ => Awaited::Any(in_flight.collect()),
        }
    }

    fn complete(self, completions: &mut Completions) -> Result<Self::Output, StepError> {
        let mut set = self.set;
        let mut done = Vec::new();
        let mut waiting = Vec::with_capacity(set.in_flight.len());
        for (n, waiter) in set.in_flight {
            if waiter.wake().is_ready(|t| completions.contains(t)) {
                done.push((n, waiter.complete(completions)?));
            } else {
                waiting.push((n, waiter));
            }
        }
        set.in_flight = waiting;
        Ok((done, set))
    }
}
