//! The storage contract of the runtime.
//!
//! Written for more than one process: work is claimed with a [`Lease`] that expires, so
//! a worker that dies loses its claim and another picks the work up; nothing assumes it
//! is the only process. Each orchestration step is committed with one call,
//! [`Store::commit_step`], which an implementation must apply atomically: the new
//! record (status, checkpoint, wake condition), the messages it consumed, and the
//! activity tasks it scheduled.

use std::collections::HashSet;
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::ends::{EndWatch, Ends};
use crate::task::{RetryPolicy, TaskId, TaskResult, Wake};

pub use crate::blocking::blocking;
pub use crate::task::Millis;

/// The current time in [`Millis`].
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// The time `duration` after `at`, saturating: no user-given duration overflows it.
pub fn millis_after(at: Millis, duration: Duration) -> Millis {
    at.saturating_add(Millis::try_from(duration.as_millis()).unwrap_or(Millis::MAX))
}

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RuntimeStatus {
    /// Created, its first step has not run.
    Pending,
    /// Waiting at an `.await`, or running a step.
    Running,
    Completed,
    Failed,
    /// Ended by [`Message::Terminate`].
    Terminated,
    /// Paused by [`Message::Suspend`]: what arrives waits until [`Message::Resume`].
    Suspended,
    /// Cannot be stepped by the code registered, or as stored: its checkpoint cannot be
    /// resumed by this code (changed at the point it waits at, no code registered for
    /// its name and version, damaged bytes), or its record or a message for it cannot be
    /// decoded. Everything stored for it is kept (what it waits for goes on arriving in
    /// its inbox), `error` says why, and other instances go on. It continues by itself
    /// when a runtime with code that can resume it starts, or on
    /// [`Client::retry`](crate::Client::retry); it can be terminated and purged.
    Blocked,
}

impl RuntimeStatus {
    /// Every status, in the order of [`RuntimeStatus::code`].
    pub const ALL: [RuntimeStatus; 7] = [
        RuntimeStatus::Pending,
        RuntimeStatus::Running,
        RuntimeStatus::Completed,
        RuntimeStatus::Failed,
        RuntimeStatus::Terminated,
        RuntimeStatus::Suspended,
        RuntimeStatus::Blocked,
    ];

    /// The number stores persist the status as (index keys, columns): fixed, since
    /// stored data depends on it; a new status takes the next number.
    pub fn code(self) -> u8 {
        match self {
            RuntimeStatus::Pending => 0,
            RuntimeStatus::Running => 1,
            RuntimeStatus::Completed => 2,
            RuntimeStatus::Failed => 3,
            RuntimeStatus::Terminated => 4,
            RuntimeStatus::Suspended => 5,
            RuntimeStatus::Blocked => 6,
        }
    }

    /// Whether the instance has ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RuntimeStatus::Completed | RuntimeStatus::Failed | RuntimeStatus::Terminated
        )
    }

    /// Whether only a command (resume, retry, terminate) lets the instance take a step:
    /// it is suspended or blocked, and what arrives for it waits in its inbox.
    pub fn waits_for_command(self) -> bool {
        matches!(self, RuntimeStatus::Suspended | RuntimeStatus::Blocked)
    }

    /// Whether [`Store::purge`] may delete an instance in this status: it has ended, or
    /// it cannot run as stored.
    pub fn is_purgeable(self) -> bool {
        self.is_terminal() || self == RuntimeStatus::Blocked
    }
}

/// Everything stored about an instance besides its inbox. Its size does not grow with
/// the number of steps: the checkpoint replaces the previous one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub id: String,
    /// The orchestration's registered name.
    pub name: String,
    /// The version of the orchestration's code it started under, and is stepped by.
    pub version: u32,
    pub status: RuntimeStatus,
    /// The encoded input.
    pub input: Vec<u8>,
    /// The encoded output, once completed.
    pub output: Option<Vec<u8>>,
    /// Why it failed, once failed; why it is blocked, while blocked.
    pub error: Option<String>,
    pub created: Millis,
    pub updated: Millis,
    /// The last checkpoint, while suspended.
    pub state: Option<Vec<u8>>,
    /// What the checkpoint waits for.
    pub wake: Option<Wake>,
    /// The first task id the next step may use.
    pub next_task: u64,
    /// Event waits of the current checkpoint: event name and the task it completes.
    pub event_waits: Vec<(String, TaskId)>,
    /// Events raised while nothing waited for them, oldest first: event name, payload.
    pub events: Vec<(String, Vec<u8>)>,
    /// For a sub-orchestration: the parent instance and the task its end completes.
    pub parent: Option<(String, TaskId)>,
    /// The encoded value of the last `ctx.set_custom_status(..)`.
    pub custom_status: Option<Vec<u8>>,
}

