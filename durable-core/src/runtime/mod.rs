//! The runtime: registered orchestrations and activities, and the tokio tasks that run
//! them against a [`Store`]. Embed it in any tokio program: `Runtime::builder(store)`,
//! register with `.orchestration(..)` and `.activity(..)`, `.start()`, then use
//! [`Runtime::client`] to start and wait for instances (the README shows a whole
//! program), and [`Runtime::shutdown`] to stop.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tracing::{info_span, warn, Instrument};

mod activities;
mod blocked;
mod retention;
mod step;
mod timers;
pub mod trace;

pub use retention::RETENTION_BATCH;
pub(crate) use step::panic_message;

use crate::activity::{erase, Activity, ActivityFn};
use crate::client::Client;
use crate::ends::Ends;
use crate::inspect::Shown;
use crate::orchestration::{Orchestration, OrchestrationFn};
use crate::registry::{Registry, StepFn};
use crate::shared::Shared;
use crate::store::{Store, Work};
use activities::{activity_worker, heartbeat_service};
use blocked::retry_blocked;
use retention::retention_service;
use step::{run_step, step_span};
use timers::timer_service;

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
