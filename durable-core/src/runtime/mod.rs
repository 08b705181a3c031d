//! The runtime: registered orchestrations and activities, and the tokio tasks that run
//! them against a [`Store`]. Embed it in any tokio program: `Runtime::builder(store)`,
//! register with `.orchestration(..)` and `.activity(..)`, `.start()`, then use
//! [`Runtime::client`] to start and wait for instances (the README shows a whole
//! program), and [`Runtime::shutdown`] to stop.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info_span, warn, Instrument};

mod registry;
mod step;
pub mod trace;

use registry::{Registry, StepFn};
pub(crate) use step::panic_message;
use step::{run_step, step_span};

use crate::activity::{erase, Activity, ActivityContext, ActivityFn, BoxFuture};
use crate::client::Client;
use crate::ends::Ends;
use crate::inspect::Shown;
use crate::orchestration::{Orchestration, OrchestrationFn};
use crate::store::{
    millis_after, now_millis, InstanceFilter, LockedActivity, Message, Page, Purge, RuntimeStatus,
    Store, StoreError, Work,
};
use crate::task::{TaskId, TaskResult};

pub(crate) struct Shared<S> {
    pub(crate) store: Arc<S>,
    registry: Registry,
    /// Signalled when an instance may have become runnable.
    pub(crate) instance_work: Notify,
    /// Signalled when an activity task was scheduled.
    activity_work: Notify,
    activity_workers: usize,
    /// Activity workers whose loop has not ended.
    running_activity_workers: AtomicUsize,
    /// Signalled when a timer was started.
    timer_work: Notify,
    /// The clients waiting for an instance to end.
    pub(crate) ends: Ends,
    lease: Duration,
    pub(crate) poll: Duration,
    /// Activity calls running on this runtime, by instance and task.
    in_flight: Mutex<HashMap<(String, TaskId), InFlight>>,
    /// How steps read what the store keeps beside checkpoints (`Store::part_reader`).
    parts: Option<crate::store::PartReader>,
}

