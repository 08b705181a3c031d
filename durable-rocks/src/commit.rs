//! Writing: a step's commit, an activity call's result or next attempt, and due timers,
//! each one `WriteBatch`, with the in-memory state updated once it is written.

use durable_core::calls::CallKey;
use durable_core::store::{
    now_millis, Committed, Lease, LockedActivity, Message, Millis, RuntimeStatus, StepCommit,
    StoreError, TimerTask,
};
use durable_core::TaskResult;
use rocksdb::{WriteBatch, WriteOptions};

use crate::fields::Want;
use crate::keys::{
    backend, encode, index_entries, key, status_key, timer_key, ACTIVITIES, BY_STATUS, ENDED,
    INBOX, PARTS, TIMERS,
};
use crate::open::Durability;
use crate::state::State;
use crate::RocksStore;

/// What a step sends, encoded before the lock is taken.
struct Encoded {
    /// Messages to instances that exist: index into the commit's messages, bytes.
    messages: Vec<(usize, Vec<u8>)>,
    /// Children that do not exist yet, whose records are in the batch: index into the
    /// commit's children.
    children: Vec<usize>,
}

/// A step's write, and what to record in memory once it is written.
struct PreparedStep {
    batch: WriteBatch,
    /// Messages delivered: index into the commit's messages, sequence number.
    delivered: Vec<(usize, u64)>,
    /// Children started: id, sequence number of their start.
    started: Vec<(String, u64)>,
    /// Timers cancelled.
    cancelled: Vec<TimerTask>,
}

