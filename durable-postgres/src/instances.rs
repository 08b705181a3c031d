//! Instances as users see them: creating, reading, listing, sending to and purging.

use deadpool_postgres::GenericClient;
use durable_core::codec;
use durable_core::store::{
    admit_event, descendants_prefix, event_names, InstanceFilter, InstanceRecord, InstanceTasks,
    Message, Millis, Page, Purge, QueuedActivity, RuntimeStatus, StoreError, TimerTask,
};
use durable_core::TaskId;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::fields;
use crate::inbox::{enqueue, enqueue_event_statement, enqueue_statement};
use crate::pipeline::{Param, Pipeline};
use crate::sql::{self, backend, kind_code, status_code};
use crate::PostgresStore;
use durable_core::store::Work;

/// Inserts `record` with its start message queued, unless its id is taken: a statement
/// of a [`Pipeline`] that returns a row if it was inserted.
pub(crate) fn insert_statement(
    record: &InstanceRecord,
) -> Result<(&'static str, Vec<Param>), StoreError> {
    let bytes = fields::head(record)?;
    let start = codec::encode(&Message::Start, "message").map_err(sql::codec)?;
    let version = i32::try_from(record.version).unwrap_or(i32::MAX);
    let params: Vec<Param> = vec![
        Box::new(record.id.clone()),
        Box::new(record.name.clone()),
        Box::new(version),
        Box::new(status_code(record.status)),
        Box::new(record.created as i64),
        Box::new(bytes),
        Box::new(kind_code(&Message::Start)),
        Box::new(start),
        Box::new(record.state.is_some()),
        Box::new(record.input.clone()),
        Box::new(record.output.clone()),
        Box::new(fields::events(record)?),
        Box::new(record.custom_status.clone()),
    ];
    Ok((INSERT, params))
}

const INSERT: &str = "
    WITH created AS (
        INSERT INTO durable_instances
            (id, name, version, status, created, record, pending, q_total, lease_expires,
             apart, started, input, output, events, custom_status)
        VALUES ($1, $2, $3, $4, $5, $6, true, 1, durable_now(), true, $9, $10, $11, $12, $13)
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    )
    INSERT INTO durable_inbox (instance, kind, message) SELECT id, $7, $8 FROM created
    RETURNING seq";

/// What the store shows of a stored row (`id`, `record`, `quarantine` and the columns of
/// [`fields`]): its record, or a blocked one when the record cannot be decoded or the
/// instance is quarantined.
pub(crate) fn shown(row: &Row) -> InstanceRecord {
    let id: String = row.get("id");
    let quarantine: Option<String> = row.get("quarantine");
    match (fields::assemble(row), quarantine) {
        (Ok(record), None) => record,
        (Ok(record), Some(reason)) => InstanceRecord::blocked(id, Some(record), reason),
        (Err(reason), _) => InstanceRecord::blocked(id, None, reason),
    }
}

impl PostgresStore {
    pub(crate) async fn create_instance(&self, record: InstanceRecord) -> Result<(), StoreError> {
        let mut pipeline = Pipeline::default();
        let (sql, params) = insert_statement(&record)?;
        let inserted = pipeline.push(sql, params);
        pipeline.notify_after(vec![sql::payload(Work::Instances, 1, self.origin)]);
        let results = pipeline.run(self.client().await?, &self.durable).await;
        if results.map_err(backend)?.rows(inserted).is_empty() {
            return Err(StoreError::AlreadyExists(record.id));
        }
        Ok(())
    }

    pub(crate) async fn read_instance(
        &self,
        id: &str,
    ) -> Result<Option<InstanceRecord>, StoreError> {
        let client = self.client().await?;
        let row = sql::query_opt(
            &client,
            &format!(
                "SELECT id, record, quarantine, {} FROM durable_instances WHERE id = $1",
                fields::ALL
            ),
            &[&id],
        )
        .await?;
        Ok(row.as_ref().map(shown))
    }

