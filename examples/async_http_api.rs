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

use std::time::Duration;

use durable::http::Api;
use durable::rocks::RocksStore;
use durable::{
    activity, codec::CodecError, orchestrator, ActivityError, Client, OrchestrationContext,
    Runtime, RuntimeBuilder, Store,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportRequest {
    pub title: String,
    pub sections: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub title: String,
    pub pages: u32,
    pub sections: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Activity(#[from] ActivityError),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("a report needs at least one section")]
    Empty,
}

/// How long rendering one section takes (it stands in for real work).
const RENDER_TIME: Duration = Duration::from_millis(800);

#[activity]
async fn render_section(section: String) -> Result<(String, u32), String> {
    tokio::time::sleep(RENDER_TIME).await;
    let pages = section.len() as u32 % 4 + 1;
    println!("  [report] rendered section `{section}`: {pages} pages");
    Ok((section, pages))
}

#[orchestrator]
pub async fn build_report(
    ctx: OrchestrationContext,
    request: ReportRequest,
) -> Result<Report, ReportError> {
    let ReportRequest { title, sections } = request;
    if sections.is_empty() {
        return Err(ReportError::Empty);
    }
    let total = sections.len();
    let mut report = Report {
        title,
        pages: 0,
        sections: Vec::new(),
    };
    for section in sections {
        let done = report.sections.len();
        ctx.set_custom_status(&format!("rendering section {} of {total}", done + 1))?;
        let (name, pages) = ctx.call(render_section, section).await?;
        report.pages += pages;
        report.sections.push(name);
    }
    ctx.set_custom_status(&"done".to_owned())?;
    Ok(report)
}

/// Registers the report orchestration and its activity.
pub fn register<S: Store>(builder: RuntimeBuilder<S>) -> RuntimeBuilder<S> {
    builder.orchestration(build_report).activity(render_section)
}

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
