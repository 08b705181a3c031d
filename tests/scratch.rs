use durable::testing::InlineRunner;
use durable::{activity, orchestrator, ActivityError, OrchestrationContext};

#[activity]
async fn add_one(x: u32) -> Result<u32, String> {
    Ok(x + 1)
}

#[orchestrator]
async fn chain(ctx: OrchestrationContext, n: u32) -> Result<u32, ActivityError> {
    let mut total = 0;
    for i in 0..n {
        total += ctx.call(add_one, i).await?;
    }
    Ok(total)
}

#[tokio::test]
async fn chain_works() {
    let runner = InlineRunner::new().activity(add_one);
    let run = runner.run(chain, &4).await.unwrap();
    assert_eq!(run.result, Ok(1 + 2 + 3 + 4));
    assert_eq!(run.checkpoints.len(), 4);
}
