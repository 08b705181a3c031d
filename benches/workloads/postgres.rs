//! The workloads on PostgreSQL: worker processes (this benchmark binary, re-run with
//! `DURABLE_BENCH_WORKER` set to the database's URL) run the steps and activities, and
//! this process drives the workload through a client with no workers, as an API
//! process would. The ceiling is what the database itself commits per second of a
//! transaction shaped like one step, measured in the same run.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use durable::Runtime;
use durable_postgres::PostgresStore;
use serde_json::{json, Value};

use crate::{drive, measured, register, round3, BoxError, Options};

/// Set in a worker process: the URL of the database to work on.
pub const WORKER: &str = "DURABLE_BENCH_WORKER";

/// Where the databases go: `--postgres URL`, or the test server's URL.
fn server(options: &Options) -> Result<String, BoxError> {
    options
        .postgres
        .clone()
        .or_else(|| std::env::var(crate::pg_support::VARIABLE).ok())
        .ok_or_else(|| {
            format!(
                "--store postgres needs a server: `--postgres URL`, or {} set (`scripts/postgres.sh start` starts a throwaway one and prints its URL)",
                crate::pg_support::VARIABLE
            )
            .into()
        })
}

/// A worker process: runs steps and activity calls on the database at `url` until its
/// standard input closes (the driver ended).
pub async fn worker(url: &str) -> Result<(), BoxError> {
    let store = PostgresStore::connect(url).await?;
    let runtime = register(Runtime::builder(store)).start();
    println!("ready");
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
    })
    .await?;
    runtime.shutdown().await;
    Ok(())
}

/// `--workers` worker processes on the database at `url`, each ready.
struct Workers(Vec<Child>);

impl Workers {
    fn start(url: &str, count: usize) -> Result<Self, BoxError> {
        let mut workers = Workers(Vec::new());
        for _ in 0..count.max(1) {
            let child = Command::new(std::env::current_exe()?)
                .env(WORKER, url)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()?;
            workers.0.push(child);
        }
        for child in &mut workers.0 {
            let stdout = child.stdout.take().ok_or("a worker's output")?;
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line)?;
            if line.trim() != "ready" {
                return Err("a worker process did not start".into());
            }
        }
        Ok(workers)
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            drop(child.stdin.take()); // the worker shuts down
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

/// One run of the workload on a fresh database.
pub async fn run_once(options: &Options) -> Result<Value, BoxError> {
    let url = crate::pg_support::database_on(&server(options)?).await;
    let store = PostgresStore::connect(&url).await?;
    let workers = options.workers.unwrap_or(1);
    let running = Workers::start(&url, workers)?;
    let client = Runtime::builder(store).client_only();
    let line = drive(options, &client).await;
    drop(running);
    let mut line = line?;
    line["workers"] = json!(workers);
    line["worker_processes"] = json!(workers);
    Ok(line)
}

/// How many connections commit at once in the ceiling: as many as a worker's pool.
const CEILING_CONNECTIONS: usize = 16;

/// Commits/s of a transaction shaped like one step (the instance's row updated with a
/// 200-byte record, the consumed message deleted, an activity call inserted), from
/// [`CEILING_CONNECTIONS`] connections at once, for one second.
pub async fn ceiling(options: &Options) -> Result<Value, BoxError> {
    let url = crate::pg_support::database_on(&server(options)?).await;
    let (setup, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    setup
        .batch_execute(
            "CREATE TABLE ceiling_instances (id text PRIMARY KEY, record bytea NOT NULL);
             CREATE TABLE ceiling_inbox (instance text, seq bigint, message bytea,
                                         PRIMARY KEY (instance, seq));
             CREATE TABLE ceiling_activities (instance text, task bigint, body bytea,
                                              PRIMARY KEY (instance, task));",
        )
        .await?;
    let budget = Duration::from_secs(1);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CEILING_CONNECTIONS {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let (mut client, connection) =
                tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            let id = format!("i{c}");
            let record = vec![7u8; 200];
            let body = vec![3u8; 60];
            client
                .execute(
                    "INSERT INTO ceiling_instances VALUES ($1, $2)",
                    &[&id, &record],
                )
                .await?;
            client
                .execute(
                    "INSERT INTO ceiling_inbox VALUES ($1, 0, $2)",
                    &[&id, &body],
                )
                .await?;
            let mut commits = 0i64;
            while started.elapsed() < budget {
                let tx = client.transaction().await?;
                tx.execute(
                    "UPDATE ceiling_instances SET record = $2 WHERE id = $1",
                    &[&id, &record],
                )
                .await?;
                tx.execute(
                    "DELETE FROM ceiling_inbox WHERE instance = $1 AND seq = $2",
                    &[&id, &commits],
                )
                .await?;
                tx.execute(
                    "INSERT INTO ceiling_inbox VALUES ($1, $2, $3)",
                    &[&id, &(commits + 1), &body],
                )
                .await?;
                tx.execute(
                    "INSERT INTO ceiling_activities VALUES ($1, $2, $3)",
                    &[&id, &commits, &body],
                )
                .await?;
                tx.commit().await?;
                commits += 1;
            }
            Ok::<i64, tokio_postgres::Error>(commits)
        }));
    }
    let mut commits = 0;
    for task in tasks {
        commits += task.await??;
    }
    let wall = started.elapsed();
    let mut line = measured(commits as u64, 1, commits as u64, wall);
    line["workload"] = json!("postgres-ceiling");
    line["store"] = json!("postgres");
    line["connections"] = json!(CEILING_CONNECTIONS);
    line["us_per_commit"] = json!(round3(wall.as_secs_f64() * 1e6 / commits as f64));
    Ok(line)
}