    /// The calls and timers `id` has queued.
    pub(crate) async fn instance_tasks(&self, id: &str) -> Result<InstanceTasks, StoreError> {
        let client = self.client().await?;
        let calls = sql::query(
            &client,
            "SELECT body, lease_token IS NOT NULL AND due > durable_now()
                 FROM durable_activities WHERE instance = $1 ORDER BY task",
            &[&id],
        )
        .await?;
        let timers = sql::query(
            &client,
            "SELECT task, due FROM durable_timers WHERE instance = $1 ORDER BY task",
            &[&id],
        )
        .await?;
        let activities = calls
            .iter()
            // a call that does not decode is quarantined when it is claimed
            .filter_map(|row| {
                let task = codec::decode(row.get::<_, &[u8]>(0), "activity task").ok()?;
                Some(QueuedActivity {
                    task,
                    claimed: row.get(1),
                })
            })
            .collect();
        let timers = timers
            .iter()
            .map(|row| TimerTask {
                due: row.get::<_, i64>(1) as Millis,
                instance: id.to_owned(),
                task: TaskId(row.get::<_, i64>(0) as u64),
            })
            .collect();
        Ok(InstanceTasks { activities, timers })
    }

    pub(crate) async fn send_message(&self, id: &str, message: Message) -> Result<(), StoreError> {
        let mut pipeline = Pipeline::default();
        let (sql, params) = match &message {
            Message::Event { .. } => enqueue_event_statement(id, &message)?,
            _ => enqueue_statement(id, &message)?,
        };
        let queued = pipeline.push(sql, params);
        pipeline.notify_after(vec![sql::payload(Work::Instances, 1, self.origin)]);
        let results = pipeline.run(self.client().await?, &self.durable).await;
        if !results.map_err(backend)?.rows(queued).is_empty() {
            return Ok(());
        }
        self.send_past_the_bound(id, message).await
    }

