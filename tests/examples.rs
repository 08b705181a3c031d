//! The pattern examples, run on a throwaway RocksDB store each.

/// The async HTTP API example's service (its orchestration is the patterns crate's).
#[allow(dead_code)]
#[path = "../examples/async_http_api.rs"]
mod service;

use durable_patterns::{
    async_http_api, bounded_parallelism, chaining, fan_out_fan_in, human_interaction, monitor, saga,
};

use std::time::Duration;

use durable::rocks::RocksStore;
use reqwest::StatusCode;
use serde_json::{json, Value};

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
    // the loop alternates between two points, whose checkpoints differ in size; the
    // largest of the last few is no larger than the largest of the first few
    let largest = |c: &[usize]| *c.iter().max().unwrap();
    let (first, last) = (
        largest(&run.checkpoints[..10]),
        largest(&run.checkpoints[run.checkpoints.len() - 10..]),
    );
    assert!(last <= first + 4, "state grew from {first} to {last} bytes");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_http_api_answers_202_until_the_report_is_done() {
    let (_dir, store) = fresh_store();
    let runtime = async_http_api::register(durable::Runtime::builder(store)).start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = service::app(runtime.client());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let start = format!("http://{address}/api/orchestrators/build_report");

    let refused = http.post(&start).json(&json!({"title": 3})).send().await;
    assert_eq!(refused.unwrap().status(), StatusCode::BAD_REQUEST);
    let started = http
        .post(&start)
        .json(&json!({"title": "Q3", "sections": ["sales", "outlook"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let links: Value = started.json().await.unwrap();
    let status_url = links["statusQueryGetUri"].as_str().unwrap().to_owned();
    assert!(status_url.starts_with(&format!("http://{address}/api/instances/")));

    let mut progress = Vec::new();
    let done: Value = loop {
        let polled = http.get(&status_url).send().await.unwrap();
        let code = polled.status();
        let body: Value = polled.json().await.unwrap();
        progress.push(body["customStatus"].clone());
        if code == StatusCode::OK {
            break body;
        }
        assert_eq!(code, StatusCode::ACCEPTED);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["runtimeStatus"], "Completed");
    assert_eq!(
        done["output"],
        json!({"title": "Q3", "pages": 2 + 4, "sections": ["sales", "outlook"]})
    );
    assert!(
        progress.contains(&json!("rendering section 2 of 2")),
        "{progress:?}"
    );
    assert_eq!(progress.last(), Some(&json!("done")));
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saga_books_or_undoes_in_reverse() {
    let mut trip = saga::Trip {
        traveller: "ada".into(),
        city: "Lisbon".into(),
        cars_sold_out: false,
    };
    let (_dir, store) = fresh_store();
    let booked = saga::run(store, &trip).await.unwrap();
    assert_eq!(booked, ["flight-lisbon", "hotel-lisbon", "car-lisbon"]);
    trip.cars_sold_out = true;
    let (_dir, store) = fresh_store();
    let undone = saga::run(store, &trip).await.unwrap();
    assert_eq!(
        undone,
        [
            "ada: no car left in Lisbon (after 2 attempts)",
            "released hotel-lisbon",
            "released flight-lisbon"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_parallelism_processes_everything_with_a_constant_checkpoint() {
    let job = bounded_parallelism::Job {
        items: 1_000,
        in_flight: 20,
    };
    let (_dir, store) = fresh_store();
    let (progress, published) = bounded_parallelism::run(store, &job).await.unwrap();
    let total: u64 = (0..1_000u64).map(|i| i % 7).sum();
    assert_eq!(
        (progress.done, progress.of, progress.total),
        (1_000, 1_000, total)
    );
    assert_eq!(
        published,
        Some(progress),
        "the last progress published is the end"
    );

    // the checkpoint holds the calls in flight, not the items done: twice the items,
    // the same largest checkpoint
    let runner = durable::testing::InlineRunner::new().activity(bounded_parallelism::process);
    let mut largest = Vec::new();
    for items in [1_000, 2_000] {
        let job = bounded_parallelism::Job {
            items,
            in_flight: 20,
        };
        let run = runner
            .run(bounded_parallelism::process_all, &job)
            .await
            .unwrap();
        assert_eq!(run.result.unwrap().done, items);
        largest.push(run.checkpoints.iter().copied().max().unwrap());
    }
    assert_eq!(largest[0], largest[1], "{largest:?}");
}
