use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn swapped(x: u64, ctx: OrchestrationContext) -> Result<u64, ActivityError> {
    Ok(x)
}
fn main() {}
