//! Reading instances and their messages back, and telling a value that is missing
//! from one that is stored but cannot be decoded.

use std::collections::HashMap;

use durable_core::codec;
use durable_core::store::{descendants_prefix, InstanceRecord, Message, StoreError};
use rocksdb::{Direction, IteratorMode, Snapshot};
use tracing::warn;

use crate::fields::{decode_head, Want};
use crate::keys::{backend, key, INBOX, INSTANCES};
use crate::state::State;
use crate::RocksStore;

/// A stored value, decoded, or why it cannot be.
pub(crate) type Decoded<T> = Result<T, String>;

impl RocksStore {
    /// The record of instance `id`, if one is stored, with the fields `want` names, as
    /// of `view` if one is given.
    fn record_in(
        &self,
        view: Option<&Snapshot<'_>>,
        id: &str,
        want: Want,
    ) -> Result<Option<Decoded<InstanceRecord>>, StoreError> {
        let Some(bytes) = self.io.get_in(view, INSTANCES, id)? else {
            return Ok(None);
        };
        Ok(Some(match decode_head(&bytes) {
            Err(reason) => Err(reason),
            Ok(head) => self.fill(view, head, want)?,
        }))
    }

    /// The record of instance `id`, if one is stored, with the fields `want` names. For
    /// a claimed instance (no step or purge writes it meanwhile), or for what reads
    /// none of its fields.
    pub(crate) fn record_with(
        &self,
        id: &str,
        want: Want,
    ) -> Result<Option<Decoded<InstanceRecord>>, StoreError> {
        self.record_in(None, id, want)
    }

    /// The whole record of instance `id`, if one is stored: its head and fields as of
    /// one moment, so that a step or a purge committed between reading the two cannot
    /// pair a head with the fields of another step.
    pub(crate) fn record(&self, id: &str) -> Result<Option<Decoded<InstanceRecord>>, StoreError> {
        let view = self.io.view();
        self.record_in(Some(&view), id, Want::All)
    }

    /// The record of instance `id` with the fields `want` names; one that cannot be
    /// decoded is an error naming it.
    pub(crate) fn readable_record(
        &self,
        id: &str,
        want: Want,
    ) -> Result<Option<InstanceRecord>, StoreError> {
        match self.record_with(id, want)? {
            None => Ok(None),
            Some(Ok(record)) => Ok(Some(record)),
            Some(Err(reason)) => Err(StoreError::Backend(format!("instance `{id}`: {reason}"))),
        }
    }

    /// Whether an instance `id` is stored, without decoding it.
    pub(crate) fn exists(&self, id: &str) -> Result<bool, StoreError> {
        self.io.contains(INSTANCES, id)
    }

    /// The queued messages `seqs` of instance `id`, read by key: scanning the inbox by
    /// prefix would step over the tombstones of every message consumed so far, which
    /// makes a step cost grow with the instance's history until RocksDB compacts.
    pub(crate) fn messages(
        &self,
        id: &str,
        seqs: &[u64],
    ) -> Result<Decoded<Vec<(u64, Message)>>, StoreError> {
        let keys: Vec<Vec<u8>> = seqs.iter().map(|seq| key(id, *seq)).collect();
        let values = self.io.get_each(None, INBOX, &keys)?;
        let mut out = Vec::with_capacity(seqs.len());
        for (seq, value) in seqs.iter().zip(values) {
            if let Some(bytes) = value {
                match codec::decode(&bytes, "message") {
                    Ok(message) => out.push((*seq, message)),
                    Err(e) => return Ok(Err(unreadable_message(*seq, e))),
                }
            }
        }
        Ok(Ok(out))
    }

    /// The ids of `id`'s descendants, read from the instances' key order.
    pub(crate) fn descendants(
        &self,
        id: &str,
    ) -> impl Iterator<Item = Result<String, StoreError>> + '_ {
        let prefix = descendants_prefix(id);
        let from = IteratorMode::From(prefix.as_bytes(), Direction::Forward);
        self.db
            .iterator_cf(self.cf(INSTANCES), from)
            .map_while(move |item| match item {
                Ok((k, _)) if k.starts_with(prefix.as_bytes()) => {
                    Some(String::from_utf8(k.to_vec()).map_err(backend))
                }
                Ok(_) => None,
                Err(e) => Some(Err(backend(e))),
            })
    }
}

pub(crate) fn unreadable_message(seq: u64, e: impl std::fmt::Display) -> String {
    format!("inbox message {seq} cannot be decoded ({e}); it is kept")
}

impl RocksStore {
    /// Stops stepping instance `id`, which cannot be stepped as stored, and says so
    /// once; everything stored for it is kept.
    pub(crate) fn quarantine(&self, state: &mut State, id: &str, reason: String) {
        let mut blocked = self.blocked_mut();
        if !blocked.contains_key(id) {
            warn!(
                instance = id,
                "{reason}: the instance is blocked (its data is kept; purge it or repair it), \
                 and the others go on"
            );
            blocked.insert(id.to_owned(), reason);
        }
        state.inbox.forget(id);
    }
}

/// What the store shows of instance `id`, stored as `stored`: the record, or a blocked
/// one when the record or one of its messages cannot be decoded.
pub(crate) fn shown(
    id: &str,
    stored: Decoded<InstanceRecord>,
    blocked: &HashMap<String, String>,
) -> InstanceRecord {
    match (stored, blocked.get(id)) {
        (Ok(record), None) => record,
        (Ok(record), Some(reason)) => {
            InstanceRecord::blocked(id.to_owned(), Some(record), reason.clone())
        }
        (Err(reason), _) => InstanceRecord::blocked(id.to_owned(), None, reason),
    }
}
