//! [`InboxIndex`]: what a store keeps in memory about queued messages, so that claiming
//! an instance costs the same however many instances wait and however many results a
//! fan-in has collected so far.
//!
//! Without it, finding a runnable instance means reading every pending inbox and
//! checking its wake condition, on every claim: O(instances) per step, and O(n²) for a
//! fan-in of n results (each arrival rereads all results so far). The index counts the
//! results queued per instance and remembers the fewest results the instance's wake
//! condition can hold with; an instance is only read back when it may be runnable. A
//! suspended instance is read back only for a command (resume, terminate), so each
//! message queued for it costs the same however many wait.

use std::collections::{BTreeMap, HashMap};

use crate::store::{InstanceRecord, Message, MessageKind};

/// Queued messages per instance, and which instances are worth a look.
#[derive(Debug, Default)]
pub struct InboxIndex {
    queued: HashMap<String, Queued>,
    /// Instances that received a message since they were last found not runnable, in
    /// the order they became worth a look.
    pending: Pending,
    /// The fewest task results that can make an instance runnable, as of its last
    /// checkpoint, for instances that need more than one (fan-ins) or none will do
    /// ([`SUSPENDED`]). Others are looked at on any message, so that the map does not
    /// grow with the number of instances that merely exist.
    needed: HashMap<String, usize>,
    /// Events buffered in an instance's record, as of its claim or its last step: kept
    /// while it is claimed, and after its step where not zero. Counted here rather
    /// than read from the stored record, so that a raise during a step's commit sees
    /// the events either queued or buffered, never both.
    buffered: HashMap<String, usize>,
}

/// What [`results_needed`] says of a suspended or blocked instance: only a command
/// wakes it.
pub const SUSPENDED: usize = usize::MAX;

/// The fewest task results that can make `record` runnable, as of its checkpoint:
/// [`SUSPENDED`] if only a command can, 0 if any message may (buffered events satisfy
/// part of what it waits for). Stores index it so that an instance is read back only
/// when what is queued for it may let it step.
pub fn results_needed(record: &InstanceRecord) -> usize {
    match (&record.wake, record.status) {
        (_, status) if status.waits_for_command() => SUSPENDED,
        // buffered events satisfy some of what it waits for: results are not all it
        // needs, so look at it on any message
        _ if !crate::store::buffered_events(record).is_empty() => 0,
        (Some(wake), _) => wake.min_results(),
        (None, _) => 1,
    }
}

#[derive(Debug, Default)]
struct Queued {
    /// Sequence number -> what kind of message it is.
    messages: HashMap<u64, MessageKind>,
    /// How many of them are task results, events and commands.
    results: usize,
    events: usize,
    commands: usize,
}

impl Queued {
    fn count(&mut self, kind: MessageKind) -> Option<&mut usize> {
        match kind {
            MessageKind::TaskCompleted => Some(&mut self.results),
            MessageKind::Event => Some(&mut self.events),
            MessageKind::Command => Some(&mut self.commands),
            MessageKind::Start => None,
        }
    }

    /// Whether these messages may make an instance runnable that needs `needed` results.
    fn may_run(&self, needed: usize, one_more_result: bool) -> bool {
        if needed == SUSPENDED {
            return self.commands > 0;
        }
        let results = self.results + usize::from(one_more_result);
        self.messages.len() > self.results || results >= needed
    }
}

impl InboxIndex {
    /// Records that `message` was queued for `id` under `seq`.
    pub fn arrived(&mut self, id: &str, seq: u64, message: &Message) {
        let kind = message.kind();
        let queued = self.queued.entry(id.to_owned()).or_default();
        if queued.messages.insert(seq, kind).is_none() {
            if let Some(n) = queued.count(kind) {
                *n += 1;
            }
        }
        self.pending.insert(id);
    }

