//! The on-disk layout: one column family per kind of record, and the keys in each.
//!
//! - `instances`: instance id -> the head of its
//!   [`InstanceRecord`](durable_core::store::InstanceRecord) (the checkpoint replaces
//!   itself); ids sort so that an instance's sub-orchestrations (`id:task`) follow it;
//! - `fields`: instance id, 0, field number (big-endian) -> its input, output, buffered
//!   events or custom status, each written when it changes (`crate::fields`);
//! - `inbox`: instance id, 0, sequence (big-endian) -> [`Message`](durable_core::store::Message);
//! - `activities`: instance id, 0, task id (big-endian) ->
//!   [`ActivityTask`](durable_core::store::ActivityTask);
//! - `timers`: due time (big-endian), instance id, 0, task id (big-endian) -> `()`, so
//!   timers sort by due time and the key is the whole timer.
//!
//! - `by_status`: status (one byte), instance id -> `()`;
//! - `by_name`: orchestration name, 0, instance id -> `()`;
//! - `by_created`: when it was created (big-endian), instance id -> `()`;
//! - `ended`: when it ended (big-endian), instance id -> `()`, for ended instances:
//!   the indexes that `list` and retention read, so neither scans every instance;
//! - `parts`: instance id, 0, key (big-endian) -> a part of its state kept beside its
//!   checkpoint (a long loop's items, each written once);
//! - `meta`: `format` -> the on-disk format ([`crate::FORMAT`]).
//!
//! The 0 after the id ends it: user ids are UTF-8 without NUL in practice, and a range
//! from `id 0` to `id 1` holds exactly that instance's keys.

use durable_core::codec;
use durable_core::store::{InstanceRecord, Millis, RuntimeStatus, StoreError, TimerTask};
use durable_core::TaskId;

pub(crate) const INSTANCES: &str = "instances";
pub(crate) const INBOX: &str = "inbox";
pub(crate) const ACTIVITIES: &str = "activities";
pub(crate) const TIMERS: &str = "timers";
pub(crate) const BY_STATUS: &str = "by_status";
pub(crate) const BY_NAME: &str = "by_name";
pub(crate) const BY_CREATED: &str = "by_created";
pub(crate) const ENDED: &str = "ended";
pub(crate) const PARTS: &str = "parts";
pub(crate) const FIELDS: &str = "fields";
pub(crate) const META: &str = "meta";

/// Every column family, created on open.
pub(crate) const FAMILIES: [&str; 11] = [
    INSTANCES, FIELDS, INBOX, ACTIVITIES, TIMERS, BY_STATUS, BY_NAME, BY_CREATED, ENDED, PARTS,
    META,
];

/// The key of `id` in the status index.
pub(crate) fn status_key(status: RuntimeStatus, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(id.len() + 1);
    k.push(status.code());
    k.extend_from_slice(id.as_bytes());
    k
}

/// The key of `id` in the name index; `name_key(name, "")` starts the name's range.
pub(crate) fn name_key(name: &str, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + id.len() + 1);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

/// The key of `id` at time `at` in a time index: when it was created or ended.
pub(crate) fn time_key(at: Millis, id: &str) -> Vec<u8> {
    let mut k = at.to_be_bytes().to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

pub(crate) fn split_time_key(k: &[u8]) -> Option<(Millis, String)> {
    let (at, id) = k.split_first_chunk::<8>()?;
    Some((
        Millis::from_be_bytes(*at),
        String::from_utf8(id.to_vec()).ok()?,
    ))
}

/// The index entries of `record`: (column family, key).
pub(crate) fn index_entries(record: &InstanceRecord) -> Vec<(&'static str, Vec<u8>)> {
    let mut entries = vec![
        (BY_STATUS, status_key(record.status, &record.id)),
        (BY_NAME, name_key(&record.name, &record.id)),
        (BY_CREATED, time_key(record.created, &record.id)),
    ];
    if record.status.is_terminal() {
        entries.push((ENDED, time_key(record.updated, &record.id)));
    }
    entries
}

/// The key of entry `n` (a sequence number or task id) of `instance`.
pub(crate) fn key(instance: &str, n: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(instance.len() + 9);
    k.extend_from_slice(instance.as_bytes());
    k.push(0);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// The keys of every entry of `instance`, from the first (inclusive) to the second
/// (exclusive): for a range delete.
pub(crate) fn instance_range(instance: &str) -> (Vec<u8>, Vec<u8>) {
    let mut from = instance.as_bytes().to_vec();
    let mut to = from.clone();
    from.push(0);
    to.push(1);
    (from, to)
}

pub(crate) fn split_key(k: &[u8]) -> Option<(String, u64)> {
    let (id, n) = k.split_at(k.len().checked_sub(9)?);
    let n = n.strip_prefix(&[0])?;
    Some((
        String::from_utf8(id.to_vec()).ok()?,
        u64::from_be_bytes(n.try_into().ok()?),
    ))
}

pub(crate) fn timer_key(timer: &TimerTask) -> Vec<u8> {
    let mut k = timer.due.to_be_bytes().to_vec();
    k.extend(key(&timer.instance, timer.task.0));
    k
}

pub(crate) fn split_timer_key(k: &[u8]) -> Option<TimerTask> {
    let due = u64::from_be_bytes(k.get(..8)?.try_into().ok()?);
    let (instance, task) = split_key(&k[8..])?;
    Some(TimerTask {
        due,
        instance,
        task: TaskId(task),
    })
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(crate) fn encode<T: serde::Serialize>(
    value: &T,
    what: &'static str,
) -> Result<Vec<u8>, StoreError> {
    codec::encode(value, what).map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_sort_by_instance_then_number() {
        for (id, n) in [("a", 0), ("order-7", u64::MAX), ("p:3:1", 256), ("", 9)] {
            assert_eq!(split_key(&key(id, n)), Some((id.to_owned(), n)));
        }
        assert!(key("a", 2) < key("a", 256));
        assert!(
            key("a", u64::MAX) < key("a:0", 0),
            "a parent's keys before its child's"
        );
        assert_eq!(split_key(b"short"), None);
    }

    #[test]
    fn an_instance_range_holds_its_keys_and_no_other() {
        let (from, to) = instance_range("p");
        let inside = |k: &[u8]| from.as_slice() <= k && k < to.as_slice();
        assert!(inside(&key("p", 0)) && inside(&key("p", u64::MAX)));
        assert!(!inside(&key("p:1", 0)) && !inside(&key("pa", 0)) && !inside(&key("", 0)));
    }

    #[test]
    fn index_keys_sort_by_status_name_and_end_then_id() {
        assert!(status_key(RuntimeStatus::Pending, "z") < status_key(RuntimeStatus::Running, "a"));
        assert!(status_key(RuntimeStatus::Failed, "a") < status_key(RuntimeStatus::Failed, "b"));
        assert!(
            name_key("chain", "z") < name_key("chaining", "a"),
            "a name ends at its 0"
        );
        assert_eq!(
            split_time_key(&time_key(42, "x:1")),
            Some((42, "x:1".into()))
        );
        assert!(time_key(1, "z") < time_key(2, "a"));
    }

    #[test]
    fn timer_keys_round_trip_and_sort_by_due_time() {
        let timer = |due, instance: &str, task| TimerTask {
            due,
            instance: instance.into(),
            task: TaskId(task),
        };
        let t = timer(1_700_000_000_000, "i", 4);
        assert_eq!(split_timer_key(&timer_key(&t)), Some(t));
        assert!(timer_key(&timer(1, "z", 9)) < timer_key(&timer(2, "a", 0)));
    }
}
