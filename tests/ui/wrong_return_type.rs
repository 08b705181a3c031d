use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn plain(ctx: OrchestrationContext, x: u64) -> u64 {
    x
}
fn main() {}
