//! [`RocksStore`]: the durable-core [`Store`] on an embedded RocksDB, the default store.
//!
//! Layout, one column family each:
//! - `instances`: instance id -> [`InstanceRecord`] (the checkpoint replaces itself);
//! - `inbox`: instance id, 0, sequence (big-endian) -> [`Message`];
//! - `activities`: instance id, 0, task id (big-endian) -> [`ActivityTask`];
//! - `timers`: due time (big-endian), instance id, 0, task id (big-endian) -> `()`,
//!   so timers sort by due time.
//!
//! Every step is one `WriteBatch`. Which instances have messages and which activity
//! tasks are queued is also kept in memory (rebuilt on open), so claiming work does not
//! scan the database; leases live in memory too, since RocksDB allows one process per
//! directory.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use durable_core::codec;
use durable_core::inbox::InboxIndex;
use durable_core::store::{
    admit_event, descendants_prefix, millis_after, now_millis, with_direct_result, ActivityTask,
    InstanceFilter, InstanceRecord, Lease, LockedActivity, LockedInstance, Message, Millis, Page,
    Purge, StepCommit, Store, StoreError, TimerTask,
};
use durable_core::timers::TimerIndex;
use durable_core::{TaskId, TaskResult};
use rocksdb::{
    ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB,
};

const INSTANCES: &str = "instances";
const INBOX: &str = "inbox";
const ACTIVITIES: &str = "activities";
const TIMERS: &str = "timers";

/// The most memory the memtables of all column families take together.
const MEMTABLE_BUDGET: usize = 128 << 20;

/// A step's write batch, the messages it delivers (index, sequence number), the children
/// it starts (id, sequence number of their start) and the timers it cancels.
type PreparedStep = (
    WriteBatch,
    Vec<(usize, u64)>,
    Vec<(String, u64)>,
    Vec<TimerTask>,
);

/// How hard a commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Written to the WAL without fsync: survives a process crash (the default).
    #[default]
    Process,
    /// fsync'd before the commit returns: survives power loss.
    PowerLoss,
}

pub struct RocksStore {
    db: Arc<DB>,
    write: WriteOptions,
    durability: Durability,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Queued messages, and which instances may be runnable.
    inbox: InboxIndex,
    instance_leases: HashMap<String, Lease>,
    /// Queued activity tasks, with the time before which they must not run.
    activities: BTreeMap<(String, TaskId), Millis>,
    activity_leases: HashMap<(String, TaskId), Lease>,
    /// Started timers.
    timers: TimerIndex,
    next_seq: u64,
    next_token: u64,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn key(instance: &str, n: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(instance.len() + 9);
    k.extend_from_slice(instance.as_bytes());
    k.push(0);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

fn timer_key(timer: &TimerTask) -> Vec<u8> {
    let mut k = timer.due.to_be_bytes().to_vec();
    k.extend(key(&timer.instance, timer.task.0));
    k
}

fn split_timer_key(k: &[u8]) -> Option<TimerTask> {
    let due = u64::from_be_bytes(k.get(..8)?.try_into().ok()?);
    let (instance, task) = split_key(&k[8..])?;
    Some(TimerTask {
        due,
        instance,
        task: TaskId(task),
    })
}

fn split_key(k: &[u8]) -> Option<(String, u64)> {
    let (id, n) = k.split_at(k.len().checked_sub(9)?);
    let n = n.strip_prefix(&[0])?;
    Some((
        String::from_utf8(id.to_vec()).ok()?,
        u64::from_be_bytes(n.try_into().ok()?),
    ))
}

impl RocksStore {
    /// Opens (or creates) a store in `path` with the default durability.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Durability::default())
    }

    /// Opens (or creates) a store in `path`. Fails with a clear error if another
    /// process has it open.
    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // One memory budget for the memtables of all column families (RocksDB's
        // default is 64 MiB per family, times two while one flushes).
        opts.set_db_write_buffer_size(MEMTABLE_BUDGET);
        // Writers that wait for the write group sleep rather than spin: on a machine with
        // few cores the spinning burns the core that the group leader needs.
        opts.set_enable_write_thread_adaptive_yield(false);
        opts.set_allow_concurrent_memtable_write(false);
        let cfs = [INSTANCES, INBOX, ACTIVITIES, TIMERS]
            .map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| {
            if e.to_string().contains("lock") {
                StoreError::Backend(format!(
                    "{} is in use by another process ({e})",
                    path.display()
                ))
            } else {
                backend(e)
            }
        })?;
        let mut write = WriteOptions::default();
        write.set_sync(durability == Durability::PowerLoss);
        let store = Self {
            db: Arc::new(db),
            write,
            durability,
            state: Mutex::new(State::default()),
        };
        store.rebuild()?;
        Ok(store)
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("column families are created on open")
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rebuilds the in-memory indexes: queued messages and activity tasks. Leases are
    /// not persisted, so work claimed by a process that died is free again.
    fn rebuild(&self) -> Result<(), StoreError> {
        let mut state = self.lock();
        for item in self.db.iterator_cf(self.cf(INBOX), IteratorMode::Start) {
            let (k, v) = item.map_err(backend)?;
            if let Some((id, seq)) = split_key(&k) {
                let message: Message = codec::decode(&v, "message").map_err(backend)?;
                state.next_seq = state.next_seq.max(seq);
                state.inbox.arrived(&id, seq, &message);
            }
        }
        for item in self
            .db
            .iterator_cf(self.cf(ACTIVITIES), IteratorMode::Start)
        {
            let (k, v) = item.map_err(backend)?;
            if let Some((id, task)) = split_key(&k) {
                let queued: ActivityTask = codec::decode(&v, "activity task").map_err(backend)?;
                state
                    .activities
                    .insert((id, TaskId(task)), queued.not_before);
            }
        }
        for item in self.db.iterator_cf(self.cf(TIMERS), IteratorMode::Start) {
            let (k, _) = item.map_err(backend)?;
            if let Some(timer) = split_timer_key(&k) {
                state.timers.insert(timer);
            }
        }
        Ok(())
    }

