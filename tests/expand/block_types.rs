use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn price(x: u64) -> Result<u64, ActivityError> {
    Ok(x * 3)
}

#[orchestrator]
async fn totals(ctx: OrchestrationContext, x: u64) -> Result<u64, ActivityError> {
    let first = {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Line(u64);
        let line = Line(x);
        ctx.call(price, line.0).await? + line.0
    };
    let second = {
        struct Line(u64, u64);
        let line = Line(x, 1);
        ctx.call(price, line.0 + line.1).await?
    };
    Ok(first + second)
}

fn main() {}