impl RocksStore {
    pub(crate) fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.io.write(batch)
    }

    /// Writes a batch while holding no lock. When every commit is fsync'd, the write
    /// waits on tokio's blocking pool rather than on an async worker thread, so that as
    /// many commits are in flight as there are steps, and RocksDB's group commit makes
    /// them share fsyncs. Without fsync a write takes microseconds and runs in place.
    async fn write_unlocked(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let pool = tokio::runtime::Handle::try_current();
        let (Durability::PowerLoss, Ok(pool)) = (self.durability, pool) else {
            return self.write(batch);
        };
        let db = self.db.clone();
        pool.spawn_blocking(move || {
            let mut synced = WriteOptions::default();
            synced.set_sync(true);
            db.write_opt(batch, &synced)
        })
        .await
        .map_err(backend)?
        .map_err(backend)
    }

    /// Adds to `batch` what a step writes that does not depend on the in-memory state,
    /// and encodes what it sends: done before the lock is taken, so that steps hold it
    /// only to number their messages and to read and update the indexes.
    fn prepare_unlocked(
        &self,
        batch: &mut WriteBatch,
        commit: &mut StepCommit,
        call: Option<&CallKey>,
    ) -> Result<Encoded, StoreError> {
        self.put_head_and(batch, &mut commit.record, commit.changed)?;
        let id = &commit.record.id;
        if let Some((instance, task)) = call {
            batch.delete_cf(self.cf(ACTIVITIES), key(instance, task.0));
        }
        for seq in &commit.consumed {
            batch.delete_cf(self.cf(INBOX), key(id, *seq));
        }
        for keys in commit.dropped_parts.iter().filter(|keys| !keys.is_empty()) {
            let (from, to) = (key(id, keys.start), key(id, keys.end));
            batch.delete_range_cf(self.cf(PARTS), from, to);
        }
        for (part, bytes) in &commit.parts {
            match bytes {
                Some(bytes) => batch.put_cf(self.cf(PARTS), key(id, *part), bytes),
                None => batch.delete_cf(self.cf(PARTS), key(id, *part)),
            }
        }
        for task in &commit.activities {
            batch.put_cf(
                self.cf(ACTIVITIES),
                key(&task.instance, task.task.0),
                encode(task, "activity task")?,
            );
        }
        for timer in &commit.timers {
            batch.put_cf(self.cf(TIMERS), timer_key(timer), []);
        }
        let mut messages = Vec::new();
        for (n, (instance, message)) in commit.messages.iter().enumerate() {
            let exists =
                commit.children.iter().any(|c| c.id == *instance) || self.exists(instance)?;
            if exists {
                messages.push((n, encode(message, "message")?));
            } // else its instance was purged
        }
        let mut children = Vec::new();
        for (n, child) in commit.children.iter_mut().enumerate() {
            if !self.exists(&child.id)? {
                self.put_record(batch, child)?;
                for (cf, key) in index_entries(child) {
                    batch.put_cf(self.cf(cf), key, []);
                }
                children.push(n);
            }
        }
        Ok(Encoded { messages, children })
    }

    /// Adds to `batch` what depends on the in-memory state: the status index, the
    /// sequence numbers of the messages sent, and the cancelled tasks.
    fn prepare_locked(
        &self,
        state: &mut State,
        mut batch: WriteBatch,
        commit: &StepCommit,
        encoded: Encoded,
    ) -> Result<PreparedStep, StoreError> {
        let id = &commit.record.id;
        let before = match state.claimed_status.get(id) {
            Some(status) => Some(*status),
            None => self.readable_record(id, Want::Head)?.map(|r| r.status),
        };
        if before != Some(commit.record.status) {
            if let Some(before) = before {
                batch.delete_cf(self.cf(BY_STATUS), status_key(before, id));
            }
            let ended = commit.record.status.is_terminal();
            for (cf, key) in index_entries(&commit.record) {
                if cf != ENDED || ended && !before.is_some_and(RuntimeStatus::is_terminal) {
                    batch.put_cf(self.cf(cf), key, []);
                }
            }
        }
        let mut seq = state.next_seq;
        let mut delivered = Vec::new();
        for (n, bytes) in encoded.messages {
            seq += 1;
            delivered.push((n, seq));
            batch.put_cf(self.cf(INBOX), key(&commit.messages[n].0, seq), bytes);
        }
        let mut started = Vec::new();
        for n in encoded.children {
            seq += 1;
            let child = &commit.children[n].id;
            batch.put_cf(
                self.cf(INBOX),
                key(child, seq),
                encode(&Message::Start, "message")?,
            );
            started.push((child.clone(), seq));
        }
        let cancelled: Vec<TimerTask> = commit
            .cancelled
            .iter()
            .filter_map(|task| state.timers.get(id, *task))
            .collect();
        for timer in &cancelled {
            batch.delete_cf(self.cf(TIMERS), timer_key(timer));
        }
        for task in &commit.cancelled {
            if state.calls.contains(&(id.clone(), *task)) {
                batch.delete_cf(self.cf(ACTIVITIES), key(id, task.0));
            }
        }
        state.next_seq = seq;
        Ok(PreparedStep {
            batch,
            delivered,
            started,
            cancelled,
        })
    }

    pub(crate) async fn commit(
        &self,
        lease: &Lease,
        mut commit: StepCommit,
    ) -> Result<Committed, StoreError> {
        let id = commit.record.id.clone();
        let call = commit
            .activity
            .as_ref()
            .map(|a| (a.task.instance.clone(), a.task.task));
        let mut batch = WriteBatch::default();
        let encoded = match self.prepare_unlocked(&mut batch, &mut commit, call.as_ref()) {
            Ok(encoded) => encoded,
            Err(e) => {
                // nothing is written: free the instance and the call for another attempt
                let mut state = self.lock();
                if state.instance_leases.get(&id) == Some(lease) {
                    state.release(&id, call.as_ref());
                } else if let Some(k) = &call {
                    state.calls.release(k);
                }
                return Err(e);
            }
        };
        // the guard must be gone before the write is awaited
        let (prepared, withdrawn) = {
            let mut state = self.lock();
            if state.instance_leases.get(&id) != Some(lease) {
                if let Some(k) = &call {
                    // its result is lost with the step: free the call to run again
                    state.calls.release(k);
                }
                return Err(StoreError::LeaseLost);
            }
            let prepared = match self.prepare_locked(&mut state, batch, &commit, encoded) {
                Ok(prepared) => prepared,
                Err(e) => {
                    // nothing is written: free the instance and the call for another attempt
                    state.release(&id, call.as_ref());
                    return Err(e);
                }
            };
            // Write without holding the lock, so that concurrent commits share one fsync
            // (RocksDB's group commit) when every commit is synced. The claim cannot expire
            // meanwhile: nobody may take the instance over in the middle of its commit.
            if let Some(held) = state.instance_leases.get_mut(&id) {
                held.expires = Millis::MAX;
            }
            // Cancelled calls leave the queue now, so that no retry or completion of
            // theirs lands while the write that deletes them is in flight.
            let withdrawn: Vec<(CallKey, Millis, Option<Lease>)> = commit
                .cancelled
                .iter()
                .filter_map(|task| {
                    let k = (id.clone(), *task);
                    let lease = state.calls.lease(&k).cloned();
                    state.calls.remove(&k).map(|ready| (k, ready, lease))
                })
                .collect();
            (prepared, withdrawn)
        };
        let PreparedStep {
            batch,
            delivered,
            started,
            cancelled,
        } = prepared;
        let written = self.write_unlocked(batch).await;
        let mut state = self.lock();
        if let Err(e) = written {
            // nothing was written: free the instance and the call for another attempt
            state.release(&id, call.as_ref());
            for (k, ready, lease) in withdrawn {
                state.calls.insert(k.clone(), ready);
                if let Some(lease) = lease {
                    state.calls.hold(&k, lease);
                }
            }
            return Err(e);
        }
        if let Some(k) = &call {
            state.calls.remove(k);
        }
        state.claimed_status.remove(&id);
        for timer in &cancelled {
            state.timers.remove(timer);
        }
        state.inbox.stepped(&commit.record, &commit.consumed);
        for (n, seq) in delivered {
            let (instance, message) = &commit.messages[n];
            state.inbox.arrived(instance, seq, message);
        }
        for (child, seq) in started {
            state.inbox.arrived(&child, seq, &Message::Start);
        }
        for timer in commit.timers {
            state.timers.insert(timer);
        }
        let now = now_millis();
        for task in commit.activities {
            let ready = task.not_before.max(now);
            state.calls.insert((task.instance, task.task), ready);
        }
        state.instance_leases.remove(&id);
        Ok(Committed {
            more_queued: !state.inbox.queued(&id).is_empty(),
        })
    }

    pub(crate) async fn complete(
        &self,
        locked: &LockedActivity,
        result: TaskResult,
    ) -> Result<(), StoreError> {
        let (k, seq, message, batch) = {
            let mut state = self.lock();
            let k = state.claimed(locked)?;
            state.next_seq += 1;
            let seq = state.next_seq;
            let message = Message::TaskCompleted {
                task: locked.task.task,
                result,
            };
            let mut batch = WriteBatch::default();
            batch.delete_cf(self.cf(ACTIVITIES), key(&k.0, k.1 .0));
            batch.put_cf(self.cf(INBOX), key(&k.0, seq), encode(&message, "message")?);
            // the claim keeps other workers off this task while the lock is released
            state.calls.hold_for_commit(&k, &locked.lease);
            (k, seq, message, batch)
        };
        let written = self.write_unlocked(batch).await;
        let mut state = self.lock();
        if let Err(e) = written {
            state.calls.release(&k);
            return Err(e);
        }
        state.calls.remove(&k);
        state.inbox.arrived(&k.0, seq, &message);
        Ok(())
    }

    pub(crate) fn retry(
        &self,
        locked: &LockedActivity,
        not_before: Millis,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let k = state.claimed(locked)?;
        let mut next = locked.task.clone();
        next.attempt += 1;
        next.not_before = not_before;
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(ACTIVITIES),
            key(&k.0, k.1 .0),
            encode(&next, "activity task")?,
        );
        self.write(batch)?;
        state.calls.insert(k, not_before);
        Ok(())
    }

    pub(crate) fn fire(&self, now: Millis) -> Result<(usize, Option<Millis>), StoreError> {
        let mut state = self.lock();
        let due: Vec<TimerTask> = state.timers.due(now).cloned().collect();
        if !due.is_empty() {
            let mut batch = WriteBatch::default();
            let mut seq = state.next_seq;
            let mut queued = Vec::with_capacity(due.len());
            for timer in &due {
                seq += 1;
                let message = Message::TaskCompleted {
                    task: timer.task,
                    result: Ok(Vec::new()),
                };
                batch.delete_cf(self.cf(TIMERS), timer_key(timer));
                batch.put_cf(
                    self.cf(INBOX),
                    key(&timer.instance, seq),
                    encode(&message, "message")?,
                );
                queued.push((seq, message));
            }
            self.write(batch)?;
            state.next_seq = seq;
            for (timer, (seq, message)) in due.iter().zip(queued) {
                state.timers.remove(timer);
                state.inbox.arrived(&timer.instance, seq, &message);
            }
        }
        Ok((due.len(), state.timers.next_due()))
    }
}
