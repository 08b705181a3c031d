//! `inspect` for people: the status, then where the instance waits as an indented
//! tree (the `.await`, what it awaits, its live locals) and the events buffered for it.
//!
//! ```text
//! waiting at examples/human_interaction.rs:39:15
//!   select(ctx.timer(timeout), ctx.event::<u32>("code"))
//!   checkpoint 123 bytes (resume point c4f2…, layout 9a8b…)
//!   awaits
//!     first of
//!       timer #2 due 2026-11-27T07:15:17.123Z
//!       event #3 `code`
//!   locals
//!     attempt: u32 = 1
//! ```

use serde_json::Value;

use crate::show::{status_fields, text};
use crate::table::fields;

/// The most characters of a payload or local shown on its line: a tree line stays
/// readable when a local holds a large collection. `--json` shows them whole.
const VALUE_WIDTH: usize = 120;

/// The state object (`GET /instances/{id}/state`) as text.
pub fn state(state: &Value) -> String {
    let mut out = fields(&status_fields(state));
    out.push('\n');
    match state.get("waiting") {
        Some(waiting) if !waiting.is_null() => waiting_at(waiting, 0, "waiting", &mut out),
        _ => line(
            &mut out,
            0,
            "not waiting at an `.await` (not started yet, or ended)",
        ),
    }
    let events = state.get("events").and_then(Value::as_array);
    if let Some(events) = events.filter(|e| !e.is_empty()) {
        line(&mut out, 0, "buffered events");
        for event in events {
            let bytes = text(event, "bytes");
            let name = text(event, "name");
            line(&mut out, 1, &format!("`{name}` ({bytes} bytes)"));
        }
    }
    out
}

/// A `waiting` object: where, the checkpoint, what it awaits and its locals. `title`
/// starts the first line (`waiting`, or the function that waits).
fn waiting_at(waiting: &Value, depth: usize, title: &str, out: &mut String) {
    let at = waiting.get("at").unwrap_or(&Value::Null);
    let place = format!(
        "{}:{}:{}",
        text(at, "file"),
        text(at, "line"),
        text(at, "column")
    );
    line(out, depth, &format!("{title} at {place}"));
    line(out, depth + 1, &text(at, "expression"));
    line(
        out,
        depth + 1,
        &format!(
            "checkpoint {} bytes (resume point {}, layout {})",
            text(waiting, "checkpointBytes"),
            text(waiting, "point"),
            text(waiting, "fingerprint")
        ),
    );
    if waiting.get("error").is_some_and(|e| !e.is_null()) {
        let why = text(waiting, "error");
        line(
            out,
            depth + 1,
            &format!("cannot read the checkpoint: {why}"),
        );
    }
    if let Some(awaited) = waiting.get("awaits").filter(|a| !a.is_null()) {
        line(out, depth + 1, "awaits");
        awaits(awaited, depth + 2, out);
    }
    let locals = waiting.get("locals").and_then(Value::as_array);
    if let Some(locals) = locals.filter(|l| !l.is_empty()) {
        line(out, depth + 1, "locals");
        for local in locals {
            line(out, depth + 2, &local_line(local));
        }
    }
}

/// One AWAITED node, and its children one level deeper.
fn awaits(node: &Value, depth: usize, out: &mut String) {
    let task = match node.get("task").and_then(Value::as_u64) {
        Some(task) => format!(" #{task}"),
        None => String::new(),
    };
    let kind = node.get("kind").and_then(Value::as_str).unwrap_or("");
    let head = match kind {
        "activity" => format!("activity{task} `{}` {}", text(node, "name"), activity(node)),
        "timer" => match node.get("due").filter(|d| !d.is_null()) {
            Some(_) => format!("timer{task} due {}", text(node, "due")),
            None => format!("timer{task} fired, waits to be applied"),
        },
        "event" => format!("event{task} `{}`", text(node, "name")),
        "child" => format!(
            "sub-orchestration{task} `{}` (instance `{}`)",
            text(node, "orchestration"),
            text(node, "id")
        ),
        "all" | "any" => {
            line(
                out,
                depth,
                if kind == "all" { "all of" } else { "first of" },
            );
            for child in node
                .get("of")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                awaits(child, depth + 1, out);
            }
            return;
        }
        "function" => {
            let title = format!("function `{}`", text(node, "name"));
            match node.get("waiting").filter(|w| !w.is_null()) {
                Some(waiting) => waiting_at(waiting, depth, &format!("{title}, waiting"), out),
                None => line(out, depth, &format!("{title}, not waiting")),
            }
            return;
        }
        "other" => format!("a `{}`", text(node, "type")),
        // a kind newer than this tool: its JSON, so nothing is hidden
        _ => short(node),
    };
    line(out, depth, &head);
}