    /// The ids of `id`'s descendants, read from the instances' key order.
    fn descendants(&self, id: &str) -> impl Iterator<Item = Result<String, StoreError>> + '_ {
        let prefix = descendants_prefix(id);
        let from = IteratorMode::From(prefix.as_bytes(), Direction::Forward);
        self.db
            .iterator_cf(self.cf(INSTANCES), from)
            .map_while(move |item| match item {
                Ok((k, _)) if k.starts_with(prefix.as_bytes()) => {
                    Some(String::from_utf8(k.to_vec()).map_err(backend))
                }
                Ok(_) => None,
                Err(e) => Some(Err(backend(e))),
            })
    }

    fn record(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        match self.db.get_cf(self.cf(INSTANCES), id).map_err(backend)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(
                codec::decode(&bytes, "instance record").map_err(backend)?,
            )),
        }
    }

    /// The queued messages `seqs` of instance `id`, read by key: scanning the inbox by
    /// prefix would step over the tombstones of every message consumed so far, which
    /// makes a step cost grow with the instance's history until RocksDB compacts.
    fn messages(&self, id: &str, seqs: &[u64]) -> Result<Vec<(u64, Message)>, StoreError> {
        let cf = self.cf(INBOX);
        let values = self
            .db
            .multi_get_cf(seqs.iter().map(|seq| (cf, key(id, *seq))));
        let mut out = Vec::with_capacity(seqs.len());
        for (seq, value) in seqs.iter().zip(values) {
            if let Some(bytes) = value.map_err(backend)? {
                out.push((*seq, codec::decode(&bytes, "message").map_err(backend)?));
            }
        }
        Ok(out)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.db.write_opt(batch, &self.write).map_err(backend)
    }

    /// Writes a batch while holding no lock. When every commit is fsync'd, the write
    /// waits on tokio's blocking pool rather than on an async worker thread, so that as
    /// many commits are in flight as there are steps, and RocksDB's group commit makes
    /// them share fsyncs. Without fsync a write takes microseconds and runs in place.
    async fn write_unlocked(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let pool = tokio::runtime::Handle::try_current();
        let (true, Ok(pool)) = (self.write_sync(), pool) else {
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

    fn write_sync(&self) -> bool {
        self.durability == Durability::PowerLoss
    }

    /// The write of a step, and what to record in memory once it is written: messages
    /// delivered (index into `commit.messages`, sequence number), children started, and
    /// timers cancelled.
    fn prepare_step(
        &self,
        state: &mut State,
        commit: &StepCommit,
        activity: Option<&(String, TaskId)>,
    ) -> Result<PreparedStep, StoreError> {
        let id = &commit.record.id;
        let mut batch = WriteBatch::default();
        if let Some((instance, task)) = activity {
            batch.delete_cf(self.cf(ACTIVITIES), key(instance, task.0));
        }
        batch.put_cf(
            self.cf(INSTANCES),
            id,
            encode(&commit.record, "instance record")?,
        );
        for seq in &commit.consumed {
            batch.delete_cf(self.cf(INBOX), key(id, *seq));
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
        let mut seq = state.next_seq;
        let mut delivered = Vec::new();
        for (n, (instance, message)) in commit.messages.iter().enumerate() {
            let exists = commit.children.iter().any(|c| c.id == *instance)
                || self.record(instance)?.is_some();
            if !exists {
                continue; // its instance was purged
            }
            seq += 1;
            delivered.push((n, seq));
            batch.put_cf(
                self.cf(INBOX),
                key(instance, seq),
                encode(message, "message")?,
            );
        }
        let mut started = Vec::new();
        for child in &commit.children {
            if self.record(&child.id)?.is_none() {
                seq += 1;
                batch.put_cf(
                    self.cf(INSTANCES),
                    &child.id,
                    encode(child, "instance record")?,
                );
                batch.put_cf(
                    self.cf(INBOX),
                    key(&child.id, seq),
                    encode(&Message::Start, "message")?,
                );
                started.push((child.id.clone(), seq));
            }
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
            if state.activities.contains_key(&(id.clone(), *task)) {
                batch.delete_cf(self.cf(ACTIVITIES), key(id, task.0));
            }
        }
        state.next_seq = seq;
        Ok((batch, delivered, started, cancelled))
    }
}

impl State {
    /// The key of the activity task `locked` holds, if the claim is still valid and the
    /// task still queued.
    fn claimed(&self, locked: &LockedActivity) -> Result<(String, TaskId), StoreError> {
        let k = (locked.task.instance.clone(), locked.task.task);
        if self.activity_leases.get(&k) != Some(&locked.lease) || !self.activities.contains_key(&k)
        {
            return Err(StoreError::LeaseLost);
        }
        Ok(k)
    }
}

fn lease(state: &mut State, now: Millis, duration: Duration) -> Lease {
    state.next_token += 1;
    Lease {
        token: state.next_token,
        expires: millis_after(now, duration),
    }
}

fn encode<T: serde::Serialize>(value: &T, what: &'static str) -> Result<Vec<u8>, StoreError> {
    codec::encode(value, what).map_err(backend)
}

impl Store for RocksStore {
    async fn create(&self, record: InstanceRecord) -> Result<(), StoreError> {
        let mut state = self.lock();
        if self.record(&record.id)?.is_some() {
            return Err(StoreError::AlreadyExists(record.id));
        }
        state.next_seq += 1;
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(INSTANCES),
            &record.id,
            encode(&record, "instance record")?,
        );
        batch.put_cf(
            self.cf(INBOX),
            key(&record.id, state.next_seq),
            encode(&Message::Start, "message")?,
        );
        self.write(batch)?;
        let seq = state.next_seq;
        state.inbox.arrived(&record.id, seq, &Message::Start);
        Ok(())
    }

    async fn list(
        &self,
        filter: &InstanceFilter,
        page: &Page,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        let mode = match &page.after {
            Some(after) => IteratorMode::From(after.as_bytes(), Direction::Forward),
            None => IteratorMode::Start,
        };
        let mut found = Vec::new();
        for item in self.db.iterator_cf(self.cf(INSTANCES), mode) {
            if found.len() >= page.limit {
                break;
            }
            let (k, v) = item.map_err(backend)?;
            if page.after.as_ref().is_some_and(|a| a.as_bytes() == &*k) {
                continue;
            }
            let record: InstanceRecord = codec::decode(&v, "instance record").map_err(backend)?;
            if filter.matches(&record) {
                found.push(record);
            }
        }
        Ok(found)
    }

    async fn purge(&self, id: &str) -> Result<Purge, StoreError> {
        let now = now_millis();
        // the lock keeps steps and creations out from the check to the write
        let mut state = self.lock();
        let Some(record) = self.record(id)? else {
            return Ok(Purge::NotFound);
        };
        if !record.status.is_terminal() {
            return Ok(Purge::NotEnded(record.status));
        }
        let tree: Vec<String> = std::iter::once(Ok(id.to_owned()))
            .chain(self.descendants(id))
            .collect::<Result<_, _>>()?;
        let stepping = |i: &String| {
            state
                .instance_leases
                .get(i)
                .is_some_and(|l| l.expires > now)
        };
        if tree.iter().any(stepping) {
            return Ok(Purge::Busy);
        }
        let mut batch = WriteBatch::default();
        let mut calls = Vec::new();
        let mut timers = Vec::new();
        for i in &tree {
            batch.delete_cf(self.cf(INSTANCES), i);
            for seq in state.inbox.queued(i) {
                batch.delete_cf(self.cf(INBOX), key(i, seq));
            }
            let range = (i.clone(), TaskId(0))..=(i.clone(), TaskId(u64::MAX));
            for (k, _) in state.activities.range(range) {
                batch.delete_cf(self.cf(ACTIVITIES), key(&k.0, k.1 .0));
                calls.push(k.clone());
            }
            for timer in state.timers.of_instance(i) {
                batch.delete_cf(self.cf(TIMERS), timer_key(&timer));
                timers.push(timer);
            }
        }
        self.write(batch)?;
        for i in &tree {
            state.inbox.forget(i);
            state.instance_leases.remove(i);
        }
        for k in calls {
            state.activity_leases.remove(&k);
            state.activities.remove(&k);
        }
        for timer in timers {
            state.timers.remove(&timer);
        }
        Ok(Purge::Deleted {
            descendants: tree.len() - 1,
        })
    }

    async fn send(&self, id: &str, message: Message) -> Result<(), StoreError> {
        let mut state = self.lock();
        let Some(record) = self.record(id)? else {
            return Err(StoreError::NotFound(id.to_owned()));
        };
        if matches!(message, Message::Event { .. }) {
            admit_event(&record, state.inbox.queued_events(id))?;
        }
        state.next_seq += 1;
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(INBOX),
            key(id, state.next_seq),
            encode(&message, "message")?,
        );
        self.write(batch)?;
        let seq = state.next_seq;
        state.inbox.arrived(id, seq, &message);
        Ok(())
    }

    async fn instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        self.record(id)
    }

    async fn lock_instance(
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
            let claimed = |id: &str| instance_leases.get(id).is_some_and(|l| l.expires > now);
            let Some(id) = inbox.next(claimed) else {
                return Ok(None);
            };
            let messages = self.messages(&id, &state.inbox.queued(&id))?;
            let record = match self.record(&id)? {
                Some(record) if !messages.is_empty() => record,
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
            if !durable_core::store::runnable(&record, messages.iter().map(|(_, m)| m)) {
                state.inbox.not_runnable(&record);
                continue;
            }
            let granted = lease(&mut state, now, duration);
            state.instance_leases.insert(id, granted.clone());
            return Ok(Some(LockedInstance {
                record,
                messages,
                lease: granted,
                activity: None,
            }));
        }
    }

    async fn commit_step(&self, lease: &Lease, commit: StepCommit) -> Result<(), StoreError> {
        let id = commit.record.id.clone();
        let activity = commit
            .activity
            .as_ref()
            .map(|a| (a.task.instance.clone(), a.task.task));
        // the guard must be gone before the write is awaited
        let ((batch, delivered, started, cancelled), withdrawn) = {
            let mut state = self.lock();
            if state.instance_leases.get(&id) != Some(lease) {
                if let Some(k) = &activity {
                    // its result is lost with the step: free the call to run again
                    state.activity_leases.remove(k);
                }
                return Err(StoreError::LeaseLost);
            }
            let prepared = match self.prepare_step(&mut state, &commit, activity.as_ref()) {
                Ok(prepared) => prepared,
                Err(e) => {
                    // nothing is written: free the instance and the call for another attempt
                    state.instance_leases.remove(&id);
                    if let Some(k) = &activity {
                        state.activity_leases.remove(k);
                    }
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
            let withdrawn: Vec<((String, TaskId), Millis)> = commit
                .cancelled
                .iter()
                .filter_map(|task| {
                    let k = (id.clone(), *task);
                    state
                        .activities
                        .remove(&k)
                        .map(|not_before| (k, not_before))
                })
                .collect();
            (prepared, withdrawn)
        };
        let written = self.write_unlocked(batch).await;
        let mut state = self.lock();
        if let Err(e) = written {
            // nothing was written: free the instance and the call for another attempt
            state.instance_leases.remove(&id);
            if let Some(k) = &activity {
                state.activity_leases.remove(k);
            }
            state.activities.extend(withdrawn);
            return Err(e);
        }
        if let Some(k) = &activity {
            state.activity_leases.remove(k);
            state.activities.remove(k);
        }
        for timer in &cancelled {
            state.timers.remove(timer);
        }
        for (k, _) in withdrawn {
            state.activity_leases.remove(&k);
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
        for task in commit.activities {
            state
                .activities
                .insert((task.instance, task.task), task.not_before);
        }
        state.instance_leases.remove(&id);
        Ok(())
    }

    async fn abandon_instance(&self, id: &str, lease: &Lease) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.instance_leases.get(id) == Some(lease) {
            state.instance_leases.remove(id);
        }
        Ok(())
    }

    async fn lock_activity(
        &self,
        duration: Duration,
    ) -> Result<Option<LockedActivity>, StoreError> {
        let now = now_millis();
        let mut state = self.lock();
        let next = state
            .activities
            .iter()
            .find(|(k, not_before)| {
                **not_before <= now
                    && state
                        .activity_leases
                        .get(*k)
                        .is_none_or(|l| l.expires <= now)
            })
            .map(|(k, _)| k.clone());
        let Some((id, task)) = next else {
            return Ok(None);
        };
        let Some(bytes) = self
            .db
            .get_cf(self.cf(ACTIVITIES), key(&id, task.0))
            .map_err(backend)?
        else {
            state.activities.remove(&(id, task));
            return Ok(None);
        };
        let activity: ActivityTask = codec::decode(&bytes, "activity task").map_err(backend)?;
        let granted = lease(&mut state, now, duration);
        state.activity_leases.insert((id, task), granted.clone());
        Ok(Some(LockedActivity {
            task: activity,
            lease: granted,
        }))
    }

    async fn renew_activity(
        &self,
        locked: &LockedActivity,
        duration: Duration,
    ) -> Result<Lease, StoreError> {
        let mut state = self.lock();
        let k = state.claimed(locked)?;
        let renewed = Lease {
            token: locked.lease.token,
            expires: millis_after(now_millis(), duration),
        };
        state.activity_leases.insert(k, renewed.clone());
        Ok(renewed)
    }

    async fn complete_activity(
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
            if let Some(held) = state.activity_leases.get_mut(&k) {
                held.expires = Millis::MAX;
            }
            (k, seq, message, batch)
        };
        let written = self.write_unlocked(batch).await;
        let mut state = self.lock();
        if let Err(e) = written {
            state.activity_leases.remove(&k);
            return Err(e);
        }
        state.activity_leases.remove(&k);
        state.activities.remove(&k);
        state.inbox.arrived(&k.0, seq, &message);
        Ok(())
    }

    async fn claim_with_result(
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
        if claimed || !state.inbox.may_run_with_result(id) {
            return Ok(None); // e.g. a fan-in still missing results: queue this one
        }
        let Some(record) = self.record(id)? else {
            return Ok(None);
        };
        let queued = self.messages(id, &state.inbox.queued(id))?;
        let Some(messages) = with_direct_result(&record, queued, locked, result) else {
            return Ok(None);
        };
        let granted = lease(&mut state, now, duration);
        state.instance_leases.insert(id.clone(), granted.clone());
        // the call is the step's now: nobody may take it over until it commits
        if let Some(held) = state.activity_leases.get_mut(&k) {
            held.expires = Millis::MAX;
        }
        Ok(Some(LockedInstance {
            record,
            messages,
            lease: granted,
            activity: Some(locked.clone()),
        }))
    }

    async fn retry_activity(
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
        state.activity_leases.remove(&k);
        state.activities.insert(k, not_before);
        Ok(())
    }

    async fn fire_timers(&self, now: Millis) -> Result<(usize, Option<Millis>), StoreError> {
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
