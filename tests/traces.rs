//! The tracing story of a run: a span per step that names the instance, its code, the
//! resume point it starts from and the one it stops at, its status and checkpoint size;
//! a span per activity attempt with its name and attempt, and an event with how long
//! it ran and how it ended.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use durable::{activity, orchestrator, MemoryStore, OrchestrationContext, Runtime};
use support::TestError;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

#[activity]
async fn shout(s: String) -> Result<String, String> {
    Ok(s.to_uppercase())
}

#[activity]
async fn refuse(_: ()) -> Result<(), String> {
    Err("no".into())
}

#[orchestrator]
async fn traced(ctx: OrchestrationContext, name: String) -> Result<String, TestError> {
    let loud = ctx.call(shout, name).await?;
    let _ = ctx.call(refuse, ()).await;
    Ok(loud)
}

/// A span or event as the test sees it: its name (or message) and its fields.
#[derive(Debug, Clone, Default)]
struct Seen {
    name: String,
    fields: HashMap<String, String>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// Closed spans and events, in order.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<Seen>>>,
    events: Arc<Mutex<Vec<Seen>>>,
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut seen = Seen {
            name: attrs.metadata().name().to_owned(),
            ..Seen::default()
        };
        attrs.record(&mut Fields(&mut seen.fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(seen);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(seen) = span.extensions_mut().get_mut::<Seen>() {
                values.record(&mut Fields(&mut seen.fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let name = fields.remove("message").unwrap_or_default();
        self.events.lock().unwrap().push(Seen { name, fields });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(seen) = ctx
            .span(&id)
            .and_then(|s| s.extensions().get::<Seen>().cloned())
        {
            self.spans.lock().unwrap().push(seen);
        }
    }
}

#[tokio::test]
async fn steps_and_activity_attempts_tell_the_story() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(traced)
        .activity(shout)
        .activity(refuse)
        .start();
    let client = runtime.client();
    let id = client
        .start(traced, Some("t"), &"hi".to_owned())
        .await
        .unwrap();
    let out = client
        .wait(traced, &id, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(out.unwrap().unwrap(), "HI");
    runtime.shutdown().await;

    let spans = capture.spans.lock().unwrap().clone();
    let steps: Vec<&Seen> = spans.iter().filter(|s| s.name == "step").collect();
    assert_eq!(steps.len(), 3, "{steps:#?}");
    for step in &steps {
        assert_eq!(step.fields["instance"], "t");
        assert_eq!(step.fields["orchestration"], "traced");
        assert_eq!(step.fields["version"], "1");
        assert!(step.fields["checkpoint_bytes"].parse::<usize>().is_ok());
    }
    assert_eq!(steps[0].fields["from"], "start");
    assert!(
        steps[0].fields["to"].contains("ctx.call(shout, name)"),
        "{:?}",
        steps[0]
    );
    assert!(
        steps[0].fields["to"].contains(" at line "),
        "{:?}",
        steps[0]
    );
    assert_eq!(
        steps[1].fields["from"], steps[0].fields["to"],
        "it resumes where it stopped"
    );
    assert!(
        steps[1].fields["to"].contains("ctx.call(refuse, ())"),
        "{:?}",
        steps[1]
    );
    assert_eq!(steps[0].fields["status"], "Running");
    assert_eq!(steps[2].fields["status"], "Completed");
    assert_eq!(
        steps[2].fields["checkpoint_bytes"], "0",
        "an ended instance keeps none"
    );

    let attempts: Vec<&Seen> = spans.iter().filter(|s| s.name == "activity").collect();
    let names: Vec<&str> = attempts.iter().map(|a| a.fields["name"].as_str()).collect();
    assert_eq!(names, ["shout", "refuse"]);
    assert!(attempts.iter().all(|a| a.fields["attempt"] == "1"));
    let events = capture.events.lock().unwrap().clone();
    let ended: Vec<&Seen> = events
        .iter()
        .filter(|e| e.name == "activity attempt ended")
        .collect();
    let outcomes: Vec<&str> = ended.iter().map(|e| e.fields["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["completed", "failed"]);
    assert!(ended
        .iter()
        .all(|e| e.fields["elapsed_ms"].parse::<f64>().is_ok()));
    assert_eq!(ended[1].fields["error"], "no");
}
