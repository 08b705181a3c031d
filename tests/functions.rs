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

static PRICED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Doubles, counting its runs.
#[durable::activity]
async fn price(x: u64) -> Result<u64, String> {
    PRICED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Ok(x * 2)
}

/// Waits for an approval inside a helper.
#[durable::function]
async fn approval(ctx: &OrchestrationContext, amount: u64) -> Result<u64, TestError> {
    let doubled = ctx.call(price, amount).await?;
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
        .activity(price)
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
        .activity(price)
        .start();
    let client = second.client();
    client.raise_event(&id, "approve", &true).await.unwrap();
    let out = client
        .wait(pay, &id, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(out, Ok(42 + 10));
    // resumed at the helper's event, not from the helper's top: its call ran once
    assert_eq!(PRICED.load(std::sync::atomic::Ordering::SeqCst), 1);
    second.shutdown().await;
}

mod before {
    use super::*;

    #[durable::function]
    pub async fn lease(ctx: &OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let d = ctx.call(double, x).await?;
        Ok(d + 1)
    }

    #[orchestrator(name = "leasing")]
    pub async fn leasing(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        #[point("lease")]
        let got = lease(&ctx, x).await?;
        Ok(got * 10)
    }
}

/// The helper moved and renamed in Rust, its durable name kept: checkpoints taken
/// inside it resume.
mod after {
    use super::*;

    #[durable::function(name = "lease")]
    pub async fn take_lease(ctx: &OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let d = ctx.call(double, x).await?;
        Ok(d + 1)
    }

    #[orchestrator(name = "leasing")]
    pub async fn leasing(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        // another expression: the point is pinned to keep its identity
        #[point("lease")]
        let got = take_lease(&ctx, x).await?;
        Ok(got * 10)
    }
}

#[test]
fn a_helper_keeps_its_checkpoints_under_its_durable_name() {
    use durable::{Completions, Orchestration, Step, StepInput, TaskId};
    let ctx = OrchestrationContext::new("i", 0, 0);
    let input = durable::codec::encode_payload(&4u64, "input").unwrap();
    let Ok(Step::Suspended(at_lease)) =
        before::leasing::step(&ctx, StepInput::Start { input: &input })
    else {
        panic!("suspends inside the helper")
    };
    let ctx = OrchestrationContext::new("i", 1, 0);
    let mut completions = Completions::new();
    completions.insert(
        TaskId(0),
        Ok(durable::codec::encode_payload(&8u64, "output").unwrap()),
    );
    let resumed = after::leasing::step(
        &ctx,
        StepInput::Resume {
            state: &at_lease.state,
            completions: &mut completions,
        },
    );
    let Ok(Step::Completed(out)) = resumed else {
        panic!("resumes under the new code: {resumed:?}")
    };
    let out: u64 = durable::codec::decode_payload(&out, "output").unwrap();
    assert_eq!(out, 90);
}

/// The context under another name, and an input named `ctx`: the builder the macro
/// generates must not clash with either.
#[durable::function]
async fn renamed_context(c: &OrchestrationContext, ctx: u64) -> Result<u64, TestError> {
    Ok(c.call(double, ctx).await?)
}

#[orchestrator]
async fn uses_renamed(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    Ok(renamed_context(&ctx, x).await? + 1)
}

#[tokio::test]
async fn a_helper_may_name_its_input_ctx() {
    let run = runner().run(uses_renamed, &5).await.unwrap();
    assert_eq!(run.result, Ok(11));
}
