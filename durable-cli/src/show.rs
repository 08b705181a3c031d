//! Text for people: an instance's status, a list of instances, and the one-line
//! answers of the commands that change an instance. `--json` bypasses all of it.
//!
//! The JSON comes from a service that may be older or newer than this tool, so a field
//! that is missing or of another type shows as `-` or as its JSON instead of failing.

use serde_json::Value;

use crate::table::{fields, Table};

/// The status object as aligned fields.
pub fn status(status: &Value) -> String {
    fields(&status_fields(status))
}

/// The status object's fields, for `status` and as the head of `inspect`. Payloads
/// show as compact JSON (a string quoted, so `"1"` and `1` differ), and only when
/// present; the error as its text.
pub fn status_fields(status: &Value) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        ("instance", text(status, "instanceId")),
        ("name", text(status, "name")),
        ("version", text(status, "version")),
        ("status", text(status, "runtimeStatus")),
    ];
    let payloads = [
        ("custom", "customStatus"),
        ("input", "input"),
        ("output", "output"),
    ];
    for (label, key) in payloads {
        if let Some(payload) = status.get(key).filter(|v| !v.is_null()) {
            pairs.push((label, payload.to_string()));
        }
    }
    if status.get("error").is_some_and(|e| !e.is_null()) {
        pairs.push(("error", text(status, "error")));
    }
    pairs.push(("created", text(status, "createdTime")));
    pairs.push(("updated", text(status, "lastUpdatedTime")));
    pairs
}

/// Status objects as a table, one instance a row.
pub fn list(instances: &[Value]) -> String {
    let mut table = Table::new(&["INSTANCE", "NAME", "STATUS", "CREATED", "UPDATED"]);
    for instance in instances {
        table.row(
            [
                "instanceId",
                "name",
                "runtimeStatus",
                "createdTime",
                "lastUpdatedTime",
            ]
            .iter()
            .map(|key| text(instance, key))
            .collect(),
        );
    }
    table.render()
}

/// What `raise` did: the service took the event (it is applied at the next step).
pub fn raised(id: &str, event: &str) -> String {
    format!("raised event `{event}` on `{id}`\n")
}

/// What `terminate`, `suspend` or `resume` did: the service took the command, which the
/// instance applies at its next step.
pub fn controlled(id: &str, verb: &str) -> String {
    format!("`{id}`: {verb} accepted\n")
}

/// What `purge` did, with the count the service reports (sub-orchestrations included).
pub fn purged(id: &str, answer: &Value) -> String {
    match answer.get("instancesDeleted").and_then(Value::as_u64) {
        Some(1) => format!("purged `{id}`\n"),
        Some(n) => format!("purged `{id}` and its sub-orchestrations: {n} instances\n"),
        None => format!("purged `{id}`\n"),
    }
}

/// A field for display: a string as itself, `null` or missing as `-`, anything else
/// as compact JSON.
pub fn text(object: &Value, key: &str) -> String {
    match object.get(key) {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn running() -> Value {
        json!({
            "name": "approve", "version": 1, "instanceId": "exp-1",
            "runtimeStatus": "Running", "input": {"cents": 1200},
            "customStatus": "waiting for a manager", "output": null, "error": null,
            "createdTime": "2026-11-27T07:14:17.123Z",
            "lastUpdatedTime": "2026-11-27T07:14:18.001Z"
        })
    }

    #[test]
    fn status_shows_present_fields_aligned() {
        assert_eq!(
            status(&running()),
            "instance  exp-1\n\
             name      approve\n\
             version   1\n\
             status    Running\n\
             custom    \"waiting for a manager\"\n\
             input     {\"cents\":1200}\n\
             created   2026-11-27T07:14:17.123Z\n\
             updated   2026-11-27T07:14:18.001Z\n"
        );
    }

    #[test]
    fn a_failed_instance_shows_its_error_lines_under_each_other() {
        let mut failed = running();
        failed["runtimeStatus"] = json!("Failed");
        failed["error"] = json!("activity `file` failed\ncaused by: disk full");
        let text = status(&failed);
        assert!(
            text.contains("error     activity `file` failed\n          caused by: disk full\n"),
            "{text}"
        );
    }

    #[test]
    fn missing_fields_show_as_a_dash() {
        let text = status(&json!({"instanceId": "x"}));
        assert!(text.contains("name      -\n"), "{text}");
        assert!(!text.contains("input"), "{text}");
    }

    #[test]
    fn list_is_a_table_of_instances() {
        let mut other = running();
        other["instanceId"] = json!("exp-22");
        other["runtimeStatus"] = json!("Completed");
        assert_eq!(
            list(&[running(), other]),
            "INSTANCE  NAME     STATUS     CREATED                   UPDATED\n\
             exp-1     approve  Running    2026-11-27T07:14:17.123Z  2026-11-27T07:14:18.001Z\n\
             exp-22    approve  Completed  2026-11-27T07:14:17.123Z  2026-11-27T07:14:18.001Z\n"
        );
        assert_eq!(list(&[]), "INSTANCE  NAME  STATUS  CREATED  UPDATED\n");
    }

    #[test]
    fn purge_reports_sub_orchestrations() {
        assert_eq!(purged("a", &json!({"instancesDeleted": 1})), "purged `a`\n");
        assert_eq!(
            purged("a", &json!({"instancesDeleted": 3})),
            "purged `a` and its sub-orchestrations: 3 instances\n"
        );
    }
}
