//! Real deploys on one RocksDB directory, with SIGKILLs during each switch.
//!
//! 1. `v1` starts instances and lets them reach their resume points: half wait at the
//!    first timer (`p1-*`), half at the second (`p2-*`).
//! 2. `v2` is the same orchestration edited in place (same name and version): it keeps
//!    one more local (`bonus`) across the second timer. Killed at random moments, then
//!    run until it has settled: the `p1-*` instances resume under v2 and complete with
//!    v2's output; the `p2-*` instances are blocked, naming `bonus`, checkpoint kept.
//! 3. `both` registers the old code as version 1 beside the new as version 2, and starts
//!    new instances on version 2. Killed at random moments, then run to the end: the
//!    blocked instances continue by themselves on version 1 with v1's output, the new
//!    ones complete on version 2.
//!
//! Each phase is this test binary re-run with `DURABLE_DEPLOY_ROLE` set, which is why
//! the test has its own `main` (`harness = false`).

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use durable::rocks::RocksStore;
use durable::{
    orchestrator, ClientError, OrchestrationContext, Runtime, RuntimeStatus, Store, StoreError,
};
use support::{double, TestError};

const ROLE: &str = "DURABLE_DEPLOY_ROLE";
const DIR: &str = "DURABLE_DEPLOY_DIR";
const EACH: u64 = 20;
/// How long the `p1-*` instances wait at their first point, the `p2-*` at their second:
/// long enough for the v1 process to have stopped and the v2 one to be killed a few
/// times before their timers fire.
const WAIT_MS: u64 = 3_000;

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

/// Polls until `settled` holds, then says so on stdout and waits to be killed.
async fn report_when(
    client: &durable::Client<RocksStore>,
    settled: impl AsyncFn(&durable::Client<RocksStore>) -> bool,
) {
    while !settled(client).await {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("settled");
    std::future::pending::<()>().await;
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
                start(&client, v1::order, &id, &(i, WAIT_MS, 0)).await;
            }
            for (id, i) in ids("p2") {
                start(&client, v1::order, &id, &(i, 0, WAIT_MS)).await;
            }
            report_when(&client, async |client| {
                for (id, _) in ids("p1") {
                    if point_of(client, &id).await != Some(1) {
                        return false;
                    }
                }
                for (id, _) in ids("p2") {
                    if point_of(client, &id).await != Some(2) {
                        return false;
                    }
                }
                true
            })
            .await
        }
        "v2" => {
            report_when(&client, async |client| {
                for (id, _) in ids("p1") {
                    if !has_status(client, &id, RuntimeStatus::Completed).await {
                        return false;
                    }
                }
                for (id, _) in ids("p2") {
                    if !has_status(client, &id, RuntimeStatus::Blocked).await {
                        return false;
                    }
                }
                true
            })
            .await
        }
        _ => {
            for (id, i) in ids("new") {
                start(&client, both::order_v2, &id, &(i, 0, 0)).await;
            }
            report_when(&client, async |client| {
                for (id, _) in ids("p2").chain(ids("new")) {
                    if !has_status(client, &id, RuntimeStatus::Completed).await {
                        return false;
                    }
                }
                true
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

/// Runs `role` until it reports that it settled, then kills it.
fn run_until_settled(role: &str, dir: &Path) {
    let mut child = spawn(role, dir);
    let stdout = child.stdout.take().expect("piped");
    let settled = BufReader::new(stdout)
        .lines()
        .any(|line| line.is_ok_and(|l| l == "settled"));
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    assert!(settled, "the `{role}` worker ended without settling");
}

/// Starts `role` and SIGKILLs it after a random while, `kills` times.
fn kill_repeatedly(role: &str, dir: &Path, kills: usize, seed: &mut u64) {
    for _ in 0..kills {
        let mut child = spawn(role, dir);
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        std::thread::sleep(Duration::from_millis(100 + *seed % 600));
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
    }
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
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let rt = tokio::runtime::Runtime::new().unwrap();

    run_until_settled("v1", &db);

    kill_repeatedly("v2", &db, 4, &mut seed);
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

    kill_repeatedly("both", &db, 3, &mut seed);
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
         the old code side by side, {EACH} new on version 2; 7 SIGKILLs during the switches"
    );
}
