//! Writes that change what an instance waits for: a step's commit, an activity call's
//! result or retry, and timers firing. Each is one transaction.
//!
//! Transactions lock rows in one order (instance rows by id, then activity calls and
//! timers), so that two of them never wait on each other in a cycle.

use std::collections::BTreeSet;

use deadpool_postgres::{GenericClient, Transaction};
use durable_core::codec;
use durable_core::inbox::results_needed;
use durable_core::store::{
    InstanceRecord, Lease, LockedActivity, Message, Millis, StepCommit, StoreError, TimerTask, Work,
};
use durable_core::TaskResult;

use crate::inbox::enqueue;
use crate::instances::insert;
use crate::sql::{self, backend, status_code, Kind};
use crate::PostgresStore;

/// The most timers one transaction fires.
const TIMER_BATCH: i64 = 500;

/// Locks the rows of the instances `ids` that exist, in id order; returns each one's
/// lease token.
async fn lock_instances(
    tx: &Transaction<'_>,
    ids: &BTreeSet<&str>,
) -> Result<Vec<(String, Option<i64>)>, StoreError> {
    let ids: Vec<&str> = ids.iter().copied().collect();
    let rows = sql::query(
        tx,
        "SELECT id, lease_token FROM durable_instances WHERE id = ANY($1)
         ORDER BY id FOR NO KEY UPDATE",
        &[&ids],
    )
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
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

/// The stored record of a step's instance, and what its row's columns say of it.
async fn update_record(
    tx: &Transaction<'_>,
    record: &InstanceRecord,
    consumed: &[(Kind, i64)],
) -> Result<(), StoreError> {
    let count = |kind: Option<Kind>| -> i32 {
        let matching = consumed
            .iter()
            .filter(|(k, _)| kind.is_none_or(|want| *k == want));
        matching.map(|(_, n)| *n as i32).sum()
    };
    let bytes = codec::encode(record, "instance record").map_err(sql::codec)?;
    let ended = record.status.is_terminal().then_some(record.updated as i64);
    let needed = i32::try_from(results_needed(record)).unwrap_or(i32::MAX);
    let buffered = i32::try_from(record.events.len()).unwrap_or(i32::MAX);
    let version = i32::try_from(record.version).unwrap_or(i32::MAX);
    sql::execute(
        tx,
        "UPDATE durable_instances SET
             record = $2, status = $3, name = $4, version = $5, ended = $6,
             needed = $7, buffered_events = $8,
             q_total = q_total - $9, q_results = q_results - $10,
             q_events = q_events - $11, q_commands = q_commands - $12,
             pending = q_total - $9 > 0,
             lease_token = NULL, lease_expires = durable_now()
         WHERE id = $1",
        &[
            &record.id,
            &bytes,
            &status_code(record.status),
            &record.name,
            &version,
            &ended,
            &needed,
            &buffered,
            &count(None),
            &count(Some(Kind::Result)),
            &count(Some(Kind::Event)),
            &count(Some(Kind::Command)),
        ],
    )
    .await?;
    Ok(())
}

impl PostgresStore {
    pub(crate) async fn commit(&self, lease: &Lease, commit: StepCommit) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let id = commit.record.id.as_str();
        let mut touched: BTreeSet<&str> = BTreeSet::from([id]);
        touched.extend(commit.messages.iter().map(|(to, _)| to.as_str()));
        let locked = lock_instances(&tx, &touched).await?;
        let held = locked.iter().find(|(i, _)| i == id).and_then(|(_, t)| *t);
        if held != Some(lease.token as i64) {
            drop(tx);
            if let Some(activity) = &commit.activity {
                // its result is lost with the step: free the call to run again
                release_call(&client, activity).await?;
            }
            return Err(StoreError::LeaseLost);
        }
        let mut cancelled: Vec<i64> = commit.cancelled.iter().map(|t| t.0 as i64).collect();
        // the call whose result the step took directly goes with the step, whoever
        // holds it now (a second run's result would be dropped as no longer awaited)
        cancelled.extend(commit.activity.iter().map(|a| a.task.task.0 as i64));
        if !cancelled.is_empty() {
            for table in ["durable_activities", "durable_timers"] {
                let delete = format!("DELETE FROM {table} WHERE instance = $1 AND task = ANY($2)");
                sql::execute(&tx, &delete, &[&id, &cancelled]).await?;
            }
        }
        let consumed: Vec<i64> = commit.consumed.iter().map(|s| *s as i64).collect();
        let kinds = sql::query(
            &tx,
            "WITH gone AS (
                 DELETE FROM durable_inbox WHERE instance = $1 AND seq = ANY($2) RETURNING kind
             )
             SELECT kind, count(*) FROM gone GROUP BY kind",
            &[&id, &consumed],
        )
        .await?;
        let consumed: Vec<(Kind, i64)> = kinds
            .iter()
            .filter_map(|r| Some((Kind::from_code(r.get(0))?, r.get(1))))
            .collect();
        self.schedule(&tx, id, &commit.activities, &commit.timers)
            .await?;
        for child in &commit.children {
            insert(&tx, child).await?;
        }
        for (to, message) in &commit.messages {
            enqueue(&tx, to, message).await?;
        }
        update_record(&tx, &commit.record, &consumed).await?;
        let woken = commit.messages.len() + commit.children.len();
        sql::notify(&tx, Work::Instances, woken).await?;
        sql::notify(&tx, Work::Activities, commit.activities.len()).await?;
        sql::notify(&tx, Work::Timers, commit.timers.len()).await?;
        tx.commit().await.map_err(backend)
    }

    /// Queues the activity calls and timers a step of `id` started.
    async fn schedule(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        activities: &[durable_core::store::ActivityTask],
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

    pub(crate) async fn complete(
        &self,
        locked: &LockedActivity,
        result: TaskResult,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let id = locked.task.instance.as_str();
        lock_instances(&tx, &BTreeSet::from([id])).await?;
        let deleted = sql::execute(
            &tx,
            "DELETE FROM durable_activities WHERE instance = $1 AND task = $2 AND lease_token = $3",
            &[
                &id,
                &(locked.task.task.0 as i64),
                &(locked.lease.token as i64),
            ],
        )
        .await?;
        if deleted == 0 {
            return Err(StoreError::LeaseLost);
        }
        let message = Message::TaskCompleted {
            task: locked.task.task,
            result,
        };
        enqueue(&tx, id, &message).await?;
        sql::notify(&tx, Work::Instances, 1).await?;
        tx.commit().await.map_err(backend)
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

    /// Fires timers due at `now`, a batch per transaction: their instances' rows are
    /// locked first (the lock order), then each timer is deleted and, if this
    /// transaction deleted it, its completion queued, so that a timer fires once however
    /// many processes fire timers.
    pub(crate) async fn fire(&self, now: Millis) -> Result<(usize, Option<Millis>), StoreError> {
        let mut client = self.client().await?;
        let now = now as i64;
        let mut fired = 0;
        loop {
            let tx = client.transaction().await.map_err(backend)?;
            let due = sql::query(
                &tx,
                "SELECT instance, task FROM durable_timers WHERE due <= $1 ORDER BY due LIMIT $2",
                &[&now, &TIMER_BATCH],
            )
            .await?;
            let batch: Vec<(String, i64)> = due.iter().map(|r| (r.get(0), r.get(1))).collect();
            let instances: BTreeSet<&str> = batch.iter().map(|(i, _)| i.as_str()).collect();
            lock_instances(&tx, &instances).await?;
            let mut fired_now = 0;
            for (instance, task) in &batch {
                let deleted = sql::execute(
                    &tx,
                    "DELETE FROM durable_timers WHERE instance = $1 AND task = $2",
                    &[instance, task],
                )
                .await?;
                if deleted == 0 {
                    continue; // fired by another process meanwhile
                }
                let message = Message::TaskCompleted {
                    task: durable_core::TaskId(*task as u64),
                    result: Ok(Vec::new()),
                };
                enqueue(&tx, instance, &message).await?;
                fired_now += 1;
            }
            sql::notify(&tx, Work::Instances, fired_now).await?;
            tx.commit().await.map_err(backend)?;
            fired += fired_now;
            if (batch.len() as i64) < TIMER_BATCH {
                break;
            }
        }
        let next = sql::query_opt(&client, "SELECT min(due) FROM durable_timers", &[]).await?;
        let next: Option<i64> = next.and_then(|r| r.get(0));
        Ok((fired, next.map(|due| due as Millis)))
    }
}
