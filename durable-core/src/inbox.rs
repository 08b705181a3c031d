//! [`InboxIndex`]: what a store keeps in memory about queued messages, so that claiming
//! an instance costs the same however many instances wait and however many results a
//! fan-in has collected so far.
//!
//! Without it, finding a runnable instance means reading every pending inbox and
//! checking its wake condition, on every claim: O(instances) per step, and O(n²) for a
//! fan-in of n results (each arrival rereads all results so far). The index counts the
//! results queued per instance and remembers the fewest results the instance's wake
//! condition can hold with; an instance is only read back when it may be runnable.

use std::collections::{BTreeSet, HashMap};

use crate::store::{InstanceRecord, Message, RuntimeStatus};

/// Queued messages per instance, and which instances are worth a look.
#[derive(Debug, Default)]
pub struct InboxIndex {
    queued: HashMap<String, Queued>,
    /// Instances that received a message since they were last found not runnable.
    pending: BTreeSet<String>,
    /// The fewest task results that can make an instance runnable, as of its last
    /// checkpoint, for instances that need more than one (fan-ins) or none will do
    /// (suspended). Others are looked at on any message, so that the map does not grow
    /// with the number of instances that merely exist.
    needed: HashMap<String, usize>,
}

#[derive(Debug, Default)]
struct Queued {
    /// Sequence number -> whether the message is a task result.
    messages: HashMap<u64, bool>,
    /// How many of them are task results.
    results: usize,
}

impl InboxIndex {
    /// Records that `message` was queued for `id` under `seq`.
    pub fn arrived(&mut self, id: &str, seq: u64, message: &Message) {
        let result = matches!(message, Message::TaskCompleted { .. });
        let queued = self.queued.entry(id.to_owned()).or_default();
        if queued.messages.insert(seq, result).is_none() && result {
            queued.results += 1;
        }
        if !self.pending.contains(id) {
            self.pending.insert(id.to_owned());
        }
    }

    /// The sequence numbers of the messages queued for `id`, in order.
    pub fn queued(&self, id: &str) -> Vec<u64> {
        let mut seqs: Vec<u64> = self
            .queued
            .get(id)
            .map(|q| q.messages.keys().copied().collect())
            .unwrap_or_default();
        seqs.sort_unstable();
        seqs
    }

    /// Records a committed step of `record`: the messages it consumed are gone, and
    /// what it waits for now decides which arrivals can wake it.
    pub fn stepped(&mut self, record: &InstanceRecord, consumed: &[u64]) {
        let id = record.id.as_str();
        if let Some(queued) = self.queued.get_mut(id) {
            for seq in consumed {
                if queued.messages.remove(seq) == Some(true) {
                    queued.results -= 1;
                }
            }
            if queued.messages.is_empty() {
                self.queued.remove(id);
            }
        }
        if self.queued.contains_key(id) {
            if !self.pending.contains(id) {
                self.pending.insert(id.to_owned());
            }
        } else {
            self.pending.remove(id);
        }
        self.waits(record);
    }

    /// Records that `record` was read and found not runnable with what is queued.
    pub fn not_runnable(&mut self, record: &InstanceRecord) {
        self.pending.remove(&record.id);
        self.waits(record);
    }

    fn waits(&mut self, record: &InstanceRecord) {
        let needed = match (&record.wake, record.status) {
            (_, RuntimeStatus::Suspended) => usize::MAX,
            // buffered events satisfy some of what it waits for: results are not all
            // it needs, so look at it on any message
            _ if !crate::store::buffered_events(record).is_empty() => 0,
            (Some(wake), _) => wake.min_results(),
            (None, _) => 1,
        };
        if needed > 1 {
            self.needed.insert(record.id.clone(), needed);
        } else {
            self.needed.remove(&record.id);
        }
    }

    /// Forgets instance `id` (purged, or its messages found gone).
    pub fn forget(&mut self, id: &str) {
        self.queued.remove(id);
        self.pending.remove(id);
        self.needed.remove(id);
    }

