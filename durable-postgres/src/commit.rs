//! Writes that change what an instance waits for: a step's commit, an activity call's
//! result or retry, and timers firing. Each is one transaction.
//!
//! Writes lock rows in one order (activity calls and timers, then instance rows by id),
//! so that two of them never wait on each other in a cycle.

use std::collections::BTreeSet;

use deadpool_postgres::{GenericClient, Transaction};
use durable_core::codec;
use durable_core::inbox::results_needed;
use durable_core::store::{
    ActivityTask, Committed, InstanceRecord, Lease, LockedActivity, Message, Millis, StepCommit,
    StoreError, TimerTask, Work,
};
use durable_core::TaskResult;

use crate::inbox::enqueue;
use crate::instances::insert;
use crate::sql::{self, backend, status_code};
use crate::PostgresStore;

/// The most timers one transaction fires.
const TIMER_BATCH: i64 = 500;

/// Locks the rows of the instances `ids` that exist, in id order, when there is more
/// than one (a single row is locked by the write to it).
async fn lock_instances(tx: &Transaction<'_>, ids: &BTreeSet<&str>) -> Result<(), StoreError> {
    if ids.len() < 2 {
        return Ok(());
    }
    let ids: Vec<&str> = ids.iter().copied().collect();
    sql::query(
        tx,
        "SELECT 1 FROM durable_instances WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        &[&ids],
    )
    .await?;
    Ok(())
}

/// Frees activity call `locked`, held for a step that will not commit, to run again.
async fn release_call(
    client: &impl GenericClient,
    locked: &LockedActivity,
) -> Result<(), StoreError> {
    sql::execute(
        client,
        "UPDATE durable_activities SET due = durable_now(), lease_token = NULL
         WHERE instance = $1 AND task = $2 AND lease_token = $3",
        &[
            &locked.task.instance,
            &(locked.task.task.0 as i64),
            &(locked.lease.token as i64),
        ],
    )
    .await?;
    Ok(())
}

/// The stored record of a step's instance and what its row's columns say of it, with
/// the messages it consumed deleted and taken off the row's counts, in one statement,
/// if the step's claim (`lease`) still holds: what it committed, `None` if the claim
/// was lost.
async fn update_record(
    tx: &Transaction<'_>,
    record: &InstanceRecord,
    consumed: &[u64],
    lease: &Lease,
) -> Result<Option<Committed>, StoreError> {
    let bytes = codec::encode(record, "instance record").map_err(sql::codec)?;
    let ended = record.status.is_terminal().then_some(record.updated as i64);
    let needed = i32::try_from(results_needed(record)).unwrap_or(i32::MAX);
    let buffered = i32::try_from(record.events.len()).unwrap_or(i32::MAX);
    let version = i32::try_from(record.version).unwrap_or(i32::MAX);
    let consumed: Vec<i64> = consumed.iter().map(|s| *s as i64).collect();
    let row = sql::query_opt(
        tx,
        "WITH gone AS (
             DELETE FROM durable_inbox WHERE instance = $1 AND seq = ANY($9) RETURNING kind
         ), counts AS (
             SELECT count(*)::int AS total,
                    (count(*) FILTER (WHERE kind = 0))::int AS results,
                    (count(*) FILTER (WHERE kind = 1))::int AS events,
                    (count(*) FILTER (WHERE kind = 2))::int AS commands
             FROM gone
         )
         UPDATE durable_instances SET
             record = $2, status = $3, name = $4, version = $5, ended = $6,
             needed = $7, buffered_events = $8,
             q_total = q_total - counts.total, q_results = q_results - counts.results,
             q_events = q_events - counts.events, q_commands = q_commands - counts.commands,
             pending = q_total - counts.total > 0,
             lease_token = NULL, lease_expires = durable_now()
         FROM counts
         WHERE id = $1 AND lease_token = $10
         RETURNING pending",
        &[
            &record.id,
            &bytes,
            &status_code(record.status),
            &record.name,
            &version,
            &ended,
            &needed,
            &buffered,
            &consumed,
            &(lease.token as i64),
        ],
    )
    .await?;
    Ok(row.map(|row| Committed {
        more_queued: row.get(0),
    }))
}

