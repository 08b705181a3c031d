use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn hidden(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let v = x + 1;
    if let Some(v) = Some(x) {
        ctx.call(double, v).await?;
    }
    Ok(v)
}
fn main() {}
