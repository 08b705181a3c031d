use durable::{orchestrator, ActivityError, OrchestrationContext};

#[orchestrator]
async fn by_ref(ctx: OrchestrationContext, name: &str) -> Result<u64, ActivityError> {
    Ok(name.len() as u64)
}

#[orchestrator]
async fn by_impl(ctx: OrchestrationContext, name: impl Into<String>) -> Result<u64, ActivityError> {
    Ok(name.into().len() as u64)
}

fn main() {}
