//! Inspection: a suspended instance shows the `.await` it waits at (as written, and
//! where), what that operation waits for, and its live locals by name, read with the
//! instance's own code, without changing it.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use durable::inspect::{Awaited, CallState, Decoded, Shown, Waiting};
use durable::{
    activity, orchestrator, select, Either, MemoryStore, OrchestrationContext, Runtime,
    RuntimeStatus, Store,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use support::*;
use tokio::sync::Semaphore;

#[orchestrator]
async fn verify(ctx: OrchestrationContext, phone: String) -> Result<String, TestError> {
    let code = 4711u32;
    for attempt in 1..=3u32 {
        match select(
            ctx.timer(Duration::from_secs(600)),
            ctx.event::<u32>("code"),
        )
        .await
        {
            Either::Left(()) => return Ok(format!("timed out at {attempt}")),
            Either::Right(typed) if typed == code => return Ok(format!("{phone} at {attempt}")),
            Either::Right(_) => {}
        }
    }
    Ok("denied".into())
}

/// Lets one call of `gated` through per permit.
static GATE: Semaphore = Semaphore::const_new(0);

#[activity]
async fn gated(x: u64) -> Result<u64, String> {
    let permit = GATE.acquire().await.map_err(|e| e.to_string())?;
    permit.forget();
    Ok(x + 1)
}

#[durable::function]
async fn inner(ctx: &OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let offset = x * 10;
    let got = ctx.call(gated, x).await?;
    Ok(got + offset)
}

#[orchestrator]
async fn outer(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let pairs: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
    let got = inner(&ctx, x).await?;
    Ok(got + u64::from(pairs.len() as u8))
}

#[orchestrator]
async fn parent(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let label = format!("n={n}");
    let (a, b) = durable::join(
        ctx.sub_orchestration(verify, label.clone()),
        ctx.call(double, n),
    )
    .await;
    let _ = (a, b);
    Ok(label.len() as u64)
}

/// Serializes for checkpoints, and panics when shown as JSON.
#[derive(Debug, Deserialize)]
struct Grumpy(u8);

impl Serialize for Grumpy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        assert!(!serializer.is_human_readable(), "no JSON for me");
        serializer.serialize_u8(self.0)
    }
}

#[orchestrator]
async fn grumpy(ctx: OrchestrationContext, n: u8) -> Result<u8, TestError> {
    let held = Grumpy(n);
    let more: u8 = ctx.event("more").await;
    Ok(held.0 + more)
}

