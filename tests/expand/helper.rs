use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn charge(cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

#[durable::function]
async fn pay_twice(ctx: &OrchestrationContext, cents: u64) -> Result<u64, ActivityError> {
    let first = ctx.call(charge, cents).await?;
    let second = ctx.call(charge, cents).await?;
    Ok(first + second)
}

#[orchestrator]
async fn checkout(ctx: OrchestrationContext, cents: u64) -> Result<u64, ActivityError> {
    let paid = pay_twice(&ctx, cents).await?;
    Ok(paid)
}
