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

/// The `synchronous_commit` the server gives a session that does not set it: what the
/// operator chose for durable commits (`on` unless configured otherwise).
pub(crate) async fn server_commit_level(
    config: &tokio_postgres::Config,
) -> Result<String, StoreError> {
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(backend)?;
    let driver = tokio::spawn(connection);
    let row = client
        .query_one("SHOW synchronous_commit", &[])
        .await
        .map_err(backend)?;
    drop(client);
    let _ = driver.await;
    let level: String = row.get(0);
    const LEVELS: [&str; 5] = ["on", "off", "local", "remote_write", "remote_apply"];
    Ok(match LEVELS.contains(&level.as_str()) {
        true => level,
        false => "on".to_owned(),
    })
}

/// `config` for the pool's connections: commits that do not wait for the WAL flush,
/// unless a transaction asks ([`commit_at`]).
pub(crate) fn lazy_commits(mut config: tokio_postgres::Config) -> tokio_postgres::Config {
    let options = match config.get_options() {
        Some(given) => format!("{given} -c synchronous_commit=off"),
        None => "-c synchronous_commit=off".to_owned(),
    };
    config.options(&options);
    config
}

/// Makes the commit of transaction `tx` durable: the server's `synchronous_commit`,
/// `level`, rather than the pool's.
pub(crate) async fn commit_at(tx: &impl GenericClient, level: &str) -> Result<(), StoreError> {
    tx.batch_execute(&format!("SET LOCAL synchronous_commit = {level}"))
        .await
        .map_err(backend)
}

/// The number `status` is stored as ([`RuntimeStatus::code`]).
pub(crate) fn status_code(status: RuntimeStatus) -> i16 {
    i16::from(status.code())
}

/// The number a message's kind is stored as in the inbox's `kind` column; the
/// counters of `durable_instances` (`q_results`, `q_events`, `q_commands`) follow it.
pub(crate) fn kind_code(message: &Message) -> i16 {
    message.kind() as i16
}

/// The channel other processes' listeners hear work on.
pub(crate) const CHANNEL: &str = "durable_work";

/// The payload announcing `count` new items of `work`, queued by the store whose
/// [`origin`] is `from`: its own listener leaves them to the runtime that queued them,
/// which signals its workers itself.
pub(crate) fn payload(work: Work, count: usize, from: u64) -> String {
    let kind = match work {
        Work::Instances => "instances",
        Work::Activities => "activities",
        Work::Timers => "timers",
    };
    format!("{kind} {count} {from}")
}

/// The payload announcing that instance `id` ended, from the store whose [`origin`] is
/// `from`. It names the instance unless the name would not fit in a notification
/// (8,000 bytes); then every waiting client reads its instance again. A listener of an
/// older version reads it as an end of some instance, which it was.
pub(crate) fn ended_payload(id: &str, from: u64) -> String {
    let payload = format!("ended 1 {from} {id}");
    match payload.len() < MAX_PAYLOAD {
        true => payload,
        false => format!("ended 1 {from}"),
    }
}

/// PostgreSQL refuses a notification payload this long or longer.
const MAX_PAYLOAD: usize = 8000;

/// What a notification on [`CHANNEL`] says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Notice {
    /// `count` items of `work` were queued by the store whose [`origin`] is `from`.
    Queued { work: Work, count: usize, from: u64 },
    /// An instance ended: `id`, when the payload names it.
    Ended { id: Option<String> },
}

/// A number that tells this store's notifications from other processes'.
pub(crate) fn origin() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// Parses what [`payload`] and [`ended_payload`] made.
pub(crate) fn parse_payload(payload: &str) -> Option<Notice> {
    // an id may hold spaces: it is the rest
    let mut parts = payload.splitn(4, ' ');
    let (kind, count, from) = (parts.next()?, parts.next()?, parts.next()?);
    let (count, from) = (count.parse().ok()?, from.parse().ok()?);
    let work = match kind {
        "instances" => Work::Instances,
        "activities" => Work::Activities,
        "timers" => Work::Timers,
        "ended" => {
            let id = parts.next().map(str::to_owned);
            return Some(Notice::Ended { id });
        }
        _ => return None,
    };
    Some(Notice::Queued { work, count, from })
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
    from: u64,
) -> Result<(), StoreError> {
    if count == 0 {
        return Ok(());
    }
    let payload = payload(work, count, from);
    query(client, "SELECT pg_notify($1, $2)", &[&CHANNEL, &payload]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_core::store::MessageKind;

    #[test]
    fn payloads_round_trip() {
        for work in [Work::Instances, Work::Activities, Work::Timers] {
            let queued = Notice::Queued {
                work,
                count: 7,
                from: 42,
            };
            assert_eq!(parse_payload(&payload(work, 7, 42)), Some(queued));
        }
        let ended = |id: Option<&str>| {
            Some(Notice::Ended {
                id: id.map(str::to_owned),
            })
        };
        assert_eq!(
            parse_payload(&ended_payload("a b:1", 42)),
            ended(Some("a b:1"))
        );
        let long = "x".repeat(MAX_PAYLOAD);
        assert_eq!(parse_payload(&ended_payload(&long, 42)), ended(None));
        assert_eq!(
            parse_payload("ended 1 42"),
            ended(None),
            "an older version's"
        );
        assert_eq!(parse_payload("instances 3"), None);
        assert_eq!(parse_payload("gossip 3 42"), None);
        assert_ne!(origin(), origin(), "two stores in one process differ");
    }

    #[test]
    fn kinds_are_the_numbers_the_statements_spell_out() {
        // inbox.rs, commit.rs, step.rs and the `ready` column write these literally
        assert_eq!(MessageKind::TaskCompleted as i16, 0);
        assert_eq!(MessageKind::Event as i16, 1);
        assert_eq!(MessageKind::Command as i16, 2);
        assert_eq!(MessageKind::Start as i16, 3);
    }
}