/// An activity's progress: its state, then the attempt, retry time and input while it
/// has not completed.
fn activity(node: &Value) -> String {
    let state = text(node, "state");
    if state == "completed" {
        return "completed, its result waits to be applied".into();
    }
    let mut parts = vec![state];
    if let Some(attempt) = node.get("attempt").and_then(Value::as_u64) {
        parts.push(format!("attempt {attempt}"));
    }
    if node.get("notBefore").is_some_and(|t| !t.is_null()) {
        parts.push(format!("not before {}", text(node, "notBefore")));
    }
    if let Some(input) = node.get("input").filter(|i| !i.is_null()) {
        parts.push(format!("input {}", short(input)));
    }
    parts.join(", ")
}

/// `name: type = value`, or why the value cannot be shown.
fn local_line(local: &Value) -> String {
    let head = format!("{}: {}", text(local, "name"), text(local, "type"));
    match local.get("value") {
        Some(value) => format!("{head} = {}", short(value)),
        None => format!("{head} (not shown: {})", text(local, "unshowable")),
    }
}

/// Compact JSON, cut at [`VALUE_WIDTH`] characters.
fn short(value: &Value) -> String {
    let json = value.to_string();
    match json.char_indices().nth(VALUE_WIDTH) {
        Some((end, _)) => format!("{}…", &json[..end]),
        None => json,
    }
}

