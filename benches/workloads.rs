//! Workload benchmarks: `cargo bench --bench workloads -- <workload> [options]`.
//!
//! Prints one JSON object per line: `workload`, `store`, `sync`, `n`, `m`, `steps`,
//! `wall_ms`, `steps_per_s`, the RocksDB ceiling measured in the same process
//! (`ceiling_commits_per_s`) and `steps_per_s` as a ratio to it (`vs_ceiling`), plus
//! what a workload measures besides (latency percentiles, RSS). A step is one awaited
//! operation completed and applied. BENCHMARKS.md has the results and the commands.
//!
//! Without a workload (as under `cargo test --workspace`) it runs every workload at a
//! small size on every store and checks the results, so the benchmark cannot rot.

#[allow(dead_code)]
#[path = "../tests/support/postgres.rs"]
mod pg_support;
#[path = "workloads/postgres.rs"]
mod postgres;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use durable::rocks::{Durability, RocksStore};
use durable::{
    activity, join_all, orchestrator, ActivityError, Client, MemoryStore, OrchestrationContext,
    Runtime, RuntimeBuilder, Store,
};
use serde_json::{json, Map, Value};

#[activity]
async fn noop(x: u64) -> Result<u64, String> {
    Ok(x)
}

#[orchestrator]
async fn chain(ctx: OrchestrationContext, n: u64) -> Result<u64, ActivityError> {
    let mut sum = 0;
    for i in 0..n {
        sum += ctx.call(noop, i).await?;
    }
    Ok(sum)
}

/// A chain whose input carries a payload it does not keep: what a large input costs
/// each step once the instance has started.
#[orchestrator]
async fn carry(ctx: OrchestrationContext, input: (u64, Vec<u8>)) -> Result<u64, ActivityError> {
    let (n, payload) = input;
    drop(payload);
    let mut sum = 0;
    for i in 0..n {
        sum += ctx.call(noop, i).await?;
    }
    Ok(sum)
}

/// A loop over an owned collection: `for item in items`.
#[orchestrator]
async fn for_vec(ctx: OrchestrationContext, n: u64) -> Result<u64, ActivityError> {
    let items: Vec<u64> = (0..n).collect();
    let mut sum = 0;
    for item in items {
        sum += ctx.call(noop, item).await?;
    }
    Ok(sum)
}

#[orchestrator]
async fn fanout(ctx: OrchestrationContext, n: u64) -> Result<u64, ActivityError> {
    let results = join_all((0..n).map(|i| ctx.call(noop, i))).await;
    let mut sum = 0;
    for r in results {
        sum += r?;
    }
    Ok(sum)
}

/// `n` calls with at most `k` in flight, through a task set.
#[orchestrator]
async fn pool(ctx: OrchestrationContext, nk: (u64, u64)) -> Result<u64, ActivityError> {
    let (n, k) = nk;
    let mut set = durable::TaskSet::of_calls(noop);
    let mut sum = 0;
    for i in 0..n {
        if set.len() as u64 >= k {
            let (done, rest) = set.next().await;
            set = rest;
            for (_, r) in done {
                sum += r?;
            }
        }
        set.push(&ctx, ctx.call(noop, i));
    }
    while !set.is_empty() {
        let (done, rest) = set.next().await;
        set = rest;
        for (_, r) in done {
            sum += r?;
        }
    }
    Ok(sum)
}

#[orchestrator]
async fn waiter(ctx: OrchestrationContext) -> Result<u64, ActivityError> {
    Ok(ctx.event::<u64>("go").await)
}

#[orchestrator]
async fn sleeper(ctx: OrchestrationContext) -> Result<u64, ActivityError> {
    ctx.timer(Duration::from_secs(3600)).await;
    Ok(0)
}

const WAIT: Duration = Duration::from_secs(3600);

