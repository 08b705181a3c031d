use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn generic<T: Clone>(ctx: OrchestrationContext, x: T) -> Result<T, ActivityError> {
    Ok(x)
}
fn main() {}
