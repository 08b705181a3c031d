//! What a service relies on over its whole life, on every store: long activities finish
//! and run once, nothing a caller was told is accepted is dropped, purge and terminate
//! reach whole trees, and no setting a user gives can kill a worker.

mod support;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use durable::limits::MAX_BUFFERED_EVENTS;
use durable::rocks::RocksStore;
use durable::ClientError;
use durable::{
    activity, orchestrator, MemoryStore, OrchestrationContext, RetryPolicy, Runtime, RuntimeStatus,
    Store, StoreError,
};
use durable::{join_all, select, Either, Purge};
use support::{double, weigh_items, TestError};

const WAIT: Duration = Duration::from_secs(20);

/// How many times each activity call of these tests ran, by its input's label.
static RUNS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

fn ran(label: &str) -> usize {
    let mut runs = RUNS.lock().unwrap();
    let runs = runs.get_or_insert_with(HashMap::new);
    *runs.entry(label.to_owned()).or_default() += 1;
    runs[label]
}

fn runs(label: &str) -> usize {
    let runs = RUNS.lock().unwrap();
    runs.as_ref()
        .and_then(|r| r.get(label))
        .copied()
        .unwrap_or(0)
}

/// Sleeps `millis`, counting its runs under `label`.
#[activity]
async fn sleepy(input: (String, u64)) -> Result<u64, String> {
    ran(&input.0);
    tokio::time::sleep(Duration::from_millis(input.1)).await;
    Ok(input.1)
}

/// Counts its start under `label` and its end under `label/ended`, `millis` apart.
#[activity]
async fn watched(input: (String, u64)) -> Result<u64, String> {
    ran(&input.0);
    tokio::time::sleep(Duration::from_millis(input.1)).await;
    ran(&format!("{}/ended", input.0));
    Ok(input.1)
}

/// Panics if dropped before it ends.
struct Grudge;

impl Drop for Grudge {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("dropped before its end");
        }
    }
}

/// Holds a [`Grudge`] across a long sleep; never ends in time.
#[activity]
async fn grudging(millis: u64) -> Result<u64, String> {
    let grudge = Grudge;
    tokio::time::sleep(Duration::from_millis(millis)).await;
    std::mem::forget(grudge);
    Ok(millis)
}

#[orchestrator]
async fn grudging_call(ctx: OrchestrationContext, millis: u64) -> Result<u64, TestError> {
    let call = ctx
        .call(grudging, millis)
        .with_timeout(Duration::from_millis(50));
    Ok(call.await?)
}

#[orchestrator]
async fn watched_call(ctx: OrchestrationContext, input: (String, u64)) -> Result<u64, TestError> {
    Ok(ctx.call(watched, input).await?)
}

#[orchestrator]
async fn long_call(ctx: OrchestrationContext, input: (String, u64)) -> Result<u64, TestError> {
    Ok(ctx.call(sleepy, input).await?)
}

#[orchestrator]
async fn bounded_call(ctx: OrchestrationContext, input: (String, u64)) -> Result<u64, TestError> {
    let call = ctx
        .call(sleepy, input)
        .with_timeout(Duration::from_millis(100))
        .with_retry(RetryPolicy::new(2, Duration::from_millis(10)));
    Ok(call.await?)
}

#[orchestrator]
async fn absurd_retry(ctx: OrchestrationContext, label: String) -> Result<u64, TestError> {
    let policy = RetryPolicy {
        max_attempts: 2,
        first_delay: Duration::from_secs(u64::MAX),
        backoff: f64::MAX,
        max_delay: Duration::from_secs(u64::MAX),
    };
    let call = ctx
        .call(sleepy, (label, 10_000))
        .with_timeout(Duration::from_millis(10))
        .with_retry(policy);
    Ok(call.await?)
}

/// Takes `n` events `n` after the event `go`, and sums them.
#[orchestrator]
async fn sum_events(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    ctx.event::<()>("go").await;
    let mut sum = 0;
    for _ in 0..n {
        sum += ctx.event::<u64>("n").await;
    }
    Ok(sum)
}

/// Weighs each cell of an `n` by `n` table by an event `w`, one cell a step: two loops
/// over owned collections, the inner one's items kept after the outer one's.
#[orchestrator]
async fn weigh_table(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let rows: Vec<u64> = (1..=n).collect();
    let mut sum = 0;
    for row in rows {
        let cells: Vec<u64> = (1..=n).collect();
        for cell in cells {
            sum += row * cell * ctx.event::<u64>("w").await;
        }
    }
    Ok(sum)
}

