use durable::{orchestrator, ActivityError, OrchestrationContext};

async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn forgot_the_attribute(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    ctx.call(double, x).await
}
fn main() {}