impl InstanceRecord {
    /// What a store shows for instance `id` when it cannot step it as stored: status
    /// [`RuntimeStatus::Blocked`] with `reason`, and what else is known of it.
    pub fn blocked(id: String, known: Option<InstanceRecord>, reason: String) -> Self {
        let mut record = known.unwrap_or_else(|| Self::new(id, "", 0, Vec::new(), None));
        record.status = RuntimeStatus::Blocked;
        record.error = Some(reason);
        record
    }

    /// A new instance of version `version` of orchestration `name`, not yet started.
    pub fn new(
        id: String,
        name: &str,
        version: u32,
        input: Vec<u8>,
        parent: Option<(String, TaskId)>,
    ) -> Self {
        let now = now_millis();
        Self {
            id,
            name: name.to_owned(),
            version,
            status: RuntimeStatus::Pending,
            input,
            output: None,
            error: None,
            created: now,
            updated: now,
            state: None,
            wake: None,
            next_task: 0,
            event_waits: Vec::new(),
            events: Vec::new(),
            parent,
            custom_status: None,
        }
    }
}

/// Something that happened to an instance, waiting in its inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// Run a step: the first one, or one whose wake condition already holds.
    Start,
    /// A task of the instance finished.
    TaskCompleted { task: TaskId, result: TaskResult },
    /// An external event was raised for the instance.
    Event { name: String, payload: Vec<u8> },
    /// End the instance now, with this reason.
    Terminate { reason: String },
    /// Pause the instance: nothing it waits for is applied until it is resumed.
    Suspend,
    /// Undo a [`Message::Suspend`].
    Resume,
    /// Try a blocked instance again, with the code registered now.
    Retry,
}

/// What kind of message a [`Message`] is, as stores count them to tell whether what is
/// queued may let an instance step. The numbers are what stores persist: fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// [`Message::TaskCompleted`]: a task's result.
    TaskCompleted = 0,
    /// [`Message::Event`].
    Event = 1,
    /// A command: terminate, suspend, resume, retry.
    Command = 2,
    /// [`Message::Start`].
    Start = 3,
}

impl Message {
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::TaskCompleted { .. } => MessageKind::TaskCompleted,
            Message::Event { .. } => MessageKind::Event,
            Message::Start => MessageKind::Start,
            Message::Terminate { .. } | Message::Suspend | Message::Resume | Message::Retry => {
                MessageKind::Command
            }
        }
    }

    /// Whether this is an instance-management message, applied even while suspended.
    pub fn is_control(&self) -> bool {
        matches!(
            self,
            Message::Terminate { .. } | Message::Suspend | Message::Resume | Message::Retry
        )
    }
}

/// Which instances [`Store::list`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceFilter {
    /// Only these statuses (any, if empty).
    pub statuses: Vec<RuntimeStatus>,
    /// Only instances of this orchestration.
    pub name: Option<String>,
    /// Only instances running this version of their orchestration's code.
    pub version: Option<u32>,
    /// Only instances created at or after this time.
    pub created_from: Option<Millis>,
    /// Only instances created before this time.
    pub created_to: Option<Millis>,
}

impl InstanceFilter {
    pub fn matches(&self, record: &InstanceRecord) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&record.status))
            && self.name.as_ref().is_none_or(|n| *n == record.name)
            && self.version.is_none_or(|v| v == record.version)
            && self.created_from.is_none_or(|t| record.created >= t)
            && self.created_to.is_none_or(|t| record.created < t)
    }
}

/// A page of [`Store::list`]: instances in id order after `after`, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub after: Option<String>,
    pub limit: usize,
}

/// What [`Store::purge`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purge {
    /// The instance was deleted, with this many descendants.
    Deleted { descendants: usize },
    /// No instance has the id.
    NotFound,
    /// The instance has not ended: nothing was deleted.
    NotEnded(RuntimeStatus),
    /// The instance or a descendant is taking a step: nothing was deleted; try again.
    Busy,
}

