//! A [`Store`](durable_core::Store) on PostgreSQL (15 or later), shared by worker
//! processes on any number of machines.
//!
//! Every process that points a runtime at the same database takes part: instances are
//! claimed with `FOR UPDATE SKIP LOCKED` under leases that expire (the database's clock
//! decides when, so machines whose clocks differ agree), each step is one transaction,
//! and a worker that dies loses only its leases. Work queued by one process wakes idle
//! workers in the others through `LISTEN`/`NOTIFY`, so it is taken up in milliseconds,
//! and an instance that ends wakes the clients waiting for it in every process; polling
//! remains only as a fallback (a notification sent while a listener reconnects).
//!
//! ```no_run
//! # async fn run() -> Result<(), durable_core::StoreError> {
//! let store = durable_postgres::PostgresStore::connect("postgres://app@db.internal/app").await?;
//! # let _ = store; Ok(()) }
//! ```
//!
//! The schema (tables named `durable_*` in the connection's schema) is created or
//! upgraded by [`PostgresStore::connect`]; see [`schema`].
//!
//! What a caller is told is stored (an instance started, an event raised, a step, a
//! purge) commits with the server's `synchronous_commit` (durable by default). Claims,
//! lease renewals, activity results and fired timers commit without waiting for the
//! WAL flush: if the database server itself crashes, the last of them may be lost,
//! which only means an activity call or timer is done again (activities run at least
//! once), and a later durable commit makes every earlier one durable.

mod claims;
mod commit;
mod fields;
mod inbox;
mod instances;
mod listen;
mod parts;
mod pipeline;
pub mod schema;
mod sql;
mod step;
mod store;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use durable_core::StoreError;
use tokio_postgres::NoTls;

use listen::Wakeups;

/// Instances, inboxes, activity calls and timers in a PostgreSQL database.
pub struct PostgresStore {
    /// Connections whose commits do not wait for the WAL to be flushed: claims and
    /// results, whose loss in a crash of the database only means work done again.
    /// What a caller is told is stored (a start, a raise, a step, a purge) commits at
    /// `durable`.
    pool: Pool,
    /// The server's own `synchronous_commit`, for commits that must be durable.
    durable: String,
    /// Tags the notifications this store sends ([`sql::origin`]).
    origin: u64,
    wakeups: Arc<Wakeups>,
    listener: tokio::task::JoinHandle<()>,
    /// How steps read the parts of their state kept beside checkpoints.
    parts: parts::PartReads,
}

/// Connection settings beyond the URL, for [`PostgresStore::connect_with`].
#[derive(Debug, Clone)]
pub struct Options {
    /// The most connections the store opens (besides one that listens for
    /// notifications). Default 16: a runtime's workers hold one only while a statement
    /// or a step's transaction runs.
    pub pool_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { pool_size: 16 }
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`, or
    /// the key-value form), creates or upgrades its schema, and starts listening for
    /// work queued by other processes. Refuses a database whose schema is newer than
    /// this code ([`schema::SchemaError`]).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, Options::default()).await
    }

    /// [`PostgresStore::connect`] with `options`.
    pub async fn connect_with(url: &str, options: Options) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        let durable = sql::server_commit_level(&config).await?;
        let manager = Manager::from_config(
            sql::lazy_commits(config.clone()),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build a connection pool: {e}")))?;
        {
            let mut client = pool.get().await.map_err(sql::pool)?;
            schema::migrate(&mut client, &durable).await?;
        }
        let wakeups = Arc::new(Wakeups::default());
        let origin = sql::origin();
        let parts = parts::PartReads::new(config.clone());
        let listener = tokio::spawn(listen::listen(config, wakeups.clone(), origin));
        Ok(Self {
            parts,
            pool,
            durable,
            origin,
            wakeups,
            listener,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(sql::pool)
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// How long an idle worker on this store waits before it looks for work again when no
/// notification came: notifications wake it at once, so polls only cover one lost
/// while the listening connection was down.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_url_that_is_not_one_is_refused_by_name() {
        let Err(e) = PostgresStore::connect("postgres://host:notaport/db").await else {
            panic!("connected to a nonsense URL");
        };
        assert!(e.to_string().contains("invalid PostgreSQL URL"), "{e}");
    }
}
