//! The runtime on the in-memory store: instances started through the client run to
//! completion on tokio workers; faults fail one instance and leave the rest running.

mod support;

use std::sync::Arc;
use std::time::Duration;

use durable::{
    activity, join, join_all, orchestrator, select, ClientError, Either, InstanceFilter,
    MemoryStore, OrchestrationContext, Runtime, RuntimeStatus, StoreError,
};
use support::*;

const WAIT: Duration = Duration::from_secs(10);

#[orchestrator]
async fn chain(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let mut total = 0;
    for i in 0..n {
        total += ctx.call(double, i).await?;
    }
    Ok(total)
}

#[activity]
async fn slow(x: u64) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(x)
}

#[orchestrator]
async fn patient(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    Ok(ctx.call(slow, x).await?)
}

#[activity]
async fn explode(x: u64) -> Result<u64, String> {
    if x == 0 {
        panic!("boom");
    }
    Ok(x)
}

#[orchestrator]
async fn fragile(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    Ok(ctx.call(explode, x).await?)
}

#[orchestrator]
async fn panicky(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let v = ctx.call(double, x).await?;
    let items: Vec<u64> = Vec::new();
    Ok(items[v as usize])
}

#[orchestrator]
async fn monitor(ctx: OrchestrationContext, checks: u64) -> Result<(u64, bool), TestError> {
    let started = ctx.now();
    let mut polls = 0;
    for _ in 0..checks {
        ctx.timer(Duration::from_millis(20)).await;
        polls += ctx.call(double, 1).await?;
    }
    let elapsed = ctx.now().duration_since(started).unwrap_or_default();
    Ok((polls, elapsed >= Duration::from_millis(20 * checks)))
}

#[orchestrator]
async fn approvals(ctx: OrchestrationContext, needed: u64) -> Result<Vec<String>, TestError> {
    let mut seen = Vec::new();
    while (seen.len() as u64) < needed {
        let who: String = ctx.event("approve").await;
        seen.push(ctx.call(echo, who).await?);
    }
    let note: u64 = ctx.event("note").await;
    seen.push(note.to_string());
    Ok(seen)
}

#[activity]
async fn flaky(ctx: durable::ActivityContext, x: u64) -> Result<u64, String> {
    if ctx.attempt() < 3 {
        return Err(format!("attempt {} failed", ctx.attempt()));
    }
    Ok(x)
}

#[orchestrator]
async fn persistent(ctx: OrchestrationContext, attempts: u32) -> Result<u64, TestError> {
    let policy = durable::RetryPolicy::new(attempts, Duration::from_millis(10));
    Ok(ctx.call(flaky, 9).with_retry(policy).await?)
}

#[orchestrator]
async fn parent(ctx: OrchestrationContext, n: u64) -> Result<(u64, String), TestError> {
    let children: Vec<_> = (1..=n).map(|i| ctx.sub_orchestration(chain, i)).collect();
    let mut total = 0;
    for child in join_all(children).await {
        total += child.map_err(|e| TestError::Rejected(e.to_string()))?;
    }
    let failed = match ctx.sub_orchestration(fragile, 0).await {
        Ok(_) => "no failure".to_string(),
        Err(e) => e.to_string(),
    };
    Ok((total, failed))
}

#[orchestrator]
async fn phases(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let mut total = 0;
    for phase in 0..n {
        ctx.set_custom_status(&format!("phase {phase}"))
            .map_err(|e| TestError::Rejected(e.to_string()))?;
        let step: u64 = ctx.event("next").await;
        total += ctx.call(double, step).await?;
    }
    Ok(total)
}

#[orchestrator]
async fn tie(ctx: OrchestrationContext, _: ()) -> Result<(bool, u64), TestError> {
    let first = select(ctx.timer(Duration::ZERO), ctx.event::<u64>("x")).await;
    let second: u64 = ctx.event("x").await;
    Ok((matches!(first, Either::Left(())), second))
}

