//! The five patterns on PostgreSQL: three worker processes share one database, and a
//! fourth process, which runs no workers, serves the HTTP API and drives the patterns
//! through it. Each worker prints the steps and activity calls it runs, so you can see
//! instances move between processes; kill one (`kill -9`) and the others take its work
//! over once its leases expire.
//!
//! ```text
//! scripts/postgres.sh start        # a throwaway server; prints its URL
//! cargo run --example postgres_workers --features postgres -- postgres://postgres@127.0.0.1:55432/postgres
//! ```
//!
//! The URL may also come from `$DATABASE_URL`.

// the single-process demo's hand-over (`wait_for_you`) is not used here
#[allow(dead_code)]
#[path = "demo/driver.rs"]
mod driver;
#[path = "demo/tagged.rs"]
mod tagged;

use std::process::{Child, Command};
use std::time::Duration;

use durable::postgres::PostgresStore;
use durable::Runtime;

const WORKERS: usize = 3;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, n, url] if flag == "--worker" => worker(n.parse()?, url).await,
        [url] => drive(url).await,
        [] => match std::env::var("DATABASE_URL") {
            Ok(url) => drive(&url).await,
            Err(_) => Err(
                "usage: postgres_workers POSTGRES_URL (or set DATABASE_URL); \
                           `scripts/postgres.sh start` starts a throwaway server and prints \
                           its URL"
                    .into(),
            ),
        },
        _ => Err("usage: postgres_workers POSTGRES_URL".into()),
    }
}

/// A worker process: runs steps and activity calls until it is killed.
async fn worker(n: usize, url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let store = tagged::Tagged::new(PostgresStore::connect(url).await?, n);
    let runtime = driver::register(Runtime::builder(store)).start();
    tokio::signal::ctrl_c().await?;
    runtime.shutdown().await;
    Ok(())
}

/// The fourth process: starts the workers, serves the API with no workers of its own,
/// and drives the patterns through it.
async fn drive(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    // connecting creates the schema once, before the workers race to
    let store = PostgresStore::connect(url).await?;
    let mut workers = Workers(Vec::new());
    for n in 1..=WORKERS {
        let exe = std::env::current_exe()?;
        let child = Command::new(exe)
            .args(["--worker", &n.to_string(), url])
            .spawn()?;
        workers.0.push(child);
    }
    let client = Runtime::builder(store).client_only();
    let app = axum::Router::new().nest("/api", driver::api(client));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/api", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    println!("durable on PostgreSQL: {WORKERS} worker processes, the HTTP API in this one.");
    println!("HTTP API while it runs: curl {base}/instances\n");
    driver::run(&base).await?;
    println!("\nall five finished; stopping the workers.");
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

/// The worker processes, killed when the driver ends however it ends.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
