//! Fan-out/fan-in: count the words of many documents in parallel activities, then add
//! the counts up. `cargo run --example fan_out_fan_in` runs it.

use std::time::Duration;

use durable::{
    activity, join_all, orchestrator, ActivityError, OrchestrationContext, Runtime, RuntimeBuilder,
    Store,
};

#[activity]
pub async fn count_words(document: String) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(40)).await; // stands in for fetching it
    Ok(document.split_whitespace().count() as u64)
}

#[orchestrator]
pub async fn word_count(
    ctx: OrchestrationContext,
    documents: Vec<String>,
) -> Result<u64, ActivityError> {
    let counts = join_all(documents.into_iter().map(|d| ctx.call(count_words, d))).await;
    let mut total = 0;
    for count in counts {
        total += count?;
    }
    Ok(total)
}

/// Registers the word count's orchestration and activity.
pub fn register<S: Store>(builder: RuntimeBuilder<S>) -> RuntimeBuilder<S> {
    builder.orchestration(word_count).activity(count_words)
}

/// Counts the words of `documents` on `store`.
pub async fn run<S: Store>(
    store: S,
    documents: Vec<String>,
) -> Result<u64, Box<dyn std::error::Error>> {
    let runtime = register(Runtime::builder(store)).start();
    let client = runtime.client();
    let id = client.start(word_count, None, &documents).await?;
    let result = client
        .wait(word_count, &id, Duration::from_secs(60))
        .await?;
    runtime.shutdown().await;
    Ok(result?)
}
