//! One step of a claimed instance: apply its messages, run its machine if what it waits
//! for has arrived, and commit the outcome with everything the step scheduled.
//!
//! A step the registered code cannot run (no code for the instance's name and version,
//! a checkpoint it cannot resume) blocks the instance instead: the record keeps its
//! checkpoint, and the start, results and events the step would have taken stay queued
//! or buffered, so that code that can resume it finds everything where it was.

use std::collections::HashSet;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use tracing::{debug, field, info_span, warn, Span};

use crate::op::child_id;
use crate::orchestration::{OrchestrationContext, Step, StepInput};
use crate::point::{split, Saved};
use crate::registry::Registry;
use crate::shared::Shared;
use crate::store::{
    now_millis, ActivityTask, Changed, InstanceRecord, LockedInstance, Message, PartReader,
    RuntimeStatus, StepCommit, Store, TimerTask, ALL_PARTS, DIRECT,
};
use crate::task::{Command, Completions, TaskId, TaskResult};

/// What one step writes besides the record.
#[derive(Default)]
struct Outbox {
    consumed: Vec<u64>,
    parts: Vec<(u64, Option<Vec<u8>>)>,
    dropped_parts: Vec<Range<u64>>,
    activities: Vec<ActivityTask>,
    timers: Vec<TimerTask>,
    messages: Vec<(String, Message)>,
    children: Vec<InstanceRecord>,
    cancelled: Vec<TaskId>,
    changed: Changed,
}

/// The span of one step of `record`'s instance: which instance and code, the resume
/// point it starts from (`from`); once known, the point it stops at (`to`), its status
/// and the size of its checkpoint (`checkpoint_bytes`).
pub(super) fn step_span(record: &InstanceRecord) -> Span {
    let span = info_span!(
        "step",
        instance = %record.id,
        orchestration = %record.name,
        version = record.version,
        from = point_of(record),
        to = field::Empty,
        status = field::Empty,
        checkpoint_bytes = field::Empty,
    );
    super::trace::join(&span, &record.id);
    span
}

/// Where `record`'s checkpoint waits, as the code that saved it describes the point
/// (the awaited expression and its line and column).
fn point_of(record: &InstanceRecord) -> &str {
    match record.state.as_deref().map(split) {
        None => "start",
        Some(Ok(Saved::Point(header, _))) => header.label,
        Some(Ok(Saved::Legacy)) => "a checkpoint in the first format",
        Some(Err(_)) => "a checkpoint that cannot be read",
    }
}

/// Runs one step of a claimed instance and commits it.
pub(super) async fn run_step<S: Store>(shared: &Shared<S>, locked: LockedInstance) {
    let LockedInstance {
        mut record,
        messages,
        lease,
        activity,
        parts,
    } = locked;
    let mut out = Outbox::default();
    // a result handed over directly that the step does not take (it was suspended, or
    // still waits for more) is queued by the commit that completes its call
    let direct = activity.as_ref().and_then(|_| {
        let (_, message) = messages.iter().find(|(seq, _)| *seq == DIRECT)?;
        Some(message.clone())
    });
    let was_ended = record.status.is_terminal();
    if was_ended {
        out.consumed = messages.iter().map(|(seq, _)| *seq).collect();
    } else {
        advance(
            &shared.registry,
            &reading_first(&shared.parts, parts),
            &mut record,
            messages,
            &mut out,
        );
    }
    if let Some(message) = direct.filter(|_| !out.consumed.contains(&DIRECT)) {
        out.messages.push((record.id.clone(), message));
    }
    let ended = record.status.is_terminal();
    if ended && !record.events.is_empty() {
        // nothing takes them any more: an ended record does not carry them along
        record.events.clear();
        out.changed.events = true;
    }
    if !ended || !was_ended {
        // an ended instance that only drops late messages keeps the time it ended
        record.updated = now_millis();
    }
    let span = Span::current();
    if !span.is_disabled() {
        // read only when someone listens: a step with no subscriber parses nothing
        span.record("to", point_of(&record));
        span.record("status", field::debug(record.status));
        span.record(
            "checkpoint_bytes",
            record.state.as_ref().map_or(0, Vec::len),
        );
    }
    let (scheduled, timed) = (out.activities.len(), !out.timers.is_empty());
    let sends = !out.messages.is_empty() || !out.children.is_empty();
    let ended = ended.then(|| record.id.clone());
    out.consumed.retain(|seq| *seq != DIRECT); // never queued
    let commit = StepCommit {
        record,
        activity,
        consumed: out.consumed,
        activities: out.activities,
        timers: out.timers,
        messages: out.messages,
        children: out.children,
        cancelled: out.cancelled,
        parts: out.parts,
        dropped_parts: out.dropped_parts,
        changed: out.changed,
    };
    match shared.store.commit_step(&lease, commit).await {
        Ok(committed) => {
            // as many idle workers as there are new calls, not all of them: the rest
            // would only contend for the store to find nothing
            for _ in 0..scheduled.min(shared.activity_workers) {
                shared.activity_work.notify_one();
            }
            if timed {
                shared.timer_work.notify_one();
            }
            if let Some(id) = ended {
                shared.ends.ended(&id);
            }
            if sends || committed.more_queued {
                shared.instance_work.notify_one();
            }
            debug!(calls = scheduled, "step committed");
        }
        Err(e) => warn!("step not committed: {e}"),
    }
}

