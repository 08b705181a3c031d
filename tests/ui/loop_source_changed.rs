use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn shadowing(ctx: OrchestrationContext, orders: Vec<u64>) -> Result<u64, ActivityError> {
    let mut total = 0;
    for order in orders.iter() {
        let orders = ctx.call(double, *order).await?;
        total += orders + *order;
    }
    Ok(total)
}

#[orchestrator]
async fn moving_start(ctx: OrchestrationContext, items: Vec<u64>) -> Result<u64, ActivityError> {
    let mut start = 0;
    let mut total = 0;
    for x in items.iter().skip(start) {
        start += 1;
        total += ctx.call(double, *x).await? + start as u64;
    }
    Ok(total)
}

fn main() {}
