//! Bounded parallelism: process many items with at most a few in flight, through a
//! `TaskSet` that a loop keeps filled. The checkpoint holds the calls in flight, not
//! the items done, so it stays the same size however many items there are. Progress is
//! published as custom status. `cargo run --example
//! bounded_parallelism` runs it.

use std::time::Duration;

use durable::{
    activity, orchestrator, OrchestrationContext, Runtime, RuntimeBuilder, Store, TaskSet,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub items: u64,
    pub in_flight: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub done: u64,
    pub of: u64,
    pub total: u64,
}

/// Stands in for real work on one item.
#[activity]
pub async fn process(item: u64) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(item % 7)
}

#[orchestrator]
pub async fn process_all(ctx: OrchestrationContext, job: Job) -> Result<Progress, String> {
    let mut pool = TaskSet::of_calls(process);
    let mut progress = Progress {
        done: 0,
        of: job.items,
        total: 0,
    };
    for item in 0..job.items {
        if pool.len() >= job.in_flight {
            let (finished, rest) = pool.next().await;
            pool = rest;
            progress.count(&ctx, finished)?;
        }
        pool.push(&ctx, ctx.call(process, item));
    }
    while !pool.is_empty() {
        let (finished, rest) = pool.next().await;
        pool = rest;
        progress.count(&ctx, finished)?;
    }
    Ok(progress)
}

impl Progress {
    /// Counts finished calls in and publishes the progress as custom status.
    fn count<K, E: std::fmt::Display>(
        &mut self,
        ctx: &OrchestrationContext,
        finished: impl IntoIterator<Item = (K, Result<u64, E>)>,
    ) -> Result<(), String> {
        for (_, result) in finished {
            self.total += result.map_err(|e| e.to_string())?;
            self.done += 1;
        }
        ctx.set_custom_status(self).map_err(|e| e.to_string())
    }
}

/// Registers the orchestration and its activity.
pub fn register<S: Store>(builder: RuntimeBuilder<S>) -> RuntimeBuilder<S> {
    builder.orchestration(process_all).activity(process)
}

/// Runs `job` on `store` and returns the final progress, as the result and as the last
/// custom status published.
pub async fn run<S: Store>(
    store: S,
    job: &Job,
) -> Result<(Progress, Option<Progress>), Box<dyn std::error::Error>> {
    let runtime = register(Runtime::builder(store)).concurrency(2, 32).start();
    let client = runtime.client();
    let id = client.start(process_all, None, job).await?;
    let result = client
        .wait(process_all, &id, Duration::from_secs(300))
        .await?;
    let published = client.status(&id).await?.and_then(|s| s.custom_status);
    let published = published
        .map(|bytes| durable::codec::decode_payload::<Progress>(&bytes, "custom status"))
        .transpose()?;
    runtime.shutdown().await;
    Ok((result?, published))
}
