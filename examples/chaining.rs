//! Function chaining: a sequence of activities, each using the previous one's output.
//! Run with `cargo run --example chaining`; state lives in `durable-data/chaining`.
//!
//! The orchestration and its activities are in `durable-patterns/src/chaining.rs`.

use durable::rocks::RocksStore;
use durable_patterns::chaining::run;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = RocksStore::open("durable-data/chaining")?;
    let text = "  durable   orchestrations   without replay  ";
    println!("tidying {text:?}");
    println!("result: {:?}", run(store, text).await?);
    Ok(())
}
