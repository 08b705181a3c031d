//! What clients do to instances: create, read, list, message and purge them.

use std::collections::HashMap;

use durable_core::codec;
use durable_core::store::{
    admit_event, event_names, now_millis, InstanceFilter, InstanceRecord, InstanceTasks, Message,
    Millis, Page, Purge, QueuedActivity, RuntimeStatus, StoreError,
};
use rocksdb::{Direction, IteratorMode, WriteBatch};

use crate::fields::Want;
use crate::keys::{
    backend, encode, index_entries, instance_range, key, name_key, split_time_key, status_key,
    time_key, timer_key, ACTIVITIES, BY_CREATED, BY_NAME, BY_STATUS, ENDED, INBOX, INSTANCES,
    PARTS, TIMERS,
};
use crate::records::shown;
use crate::RocksStore;

impl RocksStore {
    /// The calls and timers `id` has queued: the in-memory indexes say which, the
    /// `activities` family holds what each call runs.
    pub(crate) fn instance_tasks(&self, id: &str) -> Result<InstanceTasks, StoreError> {
        let now = now_millis();
        let (calls, timers) = {
            let state = self.lock();
            let calls = state.calls.of_instance_claimed(id, now);
            (calls, state.timers.of_instance(id))
        };
        let mut activities = Vec::with_capacity(calls.len());
        for ((instance, task), claimed) in calls {
            let bytes = self.io.get(ACTIVITIES, key(&instance, task.0))?;
            // a call that does not decode is quarantined when it is claimed
            if let Some(Ok(task)) = bytes.map(|b| codec::decode(&b, "activity task")) {
                activities.push(QueuedActivity { task, claimed });
            }
        }
        Ok(InstanceTasks { activities, timers })
    }

    pub(crate) fn create_instance(&self, mut record: InstanceRecord) -> Result<(), StoreError> {
        let mut state = self.lock();
        if self.exists(&record.id)? {
            return Err(StoreError::AlreadyExists(record.id));
        }
        state.next_seq += 1;
        let seq = state.next_seq;
        let mut batch = WriteBatch::default();
        self.put_record(&mut batch, &mut record)?;
        batch.put_cf(
            self.cf(INBOX),
            key(&record.id, seq),
            encode(&Message::Start, "message")?,
        );
        for (cf, key) in index_entries(&record) {
            batch.put_cf(self.cf(cf), key, []);
        }
        self.write(batch)?;
        state.inbox.arrived(&record.id, seq, &Message::Start);
        Ok(())
    }

    pub(crate) fn read_instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        let Some(stored) = self.record(id)? else {
            return Ok(None);
        };
        Ok(Some(shown(id, stored, &self.blocked())))
    }

    /// Instances in id order; one that cannot be decoded is listed as blocked. A status
    /// filter reads the status index, one range per status (and, for `Blocked`, the
    /// instances whose record cannot be decoded), and a name filter the name index;
    /// only a list of every instance reads them all.
    pub(crate) fn list_instances(
        &self,
        filter: &InstanceFilter,
        page: &Page,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        if page.limit == 0 {
            return Ok(Vec::new());
        }
        let quarantined: HashMap<String, String> = self.blocked().clone();
        let after = page.after.as_deref();
        let scan = Scan {
            store: self,
            filter,
            limit: page.limit,
            quarantined: &quarantined,
        };
        if !filter.statuses.is_empty() {
            let mut statuses = filter.statuses.clone();
            statuses.sort();
            statuses.dedup();
            let mut found = Vec::new();
            for status in statuses {
                found.extend(scan.index(BY_STATUS, &status_key(status, ""), after)?);
            }
            if filter.statuses.contains(&RuntimeStatus::Blocked) {
                for id in quarantined.keys() {
                    if after.is_some_and(|a| id.as_str() <= a) {
                        continue;
                    }
                    let shown = self.read_instance(id)?;
                    found.extend(shown.filter(|r| filter.matches(r)));
                }
            }
            found.sort_by(|a, b| a.id.cmp(&b.id));
            found.dedup_by(|a, b| a.id == b.id);
            found.truncate(page.limit);
            return Ok(found);
        }
        if let Some(name) = &filter.name {
            return scan.index(BY_NAME, &name_key(name, ""), after);
        }
        if filter.created_from.is_some() || filter.created_to.is_some() {
            return scan.window(after);
        }
        scan.index(INSTANCES, &[], after)
    }

    /// Ids of instances that ended before `before`, first ended first. Entries left by
    /// an instance purged while its record could not be decoded are dropped on the way.
    pub(crate) fn ended(&self, before: Millis, limit: usize) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        let mut stale = WriteBatch::default();
        for item in self.db.iterator_cf(self.cf(ENDED), IteratorMode::Start) {
            let (k, _) = item.map_err(backend)?;
            let Some((at, id)) = split_time_key(&k) else {
                continue;
            };
            if at >= before || found.len() >= limit {
                break;
            }
            match self.record_with(&id, Want::Head)? {
                Some(Ok(r)) if r.status.is_terminal() && r.updated == at => found.push(id),
                Some(Err(_)) => found.push(id), // blocked: purgeable
                _ => stale.delete_cf(self.cf(ENDED), &k),
            }
        }
        self.write(stale)?;
        Ok(found)
    }

    /// Deletes `id` and its descendants. The state's lock is held from the check to the
    /// write, which keeps steps (they need a claim) and creations out meanwhile.
    pub(crate) fn purge_tree(&self, id: &str) -> Result<Purge, StoreError> {
        let now = now_millis();
        let mut state = self.lock();
        let Some(stored) = self.record_with(id, Want::Head)? else {
            return Ok(Purge::NotFound);
        };
        let status = shown(id, stored, &self.blocked()).status;
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
        // a call whose result is being written is held until the write is done
        let completing = |i: &String| {
            let calls = state.calls.of_instance(i);
            calls.iter().any(|k| {
                state
                    .calls
                    .lease(k)
                    .is_some_and(|l| l.expires == Millis::MAX)
            })
        };
        if tree.iter().any(stepping) || tree.iter().any(completing) {
            return Ok(Purge::Busy);
        }
        let mut batch = WriteBatch::default();
        let mut timers = Vec::new();
        for i in &tree {
            batch.delete_cf(self.cf(INSTANCES), i);
            self.delete_fields(&mut batch, i);
            match self.record_with(i, Want::Head)? {
                Some(Ok(record)) => {
                    for (cf, key) in index_entries(&record) {
                        batch.delete_cf(self.cf(cf), key);
                    }
                }
                // what it was indexed under is unknown: its status keys are few
                _ => {
                    for status in RuntimeStatus::ALL {
                        batch.delete_cf(self.cf(BY_STATUS), status_key(status, i));
                    }
                }
            }
            // by range: messages and calls that could not be decoded are not indexed
            let (from, to) = instance_range(i);
            batch.delete_range_cf(self.cf(INBOX), &from, &to);
            batch.delete_range_cf(self.cf(ACTIVITIES), &from, &to);
            batch.delete_range_cf(self.cf(PARTS), &from, &to);
            for timer in state.timers.of_instance(i) {
                batch.delete_cf(self.cf(TIMERS), timer_key(&timer));
                timers.push(timer);
            }
        }
        self.write(batch)?;
        for i in &tree {
            state.inbox.forget(i);
            state.instance_leases.remove(i);
            self.blocked_mut().remove(i);
            state.claimed_status.remove(i);
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
        let Some(record) = self.readable_record(id, Want::Events)? else {
            return Err(StoreError::NotFound(id.to_owned()));
        };
        if let Message::Event { name, .. } = &message {
            admit_event(&record, name, state.inbox.untaken_events(&record), || {
                let queued = self
                    .messages(id, &state.inbox.queued(id))?
                    .map_err(StoreError::Backend)?;
                Ok(event_names(queued.iter().map(|(_, m)| m)))
            })?;
        }
        state.next_seq += 1;
        let seq = state.next_seq;
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(INBOX), key(id, seq), encode(&message, "message")?);
        self.write(batch)?;
        if !self.blocked().contains_key(id) {
            state.inbox.arrived(id, seq, &message);
        }
        Ok(())
    }
}