/// Appends `text` indented two spaces per `depth`; each of its lines, if it has several.
fn line(out: &mut String, depth: usize, text: &str) {
    for part in text.lines() {
        out.extend(std::iter::repeat_n("  ", depth));
        out.push_str(part);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status() -> Value {
        json!({
            "name": "verify", "version": 1, "instanceId": "v-1",
            "runtimeStatus": "Running", "input": "+1 555 0100",
            "customStatus": null, "output": null, "error": null,
            "createdTime": "2026-11-27T07:14:17.123Z",
            "lastUpdatedTime": "2026-11-27T07:14:18.001Z",
            "events": []
        })
    }

    fn at(expression: &str, line: u32) -> Value {
        json!({"expression": expression, "file": "examples/human_interaction.rs",
               "line": line, "column": 15})
    }

    /// The part of the output after the status fields.
    fn tree(state: &Value) -> String {
        let text = super::state(state);
        let (head, tree) = text
            .split_once("\n\n")
            .expect("a blank line after the status");
        assert!(head.contains("status    Running"), "{head}");
        tree.to_owned()
    }

    #[test]
    fn a_select_shows_both_branches_and_the_locals() {
        let mut state = status();
        state["waiting"] = json!({
            "at": at("select(ctx.timer(timeout), ctx.event::<u32>(\"code\"))", 39),
            "point": "c4f2000000000016", "fingerprint": "9a8b", "checkpointBytes": 123,
            "awaits": {"kind": "any", "of": [
                {"kind": "timer", "task": 2, "due": "2026-11-27T07:15:17.123Z"},
                {"kind": "event", "task": 3, "name": "code"}
            ]},
            "locals": [
                {"name": "attempt", "type": "u32", "value": 1},
                {"name": "seen", "type": "HashMap<u32, String>", "unshowable": "keys are not strings"}
            ],
            "error": null
        });
        state["events"] = json!([{"name": "other", "bytes": 9}]);
        assert_eq!(
            tree(&state),
            "waiting at examples/human_interaction.rs:39:15\n\
             \x20 select(ctx.timer(timeout), ctx.event::<u32>(\"code\"))\n\
             \x20 checkpoint 123 bytes (resume point c4f2000000000016, layout 9a8b)\n\
             \x20 awaits\n\
             \x20   first of\n\
             \x20     timer #2 due 2026-11-27T07:15:17.123Z\n\
             \x20     event #3 `code`\n\
             \x20 locals\n\
             \x20   attempt: u32 = 1\n\
             \x20   seen: HashMap<u32, String> (not shown: keys are not strings)\n\
             buffered events\n\
             \x20 `other` (9 bytes)\n"
        );
    }

    #[test]
    fn a_function_nests_its_own_waiting() {
        let mut state = status();
        state["waiting"] = json!({
            "at": at("join(reserve(&ctx, a), ctx.call(pay, b))", 20),
            "point": "01", "fingerprint": "02", "checkpointBytes": 40,
            "awaits": {"kind": "all", "of": [
                {"kind": "function", "name": "reserve", "waiting": {
                    "at": at("ctx.call(hold, seat)", 30),
                    "point": "03", "fingerprint": "04", "checkpointBytes": 12,
                    "awaits": {"kind": "activity", "task": 1, "name": "hold",
                               "input": {"seat": "A1"}, "attempt": 2,
                               "state": "retrying", "notBefore": "2026-11-27T07:16:00.000Z"},
                    "locals": [], "error": null
                }},
                {"kind": "activity", "task": 4, "name": "pay", "input": null,
                 "attempt": null, "state": "completed", "notBefore": null},
                {"kind": "child", "task": 5, "id": "v-1:5", "orchestration": "ship"},
                {"kind": "timer", "task": 6, "due": null},
                {"kind": "other", "type": "MyFuture"},
                {"kind": "future-kind", "task": 7}
            ]},
            "locals": [], "error": null
        });
        assert_eq!(
            tree(&state),
            "waiting at examples/human_interaction.rs:20:15\n\
             \x20 join(reserve(&ctx, a), ctx.call(pay, b))\n\
             \x20 checkpoint 40 bytes (resume point 01, layout 02)\n\
             \x20 awaits\n\
             \x20   all of\n\
             \x20     function `reserve`, waiting at examples/human_interaction.rs:30:15\n\
             \x20       ctx.call(hold, seat)\n\
             \x20       checkpoint 12 bytes (resume point 03, layout 04)\n\
             \x20       awaits\n\
             \x20         activity #1 `hold` retrying, attempt 2, not before 2026-11-27T07:16:00.000Z, input {\"seat\":\"A1\"}\n\
             \x20     activity #4 `pay` completed, its result waits to be applied\n\
             \x20     sub-orchestration #5 `ship` (instance `v-1:5`)\n\
             \x20     timer #6 fired, waits to be applied\n\
             \x20     a `MyFuture`\n\
             \x20     {\"kind\":\"future-kind\",\"task\":7}\n"
        );
    }

    #[test]
    fn an_unreadable_checkpoint_says_why() {
        let mut state = status();
        state["waiting"] = json!({
            "at": at("ctx.timer(d)", 9), "point": "01", "fingerprint": "02",
            "checkpointBytes": 8, "awaits": null, "locals": [],
            "error": "the code changed: no resume point 01"
        });
        let tree = tree(&state);
        assert!(
            tree.ends_with("  cannot read the checkpoint: the code changed: no resume point 01\n"),
            "{tree}"
        );
        assert!(!tree.contains("awaits"), "{tree}");
    }

    #[test]
    fn an_instance_not_at_an_await_says_so() {
        let mut state = status();
        state["waiting"] = Value::Null;
        assert_eq!(
            tree(&state),
            "not waiting at an `.await` (not started yet, or ended)\n"
        );
    }

    #[test]
    fn long_values_are_cut() {
        let local = json!({"name": "xs", "type": "Vec<u8>", "value": vec![0; 100]});
        let line = local_line(&local);
        assert_eq!(
            line.chars().count(),
            "xs: Vec<u8> = ".len() + VALUE_WIDTH + 1
        );
        assert!(line.ends_with('…'), "{line}");
    }
}