#[orchestrator]
async fn fan(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let calls: Vec<_> = (0..n).map(|i| ctx.call(double, i)).collect();
    let doubled = join_all(calls).await;
    let mut sum = 0;
    for d in doubled {
        sum += d?;
    }
    let nothing: Vec<u64> = join_all(Vec::<durable::Call<double>>::new())
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let (a, b) = join(ctx.call(double, 1), ctx.call(add, (2, 3))).await;
    Ok(sum + a? + b? + nothing.len() as u64)
}

#[orchestrator]
async fn verify(ctx: OrchestrationContext, timeout_ms: u64) -> Result<String, TestError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let deadline = ctx.timer(Duration::from_millis(timeout_ms));
        match select(deadline, ctx.event::<String>("code")).await {
            Either::Left(()) => return Ok(format!("timed out after {attempts}")),
            Either::Right(code) if code == "1234" => return Ok(format!("approved at {attempts}")),
            Either::Right(_) if attempts >= 3 => return Ok("denied".into()),
            Either::Right(_) => continue,
        }
    }
}

/// Waits for an event raised before it waits, together with an hour-long timer.
#[orchestrator]
async fn early_event_and_timer(ctx: OrchestrationContext, _: ()) -> Result<u64, TestError> {
    let (n, ()): (u64, ()) = join(ctx.event("early"), ctx.timer(Duration::from_secs(3600))).await;
    Ok(n)
}

fn runtime(store: Arc<MemoryStore>) -> Runtime<Arc<MemoryStore>> {
    Runtime::builder(store)
        .orchestration(early_event_and_timer)
        .orchestration(persistent)
        .activity(flaky)
        .orchestration(fan)
        .orchestration(parent)
        .orchestration(phases)
        .orchestration(tie)
        .orchestration(verify)
        .activity(add)
        .orchestration(approvals)
        .activity(echo)
        .orchestration(monitor)
        .orchestration(chain)
        .orchestration(fragile)
        .orchestration(panicky)
        .activity(double)
        .activity(explode)
        .poll_interval(Duration::from_millis(5))
        .start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_run_to_completion() {
    let runtime = runtime(Arc::default());
    let client = runtime.client();
    let ids: Vec<String> = futures_ids(&client, 50).await;
    for (n, id) in ids.iter().enumerate() {
        let expected: u64 = (0..n as u64).map(|i| i * 2).sum();
        assert_eq!(client.wait(chain, id, WAIT).await.unwrap(), Ok(expected));
        let status = client.status(id).await.unwrap().unwrap();
        assert_eq!(status.status, RuntimeStatus::Completed);
        assert_eq!(status.name, "chain");
    }
    runtime.shutdown().await;
}

async fn futures_ids(client: &durable::Client<Arc<MemoryStore>>, n: u64) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(client.start(chain, None, &i).await.unwrap());
    }
    ids
}

