use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn no_context(x: u64) -> Result<u64, ActivityError> {
    Ok(x)
}
fn main() {}
