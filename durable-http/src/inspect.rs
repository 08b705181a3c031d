//! The JSON view of an inspection (`GET /instances/{id}/state`): the status, and where
//! the instance waits, on what, with which locals.

use durable_core::inspect::{Awaited, CallState, Decoded, Local, Shown, Waiting};
use durable_core::Inspection;
use serde_json::{json, Map, Value};

use crate::convert::Conversions;
use crate::status::{format_time, instance_json};

/// `inspection` as JSON: the status object of `GET /instances/{id}`, with `waiting`
/// and `events`.
pub(crate) fn inspection_json(inspection: &Inspection, types: Option<&Conversions>) -> Value {
    // the input as the instance's code shows it (decoded once, here), else as the API's
    // registered types do
    let mut body = instance_json(&inspection.status, types, inspection.input.is_none());
    if let Some(input) = &inspection.input {
        let (key, value) = shown(input);
        body[if key == "value" {
            "input"
        } else {
            "inputUnshowable"
        }] = value;
    }
    body["waiting"] = inspection
        .waiting
        .as_ref()
        .map_or(Value::Null, waiting_json);
    body["events"] = inspection
        .events
        .iter()
        .map(|(name, bytes)| json!({ "name": name, "bytes": bytes }))
        .collect();
    body
}

fn waiting_json(waiting: &Waiting) -> Value {
    let (awaits, locals, error) = match &waiting.decoded {
        Ok(Decoded { awaits, locals, .. }) => (
            awaited_json(awaits),
            locals.iter().map(local_json).collect(),
            Value::Null,
        ),
        Err(why) => (Value::Null, Vec::new(), Value::from(why.as_str())),
    };
    json!({
        "at": {
            "expression": waiting.at.expression,
            "file": waiting.at.file,
            "line": waiting.at.line,
            "column": waiting.at.column,
        },
        "point": format!("{:016x}", waiting.point),
        "fingerprint": waiting.fingerprint,
        "checkpointBytes": waiting.checkpoint_bytes,
        "awaits": awaits,
        "locals": locals,
        "error": error,
    })
}

fn local_json(local: &Local) -> Value {
    let mut entry = Map::new();
    entry.insert("name".into(), local.name.into());
    entry.insert("type".into(), local.type_name.into());
    let (key, value) = shown(&local.value);
    entry.insert(key.into(), value);
    Value::Object(entry)
}

/// A shown value under `value`, or why not under `unshowable`.
fn shown(value: &Shown) -> (&'static str, Value) {
    match value {
        Shown::Value(value) => ("value", value.clone()),
        Shown::Unshowable(why) => ("unshowable", Value::from(why.as_str())),
    }
}

fn awaited_json(awaited: &Awaited) -> Value {
    let time = |at: &Option<u64>| at.map_or(Value::Null, |ms| format_time(ms).into());
    match awaited {
        Awaited::Activity {
            task,
            name,
            input,
            attempt,
            state,
            not_before,
        } => json!({
            "kind": "activity",
            "task": task.0,
            "name": name,
            "input": match input {
                Some(Shown::Value(v)) => v.clone(),
                _ => Value::Null,
            },
            "inputUnshowable": match input {
                Some(Shown::Unshowable(why)) => Value::from(why.as_str()),
                _ => Value::Null,
            },
            "attempt": attempt,
            "state": match state {
                CallState::Queued => "queued",
                CallState::Running => "running",
                CallState::Retrying => "retrying",
                CallState::Completed => "completed",
            },
            "notBefore": time(not_before),
        }),
        Awaited::Timer { task, due } => {
            json!({ "kind": "timer", "task": task.0, "due": time(due) })
        }
        Awaited::Event { task, name } => json!({ "kind": "event", "task": task.0, "name": name }),
        Awaited::Child {
            task,
            id,
            orchestration,
        } => json!({
            "kind": "child",
            "task": task.0,
            "id": id,
            "orchestration": orchestration,
        }),
        Awaited::All(of) => {
            json!({ "kind": "all", "of": of.iter().map(awaited_json).collect::<Vec<_>>() })
        }
        Awaited::Any(of) => {
            json!({ "kind": "any", "of": of.iter().map(awaited_json).collect::<Vec<_>>() })
        }
        Awaited::Function { name, waiting } => {
            json!({ "kind": "function", "name": name, "waiting": waiting_json(waiting) })
        }
        Awaited::Returned { name } => json!({ "kind": "returned", "name": name }),
        Awaited::Other { type_name } => json!({ "kind": "other", "type": type_name }),
    }
}
