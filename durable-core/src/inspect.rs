//! Inspection: where a suspended instance waits, on what, and with which locals.
//!
//! Other engines can show only an event history. A checkpoint here names its resume
//! point (the `.await` as written, and where) and holds the live locals, so inspection
//! decodes it with the instance's own code: the generated machine runs in a mode that
//! reads the checkpoint at its point and stops there, before any user code, and each
//! waiter says what it waits for. Nothing is written: inspecting never changes the
//! instance.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::codec;
use crate::orchestration::{OrchestrationContext, StepError, StepInput};
use crate::point::{self, Saved};
use crate::store::{InstanceTasks, Millis, QueuedActivity};
use crate::task::TaskId;

/// A value as JSON, or why it cannot be shown as JSON (a map with keys that are not
/// strings, a type whose `Serialize` refuses): inspection never fails on one value.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    Value(Value),
    Unshowable(String),
}

impl Shown {
    /// `value` as JSON.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_value(value) {
            Ok(json) => Shown::Value(json),
            Err(e) => Shown::Unshowable(format!("cannot be shown as JSON: {e}")),
        }
    }

    /// A payload encoded with [`codec::encode_payload`], decoded as `T`.
    pub fn payload<T: Serialize + serde::de::DeserializeOwned>(bytes: &[u8]) -> Self {
        match codec::decode_payload::<T>(bytes, std::any::type_name::<T>()) {
            Ok(value) => Shown::of(&value),
            Err(e) => Shown::Unshowable(e.to_string()),
        }
    }
}

/// A live local of a suspended machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Local {
    pub name: &'static str,
    /// Its Rust type, as `std::any::type_name` names it.
    pub type_name: &'static str,
    pub value: Shown,
}

/// Where in the source an `.await` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    /// The awaited expression as written.
    pub expression: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl At {
    /// Reads a resume point's label, `expression at line L:C` (or `at file:L:C`); the
    /// file is filled in from the code that reads the checkpoint. A label in another
    /// form is kept whole as the expression.
    pub fn parse(label: &str) -> Self {
        let whole = || At {
            expression: label.to_owned(),
            file: String::new(),
            line: 0,
            column: 0,
        };
        let Some((expression, place)) = label.rsplit_once(" at ") else {
            return whole();
        };
        let place = place.strip_prefix("line ").unwrap_or(place);
        let mut parts = place.rsplitn(3, ':');
        let (Some(column), Some(line)) = (parts.next(), parts.next()) else {
            return whole();
        };
        let (Ok(column), Ok(line)) = (column.parse(), line.parse()) else {
            return whole();
        };
        At {
            expression: expression.to_owned(),
            file: parts.next().unwrap_or_default().to_owned(),
            line,
            column,
        }
    }
}

/// What a suspended machine (an orchestration, or a durable function inside one) waits
/// at.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub at: At,
    /// The identity of the resume point.
    pub point: u64,
    /// The layout the checkpoint was saved with: the hash of the awaited operation's
    /// type and of each saved local's name and type, as hex.
    pub fingerprint: String,
    /// The size of the checkpoint.
    pub checkpoint_bytes: usize,
    /// What it waits for and its live locals, or why this code cannot read them.
    pub decoded: Result<Decoded, String>,
}

/// What the instance's code read from a checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub awaits: Awaited,
    pub locals: Vec<Local>,
    /// The source file of the `.await`, which the checkpoint does not carry.
    pub file: &'static str,
}

/// The state of an activity call an instance waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Queued, not claimed by a worker yet.
    Queued,
    /// A worker runs it.
    Running,
    /// An attempt failed; the next waits for its backoff or a worker.
    Retrying,
    /// Its result is in and waits for the next step to take it.
    Completed,
}

/// What an outstanding operation waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum Awaited {
    Activity {
        task: TaskId,
        name: &'static str,
        /// The input and attempt of a call still queued.
        input: Option<Shown>,
        attempt: Option<u32>,
        state: CallState,
        /// Not run before this time (a retry's backoff).
        not_before: Option<Millis>,
    },
    Timer {
        task: TaskId,
        /// When it fires; `None` once it fired.
        due: Option<Millis>,
    },
    Event {
        task: TaskId,
        name: String,
    },
    Child {
        task: TaskId,
        id: String,
        orchestration: &'static str,
    },
    /// Every one of these (a join).
    All(Vec<Awaited>),
    /// The first of these (a race).
    Any(Vec<Awaited>),
    /// A durable function, suspended at an `.await` of its own.
    Function {
        name: &'static str,
        waiting: Box<Waiting>,
    },
    /// A durable function that returned; the caller takes its result next step.
    Returned {
        name: &'static str,
    },
    /// An operation that does not describe itself, by its type.
    Other {
        type_name: &'static str,
    },
}

