//! Async HTTP API: a long-running job behind HTTP. `POST` starts it and answers `202`
//! with a status URL at once; the client polls that URL (`202` while it runs, `200` with
//! the output when done). `cargo run --example async_http_api` serves it.

use std::time::Duration;

use durable::{
    activity, codec::CodecError, orchestrator, ActivityError, OrchestrationContext, RuntimeBuilder,
    Store,
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
pub async fn render_section(section: String) -> Result<(String, u32), String> {
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
