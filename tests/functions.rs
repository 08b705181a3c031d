//! Durable functions: helpers awaited inline, their state nested in the caller's
//! checkpoint. Nested two deep, with loops and `?`, run as state machines encoded at
//! every `.await`, and agree with the same logic in plain Rust; a restart in the middle
//! of a helper resumes inside it.

mod support;

use std::time::Duration;

use durable::rocks::RocksStore;
use durable::{orchestrator, OrchestrationContext, Runtime};
use support::*;

/// Reserves `item`: a call, then a loop of calls.
#[durable::function]
async fn reserve(ctx: &OrchestrationContext, item: u64) -> Result<u64, TestError> {
    let doubled = ctx.call(double, item).await?;
    let mut total = 0;
    for i in 0..doubled % 3 + 1 {
        total += ctx.call(add, (i, doubled)).await?;
    }
    Ok(total)
}

/// Reserves every item through `reserve`, stopping at the first failure.
#[durable::function]
async fn book(ctx: &OrchestrationContext, items: Vec<u64>) -> Result<Vec<u64>, TestError> {
    let mut leases = Vec::new();
    for item in items.iter() {
        let checked = ctx.call(fail_on_13, *item).await?;
        leases.push(reserve(ctx, checked).await?);
    }
    Ok(leases)
}

/// A helper that awaits nothing.
#[durable::function]
async fn fee(_ctx: &OrchestrationContext, n: u64) -> Result<u64, TestError> {
    Ok(n * 10)
}

#[orchestrator]
async fn order(ctx: OrchestrationContext, items: Vec<u64>) -> Result<(u64, u64), TestError> {
    let fee = fee(&ctx, items.len() as u64).await?;
    let leases = match book(&ctx, items.clone()).await {
        Ok(leases) => leases,
        // the helper's error, handled by the caller
        Err(e) => return Ok((0, e.to_string().len() as u64)),
    };
    Ok((leases.iter().sum::<u64>(), fee))
}

fn plain_reserve(item: u64) -> u64 {
    let doubled = item * 2;
    (0..doubled % 3 + 1).map(|i| i + doubled).sum()
}

#[tokio::test]
async fn helpers_nested_two_deep_agree_with_plain_rust() {
    for items in [vec![], vec![1], vec![2, 5, 8]] {
        let run = runner().run(order, &items).await.unwrap();
        let expected: u64 = items.iter().map(|i| plain_reserve(*i)).sum();
        assert_eq!(run.result, Ok((expected, items.len() as u64 * 10)));
    }
    let failed = runner().run(order, &vec![2, 13, 5]).await.unwrap();
    let message = "activity `fail_on_13` failed: unlucky 13";
    assert_eq!(failed.result, Ok((0, message.len() as u64)));
}

/// Waits for an approval inside a helper.
#[durable::function]
async fn approval(ctx: &OrchestrationContext, amount: u64) -> Result<u64, TestError> {
    let doubled = ctx.call(double, amount).await?;
    let approved: bool = ctx.event("approve").await;
    Ok(if approved { doubled } else { 0 })
}

#[orchestrator]
async fn pay(ctx: OrchestrationContext, amount: u64) -> Result<u64, TestError> {
    let approved = approval(&ctx, amount).await?;
    let fee = fee(&ctx, 1).await?;
    Ok(approved + fee)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_inside_a_helper_resumes_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = Runtime::builder(RocksStore::open(dir.path()).unwrap())
        .orchestration(pay)
        .activity(double)
        .start();
    let client = first.client();
    let id = client.start(pay, Some("p"), &21).await.unwrap();
    // wait until the helper waits for its event: its call is done
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = client.status(&id).await.unwrap().unwrap();
        if status.waiting_on == Some(durable::Wake::Task(durable::TaskId(1))) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.shutdown().await;
    drop(client);

    let second = Runtime::builder(RocksStore::open(dir.path()).unwrap())
        .orchestration(pay)
        .activity(double)
        .start();
    let client = second.client();
    client.raise_event(&id, "approve", &true).await.unwrap();
    let out = client
        .wait(pay, &id, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(out, Ok(42 + 10));
    second.shutdown().await;
}