/// One page of `list`, read from one index.
struct Scan<'a> {
    store: &'a RocksStore,
    filter: &'a InstanceFilter,
    limit: usize,
    quarantined: &'a HashMap<String, String>,
}

impl Scan<'_> {
    /// The matching instances whose keys in column family `cf` are `prefix` then the
    /// id, after id `after`, in id order; for the instances themselves, the prefix is
    /// empty and the key is the id.
    fn index(
        &self,
        cf: &str,
        prefix: &[u8],
        after: Option<&str>,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        let mut from = prefix.to_vec();
        from.extend_from_slice(after.unwrap_or_default().as_bytes());
        let mode = IteratorMode::From(&from, Direction::Forward);
        let mut found = Vec::new();
        for item in self.store.db.iterator_cf(self.store.cf(cf), mode) {
            let (k, _) = item.map_err(backend)?;
            let Some(id) = k.strip_prefix(prefix) else {
                break;
            };
            if after.is_some() && *k == *from {
                continue;
            }
            let id = String::from_utf8_lossy(id).into_owned();
            // read again, head and fields as of one moment
            let Some(stored) = self.store.record(&id)? else {
                continue; // purged since it was indexed
            };
            if self.keep(&mut found, &id, stored) {
                break;
            }
        }
        Ok(found)
    }

    /// Adds the record stored under `id` to `found` if it matches; says whether the
    /// page is full.
    fn keep(
        &self,
        found: &mut Vec<InstanceRecord>,
        id: &str,
        stored: Result<InstanceRecord, String>,
    ) -> bool {
        let record = shown(id, stored, self.quarantined);
        if self.filter.matches(&record) {
            found.push(record);
        }
        found.len() >= self.limit
    }

    /// The matching instances created in the filter's time window, after id `after`,
    /// in id order: the window's entries of the creation index are read, not every
    /// instance, then the records up to the page.
    fn window(&self, after: Option<&str>) -> Result<Vec<InstanceRecord>, StoreError> {
        let from = time_key(self.filter.created_from.unwrap_or(0), "");
        let to = self.filter.created_to.unwrap_or(Millis::MAX);
        let mode = IteratorMode::From(&from, Direction::Forward);
        let mut ids = Vec::new();
        for item in self.store.db.iterator_cf(self.store.cf(BY_CREATED), mode) {
            let (k, _) = item.map_err(backend)?;
            let Some((at, id)) = split_time_key(&k) else {
                continue;
            };
            if at >= to {
                break;
            }
            if after.is_none_or(|a| id.as_str() > a) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let mut found = Vec::new();
        for id in ids {
            let Some(stored) = self.store.record(&id)? else {
                continue; // purged since it was indexed
            };
            if self.keep(&mut found, &id, stored) {
                break;
            }
        }
        Ok(found)
    }
}
