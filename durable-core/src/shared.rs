//! What a runtime's workers and its clients share: the store, the registered code, idle
//! workers' wake-up calls, the clients waiting for ends, and the activity calls running
//! here. A [`Client`](crate::Client) holds it without the runtime's workers.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use crate::ends::Ends;
use crate::registry::{Found, Registry};
use crate::store::{LockedActivity, PartReader};
use crate::task::TaskId;

/// What a runtime's workers and its clients share.
pub(crate) struct Shared<S> {
    pub(crate) store: Arc<S>,
    pub(crate) registry: Registry,
    /// Signalled when an instance may have become runnable.
    pub(crate) instance_work: Notify,
    /// Signalled when an activity task was scheduled.
    pub(crate) activity_work: Notify,
    pub(crate) activity_workers: usize,
    /// Activity workers whose loop has not ended.
    pub(crate) running_activity_workers: AtomicUsize,
    /// Signalled when a timer was started.
    pub(crate) timer_work: Notify,
    /// The clients waiting for an instance to end.
    pub(crate) ends: Ends,
    pub(crate) lease: Duration,
    pub(crate) poll: Duration,
    /// Activity calls running on this runtime, by instance and task.
    pub(crate) in_flight: Mutex<HashMap<(String, TaskId), InFlight>>,
    /// How steps read what the store keeps beside checkpoints (`Store::part_reader`).
    pub(crate) parts: Option<PartReader>,
}

impl<S> Shared<S> {
    /// The code this runtime steps instances of `name` and `version` with, or why none.
    pub(crate) fn code(&self, name: &str, version: u32) -> Result<Found, String> {
        self.registry.orchestration(name, version)
    }

    pub(crate) fn in_flight(&self) -> MutexGuard<'_, HashMap<(String, TaskId), InFlight>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An activity call running on this runtime, whose claim the heartbeat renews.
pub(crate) struct InFlight {
    pub(crate) locked: LockedActivity,
    /// Told once the claim is lost: the call is dropped where it awaits.
    pub(crate) abort: Arc<Notify>,
}
