//! Deploying changed code while instances wait, on every store: what the new code can
//! resume goes on; what it cannot is blocked with the reason and keeps its checkpoint
//! and what it waits for, until code that can resume it is registered (restarted, or
//! side by side as an earlier version), it is retried, terminated or purged.
//!
//! Each runtime below is one deploy; they share a store, one after the other.

mod support;

use std::sync::Arc;
use std::time::Duration;

use durable::rocks::RocksStore;
use durable::{
    orchestrator, Client, ClientError, InstanceFilter, MemoryStore, OrchestrationContext, Purge,
    Runtime, RuntimeStatus, Store,
};
use support::{double, TestError};

const WAIT: Duration = Duration::from_secs(20);

mod v1 {
    use super::*;

    #[orchestrator(name = "evo")]
    pub async fn evo(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = ctx.call(double, x).await?;
        let go: u64 = ctx.event("go").await;
        Ok(a + go)
    }
}

/// Keeps one more local across the event wait: instances waiting there cannot resume.
mod v2 {
    use super::*;

    #[orchestrator(name = "evo")]
    pub async fn evo(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = ctx.call(double, x).await?;
        let bonus = a * 10;
        let go: u64 = ctx.event("go").await;
        Ok(a + go + bonus)
    }
}

/// Both, side by side: the old code kept as version 1, the new one as version 2.
mod side_by_side {
    use super::*;

    #[orchestrator(name = "evo", version = 1)]
    pub async fn evo_v1(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = ctx.call(double, x).await?;
        let go: u64 = ctx.event("go").await;
        Ok(a + go)
    }

    #[orchestrator(name = "evo", version = 2)]
    pub async fn evo_v2(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = ctx.call(double, x).await?;
        let bonus = a * 10;
        let go: u64 = ctx.event("go").await;
        Ok(a + go + bonus)
    }
}

/// Version 1 of an approval, and version 2, which keeps other locals at the pinned
/// point and migrates instances of version 1 there.
mod approval {
    use super::*;

    #[orchestrator(name = "approval", version = 1)]
    pub async fn v1(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let amount = ctx.call(double, x).await?;
        let approver = format!("ann-{x}");
        #[point("approval")]
        let ok: bool = ctx.event("approval").await;
        Ok(if ok { amount } else { 0 } + approver.len() as u64)
    }

    pub struct Locals {
        pub cents: u64,
        pub approvers: Vec<String>,
    }

    #[durable::migration]
    pub fn from_v1(amount: u64, approver: String) -> Locals {
        Locals {
            cents: amount * 100,
            approvers: vec![approver],
        }
    }

    #[orchestrator(
        name = "approval",
        version = 2,
        migrate(from = 1, point = "approval", with = from_v1)
    )]
    pub async fn v2(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let amount = ctx.call(double, x).await?;
        let cents = amount * 100;
        let approvers = vec![format!("ann-{x}")];
        #[point("approval")]
        let ok: bool = ctx.event("approval").await;
        Ok(if ok { cents } else { 0 } + approvers.len() as u64)
    }
}

/// Registered by no runtime until the last deploy of its test.
#[orchestrator]
async fn late(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    Ok(ctx.call(double, x).await?)
}

