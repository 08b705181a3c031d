//! [`RocksStore`]: the durable-core [`Store`] on an embedded RocksDB, the default store.
//!
//! Every step is one `WriteBatch` (`commit`). What is stored, and under which keys, is
//! in `keys`; a record is its head and the fields a step rarely changes, each written
//! when it changes (`fields`). What is kept in memory beside it so that claiming work
//! does not scan the database (queued messages, calls and timers, and leases, since
//! RocksDB allows one process per directory) is in `state`, rebuilt on open by
//! `recovery`. Its lock is held for that bookkeeping: claims and steps read and write
//! RocksDB outside it, and only what must be atomic with it (create, purge, a raise,
//! firing timers) writes under it. A record,
//! message or call that cannot be decoded blocks its own instance only. Calls to RocksDB
//! that would wait on the disk do not stall the async worker they are made on (`io`).

mod claims;
mod commit;
mod fields;
mod instances;
mod io;
mod keys;
mod open;
mod records;
mod recovery;
mod state;
mod upgrade;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use durable_core::store::{
    blocking, Committed, InstanceFilter, InstanceRecord, InstanceTasks, Lease, LockedActivity,
    LockedInstance, Message, Millis, Page, PartReader, Purge, StepCommit, Store, StoreError,
};
use durable_core::TaskResult;
use rocksdb::DB;

pub use open::{Durability, FORMAT};

use state::State;

pub struct RocksStore {
    db: Arc<DB>,
    /// Reads and writes that do not stall the async worker they are made on.
    io: Arc<io::Io>,
    durability: Durability,
    state: Mutex<State>,
    /// Instances whose record or messages cannot be decoded, and why: never claimed,
    /// shown as blocked, kept until purged. Apart from `state`, so that reading an
    /// instance takes no lock that steps contend for.
    blocked: RwLock<HashMap<String, String>>,
}

impl RocksStore {
    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("column families are created on open")
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn blocked(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, String>> {
        self.blocked.read().unwrap_or_else(|p| p.into_inner())
    }

    fn blocked_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, String>> {
        self.blocked.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for RocksStore {
    fn part_reader(&self) -> Option<PartReader> {
        let io = self.io.clone();
        Some(PartReader(Arc::new(move |instance: &str, part: u64| {
            io.get(keys::PARTS, keys::key(instance, part))
        })))
    }

    async fn create(&self, record: InstanceRecord) -> Result<(), StoreError> {
        self.create_instance(record)
    }

    async fn list(
        &self,
        filter: &InstanceFilter,
        page: &Page,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        blocking(|| self.list_instances(filter, page))
    }

    async fn purge(&self, id: &str) -> Result<Purge, StoreError> {
        blocking(|| self.purge_tree(id))
    }

    async fn ended_before(&self, before: Millis, limit: usize) -> Result<Vec<String>, StoreError> {
        blocking(|| self.ended(before, limit))
    }

    async fn send(&self, id: &str, message: Message) -> Result<(), StoreError> {
        self.queue(id, message)
    }

    async fn instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        self.read_instance(id)
    }

    async fn tasks(&self, id: &str) -> Result<InstanceTasks, StoreError> {
        self.instance_tasks(id)
    }

    async fn lock_instance(&self, lease: Duration) -> Result<Option<LockedInstance>, StoreError> {
        self.claim_instance(lease)
    }

    async fn commit_step(
        &self,
        lease: &Lease,
        commit: StepCommit,
    ) -> Result<Committed, StoreError> {
        self.commit(lease, commit).await
    }

    async fn abandon_instance(&self, id: &str, lease: &Lease) -> Result<(), StoreError> {
        self.abandon(id, lease);
        Ok(())
    }

    async fn lock_activity(&self, lease: Duration) -> Result<Option<LockedActivity>, StoreError> {
        self.claim_activity(lease)
    }

    async fn renew_activity(
        &self,
        locked: &LockedActivity,
        lease: Duration,
    ) -> Result<Lease, StoreError> {
        self.renew(locked, lease)
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
        self.claim_for_result(locked, result, lease)
    }

    async fn retry_activity(
        &self,
        locked: &LockedActivity,
        not_before: Millis,
    ) -> Result<(), StoreError> {
        self.retry(locked, not_before)
    }

    async fn fire_timers(&self, now: Millis) -> Result<(usize, Option<Millis>), StoreError> {
        self.fire(now)
    }
}
