//! Writes that change what an instance waits for besides its steps (`step.rs`): an
//! activity call's result or retry, and timers firing. Each is one transaction.
//!
//! Writes lock rows in one order (activity calls and timers, then instance rows by id),
//! so that two of them never wait on each other in a cycle.

use deadpool_postgres::GenericClient;
use durable_core::codec;
use durable_core::store::{LockedActivity, Message, Millis, StoreError, Work};
use durable_core::TaskResult;

use crate::inbox::enqueue;
use crate::sql::{self, backend};
use crate::PostgresStore;

/// The most timers one transaction fires.
const TIMER_BATCH: i64 = 500;

impl PostgresStore {
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
        // one statement: the call's row first, then its instance's (the lock order);
        // other processes are told only if the result may make the instance runnable
        // (not each result of a fan-in still missing others)
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
                 RETURNING id, ready
             ), queued AS (
                 INSERT INTO durable_inbox (instance, kind, message)
                 SELECT id, 0, $4 FROM target
                 RETURNING instance
             )
             SELECT (SELECT count(*) FROM gone) AS gone,
                    (SELECT pg_notify($5, $6) FROM target WHERE ready) AS notified",
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
