//! The demo: the five Durable Functions patterns running side by side on RocksDB (in
//! `durable-data/demo`, or `$DURABLE_DATA`), started and watched through the HTTP API.
//! Kill it at any moment (Ctrl-C, or `kill -9`) and run it again: every unfinished
//! instance continues from its last checkpoint, and finished activities are not redone.
//! Run with `scripts/demo.sh` or `cargo run --example demo`.

#[path = "demo/driver.rs"]
mod driver;

use std::time::Duration;

use durable::rocks::RocksStore;
use durable::Runtime;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = std::env::var("DURABLE_DATA").unwrap_or_else(|_| "durable-data/demo".into());
    let store = RocksStore::open(&data)?;
    let runtime = driver::register(Runtime::builder(store))
        .poll_interval(Duration::from_millis(20))
        .start();

    let app = axum::Router::new().nest("/api", driver::api(runtime.client()));
    let listener = match std::env::var("ADDRESS") {
        Ok(address) => tokio::net::TcpListener::bind(&address).await?,
        // the CLI's default address, or any free port when it is taken
        Err(_) => match tokio::net::TcpListener::bind("127.0.0.1:8080").await {
            Ok(listener) => listener,
            Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        },
    };
    let base = format!("http://{}/api", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    println!("durable demo: five orchestration patterns on RocksDB in `{data}`.");
    println!("Kill it at any moment (Ctrl-C or kill -9) and run it again: unfinished");
    println!("instances continue from their last checkpoint.");
    println!("HTTP API while it runs: curl {base}/instances");
    println!("Dashboard: {base}/dashboard/\n");

    tokio::select! {
        finished = driver::run(&base) => {
            finished?;
            println!("\nall five finished. Delete `{data}` to run the demo afresh.");
            driver::wait_for_you(&base).await?;
            println!("\nThe API and the dashboard stay up until Ctrl-C.");
            tokio::signal::ctrl_c().await?;
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    println!("\nstopping; run the demo again to continue where it was");
    runtime.shutdown().await;
    Ok(())
}
