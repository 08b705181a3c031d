//! Crash tests: worker processes run a mixed workload and are SIGKILLed at random
//! moments, at least 20 times, then restarted to finish. On RocksDB one worker process
//! owns the store; on PostgreSQL three share one database, and a random one of them is
//! killed each time while the others go on. Every orchestration must complete with the
//! right output, none lost and none duplicated. Activities append a line per execution
//! to a log, so the test can report how often an activity ran again after a crash
//! (at-least-once execution allows that). The workload includes activities that run
//! longer than the lease, and ids whose first life is purged, tree and all, and started
//! again, and loops over owned lists long enough to be kept beside their checkpoints.
//!
//! The worker is this test binary itself, re-run with `DURABLE_CRASH_DIR` set (and
//! `DURABLE_CRASH_POSTGRES`, the database's URL, for the PostgreSQL run), which is why
//! the test has its own `main` (`harness = false`).

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use durable::rocks::RocksStore;
use durable::{
    activity, join_all, orchestrator, ClientError, OrchestrationContext, Runtime, RuntimeStatus,
    Store, StoreError,
};
use durable_postgres::PostgresStore;
use support::TestError;

const DIR: &str = "DURABLE_CRASH_DIR";
const POSTGRES: &str = "DURABLE_CRASH_POSTGRES";
const CHAINS: u64 = 145;
const FANOUTS: u64 = 50;
const TIMERS: u64 = 25;
const EVENTS: u64 = 25;
const PARENTS: u64 = 25;
const LONG: u64 = 3;
const REBORN: u64 = 10;
/// Instances whose calls are made inside durable functions nested two deep.
const HELPED: u64 = 20;
/// Instances that loop over an owned collection long enough to be kept beside their
/// checkpoints (where the store keeps parts).
const LISTED: u64 = 10;
/// Shorter than a `long_work` call, which keeps its claim by renewing it.
const LEASE: Duration = Duration::from_secs(1);

fn log_path() -> PathBuf {
    Path::new(&std::env::var(DIR).expect("worker mode")).join("executions.log")
}

/// Appends `key` to the execution log: one line per execution of an activity.
fn record(key: String) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path())
        .map_err(|e| e.to_string())?;
    // one write call, so a kill cannot leave half a line
    file.write_all(format!("{key}\n").as_bytes())
        .map_err(|e| e.to_string())
}

#[activity]
async fn work(input: (String, u64)) -> Result<u64, String> {
    // long enough that the workload outlasts twenty kills
    tokio::time::sleep(Duration::from_millis(40)).await;
    record(format!("{}/{}", input.0, input.1))?;
    Ok(input.1 * 3)
}

/// Runs longer than the lease.
#[activity]
async fn long_work(input: (String, u64)) -> Result<u64, String> {
    tokio::time::sleep(LEASE + LEASE / 2).await;
    record(format!("{}/{}", input.0, input.1))?;
    Ok(input.1 * 3)
}

#[orchestrator]
async fn long_call(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let id = ctx.instance_id().to_owned();
    Ok(ctx.call(long_work, (id, x)).await?)
}

/// `n` calls logged under `label`.
#[orchestrator]
async fn labelled(ctx: OrchestrationContext, input: (String, u64)) -> Result<u64, TestError> {
    let (label, n) = input;
    let mut total = 0;
    for step in 0..n {
        total += ctx.call(work, (label.clone(), step)).await?;
    }
    Ok(total)
}

/// Life `life` of a re-created id: a child of `life + 1` calls, logged per life.
#[orchestrator]
async fn life(ctx: OrchestrationContext, life: u64) -> Result<u64, TestError> {
    let label = format!("{}@{life}", ctx.instance_id());
    ctx.sub_orchestration(labelled, (label, life + 1))
        .await
        .map_err(|e| TestError::Rejected(e.to_string()))
}

#[orchestrator]
async fn chain(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let id = ctx.instance_id().to_owned();
    let mut total = 0;
    for step in 0..n {
        total += ctx.call(work, (id.clone(), step)).await?;
    }
    Ok(total)
}

