//! An in-memory [`Store`], for tests and for trying things out: nothing survives the
//! process. It keeps the same contract as the persistent stores (leases, one atomic
//! commit per step), so the runtime behaves the same on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::calls::{CallKey, CallQueue};
use crate::inbox::InboxIndex;
use crate::store::{
    admit_event, descendants_prefix, event_names, millis_after, now_millis, with_direct_result,
    ActivityTask, Committed, InstanceFilter, InstanceRecord, InstanceTasks, Lease, LockedActivity,
    LockedInstance, Message, Millis, Page, PartReader, Purge, QueuedActivity, RuntimeStatus,
    StepCommit, Store, StoreError, ALL_PARTS,
};
use crate::task::TaskResult;
use crate::timers::TimerIndex;

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    /// What instances keep beside their checkpoints, by instance and key: apart from
    /// `inner`, so that a step reads it while a commit holds the other lock.
    parts: Arc<Mutex<Parts>>,
}

/// Parts of instances' states, by instance and key.
type Parts = BTreeMap<(String, u64), Vec<u8>>;

/// Deletes the parts of instance `id` whose keys are in `keys`.
fn drop_parts(parts: &mut Parts, id: &str, keys: Range<u64>) {
    if keys.is_empty() {
        return;
    }
    let range = (id.to_owned(), keys.start)..(id.to_owned(), keys.end);
    let dropped: Vec<_> = parts.range(range).map(|(key, _)| key.clone()).collect();
    for key in dropped {
        parts.remove(&key);
    }
}

#[derive(Default)]
struct Inner {
    /// In id order, so that an instance's descendants (`id:...`) are a range.
    instances: BTreeMap<String, InstanceRecord>,
    /// What `list` looks up: (status, id), (name, id) and (created, id).
    by_status: BTreeSet<(RuntimeStatus, String)>,
    by_name: BTreeSet<(String, String)>,
    by_created: BTreeSet<(Millis, String)>,
    /// Ended instances: (when they ended, id).
    ended: BTreeSet<(Millis, String)>,
    inbox: HashMap<String, BTreeMap<u64, Message>>,
    index: InboxIndex,
    instance_leases: HashMap<String, Lease>,
    /// What each queued call runs; the queue holds their order and claims.
    activities: HashMap<CallKey, ActivityTask>,
    calls: CallQueue,
    timers: TimerIndex,
    next_seq: u64,
    next_token: u64,
}

impl Inner {
    /// The key of the activity task `locked` holds, if the claim is still valid and the
    /// task still queued.
    fn claimed(&self, locked: &LockedActivity) -> Result<CallKey, StoreError> {
        self.calls.claimed(locked)
    }

    /// Stores `record`, and keeps the indexes in step with it: a step that changes
    /// neither status nor name leaves them alone.
    fn put(&mut self, record: InstanceRecord) {
        if let Some(stored) = self.instances.get_mut(&record.id) {
            let same_end = !record.status.is_terminal() || stored.updated == record.updated;
            if stored.status == record.status && stored.name == record.name && same_end {
                *stored = record;
                return;
            }
        }
        self.remove_record(&record.id);
        let id = record.id.clone();
        self.by_status.insert((record.status, id.clone()));
        self.by_name.insert((record.name.clone(), id.clone()));
        self.by_created.insert((record.created, id.clone()));
        if record.status.is_terminal() {
            self.ended.insert((record.updated, id.clone()));
        }
        self.instances.insert(id, record);
    }

    fn remove_record(&mut self, id: &str) -> Option<InstanceRecord> {
        let record = self.instances.remove(id)?;
        self.by_status.remove(&(record.status, record.id.clone()));
        self.by_name
            .remove(&(record.name.clone(), record.id.clone()));
        self.by_created.remove(&(record.created, record.id.clone()));
        self.ended.remove(&(record.updated, record.id.clone()));
        Some(record)
    }

