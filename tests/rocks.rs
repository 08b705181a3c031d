//! The runtime on RocksDB: instances survive the store being closed mid-flight and
//! reopened, and a directory is used by one process at a time.

mod support;

use std::time::Duration;

use durable::rocks::RocksStore;
use durable::{orchestrator, OrchestrationContext, Runtime, RuntimeStatus, StoreError};
use support::*;

const WAIT: Duration = Duration::from_secs(20);

#[orchestrator]
async fn chain(ctx: OrchestrationContext, n: u64) -> Result<(u64, String), TestError> {
    let mut total = 0;
    for i in 0..n {
        total += ctx.call(double, i).await?;
    }
    let label = ctx.call(echo, format!("sum of {n}")).await?;
    Ok((total, label))
}

#[orchestrator]
async fn reminder(ctx: OrchestrationContext, millis: u64) -> Result<u64, TestError> {
    let due = ctx.now() + Duration::from_millis(millis);
    ctx.timer_until(due).await;
    let late = ctx.now().duration_since(due).is_ok();
    Ok(ctx.call(double, u64::from(late)).await?)
}

fn runtime(store: RocksStore) -> Runtime<RocksStore> {
    Runtime::builder(store)
        .orchestration(reminder)
        .orchestration(chain)
        .activity(double)
        .activity(echo)
        .poll_interval(Duration::from_millis(5))
        .start()
}

fn expected(n: u64) -> (u64, String) {
    ((0..n).map(|i| i * 2).sum(), format!("sum of {n}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_finish_after_the_store_is_closed_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let first = runtime(RocksStore::open(dir.path()).unwrap());
    let client = first.client();
    let mut ids = Vec::new();
    for n in 0..30u64 {
        ids.push((n, client.start(chain, None, &(n * 3)).await.unwrap()));
    }
    let reminded = client.start(reminder, None, &300).await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    first.shutdown().await;
    drop(client); // the last handle on the first store: closes it

    let second = runtime(RocksStore::open(dir.path()).unwrap());
    let client = second.client();
    for (n, id) in &ids {
        assert_eq!(
            client.wait(chain, id, WAIT).await.unwrap(),
            Ok(expected(n * 3))
        );
    }
    assert_eq!(client.wait(reminder, &reminded, WAIT).await.unwrap(), Ok(2));
    let status = client.status(&ids[0].1).await.unwrap().unwrap();
    assert_eq!(status.status, RuntimeStatus::Completed);
    second.shutdown().await;
}

#[test]
fn a_directory_in_use_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _open = RocksStore::open(dir.path()).unwrap();
    match RocksStore::open(dir.path()) {
        Err(StoreError::Backend(message)) => {
            assert!(message.contains("in use by another process"), "{message}")
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a second open of the same directory succeeded"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsync_per_commit_runs_the_same_workload() {
    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::open_with(dir.path(), durable::rocks::Durability::PowerLoss).unwrap();
    let runtime = runtime(store);
    let client = runtime.client();
    let mut ids = Vec::new();
    for n in 0..20u64 {
        ids.push((n, client.start(chain, None, &n).await.unwrap()));
    }
    for (n, id) in ids {
        assert_eq!(
            client.wait(chain, &id, WAIT).await.unwrap(),
            Ok(expected(n))
        );
    }
    runtime.shutdown().await;
}
