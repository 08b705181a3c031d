//! # durable
//!
//! Durable orchestrations for Rust, written as plain `async fn`s. `#[orchestrator]`
//! compiles the function into a state machine that checkpoints its live locals at
//! every `.await`; after a crash the orchestration resumes from its last checkpoint
//! without replaying anything. Activities (`#[activity]`) do the real work.
//!
//! See the README for what orchestrators may contain and the errors you get otherwise.

pub use durable_core::runtime::trace;
pub use durable_core::{
    codec, inspect, join, join_all, limits, select, store, testing, Activity, ActivityContext,
    ActivityError, ActivityFn, Call, Client, ClientError, Command, Completions, DurableOp, Either,
    Event, Inspection, InstanceFilter, InstanceStatus, MemoryStore, Migration, Orchestration,
    OrchestrationContext, OrchestrationError, OrchestrationFn, Purge, RetryPolicy, Runtime,
    RuntimeBuilder, RuntimeStatus, Step, StepError, StepInput, Store, StoreError, Suspension,
    TaskId, TaskResult, TaskSet, Timer, Waiter, Wake,
};
pub use durable_macros::{activity, function, migration, orchestrator};

#[cfg(feature = "rocksdb")]
pub use durable_rocks as rocks;

#[cfg(feature = "http")]
pub use durable_http as http;

/// The PostgreSQL store: worker processes on many machines sharing one database (the
/// `postgres` feature; README, "Outgrowing one machine").
#[cfg(feature = "postgres")]
pub use durable_postgres as postgres;

#[doc(hidden)]
pub use durable_core::__private;
