use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[activity]
async fn two_inputs(a: u64, b: u64) -> Result<u64, String> {
    Ok(a + b)
}
fn main() {}
