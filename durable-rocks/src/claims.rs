//! Claiming work under a lease: an instance for a step, an activity call for an attempt,
//! or both at once when a call's result lets its instance step.

use std::time::Duration;

use durable_core::codec;
use durable_core::store::{
    millis_after, now_millis, runnable, with_direct_result, ActivityTask, Lease, LockedActivity,
    LockedInstance, StoreError,
};
use durable_core::TaskResult;
use rocksdb::WriteBatch;

use crate::fields::Want;
use crate::keys::{key, ACTIVITIES, INBOX};
use crate::state::State;
use crate::RocksStore;

impl RocksStore {
    /// Claims an instance. The lock is held to pick one and to record the claim, not
    /// while its record and messages are read: the claim, taken first, keeps every
    /// other worker off the instance meanwhile.
    pub(crate) fn claim_instance(
        &self,
        duration: Duration,
    ) -> Result<Option<LockedInstance>, StoreError> {
        let now = now_millis();
        loop {
            let (id, seqs, granted) = {
                let mut state = self.lock();
                let State {
                    inbox,
                    instance_leases,
                    ..
                } = &mut *state;
                let blocked = self.blocked();
                let skip = |id: &str| {
                    blocked.contains_key(id)
                        || instance_leases.get(id).is_some_and(|l| l.expires > now)
                };
                let next = inbox.next(skip);
                drop(blocked);
                let Some(id) = next else {
                    return Ok(None);
                };
                let seqs = state.inbox.queued(&id);
                let granted = state.lease(now, duration);
                state.instance_leases.insert(id.clone(), granted.clone());
                (id, seqs, granted)
            };
            let read = self
                .messages(&id, &seqs)
                .and_then(|messages| Ok((messages, self.record_with(&id, Want::Step)?)));
            let mut state = self.lock();
            if state.instance_leases.get(&id) != Some(&granted) {
                continue; // purged meanwhile
            }
            let (messages, record) = match read {
                Ok(read) => read,
                Err(e) => {
                    state.release(&id, None);
                    return Err(e);
                }
            };
            let messages = match messages {
                Ok(messages) => messages,
                Err(reason) => {
                    state.release(&id, None);
                    self.quarantine(&mut state, &id, reason);
                    continue;
                }
            };
            let record = match record {
                Some(Ok(record)) if !messages.is_empty() => record,
                Some(Err(reason)) => {
                    state.release(&id, None);
                    self.quarantine(&mut state, &id, reason);
                    continue;
                }
                record => {
                    state.release(&id, None);
                    if record.is_none() && !messages.is_empty() {
                        // sent to an instance purged while the message was written
                        let mut batch = WriteBatch::default();
                        for (seq, _) in &messages {
                            batch.delete_cf(self.cf(INBOX), key(&id, *seq));
                        }
                        self.write(batch)?;
                    }
                    // what arrived while it was read stays: the id may be in use again
                    state.inbox.dropped(&id, &seqs);
                    continue;
                }
            };
            if !runnable(&record, messages.iter().map(|(_, m)| m)) {
                state.release(&id, None);
                if state.inbox.queued(&id) == seqs {
                    state.inbox.not_runnable(&record);
                } else {
                    // what arrived while it was read may let it run: it goes back in line
                    state.inbox.released(&id);
                }
                continue;
            }
            state.inbox.claimed(&record);
            state.claimed_status.insert(id.clone(), record.status);
            return Ok(Some(LockedInstance {
                record,
                messages,
                lease: granted,
                activity: None,
                parts: Vec::new(),
            }));
        }
    }

    pub(crate) fn abandon(&self, id: &str, lease: &Lease) {
        let mut state = self.lock();
        if state.instance_leases.get(id) == Some(lease) {
            state.release(id, None);
            state.inbox.released(id);
        }
    }

