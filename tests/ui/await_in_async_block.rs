use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn in_async_block(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let later = async { ctx.call(double, x).await };
    let _ = later;
    Ok(x)
}
fn main() {}
