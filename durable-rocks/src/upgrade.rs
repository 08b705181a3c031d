//! Upgrading a store written in an earlier format, in place and in one atomic write.

use durable_core::codec;
use durable_core::store::{InstanceRecord, Millis, RuntimeStatus, StoreError};
use durable_core::task::{TaskId, Wake};
use rocksdb::{IteratorMode, WriteBatch};
use serde::Deserialize;
use tracing::info;

use crate::keys::{backend, time_key, BY_CREATED, INSTANCES, META};
use crate::open::{FORMAT, FORMAT_KEY};
use crate::RocksStore;

/// An instance record of format 2, which had no orchestration version.
#[derive(Deserialize)]
struct RecordV2 {
    id: String,
    name: String,
    status: RuntimeStatus,
    input: Vec<u8>,
    output: Option<Vec<u8>>,
    error: Option<String>,
    created: Millis,
    updated: Millis,
    state: Option<Vec<u8>>,
    wake: Option<Wake>,
    next_task: u64,
    event_waits: Vec<(String, TaskId)>,
    events: Vec<(String, Vec<u8>)>,
    parent: Option<(String, TaskId)>,
    custom_status: Option<Vec<u8>>,
}

impl From<RecordV2> for InstanceRecord {
    fn from(r: RecordV2) -> Self {
        InstanceRecord {
            id: r.id,
            name: r.name,
            version: 1,
            status: r.status,
            input: r.input,
            output: r.output,
            error: r.error,
            created: r.created,
            updated: r.updated,
            state: r.state,
            wake: r.wake,
            next_task: r.next_task,
            event_waits: r.event_waits,
            events: r.events,
            parent: r.parent,
            custom_status: r.custom_status,
        }
    }
}

impl RocksStore {
    /// Format 2 to 5 to [`FORMAT`]: from 2, every record gets version 1 (the default
    /// of `#[orchestrator]`); from 2 and 3, every instance gets its entry in the
    /// creation-time index; from all, each record is split into its head and its fields
    /// (`crate::fields`). A record that cannot be decoded is left as it is (its
    /// instance is blocked, as it was). Checkpoints of format 2 are kept; the code of
    /// this version does not resume them (their instances are blocked, with the
    /// reason), the version that wrote them does.
    pub(crate) fn upgrade_from(&self, found: u8) -> Result<(), StoreError> {
        let cf = self.cf(INSTANCES);
        let mut batch = WriteBatch::default();
        let mut upgraded = 0usize;
        for item in self.db.iterator_cf(cf, IteratorMode::Start) {
            let (_, v) = item.map_err(backend)?;
            let decoded = match found {
                2 => codec::decode::<RecordV2>(&v, "instance record").map(InstanceRecord::from),
                _ => codec::decode::<InstanceRecord>(&v, "instance record"),
            };
            let Ok(mut record) = decoded else {
                continue;
            };
            self.put_record(&mut batch, &mut record).map_err(|e| {
                StoreError::Backend(format!("upgrading instance `{}`: {e}", record.id))
            })?;
            if found < 4 {
                batch.put_cf(
                    self.cf(BY_CREATED),
                    time_key(record.created, &record.id),
                    [],
                );
            }
            upgraded += 1;
        }
        batch.put_cf(self.cf(META), FORMAT_KEY, [FORMAT]);
        self.write(batch)?;
        info!(
            upgraded,
            "upgraded the store from format {found} to {FORMAT}"
        );
        Ok(())
    }
}
