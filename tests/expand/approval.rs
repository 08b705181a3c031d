use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn request_approval(amount: u64) -> Result<bool, ActivityError> {
    Ok(amount < 1000)
}

#[activity]
async fn pay(amount: u64) -> Result<u64, ActivityError> {
    Ok(amount)
}

#[orchestrator(name = "approval")]
async fn approve_and_pay(ctx: OrchestrationContext, amount: u64) -> Result<u64, ActivityError> {
    if amount == 0 {
        return Ok(0);
    }
    let paid = if ctx.call(request_approval, amount).await? {
        ctx.call(pay, amount).await?
    } else {
        0
    };
    Ok(paid)
}
