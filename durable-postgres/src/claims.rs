//! Claiming work under a lease: an instance for a step, an activity call for an attempt,
//! or both at once when a call's result lets its instance step.
//!
//! Claims take rows with `FOR UPDATE SKIP LOCKED`, so workers in any number of processes
//! never wait on each other's claims, and set a lease token (from a sequence) and an
//! expiry read off the database's clock. A commit under a token that was replaced is
//! refused.

use std::time::Duration;

use deadpool_postgres::GenericClient;
use durable_core::codec;
use durable_core::store::{
    runnable, with_direct_result, ActivityTask, InstanceRecord, Lease, LockedActivity,
    LockedInstance, Message, StoreError,
};
use durable_core::TaskResult;
use tracing::warn;

use crate::fields::{self, for_step};
use crate::sql;
use crate::PostgresStore;

/// The most instances one claim reads back and finds not runnable before it gives up
/// until the next wake-up (each is marked so that it is not read again until a message
/// arrives for it).
const MAX_LOOKS: usize = 64;

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}

fn lease(token: i64, expires: i64) -> Lease {
    Lease {
        token: token as u64,
        expires: expires as u64,
    }
}

/// Why stored bytes of instance `id` cannot be stepped.
enum Unreadable {
    /// Why: the record or its buffered events cannot be decoded.
    Record(String),
    Message(i64, String),
}

impl Unreadable {
    fn reason(&self) -> String {
        match self {
            Unreadable::Record(reason) => reason.clone(),
            Unreadable::Message(seq, e) => {
                format!("inbox message {seq} cannot be decoded ({e}); it is kept")
            }
        }
    }
}

/// The join that reads along with a claim (`c`, the claimed row) the instance's part of
/// the lowest key, as `p`: a loop's next item, which the step would otherwise read in a
/// round trip of its own. A macro, so that a claim's statement stays one literal.
macro_rules! first_part {
    () => {
        "LEFT JOIN LATERAL (
             SELECT part AS first_part, bytes AS first_part_bytes FROM durable_parts
             WHERE instance = c.id ORDER BY part LIMIT 1
         ) p ON true"
    };
}

/// The part a claim read along, if the instance has any ([`first_part!`]).
fn first_part(row: &tokio_postgres::Row) -> Vec<(u64, Vec<u8>)> {
    match (
        row.get::<_, Option<i64>>("first_part"),
        row.get::<_, Option<Vec<u8>>>("first_part_bytes"),
    ) {
        (Some(part), Some(bytes)) => vec![(part as u64, bytes)],
        _ => Vec::new(),
    }
}

/// Decodes a claimed instance's record (the first row's `record` and [`fields`] columns)
/// and queued messages (`seq` and `message` columns, null when none is queued).
fn decode(
    rows: &[tokio_postgres::Row],
) -> Result<(InstanceRecord, Vec<(u64, Message)>), Unreadable> {
    let first = rows
        .first()
        .ok_or_else(|| Unreadable::Record("the claim read no row".into()))?;
    let record = fields::assemble(first).map_err(Unreadable::Record)?;
    let mut messages = Vec::with_capacity(rows.len());
    for row in rows {
        let (Some(seq), Some(bytes)) = (
            row.get::<_, Option<i64>>("seq"),
            row.get::<_, Option<&[u8]>>("message"),
        ) else {
            continue;
        };
        let message =
            codec::decode(bytes, "message").map_err(|e| Unreadable::Message(seq, e.to_string()))?;
        messages.push((seq as u64, message));
    }
    Ok((record, messages))
}

/// Gives up the claim `token` on instance `id`. `seen`: how many queued messages the
/// claim read and found not enough to step; unless more arrived since, the instance is
/// not read again until one does.
async fn release(
    client: &impl GenericClient,
    id: &str,
    token: i64,
    seen: Option<i32>,
) -> Result<(), StoreError> {
    sql::execute(
        client,
        "UPDATE durable_instances
         SET lease_token = NULL, lease_expires = durable_now(),
             pending = CASE WHEN $3::int IS NULL THEN pending ELSE q_total <> $3 END
         WHERE id = $1 AND lease_token = $2",
        &[&id, &token, &seen],
    )
    .await?;
    Ok(())
}

