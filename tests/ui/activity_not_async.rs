use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[activity]
fn blocking_activity(x: u64) -> Result<u64, String> {
    Ok(x)
}
fn main() {}
