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
    pub(crate) fn claim_instance(
        &self,
        duration: Duration,
    ) -> Result<Option<LockedInstance>, StoreError> {
        let now = now_millis();
        let mut state = self.lock();
        loop {
            let State {
                inbox,
                instance_leases,
                ..
            } = &mut *state;
            let blocked = self.blocked();
            let skip = |id: &str| {
                blocked.contains_key(id) || instance_leases.get(id).is_some_and(|l| l.expires > now)
            };
            let next = inbox.next(skip);
            drop(blocked);
            let Some(id) = next else {
                return Ok(None);
            };
            let messages = match self.messages(&id, &state.inbox.queued(&id))? {
                Ok(messages) => messages,
                Err(reason) => {
                    self.quarantine(&mut state, &id, reason);
                    continue;
                }
            };
            let record = match self.record_with(&id, Want::Step)? {
                Some(Ok(record)) if !messages.is_empty() => record,
                Some(Err(reason)) => {
                    self.quarantine(&mut state, &id, reason);
                    continue;
                }
                record => {
                    if record.is_none() && !messages.is_empty() {
                        // sent to an instance purged while the message was written
                        let mut batch = WriteBatch::default();
                        for (seq, _) in &messages {
                            batch.delete_cf(self.cf(INBOX), key(&id, *seq));
                        }
                        self.write(batch)?;
                    }
                    state.inbox.forget(&id);
                    continue;
                }
            };
            if !runnable(&record, messages.iter().map(|(_, m)| m)) {
                state.inbox.not_runnable(&record);
                continue;
            }
            state.inbox.claimed(&record);
            state.claimed_status.insert(id.clone(), record.status);
            let granted = state.lease(now, duration);
            state.instance_leases.insert(id, granted.clone());
            return Ok(Some(LockedInstance {
                record,
                messages,
                lease: granted,
                activity: None,
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

    pub(crate) fn claim_activity(
        &self,
        duration: Duration,
    ) -> Result<Option<LockedActivity>, StoreError> {
        let now = now_millis();
        let mut state = self.lock();
        let Some((id, task)) = state.calls.next(now) else {
            return Ok(None);
        };
        let Some(bytes) = self.io.get(ACTIVITIES, key(&id, task.0))? else {
            state.calls.remove(&(id, task));
            return Ok(None);
        };
        let activity: ActivityTask = match codec::decode(&bytes, "activity task") {
            Ok(activity) => activity,
            Err(e) => {
                state.calls.remove(&(id.clone(), task));
                let reason = format!(
                    "activity call {} cannot be decoded ({e}); it is kept",
                    task.0
                );
                self.quarantine(&mut state, &id, reason);
                return Ok(None);
            }
        };
        let granted = state.lease(now, duration);
        state.calls.hold(&(id, task), granted.clone());
        Ok(Some(LockedActivity {
            task: activity,
            lease: granted,
        }))
    }

    pub(crate) fn renew(
        &self,
        locked: &LockedActivity,
        duration: Duration,
    ) -> Result<Lease, StoreError> {
        let expires = millis_after(now_millis(), duration);
        self.lock().calls.renew(locked, expires)
    }

    pub(crate) fn claim_for_result(
        &self,
        locked: &LockedActivity,
        result: &TaskResult,
        duration: Duration,
    ) -> Result<Option<LockedInstance>, StoreError> {
        let now = now_millis();
        let mut state = self.lock();
        let k = state.claimed(locked)?;
        let id = &locked.task.instance;
        let claimed = state
            .instance_leases
            .get(id)
            .is_some_and(|l| l.expires > now);
        let blocked = self.blocked().contains_key(id);
        if claimed || blocked || !state.inbox.may_run_with_result(id) {
            return Ok(None); // e.g. a fan-in still missing results: queue this one
        }
        let record = match self.record_with(id, Want::Step)? {
            None => return Ok(None),
            Some(Ok(record)) => record,
            Some(Err(reason)) => {
                self.quarantine(&mut state, id, reason);
                return Ok(None);
            }
        };
        let queued = match self.messages(id, &state.inbox.queued(id))? {
            Ok(queued) => queued,
            Err(reason) => {
                self.quarantine(&mut state, id, reason);
                return Ok(None);
            }
        };
        let Some(messages) = with_direct_result(&record, queued, locked, result) else {
            return Ok(None);
        };
        state.inbox.claimed(&record);
        state.claimed_status.insert(id.clone(), record.status);
        let granted = state.lease(now, duration);
        state.instance_leases.insert(id.clone(), granted.clone());
        // the call is the step's now: nobody may take it over until it commits
        state.calls.hold_for_commit(&k, &locked.lease);
        Ok(Some(LockedInstance {
            record,
            messages,
            lease: granted,
            activity: Some(locked.clone()),
        }))
    }
}