impl PostgresStore {
    /// A step's commit, in three round trips: the transaction opens; everything it
    /// writes is sent at once (none of it reads what another part writes), the record
    /// only under the step's claim; it commits, or rolls back if the claim was lost.
    /// Rows are locked in the lock order: the calls and timers it cancels, then the
    /// instances it writes to, in id order, when it sends messages to others.
    pub(crate) async fn commit(
        &self,
        lease: &Lease,
        commit: StepCommit,
    ) -> Result<Committed, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let id = commit.record.id.as_str();
        let cancelled: Vec<i64> = commit.cancelled.iter().map(|t| t.0 as i64).collect();
        // the call whose result the step took directly goes with the step, whoever
        // holds it now (a second run's result would be dropped as no longer awaited)
        let direct = commit.activity.as_ref().map(|a| a.task.task.0 as i64);
        let mut touched: BTreeSet<&str> = BTreeSet::from([id]);
        touched.extend(commit.messages.iter().map(|(to, _)| to.as_str()));
        let (_, _, _, claimed, ..) = tokio::try_join!(
            sql::commit_at(&tx, &self.durable),
            cancel(&tx, id, &cancelled, direct),
            lock_instances(&tx, &touched),
            update_record(&tx, &commit.record, &commit.consumed, lease),
            schedule(&tx, id, &commit.activities, &commit.timers),
            start_children(&tx, &commit.children),
            send_all(&tx, &commit.messages),
            notify_all(&tx, &commit, self.origin),
        )?;
        let Some(committed) = claimed else {
            drop(tx);
            if let Some(activity) = &commit.activity {
                // its result is lost with the step: free the call to run again
                release_call(&client, activity).await?;
            }
            return Err(StoreError::LeaseLost);
        };
        tx.commit().await.map_err(backend)?;
        Ok(committed)
    }

    pub(crate) async fn complete(
        &self,
        locked: &LockedActivity,
        result: TaskResult,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let message = Message::TaskCompleted {
            task: locked.task.task,
            result,
        };
        let bytes = codec::encode(&message, "message").map_err(sql::codec)?;
        let wake = sql::payload(Work::Instances, 1, self.origin);
        // one statement: the call's row first, then its instance's (the lock order)
        let row = sql::query_opt(
            &client,
            "WITH gone AS (
                 DELETE FROM durable_activities
                 WHERE instance = $1 AND task = $2 AND lease_token = $3
                 RETURNING instance
             ), target AS (
                 UPDATE durable_instances SET
                     pending = true, q_total = q_total + 1, q_results = q_results + 1
                 WHERE id = (SELECT instance FROM gone)
                 RETURNING id
             ), queued AS (
                 INSERT INTO durable_inbox (instance, kind, message)
                 SELECT id, 0, $4 FROM target
                 RETURNING instance
             )
             SELECT (SELECT count(*) FROM gone) AS gone,
                    (SELECT pg_notify($5, $6) FROM queued) AS notified",
            &[
                &locked.task.instance,
                &(locked.task.task.0 as i64),
                &(locked.lease.token as i64),
                &bytes,
                &sql::CHANNEL,
                &wake,
            ],
        )
        .await?;
        match row.map(|r| r.get::<_, i64>("gone")) {
            Some(1) => Ok(()),
            _ => Err(StoreError::LeaseLost),
        }
    }

    pub(crate) async fn retry(
        &self,
        locked: &LockedActivity,
        not_before: Millis,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let mut task = locked.task.clone();
        task.attempt += 1;
        task.not_before = not_before;
        let body = codec::encode(&task, "activity task").map_err(sql::codec)?;
        let updated = sql::execute(
            &client,
            "UPDATE durable_activities SET due = $4, lease_token = NULL, body = $5
             WHERE instance = $1 AND task = $2 AND lease_token = $3",
            &[
                &task.instance,
                &(task.task.0 as i64),
                &(locked.lease.token as i64),
                &(not_before as i64),
                &body,
            ],
        )
        .await?;
        if updated == 0 {
            return Err(StoreError::LeaseLost);
        }
        Ok(())
    }

    /// Fires timers due at `now`, a batch per transaction: each is deleted, skipping
    /// those another process is firing, and its completion queued in the same
    /// transaction, instances in id order (the lock order), so that a timer fires once
    /// however many processes fire timers.
    pub(crate) async fn fire(&self, now: Millis) -> Result<(usize, Option<Millis>), StoreError> {
        let mut client = self.client().await?;
        let now = now as i64;
        let mut fired = 0;
        loop {
            let tx = client.transaction().await.map_err(backend)?;
            let rows = sql::query(
                &tx,
                "DELETE FROM durable_timers WHERE (instance, task) IN (
                     SELECT instance, task FROM durable_timers WHERE due <= $1
                     ORDER BY due LIMIT $2 FOR UPDATE SKIP LOCKED
                 )
                 RETURNING instance, task",
                &[&now, &TIMER_BATCH],
            )
            .await?;
            let mut batch: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            batch.sort();
            for (instance, task) in &batch {
                let message = Message::TaskCompleted {
                    task: durable_core::TaskId(*task as u64),
                    result: Ok(Vec::new()),
                };
                enqueue(&tx, instance, &message).await?;
            }
            sql::notify(&tx, Work::Instances, batch.len(), self.origin).await?;
            tx.commit().await.map_err(backend)?;
            fired += batch.len();
            if (batch.len() as i64) < TIMER_BATCH {
                break;
            }
        }
        let next = sql::query_opt(&client, "SELECT min(due) FROM durable_timers", &[]).await?;
        let next: Option<i64> = next.and_then(|r| r.get(0));
        Ok((fired, next.map(|due| due as Millis)))
    }
}

