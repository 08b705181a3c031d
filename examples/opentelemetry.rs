//! OpenTelemetry: the steps and activity attempts of an orchestration in one trace,
//! exported over OTLP, across a restart in the middle of the orchestration.
//!
//! Start a collector with a UI, e.g. Jaeger (`docker run -p 4318:4318 -p 16686:16686
//! jaegertracing/jaeger:latest`), then `cargo run --example opentelemetry --features
//! opentelemetry` and open the trace it prints. The exporter sends to
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (`http://localhost:4318` by default); without a
//! collector the spans are dropped and the example still runs.

use std::time::Duration;

use durable::rocks::RocksStore;
use durable::trace::trace_of;
use durable::{activity, orchestrator, ActivityError, OrchestrationContext, Runtime, Store};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

#[activity]
async fn quote(item: String) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(item.len() as u64 * 100)
}

#[activity]
async fn charge(cents: u64) -> Result<String, String> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(format!("charged {cents} cents"))
}

#[orchestrator]
async fn purchase(ctx: OrchestrationContext, item: String) -> Result<String, ActivityError> {
    let cents = ctx.call(quote, item).await?;
    let approved: bool = ctx.event("approval").await;
    if !approved {
        return Ok("declined".into());
    }
    ctx.call(charge, cents).await
}

fn runtime<S: Store>(store: S) -> Runtime<S> {
    Runtime::builder(store)
        .orchestration(purchase)
        .activity(quote)
        .activity(charge)
        .start()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("durable-example"));
    let subscriber = tracing_subscriber::registry()
        .with(otel)
        .with(tracing_subscriber::fmt::layer());
    tracing::subscriber::set_global_default(subscriber)?;

    let dir = "durable-data/opentelemetry";
    let id = format!("purchase-{}", std::process::id());
    {
        let first = runtime(RocksStore::open(dir)?);
        first
            .client()
            .start(purchase, Some(&id), &"teapot".to_owned())
            .await?;
        // the quote runs, then the instance waits for its approval: stop, as a deploy would
        tokio::time::sleep(Duration::from_millis(500)).await;
        first.shutdown().await;
        println!("stopped the first runtime with `{id}` waiting for its approval");
    }
    let second = runtime(RocksStore::open(dir)?);
    second.client().raise_event(&id, "approval", &true).await?;
    let result = second
        .client()
        .wait(purchase, &id, Duration::from_secs(30))
        .await?;
    second.shutdown().await;
    println!("result: {result:?}");
    provider.shutdown()?;
    let (trace, _) = trace_of(&id);
    println!("trace: http://localhost:16686/trace/{trace:032x}");
    Ok(())
}