#[tokio::test]
async fn an_instance_id_is_used_once() {
    let runtime = runtime(Arc::default());
    // a NUL would put an id inside another's key range in RocksDB (`id`, 0, ...)
    let long = "x".repeat(durable::limits::MAX_INSTANCE_ID_BYTES + 1);
    for reserved in [
        "",
        "parent:0",
        "a\0x",
        "tab\tid",
        "line\nbreak",
        // path steps in every URL an id goes into
        ".",
        "..",
        long.as_str(),
    ] {
        let refused = runtime.client().start(chain, Some(reserved), &1).await;
        assert!(
            matches!(&refused, Err(ClientError::InvalidId(id)) if id == reserved),
            "{refused:?}"
        );
    }
    let client = runtime.client();
    assert_eq!(
        client.start(chain, Some("order-1"), &3).await.unwrap(),
        "order-1"
    );
    let again = client.start(chain, Some("order-1"), &4).await;
    assert!(matches!(
        again,
        Err(ClientError::Store(StoreError::AlreadyExists(id))) if id == "order-1"
    ));
    assert_eq!(client.wait(chain, "order-1", WAIT).await.unwrap(), Ok(6));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_fail_their_instance_and_nothing_else() {
    let runtime = runtime(Arc::default());
    let client = runtime.client();
    let boom = client.start(fragile, None, &0).await.unwrap();
    let fine = client.start(fragile, None, &5).await.unwrap();
    let index = client.start(panicky, None, &1).await.unwrap();
    let chained = client.start(chain, None, &4).await.unwrap();

    let failed = client
        .wait(fragile, &boom, WAIT)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        failed.contains("activity `explode` panicked: boom"),
        "{failed}"
    );
    assert_eq!(client.wait(fragile, &fine, WAIT).await.unwrap(), Ok(5));
    let failed = client
        .wait(panicky, &index, WAIT)
        .await
        .unwrap()
        .unwrap_err();
    assert!(failed.contains("the orchestration panicked"), "{failed}");
    assert_eq!(client.wait(chain, &chained, WAIT).await.unwrap(), Ok(12));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_runtime_on_the_same_store_finishes_what_the_old_one_started() {
    let store = Arc::new(MemoryStore::new());
    let first = runtime(store.clone());
    let client = first.client();
    let mut ids = Vec::new();
    for n in 0..20u64 {
        ids.push((n, client.start(chain, None, &(n * 10)).await.unwrap()));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    first.shutdown().await;

    let second = runtime(store);
    let client = second.client();
    for (n, id) in ids {
        let expected: u64 = (0..n * 10).map(|i| i * 2).sum();
        assert_eq!(client.wait(chain, &id, WAIT).await.unwrap(), Ok(expected));
    }
    second.shutdown().await;
}

#[tokio::test]
async fn waiting_reports_timeouts_unknown_ids_and_wrong_types() {
    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(patient)
        .activity(slow)
        .start();
    let client = runtime.client();
    let id = client.start(patient, None, &3).await.unwrap();
    assert!(matches!(
        client.wait(patient, &id, Duration::from_millis(30)).await,
        Err(ClientError::Timeout(_))
    ));
    assert!(matches!(
        client.wait(fragile, &id, WAIT).await,
        Err(ClientError::WrongOrchestration { .. })
    ));
    assert_eq!(client.wait(patient, &id, WAIT).await.unwrap(), Ok(3));
    assert!(matches!(
        client.wait(chain, "nope", WAIT).await,
        Err(ClientError::Store(StoreError::NotFound(_)))
    ));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_timers_wait_their_time() {
    let runtime = runtime(Arc::default());
    let client = runtime.client();
    let id = client.start(monitor, None, &4).await.unwrap();
    assert_eq!(
        client.wait(monitor, &id, WAIT).await.unwrap(),
        Ok((8, true))
    );
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_events_are_buffered_in_order_until_awaited() {
    let runtime = runtime(Arc::default());
    let client = runtime.client();
    let id = client.start(approvals, None, &3).await.unwrap();
    for who in ["ann", "bob", "cy", "dee"] {
        client.raise_event(&id, "approve", &who).await.unwrap();
    }
    client.raise_event(&id, "note", &7u64).await.unwrap();
    let done = client.wait(approvals, &id, WAIT).await.unwrap();
    assert_eq!(
        done,
        Ok(vec!["ann".into(), "bob".into(), "cy".into(), "7".into()])
    );

    let later = client.start(approvals, None, &1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    client.raise_event(&later, "approve", &"eve").await.unwrap();
    client
        .raise_event(&later, "note", &"not a number")
        .await
        .unwrap();
    let failed = client
        .wait(approvals, &later, WAIT)
        .await
        .unwrap()
        .unwrap_err();
    assert!(failed.contains("event `note` does not fit"), "{failed}");

    assert!(matches!(
        client.raise_event("nobody", "approve", &"x").await,
        Err(ClientError::Store(StoreError::NotFound(_)))
    ));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_and_fan_in() {
    let runtime = runtime(Arc::default());
    let client = runtime.client();
    let id = client.start(fan, None, &100).await.unwrap();
    let expected: u64 = (0..100).map(|i| i * 2).sum::<u64>() + 2 + 5;
    assert_eq!(client.wait(fan, &id, WAIT).await.unwrap(), Ok(expected));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_race_between_a_timer_and_an_event() {
    let store = Arc::new(MemoryStore::new());
    let runtime = runtime(store.clone());
    let client = runtime.client();
    let approved = client.start(verify, None, &60_000).await.unwrap();
    client
        .raise_event(&approved, "code", &"0000")
        .await
        .unwrap();
    client
        .raise_event(&approved, "code", &"1234")
        .await
        .unwrap();
    let denied = client.start(verify, None, &60_000).await.unwrap();
    for code in ["1", "2", "3", "1234"] {
        client.raise_event(&denied, "code", &code).await.unwrap();
    }
    let timed_out = client.start(verify, None, &50).await.unwrap();
    assert_eq!(
        client.wait(verify, &approved, WAIT).await.unwrap(),
        Ok("approved at 2".into())
    );
    assert_eq!(
        client.wait(verify, &denied, WAIT).await.unwrap(),
        Ok("denied".into())
    );
    assert_eq!(
        client.wait(verify, &timed_out, WAIT).await.unwrap(),
        Ok("timed out after 1".into())
    );
    // the timers that lost their race were cancelled, not left to fire in a minute
    use durable::Store;
    assert_eq!(store.fire_timers(u64::MAX).await.unwrap(), (0, None));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_calls_are_retried_with_backoff() {
    let runtime = runtime(Arc::default());
    let client = runtime.client();
    let enough = client.start(persistent, None, &3).await.unwrap();
    let too_few = client.start(persistent, None, &2).await.unwrap();
    assert_eq!(client.wait(persistent, &enough, WAIT).await.unwrap(), Ok(9));
    let failed = client
        .wait(persistent, &too_few, WAIT)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        failed.contains("attempt 2 failed (after 2 attempts)"),
        "{failed}"
    );
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_orchestrations_report_to_their_parent() {
    let runtime = runtime(Arc::default());
    let client = runtime.client();
    let id = client.start(parent, Some("p"), &4).await.unwrap();
    let (total, failed) = client.wait(parent, &id, WAIT).await.unwrap().unwrap();
    let expected: u64 = (1..=4u64).map(|n| (0..n).map(|i| i * 2).sum::<u64>()).sum();
    assert_eq!(total, expected);
    assert!(
        failed.starts_with("sub-orchestration `fragile` (p:"),
        "{failed}"
    );
    assert!(
        failed.contains("activity `explode` panicked: boom"),
        "{failed}"
    );
    let child = client.status("p:0").await.unwrap().unwrap();
    assert_eq!(
        (child.name.as_str(), child.status),
        ("chain", RuntimeStatus::Completed)
    );
    runtime.shutdown().await;
}

async fn until<F: Fn(&durable::InstanceStatus) -> bool>(
    client: &durable::Client<Arc<MemoryStore>>,
    id: &str,
    ok: F,
) -> durable::InstanceStatus {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let status = client.status(id).await.unwrap().unwrap();
        if ok(&status) {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{id} stuck at {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_management() {
    let runtime = runtime(Arc::default());
    let client = runtime.client();
    let decode = |bytes: &Option<Vec<u8>>| -> String {
        durable::codec::decode_payload(bytes.as_ref().unwrap(), "status").unwrap()
    };

    // custom status and what it waits on
    let id = client.start(phases, Some("m-1"), &2).await.unwrap();
    let status = until(&client, &id, |s| s.custom_status.is_some()).await;
    assert_eq!(decode(&status.custom_status), "phase 0");
    assert!(status.waiting_on.is_some());
    assert_eq!(status.status, RuntimeStatus::Running);

    // suspended: events wait; resumed: they apply
    client.suspend(&id).await.unwrap();
    until(&client, &id, |s| s.status == RuntimeStatus::Suspended).await;
    client.raise_event(&id, "next", &5u64).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let status = client.status(&id).await.unwrap().unwrap();
    assert_eq!(status.status, RuntimeStatus::Suspended);
    assert_eq!(decode(&status.custom_status), "phase 0");
    client.resume(&id).await.unwrap();
    let status = until(&client, &id, |s| {
        s.custom_status.as_ref().is_some_and(|c| c.len() > 1)
            && decode(&s.custom_status) == "phase 1"
    })
    .await;
    assert_eq!(status.status, RuntimeStatus::Running);
    client.raise_event(&id, "next", &1u64).await.unwrap();
    assert_eq!(client.wait(phases, &id, WAIT).await.unwrap(), Ok(12));

    // terminated: ends with the reason, late events are dropped
    let stopped = client.start(phases, Some("m-2"), &3).await.unwrap();
    until(&client, &stopped, |s| s.status == RuntimeStatus::Running).await;
    client
        .terminate(&stopped, "operator said so")
        .await
        .unwrap();
    let status = until(&client, &stopped, |s| s.status.is_terminal()).await;
    assert_eq!(status.status, RuntimeStatus::Terminated);
    assert_eq!(status.error.as_deref(), Some("operator said so"));
    assert_eq!(
        client.wait(phases, &stopped, WAIT).await.unwrap(),
        Err("operator said so".into())
    );

    // list and purge
    let running = client.start(phases, Some("m-3"), &1).await.unwrap();
    until(&client, &running, |s| s.status == RuntimeStatus::Running).await;
    let mine = InstanceFilter {
        name: Some("phases".into()),
        ..Default::default()
    };
    let listed: Vec<String> = client
        .list(&mine, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, ["m-1", "m-2", "m-3"]);
    let second_page = client.list(&mine, Some("m-1"), 1).await.unwrap();
    assert_eq!(second_page[0].id, "m-2");
    assert!(
        matches!(
            client.purge(&running).await.unwrap(),
            durable::Purge::NotEnded(_)
        ),
        "a running instance is kept"
    );
    assert_eq!(
        client.purge("m-1").await.unwrap(),
        durable::Purge::Deleted { descendants: 0 }
    );
    assert_eq!(client.status("m-1").await.unwrap(), None);
    assert_eq!(client.purge_where(&mine).await.unwrap(), 1);
    let left: Vec<String> = client
        .list(&mine, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, ["m-3"]);
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_loses_a_race_is_not_lost() {
    let runtime = runtime(Arc::default());
    let client = runtime.client();
    for _ in 0..20 {
        let id = client.start(tie, None, &()).await.unwrap();
        client.raise_event(&id, "x", &7u64).await.unwrap();
        client.raise_event(&id, "x", &8u64).await.unwrap();
        let (timer_won, second) = client.wait(tie, &id, WAIT).await.unwrap().unwrap();
        // if the timer won the race, event 7 is still there for the next wait
        assert_eq!(second, if timer_won { 7 } else { 8 });
    }
    runtime.shutdown().await;
}

static GATED_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[activity]
async fn gated(x: u64) -> Result<u64, String> {
    GATED_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Ok(x)
}

#[orchestrator]
async fn queued(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    Ok(ctx.call(gated, x).await?)
}

#[orchestrator]
async fn waits_forever(ctx: OrchestrationContext) -> Result<u64, TestError> {
    Ok(ctx.event::<u64>("never").await)
}

#[orchestrator]
async fn guardian(ctx: OrchestrationContext) -> Result<u64, TestError> {
    ctx.sub_orchestration(waits_forever, ())
        .await
        .map_err(|e| TestError::Rejected(e.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_cancels_queued_calls_and_children() {
    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(patient)
        .orchestration(queued)
        .orchestration(guardian)
        .orchestration(waits_forever)
        .activity(slow)
        .activity(gated)
        .concurrency(2, 1) // one activity at a time: `gated` queues behind `slow`
        .start();
    let client = runtime.client();

    let blocker = client.start(patient, Some("busy"), &1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let waiting = client.start(queued, Some("queued"), &2).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.terminate(&waiting, "not needed").await.unwrap();
    assert_eq!(
        client.wait(queued, &waiting, WAIT).await.unwrap(),
        Err("not needed".into())
    );
    assert_eq!(client.wait(patient, &blocker, WAIT).await.unwrap(), Ok(1));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        GATED_RUNS.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the queued call was cancelled, not run"
    );

    let guard = client.start(guardian, Some("g"), &()).await.unwrap();
    let child = "g:0";
    let deadline = std::time::Instant::now() + WAIT;
    while client.status(child).await.unwrap().map(|s| s.status) != Some(RuntimeStatus::Running) {
        assert!(std::time::Instant::now() < deadline, "the child never ran");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    client.terminate(&guard, "shutting down").await.unwrap();
    assert_eq!(
        client.wait(waits_forever, child, WAIT).await.unwrap(),
        Err("its parent `g` was terminated".into())
    );
    runtime.shutdown().await;
}

#[orchestrator]
async fn early_event(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    ctx.timer(Duration::from_millis(30)).await;
    let (called, raised) = join(ctx.call(slow, x), ctx.event::<u64>("early")).await;
    Ok(called? + raised)
}

/// An event raised before the join that waits for it is buffered; the join must still
/// wake when its other half arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffered_event_counts_toward_a_join() {
    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(early_event)
        .activity(slow)
        .start();
    let client = runtime.client();
    let id = client.start(early_event, None, &5).await.unwrap();
    client.raise_event(&id, "early", &100u64).await.unwrap();
    assert_eq!(client.wait(early_event, &id, WAIT).await.unwrap(), Ok(105));
    runtime.shutdown().await;
}

#[orchestrator]
async fn shout(ctx: OrchestrationContext, shout: String) -> Result<String, TestError> {
    let echo = ctx.call(echo, shout).await?; // a local named like the activity
    Ok(echo.to_uppercase())
}

/// An activity or orchestrator is named by a function, so locals and parameters of the
/// same name are ordinary bindings.
#[tokio::test]
async fn locals_may_be_named_like_activities_and_orchestrators() {
    let run = runner().run(shout, &"hi".to_owned()).await.unwrap();
    assert_eq!(run.result, Ok("HI".to_owned()));
    let shout = "a local named like the orchestrator";
    assert!(shout.starts_with('a'));
}

/// The start a step queues for itself when an event it now waits for is buffered
/// already is taken by the next step even when that step cannot run the machine yet
/// (the rest of a join has not arrived): otherwise the instance is claimed and committed
/// again and again until it can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_instance_is_not_stepped_again_and_again() {
    let store = Arc::new(MemoryStore::new());
    let runtime = runtime(store.clone());
    let client = runtime.client();
    let id = client
        .start(early_event_and_timer, Some("early"), &())
        .await
        .unwrap();
    client.raise_event(&id, "early", &7u64).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = client.status(&id).await.unwrap().unwrap();
        if status.status == RuntimeStatus::Running && status.waiting_on.is_some() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = client.status(&id).await.unwrap().unwrap().updated;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = client.status(&id).await.unwrap().unwrap().updated;
    assert_eq!(
        before, after,
        "the instance kept being stepped while it waits"
    );
    runtime.shutdown().await;
}

/// Shutdown waits for the calls in flight, not for a heartbeat or poll period: with a
/// ten-minute lease and poll it still returns at once (it once waited up to a third of
/// the lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_heartbeat() {
    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(chain)
        .activity(double)
        .lease(Duration::from_secs(600))
        .poll_interval(Duration::from_secs(600))
        .start();
    let client = runtime.client();
    let id = client.start(chain, None, &3).await.unwrap();
    client
        .wait(chain, &id, Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(60), runtime.shutdown()).await;
    assert!(stopped.is_ok(), "shutdown waited for a heartbeat period");
}

/// An instance that ends wakes the clients waiting for it, not every waiting client:
/// with 100 clients each waiting for one of 100 instances that end one after another,
/// each end used to make every client still waiting read its instance again (about
/// 5,000 reads); now each client reads about once, when its own instance ends, besides
/// its polls for ends in other processes (every 50 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_wakes_only_the_clients_waiting_for_it() {
    let (store, reads) = support::counting::Counting::new(MemoryStore::new());
    let runtime = Runtime::builder(store).orchestration(gate).start();
    let read = end_gates_one_by_one(&runtime.client(), 100, &reads).await;
    assert!(read < 1500, "{read} reads for 100 ends");
    runtime.shutdown().await;
}