/// What the command line asked for.
#[derive(Debug, Clone)]
struct Options {
    workload: String,
    store: String,
    sync: bool,
    n: Option<u64>,
    m: Option<u64>,
    sample: Option<u64>,
    /// Operations in flight at most (`pool`).
    k: Option<u64>,
    /// How many times to run it (the median run is reported).
    runs: Option<usize>,
    /// Orchestration workers (the runtime's default when absent).
    workers: Option<usize>,
    /// Instances waiting on hour-long timers while the workload runs.
    idle: Option<u64>,
    /// Bytes of input the chain carries (`chain`).
    input: Option<u64>,
    dir: Option<PathBuf>,
    /// The PostgreSQL server whose databases `--store postgres` uses.
    postgres: Option<String>,
    /// Every span and event formatted (to nowhere): what tracing costs when enabled.
    trace: bool,
}

impl Options {
    fn parse(args: impl Iterator<Item = String>) -> Result<Option<Self>, String> {
        let mut args = args.filter(|a| a != "--bench").peekable();
        let Some(workload) = args.next() else {
            return Ok(None);
        };
        let mut options = Options {
            workload,
            store: "rocks".into(),
            sync: false,
            n: None,
            m: None,
            sample: None,
            k: None,
            runs: None,
            workers: None,
            idle: None,
            input: None,
            dir: None,
            postgres: None,
            trace: false,
        };
        while let Some(flag) = args.next() {
            let mut value =
                |name: &str| args.next().ok_or_else(|| format!("`{name}` needs a value"));
            let number = |name: &str, text: String| {
                text.replace('_', "")
                    .parse::<u64>()
                    .map_err(|_| format!("`{name}` takes a whole number, not `{text}`"))
            };
            match flag.as_str() {
                "--sync" => options.sync = true,
                "--trace" => options.trace = true,
                "--store" => options.store = value("--store")?,
                "--n" => options.n = Some(number("--n", value("--n")?)?),
                "--m" => options.m = Some(number("--m", value("--m")?)?),
                "--sample" => options.sample = Some(number("--sample", value("--sample")?)?),
                "--k" => options.k = Some(number("--k", value("--k")?)?),
                "--runs" => options.runs = Some(number("--runs", value("--runs")?)? as usize),
                "--workers" => {
                    options.workers = Some(number("--workers", value("--workers")?)? as usize)
                }
                "--idle" => options.idle = Some(number("--idle", value("--idle")?)?),
                "--input" => options.input = Some(number("--input", value("--input")?)?),
                "--dir" => options.dir = Some(value("--dir")?.into()),
                "--postgres" => options.postgres = Some(value("--postgres")?),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        if !matches!(options.store.as_str(), "rocks" | "memory" | "postgres") {
            return Err(format!(
                "`--store` is rocks, memory or postgres, not `{}`",
                options.store
            ));
        }
        Ok(Some(options))
    }
}

const USAGE: &str = "usage: cargo bench --bench workloads -- <workload> [options]
workloads: chain (--n, --idle I: with I instances waiting on hour-long timers,
                  --input B: with an input of B bytes),
           many (--m --n), fanout (--n), pool (--n calls, --k in flight),
           for-vec (--n: a loop over an owned Vec of n items),
           latency (--n samples),
           suspended (--m --sample), list (--m instances, one of them failed),
           events (--m raises into one suspended instance), rocks-ceiling,
           postgres-ceiling,
           payload (--n round trips: what a payload's type tag costs)
options:   --store rocks|memory|postgres (default rocks), --sync (fsync every commit),
           --runs R (default 5, 1 for suspended: the median run is reported),
           --workers N (orchestration steps at once; with --sync, more share fsyncs),
           --dir PATH (where the RocksDB store goes; a fresh temporary directory by default),
           --trace (every span and event at debug level formatted, to nowhere)
postgres:  --workers W is the number of worker processes (default 1), each with the
           runtime's default concurrency; --postgres URL the server (default
           $DURABLE_TEST_POSTGRES), on which each run gets a fresh database";

fn main() {
    if let Ok(url) = std::env::var(postgres::WORKER) {
        let tokio = tokio::runtime::Runtime::new().expect("a tokio runtime");
        if let Err(e) = tokio.block_on(postgres::worker(&url)) {
            eprintln!("worker: {e}");
            std::process::exit(1);
        }
        return;
    }
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if options.as_ref().is_some_and(|o| o.trace) {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(std::io::sink)
            .init();
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = match options {
        Some(options) => tokio.block_on(run(&options)),
        None => tokio.block_on(smoke()),
    };
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

type BoxError = Box<dyn std::error::Error>;

/// Runs one workload `--runs` times and reports the run with the median steps/s, next
/// to the RocksDB ceiling (the median of three measurements) taken in the same process.
async fn run(options: &Options) -> Result<Vec<Value>, BoxError> {
    let root = options.dir.clone().unwrap_or_else(std::env::temp_dir);
    let fresh = || {
        tempfile::Builder::new()
            .prefix("durable-bench")
            .tempdir_in(&root)
    };
    let mut ceilings = Vec::new();
    for _ in 0..3 {
        ceilings.push(match options.store.as_str() {
            "postgres" => postgres::ceiling(options).await?,
            _ => ceiling(&fresh()?.path().join("ceiling"), options.sync)?,
        });
    }
    let ceiling = median(ceilings, 3);
    if matches!(
        options.workload.as_str(),
        "rocks-ceiling" | "postgres-ceiling"
    ) {
        return Ok(vec![ceiling]);
    }
    if options.workload == "payload" {
        return Ok(vec![payload_cost(options.n.unwrap_or(1_000_000))?]);
    }
    let runs = options.runs.unwrap_or(match options.workload.as_str() {
        "suspended" => 1,
        _ => 5,
    });
    let mut lines = Vec::new();
    for _ in 0..runs.max(1) {
        let dir = fresh()?;
        lines.push(match options.store.as_str() {
            "memory" => workload(options, MemoryStore::new()).await?,
            "postgres" => postgres::run_once(options).await?,
            _ => {
                let durability = if options.sync {
                    Durability::PowerLoss
                } else {
                    Durability::Process
                };
                let store = RocksStore::open_with(dir.path().join("store"), durability)?;
                workload(options, store).await?
            }
        });
    }
    let mut line = median(lines, runs);
    let ceiling_rate = ceiling["steps_per_s"].as_f64().unwrap_or(0.0);
    let rate = line["steps_per_s"].as_f64().unwrap_or(0.0);
    line["ceiling_commits_per_s"] = json!(ceiling_rate.round());
    line["vs_ceiling"] = json!(round3(rate / ceiling_rate));
    Ok(vec![line])
}

/// The line with the median `steps_per_s`, with the range over all of them.
fn median(mut lines: Vec<Value>, runs: usize) -> Value {
    let rate = |line: &Value| line["steps_per_s"].as_f64().unwrap_or(0.0);
    lines.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    let (low, high) = (
        lines.first().map_or(0.0, rate),
        lines.last().map_or(0.0, rate),
    );
    let mut line = lines.swap_remove(lines.len() / 2);
    line["runs"] = json!(runs);
    line["steps_per_s_min"] = json!(low);
    line["steps_per_s_max"] = json!(high);
    line
}

/// Registers the benchmark's orchestrations and activity.
fn register<S: Store>(builder: RuntimeBuilder<S>) -> RuntimeBuilder<S> {
    builder
        .orchestration(chain)
        .orchestration(carry)
        .orchestration(fanout)
        .orchestration(for_vec)
        .orchestration(pool)
        .orchestration(waiter)
        .orchestration(sleeper)
        .activity(noop)
}

/// Runs the workload on a runtime of this process over `store`.
async fn workload<S: Store>(options: &Options, store: S) -> Result<Value, BoxError> {
    if options.workload == "list" {
        let mut line = run_list(&store, options.m.unwrap_or(1_000_000)).await?;
        line["workload"] = json!("list");
        line["store"] = json!(options.store);
        return Ok(line);
    }
    let mut builder = register(Runtime::builder(store));
    if let Some(workers) = options.workers {
        builder = builder.concurrency(workers, workers.max(16));
    }
    let runtime = builder.start();
    let result = drive(options, &runtime.client()).await;
    runtime.shutdown().await;
    let mut line = result?;
    line["workers"] = json!(options.workers.unwrap_or(DEFAULT_WORKERS));
    Ok(line)
}

/// Runs the workload through `client`, wherever the workers are.
async fn drive<S: Store>(options: &Options, client: &Client<S>) -> Result<Value, BoxError> {
    if let Some(idle) = options.idle {
        start_idle(client, idle).await?;
    }
    let mut line = match options.workload.as_str() {
        "chain" => match options.input {
            None => run_chain(client, options.n.unwrap_or(1000)).await,
            Some(bytes) => run_carry(client, options.n.unwrap_or(1000), bytes).await,
        },
        "events" => run_events(client, options.m.unwrap_or(100_000)).await,
        "many" => run_many(client, options.m.unwrap_or(10_000), options.n.unwrap_or(5)).await,
        "fanout" => run_fanout(client, options.n.unwrap_or(10_000)).await,
        "for-vec" => run_for_vec(client, options.n.unwrap_or(10_000)).await,
        "pool" => {
            let (n, k) = (options.n.unwrap_or(10_000), options.k.unwrap_or(20));
            run_pool(client, n, k).await
        }
        "latency" => run_latency(client, options.n.unwrap_or(2000)).await,
        "suspended" => {
            let m = options.m.unwrap_or(1_000_000);
            run_suspended(client, m, options.sample.unwrap_or(1000)).await
        }
        other => Err(format!("unknown workload `{other}`\n{USAGE}").into()),
    }?;
    line["workload"] = json!(options.workload);
    line["store"] = json!(options.store);
    line["sync"] = json!(options.sync);
    line["idle"] = json!(options.idle.unwrap_or(0));
    line["trace"] = json!(options.trace);
    Ok(line)
}

/// Starts `idle` instances that wait on hour-long timers, and waits until every one
/// has taken its first step.
async fn start_idle<S: Store>(client: &Client<S>, idle: u64) -> Result<(), BoxError> {
    start_many(client, sleeper, "idle", idle, ()).await?;
    let pending = durable::InstanceFilter {
        statuses: vec![durable::RuntimeStatus::Pending],
        ..Default::default()
    };
    while !client.list(&pending, None, 1).await?.is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// `m` ended instances, one of them failed, written straight to the store; then the
/// time of `list` for the failed one (`runtimeStatus=Failed&top=1`) and of a page of
/// the completed ones, each the median of 101 calls.
async fn run_list<S: Store>(store: &S, m: u64) -> Result<Value, BoxError> {
    use durable::store::{InstanceRecord, Page};
    let started = Instant::now();
    for i in 0..m {
        let mut record = InstanceRecord::new(format!("done{i:08}"), "chain", 1, Vec::new(), None);
        record.status = if i == m / 2 {
            durable::RuntimeStatus::Failed
        } else {
            durable::RuntimeStatus::Completed
        };
        store.create(record).await?;
    }
    let setup = started.elapsed();
    let time = |statuses: Vec<durable::RuntimeStatus>, want: usize| async move {
        let filter = durable::InstanceFilter {
            statuses,
            ..Default::default()
        };
        let page = Page {
            after: None,
            limit: 1,
        };
        let mut times = Vec::new();
        for _ in 0..101 {
            let begin = Instant::now();
            let found = store.list(&filter, &page).await?;
            times.push(begin.elapsed());
            expect("listed", found.len() as u64, want as u64)?;
        }
        times.sort_unstable();
        Ok::<_, BoxError>(round3(times[50].as_secs_f64() * 1000.0))
    };
    let failed_ms = time(vec![durable::RuntimeStatus::Failed], 1).await?;
    let completed_ms = time(vec![durable::RuntimeStatus::Completed], 1).await?;
    let mut line = measured(1, m, 101, started.elapsed());
    line["setup_ms"] = json!(round3(setup.as_secs_f64() * 1000.0));
    line["list_failed_top1_ms"] = json!(failed_ms);
    line["list_completed_top1_ms"] = json!(completed_ms);
    Ok(line)
}

/// `m` events raised, one at a time, into one suspended instance: the first are
/// queued, those past the bound refused. The median time of an accepted raise in each
/// tenth of the accepted ones (flat: a raise does not re-read the inbox), and of a
/// refused one.
async fn run_events<S: Store>(client: &Client<S>, m: u64) -> Result<Value, BoxError> {
    let id = client.start(waiter, None, &()).await?;
    client.suspend(&id).await?;
    let started = Instant::now();
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for i in 0..m {
        let begin = Instant::now();
        match client.raise_event(&id, "noise", &i).await {
            Ok(()) => accepted.push(begin.elapsed()),
            Err(durable::ClientError::Store(durable::StoreError::TooManyEvents { .. })) => {
                refused.push(begin.elapsed())
            }
            Err(e) => return Err(e.into()),
        }
    }
    let wall = started.elapsed();
    let bound = durable::limits::MAX_BUFFERED_EVENTS as u64;
    expect("accepted", accepted.len() as u64, m.min(bound))?;
    let median_us = |times: &[Duration]| {
        let mut times = times.to_vec();
        times.sort_unstable();
        times
            .get(times.len() / 2)
            .map_or(0.0, |t| round3(t.as_secs_f64() * 1e6))
    };
    let tenth = (accepted.len() / 10).max(1);
    let by_tenth: Vec<f64> = accepted.chunks(tenth).map(median_us).collect();
    let mut line = measured(1, m, m, wall);
    line["accepted"] = json!(accepted.len());
    line["refused"] = json!(refused.len());
    line["us_per_accepted_raise_by_tenth"] = json!(by_tenth);
    line["us_per_refused_raise"] = json!(median_us(&refused));
    Ok(line)
}

/// The runtime's default number of orchestration workers.
const DEFAULT_WORKERS: usize = 2;

/// The common fields of a result.
fn measured(n: u64, m: u64, steps: u64, wall: Duration) -> Value {
    json!({
        "n": n,
        "m": m,
        "steps": steps,
        "wall_ms": round3(wall.as_secs_f64() * 1000.0),
        "steps_per_s": (steps as f64 / wall.as_secs_f64()).round(),
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn expect(what: &str, got: u64, want: u64) -> Result<(), BoxError> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got}, expected {want}").into())
    }
}

fn sum_below(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

async fn run_chain<S: Store>(client: &Client<S>, n: u64) -> Result<Value, BoxError> {
    let started = Instant::now();
    let id = client.start(chain, None, &n).await?;
    let sum = client.wait(chain, &id, WAIT).await??;
    let wall = started.elapsed();
    expect("chain sum", sum, sum_below(n))?;
    let mut line = measured(n, 1, n, wall);
    line["us_per_step"] = json!(round3(wall.as_secs_f64() * 1e6 / n as f64));
    Ok(line)
}

/// A chain of `n` calls whose input carries `bytes` bytes.
async fn run_carry<S: Store>(client: &Client<S>, n: u64, bytes: u64) -> Result<Value, BoxError> {
    let input = (n, vec![0u8; usize::try_from(bytes)?]);
    let started = Instant::now();
    let id = client.start(carry, None, &input).await?;
    let sum = client.wait(carry, &id, WAIT).await??;
    let wall = started.elapsed();
    expect("chain sum", sum, sum_below(n))?;
    let mut line = measured(n, 1, n, wall);
    line["us_per_step"] = json!(round3(wall.as_secs_f64() * 1e6 / n as f64));
    line["input_bytes"] = json!(bytes);
    Ok(line)
}

/// `m` chains of `n` calls, started a thousand at a time (as requests to an API
/// would), each waited for.
async fn run_many<S: Store>(client: &Client<S>, m: u64, n: u64) -> Result<Value, BoxError> {
    let started = Instant::now();
    start_many(client, chain, "many", m, n).await?;
    for i in 0..m {
        let sum = client.wait(chain, &format!("many{i:08}"), WAIT).await??;
        expect("chain sum", sum, sum_below(n))?;
    }
    Ok(measured(n, m, m * n, started.elapsed()))
}

async fn run_fanout<S: Store>(client: &Client<S>, n: u64) -> Result<Value, BoxError> {
    let started = Instant::now();
    let id = client.start(fanout, None, &n).await?;
    let sum = client.wait(fanout, &id, WAIT).await??;
    let wall = started.elapsed();
    expect("fan-out sum", sum, sum_below(n))?;
    Ok(measured(n, 1, n, wall))
}

/// `n` calls, `k` in flight, through a task set; with the largest and the median
/// checkpoint, measured by the in-process runner on the same orchestration.
async fn run_pool<S: Store>(client: &Client<S>, n: u64, k: u64) -> Result<Value, BoxError> {
    let started = Instant::now();
    let id = client.start(pool, None, &(n, k)).await?;
    let sum = client.wait(pool, &id, WAIT).await??;
    let wall = started.elapsed();
    expect("pool sum", sum, sum_below(n))?;
    let mut line = measured(n, 1, n, wall);
    let runner = durable::testing::InlineRunner::new().activity(noop);
    let mut sizes = runner.run(pool, &(n, k)).await?.checkpoints;
    sizes.sort_unstable();
    line["k"] = json!(k);
    line["checkpoint_bytes_max"] = json!(sizes.last().copied().unwrap_or(0));
    line["checkpoint_bytes_median"] = json!(sizes.get(sizes.len() / 2).copied().unwrap_or(0));
    line["checkpoints"] = json!(sizes.len());
    Ok(line)
}

/// A `for item in items` loop over `n` items, one call each: time per step, and the
/// bytes of each checkpoint, measured by the in-process runner on the same
/// orchestration (what each step writes besides the record).
async fn run_for_vec<S: Store>(client: &Client<S>, n: u64) -> Result<Value, BoxError> {
    let started = Instant::now();
    let id = client.start(for_vec, None, &n).await?;
    let sum = client.wait(for_vec, &id, WAIT).await??;
    let wall = started.elapsed();
    expect("for-vec sum", sum, sum_below(n))?;
    let mut line = measured(n, 1, n, wall);
    line["us_per_step"] = json!(round3(wall.as_secs_f64() * 1e6 / n as f64));
    let runner = durable::testing::InlineRunner::new().activity(noop);
    let mut sizes = runner.run(for_vec, &n).await?.checkpoints;
    sizes.sort_unstable();
    line["checkpoint_bytes_max"] = json!(sizes.last().copied().unwrap_or(0));
    line["checkpoint_bytes_median"] = json!(sizes.get(sizes.len() / 2).copied().unwrap_or(0));
    Ok(line)
}

/// Start-to-completion of one-activity orchestrations, one at a time.
async fn run_latency<S: Store>(client: &Client<S>, samples: u64) -> Result<Value, BoxError> {
    let mut latencies = Vec::with_capacity(samples as usize);
    let started = Instant::now();
    for _ in 0..samples {
        let begin = Instant::now();
        let id = client.start(chain, None, &1).await?;
        client.wait(chain, &id, WAIT).await??;
        latencies.push(begin.elapsed());
    }
    let mut line = measured(samples, samples, samples, started.elapsed());
    add_percentiles(&mut line, &mut latencies, "");
    Ok(line)
}

/// `m` instances waiting for an event; then events raised to `sample` of them, one at a
/// time, each timed until its instance has completed.
async fn run_suspended<S: Store>(
    client: &Client<S>,
    m: u64,
    sample: u64,
) -> Result<Value, BoxError> {
    let started = Instant::now();
    start_many(client, waiter, "w", m, ()).await?;
    let filter = durable::InstanceFilter {
        statuses: vec![durable::RuntimeStatus::Pending],
        ..Default::default()
    };
    while !client.list(&filter, None, 1).await?.is_empty() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let setup = started.elapsed();
    let rss_suspended = rss_mb();

    let mut latencies = Vec::with_capacity(sample as usize);
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let step = (m / sample.max(1)).max(1);
    for k in 0..sample.min(m) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let i = (k * step + state % step).min(m - 1);
        let id = format!("w{i:08}");
        let begin = Instant::now();
        client.raise_event(&id, "go", &i).await?;
        let got = client.wait(waiter, &id, WAIT).await??;
        latencies.push(begin.elapsed());
        expect("event payload", got, i)?;
    }
    let mut line = measured(sample, m, m + sample.min(m), started.elapsed());
    line["setup_ms"] = json!(round3(setup.as_secs_f64() * 1000.0));
    line["rss_mb_suspended"] = json!(rss_suspended);
    line["rss_mb_peak"] = json!(peak_rss_mb());
    add_percentiles(&mut line, &mut latencies, "event_to_resumed_");
    Ok(line)
}

/// Starts `count` instances of `orchestration` with ids `{prefix}{i:08}`, a thousand at
/// a time.
async fn start_many<S: Store, O, I>(
    client: &durable::Client<S>,
    orchestration: O,
    prefix: &'static str,
    count: u64,
    input: I,
) -> Result<(), BoxError>
where
    O: durable::OrchestrationFn + Send + 'static,
    O::Orchestration: durable::Orchestration<Input = I>,
    I: serde::Serialize + Clone + Send + Sync + 'static,
{
    const BATCH: u64 = 1000;
    let mut created = 0;
    while created < count {
        let batch = BATCH.min(count - created);
        let starts = (created..created + batch).map(|i| {
            let (client, input) = (client.clone(), input.clone());
            async move {
                let id = format!("{prefix}{i:08}");
                client.start(orchestration, Some(&id), &input).await
            }
        });
        for r in spawn_all(starts).await {
            r?;
        }
        created += batch;
    }
    Ok(())
}

/// Runs `futures` as tokio tasks at once; their outputs in order.
async fn spawn_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("a start task"));
    }
    out
}

fn add_percentiles(line: &mut Value, latencies: &mut [Duration], prefix: &str) {
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len().max(1));
        latencies
            .get(i - 1)
            .map_or(0.0, |d| round3(d.as_secs_f64() * 1000.0))
    };
    let fields: &mut Map<String, Value> = line.as_object_mut().expect("an object");
    fields.insert(format!("{prefix}p50_ms"), json!(at(0.50)));
    fields.insert(format!("{prefix}p99_ms"), json!(at(0.99)));
    fields.insert(format!("{prefix}max_ms"), json!(at(1.0)));
}

