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

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info_span, warn, Instrument};

use crate::activity::{erase, Activity, ActivityContext, ActivityFn, ErasedActivity};
use crate::client::Client;
use crate::op::child_id;
use crate::orchestration::{
    Orchestration, OrchestrationContext, OrchestrationFn, Step, StepError, StepInput,
};
use crate::store::{
    millis_after, now_millis, ActivityTask, InstanceRecord, LockedActivity, LockedInstance,
    Message, Purge, RuntimeStatus, StepCommit, Store, StoreError, TimerTask, DIRECT,
};
use crate::task::{Command, Completions, TaskId, TaskResult};

type StepFn = fn(&OrchestrationContext, StepInput<'_>) -> Result<Step, StepError>;

/// What the runtime knows how to run, by registered name.
#[derive(Default)]
pub(crate) struct Registry {
    orchestrations: HashMap<&'static str, StepFn>,
    activities: HashMap<&'static str, ErasedActivity>,
}

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
    /// Signalled when an instance ended.
    pub(crate) ended: Notify,
    lease: Duration,
    pub(crate) poll: Duration,
    /// Activity calls running on this runtime, by instance and task.
    in_flight: Mutex<HashMap<(String, TaskId), InFlight>>,
}

impl<S> Shared<S> {
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
    /// Registers an orchestration under its name.
    pub fn orchestration<F: OrchestrationFn>(mut self, orchestration: F) -> Self {
        let _ = orchestration;
        let name = <F::Orchestration as Orchestration>::NAME;
        let step: StepFn = <F::Orchestration as Orchestration>::step;
        self.registry.orchestrations.insert(name, step);
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

    /// How often idle workers look for work that another process queued (default 50 ms);
    /// work queued by this process wakes them at once.
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

    /// Starts the workers on the current tokio runtime.
    pub fn start(self) -> Runtime<S> {
        let shared = Arc::new(Shared {
            store: self.store,
            registry: self.registry,
            instance_work: Notify::new(),
            activity_work: Notify::new(),
            timer_work: Notify::new(),
            ended: Notify::new(),
            in_flight: Mutex::default(),
            activity_workers: self.activity_workers,
            running_activity_workers: AtomicUsize::new(self.activity_workers),
            lease: self.lease,
            poll: self.poll,
        });
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
        RuntimeBuilder {
            store: Arc::new(store),
            registry: Registry::default(),
            orchestration_workers: 2,
            activity_workers: 16,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(50),
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

/// Waits for new work, a poll tick, or the stop signal; returns whether to stop.
async fn idle(notify: &Notify, poll: Duration, stopped: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = notify.notified() => false,
        _ = tokio::time::sleep(poll) => false,
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
                let span = info_span!("step", instance = %locked.record.id, orchestration = %locked.record.name);
                run_step(&shared, locked).instrument(span).await;
            }
            Ok(None) => {
                if idle(&shared.instance_work, shared.poll, &mut stopped).await {
                    return;
                }
            }
            Err(e) => {
                warn!("cannot claim an instance: {e}");
                if idle(&shared.instance_work, shared.poll, &mut stopped).await {
                    return;
                }
            }
        }
    }
}

/// What one step writes besides the record.
#[derive(Default)]
struct Outbox {
    consumed: Vec<u64>,
    activities: Vec<ActivityTask>,
    timers: Vec<TimerTask>,
    messages: Vec<(String, Message)>,
    children: Vec<InstanceRecord>,
    cancelled: Vec<TaskId>,
}

/// Runs one step of a claimed instance and commits it.
async fn run_step<S: Store>(shared: &Shared<S>, locked: LockedInstance) {
    let LockedInstance {
        mut record,
        messages,
        lease,
        activity,
    } = locked;
    let mut out = Outbox::default();
    // a result handed over directly that the step does not take (it was suspended, or
    // still waits for more) is queued by the commit that completes its call
    let direct = activity.as_ref().and_then(|_| {
        let (_, message) = messages.iter().find(|(seq, _)| *seq == DIRECT)?;
        Some(message.clone())
    });
    let was_ended = record.status.is_terminal();
    if was_ended {
        out.consumed = messages.iter().map(|(seq, _)| *seq).collect();
    } else {
        advance(shared, &mut record, messages, &mut out);
    }
    if let Some(message) = direct.filter(|_| !out.consumed.contains(&DIRECT)) {
        out.messages.push((record.id.clone(), message));
    }
    let ended = record.status.is_terminal();
    if !ended || !was_ended {
        // an ended instance that only drops late messages keeps the time it ended
        record.updated = now_millis();
    }
    let (scheduled, timed) = (out.activities.len(), !out.timers.is_empty());
    out.consumed.retain(|seq| *seq != DIRECT); // never queued
    let commit = StepCommit {
        record,
        activity,
        consumed: out.consumed,
        activities: out.activities,
        timers: out.timers,
        messages: out.messages,
        children: out.children,
        cancelled: out.cancelled,
    };
    match shared.store.commit_step(&lease, commit).await {
        Ok(()) => {
            // as many idle workers as there are new calls, not all of them: the rest
            // would only contend for the store to find nothing
            for _ in 0..scheduled.min(shared.activity_workers) {
                shared.activity_work.notify_one();
            }
            if timed {
                shared.timer_work.notify_one();
            }
            if ended {
                shared.ended.notify_waiters();
            }
            shared.instance_work.notify_one();
        }
        Err(e) => warn!("step not committed: {e}"),
    }
}

/// Applies an instance's messages: buffers or delivers events, drops results nobody
/// waits for, and runs the machine if it starts or its wake condition holds.
fn advance<S>(
    shared: &Shared<S>,
    record: &mut InstanceRecord,
    messages: Vec<(u64, Message)>,
    out: &mut Outbox,
) {
    let (control, messages): (Vec<_>, Vec<_>) =
        messages.into_iter().partition(|(_, m)| m.is_control());
    for (seq, message) in control {
        out.consumed.push(seq);
        match message {
            Message::Terminate { reason } if !record.status.is_terminal() => {
                if let Some(wake) = &record.wake {
                    out.cancelled = wake.tasks();
                    let why = format!("its parent `{}` was terminated", record.id);
                    terminate_children(record, out, &why);
                }
                record.status = RuntimeStatus::Terminated;
                record.error = Some(reason);
                record.state = None;
                record.wake = None;
                record.event_waits.clear();
                notify_parent(record, out);
            }
            Message::Suspend if !record.status.is_terminal() => {
                record.status = RuntimeStatus::Suspended;
            }
            Message::Resume if record.status == RuntimeStatus::Suspended => {
                record.status = match record.state {
                    Some(_) => RuntimeStatus::Running,
                    None => RuntimeStatus::Pending,
                };
            }
            _ => {}
        }
    }
    if record.status.is_terminal() {
        out.consumed.extend(messages.iter().map(|(seq, _)| *seq));
        return;
    }
    if record.status == RuntimeStatus::Suspended {
        return; // the rest waits in the inbox until the instance is resumed
    }
    let mut start = false;
    let mut results: Vec<(Option<u64>, TaskId, TaskResult)> = Vec::new();
    for (seq, message) in messages {
        match message {
            Message::Terminate { .. } | Message::Suspend | Message::Resume => {}
            Message::Start => {
                start = true;
                out.consumed.push(seq);
            }
            Message::TaskCompleted { task, result } => {
                if record.wake.as_ref().is_some_and(|w| w.waits_for(task)) {
                    results.push((Some(seq), task, result));
                } else {
                    debug!(task = task.0, "dropping a result nobody waits for");
                    out.consumed.push(seq);
                }
            }
            Message::Event { name, payload } => {
                // the store bounds what is raised (limits::MAX_BUFFERED_EVENTS), so
                // buffering never drops one
                out.consumed.push(seq);
                record.events.push((name, payload));
            }
        }
    }
    // Buffered events go to the waits of the checkpoint, first in first out per name.
    // They leave the buffer only if the step runs and its machine takes them.
    let mut matched: Vec<(TaskId, String, Vec<u8>)> = Vec::new();
    for (name, task) in &record.event_waits {
        if let Some(i) = record.events.iter().position(|(n, _)| n == name) {
            let (name, payload) = record.events.remove(i);
            matched.push((*task, name, payload));
        }
    }
    let arrived = |t: TaskId| {
        results.iter().any(|(_, r, _)| *r == t) || matched.iter().any(|(m, _, _)| *m == t)
    };
    let ready = match (&record.state, &record.wake) {
        (None, _) => start,
        (Some(_), Some(wake)) => wake.is_ready(arrived),
        (Some(_), None) => false,
    };
    if !ready {
        // results stay in the inbox; matched events go back to the front of the buffer
        for (_, name, payload) in matched.into_iter().rev() {
            record.events.insert(0, (name, payload));
        }
        return;
    }
    let mut completions = Completions::new();
    for (seq, task, result) in results {
        out.consumed.extend(seq);
        completions.insert(task, result);
    }
    for (task, _, payload) in &matched {
        completions.insert(*task, Ok(payload.clone()));
    }
    if let Some(wake) = &record.wake {
        // what the last checkpoint waited for and did not get lost a race: its timers,
        // queued calls and sub-orchestrations go
        out.cancelled = wake
            .tasks()
            .into_iter()
            .filter(|t| !completions.contains(*t))
            .collect();
        let why = format!("its parent `{}` no longer waits for it", record.id);
        terminate_children(record, out, &why);
    }
    let (step, next_task, commands, custom_status) =
        step_instance(shared, record, start, &mut completions);
    // an event the machine did not take (its side of a race lost) is still unread
    for (task, name, payload) in matched.into_iter().rev() {
        if completions.contains(task) {
            record.events.insert(0, (name, payload));
        }
    }
    record.next_task = next_task;
    if custom_status.is_some() {
        record.custom_status = custom_status;
    }
    record.event_waits.clear();
    match step {
        Ok(Step::Suspended(suspension)) => {
            if suspension.wake.is_ready(|_| false) {
                // waits for nothing (an empty join): step again at once
                out.messages.push((record.id.clone(), Message::Start));
            }
            record.status = RuntimeStatus::Running;
            record.state = Some(suspension.state);
            record.wake = Some(suspension.wake);
        }
        Ok(Step::Completed(output)) => {
            record.status = RuntimeStatus::Completed;
            record.output = Some(output);
            record.state = None;
            record.wake = None;
        }
        Ok(Step::Failed(message)) => fail(record, message),
        Err(error) => fail(record, error),
    }
    if record.status.is_terminal() {
        notify_parent(record, out);
        return;
    }
    for command in commands {
        match command {
            Command::CallActivity {
                task,
                name,
                input,
                retry,
                timeout,
            } => out.activities.push(ActivityTask {
                instance: record.id.clone(),
                task,
                name: name.to_owned(),
                input,
                attempt: 1,
                retry,
                timeout,
                not_before: 0,
            }),
            Command::StartTimer { task, due } => out.timers.push(TimerTask {
                due,
                instance: record.id.clone(),
                task,
            }),
            Command::StartChild {
                task,
                name,
                id,
                input,
            } => {
                let parent = Some((record.id.clone(), task));
                out.children
                    .push(InstanceRecord::new(id, name, input, parent));
            }
            Command::WaitEvent { task, name } => {
                if record.events.iter().any(|(n, _)| *n == name) {
                    // already raised: step again at once to take it
                    out.messages.push((record.id.clone(), Message::Start));
                }
                record.event_waits.push((name, task));
            }
        }
    }
}

/// Terminates the sub-orchestrations among the cancelled tasks (the store drops the
/// message for tasks that are not children: no instance has their id).
fn terminate_children(record: &InstanceRecord, out: &mut Outbox, reason: &str) {
    for task in &out.cancelled {
        let reason = reason.to_owned();
        let child = child_id(&record.id, *task);
        out.messages.push((child, Message::Terminate { reason }));
    }
}

/// Tells the parent of a sub-orchestration that it ended.
fn notify_parent(record: &InstanceRecord, out: &mut Outbox) {
    if let Some((parent, task)) = &record.parent {
        let result = match (&record.output, &record.error) {
            (Some(output), _) => Ok(output.clone()),
            (None, error) => Err(error.clone().unwrap_or_default()),
        };
        let message = Message::TaskCompleted {
            task: *task,
            result,
        };
        out.messages.push((parent.clone(), message));
    }
}

fn fail(record: &mut InstanceRecord, error: impl ToString) {
    record.status = RuntimeStatus::Failed;
    record.error = Some(error.to_string());
    record.state = None;
    record.wake = None;
}

/// Runs the orchestration's step function; a panic in user code fails the instance
/// instead of the worker.
fn step_instance<S>(
    shared: &Shared<S>,
    record: &InstanceRecord,
    start: bool,
    completions: &mut Completions,
) -> (Result<Step, String>, u64, Vec<Command>, Option<Vec<u8>>) {
    let Some(step) = shared.registry.orchestrations.get(record.name.as_str()) else {
        let error = format!("no orchestration named `{}` is registered", record.name);
        return (Err(error), record.next_task, Vec::new(), None);
    };
    let ctx = OrchestrationContext::new(record.id.clone(), record.next_task, now_millis());
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| match &record.state {
        None if start => step(
            &ctx,
            StepInput::Start {
                input: &record.input,
            },
        ),
        Some(state) => step(&ctx, StepInput::Resume { state, completions }),
        None => Ok(Step::Failed(
            "the instance has results but neither a start nor a checkpoint".into(),
        )),
    }));
    let result = match outcome {
        Ok(Ok(step)) => Ok(step),
        Ok(Err(error)) => Err(error.to_string()),
        Err(panic) => Err(format!(
            "the orchestration panicked: {}",
            panic_message(&*panic)
        )),
    };
    (
        result,
        ctx.next_task(),
        ctx.take_commands(),
        ctx.take_custom_status(),
    )
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".into())
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
                let span = info_span!("activity", instance = %locked.task.instance, name = %locked.task.name, task = locked.task.task.0);
                run_activity(&shared, locked).instrument(span).await;
            }
            Ok(None) => {
                if idle(&shared.activity_work, shared.poll, &mut stopped).await {
                    return;
                }
            }
            Err(e) => {
                warn!("cannot claim an activity: {e}");
                if idle(&shared.activity_work, shared.poll, &mut stopped).await {
                    return;
                }
            }
        }
    }
}