    /// How many events instance `record` holds that its orchestration has not taken:
    /// queued for it, and buffered in its record.
    pub fn untaken_events(&self, record: &InstanceRecord) -> usize {
        let id = record.id.as_str();
        let buffered = self.buffered.get(id).copied();
        let queued = self.queued.get(id).map_or(0, |q| q.events);
        buffered.unwrap_or(record.events.len()) + queued
    }

    /// Records that `record` was claimed for a step.
    pub fn claimed(&mut self, record: &InstanceRecord) {
        self.buffered.insert(record.id.clone(), record.events.len());
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
                if let Some(n) = queued.messages.remove(seq).and_then(|k| queued.count(k)) {
                    *n -= 1;
                }
            }
            if queued.messages.is_empty() {
                self.queued.remove(id);
            }
        }
        if self.queued.contains_key(id) {
            // behind every instance that waited meanwhile
            self.pending.remove(id);
            self.pending.insert(id);
        } else {
            self.pending.remove(id);
        }
        match record.events.len() {
            0 => self.buffered.remove(id),
            n => self.buffered.insert(id.to_owned(), n),
        };
        self.waits(record);
    }

    /// Records that messages `seqs` of `id` are gone without a step (sent to an instance
    /// that was purged): an instance that has others, which arrived meanwhile (it may
    /// have been created again), stays in line behind those that waited; one that has
    /// none is forgotten.
    pub fn dropped(&mut self, id: &str, seqs: &[u64]) {
        let Some(queued) = self.queued.get_mut(id) else {
            return self.forget(id);
        };
        for seq in seqs {
            if let Some(n) = queued.messages.remove(seq).and_then(|k| queued.count(k)) {
                *n -= 1;
            }
        }
        if queued.messages.is_empty() {
            self.forget(id);
        } else {
            self.pending.remove(id);
            self.pending.insert(id);
        }
    }

    /// Records that the claim on `id` was given up without a step: it goes behind the
    /// instances that waited meanwhile, as if its messages had just arrived.
    pub fn released(&mut self, id: &str) {
        if self.pending.ticket.contains_key(id) {
            self.pending.remove(id);
            self.pending.insert(id);
        }
    }

    /// Records that `record` was read and found not runnable with what is queued.
    pub fn not_runnable(&mut self, record: &InstanceRecord) {
        self.pending.remove(&record.id);
        self.waits(record);
    }

    fn waits(&mut self, record: &InstanceRecord) {
        let needed = results_needed(record);
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
        self.buffered.remove(id);
    }

    /// Whether one more task result may make `id` runnable, as far as the counts tell
    /// (a store still checks with [`crate::store::runnable`] before stepping it).
    pub fn may_run_with_result(&self, id: &str) -> bool {
        let needed = self.needed.get(id).copied().unwrap_or(0);
        let none = Queued::default();
        self.queued.get(id).unwrap_or(&none).may_run(needed, true)
    }

    /// The instance waiting longest that may be runnable as far as the counts
    /// tell; it must still be read and checked with [`crate::store::runnable`] (and
    /// [`InboxIndex::not_runnable`] called if it is not). `skip` leaves out instances
    /// the caller cannot take (claimed by a worker).
    pub fn next(&mut self, mut skip: impl FnMut(&str) -> bool) -> Option<String> {
        let mut idle = Vec::new();
        let mut found = None;
        for id in self.pending.in_order() {
            if skip(id) {
                continue;
            }
            let Some(queued) = self.queued.get(id) else {
                idle.push(id.clone());
                continue;
            };
            let needed = self.needed.get(id).copied().unwrap_or(0);
            if queued.may_run(needed, false) {
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

/// A first-in first-out set of instance ids: claims go to the instance that has
/// waited longest, so no instance waits behind others that keep receiving messages.
#[derive(Debug, Default)]
struct Pending {
    ticket: HashMap<String, u64>,
    order: BTreeMap<u64, String>,
    next: u64,
}

impl Pending {
    /// Puts `id` last, unless it is in already.
    fn insert(&mut self, id: &str) {
        if !self.ticket.contains_key(id) {
            self.next += 1;
            self.ticket.insert(id.to_owned(), self.next);
            self.order.insert(self.next, id.to_owned());
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(ticket) = self.ticket.remove(id) {
            self.order.remove(&ticket);
        }
    }

    fn in_order(&self) -> impl Iterator<Item = &String> {
        self.order.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RuntimeStatus;
    use crate::task::{TaskId, Wake};

    fn result(task: u64) -> Message {
        Message::TaskCompleted {
            task: TaskId(task),
            result: Ok(Vec::new()),
        }
    }

    fn waiting(id: &str, wake: Wake) -> InstanceRecord {
        let mut record = InstanceRecord::new(id.into(), "o", 1, Vec::new(), None);
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

    /// A message to a purged instance is dropped; one that arrived meanwhile (its id was
    /// used again) keeps the instance in line.
    #[test]
    fn dropping_messages_keeps_those_that_arrived_since() {
        let mut index = InboxIndex::default();
        index.arrived("x", 1, &result(0));
        index.arrived("x", 2, &Message::Start);
        index.dropped("x", &[1]);
        assert_eq!(index.queued("x"), [2]);
        assert_eq!(index.next(|_| false).as_deref(), Some("x"));
        index.dropped("x", &[2]);
        assert_eq!(index.next(|_| false), None, "nothing left: forgotten");
        assert!(index.queued("x").is_empty());
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

    /// Claims used to go to the lowest id: instances that kept receiving messages
    /// under a low id held back every other.
    #[test]
    fn the_instance_waiting_longest_is_offered_first() {
        let mut index = InboxIndex::default();
        for (seq, id) in ["z", "a", "m"].into_iter().enumerate() {
            index.arrived(id, seq as u64, &Message::Start);
        }
        assert_eq!(index.next(|_| false).as_deref(), Some("z"));
        let mut z = waiting("z", Wake::Task(TaskId(1)));
        index.arrived("z", 3, &result(1));
        index.stepped(&z, &[0]);
        assert_eq!(
            index.next(|_| false).as_deref(),
            Some("a"),
            "a step that leaves messages puts its instance behind the others"
        );
        assert_eq!(index.next(|id| id == "a").as_deref(), Some("m"));
        z.wake = None;
        index.stepped(&z, &[3]);
        index.stepped(&waiting("a", Wake::Task(TaskId(1))), &[1]);
        assert_eq!(index.next(|_| false).as_deref(), Some("m"));
    }

    #[test]
    fn a_suspended_instance_is_offered_only_for_a_command() {
        let mut index = InboxIndex::default();
        let mut record = waiting("s", Wake::Task(TaskId(1)));
        record.status = RuntimeStatus::Suspended;
        index.stepped(&record, &[]);
        let event = Message::Event {
            name: "e".into(),
            payload: Vec::new(),
        };
        for seq in 1..100 {
            index.arrived("s", seq, &event);
            assert_eq!(index.next(|_| false), None, "an event waits, unread");
        }
        index.arrived("s", 100, &result(1));
        assert_eq!(index.next(|_| false), None, "so does a result");
        assert!(!index.may_run_with_result("s"));
        assert_eq!(index.untaken_events(&record), 99);
        index.arrived("s", 101, &Message::Resume);
        assert_eq!(index.next(|_| false).as_deref(), Some("s"));
        record.status = RuntimeStatus::Running;
        index.claimed(&record);
        record.events = vec![("e".into(), Vec::new()); 99];
        assert_eq!(
            index.untaken_events(&record),
            99,
            "while the step that buffers them is written, the events count once"
        );
        index.stepped(&record, &(1..=101).collect::<Vec<_>>());
        assert_eq!(index.untaken_events(&record), 99);
        record.events.clear();
        index.stepped(&record, &[]);
        assert_eq!(index.untaken_events(&record), 0);
        assert!(index.buffered.is_empty());
        assert!(index.queued.is_empty());
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
