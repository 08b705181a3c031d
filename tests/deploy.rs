//! Real deploys on one RocksDB directory, with SIGKILLs during each switch.
//!
//! 1. `v1` starts instances and lets them reach their resume points: half wait at the
//!    first timer (`p1-*`), half at the second (`p2-*`).
//! 2. `v2` is the same orchestration edited in place (same name and version): it keeps
//!    one more local (`bonus`) across the second timer. Killed in the middle of the
//!    switch, then run until it has settled: the `p1-*` instances resume under v2 and
//!    complete with v2's output; the `p2-*` instances are blocked, naming `bonus`,
//!    checkpoint kept.
//! 3. `both` registers the old code as version 1 beside the new as version 2, and starts
//!    new instances on version 2. Killed in the middle of the switch, then run to the
//!    end: the blocked instances continue by themselves on version 1 with v1's output,
//!    the new ones complete on version 2.
//!
//! The timers the switches happen on fall due one after another, `STAGGER_MS` apart, and
//! each worker prints how many instances have switched whenever that changes. A killed
//! run is SIGKILLed as soon as it reports `STEP` switches of its own, and the store is
//! then checked to hold a switch partly done: some instances switched, not all.
//!
//! Each phase is this test binary re-run with `DURABLE_DEPLOY_ROLE` set, which is why
//! the test has its own `main` (`harness = false`).

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use durable::rocks::RocksStore;
use durable::{
    orchestrator, ClientError, OrchestrationContext, Runtime, RuntimeStatus, Store, StoreError,
};
use support::{double, TestError};

const ROLE: &str = "DURABLE_DEPLOY_ROLE";
const DIR: &str = "DURABLE_DEPLOY_DIR";
const EACH: u64 = 20;
/// How long the first `p1-*` instance waits at its first point, the first `p2-*` at its
/// second: long enough for the v1 process to have stopped before any timer fires.
const WAIT_MS: u64 = 3_000;
/// The time between two timers of a switch falling due: `p1-i` waits
/// `WAIT_MS + i * STAGGER_MS`, `p2-i` half a stagger more, `new-i` (third phase)
/// `i * STAGGER_MS`. A switch of 40 instances takes 5 s.
const STAGGER_MS: u64 = 250;
/// How many switches a killed run must report of its own before it is killed.
const STEP: u64 = 4;
/// The longest a worker may take to reach what the parent waits for: beyond it the test
/// fails (an instance lost or stuck) instead of hanging.
const TIMEOUT: Duration = Duration::from_secs(30);

fn status(ctx: &OrchestrationContext, point: u8) -> Result<(), TestError> {
    ctx.set_custom_status(&point)
        .map_err(|e| TestError::Rejected(e.to_string()))
}

mod v1 {
    use super::*;

    #[orchestrator(name = "order")]
    pub async fn order(
        ctx: OrchestrationContext,
        input: (u64, u64, u64),
    ) -> Result<u64, TestError> {
        let (x, first, second) = input;
        let a = ctx.call(double, x).await?;
        status(&ctx, 1)?;
        ctx.timer(Duration::from_millis(first)).await;
        status(&ctx, 2)?;
        ctx.timer(Duration::from_millis(second)).await;
        Ok(a + x)
    }
}

/// Edited in place: the first point is as it was, the second keeps `bonus` too.
mod v2 {
    use super::*;

    #[orchestrator(name = "order")]
    pub async fn order(
        ctx: OrchestrationContext,
        input: (u64, u64, u64),
    ) -> Result<u64, TestError> {
        let (x, first, second) = input;
        let a = ctx.call(double, x).await?;
        status(&ctx, 1)?;
        ctx.timer(Duration::from_millis(first)).await;
        let bonus = a * 100;
        status(&ctx, 2)?;
        ctx.timer(Duration::from_millis(second)).await;
        Ok(a + x + bonus)
    }
}

/// The old code back as version 1, beside the new one as version 2.
mod both {
    use super::*;

    #[orchestrator(name = "order", version = 1)]
    pub async fn order_v1(
        ctx: OrchestrationContext,
        input: (u64, u64, u64),
    ) -> Result<u64, TestError> {
        let (x, first, second) = input;
        let a = ctx.call(double, x).await?;
        status(&ctx, 1)?;
        ctx.timer(Duration::from_millis(first)).await;
        status(&ctx, 2)?;
        ctx.timer(Duration::from_millis(second)).await;
        Ok(a + x)
    }

    #[orchestrator(name = "order", version = 2)]
    pub async fn order_v2(
        ctx: OrchestrationContext,
        input: (u64, u64, u64),
    ) -> Result<u64, TestError> {
        let (x, first, second) = input;
        let a = ctx.call(double, x).await?;
        status(&ctx, 1)?;
        ctx.timer(Duration::from_millis(first)).await;
        let bonus = a * 100;
        status(&ctx, 2)?;
        ctx.timer(Duration::from_millis(second)).await;
        Ok(a + x + bonus)
    }
}