/// A field of /proc/self/status in MiB (Linux).
fn proc_status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kb / 1024.0).round())
}

fn rss_mb() -> Option<f64> {
    proc_status_mb("VmRSS:")
}

fn peak_rss_mb() -> Option<f64> {
    proc_status_mb("VmHWM:")
}

/// Raw RocksDB commits/s of a WriteBatch shaped like one step (the instance record
/// rewritten, one inbox message deleted, one activity task put), from one thread: what
/// no step can beat.
fn ceiling(path: &std::path::Path, sync: bool) -> Result<Value, BoxError> {
    let mut options = rocksdb::Options::default();
    options.create_if_missing(true);
    let db = rocksdb::DB::open(&options, path)?;
    let mut write = rocksdb::WriteOptions::default();
    write.set_sync(sync);
    let record = vec![7u8; 120];
    let task = vec![3u8; 40];
    let budget = if sync {
        Duration::from_millis(800)
    } else {
        Duration::from_millis(400)
    };
    let started = Instant::now();
    let mut commits = 0u64;
    while started.elapsed() < budget {
        for _ in 0..64 {
            let instance = commits % 1000;
            let mut batch = rocksdb::WriteBatch::default();
            batch.put(format!("i/{instance:08}"), &record);
            batch.delete(format!("m/{instance:08}/{commits:016}"));
            batch.put(format!("a/{instance:08}/{commits:016}"), &task);
            db.write_opt(batch, &write)?;
            commits += 1;
        }
    }
    let wall = started.elapsed();
    let mut line = measured(commits, 1, commits, wall);
    line["workload"] = json!("rocks-ceiling");
    line["store"] = json!("rocks");
    line["sync"] = json!(sync);
    line["us_per_commit"] = json!(round3(wall.as_secs_f64() * 1e6 / commits as f64));
    Ok(line)
}

