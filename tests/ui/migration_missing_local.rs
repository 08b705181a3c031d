use durable::{activity, migration, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

/// Lacks `fee`, which version 2 keeps at "pay".
struct Locals {
    amount: u64,
}

#[migration]
fn from_v1(amount: u64) -> Locals {
    Locals { amount }
}

#[orchestrator(name = "order", version = 2, migrate(from = 1, point = "pay", with = from_v1))]
async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let amount = ctx.call(double, x).await?;
    let fee = amount / 10;
    #[point("pay")]
    let paid = ctx.call(double, amount).await?;
    Ok(paid + amount + fee)
}

#[migration]
async fn not_plain(amount: u64) -> Locals {
    Locals { amount }
}

fn main() {}
