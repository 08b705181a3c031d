//! What the SQL and the Rust sides agree on: error conversion, the numbers statuses and
//! message kinds are stored as, and the notifications that wake other processes.

use deadpool_postgres::GenericClient;
use durable_core::store::{Message, RuntimeStatus, Work};
use durable_core::StoreError;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// A database error, with the server's message (tokio-postgres's own `Display` says
/// only "db error").
pub(crate) fn backend(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(describe(&e))
}

/// What went wrong, as the server said it.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("PostgreSQL: {}: {}", db.code().code(), db.message()),
        None => format!("PostgreSQL: {e}"),
    }
}

pub(crate) fn pool(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => backend(e),
        e => StoreError::Backend(format!("PostgreSQL connection pool: {e}")),
    }
}

pub(crate) fn codec(e: durable_core::codec::CodecError) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The number `status` is stored as: fixed here, never reordered.
pub(crate) fn status_code(status: RuntimeStatus) -> i16 {
    match status {
        RuntimeStatus::Pending => 0,
        RuntimeStatus::Running => 1,
        RuntimeStatus::Completed => 2,
        RuntimeStatus::Failed => 3,
        RuntimeStatus::Terminated => 4,
        RuntimeStatus::Suspended => 5,
        RuntimeStatus::Blocked => 6,
    }
}

/// What the inbox's `kind` column says of a message; the counters of
/// `durable_instances` (`q_results`, `q_events`, `q_commands`) follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Result = 0,
    Event = 1,
    Command = 2,
    Start = 3,
}

impl Kind {
    pub(crate) fn of(message: &Message) -> Self {
        match message {
            Message::TaskCompleted { .. } => Kind::Result,
            Message::Event { .. } => Kind::Event,
            Message::Start => Kind::Start,
            Message::Terminate { .. } | Message::Suspend | Message::Resume | Message::Retry => {
                Kind::Command
            }
        }
    }

    pub(crate) fn from_code(code: i16) -> Option<Self> {
        [Kind::Result, Kind::Event, Kind::Command, Kind::Start]
            .into_iter()
            .find(|k| *k as i16 == code)
    }
}

/// The channel other processes' listeners hear work on.
pub(crate) const CHANNEL: &str = "durable_work";

/// The payload announcing `count` new items of `work`.
pub(crate) fn payload(work: Work, count: usize) -> String {
    let kind = match work {
        Work::Instances => "instances",
        Work::Activities => "activities",
        Work::Timers => "timers",
    };
    format!("{kind} {count}")
}

/// Parses what [`payload`] made.
pub(crate) fn parse_payload(payload: &str) -> Option<(Work, usize)> {
    let (kind, count) = payload.split_once(' ')?;
    let work = match kind {
        "instances" => Work::Instances,
        "activities" => Work::Activities,
        "timers" => Work::Timers,
        _ => return None,
    };
    Some((work, count.parse().ok()?))
}

/// Runs `sql` as a statement prepared once per connection; returns the rows changed.
pub(crate) async fn execute(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(backend)?;
    client.execute(&statement, params).await.map_err(backend)
}

/// Runs query `sql` as a statement prepared once per connection.
pub(crate) async fn query(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(backend)?;
    client.query(&statement, params).await.map_err(backend)
}

/// Runs query `sql`, which returns at most one row.
pub(crate) async fn query_opt(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(backend)?;
    client.query_opt(&statement, params).await.map_err(backend)
}

/// Tells the listeners of every process (this one's too) that `count` items of `work`
/// were queued, when the surrounding transaction commits.
pub(crate) async fn notify(
    client: &impl GenericClient,
    work: Work,
    count: usize,
) -> Result<(), StoreError> {
    if count == 0 {
        return Ok(());
    }
    let payload = payload(work, count);
    query(client, "SELECT pg_notify($1, $2)", &[&CHANNEL, &payload]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for work in [Work::Instances, Work::Activities, Work::Timers] {
            assert_eq!(parse_payload(&payload(work, 7)), Some((work, 7)));
        }
        assert_eq!(parse_payload("instances"), None);
        assert_eq!(parse_payload("gossip 3"), None);
    }

    #[test]
    fn kinds_round_trip() {
        for kind in [Kind::Result, Kind::Event, Kind::Command, Kind::Start] {
            assert_eq!(Kind::from_code(kind as i16), Some(kind));
        }
        assert_eq!(Kind::from_code(9), None);
    }
}