/// Takes the first two of 20 items in each of `rounds` batches, by events `w`, and
/// leaves each batch with a `break`; then leaves a last batch with a `return`.
#[orchestrator]
async fn skim_batches(ctx: OrchestrationContext, rounds: u64) -> Result<u64, TestError> {
    let mut sum = 0;
    for _ in 0..rounds {
        let batch: Vec<u64> = (0..20).collect();
        for item in batch {
            if item == 2 {
                break;
            }
            sum += ctx.event::<u64>("w").await;
        }
    }
    let last: Vec<u64> = (0..20).collect();
    for item in last {
        if item == 2 {
            return Ok(sum);
        }
        sum += ctx.event::<u64>("w").await;
    }
    Ok(0)
}

/// Takes events `w` for the items of a batch of 20 until one is 0, then leaves the loop.
#[durable::function]
async fn skim(ctx: &OrchestrationContext, batch: u64) -> Result<u64, TestError> {
    let items: Vec<u64> = (batch * 100..batch * 100 + 20).collect();
    let mut sum = 0;
    for item in items {
        match ctx.event::<u64>("w").await {
            0 => break,
            weight => sum += item * weight,
        }
    }
    Ok(sum)
}

/// Skims `rounds` batches through a durable function, then leaves two nested loops at
/// once with a labeled `break` from the inner one.
#[orchestrator]
async fn skim_nested(ctx: OrchestrationContext, rounds: u64) -> Result<u64, TestError> {
    let mut sum = 0;
    for batch in 0..rounds {
        sum += skim(&ctx, batch).await?;
    }
    let rows: Vec<u64> = (0..10).collect();
    'rows: for row in rows {
        let cells: Vec<u64> = (0..10).collect();
        for cell in cells {
            if ctx.event::<u64>("w").await == 0 {
                break 'rows;
            }
            sum += row * 10 + cell;
        }
    }
    Ok(sum)
}

/// Doubles `x` through an activity, after `x` milliseconds.
#[orchestrator]
async fn child_double(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    ctx.timer(Duration::from_millis(x)).await;
    Ok(ctx.call(double, x).await?)
}

/// A sub-orchestration that doubles `x`, and one that never ends unless terminated.
#[orchestrator]
async fn family(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let doubled = ctx
        .sub_orchestration(child_double, x)
        .await
        .map_err(|e| TestError::Rejected(e.to_string()))?;
    let lost = select(
        ctx.timer(Duration::from_millis(10)),
        ctx.sub_orchestration(endless, ()),
    )
    .await;
    assert!(matches!(lost, Either::Left(())), "the timer wins");
    Ok(doubled)
}

#[orchestrator]
async fn endless(ctx: OrchestrationContext) -> Result<u64, TestError> {
    Ok(ctx.event::<u64>("never").await)
}

#[orchestrator]
async fn typed_event(ctx: OrchestrationContext) -> Result<u64, TestError> {
    Ok(ctx.event::<u64>("b").await)
}

/// `n` calls of 2 ms at once.
#[orchestrator]
async fn fan_out(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let label = ctx.instance_id().to_owned();
    let calls: Vec<_> = (0..n)
        .map(|_| ctx.call(sleepy, (label.clone(), 2)))
        .collect();
    let mut total = 0;
    for result in join_all(calls).await {
        total += result?;
    }
    Ok(total)
}

fn runtime<S: Store>(store: S, lease: Duration) -> Runtime<S> {
    Runtime::builder(store)
        .orchestration(fan_out)
        .orchestration(typed_event)
        .orchestration(family)
        .orchestration(child_double)
        .orchestration(endless)
        .activity(double)
        .orchestration(sum_events)
        .orchestration(weigh_items)
        .orchestration(weigh_table)
        .orchestration(skim_batches)
        .orchestration(skim_nested)
        .orchestration(long_call)
        .orchestration(bounded_call)
        .orchestration(absurd_retry)
        .activity(sleepy)
        .orchestration(watched_call)
        .activity(watched)
        .orchestration(grudging_call)
        .activity(grudging)
        .lease(lease)
        .poll_interval(Duration::from_millis(5))
        .start()
}