/// `reader`, answering first from `read`: the parts the store read with the claim.
fn reading_first(reader: &Option<PartReader>, read: Vec<(u64, Vec<u8>)>) -> Option<PartReader> {
    let reader = reader.clone()?;
    if read.is_empty() {
        return Some(reader);
    }
    let read = Mutex::new(read);
    Some(PartReader(Arc::new(move |instance: &str, key: u64| {
        let taken = {
            // a poisoned lock only means a panic elsewhere mid-update of a plain list
            let mut read = read.lock().unwrap_or_else(|p| p.into_inner());
            let at = read.iter().position(|(k, _)| *k == key);
            at.map(|at| read.swap_remove(at).1)
        };
        match taken {
            Some(bytes) => Ok(Some(bytes)),
            None => (reader.0)(instance, key),
        }
    })))
}

/// Applies an instance's messages: commands first, then buffers events, drops results
/// nobody waits for, and runs the machine if it starts or its wake condition holds.
fn advance(
    registry: &Registry,
    parts: &Option<PartReader>,
    record: &mut InstanceRecord,
    messages: Vec<(u64, Message)>,
    out: &mut Outbox,
) {
    let (control, messages): (Vec<_>, Vec<_>) =
        messages.into_iter().partition(|(_, m)| m.is_control());
    apply_control(record, control, out);
    if record.status.is_terminal() {
        out.consumed.extend(messages.iter().map(|(seq, _)| *seq));
        return;
    }
    if record.status.waits_for_command() {
        return; // the rest waits in the inbox until the instance is resumed or retried
    }
    let buffered = record.events.len();
    let arrived = sort_inbox(record, messages, out);
    let matched = match_events(record);
    // events taken are put back at the front when the step does not use them: their
    // order may change even when their number does not
    out.changed.events = record.events.len() != buffered || !matched.is_empty();
    if !is_ready(record, &arrived, &matched) {
        // a start that does not start (the instance has a checkpoint) was a nudge to
        // look again: looked at, it is taken, or the instance would be stepped anew
        // until what it waits for arrives
        out.consumed.extend(arrived.start);
        unread_events(record, matched, |_| true);
        return;
    }
    let mut completions = Completions::new();
    for (_, task, result) in &arrived.results {
        completions.insert(*task, result.clone());
    }
    for (task, _, payload) in &matched {
        completions.insert(*task, Ok(payload.clone()));
    }
    let start = arrived.start.is_some();
    let ran = run_machine(registry, parts, record, start, &mut completions);
    let step = match ran.outcome {
        Outcome::Block(reason) => {
            warn!("instance blocked: {reason}");
            unread_events(record, matched, |_| true);
            record.status = RuntimeStatus::Blocked;
            record.error = Some(reason);
            return;
        }
        // the last checkpoint stays, and with it the version that saved it
        Outcome::Fail(error) => Err(error),
        Outcome::Step(step) => {
            record.version = ran.version;
            out.parts = ran.parts;
            out.dropped_parts = ran.dropped_parts;
            Ok(step)
        }
    };
    out.consumed.extend(arrived.start);
    out.consumed
        .extend(arrived.results.iter().map(|(seq, _, _)| *seq));
    let still_awaited: HashSet<TaskId> = match &step {
        Ok(Step::Suspended(s)) => s.wake.tasks().into_iter().collect(),
        _ => HashSet::new(),
    };
    cancel_losers(record, &arrived, &matched, &still_awaited, out);
    // an event the machine did not take (its side of a race lost) is still unread
    unread_events(record, matched, |task| completions.contains(task));
    record.next_task = ran.next_task;
    if ran.custom_status.is_some() {
        record.custom_status = ran.custom_status;
        out.changed.custom_status = true;
    }
    record.event_waits.clear();
    record_step(record, step, out);
    if !record.status.is_terminal() {
        schedule(record, ran.commands, out);
    }
}