/// The prefix of the ids of `id`'s descendants: sub-orchestration ids are
/// `parent:task`, and instance ids given by users cannot contain `:`.
pub fn descendants_prefix(id: &str) -> String {
    format!("{id}:")
}

/// An activity call waiting to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityTask {
    pub instance: String,
    pub task: TaskId,
    pub name: String,
    pub input: Vec<u8>,
    /// The attempt this is, from 1.
    pub attempt: u32,
    pub retry: Option<RetryPolicy>,
    /// How long one attempt may run before it counts as failed.
    pub timeout: Option<Duration>,
    /// Not to be run before this time (a retry's backoff).
    pub not_before: Millis,
}

/// An instance's outstanding activity calls and durable timers, as
/// [`Client::inspect`](crate::Client::inspect) shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceTasks {
    pub activities: Vec<QueuedActivity>,
    pub timers: Vec<TimerTask>,
}

/// An activity call still queued, and whether a worker holds a claim on it (runs it).
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedActivity {
    pub task: ActivityTask,
    pub claimed: bool,
}

/// A claim on work, valid until it expires. A commit under a lease that expired and was
/// taken over by another worker fails with [`StoreError::LeaseLost`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub token: u64,
    pub expires: Millis,
}

/// An instance claimed for one step, with the messages to apply.
#[derive(Debug, Clone)]
pub struct LockedInstance {
    pub record: InstanceRecord,
    /// `(sequence number, message)`, oldest first.
    pub messages: Vec<(u64, Message)>,
    pub lease: Lease,
    /// Claimed by [`Store::claim_with_result`]: the activity call whose result is among
    /// `messages` under [`DIRECT`] without having been stored. The step's commit
    /// completes it ([`StepCommit::activity`]).
    pub activity: Option<LockedActivity>,
    /// Parts of the instance's state ([`StepCommit::parts`]) read with the claim, key
    /// and bytes: a store whose part reads cost a round trip reads along the one a step
    /// most likely takes (the lowest key: a loop's next item). The step reads any
    /// other through [`Store::part_reader`]. Empty where reads are local.
    pub parts: Vec<(u64, Vec<u8>)>,
}

/// The sequence number of an activity result handed to a step directly
/// ([`Store::claim_with_result`]) rather than queued; stores number queued messages
/// from 1.
pub const DIRECT: u64 = 0;

/// An activity task claimed for one attempt.
#[derive(Debug, Clone)]
pub struct LockedActivity {
    pub task: ActivityTask,
    pub lease: Lease,
}

/// A durable timer: at `due`, `task` of `instance` completes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimerTask {
    pub due: Millis,
    pub instance: String,
    pub task: TaskId,
}

/// The outcome of one step, committed atomically.
#[derive(Debug, Clone)]
pub struct StepCommit {
    pub record: InstanceRecord,
    /// Sequence numbers of the messages the step applied.
    pub consumed: Vec<u64>,
    /// Activity calls the step scheduled.
    pub activities: Vec<ActivityTask>,
    /// Durable timers the step started.
    pub timers: Vec<TimerTask>,
    /// Messages for instances' inboxes (this one's or others').
    pub messages: Vec<(String, Message)>,
    /// Tasks of this instance that no longer matter (the losers of a race, or all it
    /// waited for when terminated): their timers and their activity calls that are
    /// still queued are deleted. A call already running finishes, and its result is
    /// dropped.
    pub cancelled: Vec<TaskId>,
    /// Sub-orchestrations the step started, each with its start message; one whose id
    /// exists already is left as it is (child ids are deterministic, so a step that runs
    /// twice starts each child once).
    pub children: Vec<InstanceRecord>,
    /// The activity call whose result the step consumed directly: its task is deleted
    /// in the same write, so the result is stored only as part of this step.
    pub activity: Option<LockedActivity>,
    /// Parts of the instance's state kept beside its checkpoint, by key: written
    /// (`Some`) or deleted (`None`) in the same write. A loop over a long collection
    /// keeps its items there, each written once, so that its checkpoints do not carry
    /// them ([`Store::part_reader`]).
    pub parts: Vec<(u64, Option<Vec<u8>>)>,
    /// Ranges of keys of parts deleted in the same write, before [`parts`](Self::parts)
    /// is applied: the items of a loop left before its end that it will not take, or
    /// every part ([`ALL_PARTS`]) when the step terminates the instance, whose
    /// checkpoint goes without its code running again.
    pub dropped_parts: Vec<Range<u64>>,
    /// Which of the record's fields that may be kept apart from it the step changed.
    pub changed: Changed,
}