/// Stops stepping instance `id`, whose stored bytes cannot be decoded, and says so
/// once; everything stored for it is kept.
async fn quarantine(
    client: &impl GenericClient,
    id: &str,
    token: i64,
    unreadable: Unreadable,
) -> Result<(), StoreError> {
    let reason = unreadable.reason();
    warn!(
        instance = id,
        "{reason}: the instance is blocked (its data is kept; purge it or repair it), and the \
         others go on"
    );
    sql::execute(
        client,
        "UPDATE durable_instances SET quarantine = $3, lease_token = NULL
         WHERE id = $1 AND lease_token = $2",
        &[&id, &token, &reason],
    )
    .await?;
    Ok(())
}

impl PostgresStore {
    pub(crate) async fn claim_instance(
        &self,
        duration: Duration,
    ) -> Result<Option<LockedInstance>, StoreError> {
        let client = self.client().await?;
        let duration = millis(duration);
        for _ in 0..MAX_LOOKS {
            // the claim and the inbox in one statement: one row per queued message
            let rows = sql::query(
                &client,
                concat!(
                    "WITH claimed AS (
                     UPDATE durable_instances
                     SET lease_token = nextval('durable_lease_tokens'),
                         lease_expires = durable_now() + $1
                     WHERE id = (
                         SELECT id FROM durable_instances
                         WHERE ready AND lease_expires <= durable_now()
                         ORDER BY lease_expires, id LIMIT 1
                         FOR UPDATE SKIP LOCKED
                     )
                     RETURNING id, record, lease_token, lease_expires, ",
                    for_step!(),
                    "
                 )
                 SELECT c.*, m.seq, m.message, p.*
                 FROM claimed c ",
                    first_part!(),
                    "
                 LEFT JOIN durable_inbox m ON m.instance = c.id
                 ORDER BY m.seq"
                ),
                &[&duration],
            )
            .await?;
            let Some(first) = rows.first() else {
                return Ok(None);
            };
            let id: String = first.get("id");
            let token: i64 = first.get("lease_token");
            let (record, messages) = match decode(&rows) {
                Ok(decoded) => decoded,
                Err(unreadable) => {
                    quarantine(&client, &id, token, unreadable).await?;
                    continue;
                }
            };
            if !runnable(&record, messages.iter().map(|(_, m)| m)) {
                let seen = i32::try_from(messages.len()).unwrap_or(i32::MAX);
                release(&client, &id, token, Some(seen)).await?;
                continue;
            }
            return Ok(Some(LockedInstance {
                record,
                messages,
                lease: lease(token, first.get("lease_expires")),
                activity: None,
                parts: first_part(first),
            }));
        }
        Ok(None)
    }

    pub(crate) async fn abandon(&self, id: &str, lease: &Lease) -> Result<(), StoreError> {
        let client = self.client().await?;
        release(&client, id, lease.token as i64, None).await
    }

    pub(crate) async fn claim_activity(
        &self,
        duration: Duration,
    ) -> Result<Option<LockedActivity>, StoreError> {
        let client = self.client().await?;
        let claimed = sql::query_opt(
            &client,
            "UPDATE durable_activities
             SET lease_token = nextval('durable_lease_tokens'), due = durable_now() + $1
             WHERE (instance, task) = (
                 SELECT instance, task FROM durable_activities
                 WHERE due <= durable_now()
                 ORDER BY due LIMIT 1
                 FOR UPDATE SKIP LOCKED
             )
             RETURNING instance, task, body, lease_token, due",
            &[&millis(duration)],
        )
        .await?;
        let Some(row) = claimed else { return Ok(None) };
        match codec::decode::<ActivityTask>(row.get(2), "activity task") {
            Ok(task) => Ok(Some(LockedActivity {
                task,
                lease: lease(row.get(3), row.get(4)),
            })),
            Err(e) => {
                let (instance, task): (String, i64) = (row.get(0), row.get(1));
                let reason = format!("activity call {task} cannot be decoded ({e}); it is kept");
                warn!(
                    instance = %instance,
                    "{reason}: the instance is blocked (its data is kept; purge it or repair it), \
                     and the others go on"
                );
                // the call is parked where no claim reaches it, and its instance blocked
                sql::execute(
                    &client,
                    "WITH parked AS (
                         UPDATE durable_activities SET due = 9223372036854775807, lease_token = NULL
                         WHERE instance = $1 AND task = $2
                     )
                     UPDATE durable_instances SET quarantine = $3 WHERE id = $1",
                    &[&instance, &task, &reason],
                )
                .await?;
                Ok(None)
            }
        }
    }

    pub(crate) async fn renew(
        &self,
        locked: &LockedActivity,
        duration: Duration,
    ) -> Result<Lease, StoreError> {
        let client = self.client().await?;
        let token = locked.lease.token as i64;
        let renewed = sql::query_opt(
            &client,
            "UPDATE durable_activities SET due = durable_now() + $4
             WHERE instance = $1 AND task = $2 AND lease_token = $3
             RETURNING due",
            &[
                &locked.task.instance,
                &(locked.task.task.0 as i64),
                &token,
                &millis(duration),
            ],
        )
        .await?;
        let row = renewed.ok_or(StoreError::LeaseLost)?;
        Ok(lease(token, row.get(0)))
    }

    pub(crate) async fn claim_for_result(
        &self,
        locked: &LockedActivity,
        result: &TaskResult,
        duration: Duration,
    ) -> Result<Option<LockedInstance>, StoreError> {
        let client = self.client().await?;
        let id = &locked.task.instance;
        let task = locked.task.task.0 as i64;
        let call_token = locked.lease.token as i64;
        // in one statement, while the call is still this worker's (its claim, renewed
        // while it ran, outlasts the step; if the step never commits, the call runs
        // again once the claim expires): the instance, if it is free and one more
        // result may make it runnable (a fan-in still missing results is not). The
        // candidate is read first without waiting on the row's lock, so that the
        // results of a fan-in do not queue behind one another's writes to learn that.
        let rows = sql::query(
            &client,
            concat!(
                "WITH held AS (
                 SELECT instance FROM durable_activities
                 WHERE instance = $1 AND task = $2 AND lease_token = $3
             ), candidate AS (
                 SELECT id FROM durable_instances
                 WHERE id = (SELECT instance FROM held) AND lease_expires <= durable_now()
                   AND quarantine IS NULL AND needed < 2147483647
                   AND (q_total > q_results OR q_results + 1 >= needed)
             ), claimed AS (
                 UPDATE durable_instances
                 SET lease_token = nextval('durable_lease_tokens'),
                     lease_expires = durable_now() + $4
                 WHERE id = (SELECT id FROM candidate)
                   AND lease_expires <= durable_now() AND quarantine IS NULL
                   AND needed < 2147483647 AND (q_total > q_results OR q_results + 1 >= needed)
                 RETURNING id, record, lease_token, lease_expires, ",
                for_step!(),
                "
             )
             SELECT (SELECT count(*) FROM held) AS held, c.*, m.seq, m.message, p.*
             FROM (SELECT 1) AS one
             LEFT JOIN claimed c ON true ",
                first_part!(),
                "
             LEFT JOIN durable_inbox m ON m.instance = c.id
             ORDER BY m.seq"
            ),
            &[id, &task, &call_token, &millis(duration)],
        )
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        if first.get::<_, i64>("held") == 0 {
            return Err(StoreError::LeaseLost);
        }
        let Some(token) = first.get::<_, Option<i64>>("lease_token") else {
            return Ok(None);
        };
        let (record, queued) = match decode(&rows) {
            Ok(decoded) => decoded,
            Err(unreadable) => {
                quarantine(&client, id, token, unreadable).await?;
                return Ok(None);
            }
        };
        let Some(messages) = with_direct_result(&record, queued, locked, result) else {
            release(&client, id, token, None).await?;
            return Ok(None);
        };
        Ok(Some(LockedInstance {
            record,
            messages,
            lease: lease(token, first.get("lease_expires")),
            activity: Some(locked.clone()),
            parts: first_part(first),
        }))
    }
}
