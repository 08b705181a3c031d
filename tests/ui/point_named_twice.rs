use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn twice(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    #[point("step")]
    let a = ctx.call(double, x).await?;
    #[point("step")]
    let b = ctx.call(double, a).await?;
    Ok(b)
}

fn main() {}