/// What the type tag costs: `n` round trips of a `u64` and of a 100-character string
/// through [`durable::codec::encode_payload`]/`decode_payload` (tagged) and through
/// `encode`/`decode` (untagged), in ns per round trip.
fn payload_cost(n: u64) -> Result<Value, BoxError> {
    use durable::codec::{decode, decode_payload, encode, encode_payload};
    fn time<T>(
        n: u64,
        mut round_trip: impl FnMut(u64) -> Result<T, BoxError>,
    ) -> Result<f64, BoxError> {
        let started = Instant::now();
        for i in 0..n {
            std::hint::black_box(round_trip(i)?);
        }
        Ok(round3(started.elapsed().as_secs_f64() * 1e9 / n as f64))
    }
    let text = "x".repeat(100);
    let tagged_u64 = time(n, |i| {
        Ok(decode_payload::<u64>(&encode_payload(&i, "u")?, "u")?)
    })?;
    let plain_u64 = time(n, |i| Ok(decode::<u64>(&encode(&i, "u")?, "u")?))?;
    let tagged_text = time(n, |_| {
        Ok(decode_payload::<String>(&encode_payload(&text, "s")?, "s")?)
    })?;
    let plain_text = time(n, |_| Ok(decode::<String>(&encode(&text, "s")?, "s")?))?;
    let mut line = measured(n, 1, 4 * n, Duration::from_secs(1));
    line["workload"] = json!("payload");
    line["ns_u64_tagged"] = json!(tagged_u64);
    line["ns_u64_untagged"] = json!(plain_u64);
    line["ns_string100_tagged"] = json!(tagged_text);
    line["ns_string100_untagged"] = json!(plain_text);
    Ok(line)
}

