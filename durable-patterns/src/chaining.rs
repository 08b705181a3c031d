//! Function chaining: a sequence of activities, each using the previous one's output.
//! `cargo run --example chaining` runs it on RocksDB.

use std::time::Duration;

use durable::{
    activity, orchestrator, ActivityError, OrchestrationContext, Runtime, RuntimeBuilder, Store,
};

/// How long each step takes (it stands in for real work).
const STEP_TIME: Duration = Duration::from_millis(300);

#[activity]
pub async fn normalize(text: String) -> Result<String, String> {
    tokio::time::sleep(STEP_TIME).await;
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    println!("  [chaining] normalized: {text:?}");
    Ok(text)
}

#[activity]
pub async fn capitalize(text: String) -> Result<String, String> {
    tokio::time::sleep(STEP_TIME).await;
    let mut chars = text.chars();
    let text: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    println!("  [chaining] capitalized: {text:?}");
    Ok(text)
}

#[activity]
pub async fn punctuate(text: String) -> Result<String, String> {
    tokio::time::sleep(STEP_TIME).await;
    let text = if text.ends_with('.') {
        text
    } else {
        format!("{text}.")
    };
    println!("  [chaining] punctuated: {text:?}");
    Ok(text)
}

#[orchestrator]
pub async fn tidy(ctx: OrchestrationContext, text: String) -> Result<String, ActivityError> {
    let text = ctx.call(normalize, text).await?;
    let text = ctx.call(capitalize, text).await?;
    ctx.call(punctuate, text).await
}

/// Registers the chain's orchestration and activities.
pub fn register<S: Store>(builder: RuntimeBuilder<S>) -> RuntimeBuilder<S> {
    builder
        .orchestration(tidy)
        .activity(normalize)
        .activity(capitalize)
        .activity(punctuate)
}

/// Runs the chain on `store` and returns the result.
pub async fn run<S: Store>(store: S, text: &str) -> Result<String, Box<dyn std::error::Error>> {
    let runtime = register(Runtime::builder(store)).start();
    let client = runtime.client();
    let id = client.start(tidy, None, &text.to_owned()).await?;
    let result = client.wait(tidy, &id, Duration::from_secs(30)).await?;
    runtime.shutdown().await;
    Ok(result?)
}
