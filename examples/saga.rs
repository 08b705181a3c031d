//! A booking saga: reserve a flight, a hotel and a car; when a step fails, undo the
//! steps already done, last first. Each step and its compensation is a durable function
//! (`#[durable::function]`): a helper the orchestrator awaits inline, whose own state is
//! kept in the orchestration's checkpoint. Run with `cargo run --example saga`; state
//! lives in `durable-data/saga`.
//!
//! The orchestration and its activities are in `durable-patterns/src/saga.rs`.

use durable::rocks::RocksStore;
use durable_patterns::saga::{run, Trip};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = RocksStore::open("durable-data/saga")?;
    let mut trip = Trip {
        traveller: "ada".into(),
        city: "Lisbon".into(),
        cars_sold_out: false,
    };
    println!("booking {trip:?}");
    println!("result: {:?}", run(store, &trip).await?);
    trip.cars_sold_out = true;
    let store = RocksStore::open("durable-data/saga")?;
    println!("booking {trip:?}");
    println!("result: {:?}", run(store, &trip).await?);
    Ok(())
}
