//! Function chaining: a sequence of activities, each using the previous one's output.
//! Run with `cargo run --example chaining`; state lives in `durable-data/chaining`.

use std::time::Duration;

use durable::rocks::RocksStore;
use durable::{activity, orchestrator, ActivityError, OrchestrationContext, Runtime, Store};

#[activity]
async fn normalize(text: String) -> Result<String, String> {
    Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[activity]
async fn capitalize(text: String) -> Result<String, String> {
    let mut chars = text.chars();
    Ok(chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default())
}

#[activity]
async fn punctuate(text: String) -> Result<String, String> {
    Ok(if text.ends_with('.') {
        text
    } else {
        format!("{text}.")
    })
}

#[orchestrator]
pub async fn tidy(ctx: OrchestrationContext, text: String) -> Result<String, ActivityError> {
    let text = ctx.call(normalize, text).await?;
    let text = ctx.call(capitalize, text).await?;
    ctx.call(punctuate, text).await
}

/// Runs the chain on `store` and returns the result.
pub async fn run<S: Store>(store: S, text: &str) -> Result<String, Box<dyn std::error::Error>> {
    let runtime = Runtime::builder(store)
        .orchestration(tidy)
        .activity(normalize)
        .activity(capitalize)
        .activity(punctuate)
        .start();
    let client = runtime.client();
    let id = client.start(tidy, None, &text.to_owned()).await?;
    let result = client.wait(tidy, &id, Duration::from_secs(30)).await?;
    runtime.shutdown().await;
    Ok(result?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = RocksStore::open("durable-data/chaining")?;
    let text = "  durable   orchestrations   without replay  ";
    println!("tidying {text:?}");
    println!("result: {:?}", run(store, text).await?);
    Ok(())
}