    /// Queues event `message` for `id`, which was refused at the bound, if the
    /// instance waits for it ([`admit_event`]): decided under the row's lock.
    async fn send_past_the_bound(&self, id: &str, message: Message) -> Result<(), StoreError> {
        let Message::Event { name, .. } = &message else {
            return Err(StoreError::NotFound(id.to_owned()));
        };
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let row = sql::query_opt(
            &tx,
            &format!(
                "SELECT id, record, quarantine, q_events + buffered_events, {}
                 FROM durable_instances WHERE id = $1 FOR UPDATE",
                fields::FOR_EVENTS
            ),
            &[&id],
        )
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(id.to_owned()));
        };
        let record = shown(&row);
        let untaken = usize::try_from(row.get::<_, i32>(3)).unwrap_or(0);
        let queued = sql::query(
            &tx,
            "SELECT message FROM durable_inbox WHERE instance = $1 AND kind = 1",
            &[&id],
        )
        .await?;
        admit_event(&record, name, untaken, || {
            let events: Vec<Message> = queued
                .iter()
                .filter_map(|row| codec::decode(row.get::<_, &[u8]>(0), "message").ok())
                .collect();
            Ok(event_names(&events))
        })?;
        enqueue(&tx, id, &message).await?;
        sql::notify(&tx, Work::Instances, 1, self.origin).await?;
        tx.commit().await.map_err(backend)
    }

    /// One page of instances matching `filter`. Each status is read from the status
    /// index up to the page's size (then merged), so that a page of a rare status
    /// costs the page, not the instances stored.
    pub(crate) async fn list_instances(
        &self,
        filter: &InstanceFilter,
        page: &Page,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        let mut statuses: Vec<i16> = filter.statuses.iter().map(|s| status_code(*s)).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let limit = i64::try_from(page.limit).unwrap_or(i64::MAX);
        let version = filter.version.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
        let from = filter.created_from.map(|t| t as i64);
        let to = filter.created_to.map(|t| t as i64);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&limit];
        let mut conditions = Vec::new();
        let mut bind = |params: &mut Vec<&'_ (dyn ToSql + Sync)>, condition: &str| {
            conditions.push(condition.replace('?', &format!("${}", params.len())));
        };
        if let Some(name) = &filter.name {
            params.push(name);
            bind(&mut params, "name = ?");
        }
        if let Some(version) = &version {
            params.push(version);
            bind(&mut params, "version = ?");
        }
        if let Some(from) = &from {
            params.push(from);
            bind(&mut params, "created >= ?");
        }
        if let Some(to) = &to {
            params.push(to);
            bind(&mut params, "created < ?");
        }
        if let Some(after) = &page.after {
            params.push(after);
            bind(&mut params, "id > ?");
        }
        let select = |extra: Option<String>| {
            let mut all = conditions.clone();
            all.extend(extra);
            let wheres = match all.is_empty() {
                true => String::new(),
                false => format!("WHERE {}", all.join(" AND ")),
            };
            format!(
                "(SELECT id, record, quarantine, {} FROM durable_instances {wheres} \
                 ORDER BY id LIMIT $1)",
                fields::ALL
            )
        };
        let text = if statuses.is_empty() {
            select(None)
        } else {
            let parts: Vec<String> = statuses
                .iter()
                .map(|s| match *s == status_code(RuntimeStatus::Blocked) {
                    // an instance whose bytes cannot be decoded shows as blocked
                    true => select(Some(format!("(status = {s} OR quarantine IS NOT NULL)"))),
                    false => select(Some(format!("status = {s} AND quarantine IS NULL"))),
                })
                .collect();
            format!(
                "SELECT * FROM ({}) AS matching ORDER BY id LIMIT $1",
                parts.join(" UNION ALL ")
            )
        };
        let client = self.client().await?;
        let rows = client.query(&text, &params).await.map_err(backend)?;
        let records = rows.iter().map(shown);
        // a quarantined instance shows as blocked, whatever its stored status
        Ok(records.filter(|r| filter.matches(r)).collect())
    }

    pub(crate) async fn ended_instances(
        &self,
        before: Millis,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let before = before as i64;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sql::query(
            &client,
            "SELECT id FROM durable_instances WHERE ended < $1 ORDER BY ended, id LIMIT $2",
            &[&before, &limit],
        )
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Deletes instance `id` and its descendants, with everything queued for them, if
    /// it may be purged and none of them is taking a step: checked and done in one
    /// transaction, under the rows' locks.
    pub(crate) async fn purge_tree(&self, id: &str) -> Result<Purge, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        sql::commit_at(&tx, &self.durable).await?;
        let prefix = descendants_prefix(id);
        let end = prefix_end(&prefix);
        let rows = sql::query(
            &tx,
            &format!(
                "SELECT id, record, quarantine,
                        lease_token IS NOT NULL AND lease_expires > durable_now(), {}
                 FROM durable_instances
                 WHERE id = $1 OR (id >= $2 AND id < $3)
                 ORDER BY id FOR UPDATE",
                fields::HEAD
            ),
            &[&id, &prefix, &end],
        )
        .await?;
        let Some(root) = rows.iter().find(|r| r.get::<_, &str>(0) == id) else {
            return Ok(Purge::NotFound);
        };
        let status = shown(root).status;
        if !status.is_purgeable() {
            return Ok(Purge::NotEnded(status));
        }
        if rows.iter().any(|r| r.get::<_, bool>(3)) {
            return Ok(Purge::Busy);
        }
        let tree: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        for table in [
            "durable_inbox",
            "durable_activities",
            "durable_timers",
            "durable_parts",
        ] {
            let delete = format!("DELETE FROM {table} WHERE instance = ANY($1)");
            sql::execute(&tx, &delete, &[&tree]).await?;
        }
        sql::execute(
            &tx,
            "DELETE FROM durable_instances WHERE id = ANY($1)",
            &[&tree],
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        Ok(Purge::Deleted {
            descendants: tree.len() - 1,
        })
    }
}

/// The first string after every string that starts with `prefix`, in byte order (the
/// ids' collation): `prefix` ends in `:`, so its last byte is simply incremented.
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_owned();
    if end.pop() == Some(':') {
        end.push(';');
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_are_the_ids_between_the_prefix_and_its_end() {
        let prefix = descendants_prefix("order-7");
        let end = prefix_end(&prefix);
        for inside in ["order-7:1", "order-7:1:2", "order-7:~"] {
            assert!(
                inside >= prefix.as_str() && inside < end.as_str(),
                "{inside}"
            );
        }
        for outside in ["order-7", "order-70:1", "order-7;", "order-8:1"] {
            assert!(
                !(outside >= prefix.as_str() && outside < end.as_str()),
                "{outside}"
            );
        }
    }
}
