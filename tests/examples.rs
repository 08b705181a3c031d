//! The pattern examples, run on a throwaway RocksDB store each.

#[allow(dead_code)]
#[path = "../examples/chaining.rs"]
mod chaining;
#[allow(dead_code)]
#[path = "../examples/fan_out_fan_in.rs"]
mod fan_out_fan_in;
#[allow(dead_code)]
#[path = "../examples/human_interaction.rs"]
mod human_interaction;
#[allow(dead_code)]
#[path = "../examples/monitor.rs"]
mod monitor;

use std::time::Duration;

use durable::rocks::RocksStore;

fn fresh_store() -> (tempfile::TempDir, RocksStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::open(dir.path()).unwrap();
    (dir, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaining_passes_each_output_on() {
    let (_dir, store) = fresh_store();
    let out = chaining::run(store, "  hello   durable world ")
        .await
        .unwrap();
    assert_eq!(out, "Hello durable world.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_fan_in_adds_up_every_document() {
    let (_dir, store) = fresh_store();
    let documents: Vec<String> = (1..=60).map(|n| "a b c ".repeat(n)).collect();
    let total = fan_out_fan_in::run(store, documents).await.unwrap();
    assert_eq!(total, (1..=60).map(|n| 3 * n).sum::<u64>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_stops_when_the_condition_holds_or_it_expires() {
    let watch = |done_at_check, max_checks| monitor::Watch {
        job: "export".into(),
        done_at_check,
        interval: Duration::from_millis(20),
        max_checks,
    };
    let (_dir, store) = fresh_store();
    let out = monitor::run(store, watch(3, 10)).await.unwrap();
    assert_eq!(out, "export done after 3 checks");
    let (_dir, store) = fresh_store();
    let out = monitor::run(store, watch(30, 4)).await.unwrap();
    assert_eq!(out, "gave up on export after 4 checks");
}

#[tokio::test]
async fn a_monitor_loop_keeps_a_constant_size_state() {
    let runner = durable::testing::InlineRunner::new().activity(monitor::job_done);
    let watch = monitor::Watch {
        job: "long-running".into(),
        done_at_check: 2_000,
        interval: Duration::from_secs(3600),
        max_checks: 5_000,
    };
    let run = runner.run(monitor::monitor, &watch).await.unwrap();
    assert_eq!(run.result, Ok("long-running done after 2000 checks".into()));
    assert_eq!(run.checkpoints.len(), 2 * 2_000 - 1);
    let (min, max) = (
        run.checkpoints.iter().min().unwrap(),
        run.checkpoints.iter().max().unwrap(),
    );
    assert!(max - min <= 4, "state grew from {min} to {max} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_interaction_verifies_times_out_or_denies() {
    let phone = "+1 555 0100";
    let right = human_interaction::code_for(phone);
    let long = Duration::from_secs(30);
    let (_dir, store) = fresh_store();
    let out = human_interaction::run(store, phone, long, &[1, right])
        .await
        .unwrap();
    assert_eq!(out, "verified at attempt 2");
    let (_dir, store) = fresh_store();
    let out = human_interaction::run(store, phone, long, &[1, 2, 3])
        .await
        .unwrap();
    assert_eq!(out, "three wrong codes: denied");
    let (_dir, store) = fresh_store();
    let short = Duration::from_millis(50);
    let out = human_interaction::run(store, phone, short, &[])
        .await
        .unwrap();
    assert_eq!(out, "timed out at attempt 1");
}
