use durable::{activity, join, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, ActivityError> {
    Ok(x * 2)
}

#[durable::function]
async fn twice(ctx: &OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let y = ctx.call(double, x).await?;
    ctx.call(double, y).await
}

#[orchestrator]
async fn both(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let (a, b) = join(twice(&ctx, x), ctx.call(double, x)).await;
    Ok(a? + b?)
}

fn main() {}
