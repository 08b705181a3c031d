#![deny(deprecated)]

use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {}
}

#[orchestrator]
async fn guarded(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let _guard = Guard;
    let y = ctx.call(double, x).await?;
    Ok(y)
}

fn main() {}