async fn until<S: Store>(client: &Client<S>, id: &str, wanted: impl Fn(&RuntimeStatus) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = client
            .status(id)
            .await
            .unwrap()
            .expect("the instance exists");
        if wanted(&status.status) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "`{id}` stayed {:?} ({:?})",
            status.status,
            status.error
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `id` has taken its first call's result and waits for its event.
async fn at_event<S: Store>(client: &Client<S>, id: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = client.status(id).await.unwrap().unwrap();
        let waits_for_event = status
            .waiting_on
            .as_ref()
            .is_some_and(|w| w.tasks() == [durable::TaskId(1)]);
        if waits_for_event {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn an_unknown_name_waits_for_its_code<S: Store>(store: Arc<S>) {
    let first = Runtime::builder(store.clone()).activity(double).start();
    let client = first.client();
    let id = client.start(late, Some("late-1"), &4).await.unwrap();
    until(&client, &id, |s| *s == RuntimeStatus::Blocked).await;
    let status = client.status(&id).await.unwrap().unwrap();
    let reason = status.error.unwrap();
    assert!(
        reason.contains("no orchestration named `late` is registered"),
        "{reason}"
    );
    assert!(matches!(client.retry(&id).await, Ok(())));
    first.shutdown().await;

    let second = Runtime::builder(store)
        .orchestration(late)
        .activity(double)
        .start();
    let client = second.client();
    assert_eq!(client.wait(late, &id, WAIT).await.unwrap(), Ok(8));
    second.shutdown().await;
}

async fn a_changed_point_blocks_and_keeps_its_checkpoint<S: Store>(store: Arc<S>) {
    let first = Runtime::builder(store.clone())
        .orchestration(v1::evo)
        .activity(double)
        .start();
    let client = first.client();
    for id in ["kept", "ended", "purged"] {
        client.start(v1::evo, Some(id), &5).await.unwrap();
        at_event(&client, id).await;
    }
    first.shutdown().await;

    let second = Runtime::builder(store.clone())
        .orchestration(v2::evo)
        .activity(double)
        .start();
    let client = second.client();
    for id in ["kept", "ended", "purged"] {
        client.raise_event(id, "go", &7u64).await.unwrap();
        until(&client, id, |s| *s == RuntimeStatus::Blocked).await;
    }
    let status = client.status("kept").await.unwrap().unwrap();
    let reason = status.error.clone().unwrap();
    assert!(
        reason.contains("ctx.event(\"go\")"),
        "names the point: {reason}"
    );
    assert!(reason.contains("`bonus: u64`"), "names the local: {reason}");
    assert_eq!(status.version, 1);
    let record = store.instance("kept").await.unwrap().unwrap();
    assert!(record.state.is_some(), "the checkpoint is kept");
    assert_eq!(record.events.len(), 1, "the event waits in the buffer");

    // listed and filtered like any status
    let blocked = InstanceFilter {
        statuses: vec![RuntimeStatus::Blocked],
        ..InstanceFilter::default()
    };
    let listed = client.list(&blocked, None, 10).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["ended", "kept", "purged"]);

    // a retry with the same code blocks it again, for the same reason
    client.retry("kept").await.unwrap();
    until(&client, "kept", |s| *s == RuntimeStatus::Blocked).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let again = client.status("kept").await.unwrap().unwrap();
    assert_eq!(again.status, RuntimeStatus::Blocked);
    assert_eq!(again.error.as_deref(), Some(reason.as_str()));

    // terminate and purge work on it
    client.terminate("ended", "gave up").await.unwrap();
    until(&client, "ended", |s| *s == RuntimeStatus::Terminated).await;
    assert_eq!(
        client.purge("purged").await.unwrap(),
        Purge::Deleted { descendants: 0 }
    );
    second.shutdown().await;

    // the old code side by side: the blocked instance continues by itself, on version 1
    let third = Runtime::builder(store)
        .orchestration(side_by_side::evo_v1)
        .orchestration(side_by_side::evo_v2)
        .activity(double)
        .start();
    let client = third.client();
    let kept = client.wait(side_by_side::evo_v1, "kept", WAIT).await;
    assert_eq!(kept.unwrap(), Ok(10 + 7));
    let fresh = client
        .start(side_by_side::evo_v2, Some("fresh"), &5)
        .await
        .unwrap();
    at_event(&client, &fresh).await;
    client.raise_event(&fresh, "go", &7u64).await.unwrap();
    let out = client.wait(side_by_side::evo_v2, &fresh, WAIT).await;
    assert_eq!(out.unwrap(), Ok(10 + 7 + 100));
    let on_two = InstanceFilter {
        version: Some(2),
        ..InstanceFilter::default()
    };
    let listed = client.list(&on_two, None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id.as_str(), listed[0].version), ("fresh", 2));
    third.shutdown().await;
}

async fn only_a_blocked_instance_is_retried<S: Store>(store: Arc<S>) {
    let runtime = Runtime::builder(store)
        .orchestration(v1::evo)
        .activity(double)
        .start();
    let client = runtime.client();
    let id = client.start(v1::evo, None, &1).await.unwrap();
    at_event(&client, &id).await;
    match client.retry(&id).await {
        Err(ClientError::NotBlocked { status, .. }) => assert_eq!(status, RuntimeStatus::Running),
        other => panic!("expected NotBlocked, got {other:?}"),
    }
    assert!(client.retry("nobody").await.is_err());
    runtime.shutdown().await;
}

async fn a_migration_moves_an_instance_to_the_new_version<S: Store>(store: Arc<S>) {
    let first = Runtime::builder(store.clone())
        .orchestration(approval::v1)
        .activity(double)
        .start();
    let client = first.client();
    let id = client.start(approval::v1, Some("a-1"), &5).await.unwrap();
    at_event(&client, &id).await;
    first.shutdown().await;

    // version 1's code is gone; version 2 migrates its instances at "approval"
    let second = Runtime::builder(store)
        .orchestration(approval::v2)
        .activity(double)
        .start();
    let client = second.client();
    client.raise_event(&id, "approval", &true).await.unwrap();
    assert_eq!(
        client.wait(approval::v2, &id, WAIT).await.unwrap(),
        Ok(1001)
    );
    assert_eq!(client.status(&id).await.unwrap().unwrap().version, 2);
    second.shutdown().await;
}

macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(std::sync::Arc::new(super::MemoryStore::new())).await;
                }
            )*
        }
        mod rocks {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = super::RocksStore::open(dir.path()).unwrap();
                    super::$name(std::sync::Arc::new(store)).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = super::support::postgres::store().await;
                    super::$name(std::sync::Arc::new(store)).await;
                }
            )*
        }
    };
}

on_every_store!(
    an_unknown_name_waits_for_its_code,
    a_changed_point_blocks_and_keeps_its_checkpoint,
    only_a_blocked_instance_is_retried,
    a_migration_moves_an_instance_to_the_new_version,
);
