use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn pinned(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    #[point("twice")]
    let y = x * 2;
    #[point("both")]
    let z = ctx.call(double, y).await? + ctx.call(double, x).await?;
    #[point(approval)]
    let w = ctx.call(double, z).await?;
    Ok(w)
}

fn main() {}
