use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn shared(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let counter = std::rc::Rc::new(std::cell::Cell::new(x));
    let y = ctx.call(double, x).await?;
    Ok(counter.get() + y)
}
fn main() {}