    /// The ids `list` considers after `after`, in id order, read lazily: one index
    /// range per status, the name's range, the ids created in the time window, or
    /// every instance.
    fn candidates<'a>(
        &'a self,
        filter: &'a InstanceFilter,
        after: Option<&'a String>,
    ) -> Vec<Box<dyn Iterator<Item = &'a String> + 'a>> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let from = |first: String| match after {
            Some(after) => Excluded(after.clone()),
            None => Included(first),
        };
        if !filter.statuses.is_empty() {
            let mut statuses = filter.statuses.clone();
            statuses.sort();
            statuses.dedup();
            return statuses
                .into_iter()
                .map(|status| {
                    let start = from(String::new()).map(|id| (status, id));
                    let ids = self.by_status.range((start, Unbounded));
                    let ids = ids.take_while(move |(s, _)| *s == status).map(|(_, id)| id);
                    Box::new(ids) as Box<dyn Iterator<Item = &String>>
                })
                .collect();
        }
        if let Some(name) = &filter.name {
            let start = from(String::new()).map(|id| (name.clone(), id));
            let ids = self.by_name.range((start, Unbounded));
            let ids = ids.take_while(move |(n, _)| n == name).map(|(_, id)| id);
            return vec![Box::new(ids)];
        }
        if filter.created_from.is_some() || filter.created_to.is_some() {
            // the window's ids, in id order: what the window holds, not every instance
            let start = (filter.created_from.unwrap_or(0), String::new());
            let to = filter.created_to.unwrap_or(Millis::MAX);
            let window = self.by_created.range(start..);
            let mut ids: Vec<&String> = window
                .take_while(|(at, _)| *at < to)
                .map(|(_, id)| id)
                .filter(|id| after.is_none_or(|a| *id > a))
                .collect();
            ids.sort_unstable();
            return vec![Box::new(ids.into_iter())];
        }
        let ids = self.instances.range((from(String::new()), Unbounded));
        vec![Box::new(ids.map(|(id, _)| id))]
    }

    fn remove_call(&mut self, key: &CallKey) {
        self.calls.remove(key);
        self.activities.remove(key);
    }

    fn lease(&mut self, now: Millis, duration: Duration) -> Lease {
        self.next_token += 1;
        Lease {
            token: self.next_token,
            expires: millis_after(now, duration),
        }
    }

    fn enqueue(&mut self, instance: &str, message: Message) {
        self.next_seq += 1;
        let seq = self.next_seq;
        self.index.arrived(instance, seq, &message);
        self.inbox
            .entry(instance.to_owned())
            .or_default()
            .insert(seq, message);
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // a poisoned lock only means a panic elsewhere mid-update of plain maps
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn parts(&self) -> MutexGuard<'_, Parts> {
        self.parts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn part_reader(&self) -> Option<PartReader> {
        let parts = self.parts.clone();
        Some(PartReader(Arc::new(move |instance: &str, key: u64| {
            let parts = parts.lock().unwrap_or_else(|p| p.into_inner());
            Ok(parts.get(&(instance.to_owned(), key)).cloned())
        })))
    }

    async fn create(&self, record: InstanceRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.instances.contains_key(&record.id) {
            return Err(StoreError::AlreadyExists(record.id));
        }
        let id = record.id.clone();
        inner.put(record);
        inner.enqueue(&id, Message::Start);
        Ok(())
    }

    async fn list(
        &self,
        filter: &InstanceFilter,
        page: &Page,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        let inner = self.lock();
        let mut found: Vec<InstanceRecord> = Vec::new();
        for ids in inner.candidates(filter, page.after.as_ref()) {
            let records = ids.into_iter().filter_map(|id| inner.instances.get(id));
            let matching = records.filter(|r| filter.matches(r)).take(page.limit);
            found.extend(matching.cloned());
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found.truncate(page.limit);
        Ok(found)
    }

    async fn ended_before(&self, before: Millis, limit: usize) -> Result<Vec<String>, StoreError> {
        let inner = self.lock();
        let ended = inner.ended.iter().take_while(|(at, _)| *at < before);
        Ok(ended.take(limit).map(|(_, id)| id.clone()).collect())
    }

    async fn purge(&self, id: &str) -> Result<Purge, StoreError> {
        let now = now_millis();
        let mut inner = self.lock();
        let Some(record) = inner.instances.get(id) else {
            return Ok(Purge::NotFound);
        };
        if !record.status.is_purgeable() {
            return Ok(Purge::NotEnded(record.status));
        }
        let prefix = descendants_prefix(id);
        let tree: Vec<String> = std::iter::once(id.to_owned())
            .chain(
                inner
                    .instances
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, _)| k.clone()),
            )
            .collect();
        let stepping = |i: &String| {
            inner
                .instance_leases
                .get(i)
                .is_some_and(|l| l.expires > now)
        };
        if tree.iter().any(stepping) {
            return Ok(Purge::Busy);
        }
        let mut parts = self.parts();
        for i in &tree {
            drop_parts(&mut parts, i, ALL_PARTS);
        }
        drop(parts);
        for i in &tree {
            inner.remove_record(i);
            inner.inbox.remove(i);
            inner.index.forget(i);
            inner.instance_leases.remove(i);
            for key in inner.calls.of_instance(i) {
                inner.remove_call(&key);
            }
            for timer in inner.timers.of_instance(i) {
                inner.timers.remove(&timer);
            }
        }
        Ok(Purge::Deleted {
            descendants: tree.len() - 1,
        })
    }

    async fn send(&self, id: &str, message: Message) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let Some(record) = inner.instances.get(id) else {
            return Err(StoreError::NotFound(id.to_owned()));
        };
        if let Message::Event { name, .. } = &message {
            let queued = inner.inbox.get(id).into_iter().flat_map(|q| q.values());
            admit_event(record, name, inner.index.untaken_events(record), || {
                Ok(event_names(queued))
            })?;
        }
        inner.enqueue(id, message);
        Ok(())
    }

    async fn instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        Ok(self.lock().instances.get(id).cloned())
    }

    async fn tasks(&self, id: &str) -> Result<InstanceTasks, StoreError> {
        let now = now_millis();
        let inner = self.lock();
        let activities = inner
            .calls
            .of_instance_claimed(id, now)
            .into_iter()
            .filter_map(|(key, claimed)| {
                let task = inner.activities.get(&key)?.clone();
                Some(QueuedActivity { task, claimed })
            })
            .collect();
        Ok(InstanceTasks {
            activities,
            timers: inner.timers.of_instance(id),
        })
    }

    async fn lock_instance(&self, lease: Duration) -> Result<Option<LockedInstance>, StoreError> {
        let now = now_millis();
        let mut inner = self.lock();
        let inner = &mut *inner;
        loop {
            let leases = &inner.instance_leases;
            let claimed = |id: &str| leases.get(id).is_some_and(|l| l.expires > now);
            let Some(id) = inner.index.next(claimed) else {
                return Ok(None);
            };
            let (Some(record), Some(messages)) = (inner.instances.get(&id), inner.inbox.get(&id))
            else {
                inner.index.forget(&id); // no messages after all, or purged
                continue;
            };
            if !crate::store::runnable(record, messages.values()) {
                let record = record.clone();
                inner.index.not_runnable(&record);
                continue;
            }
            let record = record.clone();
            let messages = messages.iter().map(|(seq, m)| (*seq, m.clone())).collect();
            inner.index.claimed(&record);
            let granted = inner.lease(now, lease);
            inner.instance_leases.insert(id, granted.clone());
            return Ok(Some(LockedInstance {
                record,
                messages,
                lease: granted,
                activity: None,
                parts: Vec::new(),
            }));
        }
    }

    async fn commit_step(
        &self,
        lease: &Lease,
        commit: StepCommit,
    ) -> Result<Committed, StoreError> {
        let mut inner = self.lock();
        let id = commit.record.id.clone();
        if inner.instance_leases.get(&id) != Some(lease) {
            if let Some(activity) = &commit.activity {
                // its result is lost with the step: free the call to run again
                let key = (activity.task.instance.clone(), activity.task.task);
                inner.calls.release(&key);
            }
            return Err(StoreError::LeaseLost);
        }
        if let Some(activity) = &commit.activity {
            let key = (activity.task.instance.clone(), activity.task.task);
            inner.remove_call(&key);
        }
        let mut parts = self.parts();
        for keys in commit.dropped_parts {
            drop_parts(&mut parts, &id, keys);
        }
        for (key, bytes) in commit.parts {
            match bytes {
                Some(bytes) => parts.insert((id.clone(), key), bytes),
                None => parts.remove(&(id.clone(), key)),
            };
        }
        drop(parts);
        inner.index.stepped(&commit.record, &commit.consumed);
        if let Some(inbox) = inner.inbox.get_mut(&id) {
            for seq in &commit.consumed {
                inbox.remove(seq);
            }
            if inbox.is_empty() {
                inner.inbox.remove(&id);
            }
        }
        let now = now_millis();
        for task in commit.activities {
            let key = (task.instance.clone(), task.task);
            inner.calls.insert(key.clone(), task.not_before.max(now));
            inner.activities.insert(key, task);
        }
        for timer in commit.timers {
            inner.timers.insert(timer);
        }
        for task in &commit.cancelled {
            if let Some(timer) = inner.timers.get(&id, *task) {
                inner.timers.remove(&timer);
            }
            inner.remove_call(&(id.clone(), *task));
        }
        for (instance, message) in commit.messages {
            if inner.instances.contains_key(&instance)
                || commit.children.iter().any(|c| c.id == instance)
            {
                inner.enqueue(&instance, message);
            }
        }
        for child in commit.children {
            if !inner.instances.contains_key(&child.id) {
                let child_id = child.id.clone();
                inner.put(child);
                inner.enqueue(&child_id, Message::Start);
            }
        }
        inner.put(commit.record);
        inner.instance_leases.remove(&id);
        Ok(Committed {
            more_queued: inner.inbox.contains_key(&id),
        })
    }

    async fn abandon_instance(&self, id: &str, lease: &Lease) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.instance_leases.get(id) == Some(lease) {
            inner.instance_leases.remove(id);
            inner.index.released(id);
        }
        Ok(())
    }

    async fn lock_activity(&self, lease: Duration) -> Result<Option<LockedActivity>, StoreError> {
        let now = now_millis();
        let mut inner = self.lock();
        let Some(key) = inner.calls.next(now) else {
            return Ok(None);
        };
        let Some(task) = inner.activities.get(&key).cloned() else {
            inner.calls.remove(&key);
            return Ok(None);
        };
        let granted = inner.lease(now, lease);
        inner.calls.hold(&key, granted.clone());
        Ok(Some(LockedActivity {
            task,
            lease: granted,
        }))
    }

    async fn renew_activity(
        &self,
        locked: &LockedActivity,
        lease: Duration,
    ) -> Result<Lease, StoreError> {
        let expires = millis_after(now_millis(), lease);
        self.lock().calls.renew(locked, expires)
    }

    async fn complete_activity(
        &self,
        locked: &LockedActivity,
        result: TaskResult,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let key = inner.claimed(locked)?;
        inner.remove_call(&key);
        inner.enqueue(
            &locked.task.instance,
            Message::TaskCompleted {
                task: locked.task.task,
                result,
            },
        );
        Ok(())
    }

    async fn claim_with_result(
        &self,
        locked: &LockedActivity,
        result: &TaskResult,
        lease: Duration,
    ) -> Result<Option<LockedInstance>, StoreError> {
        let now = now_millis();
        let mut inner = self.lock();
        let key = inner.claimed(locked)?;
        let id = &locked.task.instance;
        let free = inner
            .instance_leases
            .get(id)
            .is_none_or(|l| l.expires <= now)
            && inner.index.may_run_with_result(id); // e.g. a fan-in still missing results
        let Some(record) = inner.instances.get(id).filter(|_| free) else {
            return Ok(None);
        };
        let queued = inner.inbox.get(id).into_iter().flatten();
        let queued = queued.map(|(s, m)| (*s, m.clone())).collect();
        let Some(messages) = with_direct_result(record, queued, locked, result) else {
            return Ok(None);
        };
        let record = record.clone();
        inner.index.claimed(&record);
        let granted = inner.lease(now, lease);
        inner.instance_leases.insert(id.clone(), granted.clone());
        // the call is the step's now: nobody may take it over until it commits
        inner.calls.hold_for_commit(&key, &locked.lease);
        Ok(Some(LockedInstance {
            record,
            messages,
            lease: granted,
            activity: Some(locked.clone()),
            parts: Vec::new(),
        }))
    }

    async fn retry_activity(
        &self,
        locked: &LockedActivity,
        not_before: Millis,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let key = inner.claimed(locked)?;
        inner.calls.insert(key.clone(), not_before);
        if let Some(task) = inner.activities.get_mut(&key) {
            task.attempt += 1;
            task.not_before = not_before;
        }
        Ok(())
    }

    async fn fire_timers(&self, now: Millis) -> Result<(usize, Option<Millis>), StoreError> {
        let mut inner = self.lock();
        let due: Vec<_> = inner.timers.due(now).cloned().collect();
        let mut fired = 0;
        for timer in due {
            inner.timers.remove(&timer);
            inner.enqueue(
                &timer.instance,
                Message::TaskCompleted {
                    task: timer.task,
                    result: Ok(Vec::new()),
                },
            );
            fired += 1;
        }
        Ok((fired, inner.timers.next_due()))
    }
}