/// Applies terminate, suspend, resume and retry.
fn apply_control(record: &mut InstanceRecord, control: Vec<(u64, Message)>, out: &mut Outbox) {
    for (seq, message) in control {
        out.consumed.push(seq);
        match message {
            Message::Terminate { reason } if !record.status.is_terminal() => {
                if let Some(wake) = &record.wake {
                    out.cancelled = wake.tasks();
                    let why = format!("its parent `{}` was terminated", record.id);
                    terminate_children(record, out, &why);
                }
                record.status = RuntimeStatus::Terminated;
                record.error = Some(reason);
                record.state = None;
                out.dropped_parts.push(ALL_PARTS);
                record.wake = None;
                record.event_waits.clear();
                notify_parent(record, out);
            }
            // a blocked instance waits for code, not for a resume
            Message::Suspend
                if !record.status.is_terminal() && record.status != RuntimeStatus::Blocked =>
            {
                record.status = RuntimeStatus::Suspended;
            }
            Message::Resume if record.status == RuntimeStatus::Suspended => {
                record.status = waiting_status(record);
            }
            Message::Retry if record.status == RuntimeStatus::Blocked => {
                record.status = waiting_status(record);
                record.error = None;
            }
            _ => {}
        }
    }
}

/// The status of an instance that may take a step: started or not.
fn waiting_status(record: &InstanceRecord) -> RuntimeStatus {
    match record.state {
        Some(_) => RuntimeStatus::Running,
        None => RuntimeStatus::Pending,
    }
}

/// What arrived that a step may take: its start, and the results its checkpoint waits
/// for, each with its sequence number (consumed only if the machine runs).
struct Arrived {
    start: Option<u64>,
    results: Vec<(u64, TaskId, TaskResult)>,
}

/// Sorts the non-command messages: buffers events and drops results nobody waits for
/// (both consumed now), and keeps the start and awaited results aside.
fn sort_inbox(
    record: &mut InstanceRecord,
    messages: Vec<(u64, Message)>,
    out: &mut Outbox,
) -> Arrived {
    let mut arrived = Arrived {
        start: None,
        results: Vec::new(),
    };
    for (seq, message) in messages {
        match message {
            Message::Start => {
                if let Some(earlier) = arrived.start.replace(seq) {
                    out.consumed.push(earlier);
                }
            }
            Message::TaskCompleted { task, result } => {
                if record.wake.as_ref().is_some_and(|w| w.waits_for(task)) {
                    arrived.results.push((seq, task, result));
                } else {
                    debug!(task = task.0, "dropping a result nobody waits for");
                    out.consumed.push(seq);
                }
            }
            Message::Event { name, payload } => {
                // the store bounds what is raised (limits::MAX_BUFFERED_EVENTS), so
                // buffering never drops one
                out.consumed.push(seq);
                record.events.push((name, payload));
            }
            Message::Terminate { .. } | Message::Suspend | Message::Resume | Message::Retry => {}
        }
    }
    arrived
}

/// Takes buffered events for the checkpoint's event waits, first in first out per name.
fn match_events(record: &mut InstanceRecord) -> Vec<(TaskId, String, Vec<u8>)> {
    let mut matched = Vec::new();
    for (name, task) in &record.event_waits {
        if let Some(i) = record.events.iter().position(|(n, _)| n == name) {
            let (name, payload) = record.events.remove(i);
            matched.push((*task, name, payload));
        }
    }
    matched
}

