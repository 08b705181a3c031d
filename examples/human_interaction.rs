//! Human interaction: phone verification. A code is sent; the orchestration waits for
//! the user to type it (an external event), at most three attempts, each racing a
//! timeout. Run with `cargo run --example human_interaction`.
//!
//! The orchestration and its activities are in `durable-patterns/src/human_interaction.rs`.

use std::time::Duration;

use durable::rocks::RocksStore;
use durable_patterns::human_interaction::{code_for, run};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = RocksStore::open("durable-data/human_interaction")?;
    let phone = "+1 555 0100";
    let outcome = run(
        store,
        phone,
        Duration::from_secs(30),
        &[1234, code_for(phone)],
    )
    .await?;
    println!("{outcome}");
    Ok(())
}
