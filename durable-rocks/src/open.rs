//! Opening a store: RocksDB's options, the column families, and the in-memory state
//! rebuilt from them.

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use durable_core::store::StoreError;
use rocksdb::{ColumnFamilyDescriptor, Options, WriteOptions, DB};

use crate::keys::{backend, FAMILIES, INDEXES, INSTANCES};
use crate::state::State;
use crate::RocksStore;

/// The most memory the memtables of all column families take together.
const MEMTABLE_BUDGET: usize = 128 << 20;

/// How hard a commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Written to the WAL without fsync: survives a process crash (the default).
    #[default]
    Process,
    /// fsync'd before the commit returns: survives power loss.
    PowerLoss,
}

impl RocksStore {
    /// Opens (or creates) a store in `path` with the default durability.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Durability::default())
    }

    /// Opens (or creates) a store in `path`. Fails with a clear error if another
    /// process has it open. A stored value that cannot be decoded does not fail the
    /// open: its instance is blocked (see [`durable_core::RuntimeStatus::Blocked`]).
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
        // a store written before the indexes existed gets them built once
        let existing = DB::list_cf(&opts, path).unwrap_or_default();
        let build_indexes = existing.iter().any(|cf| cf == INSTANCES)
            && INDEXES
                .iter()
                .any(|index| !existing.iter().any(|cf| cf == index));
        let cfs = FAMILIES.map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
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
            blocked: RwLock::default(),
        };
        if build_indexes {
            store.build_indexes()?;
        }
        store.rebuild()?;
        Ok(store)
    }
}