/// Every key of an instance's parts ([`StepCommit::dropped_parts`]).
pub const ALL_PARTS: Range<u64> = 0..u64::MAX;

/// Which of an instance's input, output, buffered events and custom status a step
/// changed. These may be large (a payload each, and up to
/// [`MAX_BUFFERED_EVENTS`](crate::limits::MAX_BUFFERED_EVENTS) of them), and a step
/// rarely changes them: a store may keep them apart from the rest of the record and
/// write, at each step, only the checkpoint and what changed. Such a store may then also
/// leave out of a claimed record what a step does not read (see
/// [`Store::lock_instance`]). The input is never changed by a step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    /// The step ended the instance with an output.
    pub output: bool,
    /// An event was buffered, taken or reordered, or the buffer dropped.
    pub events: bool,
    /// The step set its custom status.
    pub custom_status: bool,
}

/// Reads a part of an instance's state kept beside its checkpoint ([`StepCommit::parts`]):
/// `(instance, key)` to its bytes, synchronously, from inside a step.
#[derive(Clone)]
pub struct PartReader(pub Arc<ReadPart>);

/// What a [`PartReader`] calls.
pub type ReadPart = dyn Fn(&str, u64) -> Result<Option<Vec<u8>>, StoreError> + Send + Sync;

impl std::fmt::Debug for PartReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartReader")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("an instance with id `{0}` already exists")]
    AlreadyExists(String),
    #[error("no instance with id `{0}`")]
    NotFound(String),
    #[error("the lease on this work expired and another worker took it over")]
    LeaseLost,
    #[error(
        "instance `{id}` already holds {limit} events it has not taken: the event was not \
         raised (raise it again once the orchestration has taken some)"
    )]
    TooManyEvents { id: String, limit: usize },
    #[error("store: {0}")]
    Backend(String),
}

/// Whether the messages waiting for `record` let it take a step: a start, results that
/// satisfy its wake condition, or results it no longer waits for (to be dropped).
pub fn runnable<'a>(
    record: &InstanceRecord,
    messages: impl Iterator<Item = &'a Message> + Clone,
) -> bool {
    if messages.clone().any(Message::is_control) {
        return true;
    }
    if record.status.waits_for_command() {
        return false;
    }
    let mut tasks = messages.clone().filter_map(|m| match m {
        Message::TaskCompleted { task, .. } => Some(*task),
        _ => None,
    });
    if messages
        .clone()
        .any(|m| matches!(m, Message::Start | Message::Event { .. }))
    {
        return true;
    }
    match &record.wake {
        None => tasks.next().is_some(),
        Some(wake) => {
            let arrived: HashSet<TaskId> = tasks.collect();
            let awaited: HashSet<TaskId> = wake.tasks().into_iter().collect();
            let buffered = buffered_events(record);
            wake.is_ready(|t| arrived.contains(&t) || buffered.contains(&t))
                || !arrived.is_subset(&awaited)
        }
    }
}

/// Refuses event `name` for instance `record` if it holds `untaken` events, queued or
/// buffered, and that is [`MAX_BUFFERED_EVENTS`](crate::limits::MAX_BUFFERED_EVENTS)
/// already, unless the instance waits for an event of that name that none of its
/// untaken events answers: that one is taken by its next step, not buffered, so a full
/// buffer cannot keep an instance from what it waits for. Past the bound, an instance
/// therefore holds at most one event more per wait. `queued_names` reads the names of
/// the events queued for it; it is called only past the bound.
/// Stores call it in [`Store::send`], under the same lock or transaction as the write.
pub fn admit_event<N>(
    record: &InstanceRecord,
    name: &str,
    untaken: usize,
    queued_names: impl FnOnce() -> Result<N, StoreError>,
) -> Result<(), StoreError>
where
    N: IntoIterator<Item = String>,
{
    let limit = crate::limits::MAX_BUFFERED_EVENTS;
    if untaken < limit {
        return Ok(());
    }
    let waits = record.event_waits.iter().filter(|(n, _)| n == name).count();
    if waits > 0 {
        let buffered = record.events.iter().filter(|(n, _)| n == name).count();
        let queued = queued_names()?.into_iter().filter(|n| n == name).count();
        if waits > buffered + queued {
            return Ok(());
        }
    }
    Err(StoreError::TooManyEvents {
        id: record.id.clone(),
        limit,
    })
}

