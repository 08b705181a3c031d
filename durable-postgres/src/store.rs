//! The [`Store`] contract, implemented by the modules that hold each part.

use std::future::Future;
use std::time::Duration;

use durable_core::store::{
    Committed, EndWatch, InstanceFilter, InstanceRecord, InstanceTasks, Lease, LockedActivity,
    LockedInstance, Message, Millis, Page, PartReader, Purge, StepCommit, Store, StoreError, Work,
};
use durable_core::TaskResult;

use crate::{PostgresStore, POLL_INTERVAL};

impl Store for PostgresStore {
    fn part_reader(&self) -> Option<PartReader> {
        Some(self.parts.reader())
    }

    fn work_queued(&self, work: Work) -> impl Future<Output = ()> + Send {
        self.wakeups.of(work).notified()
    }

    fn watch_end(&self, id: &str) -> Option<EndWatch<'_>> {
        Some(self.wakeups.ends.watch(id))
    }

    fn poll_interval(&self) -> Duration {
        POLL_INTERVAL
    }

    async fn create(&self, record: InstanceRecord) -> Result<(), StoreError> {
        self.create_instance(record).await
    }

    async fn list(
        &self,
        filter: &InstanceFilter,
        page: &Page,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        self.list_instances(filter, page).await
    }

    async fn purge(&self, id: &str) -> Result<Purge, StoreError> {
        self.purge_tree(id).await
    }

    async fn ended_before(&self, before: Millis, limit: usize) -> Result<Vec<String>, StoreError> {
        self.ended_instances(before, limit).await
    }

    async fn send(&self, id: &str, message: Message) -> Result<(), StoreError> {
        self.send_message(id, message).await
    }

    async fn instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        self.read_instance(id).await
    }

    async fn tasks(&self, id: &str) -> Result<InstanceTasks, StoreError> {
        self.instance_tasks(id).await
    }

    async fn lock_instance(&self, lease: Duration) -> Result<Option<LockedInstance>, StoreError> {
        self.claim_instance(lease).await
    }

    async fn commit_step(
        &self,
        lease: &Lease,
        commit: StepCommit,
    ) -> Result<Committed, StoreError> {
        self.commit(lease, commit).await
    }

    async fn abandon_instance(&self, id: &str, lease: &Lease) -> Result<(), StoreError> {
        self.abandon(id, lease).await
    }

    async fn lock_activity(&self, lease: Duration) -> Result<Option<LockedActivity>, StoreError> {
        self.claim_activity(lease).await
    }

    async fn renew_activity(
        &self,
        locked: &LockedActivity,
        lease: Duration,
    ) -> Result<Lease, StoreError> {
        self.renew(locked, lease).await
    }

    async fn complete_activity(
        &self,
        locked: &LockedActivity,
        result: TaskResult,
    ) -> Result<(), StoreError> {
        self.complete(locked, result).await
    }

    async fn claim_with_result(
        &self,
        locked: &LockedActivity,
        result: &TaskResult,
        lease: Duration,
    ) -> Result<Option<LockedInstance>, StoreError> {
        self.claim_for_result(locked, result, lease).await
    }

    async fn retry_activity(
        &self,
        locked: &LockedActivity,
        not_before: Millis,
    ) -> Result<(), StoreError> {
        self.retry(locked, not_before).await
    }

    async fn fire_timers(&self, now: Millis) -> Result<(usize, Option<Millis>), StoreError> {
        self.fire(now).await
    }
}