/// Runs `check` on a memory store, a RocksDB store and a PostgreSQL store.
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::MemoryStore::new(), "memory").await;
                }
            )*
        }
        mod rocks {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = super::RocksStore::open(dir.path()).unwrap();
                    super::$name(store, "rocks").await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = super::support::postgres::store().await;
                    super::$name(store, "postgres").await;
                }
            )*
        }
    };
}

on_every_store!(
    an_activity_longer_than_the_lease_runs_once,
    a_running_call_stops_once_its_claim_is_lost,
    a_call_that_panics_as_it_is_stopped_fails_its_attempt,
    an_attempt_past_its_timeout_fails_and_is_retried,
    no_retry_policy_kills_a_worker,
    a_raise_past_the_event_bound_is_refused_and_none_is_dropped,
    a_suspended_instance_holds_events_up_to_the_bound,
    an_ended_instance_drops_its_untaken_events,
    a_child_that_loses_a_race_is_terminated,
    purge_takes_the_tree_and_the_id_can_be_used_again,
    a_payload_of_another_type_fails_by_name,
    calls_are_claimed_in_the_order_they_were_queued,
    retention_purges_what_ended_long_enough_ago,
    a_loop_keeps_its_items_beside_its_checkpoints,
    nested_loops_take_their_items_in_order,
    an_outer_loop_keeps_its_items_beside_the_inner_loops_checkpoints,
    a_loop_left_early_leaves_none_of_its_items,
    loops_left_in_a_function_or_by_a_label_leave_none_of_their_items,
    terminate_deletes_what_the_checkpoint_kept_beside_it,
);

/// Lease 100 ms, an activity of 300 ms: the worker renews its claim, so no other
/// worker takes the call over, and its result is accepted.
async fn an_activity_longer_than_the_lease_runs_once<S: Store>(store: S, on: &str) {
    let runtime = runtime(store, Duration::from_millis(100));
    let client = runtime.client();
    let label = format!("long-{on}");
    let id = client
        .start(long_call, None, &(label.clone(), 300))
        .await
        .unwrap();
    assert_eq!(client.wait(long_call, &id, WAIT).await.unwrap(), Ok(300));
    assert_eq!(runs(&label), 1, "run once, not once per lease");
    runtime.shutdown().await;
}

