use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn is_valid(x: u64) -> Result<bool, ActivityError> {
    Ok(x % 2 == 0)
}

#[activity]
async fn price(x: u64) -> Result<u64, ActivityError> {
    Ok(x * 3)
}

#[orchestrator]
async fn quote(ctx: OrchestrationContext, items: Vec<u64>) -> Result<u64, ActivityError> {
    let mut sum = 0;
    for item in items {
        if item > 10 && ctx.call(is_valid, item).await? {
            sum += ctx.call(price, item).await? + item;
        }
    }
    Ok(sum)
}