/// Puts the matched events for which `unread` holds back at the front of the buffer.
fn unread_events(
    record: &mut InstanceRecord,
    matched: Vec<(TaskId, String, Vec<u8>)>,
    unread: impl Fn(TaskId) -> bool,
) {
    for (task, name, payload) in matched.into_iter().rev() {
        if unread(task) {
            record.events.insert(0, (name, payload));
        }
    }
}

/// Whether the machine runs: the instance starts, or its wake condition holds.
fn is_ready(
    record: &InstanceRecord,
    arrived: &Arrived,
    matched: &[(TaskId, String, Vec<u8>)],
) -> bool {
    let has = |t: TaskId| {
        arrived.results.iter().any(|(_, r, _)| *r == t) || matched.iter().any(|(m, _, _)| *m == t)
    };
    match (&record.state, &record.wake) {
        (None, _) => arrived.start.is_some(),
        (Some(_), Some(wake)) => wake.is_ready(has),
        (Some(_), None) => false,
    }
}

/// What the last checkpoint waited for, did not get, and the new checkpoint no longer
/// waits for (a task set waits for the rest again) lost a race: its timers, queued
/// calls and sub-orchestrations go.
fn cancel_losers(
    record: &InstanceRecord,
    arrived: &Arrived,
    matched: &[(TaskId, String, Vec<u8>)],
    still_awaited: &HashSet<TaskId>,
    out: &mut Outbox,
) {
    let Some(wake) = &record.wake else { return };
    let got: HashSet<TaskId> = arrived
        .results
        .iter()
        .map(|(_, t, _)| *t)
        .chain(matched.iter().map(|(t, _, _)| *t))
        .collect();
    out.cancelled = wake
        .tasks()
        .into_iter()
        .filter(|t| !got.contains(t) && !still_awaited.contains(t))
        .collect();
    let why = format!("its parent `{}` no longer waits for it", record.id);
    terminate_children(record, out, &why);
}

/// Records how the machine's run ended.
fn record_step(record: &mut InstanceRecord, step: Result<Step, String>, out: &mut Outbox) {
    match step {
        Ok(Step::Suspended(suspension)) => {
            if suspension.wake.is_ready(|_| false) {
                // waits for nothing (an empty join): step again at once
                out.messages.push((record.id.clone(), Message::Start));
            }
            record.status = RuntimeStatus::Running;
            record.state = Some(suspension.state);
            record.wake = Some(suspension.wake);
        }
        Ok(Step::Completed(output)) => {
            record.status = RuntimeStatus::Completed;
            record.output = Some(output);
            out.changed.output = true;
            record.state = None;
            record.wake = None;
        }
        Ok(Step::Failed(message)) | Err(message) => {
            // the last checkpoint stays, for a look at where it was
            record.status = RuntimeStatus::Failed;
            record.error = Some(message);
            record.wake = None;
        }
    }
    if record.status.is_terminal() {
        notify_parent(record, out);
    }
}

/// Turns the commands of a step into the work its commit schedules.
fn schedule(record: &mut InstanceRecord, commands: Vec<Command>, out: &mut Outbox) {
    for command in commands {
        match command {
            Command::CallActivity {
                task,
                name,
                input,
                retry,
                timeout,
            } => out.activities.push(ActivityTask {
                instance: record.id.clone(),
                task,
                name: name.to_owned(),
                input,
                attempt: 1,
                retry,
                timeout,
                not_before: 0,
            }),
            Command::StartTimer { task, due } => out.timers.push(TimerTask {
                due,
                instance: record.id.clone(),
                task,
            }),
            Command::StartChild {
                task,
                name,
                version,
                id,
                input,
            } => {
                let parent = Some((record.id.clone(), task));
                let child = InstanceRecord::new(id, name, version, input, parent);
                out.children.push(child);
            }
            Command::WaitEvent { task, name } => {
                if record.events.iter().any(|(n, _)| *n == name) {
                    // already raised: step again at once to take it
                    out.messages.push((record.id.clone(), Message::Start));
                }
                record.event_waits.push((name, task));
            }
        }
    }
}