/// The name of each event among `messages`.
pub fn event_names<'a>(messages: impl IntoIterator<Item = &'a Message>) -> Vec<String> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            Message::Event { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// The messages of a step that takes `result` of the claimed call `locked` directly
/// ([`Store::claim_with_result`]): the `queued` ones and the result under [`DIRECT`],
/// if together they make `record` runnable.
pub fn with_direct_result(
    record: &InstanceRecord,
    mut queued: Vec<(u64, Message)>,
    locked: &LockedActivity,
    result: &TaskResult,
) -> Option<Vec<(u64, Message)>> {
    let direct = Message::TaskCompleted {
        task: locked.task.task,
        result: result.clone(),
    };
    queued.push((DIRECT, direct));
    runnable(record, queued.iter().map(|(_, m)| m)).then_some(queued)
}

/// The event waits of `record` that its buffered events satisfy, first in first out
/// per name, as the step will match them.
pub fn buffered_events(record: &InstanceRecord) -> HashSet<TaskId> {
    let mut unread: Vec<&str> = record.events.iter().map(|(n, _)| n.as_str()).collect();
    let mut satisfied = HashSet::new();
    for (name, task) in &record.event_waits {
        if let Some(i) = unread.iter().position(|n| n == name) {
            unread.remove(i);
            satisfied.insert(*task);
        }
    }
    satisfied
}

/// What [`Store::commit_step`] saw as it committed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Committed {
    /// Messages the step did not consume wait for the instance (they arrived while it
    /// stepped): it may be runnable again at once. The runtime wakes a worker for it
    /// only then, so that a worker does not go looking for work after every step.
    pub more_queued: bool,
}

/// A kind of work a runtime's idle workers wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    /// An instance may have become runnable.
    Instances,
    /// An activity call was queued.
    Activities,
    /// A durable timer was started.
    Timers,
}