/// A call per item of an owned list of `n`.
#[orchestrator]
async fn listed(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let id = ctx.instance_id().to_owned();
    let steps: Vec<u64> = (0..n).collect();
    let mut total = 0;
    for step in steps {
        total += ctx.call(work, (id.clone(), step)).await?;
    }
    Ok(total)
}

#[orchestrator]
async fn fanout(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let id = ctx.instance_id().to_owned();
    let calls: Vec<_> = (0..n).map(|i| ctx.call(work, (id.clone(), i))).collect();
    let mut total = 0;
    for result in join_all(calls).await {
        total += result?;
    }
    Ok(total)
}

#[orchestrator]
async fn sleeper(ctx: OrchestrationContext, millis: u64) -> Result<u64, TestError> {
    ctx.timer(Duration::from_millis(millis)).await;
    let id = ctx.instance_id().to_owned();
    let after = ctx.call(work, (id, 1)).await?;
    ctx.timer(Duration::from_millis(millis)).await;
    Ok(after)
}

#[orchestrator]
async fn waiter(ctx: OrchestrationContext, _: ()) -> Result<u64, TestError> {
    let value: u64 = ctx.event("go").await;
    let id = ctx.instance_id().to_owned();
    Ok(ctx.call(work, (id, value)).await?)
}

#[orchestrator]
async fn parent(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let first = ctx.sub_orchestration(chain, n).await;
    let second = ctx.sub_orchestration(chain, n + 1).await;
    let to_error = |e: durable::OrchestrationError| TestError::Rejected(e.to_string());
    Ok(first.map_err(to_error)? + second.map_err(to_error)?)
}

/// `n` calls inside a durable function, nested in another: a kill may land in either.
#[durable::function]
async fn inner_calls(ctx: &OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let id = format!("{}/inner", ctx.instance_id());
    let mut total = 0;
    for step in 0..n {
        total += ctx.call(work, (id.clone(), step)).await?;
    }
    Ok(total)
}

#[durable::function]
async fn outer_calls(ctx: &OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let id = format!("{}/outer", ctx.instance_id());
    let first = ctx.call(work, (id, 0)).await?;
    Ok(first + inner_calls(ctx, n).await?)
}

#[orchestrator]
async fn helped(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let total = outer_calls(&ctx, n).await?;
    let id = ctx.instance_id().to_owned();
    Ok(total + ctx.call(work, (id, 1)).await?)
}

fn chain_total(n: u64) -> u64 {
    (0..n).map(|i| i * 3).sum()
}

/// Every instance the worker starts, with the output it must end with.
fn workload() -> Vec<(String, u64)> {
    let mut all = Vec::new();
    all.extend((0..CHAINS).map(|i| (format!("chain-{i}"), chain_total(5))));
    all.extend((0..FANOUTS).map(|i| (format!("fanout-{i}"), chain_total(50))));
    all.extend((0..TIMERS).map(|i| (format!("sleeper-{i}"), 3)));
    all.extend((0..EVENTS).map(|i| (format!("waiter-{i}"), i * 3)));
    all.extend((0..PARENTS).map(|i| (format!("parent-{i}"), chain_total(3) + chain_total(4))));
    all.extend((0..LONG).map(|i| (format!("long-{i}"), i * 3)));
    all.extend((0..REBORN).map(|i| (format!("reborn-{i}"), chain_total(3))));
    all.extend((0..HELPED).map(|i| (format!("helped-{i}"), chain_total(4) + 3)));
    all.extend((0..LISTED).map(|i| (format!("listed-{i}"), chain_total(12))));
    all
}

