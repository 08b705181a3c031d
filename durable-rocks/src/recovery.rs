//! Rebuilding the in-memory [`State`](crate::state::State) on open from what is stored.

use durable_core::codec;
use durable_core::store::{now_millis, ActivityTask, Message, StoreError};
use durable_core::TaskId;
use rocksdb::IteratorMode;

use crate::keys::{backend, split_key, split_timer_key, ACTIVITIES, INBOX, TIMERS};
use crate::records::unreadable_message;
use crate::RocksStore;

impl RocksStore {
    /// Rebuilds the in-memory indexes: queued messages, activity tasks and timers.
    /// Leases are not persisted, so work claimed by a process that died is free again. A
    /// message or task that cannot be decoded blocks its instance only.
    pub(crate) fn rebuild(&self) -> Result<(), StoreError> {
        let mut state = self.lock();
        let mut unreadable = Vec::new();
        for item in self.db.iterator_cf(self.cf(INBOX), IteratorMode::Start) {
            let (k, v) = item.map_err(backend)?;
            let Some((id, seq)) = split_key(&k) else {
                continue;
            };
            state.next_seq = state.next_seq.max(seq);
            match codec::decode::<Message>(&v, "message") {
                Ok(message) => state.inbox.arrived(&id, seq, &message),
                Err(e) => unreadable.push((id, unreadable_message(seq, e))),
            }
        }
        for item in self
            .db
            .iterator_cf(self.cf(ACTIVITIES), IteratorMode::Start)
        {
            let (k, v) = item.map_err(backend)?;
            let Some((id, task)) = split_key(&k) else {
                continue;
            };
            match codec::decode::<ActivityTask>(&v, "activity task") {
                Ok(queued) => {
                    let ready = queued.not_before.max(now_millis());
                    state.calls.insert((id, TaskId(task)), ready);
                }
                Err(e) => {
                    let reason =
                        format!("activity call {task} cannot be decoded ({e}); it is kept");
                    unreadable.push((id, reason));
                }
            }
        }
        for item in self.db.iterator_cf(self.cf(TIMERS), IteratorMode::Start) {
            let (k, _) = item.map_err(backend)?;
            if let Some(timer) = split_timer_key(&k) {
                state.timers.insert(timer);
            }
        }
        for (id, reason) in unreadable {
            self.quarantine(&mut state, &id, reason);
        }
        Ok(())
    }
}
