//! An in-memory [`Store`], for tests and for trying things out: nothing survives the
//! process. It keeps the same contract as the persistent stores (leases, one atomic
//! commit per step), so the runtime behaves the same on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::inbox::InboxIndex;
use crate::store::{
    now_millis, with_direct_result, ActivityTask, InstanceFilter, InstanceRecord, Lease,
    LockedActivity, LockedInstance, Message, Millis, Page, StepCommit, Store, StoreError,
    TimerTask,
};
use crate::task::{TaskId, TaskResult};

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    instances: HashMap<String, InstanceRecord>,
    inbox: HashMap<String, BTreeMap<u64, Message>>,
    index: InboxIndex,
    instance_leases: HashMap<String, Lease>,
    activities: BTreeMap<(String, TaskId), ActivityTask>,
    activity_leases: HashMap<(String, TaskId), Lease>,
    timers: BTreeSet<TimerTask>,
    next_seq: u64,
    next_token: u64,
}

impl Inner {
    /// The key of the activity task `locked` holds, if the claim is still valid and the
    /// task still queued.
    fn claimed(&self, locked: &LockedActivity) -> Result<(String, TaskId), StoreError> {
        let key = (locked.task.instance.clone(), locked.task.task);
        if self.activity_leases.get(&key) != Some(&locked.lease)
            || !self.activities.contains_key(&key)
        {
            return Err(StoreError::LeaseLost);
        }
        Ok(key)
    }

    fn lease(&mut self, now: Millis, duration: Duration) -> Lease {
        self.next_token += 1;
        Lease {
            token: self.next_token,
            expires: now + duration.as_millis() as Millis,
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
}

impl Store for MemoryStore {
    async fn create(&self, record: InstanceRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.instances.contains_key(&record.id) {
            return Err(StoreError::AlreadyExists(record.id));
        }
        let id = record.id.clone();
        inner.instances.insert(id.clone(), record);
        inner.enqueue(&id, Message::Start);
        Ok(())
    }

    async fn list(
        &self,
        filter: &InstanceFilter,
        page: &Page,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        let inner = self.lock();
        let mut found: Vec<&InstanceRecord> = inner
            .instances
            .values()
            .filter(|r| page.after.as_ref().is_none_or(|a| r.id > *a) && filter.matches(r))
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found.into_iter().take(page.limit).cloned().collect())
    }

    async fn purge(&self, id: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.instance_leases.contains_key(id) {
            return Ok(false); // a step is running: purge it when it is done
        }
        inner.inbox.remove(id);
        inner.index.forget(id);
        inner.activities.retain(|(i, _), _| i != id);
        inner.activity_leases.retain(|(i, _), _| i != id);
        inner.timers.retain(|t| t.instance != id);
        Ok(inner.instances.remove(id).is_some())
    }

    async fn send(&self, id: &str, message: Message) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if !inner.instances.contains_key(id) {
            return Err(StoreError::NotFound(id.to_owned()));
        }
        inner.enqueue(id, message);
        Ok(())
    }

    async fn instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        Ok(self.lock().instances.get(id).cloned())
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
            let granted = inner.lease(now, lease);
            inner.instance_leases.insert(id, granted.clone());
            return Ok(Some(LockedInstance {
                record,
                messages,
                lease: granted,
                activity: None,
            }));
        }
    }

    async fn commit_step(&self, lease: &Lease, commit: StepCommit) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let id = commit.record.id.clone();
        if inner.instance_leases.get(&id) != Some(lease) {
            if let Some(activity) = &commit.activity {
                // its result is lost with the step: free the call to run again
                let key = (activity.task.instance.clone(), activity.task.task);
                inner.activity_leases.remove(&key);
            }
            return Err(StoreError::LeaseLost);
        }
        if let Some(activity) = &commit.activity {
            let key = (activity.task.instance.clone(), activity.task.task);
            inner.activity_leases.remove(&key);
            inner.activities.remove(&key);
        }
        inner.index.stepped(&commit.record, &commit.consumed);
        if let Some(inbox) = inner.inbox.get_mut(&id) {
            for seq in &commit.consumed {
                inbox.remove(seq);
            }
            if inbox.is_empty() {
                inner.inbox.remove(&id);
            }
        }
        for task in commit.activities {
            inner
                .activities
                .insert((task.instance.clone(), task.task), task);
        }
        inner.timers.extend(commit.timers);
        inner
            .timers
            .retain(|t| !(t.instance == id && commit.cancelled.contains(&t.task)));
        for task in &commit.cancelled {
            let key = (id.clone(), *task);
            inner.activities.remove(&key);
            inner.activity_leases.remove(&key);
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
                inner.instances.insert(child_id.clone(), child);
                inner.enqueue(&child_id, Message::Start);
            }
        }
        inner.instances.insert(id.clone(), commit.record);
        inner.instance_leases.remove(&id);
        Ok(())
    }

    async fn abandon_instance(&self, id: &str, lease: &Lease) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.instance_leases.get(id) == Some(lease) {
            inner.instance_leases.remove(id);
        }
        Ok(())
    }

    async fn lock_activity(&self, lease: Duration) -> Result<Option<LockedActivity>, StoreError> {
        let now = now_millis();
        let mut inner = self.lock();
        let key = inner.activities.iter().find(|(k, task)| {
            task.not_before <= now
                && inner
                    .activity_leases
                    .get(*k)
                    .is_none_or(|l| l.expires <= now)
        });
        let Some(key) = key.map(|(k, _)| k.clone()) else {
            return Ok(None);
        };
        let granted = inner.lease(now, lease);
        inner.activity_leases.insert(key.clone(), granted.clone());
        Ok(Some(LockedActivity {
            task: inner.activities[&key].clone(),
            lease: granted,
        }))
    }

    async fn complete_activity(
        &self,
        locked: &LockedActivity,
        result: TaskResult,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let key = inner.claimed(locked)?;
        inner.activity_leases.remove(&key);
        inner.activities.remove(&key);
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
        let granted = inner.lease(now, lease);
        inner.instance_leases.insert(id.clone(), granted.clone());
        // the call is the step's now: nobody may take it over until it commits
        if let Some(held) = inner.activity_leases.get_mut(&key) {
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
        let mut inner = self.lock();
        let key = inner.claimed(locked)?;
        inner.activity_leases.remove(&key);
        if let Some(task) = inner.activities.get_mut(&key) {
            task.attempt += 1;
            task.not_before = not_before;
        }
        Ok(())
    }

    async fn fire_timers(&self, now: Millis) -> Result<(usize, Option<Millis>), StoreError> {
        let mut inner = self.lock();
        let mut fired = 0;
        while let Some(timer) = inner.timers.first().filter(|t| t.due <= now).cloned() {
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
        Ok((fired, inner.timers.first().map(|t| t.due)))
    }
}
