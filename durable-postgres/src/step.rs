//! A step's commit: one transaction, sent in one round trip ([`Pipeline`]).
//!
//! Rows are locked in the lock order of every write (activity calls and timers, then
//! instance rows by id): the calls and timers the step cancels are deleted first, then
//! the rows of the instances the step writes to are locked in id order (when it sends
//! messages to others). The record is written only under the step's claim; if the
//! claim was lost, `durable_claim_held` raises `DU001`, which rolls the step back.

use std::collections::{BTreeMap, BTreeSet};

use durable_core::codec;
use durable_core::inbox::results_needed;
use durable_core::store::{Committed, Lease, StepCommit, StoreError, Work};
use tokio_postgres::error::SqlState;

use crate::fields;
use crate::inbox::enqueue_statement;
use crate::instances::insert_statement;
use crate::pipeline::Pipeline;
use crate::sql::{self, backend, status_code};
use crate::PostgresStore;

/// What `durable_claim_held` raises when a step's claim was lost.
const CLAIM_LOST: &str = "DU001";

impl PostgresStore {
    pub(crate) async fn commit(
        &self,
        lease: &Lease,
        commit: StepCommit,
    ) -> Result<Committed, StoreError> {
        let (pipeline, record) = self.step_statements(lease, &commit)?;
        let client = self.client().await?;
        match pipeline.run(client, &self.durable).await {
            Ok(results) => Ok(Committed {
                more_queued: results.rows(record).first().is_some_and(|r| r.get(0)),
            }),
            Err(e) if e.code() == Some(&SqlState::from_code(CLAIM_LOST)) => {
                if let Some(activity) = &commit.activity {
                    // its result is lost with the step: free the call to run again
                    let client = self.client().await?;
                    sql::execute(
                        &client,
                        "UPDATE durable_activities SET due = durable_now(), lease_token = NULL
                         WHERE instance = $1 AND task = $2 AND lease_token = $3",
                        &[
                            &activity.task.instance,
                            &(activity.task.task.0 as i64),
                            &(activity.lease.token as i64),
                        ],
                    )
                    .await?;
                }
                Err(StoreError::LeaseLost)
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// The statements of `commit`, everything encoded; and the index of the record's
    /// update, whose row says whether messages wait for the instance.
    fn step_statements(
        &self,
        lease: &Lease,
        commit: &StepCommit,
    ) -> Result<(Pipeline, usize), StoreError> {
        let record = &commit.record;
        let id = record.id.as_str();
        let mut pipeline = Pipeline::default();
        let cancelled: Vec<i64> = commit.cancelled.iter().map(|t| t.0 as i64).collect();
        // the call whose result the step took directly goes with the step, whoever
        // holds it now (a second run's result would be dropped as no longer awaited)
        let calls: Vec<i64> = (cancelled.iter().copied())
            .chain(commit.activity.iter().map(|a| a.task.task.0 as i64))
            .collect();
        if !calls.is_empty() {
            pipeline.push(
                "DELETE FROM durable_activities WHERE instance = $1 AND task = ANY($2)",
                vec![Box::new(id.to_owned()), Box::new(calls)],
            );
        }
        if !cancelled.is_empty() {
            pipeline.push(
                "DELETE FROM durable_timers WHERE instance = $1 AND task = ANY($2)",
                vec![Box::new(id.to_owned()), Box::new(cancelled)],
            );
        }
        let mut touched: BTreeSet<&str> = BTreeSet::from([id]);
        touched.extend(commit.messages.iter().map(|(to, _)| to.as_str()));
        if touched.len() > 1 {
            // the rows it writes to, locked in id order before any is written
            let touched: Vec<String> = touched.into_iter().map(str::to_owned).collect();
            pipeline.push(
                "SELECT 1 FROM durable_instances WHERE id = ANY($1) ORDER BY id
                 FOR NO KEY UPDATE",
                vec![Box::new(touched)],
            );
        }
        let consumed: Vec<i64> = commit.consumed.iter().map(|s| *s as i64).collect();
        let update = pipeline.push(
            UPDATE_RECORD,
            vec![
                Box::new(id.to_owned()),
                Box::new(fields::head(record)?),
                Box::new(status_code(record.status)),
                Box::new(record.name.clone()),
                Box::new(i32::try_from(record.version).unwrap_or(i32::MAX)),
                Box::new(record.status.is_terminal().then_some(record.updated as i64)),
                Box::new(i32::try_from(results_needed(record)).unwrap_or(i32::MAX)),
                Box::new(i32::try_from(record.events.len()).unwrap_or(i32::MAX)),
                Box::new(consumed),
                Box::new(lease.token as i64),
                Box::new(record.state.is_some()),
                // written only to a row that still holds its whole record
                Box::new(record.input.clone()),
                Box::new(commit.changed.output),
                Box::new(record.output.clone()),
                Box::new(commit.changed.events),
                Box::new(fields::events(record)?),
                Box::new(commit.changed.custom_status),
                Box::new(record.custom_status.clone()),
            ],
        );
        if !commit.activities.is_empty() {
            let mut tasks = Vec::with_capacity(commit.activities.len());
            let mut due = Vec::with_capacity(commit.activities.len());
            let mut bodies = Vec::with_capacity(commit.activities.len());
            for activity in &commit.activities {
                tasks.push(activity.task.0 as i64);
                due.push(activity.not_before as i64);
                bodies.push(codec::encode(activity, "activity task").map_err(sql::codec)?);
            }
            pipeline.push(
                "INSERT INTO durable_activities (instance, task, due, body)
                 SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bytea[])",
                vec![
                    Box::new(id.to_owned()),
                    Box::new(tasks),
                    Box::new(due),
                    Box::new(bodies),
                ],
            );
        }
        for keys in commit.dropped_parts.iter().filter(|keys| !keys.is_empty()) {
            // keys are task ids, far below 2^63: `ALL_PARTS`' end is clamped
            let bound = |key: u64| key.min(i64::MAX as u64) as i64;
            pipeline.push(
                "DELETE FROM durable_parts WHERE instance = $1 AND part >= $2 AND part < $3",
                vec![
                    Box::new(id.to_owned()),
                    Box::new(bound(keys.start)),
                    Box::new(bound(keys.end)),
                ],
            );
        }
        let parts = PartChanges::of(commit);
        if !parts.written.is_empty() {
            pipeline.push(
                "INSERT INTO durable_parts (instance, part, bytes)
                 SELECT $1, * FROM unnest($2::bigint[], $3::bytea[])
                 ON CONFLICT (instance, part) DO UPDATE SET bytes = excluded.bytes",
                vec![
                    Box::new(id.to_owned()),
                    Box::new(parts.written),
                    Box::new(parts.bytes),
                ],
            );
        }
        if !parts.deleted.is_empty() {
            pipeline.push(
                "DELETE FROM durable_parts WHERE instance = $1 AND part = ANY($2)",
                vec![Box::new(id.to_owned()), Box::new(parts.deleted)],
            );
        }
        if !commit.timers.is_empty() {
            let tasks: Vec<i64> = commit.timers.iter().map(|t| t.task.0 as i64).collect();
            let due: Vec<i64> = commit.timers.iter().map(|t| t.due as i64).collect();
            pipeline.push(
                "INSERT INTO durable_timers (instance, task, due)
                 SELECT $1, * FROM unnest($2::bigint[], $3::bigint[])
                 ON CONFLICT DO NOTHING",
                vec![Box::new(id.to_owned()), Box::new(tasks), Box::new(due)],
            );
        }
        // sub-orchestrations first (one whose id exists is left as it is), so that the
        // messages to them find them
        for child in &commit.children {
            let (sql, params) = insert_statement(child)?;
            pipeline.push(sql, params);
        }
        for (to, message) in &commit.messages {
            let (sql, params) = enqueue_statement(to, message)?;
            pipeline.push(sql, params);
        }
        pipeline.notify_after(self.payloads(commit));
        Ok((pipeline, update))
    }

    /// What a step tells other processes it queued, and that its instance ended.
    fn payloads(&self, commit: &StepCommit) -> Vec<String> {
        let ended = commit.record.status.is_terminal();
        let ended = ended.then(|| sql::ended_payload(&commit.record.id, self.origin));
        [
            (
                Work::Instances,
                commit.messages.len() + commit.children.len(),
            ),
            (Work::Activities, commit.activities.len()),
            (Work::Timers, commit.timers.len()),
        ]
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(work, count)| sql::payload(work, count, self.origin))
        .chain(ended)
        .collect()
    }
}

/// What a step changes of its instance's parts, as the statements take it: the keys
/// and bytes of the parts written, and the keys of those deleted.
#[derive(Default)]
struct PartChanges {
    written: Vec<i64>,
    bytes: Vec<Vec<u8>>,
    deleted: Vec<i64>,
}

impl PartChanges {
    /// Of two changes to one part, the later counts, as in the order the step made them.
    fn of(commit: &StepCommit) -> Self {
        let last: BTreeMap<u64, &Option<Vec<u8>>> = commit
            .parts
            .iter()
            .map(|(part, bytes)| (*part, bytes))
            .collect();
        let mut changes = PartChanges::default();
        for (part, bytes) in last {
            match bytes {
                Some(bytes) => {
                    changes.written.push(part as i64);
                    changes.bytes.push(bytes.clone());
                }
                None => changes.deleted.push(part as i64),
            }
        }
        changes
    }
}

/// The step's record (its head, and the fields it changed: all of them in a row written
/// before the fields were kept apart) and what its row's columns say of it, with the
/// messages it consumed deleted and taken off the row's counts, if the step's claim (`$10`) still
/// holds; else `durable_claim_held` raises `DU001`, which rolls the step back. Returns
/// whether messages still wait (they arrived during the step).
const UPDATE_RECORD: &str = "
    WITH gone AS (
        DELETE FROM durable_inbox WHERE instance = $1 AND seq = ANY($9) RETURNING kind
    ), counts AS (
        SELECT count(*)::int AS total,
               (count(*) FILTER (WHERE kind = 0))::int AS results,
               (count(*) FILTER (WHERE kind = 1))::int AS events,
               (count(*) FILTER (WHERE kind = 2))::int AS commands
        FROM gone
    ), updated AS (
        UPDATE durable_instances AS i SET
            record = $2, status = $3, name = $4, version = $5, ended = $6,
            needed = $7, buffered_events = $8,
            apart = true, started = $11,
            input = CASE WHEN i.apart THEN i.input ELSE $12 END,
            output = CASE WHEN $13 OR NOT i.apart THEN $14 ELSE i.output END,
            events = CASE WHEN $15 OR NOT i.apart THEN $16 ELSE i.events END,
            custom_status = CASE WHEN $17 OR NOT i.apart THEN $18 ELSE i.custom_status END,
            q_total = q_total - counts.total, q_results = q_results - counts.results,
            q_events = q_events - counts.events, q_commands = q_commands - counts.commands,
            pending = q_total - counts.total > 0,
            lease_token = NULL, lease_expires = durable_now()
        FROM counts
        WHERE id = $1 AND lease_token = $10
        RETURNING pending
    )
    SELECT coalesce((SELECT pending FROM updated), false) AS pending,
           durable_claim_held((SELECT count(*) FROM updated), $1) AS held";
