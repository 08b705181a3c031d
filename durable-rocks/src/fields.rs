//! An instance's record as stored: its head in `instances` (status, checkpoint, what it
//! waits for), and its input, output, buffered events and custom status under keys of
//! their own in `fields`. These four may be large (a payload each, and up to 1,024
//! buffered events) and a step rarely changes them, so a step writes the head and only
//! the fields it changed ([`Changed`]), and a claim reads only the fields a step reads.

use durable_core::codec;
use durable_core::store::{Changed, InstanceRecord, StoreError};
use rocksdb::{Snapshot, WriteBatch};
use serde::{Deserialize, Serialize};

use crate::keys::{encode, instance_range, key, FIELDS, INSTANCES};
use crate::records::Decoded;
use crate::RocksStore;

/// A field kept apart from the head: its number in the instance's `fields` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Input = 0,
    Output = 1,
    Events = 2,
    CustomStatus = 3,
}

impl Field {
    const ALL: [Field; 4] = [
        Field::Input,
        Field::Output,
        Field::Events,
        Field::CustomStatus,
    ];

    fn key(self, id: &str) -> Vec<u8> {
        key(id, self as u64)
    }
}

/// Which fields a read fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// All of them: what clients see.
    All,
    /// What a step reads: the input if the instance has not started, and its buffered
    /// events ([`durable_core::store::Store::lock_instance`]).
    Step,
    /// The buffered events only: what a raise checks against the bound.
    Events,
    /// None: the head alone, for its status and indexes.
    Head,
}

/// What `instances` holds for an instance: its record with the four fields left empty,
/// and how many events it buffers, so that a claim reads them only if there are any.
#[derive(Debug, Deserialize)]
pub(crate) struct Head {
    record: InstanceRecord,
    events: u32,
}

#[derive(Serialize)]
struct HeadRef<'a> {
    record: &'a InstanceRecord,
    events: u32,
}

/// The four fields, taken out of a record while its head is encoded.
#[derive(Default)]
struct Taken {
    input: Vec<u8>,
    output: Option<Vec<u8>>,
    events: Vec<(String, Vec<u8>)>,
    custom_status: Option<Vec<u8>>,
}

impl Taken {
    fn from(record: &mut InstanceRecord) -> Self {
        Taken {
            input: std::mem::take(&mut record.input),
            output: record.output.take(),
            events: std::mem::take(&mut record.events),
            custom_status: record.custom_status.take(),
        }
    }

    fn restore(self, record: &mut InstanceRecord) {
        record.input = self.input;
        record.output = self.output;
        record.events = self.events;
        record.custom_status = self.custom_status;
    }
}

/// The encoded head of `record` (left as it was).
fn head(record: &mut InstanceRecord) -> Result<Vec<u8>, StoreError> {
    let taken = Taken::from(record);
    let events = u32::try_from(taken.events.len()).unwrap_or(u32::MAX);
    let encoded = encode(&HeadRef { record, events }, "instance record");
    taken.restore(record);
    encoded
}

pub(crate) fn decode_head(bytes: &[u8]) -> Decoded<Head> {
    codec::decode(bytes, "instance record")
        .map_err(|e| format!("its stored record cannot be decoded ({e}); the bytes are kept"))
}

impl RocksStore {
    /// Adds to `batch` the whole of `record`: a new instance, or one upgraded.
    pub(crate) fn put_record(
        &self,
        batch: &mut WriteBatch,
        record: &mut InstanceRecord,
    ) -> Result<(), StoreError> {
        let everything = Changed {
            output: true,
            events: true,
            custom_status: true,
        };
        self.put_head_and(batch, record, everything)?;
        batch.put_cf(self.cf(FIELDS), Field::Input.key(&record.id), &record.input);
        Ok(())
    }

    /// Adds to `batch` the head of `record` and the fields `changed` names; the input
    /// never changes after creation.
    pub(crate) fn put_head_and(
        &self,
        batch: &mut WriteBatch,
        record: &mut InstanceRecord,
        changed: Changed,
    ) -> Result<(), StoreError> {
        let encoded = head(record)?;
        let id = &record.id;
        batch.put_cf(self.cf(INSTANCES), id, encoded);
        let cf = self.cf(FIELDS);
        if changed.output {
            match &record.output {
                Some(output) => batch.put_cf(cf, Field::Output.key(id), output),
                None => batch.delete_cf(cf, Field::Output.key(id)),
            }
        }
        if changed.events {
            match record.events.is_empty() {
                true => batch.delete_cf(cf, Field::Events.key(id)),
                false => batch.put_cf(
                    cf,
                    Field::Events.key(id),
                    encode(&record.events, "buffered events")?,
                ),
            }
        }
        if changed.custom_status {
            match &record.custom_status {
                Some(status) => batch.put_cf(cf, Field::CustomStatus.key(id), status),
                None => batch.delete_cf(cf, Field::CustomStatus.key(id)),
            }
        }
        Ok(())
    }

    /// Adds to `batch` the deletion of every field of instance `id`.
    pub(crate) fn delete_fields(&self, batch: &mut WriteBatch, id: &str) {
        let (from, to) = instance_range(id);
        batch.delete_range_cf(self.cf(FIELDS), from, to);
    }

    /// The record of `head`, with the fields `want` names read back as of `view` (the
    /// one `head` was read in) if one is given.
    pub(crate) fn fill(
        &self,
        view: Option<&Snapshot<'_>>,
        head: Head,
        want: Want,
    ) -> Result<Decoded<InstanceRecord>, StoreError> {
        let Head { mut record, events } = head;
        let wanted: Vec<Field> = Field::ALL
            .into_iter()
            .filter(|field| match (want, field) {
                (Want::All, _) => true,
                (Want::Step, Field::Input) => record.state.is_none(),
                (Want::Step | Want::Events, Field::Events) => events > 0,
                _ => false,
            })
            .collect();
        if wanted.is_empty() {
            return Ok(Ok(record));
        }
        let keys: Vec<Vec<u8>> = wanted.iter().map(|field| field.key(&record.id)).collect();
        let values = self.io.get_each(view, FIELDS, &keys)?;
        for (field, value) in wanted.into_iter().zip(values) {
            let Some(bytes) = value else {
                continue;
            };
            match field {
                Field::Input => record.input = bytes,
                Field::Output => record.output = Some(bytes),
                Field::CustomStatus => record.custom_status = Some(bytes),
                Field::Events => match codec::decode(&bytes, "buffered events") {
                    Ok(events) => record.events = events,
                    Err(e) => {
                        return Ok(Err(format!(
                            "its buffered events cannot be decoded ({e}); the bytes are kept"
                        )))
                    }
                },
            }
        }
        Ok(Ok(record))
    }
}