/// Polls until `id` is suspended (its checkpoint taken) and inspection can read it.
async fn suspended<S: Store>(client: &durable::Client<S>, id: &str) -> durable::Inspection {
    for _ in 0..400 {
        let inspection = client
            .inspect(id)
            .await
            .unwrap()
            .expect("the instance exists");
        if inspection.waiting.is_some() {
            return inspection;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("instance `{id}` never waits");
}

fn decoded(waiting: &Waiting) -> &Decoded {
    waiting
        .decoded
        .as_ref()
        .expect("the code reads its checkpoint")
}

#[tokio::test]
async fn a_race_shows_its_await_its_operations_and_its_locals() {
    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(verify)
        .start();
    let client = runtime.client();
    let id = client
        .start(verify, Some("phone"), &"+1 555".to_owned())
        .await
        .unwrap();
    let inspection = suspended(&client, &id).await;
    let waiting = inspection.waiting.as_ref().unwrap();
    assert!(
        waiting.at.expression.starts_with("select(ctx.timer("),
        "{:?}",
        waiting.at
    );
    assert_eq!(waiting.at.file, "tests/inspect.rs");
    // the place is the `.await`'s, the first after the orchestrator's `select(`
    let source: Vec<&str> = include_str!("inspect.rs").lines().collect();
    let select = source.iter().position(|l| l.ends_with("match select("));
    let awaited = (select.unwrap()..source.len()).find(|&i| source[i].trim() == ".await");
    assert_eq!(waiting.at.line as usize, awaited.unwrap() + 1);
    assert!(waiting.at.column > 0);
    assert!(waiting.checkpoint_bytes > 0 && !waiting.fingerprint.is_empty());
    let decoded = decoded(waiting);
    let Awaited::Any(racers) = &decoded.awaits else {
        panic!("a select is a race: {:?}", decoded.awaits)
    };
    match racers.as_slice() {
        [Awaited::Timer { due: Some(due), .. }, Awaited::Event { name, .. }] => {
            assert_eq!(name, "code");
            assert!(*due > durable::store::now_millis() + 500_000);
        }
        other => panic!("expected a timer and an event: {other:?}"),
    }
    let local = |name: &str| {
        decoded
            .locals
            .iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("no local `{name}` in {:?}", decoded.locals))
    };
    assert_eq!(local("attempt").value, Shown::Value(json!(1)));
    assert_eq!(local("attempt").type_name, "u32");
    assert_eq!(local("code").value, Shown::Value(json!(4711)));
    assert_eq!(local("phone").value, Shown::Value(json!("+1 555")));
    assert_eq!(inspection.input, Some(Shown::Value(json!("+1 555"))));

    // a wrong code buffers nothing and moves on to attempt 2; an unrelated event waits
    client.raise_event(&id, "other", &5u8).await.unwrap();
    client.raise_event(&id, "code", &1u32).await.unwrap();
    let mut attempt = json!(1);
    for _ in 0..400 {
        let again = suspended(&client, &id).await;
        let decoded = again.waiting.as_ref().and_then(|w| w.decoded.as_ref().ok());
        if let Some(l) = decoded.and_then(|d| d.locals.iter().find(|l| l.name == "attempt")) {
            if let Shown::Value(v) = &l.value {
                attempt = v.clone();
            }
        }
        if attempt == json!(2) {
            let buffered: Vec<&str> = again.events.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(buffered, ["other"]);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(attempt, json!(2));

    // inspecting changes nothing
    let now = client.status(&id).await.unwrap().unwrap();
    client.inspect(&id).await.unwrap();
    assert_eq!(client.status(&id).await.unwrap().unwrap(), now);
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_helper_shows_where_it_waits_inside_and_its_call_runs() {
    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(outer)
        .activity(gated)
        .start();
    let client = runtime.client();
    let id = client.start(outer, Some("outer"), &4).await.unwrap();
    let mut running = None;
    for _ in 0..400 {
        let inspection = suspended(&client, &id).await;
        let waiting = inspection.waiting.clone().unwrap();
        if let Awaited::Function {
            waiting: inside, ..
        } = &decoded(&waiting).awaits
        {
            if let Awaited::Activity {
                state: CallState::Running,
                ..
            } = decoded(inside).awaits
            {
                running = Some(waiting);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let waiting = running.expect("the helper's call is seen running");
    let outer_locals = &decoded(&waiting).locals;
    let pairs = outer_locals.iter().find(|l| l.name == "pairs").unwrap();
    assert!(
        matches!(&pairs.value, Shown::Unshowable(why) if why.contains("JSON")),
        "a map with tuple keys cannot be JSON: {:?}",
        pairs.value
    );
    let Awaited::Function {
        name,
        waiting: inside,
    } = &decoded(&waiting).awaits
    else {
        unreachable!()
    };
    assert_eq!(*name, "inner");
    assert!(inside.at.expression.starts_with("ctx.call(gated, x)"));
    let Awaited::Activity {
        name,
        input,
        attempt,
        ..
    } = &decoded(inside).awaits
    else {
        unreachable!()
    };
    assert_eq!(
        (*name, input.clone(), *attempt),
        ("gated", Some(Shown::Value(json!(4))), Some(1))
    );
    let offset = decoded(inside).locals.iter().find(|l| l.name == "offset");
    assert_eq!(
        offset.map(|l| l.value.clone()),
        Some(Shown::Value(json!(40)))
    );
    GATE.add_permits(1);
    let result = client
        .wait(outer, &id, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(result, Ok(46));
    runtime.shutdown().await;
}

#[tokio::test]
async fn children_are_named_and_unknown_code_says_why() {
    let store = Arc::new(MemoryStore::new());
    let runtime = Runtime::builder(store.clone())
        .orchestration(parent)
        .orchestration(verify)
        .activity(double)
        .start();
    let client = runtime.client();
    let id = client.start(parent, Some("p"), &3).await.unwrap();
    let inspection = suspended(&client, &id).await;
    let Awaited::All(both) = &decoded(inspection.waiting.as_ref().unwrap()).awaits else {
        panic!("a join waits for all")
    };
    let Awaited::Child {
        id: child,
        orchestration,
        ..
    } = &both[0]
    else {
        panic!("a child first: {both:?}")
    };
    assert_eq!((child.as_str(), *orchestration), ("p:0", "verify"));
    assert!(matches!(both[1], Awaited::Activity { .. }));
    runtime.shutdown().await;

    // a process that does not register the code still shows where it waits, and why
    // it cannot read the rest
    let other = Runtime::builder(store).client_only();
    let inspection = other.inspect("p").await.unwrap().unwrap();
    let waiting = inspection.waiting.unwrap();
    assert!(
        waiting
            .at
            .expression
            .starts_with("durable::join(ctx.sub_orchestration(verify"),
        "{:?}",
        waiting.at
    );
    let why = waiting.decoded.unwrap_err();
    assert!(why.contains("no orchestration named `parent`"), "{why}");
    assert_eq!(inspection.input, None);
    assert_eq!(inspection.status.status, RuntimeStatus::Running);
    assert!(other.inspect("nobody").await.unwrap().is_none());
}

#[tokio::test]
async fn an_ended_instance_waits_nowhere() {
    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(verify)
        .start();
    let client = runtime.client();
    let id = client.start(verify, None, &"x".to_owned()).await.unwrap();
    suspended(&client, &id).await;
    client.raise_event(&id, "code", &4711u32).await.unwrap();
    let result = client
        .wait(verify, &id, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(result, Ok("x at 1".to_owned()));
    let inspection = client.inspect(&id).await.unwrap().unwrap();
    assert!(inspection.waiting.is_none());
    assert_eq!(inspection.status.status, RuntimeStatus::Completed);
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_panic_while_showing_a_local_is_reported_not_raised() {
    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(grumpy)
        .start();
    let client = runtime.client();
    let id = client.start(grumpy, Some("g"), &2).await.unwrap();
    let inspection = suspended(&client, &id).await;
    let why = inspection.waiting.unwrap().decoded.unwrap_err();
    assert!(
        why.contains("panicked") && why.contains("no JSON for me"),
        "{why}"
    );
    client.raise_event(&id, "more", &3u8).await.unwrap();
    let result = client.wait(grumpy, &id, Duration::from_secs(10)).await;
    assert_eq!(result.unwrap(), Ok(5));
    runtime.shutdown().await;
}