/// Terminates the sub-orchestrations among the cancelled tasks (the store drops the
/// message for tasks that are not children: no instance has their id).
fn terminate_children(record: &InstanceRecord, out: &mut Outbox, reason: &str) {
    for task in &out.cancelled {
        let reason = reason.to_owned();
        let child = child_id(&record.id, *task);
        out.messages.push((child, Message::Terminate { reason }));
    }
}

/// Tells the parent of a sub-orchestration that it ended.
fn notify_parent(record: &InstanceRecord, out: &mut Outbox) {
    if let Some((parent, task)) = &record.parent {
        let result = match (&record.output, &record.error) {
            (Some(output), _) => Ok(output.clone()),
            (None, error) => Err(error.clone().unwrap_or_default()),
        };
        let message = Message::TaskCompleted {
            task: *task,
            result,
        };
        out.messages.push((parent.clone(), message));
    }
}

/// How running the machine ended.
enum Outcome {
    Step(Step),
    /// User code panicked, or an event payload was of the wrong type.
    Fail(String),
    /// The registered code cannot run this instance as stored.
    Block(String),
}

/// A run of the machine, with what its context collected.
struct Ran {
    outcome: Outcome,
    /// The version of the code that ran.
    version: u32,
    next_task: u64,
    commands: Vec<Command>,
    custom_status: Option<Vec<u8>>,
    parts: Vec<(u64, Option<Vec<u8>>)>,
    dropped_parts: Vec<Range<u64>>,
}

/// Runs the code registered for the instance's name and version; a panic in user code
/// fails the instance instead of the worker.
fn run_machine(
    registry: &Registry,
    parts: &Option<PartReader>,
    record: &InstanceRecord,
    start: bool,
    completions: &mut Completions,
) -> Ran {
    let blocked = |reason| Ran {
        outcome: Outcome::Block(reason),
        version: record.version,
        next_task: record.next_task,
        commands: Vec::new(),
        custom_status: None,
        parts: Vec::new(),
        dropped_parts: Vec::new(),
    };
    let code = match registry.orchestration(&record.name, record.version) {
        Ok(code) => code,
        Err(reason) => return blocked(reason),
    };
    if code.from.is_some() && record.state.is_none() {
        let (name, version) = (&record.name, record.version);
        return blocked(format!(
            "orchestration `{name}` version {version} is not registered with this runtime, \
             and the instance has not started: a migration moves a checkpoint, and it has \
             none. Register version {version} again, or terminate the instance and start it \
             anew"
        ));
    }
    let step = code.step;
    let ctx = OrchestrationContext::new(record.id.clone(), record.next_task, now_millis())
        .with_parts(parts.clone());
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| match (&record.state, code.from) {
        (None, _) if start => Some(step(
            &ctx,
            StepInput::Start {
                input: &record.input,
            },
        )),
        (Some(state), None) => Some(step(&ctx, StepInput::Resume { state, completions })),
        (Some(state), Some(from)) => Some(step(
            &ctx,
            StepInput::Migrate {
                from,
                state,
                completions,
            },
        )),
        (None, _) => None,
    }));
    let outcome = match result {
        Ok(Some(Ok(step))) => Outcome::Step(step),
        Ok(Some(Err(error))) if error.blocks() => Outcome::Block(error.to_string()),
        Ok(Some(Err(error))) => Outcome::Fail(error.to_string()),
        Ok(None) => Outcome::Block(
            "the instance has results but neither a start nor a checkpoint (its record was \
             changed outside durable)"
                .into(),
        ),
        Err(panic) => Outcome::Fail(format!(
            "the orchestration panicked: {}",
            panic_message(&*panic)
        )),
    };
    Ran {
        outcome,
        version: code.version,
        next_task: ctx.next_task(),
        commands: ctx.take_commands(),
        custom_status: ctx.take_custom_status(),
        parts: ctx.take_part_writes(),
        dropped_parts: ctx.take_part_drops(),
    }
}

/// The message of a panic payload, for the error of what panicked.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".into())
}