impl<S> Shared<S> {
    /// The code this runtime steps instances of `name` and `version` with, or why none.
    pub(crate) fn code(&self, name: &str, version: u32) -> Result<registry::Found, String> {
        self.registry.orchestration(name, version)
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<(String, TaskId), InFlight>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Configures and starts a [`Runtime`].
pub struct RuntimeBuilder<S> {
    store: Arc<S>,
    registry: Registry,
    orchestration_workers: usize,
    activity_workers: usize,
    lease: Duration,
    poll: Duration,
    retention: Option<Duration>,
}

impl<S: Store> RuntimeBuilder<S> {
    /// Registers an orchestration under its name and version. Register each version
    /// whose instances may still run: an instance is stepped only by the version it
    /// started with, and waits, blocked, while that version is not registered.
    pub fn orchestration<F: OrchestrationFn>(mut self, orchestration: F) -> Self {
        let _ = orchestration;
        type O<F> = <F as OrchestrationFn>::Orchestration;
        let step: StepFn = <O<F> as Orchestration>::step;
        let (name, version) = (O::<F>::NAME, O::<F>::VERSION);
        let migrates_from = O::<F>::MIGRATES_FROM;
        let show_input = Shown::payload::<<O<F> as Orchestration>::Input>;
        self.registry
            .add_orchestration(name, version, step, show_input, migrates_from);
        self
    }

    /// Registers an activity under its name.
    pub fn activity<F: ActivityFn>(mut self, activity: F) -> Self {
        let _ = activity;
        let name = <F::Activity as Activity>::NAME;
        self.registry
            .activities
            .insert(name, erase::<F::Activity>());
        self
    }

    /// How many workers claim orchestration steps and activity calls (defaults: 2 and
    /// 16). An activity worker whose result wakes its instance also runs that step, so
    /// up to the sum of both may be stepping instances at once (each instance one step
    /// at a time).
    pub fn concurrency(mut self, orchestration_workers: usize, activity_workers: usize) -> Self {
        self.orchestration_workers = orchestration_workers.max(1);
        self.activity_workers = activity_workers.max(1);
        self
    }

    /// How long a claim on work lasts before another worker may take it over
    /// (default 30 s): how soon the work of a worker that died is taken up elsewhere.
    /// A worker renews its claim on an activity call every third of a lease while the
    /// call runs, so calls may run longer than this (bound one with
    /// [`Call::with_timeout`](crate::op::Call::with_timeout)).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How often idle workers look for work that another process queued (default: the
    /// store's [`Store::poll_interval`], 50 ms for the embedded stores); work queued by
    /// this process, or signalled by the store, wakes them at once.
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Purges instances that ended more than `age` ago, with their sub-orchestrations
    /// (off by default). The runtime looks every minute, or every `age` if that is
    /// shorter, and purges in batches of [`RETENTION_BATCH`] read from the store's
    /// index of ended instances, so a round costs what it deletes. A sub-orchestration
    /// that ended long enough ago goes too, even while its parent runs: the parent has
    /// its result already.
    pub fn retention(mut self, age: Duration) -> Self {
        self.retention = Some(age);
        self
    }

    fn shared(
        store: Arc<S>,
        registry: Registry,
        activity_workers: usize,
        lease: Duration,
        poll: Duration,
    ) -> Arc<Shared<S>> {
        Arc::new(Shared {
            parts: store.part_reader(),
            store,
            registry,
            instance_work: Notify::new(),
            activity_work: Notify::new(),
            timer_work: Notify::new(),
            ends: Ends::default(),
            in_flight: Mutex::default(),
            activity_workers,
            running_activity_workers: AtomicUsize::new(activity_workers),
            lease,
            poll,
        })
    }

    /// A client on the store, with no workers: for a process that starts, queries and
    /// manages instances (an HTTP API, a command-line tool) while worker processes
    /// elsewhere run them, on a store shared between processes.
    pub fn client_only(self) -> Client<S> {
        let shared = Self::shared(self.store, self.registry, 0, self.lease, self.poll);
        Client::new(shared)
    }

    /// Starts the workers on the current tokio runtime.
    pub fn start(self) -> Runtime<S> {
        let shared = Self::shared(
            self.store,
            self.registry,
            self.activity_workers,
            self.lease,
            self.poll,
        );
        let (stop, stopped) = watch::channel(false);
        let mut workers = Vec::new();
        for n in 0..self.orchestration_workers {
            let (shared, stopped) = (shared.clone(), stopped.clone());
            workers.push(tokio::spawn(
                orchestration_worker(shared, stopped)
                    .instrument(info_span!("orchestrations", worker = n)),
            ));
        }
        for n in 0..self.activity_workers {
            let (shared, stopped) = (shared.clone(), stopped.clone());
            workers.push(tokio::spawn(
                activity_worker(shared, stopped).instrument(info_span!("activities", worker = n)),
            ));
        }
        if let Some(age) = self.retention {
            let retention = retention_service(shared.clone(), age, stopped.clone());
            workers.push(tokio::spawn(retention.instrument(info_span!("retention"))));
        }
        let retry = retry_blocked(shared.clone());
        workers.push(tokio::spawn(retry.instrument(info_span!("retry"))));
        let heartbeat = heartbeat_service(shared.clone(), stopped.clone());
        workers.push(tokio::spawn(heartbeat.instrument(info_span!("heartbeat"))));
        let timers =
            tokio::spawn(timer_service(shared.clone(), stopped).instrument(info_span!("timers")));
        workers.push(timers);
        Runtime {
            shared,
            workers,
            stop,
        }
    }
}

/// Running workers. Dropping it without [`Runtime::shutdown`] leaves them running until
/// the tokio runtime ends.
pub struct Runtime<S> {
    shared: Arc<Shared<S>>,
    workers: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl<S: Store> Runtime<S> {
    /// A builder over `store` with nothing registered.
    pub fn builder(store: S) -> RuntimeBuilder<S> {
        let poll = store.poll_interval();
        RuntimeBuilder {
            store: Arc::new(store),
            registry: Registry::default(),
            orchestration_workers: 2,
            activity_workers: 16,
            lease: Duration::from_secs(30),
            poll,
            retention: None,
        }
    }

    /// A client to start and query instances.
    pub fn client(&self) -> Client<S> {
        Client::new(self.shared.clone())
    }

    /// The store the runtime works on.
    pub fn store(&self) -> &S {
        &self.shared.store
    }

    /// Stops taking new work, lets the steps and activity calls in progress finish and
    /// commit, and returns when every worker has stopped.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for worker in self.workers {
            if let Err(e) = worker.await {
                warn!("a worker ended abnormally: {e}");
            }
        }
    }
}

/// Waits for new work (signalled by `notify` in this process, or queued by another as
/// the store tells), a poll tick, or the stop signal; returns whether to stop.
async fn idle<S: Store>(
    shared: &Shared<S>,
    work: Work,
    notify: &Notify,
    stopped: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        _ = notify.notified() => false,
        _ = shared.store.work_queued(work) => false,
        _ = tokio::time::sleep(shared.poll) => false,
        _ = stopped.changed() => true,
    }
}

