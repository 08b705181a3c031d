use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn snapshot(ctx: OrchestrationContext, v: Vec<u64>) -> Result<u64, ActivityError> {
    let mut sum = 0;
    for x in v.iter().collect::<Vec<_>>() {
        sum += ctx.call(double, *x).await?;
    }
    Ok(sum)
}

fn main() {}