fn ids(prefix: &str) -> impl Iterator<Item = (String, u64)> + '_ {
    (1..=EACH).map(move |i| (format!("{prefix}-{i}"), i))
}

async fn start<O: durable::OrchestrationFn>(
    client: &durable::Client<RocksStore>,
    orchestration: O,
    id: &str,
    input: &<O::Orchestration as durable::Orchestration>::Input,
) {
    match client.start(orchestration, Some(id), input).await {
        Ok(_) | Err(ClientError::Store(StoreError::AlreadyExists(_))) => {}
        Err(e) => panic!("cannot start {id}: {e}"),
    }
}

/// Polls how many instances have switched, prints `progress N` whenever it changes, and
/// `settled` once all `2 * EACH` have; then waits to be killed.
async fn report_progress(
    client: &durable::Client<RocksStore>,
    switched: impl AsyncFn(&durable::Client<RocksStore>) -> u64,
) {
    let mut last = None;
    loop {
        let now = switched(client).await;
        if last != Some(now) {
            println!("progress {now}");
            last = Some(now);
        }
        if now == 2 * EACH {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("settled");
    std::future::pending::<()>().await;
}

/// How many of `p1-*` have status `p1` and of `p2-*` status `p2` (`None`: not counted).
async fn count(
    client: &durable::Client<RocksStore>,
    p1: (&str, RuntimeStatus),
    p2: (&str, RuntimeStatus),
) -> u64 {
    let mut n = 0;
    for (prefix, wanted) in [p1, p2] {
        for (id, _) in ids(prefix) {
            n += u64::from(has_status(client, &id, wanted).await);
        }
    }
    n
}

async fn point_of(client: &durable::Client<RocksStore>, id: &str) -> Option<u8> {
    let status = client.status(id).await.unwrap()?;
    let bytes = status.custom_status?;
    durable::codec::decode_payload(&bytes, "custom status").ok()
}

async fn has_status(client: &durable::Client<RocksStore>, id: &str, wanted: RuntimeStatus) -> bool {
    let status = client.status(id).await.unwrap();
    status.is_some_and(|s| s.status == wanted)
}

async fn worker(role: &str, dir: &Path) {
    let store = RocksStore::open(dir).expect("the store opens");
    let builder = Runtime::builder(store)
        .activity(double)
        .poll_interval(Duration::from_millis(10));
    let runtime = match role {
        "v1" => builder.orchestration(v1::order),
        "v2" => builder.orchestration(v2::order),
        _ => builder
            .orchestration(both::order_v1)
            .orchestration(both::order_v2),
    }
    .start();
    let client = runtime.client();
    match role {
        "v1" => {
            for (id, i) in ids("p1") {
                let wait = WAIT_MS + i * STAGGER_MS;
                start(&client, v1::order, &id, &(i, wait, 0)).await;
            }
            for (id, i) in ids("p2") {
                let wait = WAIT_MS + i * STAGGER_MS + STAGGER_MS / 2;
                start(&client, v1::order, &id, &(i, 0, wait)).await;
            }
            report_progress(&client, async |client| {
                let mut n = 0;
                for (prefix, point) in [("p1", 1), ("p2", 2)] {
                    for (id, _) in ids(prefix) {
                        n += u64::from(point_of(client, &id).await == Some(point));
                    }
                }
                n
            })
            .await
        }
        "v2" => {
            report_progress(&client, async |client| {
                count(
                    client,
                    ("p1", RuntimeStatus::Completed),
                    ("p2", RuntimeStatus::Blocked),
                )
                .await
            })
            .await
        }
        _ => {
            for (id, i) in ids("new") {
                start(&client, both::order_v2, &id, &(i, 0, i * STAGGER_MS)).await;
            }
            report_progress(&client, async |client| {
                count(
                    client,
                    ("p2", RuntimeStatus::Completed),
                    ("new", RuntimeStatus::Completed),
                )
                .await
            })
            .await
        }
    }
}

fn main() {
    if let (Ok(role), Ok(dir)) = (std::env::var(ROLE), std::env::var(DIR)) {
        return tokio::runtime::Runtime::new()
            .expect("a tokio runtime")
            .block_on(worker(&role, Path::new(&dir)));
    }
    deploys_lose_nothing();
}

fn spawn(role: &str, dir: &Path) -> Child {
    Command::new(std::env::current_exe().expect("the test binary"))
        .env(ROLE, role)
        .env(DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the worker starts")
}

/// Runs `role` until one of its lines satisfies `enough`, then SIGKILLs it. Fails the
/// test if the worker ends, or prints no such line within `TIMEOUT`.
fn run_until(role: &str, dir: &Path, what: &str, mut enough: impl FnMut(&str) -> bool) {
    let mut child = spawn(role, dir);
    let stdout = child.stdout.take().expect("piped");
    let (lines, from_worker) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + TIMEOUT;
    let mut last = String::new();
    let outcome = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match from_worker.recv_timeout(left) {
            Ok(line) if enough(&line) => break Ok(()),
            Ok(line) => last = line,
            Err(mpsc::RecvTimeoutError::Timeout) => break Err("timed out"),
            Err(mpsc::RecvTimeoutError::Disconnected) => break Err("ended"),
        }
    };
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    reader.join().unwrap();
    if let Err(why) = outcome {
        panic!("the `{role}` worker {why} before {what} (its last line: {last:?})");
    }
}

/// Runs `role` until it reports that it settled, then kills it.
fn run_until_settled(role: &str, dir: &Path) {
    run_until(role, dir, "settling", |line| line == "settled");
}

/// The number `progress N` reports.
fn progress(line: &str) -> Option<u64> {
    line.strip_prefix("progress ")?.parse().ok()
}

/// Starts `role` `kills` times, and SIGKILLs each run as soon as it reports `STEP`
/// switches more than the store held when it started. Asserts that each kill left the
/// switch partly done (more switched than before the run, fewer than all), and returns
/// the counts after each kill.
fn kill_during_switch(
    role: &str,
    dir: &Path,
    kills: usize,
    switched: impl Fn(&RocksStore) -> u64,
) -> Vec<u64> {
    let in_store = || switched(&RocksStore::open(dir).expect("the store opens"));
    let mut after = Vec::new();
    for _ in 0..kills {
        let before = in_store();
        let what = format!("{STEP} switches past {before}");
        run_until(role, dir, &what, |line| {
            progress(line).is_some_and(|n| n >= before + STEP)
        });
        let now = in_store();
        assert!(
            before + STEP <= now && now < 2 * EACH,
            "a `{role}` run killed in the switch left {now} of {} switched (was {before})",
            2 * EACH
        );
        after.push(now);
    }
    after
}

/// How many of `p1-*` have status `p1` and of `p2-*` status `p2`, read from the store.
fn in_store(
    store: &RocksStore,
    rt: &tokio::runtime::Runtime,
    p1: (&str, RuntimeStatus),
    p2: (&str, RuntimeStatus),
) -> u64 {
    let mut n = 0;
    for (prefix, wanted) in [p1, p2] {
        for (id, _) in ids(prefix) {
            let record = rt.block_on(store.instance(&id)).unwrap();
            n += u64::from(record.is_some_and(|r| r.status == wanted));
        }
    }
    n
}

fn output(store: &RocksStore, rt: &tokio::runtime::Runtime, id: &str) -> (u64, u32) {
    let record = rt.block_on(store.instance(id)).unwrap().expect("not lost");
    assert_eq!(
        record.status,
        RuntimeStatus::Completed,
        "{id}: {:?}",
        record.error
    );
    let bytes = record.output.expect("an output");
    let out = durable::codec::decode_payload(&bytes, "output").unwrap();
    (out, record.version)
}

fn deploys_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let began = Instant::now();

    run_until_settled("v1", &db);

    let v2_kills = kill_during_switch("v2", &db, 3, |store| {
        let p1 = ("p1", RuntimeStatus::Completed);
        in_store(store, &rt, p1, ("p2", RuntimeStatus::Blocked))
    });
    run_until_settled("v2", &db);
    {
        let store = RocksStore::open(&db).unwrap();
        for (id, i) in ids("p1") {
            assert_eq!(output(&store, &rt, &id), (2 * i + i + 200 * i, 1), "{id}");
        }
        for (id, _) in ids("p2") {
            let record = rt.block_on(store.instance(&id)).unwrap().expect("kept");
            assert_eq!(record.status, RuntimeStatus::Blocked, "{id}");
            let reason = record.error.unwrap_or_default();
            assert!(reason.contains("`bonus: u64`"), "{id}: {reason}");
            assert!(record.state.is_some(), "{id}: the checkpoint is kept");
        }
    }

    let both_kills = kill_during_switch("both", &db, 3, |store| {
        let p2 = ("p2", RuntimeStatus::Completed);
        in_store(store, &rt, p2, ("new", RuntimeStatus::Completed))
    });
    run_until_settled("both", &db);
    let store = RocksStore::open(&db).unwrap();
    for (id, i) in ids("p2") {
        assert_eq!(output(&store, &rt, &id), (2 * i + i, 1), "{id} ran on v1");
    }
    for (id, i) in ids("new") {
        assert_eq!(output(&store, &rt, &id), (203 * i, 2), "{id} ran on v2");
    }
    println!(
        "deploy test: {EACH} instances resumed across an edit, {EACH} blocked then resumed by \
         the old code side by side, {EACH} new on version 2; 6 SIGKILLs during the switches, \
         which left {v2_kills:?} and {both_kills:?} of {} switched; {:.1} s",
        2 * EACH,
        began.elapsed().as_secs_f64()
    );
}
