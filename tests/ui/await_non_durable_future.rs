use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn sleeper(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let y = ctx.call(double, x).await?;
    std::future::ready(()).await;
    Ok(y)
}
fn main() {}
