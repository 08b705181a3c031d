use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[orchestrator]
async fn borrowed(ctx: OrchestrationContext, words: Vec<String>) -> Result<usize, ActivityError> {
    let first = &words[0];
    let n = ctx.call(double, words.len() as u64).await?;
    Ok(first.len() + n as usize)
}
fn main() {}
