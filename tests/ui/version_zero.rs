use durable::{orchestrator, ActivityError, OrchestrationContext};

#[orchestrator(name = "order", version = 0)]
async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    Ok(x)
}

fn main() {}