/// Moves `reborn-{i}` through its two lives: the first (`life` 1) is purged with its
/// child once it has ended, and the id started again (`life` 2). The marker instance
/// `reborn-{i}-purged`, started before the purge, tells a restarted worker which life
/// is due. Whether the second life has ended.
async fn rebirth<S: Store>(client: &durable::Client<S>, i: u64) -> bool {
    let id = format!("reborn-{i}");
    let marker = format!("reborn-{i}-purged");
    let purge_due = client.status(&marker).await.unwrap().is_some();
    let status = client.status(&id).await.unwrap();
    let first_life_output = durable::codec::encode_payload(&chain_total(2), "output").unwrap();
    match (purge_due, status) {
        (false, None) => start(client, life, &id, &1).await,
        (false, Some(s)) if s.status.is_terminal() => start(client, chain, &marker, &0).await,
        (false, Some(_)) => {}
        (true, Some(s)) if s.output.as_ref() == Some(&first_life_output) => {
            let _ = client.purge(&id).await.unwrap(); // Busy: again on the next round
        }
        (true, None) => start(client, life, &id, &2).await,
        (true, Some(s)) => return s.status.is_terminal(),
    }
    false
}

async fn start<S: Store, O: durable::OrchestrationFn>(
    client: &durable::Client<S>,
    orchestration: O,
    id: &str,
    input: &<O::Orchestration as durable::Orchestration>::Input,
) {
    match client.start(orchestration, Some(id), input).await {
        Ok(_) | Err(ClientError::Store(StoreError::AlreadyExists(_))) => {}
        Err(e) => panic!("cannot start {id}: {e}"),
    }
}

/// The worker: starts (or finds) every instance, raises the events, and runs until all
/// have ended.
async fn worker<S: Store>(store: S) {
    let runtime = Runtime::builder(store)
        .orchestration(chain)
        .orchestration(fanout)
        .orchestration(sleeper)
        .orchestration(waiter)
        .orchestration(parent)
        .orchestration(long_call)
        .orchestration(labelled)
        .orchestration(life)
        .orchestration(helped)
        .orchestration(listed)
        .activity(work)
        .activity(long_work)
        .concurrency(2, 8)
        .lease(LEASE)
        .poll_interval(Duration::from_millis(10))
        .start();
    let client = runtime.client();
    for i in 0..CHAINS {
        start(&client, chain, &format!("chain-{i}"), &5).await;
    }
    for i in 0..FANOUTS {
        start(&client, fanout, &format!("fanout-{i}"), &50).await;
    }
    for i in 0..TIMERS {
        start(&client, sleeper, &format!("sleeper-{i}"), &30).await;
    }
    for i in 0..EVENTS {
        let id = format!("waiter-{i}");
        start(&client, waiter, &id, &()).await;
        let done = client
            .status(&id)
            .await
            .unwrap()
            .is_some_and(|s| s.status.is_terminal());
        if !done {
            client.raise_event(&id, "go", &i).await.unwrap();
        }
    }
    for i in 0..PARENTS {
        start(&client, parent, &format!("parent-{i}"), &3).await;
    }
    for i in 0..LONG {
        start(&client, long_call, &format!("long-{i}"), &i).await;
    }
    for i in 0..HELPED {
        start(&client, helped, &format!("helped-{i}"), &4).await;
    }
    for i in 0..LISTED {
        start(&client, listed, &format!("listed-{i}"), &12).await;
    }
    // a worker that cannot finish says which instances hold it, rather than hang
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let mut open = Vec::new();
        for i in 0..REBORN {
            if !rebirth(&client, i).await {
                open.push(format!("reborn-{i}"));
            }
        }
        for (id, _) in workload() {
            let Some(status) = client.status(&id).await.unwrap() else {
                assert!(id.starts_with("reborn-"), "{id} was lost");
                open.push(format!("{id} (purged, not yet started again)"));
                continue;
            };
            if !status.status.is_terminal() {
                open.push(format!("{id} ({:?}: {:?})", status.status, status.error));
            }
        }
        if open.is_empty() {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            eprintln!("not finished after 120 s: {}", open.join(", "));
            std::process::exit(1);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    runtime.shutdown().await;
}

fn main() {
    let Ok(dir) = std::env::var(DIR) else {
        one_worker_survives_twenty_sigkills();
        three_workers_on_postgres_survive_twenty_sigkills();
        return;
    };
    let dir = Path::new(&dir);
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match std::env::var(POSTGRES) {
        Ok(url) => rt.block_on(async {
            let store = PostgresStore::connect(&url).await.expect("the store opens");
            worker(store).await
        }),
        Err(_) => rt.block_on(worker(
            RocksStore::open(dir.join("db")).expect("the store opens"),
        )),
    }
}

fn spawn_worker(dir: &Path, postgres: Option<&str>) -> std::process::Child {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command.env(DIR, dir);
    if let Some(url) = postgres {
        command.env(POSTGRES, url);
    }
    command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the worker starts")
}

/// A small xorshift generator: kill times differ between runs without a dependency.
fn random(state: &mut u64, from: u64, to: u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    from + *state % (to - from)
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1
}

fn one_worker_survives_twenty_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = seed();
    let started = Instant::now();
    let mut kills = 0;
    while kills < 20 {
        let mut child = spawn_worker(dir.path(), None);
        std::thread::sleep(Duration::from_millis(random(&mut seed, 150, 700)));
        if child.try_wait().unwrap().is_some() {
            break; // finished before this kill: nothing left to interrupt
        }
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        kills += 1;
    }
    let status = spawn_worker(dir.path(), None)
        .wait()
        .expect("the last worker runs");
    assert!(status.success(), "the last worker failed: {status}");
    let store = RocksStore::open(dir.path().join("db")).unwrap();
    check(
        "RocksDB, one worker process",
        &store,
        dir.path(),
        kills,
        started,
    );
}

