use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[derive(Debug)]
struct Opaque;

impl From<ActivityError> for Opaque {
    fn from(_: ActivityError) -> Self {
        Opaque
    }
}

#[orchestrator]
async fn opaque(ctx: OrchestrationContext, x: u64) -> Result<u64, Opaque> {
    Ok(ctx.call(double, x).await?)
}
fn main() {}
