//! Bounded parallelism: process many items with at most a few in flight, through a
//! `TaskSet` that a loop keeps filled. The checkpoint holds the calls in flight, not
//! the items done, so it stays the same size however many items there are. Progress is
//! published as custom status. Run with `cargo run --example bounded_parallelism`;
//! state lives in `durable-data/bounded_parallelism`.
//!
//! The orchestration and its activities are in `durable-patterns/src/bounded_parallelism.rs`.

use durable::rocks::RocksStore;
use durable_patterns::bounded_parallelism::{run, Job};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = RocksStore::open("durable-data/bounded_parallelism")?;
    let job = Job {
        items: 10_000,
        in_flight: 20,
    };
    println!(
        "processing {} items, {} in flight",
        job.items, job.in_flight
    );
    let started = std::time::Instant::now();
    let (progress, published) = run(store, &job).await?;
    println!("result: {progress:?} in {:.1?}", started.elapsed());
    println!("last progress published as custom status: {published:?}");
    Ok(())
}
