//! Transactions sent in one round trip: `BEGIN`, the statements and `COMMIT` are written
//! to the connection together, and the server runs them in order. Every value is
//! encoded before anything is sent, so a transaction is sent whole or not at all; a
//! statement that fails aborts the transaction, and its `COMMIT` then rolls it back.
//!
//! A step's commit is one such transaction: its latency is one round trip plus the WAL
//! flush, rather than one round trip per statement.

use deadpool_postgres::{GenericClient, Object};
use futures_util::future::join_all;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::sql::CHANNEL;

const NOTIFY: &str = "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload";

/// A parameter owned by the pipeline until it is sent.
pub(crate) type Param = Box<dyn ToSql + Sync + Send>;

/// Statements to run in one transaction, and a notification to send once it commits.
#[derive(Default)]
pub(crate) struct Pipeline {
    statements: Vec<(&'static str, Vec<Param>)>,
    payloads: Vec<String>,
}

/// What a pipeline's statements returned, by the index [`Pipeline::push`] gave.
pub(crate) struct Results(Vec<Vec<Row>>);

impl Results {
    pub(crate) fn rows(&self, index: usize) -> &[Row] {
        self.0.get(index).map_or(&[], Vec::as_slice)
    }
}

impl Pipeline {
    /// Adds statement `sql` with `params`; returns its index in the [`Results`].
    pub(crate) fn push(&mut self, sql: &'static str, params: Vec<Param>) -> usize {
        self.statements.push((sql, params));
        self.statements.len() - 1
    }

    /// Sends `payloads` on the notification channel after the transaction, in a
    /// statement of its own. A `NOTIFY` inside a transaction holds a lock shared by
    /// the whole database until the transaction ends, its WAL flush included, which
    /// would put every durable commit that notifies in one line; after the commit, it
    /// commits without waiting for a flush (the pool's sessions do not), so the lock is
    /// held for an instant. If the transaction rolled back, the notification only wakes
    /// a worker that finds nothing.
    pub(crate) fn notify_after(&mut self, payloads: Vec<String>) {
        self.payloads = payloads;
    }

    /// Runs the statements in a transaction committed at `durable` (the server's
    /// `synchronous_commit`); returns the first error (a check that raises on purpose
    /// is told by its code). A connection whose transaction failed is closed rather
    /// than given back to the pool.
    pub(crate) async fn run(
        self,
        client: Object,
        durable: &str,
    ) -> Result<Results, tokio_postgres::Error> {
        // once per connection: afterwards each statement is sent at its first poll
        let mut prepared = Vec::with_capacity(self.statements.len());
        for (sql, _) in &self.statements {
            prepared.push(client.prepare_cached(sql).await?);
        }
        let notify = match self.payloads.is_empty() {
            true => None,
            false => Some(client.prepare_cached(NOTIFY).await?),
        };
        let begin = format!("BEGIN; SET LOCAL synchronous_commit = {durable}");
        let queries = prepared
            .iter()
            .zip(&self.statements)
            .map(|(statement, (_, params))| {
                let params: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
                let client = &client;
                async move { client.query(statement, &params).await }
            });
        let notified = async {
            match &notify {
                Some(statement) => {
                    let channel = CHANNEL;
                    client
                        .query(statement, &[&channel, &self.payloads])
                        .await
                        .map(drop)
                }
                None => Ok(()),
            }
        };
        let (begun, results, committed, notified) = tokio::join!(
            biased;
            client.batch_execute(&begin),
            join_all(queries),
            client.batch_execute("COMMIT"),
            notified,
        );
        let outcome = begun
            .and_then(|()| results.into_iter().collect::<Result<Vec<_>, _>>())
            .and_then(|rows| committed.and(notified).map(|()| Results(rows)));
        if outcome.is_err() {
            // its transaction ended with COMMIT (a rollback, after an error); but a
            // connection in doubt is closed rather than reused
            drop(Object::take(client));
        }
        outcome
    }
}
