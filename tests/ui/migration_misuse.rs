use durable::{activity, migration, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

struct Locals {
    amount: u64,
}

#[migration]
fn from_v1(amount: u64) -> Locals {
    Locals { amount }
}

// the point is not pinned in this body; a migration from the version itself; twice
#[orchestrator(
    name = "order",
    version = 2,
    migrate(from = 1, point = "approval", with = from_v1),
    migrate(from = 2, point = "pay", with = from_v1),
    migrate(from = 1, point = "approval", with = from_v1)
)]
async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let amount = ctx.call(double, x).await?;
    #[point("pay")]
    let paid = ctx.call(double, amount).await?;
    Ok(paid + amount)
}

// a migration needs the version it moves instances to
#[orchestrator(name = "other", migrate(from = 1, point = "pay", with = from_v1))]
async fn other(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    #[point("pay")]
    let paid = ctx.call(double, x).await?;
    Ok(paid)
}

fn main() {}