async fn orchestration_worker<S: Store>(
    shared: Arc<Shared<S>>,
    mut stopped: watch::Receiver<bool>,
) {
    while !*stopped.borrow() {
        match shared.store.lock_instance(shared.lease).await {
            Ok(Some(locked)) => {
                let span = step_span(&locked.record);
                run_step(&shared, locked).instrument(span).await;
                continue;
            }
            Ok(None) => {}
            Err(e) => warn!("cannot claim an instance: {e}"),
        }
        let work = &shared.instance_work;
        if idle(&shared, Work::Instances, work, &mut stopped).await {
            return;
        }
    }
}

async fn activity_worker<S: Store>(shared: Arc<Shared<S>>, mut stopped: watch::Receiver<bool>) {
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

/// An activity call running on this runtime, whose claim the heartbeat renews.
struct InFlight {
    locked: LockedActivity,
    /// Told once the claim is lost: the call is dropped where it awaits.
    abort: Arc<Notify>,
}

/// Renews the claims of the calls running on this runtime, every third of a lease: one
/// timer for all of them, rather than one per call.
async fn heartbeat_service<S: Store>(shared: Arc<Shared<S>>, mut stopped: watch::Receiver<bool>) {
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

/// Fires due timers: sleeps until the next one is due, a new one is started, or the
/// poll interval passes (timers started by another process).
async fn timer_service<S: Store>(shared: Arc<Shared<S>>, mut stopped: watch::Receiver<bool>) {
    while !*stopped.borrow() {
        let now = now_millis();
        let wait = match shared.store.fire_timers(now).await {
            Ok((fired, next)) => {
                if fired > 0 {
                    debug!(fired, "timers fired");
                    shared.instance_work.notify_one();
                }
                next.map_or(shared.poll, |due| {
                    Duration::from_millis(due.saturating_sub(now)).min(shared.poll)
                })
            }
            Err(e) => {
                warn!("cannot fire timers: {e}");
                shared.poll
            }
        };
        tokio::select! {
            _ = shared.timer_work.notified() => {}
            _ = shared.store.work_queued(Work::Timers) => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Retries the blocked instances this runtime has code for, once, as it starts: a
/// deploy that brings back the code of their version, or fixes what blocked them, lets
/// them go on by themselves. Reads only blocked instances (the store's status index).
async fn retry_blocked<S: Store>(shared: Arc<Shared<S>>) {
    let filter = InstanceFilter {
        statuses: vec![RuntimeStatus::Blocked],
        ..InstanceFilter::default()
    };
    let mut page = Page {
        after: None,
        limit: RETENTION_BATCH,
    };
    loop {
        let blocked = match shared.store.list(&filter, &page).await {
            Ok(blocked) => blocked,
            Err(e) => {
                warn!("cannot list blocked instances to retry them: {e}");
                return;
            }
        };
        let Some(last) = blocked.last() else { return };
        page.after = Some(last.id.clone());
        let mut retried = 0;
        for record in &blocked {
            if !shared.registry.has(&record.name, record.version) {
                continue;
            }
            match shared.store.send(&record.id, Message::Retry).await {
                Ok(()) => retried += 1,
                Err(e) => warn!(instance = %record.id, "cannot retry a blocked instance: {e}"),
            }
        }
        if retried > 0 {
            debug!(retried, "retrying blocked instances");
            shared.instance_work.notify_one();
        }
    }
}

/// The most ended instances one retention batch purges.
pub const RETENTION_BATCH: usize = 1000;

/// Purges instances that ended more than `age` ago, a batch at a time.
async fn retention_service<S: Store>(
    shared: Arc<Shared<S>>,
    age: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let every = age.clamp(Duration::from_millis(10), Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
        loop {
            let before = now_millis().saturating_sub(millis_after(0, age));
            let ended = match shared.store.ended_before(before, RETENTION_BATCH).await {
                Ok(ended) => ended,
                Err(e) => {
                    warn!("retention: cannot list ended instances: {e}");
                    break;
                }
            };
            let mut purged = 0;
            for id in &ended {
                match shared.store.purge(id).await {
                    Ok(Purge::Deleted { descendants }) => purged += 1 + descendants,
                    Ok(_) => {} // taking a step, or gone already: the next round
                    Err(e) => warn!(instance = %id, "retention: cannot purge: {e}"),
                }
            }
            if purged > 0 {
                debug!(purged, "retention: purged ended instances");
            }
            if ended.len() < RETENTION_BATCH || purged == 0 || *stopped.borrow() {
                break;
            }
        }
    }
}
