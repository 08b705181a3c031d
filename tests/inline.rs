//! `testing::InlineRunner` agrees with the runtime: retry policies and timeouts apply,
//! timers race events and calls in (virtual) time, panics fail the attempt or the run,
//! and its future can be sent to another thread.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use durable::testing::InlineRunner;
use durable::{activity, orchestrator, select, Either, OrchestrationContext, RetryPolicy};
use support::TestError;

static ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// Fails its first two attempts.
#[activity]
async fn flaky(x: u64) -> Result<u64, String> {
    match ATTEMPTS.fetch_add(1, Ordering::SeqCst) {
        0 | 1 => Err("not yet".into()),
        _ => Ok(x),
    }
}

#[orchestrator]
async fn retried(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let policy = RetryPolicy::new(3, Duration::from_secs(60));
    Ok(ctx.call(flaky, x).with_retry(policy).await?)
}

#[tokio::test]
async fn retry_policies_apply_without_waiting_for_their_backoff() {
    let runner = InlineRunner::new().activity(flaky);
    let started = std::time::Instant::now();
    let run = runner.run(retried, &7).await.unwrap();
    assert_eq!(run.result, Ok(7));
    assert_eq!(ATTEMPTS.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the backoff was not waited for"
    );
}

#[orchestrator]
async fn approval(ctx: OrchestrationContext, _: ()) -> Result<String, TestError> {
    match select(
        ctx.timer(Duration::from_secs(3600)),
        ctx.event::<String>("approved"),
    )
    .await
    {
        Either::Left(()) => Ok("timed out".into()),
        Either::Right(by) => Ok(format!("approved by {by}")),
    }
}

#[activity]
async fn slow_and_failing(x: u64) -> Result<u64, String> {
    Err(format!("{x} failed"))
}

/// Races a failing call, whose retries wait two minutes in all (each wait is capped at
/// a minute), against a timer of `seconds`.
#[orchestrator]
async fn deadline(ctx: OrchestrationContext, seconds: u64) -> Result<String, TestError> {
    let call = ctx
        .call(slow_and_failing, seconds)
        .with_retry(RetryPolicy::new(3, Duration::from_secs(600)));
    match select(ctx.timer(Duration::from_secs(seconds)), call).await {
        Either::Left(()) => Ok("deadline".into()),
        Either::Right(result) => Ok(format!("{result:?}")),
    }
}

#[activity]
async fn boom(_: u64) -> Result<u64, String> {
    panic!("kaboom")
}

#[orchestrator]
async fn exploding(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    Ok(ctx.call(boom, x).await?)
}

#[tokio::test]
async fn timers_race_in_virtual_time() {
    let waiting = InlineRunner::new();
    let run = waiting.run(approval, &()).await.unwrap();
    assert_eq!(run.result, Ok("timed out".into()));
    let approved = InlineRunner::new().event("approved", &"ann").unwrap();
    let run = approved.run(approval, &()).await.unwrap();
    assert_eq!(run.result, Ok("approved by ann".into()));
    let runner = InlineRunner::new().activity(slow_and_failing);
    let run = runner.run(deadline, &90).await.unwrap();
    assert_eq!(run.result, Ok("deadline".into()));
    let run = runner.run(deadline, &150).await.unwrap();
    let out = run.result.unwrap();
    assert!(out.contains("150 failed (after 3 attempts)"), "{out}");
}

#[tokio::test]
async fn panics_fail_the_attempt_as_in_the_runtime() {
    let runner = InlineRunner::new().activity(boom);
    let run = runner.run(exploding, &1).await.unwrap();
    let error = run.result.unwrap_err();
    assert!(
        error.contains("activity `boom` panicked: kaboom"),
        "{error}"
    );
}

#[tokio::test]
async fn a_run_can_be_spawned() {
    let runner = InlineRunner::new().activity(flaky);
    let run = tokio::spawn(async move { runner.run(approval, &()).await });
    assert_eq!(run.await.unwrap().unwrap().result, Ok("timed out".into()));
}

#[orchestrator]
async fn two_decisions(ctx: OrchestrationContext, _: ()) -> Result<Vec<String>, TestError> {
    let mut seen = Vec::new();
    // both events are queued: the race takes its first arm, `b`
    match select(ctx.event::<String>("b"), ctx.event::<String>("a")).await {
        Either::Left(b) => seen.push(b),
        Either::Right(a) => seen.push(a),
    }
    // the event that lost the race is still there for the next wait
    let a: String = ctx.event("a").await;
    seen.push(a);
    Ok(seen)
}

#[tokio::test]
async fn an_event_that_loses_a_race_stays_queued() {
    let runner = InlineRunner::new()
        .event("b", &"from b")
        .unwrap()
        .event("a", &"from a")
        .unwrap();
    let run = runner.run(two_decisions, &()).await.unwrap();
    assert_eq!(run.result, Ok(vec!["from b".into(), "from a".into()]));
}
