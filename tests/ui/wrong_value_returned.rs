use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn mistyped(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let y = ctx.call(double, x).await?;
    if y > 10 {
        return Ok("big");
    }
    Ok(y)
}

fn main() {}
