use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn bump(ctx: OrchestrationContext, items: Vec<u64>) -> Result<u64, ActivityError> {
    let mut total = 0;
    for mut item in items.iter().copied().map(|i| i + 1) {
        item += ctx.call(double, item).await?;
        total += item;
    }
    Ok(total)
}

fn main() {}