/// What a waiter can look up while it describes itself: the instance's queued calls
/// and timers, by task.
pub struct Lookup<'a> {
    pub(crate) tasks: &'a InstanceTasks,
    calls: HashMap<TaskId, &'a QueuedActivity>,
    timers: HashMap<TaskId, Millis>,
}

impl<'a> Lookup<'a> {
    pub(crate) fn new(tasks: &'a InstanceTasks) -> Self {
        Self {
            tasks,
            calls: tasks.activities.iter().map(|a| (a.task.task, a)).collect(),
            timers: tasks.timers.iter().map(|t| (t.task, t.due)).collect(),
        }
    }

    /// The queued call of `task`, if it is still queued.
    pub fn call(&self, task: TaskId) -> Option<&QueuedActivity> {
        self.calls.get(&task).copied()
    }

    /// When the timer of `task` is due, if it has not fired.
    pub fn timer(&self, task: TaskId) -> Option<Millis> {
        self.timers.get(&task).copied()
    }
}

/// Reads checkpoint `state` for inspection with `step`, the code of the machine that
/// saved it (or why there is none): where it waits from the checkpoint's header, and
/// what it waits for and its locals from the code.
pub(crate) fn read<T>(
    ctx: &OrchestrationContext,
    state: &[u8],
    lookup: &Lookup<'_>,
    step: Result<impl FnOnce(&OrchestrationContext, StepInput<'_>) -> Result<T, StepError>, String>,
) -> Waiting {
    let header = match point::split(state) {
        Ok(Saved::Point(header, _)) => header,
        Ok(Saved::Legacy) => {
            return unreadable(
                state,
                "a checkpoint of the first format, which names no point",
            )
        }
        Err(e) => return unreadable(state, &e.to_string()),
    };
    let decoded = step.and_then(|step| {
        let stepped = step(
            ctx,
            StepInput::Inspect {
                state,
                tasks: lookup.tasks,
            },
        );
        match (stepped, ctx.take_inspected()) {
            (_, Some(decoded)) => Ok(decoded),
            (Err(e), None) => Err(e.to_string()),
            (Ok(_), None) => Err("the code did not stop at the checkpoint's point".into()),
        }
    });
    let mut at = At::parse(header.label);
    if let Ok(decoded) = &decoded {
        decoded.file.clone_into(&mut at.file);
    }
    Waiting {
        at,
        point: header.id,
        fingerprint: header.fingerprint(),
        checkpoint_bytes: state.len(),
        decoded,
    }
}

/// A checkpoint whose point cannot be read, and why.
pub(crate) fn unreadable(state: &[u8], why: &str) -> Waiting {
    Waiting {
        at: At {
            expression: "an unreadable point".into(),
            file: String::new(),
            line: 0,
            column: 0,
        },
        point: 0,
        fingerprint: String::new(),
        checkpoint_bytes: state.len(),
        decoded: Err(why.to_owned()),
    }
}

/// An instance as inspection shows it: its status and, while it waits at an `.await`,
/// where and with what.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub status: crate::client::InstanceStatus,
    /// The input as JSON, when this runtime registers the instance's code.
    pub input: Option<Shown>,
    /// Where it waits; `None` when it has no checkpoint (not started, or ended).
    pub waiting: Option<Waiting>,
    /// Events raised while nothing waited for them, oldest first: name and size.
    pub events: Vec<(String, usize)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_into_expression_and_place() {
        let at = At::parse("ctx.call(pay, amount) at src/main.rs:19:31");
        assert_eq!(at.expression, "ctx.call(pay, amount)");
        assert_eq!(
            (at.file.as_str(), at.line, at.column),
            ("src/main.rs", 19, 31)
        );
        let old = At::parse("ctx.timer(d) at line 4:7");
        assert_eq!(
            (old.expression.as_str(), old.line, old.column),
            ("ctx.timer(d)", 4, 7)
        );
        assert_eq!(old.file, "");
        let odd = At::parse("no place");
        assert_eq!(odd.expression, "no place");
    }

    #[test]
    fn a_value_json_cannot_hold_is_unshowable_not_an_error() {
        let mut map = std::collections::BTreeMap::new();
        map.insert((1, 2), "pair keys");
        assert!(matches!(Shown::of(&map), Shown::Unshowable(_)));
        assert_eq!(Shown::of(&3u8), Shown::Value(Value::from(3)));
    }
}
