use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn guarded(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let y = match x {
        n if ctx.call(double, n).await? > 3 => n,
        n => n + 1,
    };
    Ok(y)
}

#[orchestrator]
async fn let_else(ctx: OrchestrationContext, x: Option<u64>) -> Result<u64, ActivityError> {
    let Some(y) = x else {
        return ctx.call(double, 0).await;
    };
    Ok(y)
}

fn main() {}
