//! A store that counts how often its instances are read, and passes everything to the
//! store it wraps: what a test of how much a client reads looks at.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable::store::{
    Committed, InstanceFilter, InstanceRecord, InstanceTasks, Lease, LockedActivity,
    LockedInstance, Message, Millis, Page, PartReader, Purge, StepCommit, Store, StoreError, Work,
};
use durable::TaskResult;

pub struct Counting<S> {
    inner: S,
    reads: Arc<AtomicUsize>,
}

impl<S> Counting<S> {
    /// `inner`, and the count of its reads of an instance ([`Store::instance`]).
    pub fn new(inner: S) -> (Self, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let counting = Self {
            inner,
            reads: reads.clone(),
        };
        (counting, reads)
    }
}

impl<S: Store> Store for Counting<S> {
    fn instance(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<InstanceRecord>, StoreError>> + Send {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.instance(id)
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

    fn tasks(&self, id: &str) -> impl Future<Output = Result<InstanceTasks, StoreError>> + Send {
        self.inner.tasks(id)
    }

    fn lock_instance(
        &self,
        lease: Duration,
    ) -> impl Future<Output = Result<Option<LockedInstance>, StoreError>> + Send {
        self.inner.lock_instance(lease)
    }

    fn commit_step(
        &self,
        lease: &Lease,
        commit: StepCommit,
    ) -> impl Future<Output = Result<Committed, StoreError>> + Send {
        self.inner.commit_step(lease, commit)
    }

    fn abandon_instance(
        &self,
        id: &str,
        lease: &Lease,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.abandon_instance(id, lease)
    }

    fn lock_activity(
        &self,
        lease: Duration,
    ) -> impl Future<Output = Result<Option<LockedActivity>, StoreError>> + Send {
        self.inner.lock_activity(lease)
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
