//! Calling RocksDB from tokio's workers without stalling them.
//!
//! Nearly every call is answered from memory (the memtables, the block cache) or
//! appends to the write-ahead log in the page cache, in microseconds: sending each to a
//! blocking thread would cost more than the call. So each call is made in place, told
//! not to wait (`ReadTier::BlockCache`: memory only; `no_slowdown`: fail rather than
//! stall behind compaction), and only one that would have waited is made again where
//! waiting is allowed: in `block_in_place` on a multi-threaded runtime, which hands the
//! worker's other tasks to another thread meanwhile. Scans that may read much (`list`,
//! purge's descendants, retention) run there from the start.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use durable_core::store::blocking;
use durable_core::store::StoreError;
use rocksdb::{ErrorKind, ReadOptions, ReadTier, Snapshot, WriteBatch, WriteOptions, DB};

use crate::keys::backend;

/// The database, and how to call it without stalling the caller's worker.
pub(crate) struct Io {
    db: Arc<DB>,
    /// Reads from memory only.
    cached: ReadOptions,
    /// Writes that fail rather than wait, and writes that may wait.
    no_wait: WriteOptions,
    wait: WriteOptions,
    /// Every write is fsync'd: it waits on the disk, always where waiting is allowed.
    sync: bool,
    /// How many calls had to wait.
    waited: AtomicU64,
}

impl Io {
    pub(crate) fn new(db: Arc<DB>, sync: bool) -> Self {
        let mut cached = ReadOptions::default();
        cached.set_read_tier(ReadTier::BlockCache);
        let mut no_wait = WriteOptions::default();
        no_wait.set_sync(sync);
        no_wait.set_no_slowdown(true);
        let mut wait = WriteOptions::default();
        wait.set_sync(sync);
        Io {
            db,
            cached,
            no_wait,
            wait,
            sync,
            waited: AtomicU64::new(0),
        }
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StoreError::Backend(format!("no column family `{name}`")))
    }

    /// Runs `in_place` (told not to wait); if RocksDB says it would have had to,
    /// runs `waiting` where waiting is allowed.
    fn in_place_or_wait<T>(
        &self,
        in_place: impl FnOnce() -> Result<T, rocksdb::Error>,
        waiting: impl FnOnce() -> Result<T, rocksdb::Error>,
    ) -> Result<T, StoreError> {
        match in_place() {
            Err(e) if e.kind() == ErrorKind::Incomplete => {
                self.waited.fetch_add(1, Ordering::Relaxed);
                blocking(waiting).map_err(backend)
            }
            done => done.map_err(backend),
        }
    }

    /// The value under `key` in column family `cf`.
    pub(crate) fn get(
        &self,
        cf: &str,
        key: impl AsRef<[u8]>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let cf = self.cf(cf)?;
        self.in_place_or_wait(
            || self.db.get_cf_opt(cf, &key, &self.cached),
            || self.db.get_cf(cf, &key),
        )
    }

    /// A view of the database as of now: reads through it all see that moment.
    pub(crate) fn view(&self) -> Snapshot<'_> {
        self.db.snapshot()
    }

    /// The value under `key` in column family `cf`, as of `view` if one is given.
    pub(crate) fn get_in(
        &self,
        view: Option<&Snapshot<'_>>,
        cf: &str,
        key: impl AsRef<[u8]>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(view) = view else {
            return self.get(cf, key);
        };
        let cf = self.cf(cf)?;
        let mut cached = ReadOptions::default();
        cached.set_read_tier(ReadTier::BlockCache);
        self.in_place_or_wait(
            || view.get_cf_opt(cf, &key, cached),
            || view.get_cf_opt(cf, &key, ReadOptions::default()),
        )
    }

    /// Whether a value is stored under `key` in column family `cf`, without copying it.
    pub(crate) fn contains(&self, cf: &str, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        let cf = self.cf(cf)?;
        self.in_place_or_wait(
            || Ok(self.db.get_pinned_cf_opt(cf, &key, &self.cached)?.is_some()),
            || Ok(self.db.get_pinned_cf(cf, &key)?.is_some()),
        )
    }

    /// The values under `keys` in column family `cf`, in order. One `get` each: told to
    /// read from memory only, RocksDB's `MultiGet` answered keys it had not looked up
    /// with empty values rather than "incomplete" (seen in the crash test, on a store
    /// reopened many times).
    pub(crate) fn get_each(
        &self,
        view: Option<&Snapshot<'_>>,
        cf: &str,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        keys.iter().map(|k| self.get_in(view, cf, k)).collect()
    }

    /// Writes `batch` atomically.
    pub(crate) fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        if self.sync {
            return blocking(|| self.db.write_opt(batch, &self.wait)).map_err(backend);
        }
        // the write consumes the batch: keep its bytes for the one that waits
        let again = WriteBatch::from_data(batch.data());
        self.in_place_or_wait(
            || self.db.write_opt(batch, &self.no_wait),
            || self.db.write_opt(again, &self.wait),
        )
    }

    /// How many calls so far would have waited in place, and waited where allowed.
    #[cfg(test)]
    pub(crate) fn waited(&self) -> u64 {
        self.waited.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use durable_core::store::{InstanceRecord, Store};

    use crate::keys::{FIELDS, INSTANCES};
    use crate::RocksStore;

    /// A record flushed to a table file, in a store opened again, is not in memory:
    /// reading it in place would wait on the disk, so the read is made again where it
    /// may wait, and the record is read back, the fields it does not have included
    /// (RocksDB's `MultiGet` answered those with empty values from memory only). Read
    /// again, it comes from the block cache, in place.
    async fn a_read_from_disk_waits_where_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let store = RocksStore::open(dir.path()).unwrap();
        let record = InstanceRecord::new("r".into(), "o", 1, vec![7; 1000], None);
        // in table files of their own, as a store opened again and again has them
        for id in ["q", "r", "s"] {
            let record = InstanceRecord {
                id: id.into(),
                ..record.clone()
            };
            store.create(record).await.unwrap();
            for family in [INSTANCES, FIELDS] {
                store.db.flush_cf(store.cf(family)).unwrap();
            }
        }
        drop(store);
        let store = RocksStore::open(dir.path()).unwrap();
        let before = store.io.waited();
        assert_eq!(store.instance("r").await.unwrap(), Some(record.clone()));
        let waited = store.io.waited();
        assert!(waited > before, "read from the disk");
        assert_eq!(store.instance("r").await.unwrap(), Some(record));
        assert_eq!(store.io.waited(), waited, "then from memory");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_a_multi_threaded_runtime() {
        a_read_from_disk_waits_where_allowed().await;
    }

    #[tokio::test]
    async fn on_a_current_thread_runtime() {
        a_read_from_disk_waits_where_allowed().await;
    }
}
