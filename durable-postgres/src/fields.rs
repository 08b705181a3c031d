//! An instance's input, output, buffered events and custom status, kept in columns of
//! their own beside its head (`record`): a step writes the head and only the fields it
//! changed ([`Changed`](durable_core::store::Changed)), and a claim reads the input only
//! before the instance starts. A row written before schema version 3 keeps its whole
//! record in `record` (`apart` is false) until a step writes it again.

use durable_core::codec;
use durable_core::store::{InstanceRecord, StoreError};
use tokio_postgres::Row;

use crate::sql;

/// The columns a row is read back from, every field included.
pub(crate) const ALL: &str = "apart, input, output, events, custom_status";

/// The columns a step reads: not the output or custom status, and the input only
/// before the instance starts. A macro, so that a claim's statement stays one literal.
macro_rules! for_step {
    () => {
        "apart, CASE WHEN started THEN NULL ELSE input END AS input, \
         NULL::bytea AS output, events, NULL::bytea AS custom_status"
    };
}
pub(crate) use for_step;

/// The buffered events only: what a raise checks against the bound.
pub(crate) const FOR_EVENTS: &str = "apart, NULL::bytea AS input, NULL::bytea AS output, \
     events, NULL::bytea AS custom_status";

/// The head only (status, name, what it waits for).
pub(crate) const HEAD: &str = "apart, NULL::bytea AS input, NULL::bytea AS output, \
     NULL::bytea AS events, NULL::bytea AS custom_status";

/// The encoded head of `record`: the record without the four fields.
pub(crate) fn head(record: &InstanceRecord) -> Result<Vec<u8>, StoreError> {
    let head = InstanceRecord {
        input: Vec::new(),
        output: None,
        events: Vec::new(),
        custom_status: None,
        ..clone_head(record)
    };
    codec::encode(&head, "instance record").map_err(sql::codec)
}

fn clone_head(record: &InstanceRecord) -> InstanceRecord {
    InstanceRecord {
        id: record.id.clone(),
        name: record.name.clone(),
        version: record.version,
        status: record.status,
        input: Vec::new(),
        output: None,
        error: record.error.clone(),
        created: record.created,
        updated: record.updated,
        state: record.state.clone(),
        wake: record.wake.clone(),
        next_task: record.next_task,
        event_waits: record.event_waits.clone(),
        events: Vec::new(),
        parent: record.parent.clone(),
        custom_status: None,
    }
}

/// The `events` column of `record`: null when none are buffered.
pub(crate) fn events(record: &InstanceRecord) -> Result<Option<Vec<u8>>, StoreError> {
    if record.events.is_empty() {
        return Ok(None);
    }
    let encoded = codec::encode(&record.events, "buffered events").map_err(sql::codec)?;
    Ok(Some(encoded))
}

/// The record stored in `row` (its `record` column, and those of [`ALL`]), or why it
/// cannot be decoded.
pub(crate) fn assemble(row: &Row) -> Result<InstanceRecord, String> {
    let bytes: &[u8] = row.get("record");
    let mut record: InstanceRecord = codec::decode(bytes, "instance record")
        .map_err(|e| format!("its stored record cannot be decoded ({e}); the bytes are kept"))?;
    if !row.get::<_, bool>("apart") {
        return Ok(record);
    }
    if let Some(input) = row.get::<_, Option<Vec<u8>>>("input") {
        record.input = input;
    }
    record.output = row.get("output");
    record.custom_status = row.get("custom_status");
    if let Some(events) = row.get::<_, Option<&[u8]>>("events") {
        record.events = codec::decode(events, "buffered events").map_err(|e| {
            format!("its buffered events cannot be decoded ({e}); the bytes are kept")
        })?;
    }
    Ok(record)
}
