//! Async HTTP API: a long-running job behind HTTP. `POST` starts it and answers `202`
//! with a status URL at once; the client polls that URL (`202` while it runs, `200` with
//! the output when done). Run with `cargo run --example async_http_api`, then:
//!
//! ```sh
//! curl -i -X POST localhost:8080/api/orchestrators/build_report \
//!      -H 'content-type: application/json' \
//!      -d '{"title": "Q3", "sections": ["sales", "costs", "outlook"]}'
//! curl -i localhost:8080/api/instances/<id>          # 202 while running, then 200
//! curl -i -X POST localhost:8080/api/orchestrators/build_report -d '{"title": 3}'  # 400
//! ```
//!
//! The orchestration and its activities are in `durable-patterns/src/async_http_api.rs`.

use durable::http::Api;
use durable::rocks::RocksStore;
use durable::{Client, Runtime, Store};
use durable_patterns::async_http_api::{build_report, register};

/// The service: the durable HTTP API under `/api`, serving `build_report`.
pub fn app<S: Store>(client: Client<S>) -> axum::Router {
    let api = Api::new(client)
        .orchestration(build_report)
        .custom_status::<String>(build_report);
    axum::Router::new().nest("/api", api.router())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = register(Runtime::builder(RocksStore::open(
        "durable-data/async_http_api",
    )?))
    .start();
    let address = std::env::var("ADDRESS").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("serving the durable HTTP API on http://{address}/api (Ctrl-C to stop)");
    println!(
        "start a report:  curl -i -X POST http://{address}/api/orchestrators/build_report \
         -H 'content-type: application/json' \
         -d '{{\"title\": \"Q3\", \"sections\": [\"sales\", \"costs\", \"outlook\"]}}'"
    );
    println!("list instances:  curl http://{address}/api/instances");
    axum::serve(listener, app(runtime.client()))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    runtime.shutdown().await;
    Ok(())
}