/// Terminating an instance withdraws the call it waits for; the worker running that
/// call learns it at its next renewal and drops the call where it awaits, instead of
/// running it to an end whose result would be refused.
async fn a_running_call_stops_once_its_claim_is_lost<S: Store>(store: S, on: &str) {
    let runtime = runtime(store, Duration::from_millis(100));
    let client = runtime.client();
    let label = format!("watched-{on}");
    let id = client
        .start(watched_call, None, &(label.clone(), 2_000))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while runs(&label) < 1 {
        assert!(tokio::time::Instant::now() < deadline, "never ran");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    client.terminate(&id, "enough").await.unwrap();
    // the call would have ended 2 s after it started
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let status = client.status(&id).await.unwrap().map(|s| s.status);
    assert_eq!(status, Some(RuntimeStatus::Terminated));
    assert_eq!(runs(&format!("{label}/ended")), 0, "the call was dropped");
    runtime.shutdown().await;
}

/// A call stopped at its timeout is dropped where it awaits; one that panics as it drops
/// fails its attempt, and the worker goes on (and can shut down).
async fn a_call_that_panics_as_it_is_stopped_fails_its_attempt<S: Store>(store: S, _on: &str) {
    let runtime = runtime(store, Duration::from_millis(100));
    let client = runtime.client();
    let id = client.start(grudging_call, None, &10_000).await.unwrap();
    let error = client.wait(grudging_call, &id, WAIT).await.unwrap();
    let error = error.expect_err("the attempt failed");
    assert!(error.contains("dropped before its end"), "{error}");
    tokio::time::timeout(WAIT, runtime.shutdown())
        .await
        .expect("the workers stop");
}

async fn an_attempt_past_its_timeout_fails_and_is_retried<S: Store>(store: S, on: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let label = format!("timeout-{on}");
    let id = client
        .start(bounded_call, None, &(label.clone(), 10_000))
        .await
        .unwrap();
    let error = client.wait(bounded_call, &id, WAIT).await.unwrap();
    let error = error.expect_err("every attempt timed out");
    assert!(
        error.contains("timed out after 100ms") && error.contains("after 2 attempts"),
        "{error}"
    );
    assert_eq!(runs(&label), 2);
    runtime.shutdown().await;
}

/// A retry delay of `u64::MAX` seconds used to panic the worker that computed the
/// next attempt's time, and the next worker to claim the call.
async fn no_retry_policy_kills_a_worker<S: Store>(store: S, on: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let label = format!("absurd-{on}");
    let id = client
        .start(absurd_retry, None, &label.clone())
        .await
        .unwrap();
    // the first attempt times out after 10 ms and the second waits about 31 years
    let deadline = tokio::time::Instant::now() + WAIT;
    while runs(&label) < 1 {
        assert!(tokio::time::Instant::now() < deadline, "never ran");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // the workers still work: another instance completes
    let other = format!("after-absurd-{on}");
    let next = client
        .start(long_call, None, &(other.clone(), 1))
        .await
        .unwrap();
    assert_eq!(client.wait(long_call, &next, WAIT).await.unwrap(), Ok(1));
    let status = client.status(&id).await.unwrap().unwrap();
    assert_eq!(
        status.status,
        RuntimeStatus::Running,
        "waiting for its retry"
    );
    runtime.shutdown().await;
}

fn is_too_many_events(result: Result<(), ClientError>, id: &str) -> bool {
    matches!(
        result,
        Err(ClientError::Store(StoreError::TooManyEvents { id: ref i, limit }))
            if i == id && limit == MAX_BUFFERED_EVENTS
    )
}

/// Events raised while the instance waits for another one are buffered up to the
/// bound; past it the raise is refused, except for the event the instance waits for,
/// which it takes at once; every accepted event is taken in the end. (The cap used to
/// drop the oldest buffered event in a later step, after the raise had returned `Ok`;
/// then a full buffer refused the awaited event, and the instance waited forever.)
async fn a_raise_past_the_event_bound_is_refused_and_none_is_dropped<S: Store>(store: S, _: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let n = MAX_BUFFERED_EVENTS as u64;
    let id = client.start(sum_events, None, &n).await.unwrap();
    for i in 0..n {
        client.raise_event(&id, "n", &i).await.unwrap();
    }
    let refused = client.raise_event(&id, "n", &7u64).await;
    assert!(is_too_many_events(refused, &id));
    // the events are buffered in the record by now, or soon: still refused
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = client.raise_event(&id, "n", &7u64).await;
    assert!(is_too_many_events(refused, &id));
    client.raise_event(&id, "go", &()).await.unwrap();
    let sum = client.wait(sum_events, &id, WAIT).await.unwrap();
    assert_eq!(sum, Ok(n * (n - 1) / 2), "every accepted event, none twice");
    runtime.shutdown().await;
}

/// Events nobody took are dropped when the instance ends: an ended record does not
/// keep (and a store does not keep rewriting) payloads no code will read.
async fn an_ended_instance_drops_its_untaken_events<S: Store>(store: S, _: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let id = client.start(sum_events, None, &1).await.unwrap();
    for _ in 0..3 {
        client.raise_event(&id, "unawaited", &7u64).await.unwrap();
    }
    client.raise_event(&id, "go", &()).await.unwrap();
    client.raise_event(&id, "n", &5u64).await.unwrap();
    assert_eq!(client.wait(sum_events, &id, WAIT).await.unwrap(), Ok(5));
    let record = runtime.store().instance(&id).await.unwrap().unwrap();
    assert!(record.events.is_empty(), "{:?}", record.events);
    runtime.shutdown().await;
}

/// Suspended, an instance queues what it is sent up to the same bound, and takes
/// every accepted event once resumed.
async fn a_suspended_instance_holds_events_up_to_the_bound<S: Store>(store: S, _: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let n = MAX_BUFFERED_EVENTS as u64 - 1;
    let id = client.start(sum_events, None, &n).await.unwrap();
    client.suspend(&id).await.unwrap();
    client.raise_event(&id, "go", &()).await.unwrap();
    for i in 0..n {
        client.raise_event(&id, "n", &i).await.unwrap();
    }
    let refused = client.raise_event(&id, "n", &1000u64).await;
    assert!(is_too_many_events(refused, &id));
    client.resume(&id).await.unwrap();
    let sum = client.wait(sum_events, &id, WAIT).await.unwrap();
    assert_eq!(sum, Ok(n * (n - 1) / 2), "every accepted event, none twice");
    runtime.shutdown().await;
}

async fn ended<S: Store>(client: &durable::Client<S>, id: &str) -> RuntimeStatus {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = client.status(id).await.unwrap().map(|s| s.status);
        match status {
            Some(status) if status.is_terminal() => return status,
            _ => assert!(tokio::time::Instant::now() < deadline, "{id}: {status:?}"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The child that loses a `select` used to run on forever, out of reach of a later
/// terminate of its parent.
async fn a_child_that_loses_a_race_is_terminated<S: Store>(store: S, on: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let id = format!("race-{on}");
    client.start(family, Some(&id), &1).await.unwrap();
    assert_eq!(client.wait(family, &id, WAIT).await.unwrap(), Ok(2));
    let loser = format!("{id}:2");
    assert_eq!(ended(&client, &loser).await, RuntimeStatus::Terminated);
    let status = client.status(&loser).await.unwrap().unwrap();
    assert_eq!(status.name, "endless");
    assert_eq!(
        status.error.as_deref(),
        Some(format!("its parent `{id}` no longer waits for it").as_str())
    );
    runtime.shutdown().await;
}

/// Purging a parent takes its sub-orchestrations, so the documented DELETE then POST
/// of the same id runs afresh. (The old children stayed: the new parent found its
/// child id taken by the ended child and waited forever.)
async fn purge_takes_the_tree_and_the_id_can_be_used_again<S: Store>(store: S, on: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let id = format!("tree-{on}");
    client.start(family, Some(&id), &1).await.unwrap();
    assert!(
        matches!(client.purge(&id).await.unwrap(), Purge::NotEnded(_)),
        "a running instance is kept"
    );
    assert_eq!(client.wait(family, &id, WAIT).await.unwrap(), Ok(2));
    ended(&client, &format!("{id}:2")).await;
    // the loser's end is a message to its parent, which may be dropping it right now
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut purged = client.purge(&id).await.unwrap();
    while purged == Purge::Busy && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
        purged = client.purge(&id).await.unwrap();
    }
    assert_eq!(purged, Purge::Deleted { descendants: 2 });
    for gone in [id.clone(), format!("{id}:0"), format!("{id}:2")] {
        assert_eq!(client.status(&gone).await.unwrap(), None, "{gone}");
    }
    assert_eq!(client.purge(&id).await.unwrap(), Purge::NotFound);

    client.start(family, Some(&id), &20).await.unwrap();
    assert_eq!(client.wait(family, &id, WAIT).await.unwrap(), Ok(40));
    runtime.shutdown().await;
}

/// `ctx.event::<u64>("b")` raised with `true` used to complete with 1: bincode is not
/// self-describing.
async fn a_payload_of_another_type_fails_by_name<S: Store>(store: S, _: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let id = client.start(typed_event, None, &()).await.unwrap();
    client.raise_event(&id, "b", &true).await.unwrap();
    let error = client
        .wait(typed_event, &id, WAIT)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        error.contains("event `b`") && error.contains("another type than `u64`"),
        "{error}"
    );
    let id = client.start(typed_event, None, &()).await.unwrap();
    client.raise_event(&id, "b", &41u64).await.unwrap();
    assert_eq!(client.wait(typed_event, &id, WAIT).await.unwrap(), Ok(41));
    runtime.shutdown().await;
}

/// Calls used to be claimed lowest instance id first, so a fan-out under a low id
/// went ahead of every call of a higher id queued before it, and a stream of them
/// starved the rest. One activity worker: the call of `z-…` is queued between two
/// fan-outs of 150 under lower ids and must run before the second.
async fn calls_are_claimed_in_the_order_they_were_queued<S: Store>(store: S, on: &str) {
    let runtime = Runtime::builder(store)
        .orchestration(fan_out)
        .orchestration(long_call)
        .activity(sleepy)
        .concurrency(2, 1)
        .poll_interval(Duration::from_millis(5))
        .start();
    let client = runtime.client();
    let (first, late, second) = (format!("a1-{on}"), format!("z-{on}"), format!("a2-{on}"));
    client.start(fan_out, Some(&first), &150).await.unwrap();
    while runs(&first) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    client
        .start(long_call, Some(&late), &(late.clone(), 1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await; // its call is queued
    client.start(fan_out, Some(&second), &150).await.unwrap();
    assert_eq!(client.wait(long_call, &late, WAIT).await.unwrap(), Ok(1));
    assert!(
        runs(&second) < 150,
        "the late call waited for the whole later fan-out ({} of its calls ran first)",
        runs(&second)
    );
    assert_eq!(client.wait(fan_out, &second, WAIT).await.unwrap(), Ok(300));
    runtime.shutdown().await;
}

async fn retention_purges_what_ended_long_enough_ago<S: Store>(store: S, on: &str) {
    let runtime = Runtime::builder(store)
        .orchestration(family)
        .orchestration(child_double)
        .orchestration(endless)
        .orchestration(typed_event)
        .activity(double)
        .retention(Duration::from_millis(200))
        .poll_interval(Duration::from_millis(5))
        .start();
    let client = runtime.client();
    let (done, open) = (format!("kept-briefly-{on}"), format!("still-open-{on}"));
    client.start(family, Some(&done), &1).await.unwrap();
    client.start(typed_event, Some(&open), &()).await.unwrap();
    assert_eq!(client.wait(family, &done, WAIT).await.unwrap(), Ok(2));
    assert!(client.status(&done).await.unwrap().is_some(), "not yet");
    let deadline = tokio::time::Instant::now() + WAIT;
    while client.status(&done).await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "never purged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for child in [format!("{done}:0"), format!("{done}:2")] {
        assert_eq!(client.status(&child).await.unwrap(), None, "{child}");
    }
    let open = client
        .status(&open)
        .await
        .unwrap()
        .expect("a running one is kept");
    assert!(!open.status.is_terminal());
    runtime.shutdown().await;
}

/// A loop over an owned collection writes its items beside its checkpoint once, so
/// the checkpoint is as small with 2,000 items to go as with 10, and each step reads
/// the item it takes. (On PostgreSQL every checkpoint used to carry the items left.)
async fn a_loop_keeps_its_items_beside_its_checkpoints<S: Store>(store: S, on: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let mut checkpoints = Vec::new();
    for n in [10u64, 2000] {
        let id = client
            .start(weigh_items, Some(&format!("{on}-weigh-{n}")), &n)
            .await
            .unwrap();
        let state = first_checkpoint(runtime.store(), &id).await;
        checkpoints.push((id, state.len()));
    }
    let (small, large) = (checkpoints[0].1, checkpoints[1].1);
    assert!(
        large <= small + 4,
        "on {on}, the checkpoint with 2,000 items to go is {large} bytes, with 10 {small}"
    );
    let id = &checkpoints[0].0;
    for weight in 1..=10u64 {
        client.raise_event(id, "w", &weight).await.unwrap();
    }
    let squares: u64 = (1..=10u64).map(|i| i * i).sum();
    assert_eq!(
        client.wait(weigh_items, id, WAIT).await.unwrap(),
        Ok(squares)
    );
    runtime.shutdown().await;
}

/// An outer loop's items go beside the checkpoints too, though the outer loop is saved
/// at the inner loop's `.await`s, not at its own: the checkpoint is about as small with
/// 2,000 rows to go as with 10 (it was 5,598 bytes against 102).
async fn an_outer_loop_keeps_its_items_beside_the_inner_loops_checkpoints<S: Store>(
    store: S,
    on: &str,
) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let mut checkpoints = Vec::new();
    for n in [10u64, 2000] {
        let id = client.start(weigh_table, None, &n).await.unwrap();
        let state = first_checkpoint(runtime.store(), &id).await;
        checkpoints.push(state.len());
        client.terminate(&id, "measured").await.unwrap();
    }
    let (small, large) = (checkpoints[0], checkpoints[1]);
    // where each loop's items are and how many (numbers of 3 bytes rather than 1)
    assert!(
        large <= small + 12,
        "on {on}, the checkpoint with 2,000 rows to go is {large} bytes, with 10 {small}"
    );
    runtime.shutdown().await;
}

/// Nested loops keep both collections' items beside the checkpoints, and each step
/// takes the right one: the PostgreSQL store reads the lowest-keyed item along with a
/// claim, which is the inner loop's next only until the outer loop takes its next row.
async fn nested_loops_take_their_items_in_order<S: Store>(store: S, _: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let id = client.start(weigh_table, None, &9u64).await.unwrap();
    for step in 0..81u64 {
        client.raise_event(&id, "w", &(step % 2 + 1)).await.unwrap();
    }
    let expected: u64 = (0..81u64)
        .map(|i| (i / 9 + 1) * (i % 9 + 1) * (i % 2 + 1))
        .sum();
    assert_eq!(
        client.wait(weigh_table, &id, WAIT).await.unwrap(),
        Ok(expected)
    );
    runtime.shutdown().await;
}

/// A loop left before its end (`break`, `return`) deletes the items it kept and will
/// never take: a long-lived instance that skims a batch each round does not pile up
/// the rest of every batch.
async fn a_loop_left_early_leaves_none_of_its_items<S: Store>(store: S, on: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let rounds = 3u64;
    let id = client.start(skim_batches, None, &rounds).await.unwrap();
    for _ in 0..(rounds + 1) * 2 {
        client.raise_event(&id, "w", &1u64).await.unwrap();
    }
    assert_eq!(
        client.wait(skim_batches, &id, WAIT).await.unwrap(),
        Ok(rounds * 2 + 2)
    );
    // the keys are task ids: 4 batches of 18 reserved, and a task each `.await`
    let left = parts_of(runtime.store(), &id, 200);
    assert!(left.is_empty(), "on {on}, items left behind: {left:?}");
    runtime.shutdown().await;
}

/// The same, for a loop in a durable function (whose state nests in its caller's) and
/// for two nested loops left at once by a labeled `break`.
async fn loops_left_in_a_function_or_by_a_label_leave_none_of_their_items<S: Store>(
    store: S,
    on: &str,
) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let id = client.start(skim_nested, None, &2u64).await.unwrap();
    // each batch: two items weighed 1, then 0 leaves it; then 12 cells, then 0
    let weights = [1u64, 1, 0, 1, 1, 0].into_iter().chain([1; 12]).chain([0]);
    for weight in weights {
        client.raise_event(&id, "w", &weight).await.unwrap();
    }
    let batches: u64 = (0..2u64).map(|b| b * 100 * 2 + 1).sum();
    let cells: u64 = (0..12u64).sum();
    assert_eq!(
        client.wait(skim_nested, &id, WAIT).await.unwrap(),
        Ok(batches + cells)
    );
    let left = parts_of(runtime.store(), &id, 200);
    assert!(left.is_empty(), "on {on}, items left behind: {left:?}");
    runtime.shutdown().await;
}

/// The checkpoint of `id` once it has one.
async fn first_checkpoint<S: Store>(store: &S, id: &str) -> Vec<u8> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let record = store.instance(id).await.unwrap().unwrap();
        if let Some(state) = record.state {
            return state;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} never waited");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The keys below `below` of the parts `id` keeps beside its checkpoint.
fn parts_of<S: Store>(store: &S, id: &str, below: u64) -> Vec<u64> {
    let reader = store.part_reader().expect("every store keeps parts");
    (0..below)
        .filter(|key| (reader.0)(id, *key).unwrap().is_some())
        .collect()
}

/// Terminating an instance deletes its checkpoint, and with it the items its loop kept
/// beside it; another instance's items stay.
async fn terminate_deletes_what_the_checkpoint_kept_beside_it<S: Store>(store: S, on: &str) {
    let runtime = runtime(store, Duration::from_secs(30));
    let client = runtime.client();
    let doomed = format!("{on}-doomed");
    let other = format!("{doomed}-not");
    for id in [&doomed, &other] {
        client.start(weigh_items, Some(id), &40u64).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while parts_of(runtime.store(), &doomed, 64).len() < 39
        || parts_of(runtime.store(), &other, 64).len() < 39
    {
        assert!(tokio::time::Instant::now() < deadline, "no items were kept");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    client.terminate(&doomed, "enough").await.unwrap();
    assert_eq!(ended(&client, &doomed).await, RuntimeStatus::Terminated);
    let left = parts_of(runtime.store(), &doomed, 64);
    assert!(left.is_empty(), "on {on}, items left behind: {left:?}");
    assert_eq!(parts_of(runtime.store(), &other, 64).len(), 39);
    runtime.shutdown().await;
}
