use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn in_closure(ctx: OrchestrationContext, xs: Vec<u64>) -> Result<u64, ActivityError> {
    let total: Vec<_> = xs.into_iter().map(|x| async move { ctx.call(double, x).await }).collect();
    Ok(total.len() as u64)
}
fn main() {}
