use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn add_one(x: u64) -> Result<u64, ActivityError> {
    Ok(x + 1)
}

#[orchestrator]
async fn chain(ctx: OrchestrationContext, n: u64) -> Result<u64, ActivityError> {
    let mut total = 0;
    for i in 0..n {
        total += ctx.call(add_one, i).await?;
    }
    Ok(total)
}
