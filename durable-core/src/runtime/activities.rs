//! Activity workers: claiming calls, running them under a timeout and a panic guard,
//! committing results (stepping the instance that waits, when it can), and the
//! heartbeat that renews the claims of the calls running here.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tracing::{debug, info_span, warn, Instrument};

use super::step::{panic_message, run_step, step_span};
use super::{idle, trace};
use crate::activity::{ActivityContext, BoxFuture};
use crate::shared::{InFlight, Shared};
use crate::store::{millis_after, now_millis, LockedActivity, Store, StoreError, Work};
use crate::task::{TaskId, TaskResult};

pub(super) async fn activity_worker<S: Store>(
    shared: Arc<Shared<S>>,
    mut stopped: watch::Receiver<bool>,
) {
    // counted out however the loop ends, so the heartbeat knows when none can claim more
    struct Running<'a>(&'a AtomicUsize);
    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let _running = Running(&shared.running_activity_workers);
    while !*stopped.borrow() {
        match shared.store.lock_activity(shared.lease).await {
            Ok(Some(locked)) => {
                let task = &locked.task;
                let span = info_span!(
                    "activity",
                    instance = %task.instance,
                    name = %task.name,
                    task = task.task.0,
                    attempt = task.attempt,
                );
                trace::join(&span, &task.instance);
                run_activity(&shared, locked).instrument(span).await;
                continue;
            }
            Ok(None) => {}
            Err(e) => warn!("cannot claim an activity: {e}"),
        }
        let work = &shared.activity_work;
        if idle(&shared, Work::Activities, work, &mut stopped).await {
            return;
        }
    }
}

/// Runs one claimed activity call and commits its result.
async fn run_activity<S: Store>(shared: &Shared<S>, locked: LockedActivity) {
    let started = Instant::now();
    let result = match shared.registry.activities.get(locked.task.name.as_str()) {
        None => Err(format!(
            "no activity named `{}` is registered",
            locked.task.name
        )),
        Some(activity) => {
            let ctx = ActivityContext::new(locked.task.instance.clone(), locked.task.attempt);
            let running = activity(ctx, locked.task.input.clone());
            match supervise(shared, &locked, running).await {
                Some(result) => result,
                None => return,
            }
        }
    };
    let task = &locked.task;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match &result {
        Ok(_) => debug!(elapsed_ms, outcome = "completed", "activity attempt ended"),
        Err(error) => debug!(elapsed_ms, outcome = "failed", %error, "activity attempt ended"),
    }
    if let (Err(_), Some(delay)) = (
        &result,
        task.retry.and_then(|r| r.delay_after(task.attempt)),
    ) {
        debug!(?delay, "activity attempt failed: retrying");
        let not_before = millis_after(now_millis(), delay);
        if let Err(e) = shared.store.retry_activity(&locked, not_before).await {
            warn!("activity retry not committed: {e}");
        }
        return;
    }
    let result = result.map_err(|error| match task.attempt {
        1 => error,
        n => format!("{error} (after {n} attempts)"),
    });
    // Usually the result is what its instance waits for: step it here, so that the
    // result is written once, with the step that consumes it.
    match shared
        .store
        .claim_with_result(&locked, &result, shared.lease)
        .await
    {
        Ok(Some(instance)) => {
            let span = step_span(&instance.record);
            run_step(shared, instance).instrument(span).await;
            return;
        }
        Ok(None) => {}
        Err(e) => {
            warn!("activity result not committed: {e}");
            return;
        }
    }
    match shared.store.complete_activity(&locked, result).await {
        Ok(()) => shared.instance_work.notify_one(),
        Err(e) => warn!("activity result not committed: {e}"),
    }
}