/// Every workload, small, on the embedded stores, and those that PostgreSQL runs with
/// worker processes, with their results checked.
async fn smoke() -> Result<Vec<Value>, BoxError> {
    let mut lines = Vec::new();
    for workload in ["chain", "many", "fanout", "latency"] {
        let options = Options {
            workload: workload.into(),
            store: "postgres".into(),
            sync: false,
            n: Some(if workload == "many" { 3 } else { 20 }),
            m: Some(20),
            sample: None,
            k: None,
            runs: Some(1),
            workers: Some(2),
            idle: None,
            input: None,
            dir: None,
            postgres: None,
            trace: false,
        };
        lines.extend(run(&options).await?);
    }
    for store in ["memory", "rocks"] {
        for (workload, n, m) in [
            ("chain", 20, 0),
            ("many", 3, 20),
            ("fanout", 50, 0),
            ("pool", 60, 0),
            ("for-vec", 30, 0),
            ("latency", 5, 0),
            ("suspended", 0, 50),
            ("list", 0, 30),
            ("events", 0, 1100),
        ] {
            let options = Options {
                workload: workload.into(),
                store: store.into(),
                sync: false,
                n: Some(n),
                m: Some(m),
                sample: Some(5),
                k: Some(4),
                runs: Some(1),
                workers: None,
                idle: Some(if workload == "chain" { 10 } else { 0 }),
                input: None,
                dir: None,
                postgres: None,
                trace: false,
            };
            lines.extend(run(&options).await?);
        }
    }
    Ok(lines)
}
