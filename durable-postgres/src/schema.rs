//! The database schema, kept as numbered migrations in the crate (`migrations/*.sql`).
//!
//! [`PostgresStore::connect`](crate::PostgresStore::connect) brings a database up to
//! [`VERSION`] in one transaction, under an advisory lock, so that processes starting
//! together apply each migration once; a database already at a later version (written
//! by newer code) is refused rather than used, since this code would misread it.

use deadpool_postgres::{GenericClient, Object};
use durable_core::StoreError;

use crate::sql::{self, backend};

/// The migrations, in order: migration `n` (from 1) brings the schema to version `n`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_schema.sql"),
    include_str!("../migrations/0002_created_index.sql"),
    include_str!("../migrations/0003_fields_apart.sql"),
    include_str!("../migrations/0004_parts.sql"),
];

/// The schema version this code reads and writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Taken while migrating: the number is "durable" in ASCII.
const LOCK: i64 = 0x0064_7572_6162_6c65;

/// Why a database's schema cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database's durable schema is at version {found}, newer than this code's \
         {supported}: upgrade this program (its code would misread the tables)"
    )]
    TooNew { found: i32, supported: i32 },
}

/// Creates the schema or applies the migrations it lacks, in one transaction committed
/// at `durable`; returns the version found before.
pub(crate) async fn migrate(client: &mut Object, durable: &str) -> Result<i32, StoreError> {
    let tx = client.transaction().await.map_err(backend)?;
    sql::commit_at(&tx, durable).await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(backend)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS durable_schema (version integer NOT NULL)")
        .await
        .map_err(backend)?;
    let row = tx
        .query_one("SELECT coalesce(max(version), 0) FROM durable_schema", &[])
        .await
        .map_err(backend)?;
    let found: i32 = row.get(0);
    if found > VERSION {
        let e = SchemaError::TooNew {
            found,
            supported: VERSION,
        };
        return Err(StoreError::Backend(e.to_string()));
    }
    for (n, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(migration).await.map_err(|e| {
            StoreError::Backend(format!("schema migration {}: {}", n + 1, sql::describe(&e)))
        })?;
    }
    if found < VERSION {
        sql::execute(&tx, "DELETE FROM durable_schema", &[]).await?;
        sql::execute(&tx, "INSERT INTO durable_schema VALUES ($1)", &[&VERSION]).await?;
    }
    tx.commit().await.map_err(backend)?;
    Ok(found)
}