/// Where instances, their inboxes and activity tasks live.
pub trait Store: Send + Sync + 'static {
    /// Resolves when another process may have queued `work`. A store shared by
    /// processes wakes idle workers with it (PostgreSQL's `LISTEN`/`NOTIFY`), so work
    /// queued elsewhere is taken up at once rather than at the next poll. The default
    /// never resolves: a store used by one process has its work signalled by the
    /// runtime that queues it.
    fn work_queued(&self, work: Work) -> impl Future<Output = ()> + Send {
        let _ = work;
        std::future::pending()
    }

    /// Where a client hears that instance `id` ended in another process. A store
    /// shared by processes keeps [`Ends`] of its own, tells them each end it hears of
    /// (PostgreSQL's `NOTIFY` names the instance), and gives a watch on them here, so a
    /// client reads its instance again when that instance ended, not at every end. The
    /// default gives none: a client then reads its instance again at each poll, to see
    /// ends its own runtime did not step.
    fn watch_end(&self, id: &str) -> Option<EndWatch<'_>> {
        let _ = id;
        None
    }

    /// How often a runtime's idle workers look for work when nothing woke them (the
    /// default of [`RuntimeBuilder::poll_interval`](crate::RuntimeBuilder::poll_interval)):
    /// 50 ms unless the store says otherwise. A store that signals work queued by
    /// other processes ([`Store::work_queued`]) polls only for signals it may miss.
    fn poll_interval(&self) -> Duration {
        Duration::from_millis(50)
    }

    /// Creates an instance and queues its [`Message::Start`], atomically; fails with
    /// [`StoreError::AlreadyExists`] if the id is taken.
    fn create(&self, record: InstanceRecord)
        -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Instances matching `filter`, in id order, one page at a time. Statuses and names
    /// are looked up in indexes: a page of a rare status costs the page, not the
    /// number of instances stored.
    fn list(
        &self,
        filter: &InstanceFilter,
        page: &Page,
    ) -> impl Future<Output = Result<Vec<InstanceRecord>, StoreError>> + Send;

    /// Deletes instance `id` and every descendant (its sub-orchestrations, theirs, and
    /// so on: the ids under `id:`), whatever their status, with their inboxes, queued
    /// activities and timers, in one atomic write, if `id` has ended (or is
    /// [`RuntimeStatus::Blocked`]). Refuses, deleting nothing, if it has not ended or if
    /// it or a descendant is taking a step. The check
    /// and the delete are atomic, so an instance created again under `id` is never
    /// touched, and it sees nothing of the earlier one.
    fn purge(&self, id: &str) -> impl Future<Output = Result<Purge, StoreError>> + Send;

    /// Ids of instances that ended (completed, failed or were terminated) before
    /// `before`, those that ended first first, at most `limit`: what retention purges.
    /// Read from an index of ended instances by when they ended.
    fn ended_before(
        &self,
        before: Millis,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Queues `message` for instance `id`; [`StoreError::NotFound`] if there is none.
    /// An [`Message::Event`] is refused with [`StoreError::TooManyEvents`] when the
    /// instance holds [`MAX_BUFFERED_EVENTS`](crate::limits::MAX_BUFFERED_EVENTS)
    /// events not yet taken (queued, or buffered in its record), checked atomically
    /// with the write, unless the instance waits for it ([`admit_event`]).
    fn send(
        &self,
        id: &str,
        message: Message,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The record of an instance.
    fn instance(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<InstanceRecord>, StoreError>> + Send;

    /// The activity calls and timers `id` has queued: what inspection shows of what it
    /// waits for. It reads only that instance's entries.
    fn tasks(&self, id: &str) -> impl Future<Output = Result<InstanceTasks, StoreError>> + Send;

    /// How a step reads the parts of its instance's state this store keeps beside its
    /// checkpoint ([`StepCommit::parts`]). A step runs synchronously, so the reader is a
    /// plain function; one that may wait (on the disk, on a database) waits through
    /// [`blocking`], and works on a current-thread runtime too (the
    /// PostgreSQL store reads on a thread and connection of its own). Without one, a
    /// loop's items stay in its checkpoints. A store that gives one writes and deletes
    /// the parts with the step ([`StepCommit::dropped_parts`] too), and purges them with
    /// the instance.
    fn part_reader(&self) -> Option<PartReader> {
        None
    }

    /// Claims an instance that has messages and no live lease: of those that may run,
    /// the one that has waited longest (first come, first served, as far as the
    /// store's clock tells: PostgreSQL's is a millisecond's), so that instances that
    /// keep receiving messages cannot hold back the others.
    ///
    /// The record may leave out what a step does not read, as long as the commit then
    /// leaves it as stored ([`Changed`]): the input once the instance has a checkpoint
    /// (`state` is `Some`), the output, and the custom status. Buffered events are
    /// always included. The same holds for [`Store::claim_with_result`].
    fn lock_instance(
        &self,
        lease: Duration,
    ) -> impl Future<Output = Result<Option<LockedInstance>, StoreError>> + Send;

    /// Commits a step of an instance claimed with `lease` and releases the claim. A
    /// store that keeps the input, output, events and custom status apart from the record
    /// writes those [`StepCommit::changed`] names, and leaves the others as stored.
    fn commit_step(
        &self,
        lease: &Lease,
        commit: StepCommit,
    ) -> impl Future<Output = Result<Committed, StoreError>> + Send;

    /// Gives up a claim without committing: the messages stay for the next worker.
    fn abandon_instance(
        &self,
        id: &str,
        lease: &Lease,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Claims an activity task with no live lease.
    fn lock_activity(
        &self,
        lease: Duration,
    ) -> impl Future<Output = Result<Option<LockedActivity>, StoreError>> + Send;

    /// Extends the claim `locked` holds to `lease` from now and returns the renewed
    /// lease, which replaces the old one in every later call. A worker renews while the
    /// activity runs, so a call of any length keeps its claim as long as its worker
    /// lives. Fails with [`StoreError::LeaseLost`] if the claim expired and was taken
    /// over, or the call was cancelled or purged.
    fn renew_activity(
        &self,
        locked: &LockedActivity,
        lease: Duration,
    ) -> impl Future<Output = Result<Lease, StoreError>> + Send;

    /// Deletes a claimed activity task and queues its result for the instance, atomically.
    fn complete_activity(
        &self,
        locked: &LockedActivity,
        result: TaskResult,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Completes a claimed activity call by claiming its instance for a step that
    /// consumes `result` at once, when the instance is free and `result` makes it
    /// runnable: one write (the step's commit) instead of two. `None` when that cannot
    /// be done; then use [`Store::complete_activity`]. Stores that do not offer it keep
    /// this default.
    fn claim_with_result(
        &self,
        locked: &LockedActivity,
        result: &TaskResult,
        lease: Duration,
    ) -> impl Future<Output = Result<Option<LockedInstance>, StoreError>> + Send {
        let _ = (locked, result, lease);
        async { Ok(None) }
    }

    /// Puts a claimed activity task back for its next attempt at `not_before`.
    fn retry_activity(
        &self,
        locked: &LockedActivity,
        not_before: Millis,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Fires the timers due at `now`: each one's deletion and its completion message
    /// are one atomic write. Returns how many fired and when the next one is due.
    fn fire_timers(
        &self,
        now: Millis,
    ) -> impl Future<Output = Result<(usize, Option<Millis>), StoreError>> + Send;
}

/// A shared store: several runtimes (or a runtime and a test) on the same data.
impl<S: Store> Store for std::sync::Arc<S> {
    fn part_reader(&self) -> Option<PartReader> {
        (**self).part_reader()
    }

    fn work_queued(&self, work: Work) -> impl Future<Output = ()> + Send {
        (**self).work_queued(work)
    }

    fn watch_end(&self, id: &str) -> Option<EndWatch<'_>> {
        (**self).watch_end(id)
    }

    fn poll_interval(&self) -> Duration {
        (**self).poll_interval()
    }

    fn create(
        &self,
        record: InstanceRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).create(record)
    }

    fn instance(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<InstanceRecord>, StoreError>> + Send {
        (**self).instance(id)
    }

    fn send(
        &self,
        id: &str,
        message: Message,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).send(id, message)
    }

    fn tasks(&self, id: &str) -> impl Future<Output = Result<InstanceTasks, StoreError>> + Send {
        (**self).tasks(id)
    }

    fn list(
        &self,
        filter: &InstanceFilter,
        page: &Page,
    ) -> impl Future<Output = Result<Vec<InstanceRecord>, StoreError>> + Send {
        (**self).list(filter, page)
    }

    fn purge(&self, id: &str) -> impl Future<Output = Result<Purge, StoreError>> + Send {
        (**self).purge(id)
    }

    fn ended_before(
        &self,
        before: Millis,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send {
        (**self).ended_before(before, limit)
    }

    fn lock_instance(
        &self,
        lease: Duration,
    ) -> impl Future<Output = Result<Option<LockedInstance>, StoreError>> + Send {
        (**self).lock_instance(lease)
    }

    fn commit_step(
        &self,
        lease: &Lease,
        commit: StepCommit,
    ) -> impl Future<Output = Result<Committed, StoreError>> + Send {
        (**self).commit_step(lease, commit)
    }

    fn abandon_instance(
        &self,
        id: &str,
        lease: &Lease,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).abandon_instance(id, lease)
    }

    fn lock_activity(
        &self,
        lease: Duration,
    ) -> impl Future<Output = Result<Option<LockedActivity>, StoreError>> + Send {
        (**self).lock_activity(lease)
    }

    fn renew_activity(
        &self,
        locked: &LockedActivity,
        lease: Duration,
    ) -> impl Future<Output = Result<Lease, StoreError>> + Send {
        (**self).renew_activity(locked, lease)
    }

    fn complete_activity(
        &self,
        locked: &LockedActivity,
        result: TaskResult,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).complete_activity(locked, result)
    }

    fn claim_with_result(
        &self,
        locked: &LockedActivity,
        result: &TaskResult,
        lease: Duration,
    ) -> impl Future<Output = Result<Option<LockedInstance>, StoreError>> + Send {
        (**self).claim_with_result(locked, result, lease)
    }

    fn fire_timers(
        &self,
        now: Millis,
    ) -> impl Future<Output = Result<(usize, Option<Millis>), StoreError>> + Send {
        (**self).fire_timers(now)
    }

    fn retry_activity(
        &self,
        locked: &LockedActivity,
        not_before: Millis,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).retry_activity(locked, not_before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_own_code_in_the_order_of_all() {
        let codes: Vec<u8> = RuntimeStatus::ALL
            .into_iter()
            .map(RuntimeStatus::code)
            .collect();
        assert_eq!(
            codes,
            (0..RuntimeStatus::ALL.len() as u8).collect::<Vec<_>>()
        );
    }
}
