//! Opening a store: RocksDB's options, the column families, and the in-memory state
//! rebuilt from them.

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use durable_core::store::StoreError;
use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, DB};

use crate::io::Io;
use crate::keys::{backend, FAMILIES, META};
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
    /// process has it open, or if it was written in another format (see [`FORMAT`]). A
    /// stored value that cannot be decoded does not fail the open: its instance is
    /// blocked (see [`durable_core::RuntimeStatus::Blocked`]).
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
        let existing = DB::list_cf(&opts, path).unwrap_or_default();
        if !existing.is_empty() && !existing.iter().any(|cf| cf == META) {
            // written before the format was recorded: refuse before any family is added
            return Err(wrong_format(path, 1));
        }
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
        let db = Arc::new(db);
        let store = Self {
            io: Arc::new(Io::new(db.clone(), durability == Durability::PowerLoss)),
            db,
            durability,
            state: Mutex::new(State::default()),
            blocked: RwLock::default(),
        };
        store.check_format(path)?;
        store.rebuild()?;
        Ok(store)
    }

    /// Refuses a store written in a format it cannot read, before anything of it is
    /// read; upgrades one of format 2 to 5; marks a new one with [`FORMAT`].
    fn check_format(&self, path: &Path) -> Result<(), StoreError> {
        let meta = self.cf(META);
        match self
            .db
            .get_cf(meta, FORMAT_KEY)
            .map_err(backend)?
            .as_deref()
        {
            Some(&[FORMAT]) => Ok(()),
            Some(&[found @ 2..=5]) => self.upgrade_from(found),
            Some(&[found]) => Err(wrong_format(path, found)),
            Some(_) => Err(wrong_format(path, 0)),
            None => {
                let mut batch = WriteBatch::default();
                batch.put_cf(meta, FORMAT_KEY, [FORMAT]);
                self.write(batch)
            }
        }
    }
}

fn wrong_format(path: &Path, found: u8) -> StoreError {
    let why = if found < FORMAT {
        "format 2 added payload type tags and the status, name and ended indexes, which \
         cannot be added to an older store"
    } else {
        "it was written by a newer version"
    };
    StoreError::Backend(format!(
        "{} holds a store in format {found}, and this version of durable reads formats 2 \
         to 5 (upgrading them in place) and {FORMAT} only ({why}); nothing in it was read or \
         changed. Finish or purge its \
         instances with the version that wrote it, or move it away to start a new store",
        path.display()
    ))
}

/// The on-disk format this version reads and writes, recorded in the store on creation.
/// 2: payloads start with their type tag; instances are indexed by status, name and end.
/// 3: records hold their orchestration's version.
/// 4: instances are indexed by creation time.
/// 5: instances keep parts of their state beside their checkpoints (`parts`).
/// 6: a record's input, output, buffered events and custom status are kept under keys
///    of their own (`fields`), each written when it changes.
/// A store of format 2 to 5 is upgraded when opened.
pub const FORMAT: u8 = 6;

pub(crate) const FORMAT_KEY: &[u8] = b"format";