/// Queues the activity calls and timers a step of `id` started.
async fn schedule(
    tx: &Transaction<'_>,
    id: &str,
    activities: &[ActivityTask],
    timers: &[TimerTask],
) -> Result<(), StoreError> {
    if !activities.is_empty() {
        let mut tasks = Vec::with_capacity(activities.len());
        let mut due = Vec::with_capacity(activities.len());
        let mut bodies = Vec::with_capacity(activities.len());
        for activity in activities {
            tasks.push(activity.task.0 as i64);
            due.push(activity.not_before as i64);
            bodies.push(codec::encode(activity, "activity task").map_err(sql::codec)?);
        }
        sql::execute(
            tx,
            "INSERT INTO durable_activities (instance, task, due, body)
             SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bytea[])",
            &[&id, &tasks, &due, &bodies],
        )
        .await?;
    }
    if !timers.is_empty() {
        let tasks: Vec<i64> = timers.iter().map(|t| t.task.0 as i64).collect();
        let due: Vec<i64> = timers.iter().map(|t| t.due as i64).collect();
        sql::execute(
            tx,
            "INSERT INTO durable_timers (instance, task, due)
             SELECT $1, * FROM unnest($2::bigint[], $3::bigint[])
             ON CONFLICT DO NOTHING",
            &[&id, &tasks, &due],
        )
        .await?;
    }
    Ok(())
}

/// Deletes the calls and timers of `id` that a step cancelled, and the call whose
/// result it took directly (a refused commit rolls the deletion back).
async fn cancel(
    tx: &Transaction<'_>,
    id: &str,
    tasks: &[i64],
    direct: Option<i64>,
) -> Result<(), StoreError> {
    match (tasks.is_empty(), direct) {
        (true, None) => Ok(()),
        (true, Some(task)) => {
            let delete = "DELETE FROM durable_activities WHERE instance = $1 AND task = $2";
            sql::execute(tx, delete, &[&id, &task]).await.map(drop)
        }
        (false, direct) => {
            let calls: Vec<i64> = tasks.iter().copied().chain(direct).collect();
            sql::execute(
                tx,
                "WITH calls AS (
                     DELETE FROM durable_activities WHERE instance = $1 AND task = ANY($2)
                 )
                 DELETE FROM durable_timers WHERE instance = $1 AND task = ANY($3)",
                &[&id, &calls, &tasks],
            )
            .await
            .map(drop)
        }
    }
}

/// Creates the sub-orchestrations a step started; one whose id exists is left as it is.
async fn start_children(
    tx: &Transaction<'_>,
    children: &[InstanceRecord],
) -> Result<(), StoreError> {
    for child in children {
        insert(tx, child).await?;
    }
    Ok(())
}

/// Queues a step's messages for the instances that exist.
async fn send_all(tx: &Transaction<'_>, messages: &[(String, Message)]) -> Result<(), StoreError> {
    for (to, message) in messages {
        enqueue(tx, to, message).await?;
    }
    Ok(())
}

/// Tells other processes what a step queued, in one statement.
async fn notify_all(
    tx: &Transaction<'_>,
    commit: &StepCommit,
    from: u64,
) -> Result<(), StoreError> {
    let ended = usize::from(commit.record.status.is_terminal());
    let payloads: Vec<String> = [
        (
            Work::Instances,
            commit.messages.len() + commit.children.len(),
        ),
        (Work::Activities, commit.activities.len()),
        (Work::Timers, commit.timers.len()),
        (Work::Ended, ended),
    ]
    .into_iter()
    .filter(|(_, count)| *count > 0)
    .map(|(work, count)| sql::payload(work, count, from))
    .collect();
    if payloads.is_empty() {
        return Ok(());
    }
    sql::query(
        tx,
        "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload",
        &[&sql::CHANNEL, &payloads],
    )
    .await?;
    Ok(())
}
