use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

async fn helper(x: u64) -> u64 {
    x + 1
}

#[orchestrator]
async fn calls_helper(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let y = ctx.call(double, x).await?;
    Ok(helper(y).await)
}

fn main() {}
