use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn in_macro(ctx: OrchestrationContext, x: u64) -> Result<String, ActivityError> {
    Ok(format!("{:?}", ctx.call(double, x).await))
}
fn main() {}