    /// Claims an activity call: the lock is held to pick it and record the claim, and
    /// the call is read after.
    pub(crate) fn claim_activity(
        &self,
        duration: Duration,
    ) -> Result<Option<LockedActivity>, StoreError> {
        let now = now_millis();
        let (k, granted) = {
            let mut state = self.lock();
            let Some(k) = state.calls.next(now) else {
                return Ok(None);
            };
            let granted = state.lease(now, duration);
            state.calls.hold(&k, granted.clone());
            (k, granted)
        };
        let read = self.io.get(ACTIVITIES, key(&k.0, k.1 .0));
        // undoes the claim, if it is still this one's, when no call comes of it
        let drop_claim = |state: &mut State| {
            let ours = state.calls.lease(&k) == Some(&granted);
            ours && state.calls.remove(&k).is_some()
        };
        let bytes = match read {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                drop_claim(&mut self.lock());
                return Ok(None);
            }
            Err(e) => {
                let mut state = self.lock();
                if state.calls.lease(&k) == Some(&granted) {
                    state.calls.release(&k);
                }
                return Err(e);
            }
        };
        match codec::decode::<ActivityTask>(&bytes, "activity task") {
            Ok(task) => Ok(Some(LockedActivity {
                task,
                lease: granted,
            })),
            Err(e) => {
                let mut state = self.lock();
                if drop_claim(&mut state) {
                    let reason = format!(
                        "activity call {} cannot be decoded ({e}); it is kept",
                        k.1 .0
                    );
                    self.quarantine(&mut state, &k.0, reason);
                }
                Ok(None)
            }
        }
    }

    pub(crate) fn renew(
        &self,
        locked: &LockedActivity,
        duration: Duration,
    ) -> Result<Lease, StoreError> {
        let expires = millis_after(now_millis(), duration);
        self.lock().calls.renew(locked, expires)
    }

    /// Claims the instance of call `locked` for a step that takes `result` at once.
    /// As in [`RocksStore::claim_instance`], the instance is claimed first and read
    /// without the lock.
    pub(crate) fn claim_for_result(
        &self,
        locked: &LockedActivity,
        result: &TaskResult,
        duration: Duration,
    ) -> Result<Option<LockedInstance>, StoreError> {
        let now = now_millis();
        let id = &locked.task.instance;
        let (k, seqs, granted) = {
            let mut state = self.lock();
            let k = state.claimed(locked)?;
            let claimed = state
                .instance_leases
                .get(id)
                .is_some_and(|l| l.expires > now);
            let blocked = self.blocked().contains_key(id);
            if claimed || blocked || !state.inbox.may_run_with_result(id) {
                return Ok(None); // e.g. a fan-in still missing results: queue this one
            }
            let granted = state.lease(now, duration);
            state.instance_leases.insert(id.clone(), granted.clone());
            (k, state.inbox.queued(id), granted)
        };
        let read = self
            .record_with(id, Want::Step)
            .and_then(|record| Ok((record, self.messages(id, &seqs)?)));
        let mut state = self.lock();
        if state.instance_leases.get(id) != Some(&granted) {
            return Ok(None); // purged meanwhile
        }
        let (record, queued) = match read {
            Ok(read) => read,
            Err(e) => {
                state.release(id, None);
                return Err(e);
            }
        };
        let record = match record {
            Some(Ok(record)) => record,
            None => {
                state.release(id, None);
                return Ok(None);
            }
            Some(Err(reason)) => {
                state.release(id, None);
                self.quarantine(&mut state, id, reason);
                return Ok(None);
            }
        };
        let queued = match queued {
            Ok(queued) => queued,
            Err(reason) => {
                state.release(id, None);
                self.quarantine(&mut state, id, reason);
                return Ok(None);
            }
        };
        if state.claimed(locked).is_err() {
            // the call's claim expired while the instance was read, and was taken over
            state.release(id, None);
            return Err(StoreError::LeaseLost);
        }
        let Some(messages) = with_direct_result(&record, queued, locked, result) else {
            state.release(id, None);
            return Ok(None);
        };
        state.inbox.claimed(&record);
        state.claimed_status.insert(id.clone(), record.status);
        // the call is the step's now: nobody may take it over until it commits
        state.calls.hold_for_commit(&k, &locked.lease);
        Ok(Some(LockedInstance {
            record,
            messages,
            lease: granted,
            activity: Some(locked.clone()),
            parts: Vec::new(),
        }))
    }
}
