use std::collections::{HashMap, HashSet};

use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn totals(ctx: OrchestrationContext, prices: HashMap<String, u64>) -> Result<u64, ActivityError> {
    let mut total = 0;
    for (_name, price) in &prices {
        total += ctx.call(double, *price).await?;
    }
    let seen: HashSet<u64> = prices.values().copied().collect();
    for x in seen.iter() {
        total += ctx.call(double, *x).await?;
    }
    Ok(total)
}

fn main() {}

#[orchestrator]
async fn keys(ctx: OrchestrationContext, prices: HashMap<String, u64>) -> Result<u64, ActivityError> {
    let mut total = 0;
    for name in prices.keys().cloned() {
        total += ctx.call(double, name.len() as u64).await?;
    }
    Ok(total)
}
