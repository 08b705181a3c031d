//! The JSON view of an instance, and parsing of the list filters.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use durable_core::store::Millis;
use durable_core::{InstanceStatus, RuntimeStatus};
use serde_json::{json, Value};

use crate::convert::{Conversions, ToJson};

/// The name of `status` in the API, as Durable Functions spells it.
pub(crate) fn status_name(status: RuntimeStatus) -> &'static str {
    match status {
        RuntimeStatus::Pending => "Pending",
        RuntimeStatus::Running => "Running",
        RuntimeStatus::Completed => "Completed",
        RuntimeStatus::Failed => "Failed",
        RuntimeStatus::Terminated => "Terminated",
        RuntimeStatus::Suspended => "Suspended",
        RuntimeStatus::Blocked => "Blocked",
    }
}

/// Parses a status name, ignoring case.
pub(crate) fn parse_status(name: &str) -> Result<RuntimeStatus, String> {
    use RuntimeStatus::*;
    [
        Pending, Running, Completed, Failed, Terminated, Suspended, Blocked,
    ]
    .into_iter()
    .find(|s| status_name(*s).eq_ignore_ascii_case(name.trim()))
    .ok_or_else(|| {
        format!(
            "unknown runtimeStatus `{name}` (expected Pending, Running, Completed, \
                 Failed, Terminated, Suspended or Blocked)"
        )
    })
}

/// An RFC 3339 time in UTC, to the millisecond.
pub(crate) fn format_time(millis: Millis) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(millis)).to_string()
}

/// Parses an RFC 3339 time (`2026-11-26T10:00:00Z`).
pub(crate) fn parse_time(field: &str, text: &str) -> Result<Millis, String> {
    let time = humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("`{field}` is not an RFC 3339 time like 2026-11-26T10:00:00Z: {e}"))?;
    Ok(time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis))
}

/// The instance as JSON. Payloads of an orchestration the API has no types for (or
/// that do not decode with them) are `null`, and the reason is logged.
/// `status` as JSON, its input left out (`null`) unless `show_input`.
pub(crate) fn instance_json(
    status: &InstanceStatus,
    types: Option<&Conversions>,
    show_input: bool,
) -> Value {
    let show = |bytes: Option<&[u8]>, to_json: Option<ToJson>, what: &str| -> Value {
        let (Some(bytes), Some(to_json)) = (bytes, to_json) else {
            return Value::Null;
        };
        to_json(bytes).unwrap_or_else(|e| {
            tracing::warn!("instance `{}`: cannot show its {what}: {e}", status.id);
            Value::Null
        })
    };
    json!({
        "name": status.name,
        "version": status.version,
        "instanceId": status.id,
        "runtimeStatus": status_name(status.status),
        "input": match show_input {
            true => show(Some(&status.input), types.map(|t| t.input_to_json), "input"),
            false => Value::Null,
        },
        "customStatus": show(
            status.custom_status.as_deref(),
            types.and_then(|t| t.custom_status_to_json),
            "custom status",
        ),
        "output": show(status.output.as_deref(), types.map(|t| t.output_to_json), "output"),
        "error": status.error,
        "createdTime": format_time(status.created),
        "lastUpdatedTime": format_time(status.updated),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_back_from_their_names_in_any_case() {
        for name in [
            "pending",
            "RUNNING",
            "Completed",
            " failed",
            "terminated",
            "Suspended",
        ] {
            let status = parse_status(name).unwrap();
            assert!(status_name(status).eq_ignore_ascii_case(name.trim()));
        }
        assert!(parse_status("done").unwrap_err().contains("done"));
    }

    #[test]
    fn times_round_trip_through_rfc3339() {
        let millis = 1_795_000_000_123;
        let text = format_time(millis);
        assert!(text.ends_with('Z'), "{text}");
        assert_eq!(parse_time("t", &text).unwrap(), millis);
        assert!(parse_time("createdTimeFrom", "yesterday")
            .unwrap_err()
            .contains("createdTimeFrom"));
    }
}
