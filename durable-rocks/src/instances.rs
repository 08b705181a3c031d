//! What clients do to instances: create, read, list, message and purge them.

use std::collections::HashMap;

use durable_core::store::{
    admit_event, now_millis, InstanceFilter, InstanceRecord, Message, Page, Purge, StoreError,
};
use rocksdb::{Direction, IteratorMode, WriteBatch};

use crate::keys::{
    backend, encode, instance_range, key, timer_key, ACTIVITIES, INBOX, INSTANCES, TIMERS,
};
use crate::records::{decode_record, shown};
use crate::RocksStore;

impl RocksStore {
    pub(crate) fn create_instance(&self, record: InstanceRecord) -> Result<(), StoreError> {
        let mut state = self.lock();
        if self.exists(&record.id)? {
            return Err(StoreError::AlreadyExists(record.id));
        }
        state.next_seq += 1;
        let seq = state.next_seq;
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(INSTANCES),
            &record.id,
            encode(&record, "instance record")?,
        );
        batch.put_cf(
            self.cf(INBOX),
            key(&record.id, seq),
            encode(&Message::Start, "message")?,
        );
        self.write(batch)?;
        state.inbox.arrived(&record.id, seq, &Message::Start);
        Ok(())
    }

    pub(crate) fn read_instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        let Some(stored) = self.record(id)? else {
            return Ok(None);
        };
        Ok(Some(shown(id, stored, &self.lock())))
    }

    /// Instances in id order; one that cannot be decoded is listed as blocked.
    pub(crate) fn list_instances(
        &self,
        filter: &InstanceFilter,
        page: &Page,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        let quarantined: HashMap<String, String> = self.lock().quarantined.clone();
        let mode = match &page.after {
            Some(after) => IteratorMode::From(after.as_bytes(), Direction::Forward),
            None => IteratorMode::Start,
        };
        let mut found = Vec::new();
        for item in self.db.iterator_cf(self.cf(INSTANCES), mode) {
            if found.len() >= page.limit {
                break;
            }
            let (k, v) = item.map_err(backend)?;
            if page.after.as_ref().is_some_and(|a| a.as_bytes() == &*k) {
                continue;
            }
            let id = String::from_utf8_lossy(&k);
            let record = match (decode_record(&v), quarantined.get(&*id)) {
                (Ok(record), None) => record,
                (Ok(record), Some(reason)) => {
                    InstanceRecord::blocked(id.into_owned(), Some(record), reason.clone())
                }
                (Err(reason), _) => InstanceRecord::blocked(id.into_owned(), None, reason),
            };
            if filter.matches(&record) {
                found.push(record);
            }
        }
        Ok(found)
    }

    /// Deletes `id` and its descendants. The state's lock is held from the check to the
    /// write, which keeps steps (they need a claim) and creations out meanwhile.
    pub(crate) fn purge_tree(&self, id: &str) -> Result<Purge, StoreError> {
        let now = now_millis();
        let mut state = self.lock();
        let Some(stored) = self.record(id)? else {
            return Ok(Purge::NotFound);
        };
        let status = shown(id, stored, &state).status;
        if !status.is_purgeable() {
            return Ok(Purge::NotEnded(status));
        }
        let tree: Vec<String> = std::iter::once(Ok(id.to_owned()))
            .chain(self.descendants(id))
            .collect::<Result<_, _>>()?;
        let stepping = |i: &String| {
            state
                .instance_leases
                .get(i)
                .is_some_and(|l| l.expires > now)
        };
        if tree.iter().any(stepping) {
            return Ok(Purge::Busy);
        }
        let mut batch = WriteBatch::default();
        let mut timers = Vec::new();
        for i in &tree {
            batch.delete_cf(self.cf(INSTANCES), i);
            // by range: messages and calls that could not be decoded are not indexed
            let (from, to) = instance_range(i);
            batch.delete_range_cf(self.cf(INBOX), &from, &to);
            batch.delete_range_cf(self.cf(ACTIVITIES), &from, &to);
            for timer in state.timers.of_instance(i) {
                batch.delete_cf(self.cf(TIMERS), timer_key(&timer));
                timers.push(timer);
            }
        }
        self.write(batch)?;
        for i in &tree {
            state.inbox.forget(i);
            state.instance_leases.remove(i);
            state.quarantined.remove(i);
            for k in state.calls.of_instance(i) {
                state.calls.remove(&k);
            }
        }
        for timer in timers {
            state.timers.remove(&timer);
        }
        Ok(Purge::Deleted {
            descendants: tree.len() - 1,
        })
    }

    pub(crate) fn queue(&self, id: &str, message: Message) -> Result<(), StoreError> {
        let mut state = self.lock();
        let Some(record) = self.readable_record(id)? else {
            return Err(StoreError::NotFound(id.to_owned()));
        };
        if matches!(message, Message::Event { .. }) {
            admit_event(id, state.inbox.untaken_events(&record))?;
        }
        state.next_seq += 1;
        let seq = state.next_seq;
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(INBOX), key(id, seq), encode(&message, "message")?);
        self.write(batch)?;
        if !state.quarantined.contains_key(id) {
            state.inbox.arrived(id, seq, &message);
        }
        Ok(())
    }
}