    /// Whether one more task result may make `id` runnable, as far as the counts tell
    /// (a store still checks with [`crate::store::runnable`] before stepping it).
    pub fn may_run_with_result(&self, id: &str) -> bool {
        let (results, others) = self
            .queued
            .get(id)
            .map_or((0, false), |q| (q.results, q.messages.len() > q.results));
        others || results + 1 >= self.needed.get(id).copied().unwrap_or(0)
    }

    /// The first instance, in id order, that may be runnable as far as the counts
    /// tell; it must still be read and checked with [`crate::store::runnable`] (and
    /// [`InboxIndex::not_runnable`] called if it is not). `skip` leaves out instances
    /// the caller cannot take (claimed by a worker).
    pub fn next(&mut self, mut skip: impl FnMut(&str) -> bool) -> Option<String> {
        let mut idle = Vec::new();
        let mut found = None;
        for id in &self.pending {
            if skip(id) {
                continue;
            }
            let Some(queued) = self.queued.get(id) else {
                idle.push(id.clone());
                continue;
            };
            let others = queued.messages.len() > queued.results;
            let needed = self.needed.get(id).copied().unwrap_or(0);
            if others || queued.results >= needed {
                found = Some(id.clone());
                break;
            }
            idle.push(id.clone());
        }
        for id in idle {
            self.pending.remove(&id);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::{TaskId, Wake};

    fn result(task: u64) -> Message {
        Message::TaskCompleted {
            task: TaskId(task),
            result: Ok(Vec::new()),
        }
    }

    fn waiting(id: &str, wake: Wake) -> InstanceRecord {
        let mut record = InstanceRecord::new(id.into(), "o", Vec::new(), None);
        record.status = RuntimeStatus::Running;
        record.wake = Some(wake);
        record
    }

    #[test]
    fn a_fan_in_is_not_offered_until_enough_results_are_in() {
        let mut index = InboxIndex::default();
        let record = waiting(
            "f",
            Wake::All((0..3).map(|t| Wake::Task(TaskId(t))).collect()),
        );
        index.stepped(&record, &[]);
        assert!(!index.may_run_with_result("f"), "one result of three");
        index.arrived("f", 1, &result(0));
        index.arrived("f", 2, &result(1));
        assert_eq!(index.next(|_| false), None);
        assert!(index.may_run_with_result("f"), "the third result would do");
        index.arrived("f", 3, &result(2));
        assert_eq!(index.next(|_| false).as_deref(), Some("f"));
        let mut done = record.clone();
        done.status = RuntimeStatus::Completed;
        done.wake = None;
        index.stepped(&done, &[1, 2, 3]);
        assert_eq!(index.next(|_| false), None);
        assert!(
            index.needed.is_empty(),
            "nothing kept for an instance that waits no more"
        );
    }

    #[test]
    fn starts_events_and_commands_are_always_offered() {
        let mut index = InboxIndex::default();
        let record = waiting("e", Wake::Task(TaskId(9)));
        index.stepped(&record, &[]);
        index.arrived("e", 1, &Message::Suspend);
        assert_eq!(index.next(|_| false).as_deref(), Some("e"));
        assert_eq!(index.next(|id| id == "e"), None, "claimed ones are skipped");
        index.not_runnable(&record);
        assert_eq!(index.next(|_| false), None);
        index.arrived("e", 2, &result(9));
        assert_eq!(index.next(|_| false).as_deref(), Some("e"));
    }

    #[test]
    fn unknown_instances_are_looked_at_and_messages_left_behind_keep_one_pending() {
        let mut index = InboxIndex::default();
        index.arrived("r", 1, &result(4));
        assert_eq!(
            index.next(|_| false).as_deref(),
            Some("r"),
            "no checkpoint known"
        );
        let record = waiting(
            "r",
            Wake::All(vec![Wake::Task(TaskId(4)), Wake::Task(TaskId(5))]),
        );
        index.arrived("r", 2, &result(6));
        index.stepped(&record, &[2]);
        assert_eq!(index.next(|_| false), None, "one result of two");
        assert_eq!(index.needed.len(), 1);
        index.arrived("r", 3, &result(5));
        assert_eq!(index.next(|_| false).as_deref(), Some("r"));
        index.forget("r");
        assert_eq!(index.next(|_| false), None);
        assert!(index.needed.is_empty() && index.queued.is_empty());
    }
}
