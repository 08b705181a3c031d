//! A store that says which worker process did what: it prints each step its runtime
//! commits and each activity call it claims, tagged with the worker's number, and
//! passes everything to the store it wraps.

use std::future::Future;
use std::time::Duration;

use durable::store::{
    Committed, InstanceFilter, InstanceRecord, InstanceTasks, Lease, LockedActivity,
    LockedInstance, Message, Millis, Page, PartReader, Purge, StepCommit, Store, StoreError, Work,
};
use durable::TaskResult;

pub struct Tagged<S> {
    inner: S,
    worker: usize,
}

impl<S> Tagged<S> {
    pub fn new(inner: S, worker: usize) -> Self {
        Self { inner, worker }
    }
}

impl<S: Store> Store for Tagged<S> {
    async fn commit_step(
        &self,
        lease: &Lease,
        commit: StepCommit,
    ) -> Result<Committed, StoreError> {
        let record = &commit.record;
        let line = format!(
            "[worker {}] step of {:<14} -> {:?}",
            self.worker, record.id, record.status
        );
        let committed = self.inner.commit_step(lease, commit).await?;
        println!("{line}");
        Ok(committed)
    }

    async fn lock_activity(&self, lease: Duration) -> Result<Option<LockedActivity>, StoreError> {
        let locked = self.inner.lock_activity(lease).await?;
        if let Some(locked) = &locked {
            let task = &locked.task;
            println!(
                "[worker {}] activity {} for {} (call {})",
                self.worker, task.name, task.instance, task.task.0
            );
        }
        Ok(locked)
    }

    fn work_queued(&self, work: Work) -> impl Future<Output = ()> + Send {
        self.inner.work_queued(work)
    }

    fn watch_end(&self, id: &str) -> Option<durable::store::EndWatch<'_>> {
        self.inner.watch_end(id)
    }

    fn poll_interval(&self) -> Duration {
        self.inner.poll_interval()
    }

    fn part_reader(&self) -> Option<PartReader> {
        self.inner.part_reader()
    }

    fn create(
        &self,
        record: InstanceRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.create(record)
    }

    fn list(
        &self,
        filter: &InstanceFilter,
        page: &Page,
    ) -> impl Future<Output = Result<Vec<InstanceRecord>, StoreError>> + Send {
        self.inner.list(filter, page)
    }

    fn purge(&self, id: &str) -> impl Future<Output = Result<Purge, StoreError>> + Send {
        self.inner.purge(id)
    }

    fn ended_before(
        &self,
        before: Millis,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send {
        self.inner.ended_before(before, limit)
    }

    fn send(
        &self,
        id: &str,
        message: Message,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.send(id, message)
    }

    fn instance(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<InstanceRecord>, StoreError>> + Send {
        self.inner.instance(id)
    }

    fn tasks(&self, id: &str) -> impl Future<Output = Result<InstanceTasks, StoreError>> + Send {
        self.inner.tasks(id)
    }

    fn lock_instance(
        &self,
        lease: Duration,
    ) -> impl Future<Output = Result<Option<LockedInstance>, StoreError>> + Send {
        self.inner.lock_instance(lease)
    }

    fn abandon_instance(
        &self,
        id: &str,
        lease: &Lease,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.abandon_instance(id, lease)
    }

    fn renew_activity(
        &self,
        locked: &LockedActivity,
        lease: Duration,
    ) -> impl Future<Output = Result<Lease, StoreError>> + Send {
        self.inner.renew_activity(locked, lease)
    }

    fn complete_activity(
        &self,
        locked: &LockedActivity,
        result: TaskResult,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.complete_activity(locked, result)
    }

    fn claim_with_result(
        &self,
        locked: &LockedActivity,
        result: &TaskResult,
        lease: Duration,
    ) -> impl Future<Output = Result<Option<LockedInstance>, StoreError>> + Send {
        self.inner.claim_with_result(locked, result, lease)
    }

    fn retry_activity(
        &self,
        locked: &LockedActivity,
        not_before: Millis,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.retry_activity(locked, not_before)
    }

    fn fire_timers(
        &self,
        now: Millis,
    ) -> impl Future<Output = Result<(usize, Option<Millis>), StoreError>> + Send {
        self.inner.fire_timers(now)
    }
}
