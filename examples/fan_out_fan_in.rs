//! Fan-out/fan-in: count the words of many documents in parallel activities, then add
//! the counts up. Run with `cargo run --example fan_out_fan_in`.
//!
//! The orchestration and its activities are in `durable-patterns/src/fan_out_fan_in.rs`.

use durable::rocks::RocksStore;
use durable_patterns::fan_out_fan_in::run;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = RocksStore::open("durable-data/fan_out_fan_in")?;
    let documents: Vec<String> = (1..=200).map(|n| "lorem ipsum dolor ".repeat(n)).collect();
    println!(
        "counting words in {} documents, one activity each",
        documents.len()
    );
    println!("total: {}", run(store, documents).await?);
    Ok(())
}