/// Runs one claimed activity call (on its own task, so a panic is caught) and commits
/// its result.
async fn run_activity<S: Store>(shared: &Shared<S>, locked: LockedActivity) {
    let result = match shared.registry.activities.get(locked.task.name.as_str()) {
        None => Err(format!(
            "no activity named `{}` is registered",
            locked.task.name
        )),
        Some(activity) => {
            let ctx = ActivityContext::new(locked.task.instance.clone(), locked.task.attempt);
            let running = tokio::spawn(activity(ctx, locked.task.input.clone()));
            match supervise(shared, &locked, running).await {
                Some(result) => result,
                None => return,
            }
        }
    };
    let task = &locked.task;
    if let (Err(error), Some(delay)) = (
        &result,
        task.retry.and_then(|r| r.delay_after(task.attempt)),
    ) {
        debug!(
            attempt = task.attempt,
            ?delay,
            "activity failed, retrying: {error}"
        );
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
            let span = info_span!("step", instance = %instance.record.id, orchestration = %instance.record.name);
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

/// Waits for a running activity call, and aborts it at its timeout (a failed attempt).
/// Meanwhile the heartbeat service renews its claim, so that no other worker takes it
/// over however long it runs. `None` when the claim was lost (the call was cancelled,
/// purged, or taken over after this worker stalled): the heartbeat aborted the call, and
/// its result would be refused.
async fn supervise<S: Store>(
    shared: &Shared<S>,
    locked: &LockedActivity,
    mut running: JoinHandle<TaskResult>,
) -> Option<TaskResult> {
    let key = (locked.task.instance.clone(), locked.task.task);
    let name = &locked.task.name;
    shared.in_flight().insert(
        key.clone(),
        InFlight {
            locked: locked.clone(),
            abort: running.abort_handle(),
        },
    );
    let deadline = locked
        .task
        .timeout
        .and_then(|t| Instant::now().checked_add(t));
    let joined = match deadline {
        None => Some(running.await),
        Some(deadline) => tokio::select! {
            joined = &mut running => Some(joined),
            () = tokio::time::sleep_until(deadline) => {
                running.abort();
                None
            }
        },
    };
    // gone when the heartbeat lost the claim and aborted the call
    take_in_flight(shared, &key, locked.lease.token)?;
    Some(match joined {
        None => {
            let after = locked.task.timeout.unwrap_or_default();
            Err(format!("activity `{name}` timed out after {after:?}"))
        }
        Some(Ok(result)) => result,
        Some(Err(e)) if e.is_panic() => Err(format!(
            "activity `{name}` panicked: {}",
            panic_message(&*e.into_panic())
        )),
        Some(Err(e)) => Err(format!("activity `{name}` was cancelled: {e}")),
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
    abort: tokio::task::AbortHandle,
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
        let wait = if stopping {
            beat.min(shared.poll)
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
                        call.abort.abort();
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
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => return,
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
