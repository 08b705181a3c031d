//! OpenTelemetry (the `opentelemetry` feature): every step and activity attempt of an
//! orchestration, and of its sub-orchestrations, lands in one trace, across a restart
//! of the runtime in the middle of the orchestration.

mod support;

use std::sync::Arc;
use std::time::Duration;

use durable::trace::trace_of;
use durable::{orchestrator, MemoryStore, OrchestrationContext, Runtime};
use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use support::*;
use tracing_subscriber::layer::SubscriberExt;

#[orchestrator]
async fn child(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    Ok(ctx.call(double, x).await?)
}

#[orchestrator]
async fn approve(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let doubled = ctx.call(double, x).await?;
    let approved: bool = ctx.event("approval").await;
    let from_child = ctx
        .sub_orchestration(child, doubled)
        .await
        .map_err(|e| TestError::Rejected(e.to_string()))?;
    Ok(if approved { from_child } else { 0 })
}

fn spans_named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_spans_every_step_and_attempt_across_a_restart() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("durable-test"));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .expect("the only subscriber of this test binary");

    let store = Arc::new(MemoryStore::new());
    let first = Runtime::builder(store.clone())
        .orchestration(approve)
        .orchestration(child)
        .activity(double)
        .start();
    let id = first
        .client()
        .start(approve, Some("order-1"), &21)
        .await
        .unwrap();
    // wait until it waits for the approval, then stop, as a deploy would
    for _ in 0..500 {
        let inspected = first.client().inspect(&id).await.unwrap().unwrap();
        let at = inspected.waiting.map(|w| w.at.expression);
        if at.is_some_and(|e| e.contains("approval")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.shutdown().await;
    let before_restart = exporter.get_finished_spans().unwrap().len();

    let second = Runtime::builder(store)
        .orchestration(approve)
        .orchestration(child)
        .activity(double)
        .start();
    second
        .client()
        .raise_event(&id, "approval", &true)
        .await
        .unwrap();
    let result = second
        .client()
        .wait(approve, &id, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(result, Ok(84));
    second.shutdown().await;

    let spans = exporter.get_finished_spans().unwrap();
    assert!(before_restart > 0 && spans.len() > before_restart);
    let (trace, parent) = trace_of(&id);
    let (trace, parent) = (TraceId::from(trace), SpanId::from(parent));
    let steps = spans_named(&spans, "step");
    let attempts = spans_named(&spans, "activity");
    // the parent's steps (start, after the call, after the event, after the child) and
    // the child's (start, after its call); the parent's call and the child's
    assert!(steps.len() >= 6, "{} steps", steps.len());
    assert_eq!(attempts.len(), 2);
    for span in steps.iter().chain(&attempts) {
        assert_eq!(span.span_context.trace_id(), trace, "{span:?}");
    }
    let by_id = |id: SpanId| spans.iter().find(|s| s.span_context.span_id() == id);
    for span in &steps {
        // a step runs under the instance's remote root, or inside the attempt whose
        // result it takes
        let under_attempt = by_id(span.parent_span_id).is_some_and(|p| p.name == "activity");
        assert!(span.parent_span_id == parent || under_attempt, "{span:?}");
    }
    let instance_of = |span: &SpanData| {
        let attribute = span
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "instance");
        attribute.map(|kv| kv.value.as_str().into_owned())
    };
    let instances: Vec<_> = steps.iter().filter_map(|s| instance_of(s)).collect();
    assert!(
        instances.iter().any(|i| i.starts_with("order-1:")),
        "the child's steps are in the parent's trace: {instances:?}"
    );
}
