//! Monitor: poll a condition with a durable timer between checks, until it holds or the
//! monitor expires. The loop can run for months: its state is the same few bytes at
//! every check (no continue-as-new). `cargo run --example monitor` runs it.

use std::time::Duration;

use durable::{
    activity, orchestrator, ActivityError, OrchestrationContext, Runtime, RuntimeBuilder, Store,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Watch {
    pub job: String,
    /// The job is done at this check (a stand-in for asking a real service).
    pub done_at_check: u32,
    pub interval: Duration,
    pub max_checks: u32,
}

#[activity]
pub async fn job_done(check: (String, u32, u32)) -> Result<bool, String> {
    let (job, n, done_at) = check;
    let done = n >= done_at;
    let verdict = if done { "done" } else { "not yet" };
    println!("  [monitor] check {n} of {job}: {verdict}");
    Ok(done)
}

#[orchestrator]
pub async fn monitor(ctx: OrchestrationContext, watch: Watch) -> Result<String, ActivityError> {
    let Watch {
        job,
        done_at_check,
        interval,
        max_checks,
    } = watch;
    let mut checks = 0;
    while checks < max_checks {
        checks += 1;
        if ctx
            .call(job_done, (job.clone(), checks, done_at_check))
            .await?
        {
            return Ok(format!("{job} done after {checks} checks"));
        }
        ctx.timer(interval).await;
    }
    Ok(format!("gave up on {job} after {checks} checks"))
}

/// Registers the monitor's orchestration and activity.
pub fn register<S: Store>(builder: RuntimeBuilder<S>) -> RuntimeBuilder<S> {
    builder.orchestration(monitor).activity(job_done)
}

/// Runs `watch` on `store`.
pub async fn run<S: Store>(store: S, watch: Watch) -> Result<String, Box<dyn std::error::Error>> {
    let runtime = register(Runtime::builder(store))
        .poll_interval(Duration::from_millis(10))
        .start();
    let client = runtime.client();
    let id = client.start(monitor, None, &watch).await?;
    let result = client.wait(monitor, &id, Duration::from_secs(60)).await?;
    runtime.shutdown().await;
    Ok(result?)
}