/// Runs an activity call in the worker's own task, catching a panic as a failed attempt,
/// and drops it at its timeout (a failed attempt). Meanwhile the heartbeat service renews
/// its claim, so that no other worker takes it over however long it runs. `None` when
/// the claim was lost (the call was cancelled, purged, or taken over after this worker
/// stalled): the heartbeat told the call to stop, and its result would be refused.
///
/// The call runs in place rather than on a task of its own: a spawned task and the join
/// that waits for it cost two wake-ups per call, often across threads, which was a
/// large share of a short step's time. So a timeout or a lost claim takes effect where
/// the call awaits: an activity that blocks its thread (synchronous I/O, a long
/// computation) should run that part with `tokio::task::spawn_blocking`.
async fn supervise<S: Store>(
    shared: &Shared<S>,
    locked: &LockedActivity,
    running: BoxFuture<TaskResult>,
) -> Option<TaskResult> {
    let key = (locked.task.instance.clone(), locked.task.task);
    let name = &locked.task.name;
    let abort = Arc::new(Notify::new());
    shared.in_flight().insert(
        key.clone(),
        InFlight {
            locked: locked.clone(),
            abort: abort.clone(),
        },
    );
    let deadline = locked
        .task
        .timeout
        .and_then(|t| Instant::now().checked_add(t));
    let timeout = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    enum Ended {
        Ran(std::thread::Result<TaskResult>),
        TimedOut,
        Abandoned,
    }
    let mut running = AssertUnwindSafe(running).catch_unwind();
    let ended = tokio::select! {
        ran = &mut running => Ended::Ran(ran),
        () = timeout => Ended::TimedOut,
        () = abort.notified() => Ended::Abandoned,
    };
    // a call stopped where it awaits is dropped here: a panic as it drops fails the
    // attempt, not the worker
    let dropped = std::panic::catch_unwind(AssertUnwindSafe(|| drop(running)));
    if let Ended::Abandoned = ended {
        return None;
    }
    // gone when the heartbeat lost the claim as the call ended
    take_in_flight(shared, &key, locked.lease.token)?;
    let panicked = |panic: &(dyn std::any::Any + Send)| {
        format!("activity `{name}` panicked: {}", panic_message(panic))
    };
    Some(match (ended, dropped) {
        (Ended::Ran(Ok(result)), _) => result,
        (Ended::Ran(Err(panic)), _) => Err(panicked(&*panic)),
        (_, Err(panic)) => Err(panicked(&*panic)),
        (_, Ok(())) => {
            let after = locked.task.timeout.unwrap_or_default();
            Err(format!("activity `{name}` timed out after {after:?}"))
        }
    })
}

/// Takes the in-flight entry of call `key` if it is the attempt claimed with `token`
/// (a later attempt of the same call may be running on this runtime by then).
fn take_in_flight<S>(shared: &Shared<S>, key: &(String, TaskId), token: u64) -> Option<InFlight> {
    let mut in_flight = shared.in_flight();
    if in_flight.get(key)?.locked.lease.token != token {
        return None;
    }
    in_flight.remove(key)
}

/// Renews the claims of the calls running on this runtime, every third of a lease: one
/// timer for all of them, rather than one per call.
pub(super) async fn heartbeat_service<S: Store>(
    shared: Arc<Shared<S>>,
    mut stopped: watch::Receiver<bool>,
) {
    let beat = (shared.lease / 3).max(Duration::from_millis(1));
    loop {
        // calls still running at shutdown are waited for: keep their claims until then
        let stopping = *stopped.borrow();
        // a worker may still be between claiming a call and registering it
        let workers = shared.running_activity_workers.load(Ordering::Acquire);
        if stopping && workers == 0 && shared.in_flight().is_empty() {
            return;
        }
        // stopping, it looks often for the last workers and calls to end
        let wait = if stopping {
            beat.min(Duration::from_millis(10))
        } else {
            beat
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = stopped.changed(), if !stopping => match changed {
                Ok(()) => continue,
                Err(_) => return, // the runtime was dropped without a shutdown
            },
        }
        let running: Vec<LockedActivity> = shared
            .in_flight()
            .values()
            .map(|call| call.locked.clone())
            .collect();
        for locked in running {
            match shared.store.renew_activity(&locked, shared.lease).await {
                Ok(_) => {}
                Err(StoreError::LeaseLost) => {
                    let key = (locked.task.instance.clone(), locked.task.task);
                    if let Some(call) = take_in_flight(&shared, &key, locked.lease.token) {
                        call.abort.notify_one();
                        warn!(
                            instance = %key.0,
                            task = key.1 .0,
                            "the claim on this call was lost (cancelled, purged or taken over): abandoning it"
                        );
                    }
                }
                Err(e) => warn!("cannot renew the claim on a call, retrying: {e}"),
            }
        }
    }
}
