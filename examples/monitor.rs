//! Monitor: poll a condition with a durable timer between checks, until it holds or the
//! monitor expires. The loop can run for months: its state is the same few bytes at
//! every check (no continue-as-new). Run with `cargo run --example monitor`.
//!
//! The orchestration and its activities are in `durable-patterns/src/monitor.rs`.

use std::time::Duration;

use durable::rocks::RocksStore;
use durable_patterns::monitor::{run, Watch};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = RocksStore::open("durable-data/monitor")?;
    let watch = Watch {
        job: "nightly-export".into(),
        done_at_check: 5,
        interval: Duration::from_millis(300),
        max_checks: 10,
    };
    println!("{}", run(store, watch).await?);
    Ok(())
}
