//! A fresh database per test on the throwaway PostgreSQL server the test command starts
//! (`scripts/test.sh`, through `scripts/postgres.sh`), named by `DURABLE_TEST_POSTGRES`.

use std::sync::atomic::{AtomicUsize, Ordering};

use durable_postgres::PostgresStore;

/// The variable that names the test server: a URL whose user may create databases.
pub const VARIABLE: &str = "DURABLE_TEST_POSTGRES";

/// The test server's URL; panics, saying how to get one, when none is set.
pub fn server() -> String {
    std::env::var(VARIABLE).unwrap_or_else(|_| {
        panic!(
            "the PostgreSQL tests need a server: run `scripts/test.sh` (it starts a throwaway \
             one), or start one with `scripts/postgres.sh start` and export {VARIABLE} as \
             the URL it prints"
        )
    })
}

/// A new, empty database on the test server; returns its URL.
pub async fn database() -> String {
    database_on(&server()).await
}

/// A new, empty database on `server`; returns its URL.
pub async fn database_on(server: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test server at {server}: {e}"));
    let connection = tokio::spawn(connection);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "durable_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create database {name}: {e:?}"));
    drop(client);
    let _ = connection.await;
    with_database(server, &name)
}

/// `server`'s URL with database `name`.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server, String::new()),
    };
    let base = match base.rsplit_once('/') {
        Some((host, _)) if host.contains("//") && !host.ends_with('/') => host,
        _ => base,
    };
    format!("{base}/{name}{query}")
}

/// A store on a new database.
pub async fn store() -> PostgresStore {
    let url = database().await;
    PostgresStore::connect(&url).await.unwrap()
}
