use std::collections::BTreeMap;

use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn grouped(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let mut by_name: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    by_name.entry("a".into()).or_default().push(ctx.call(double, x).await?);
    Ok(by_name.len() as u64)
}

fn main() {}