/// Three workers on one database; each kill takes a random one, which is started again
/// at once, while the other two go on.
fn three_workers_on_postgres_survive_twenty_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(support::postgres::database());
    let mut seed = seed();
    let started = Instant::now();
    let mut workers: Vec<_> = (0..3)
        .map(|_| spawn_worker(dir.path(), Some(&url)))
        .collect();
    let mut kills = 0;
    while kills < 20 {
        std::thread::sleep(Duration::from_millis(random(&mut seed, 100, 500)));
        let victim = random(&mut seed, 0, 3) as usize;
        if workers[victim].try_wait().unwrap().is_some() {
            break; // finished before this kill: nothing left to interrupt
        }
        workers[victim].kill().expect("SIGKILL");
        workers[victim].wait().unwrap();
        workers[victim] = spawn_worker(dir.path(), Some(&url));
        kills += 1;
    }
    for mut worker in workers {
        let status = worker.wait().expect("the last workers run");
        assert!(status.success(), "a last worker failed: {status}");
    }
    let store = rt.block_on(PostgresStore::connect(&url)).unwrap();
    check(
        "PostgreSQL, three worker processes",
        &store,
        dir.path(),
        kills,
        started,
    );
}

/// Every instance completed with its output, every call ran; reports how many ran twice.
fn check<S: Store>(on: &str, store: &S, dir: &Path, kills: u32, started: Instant) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (id, expected) in workload() {
        let record = rt.block_on(store.instance(&id)).unwrap().expect("not lost");
        assert_eq!(
            record.status,
            RuntimeStatus::Completed,
            "{on}: {id}: {:?}",
            record.error
        );
        let output: u64 =
            durable::codec::decode_payload(&record.output.unwrap(), "output").unwrap();
        assert_eq!(output, expected, "{on}: {id}");
    }
    let log = std::fs::read_to_string(dir.join("executions.log")).unwrap();
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for line in log.lines() {
        *counts.entry(line).or_default() += 1;
    }
    let executions: u64 = counts.values().sum();
    let unique = counts.len() as u64;
    let expected_unique = CHAINS * 5
        + FANOUTS * 50
        + TIMERS
        + EVENTS
        + PARENTS * (3 + 4)
        + LONG
        + REBORN * (2 + 3)
        + HELPED * (1 + 4 + 1)
        + LISTED * 12;
    assert_eq!(unique, expected_unique, "{on}: every activity call ran");
    println!(
        "crash test ({on}): {kills} SIGKILLs in {:.1} s, {} instances; {executions} activity \
         executions for {unique} calls: duplicate-execution rate {:.2}%",
        started.elapsed().as_secs_f64(),
        workload().len(),
        100.0 * (executions - unique) as f64 / unique as f64
    );
    assert!(
        kills >= 20,
        "{on}: the workload finished after only {kills} kills"
    );
}
