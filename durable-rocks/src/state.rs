//! [`State`]: what a store keeps in memory beside RocksDB, rebuilt on open. Which
//! instances have messages and which calls and timers are queued, so that claiming work
//! does not scan the database; and leases, since RocksDB allows one process per
//! directory.

use std::collections::HashMap;
use std::time::Duration;

use durable_core::calls::{CallKey, CallQueue};
use durable_core::inbox::InboxIndex;
use durable_core::store::{millis_after, Lease, LockedActivity, Millis, RuntimeStatus, StoreError};
use durable_core::timers::TimerIndex;

#[derive(Default)]
pub(crate) struct State {
    /// Queued messages, and which instances may be runnable.
    pub(crate) inbox: InboxIndex,
    pub(crate) instance_leases: HashMap<String, Lease>,
    /// The stored status of each claimed instance, as claimed: a commit that changes it
    /// moves the instance in the status index.
    pub(crate) claimed_status: HashMap<String, RuntimeStatus>,
    /// Queued activity calls and their claims.
    pub(crate) calls: CallQueue,
    /// Started timers.
    pub(crate) timers: TimerIndex,
    pub(crate) next_seq: u64,
    next_token: u64,
}

impl State {
    /// The key of the activity task `locked` holds, if the claim is still valid and the
    /// task still queued.
    pub(crate) fn claimed(&self, locked: &LockedActivity) -> Result<CallKey, StoreError> {
        self.calls.claimed(locked)
    }

    /// A new lease of `duration` from `now`.
    pub(crate) fn lease(&mut self, now: Millis, duration: Duration) -> Lease {
        self.next_token += 1;
        Lease {
            token: self.next_token,
            expires: millis_after(now, duration),
        }
    }

    /// Frees instance `id` and the call a step held, after a commit that wrote nothing.
    pub(crate) fn release(&mut self, id: &str, call: Option<&CallKey>) {
        self.instance_leases.remove(id);
        self.claimed_status.remove(id);
        if let Some(k) = call {
            self.calls.release(k);
        }
    }
}
