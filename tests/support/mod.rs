//! Shared by the integration tests: activities, an error type, and the plain-`async fn`
//! context that lets one orchestrator body run both as a state machine and directly.

#![allow(dead_code)]

pub mod counting;
pub mod postgres;

use std::future::Future;

use durable::testing::{InlineRun, InlineRunner};
use durable::{
    activity, Activity, ActivityContext, ActivityError, ActivityFn, Orchestration, OrchestrationFn,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum TestError {
    #[error("{0}")]
    Activity(String),
    #[error("rejected: {0}")]
    Rejected(String),
}

impl From<ActivityError> for TestError {
    fn from(e: ActivityError) -> Self {
        TestError::Activity(e.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub label: String,
    pub values: Vec<u64>,
}

#[activity]
pub async fn double(x: u64) -> Result<u64, String> {
    Ok(x * 2)
}

#[activity]
pub async fn add(pair: (u64, u64)) -> Result<u64, String> {
    Ok(pair.0 + pair.1)
}

#[activity]
pub async fn is_even(x: u64) -> Result<bool, String> {
    Ok(x.is_multiple_of(2))
}

#[activity]
pub async fn echo(s: String) -> Result<String, String> {
    Ok(s)
}

/// Fails for 13, the way a flaky service would.
#[activity]
pub async fn fail_on_13(x: u64) -> Result<u64, String> {
    if x == 13 {
        Err("unlucky 13".into())
    } else {
        Ok(x)
    }
}

/// `None` for multiples of 3.
#[activity]
pub async fn lookup(x: u64) -> Result<Option<u64>, String> {
    Ok((!x.is_multiple_of(3)).then_some(x * 10))
}

#[activity(name = "read-sensor")]
pub async fn read(ctx: ActivityContext, x: u64) -> Result<Reading, String> {
    Ok(Reading {
        label: format!("{}#{}", ctx.instance_id().len(), x),
        values: (0..x % 5).collect(),
    })
}

#[activity]
pub async fn split(text: String) -> Result<Vec<String>, String> {
    Ok(text.split_whitespace().map(str::to_owned).collect())
}

#[activity]
pub async fn constant() -> Result<u64, String> {
    Ok(7)
}

/// The context a plain `async fn` twin of an orchestrator gets: `call` runs the
/// activity right away.
pub struct Direct;

impl Direct {
    pub fn call<F: ActivityFn>(
        &self,
        activity: F,
        input: <F::Activity as Activity>::Input,
    ) -> impl Future<Output = Result<<F::Activity as Activity>::Output, ActivityError>> {
        let _ = activity;
        call::<F::Activity>(input)
    }
}

async fn call<A: Activity>(input: A::Input) -> Result<A::Output, ActivityError> {
    A::execute(ActivityContext::new("inline", 1), input)
        .await
        .map_err(|e| ActivityError {
            activity: A::NAME.to_owned(),
            message: e.to_string(),
        })
}

pub static DIRECT: Direct = Direct;

pub fn runner() -> InlineRunner {
    InlineRunner::new()
        .activity(double)
        .activity(add)
        .activity(is_even)
        .activity(echo)
        .activity(fail_on_13)
        .activity(lookup)
        .activity(read)
        .activity(split)
        .activity(constant)
}

/// Runs `orchestration` as a state machine (state encoded, dropped and decoded at every
/// `.await`) and its plain twin, asserts both give the same result, and returns the
/// machine's run.
pub async fn same<O, I, T, F, Fut>(orchestration: O, plain: F, input: I) -> InlineRun<T>
where
    O: OrchestrationFn,
    O::Orchestration: Orchestration<Input = I, Output = T>,
    I: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    T: PartialEq
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Send
        + 'static,
    F: Fn(&'static Direct, I) -> Fut,
    Fut: Future<Output = Result<T, TestError>>,
{
    let run = runner()
        .run(orchestration, &input)
        .await
        .expect("the machine runs");
    let direct = plain(&DIRECT, input).await.map_err(|e| format!("{e:#}"));
    assert_eq!(
        run.result, direct,
        "state machine and plain async fn disagree"
    );
    run
}

/// Defines an orchestrator and its plain `async fn` twin from one body.
#[macro_export]
macro_rules! twins {
    ($(#[$meta:meta])* $name:ident / $plain:ident ($ctx:ident, $input:tt: $in:ty) -> $out:ty $body:block) => {
        $(#[$meta])*
        #[durable::orchestrator]
        async fn $name($ctx: durable::OrchestrationContext, $input: $in) -> Result<$out, TestError> $body

        $(#[$meta])*
        #[allow(unused_mut, unused_variables)]
        async fn $plain($ctx: &'static Direct, $input: $in) -> Result<$out, TestError> $body
    };
}

/// Weighs each of `n` items by an event `w`, one item a step.
#[durable::orchestrator]
pub async fn weigh_items(ctx: durable::OrchestrationContext, n: u64) -> Result<u64, TestError> {
    let items: Vec<u64> = (1..=n).collect();
    let mut sum = 0;
    for item in items {
        sum += item * ctx.event::<u64>("w").await;
    }
    Ok(sum)
}

/// Waits for event `go`, then ends.
#[durable::orchestrator]
pub async fn gate(ctx: durable::OrchestrationContext, _: ()) -> Result<(), TestError> {
    ctx.event::<()>("go").await;
    Ok(())
}

/// Starts `n` [`gate`]s through `client`, has a client task wait for each, and, once
/// each has read its instance, ends them one by one, each wait returning before the
/// next end. Returns how many times `reads` (a [`counting::Counting`] store's count)
/// grew meanwhile: what the ends cost the waiting clients.
pub async fn end_gates_one_by_one<S: durable::Store>(
    client: &durable::Client<S>,
    n: usize,
    reads: &std::sync::atomic::AtomicUsize,
) -> usize {
    use std::sync::atomic::Ordering::Relaxed;
    let wait = std::time::Duration::from_secs(30);
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(client.start(gate, None, &()).await.unwrap());
    }
    let waits: Vec<_> = ids
        .iter()
        .map(|id| {
            let (client, id) = (client.clone(), id.clone());
            tokio::spawn(async move { client.wait(gate, &id, wait).await })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + wait;
    while reads.load(Relaxed) < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the clients never read"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let before = reads.load(Relaxed);
    for (id, wait) in ids.iter().zip(waits) {
        client.raise_event(id, "go", &()).await.unwrap();
        assert_eq!(wait.await.unwrap().unwrap(), Ok(()));
    }
    reads.load(Relaxed) - before
}
