//! What only a store shared by processes must show: its schema is versioned, work queued
//! through one connection wakes workers on another at once (`LISTEN`/`NOTIFY`, not the
//! poll), timers fire once however many processes fire them, and a process that runs no
//! workers starts and manages instances, over the client and the HTTP API.
//!
//! Each store here is its own connection pool and listener, as a separate process's
//! would be; the crash test (`tests/crash.rs`) runs real worker processes.

mod support;

use std::time::Duration;

use durable::http::Api;
use durable::store::{Changed, InstanceRecord, Message, StepCommit, Store, TimerTask};
use durable::{activity, orchestrator, OrchestrationContext, Runtime, RuntimeStatus, TaskId};
use durable_postgres::{schema, PostgresStore};
use serde_json::{json, Value};
use support::counting::Counting;
use support::{end_gates_one_by_one, gate, postgres, weigh_items};

#[activity]
async fn shout(s: String) -> Result<String, String> {
    Ok(s.to_uppercase())
}

#[orchestrator]
async fn greet(ctx: OrchestrationContext, name: String) -> Result<String, String> {
    let loud = ctx
        .call(shout, format!("hello {name}"))
        .await
        .map_err(|e| e.to_string())?;
    let reply: String = ctx.event("reply").await;
    Ok(format!("{loud}, {reply}"))
}

/// A worker runtime that would take a minute to notice work it is not told about.
fn deaf_worker(store: PostgresStore) -> Runtime<PostgresStore> {
    Runtime::builder(store)
        .orchestration(greet)
        .activity(shout)
        .poll_interval(Duration::from_secs(60))
        .start()
}

#[tokio::test]
async fn the_schema_is_created_once_and_a_newer_one_is_refused() {
    let url = postgres::database().await;
    let first = PostgresStore::connect(&url).await.unwrap();
    drop(first);
    let again = PostgresStore::connect(&url).await.unwrap();
    again
        .create(InstanceRecord::new("kept".into(), "o", 1, vec![], None))
        .await
        .unwrap();
    drop(again);

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let versions = client
        .query("SELECT version FROM durable_schema", &[])
        .await
        .unwrap();
    let versions: Vec<i32> = versions.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, [schema::VERSION], "one row, the current version");
    // a database left at version 1 gets the migrations after it; its rows hold their
    // records whole
    client
        .batch_execute(
            "UPDATE durable_schema SET version = 1; DROP INDEX durable_instances_created;
             ALTER TABLE durable_instances DROP COLUMN apart, DROP COLUMN started,
                 DROP COLUMN input, DROP COLUMN output, DROP COLUMN events,
                 DROP COLUMN custom_status;
             DROP TABLE durable_parts",
        )
        .await
        .unwrap();
    let mut whole = InstanceRecord::new("kept".into(), "o", 1, vec![5, 6], None);
    whole.custom_status = Some(vec![7]);
    let bytes = durable::codec::encode(&whole, "record").unwrap();
    client
        .execute("UPDATE durable_instances SET record = $1", &[&bytes])
        .await
        .unwrap();
    let store = PostgresStore::connect(&url).await.unwrap();
    assert_eq!(store.instance("kept").await.unwrap(), Some(whole.clone()));
    // a step writes it apart from its fields, which it keeps
    let locked = store
        .lock_instance(Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let mut next = locked.record.clone();
    next.status = RuntimeStatus::Running;
    next.state = Some(vec![1]);
    let step = StepCommit {
        record: next,
        consumed: locked.messages.iter().map(|(s, _)| *s).collect(),
        activities: vec![],
        timers: vec![],
        messages: vec![],
        cancelled: vec![],
        parts: vec![],
        dropped_parts: vec![],
        changed: Changed::default(),
        children: vec![],
        activity: None,
    };
    store.commit_step(&locked.lease, step).await.unwrap();
    let stepped = store.instance("kept").await.unwrap().unwrap();
    assert_eq!(
        (stepped.input, stepped.custom_status),
        (vec![5, 6], Some(vec![7]))
    );
    let apart = client
        .query_one("SELECT apart FROM durable_instances WHERE id = 'kept'", &[])
        .await
        .unwrap();
    assert!(apart.get::<_, bool>(0), "written apart");
    drop(store);
    let versions = client
        .query("SELECT version FROM durable_schema", &[])
        .await
        .unwrap();
    let versions: Vec<i32> = versions.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, [schema::VERSION], "migrated from 1");
    let index = client
        .query(
            "SELECT 1 FROM pg_indexes WHERE indexname = 'durable_instances_created'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(index.len(), 1, "migration 2 applied");
    let parts = client
        .query(
            "SELECT 1 FROM pg_tables WHERE tablename = 'durable_parts'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(parts.len(), 1, "migration 4 applied");
    let newer = schema::VERSION + 1;
    client
        .execute("UPDATE durable_schema SET version = $1", &[&newer])
        .await
        .unwrap();
    let Err(refused) = PostgresStore::connect(&url).await else {
        panic!("a schema newer than the code was used");
    };
    let message = refused.to_string();
    assert!(message.contains(&format!("version {newer}")), "{message}");
    assert!(message.contains("upgrade this program"), "{message}");
    let kept = client
        .query("SELECT id FROM durable_instances", &[])
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "nothing was touched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_from_a_process_without_workers_wakes_the_workers_at_once() {
    let url = postgres::database().await;
    let worker = deaf_worker(PostgresStore::connect(&url).await.unwrap());
    let client = Runtime::builder(PostgresStore::connect(&url).await.unwrap()).client_only();
    // the start, the activity call and the event each cross between the two stores
    let id = client
        .start(greet, Some("g"), &"ann".to_owned())
        .await
        .unwrap();
    for _ in 0..200 {
        let status = client.status(&id).await.unwrap().unwrap();
        if status.waiting_on.is_some() && status.status == RuntimeStatus::Running {
            if let Some(durable::Wake::Task(TaskId(1))) = status.waiting_on {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    client
        .raise_event(&id, "reply", &"hi".to_owned())
        .await
        .unwrap();
    // well inside the workers' one-minute poll: only a notification can wake them
    let out = client
        .wait(greet, &id, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(out.unwrap(), "HELLO ANN, hi");
    worker.shutdown().await;
}

/// An instance ended in another process wakes the clients waiting for it, not every
/// client of this process: the notification names the instance. Each client polls once a
/// minute here, so what it reads it reads because it was woken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_in_another_process_wakes_only_the_clients_waiting_for_it() {
    let url = postgres::database().await;
    let worker = Runtime::builder(PostgresStore::connect(&url).await.unwrap())
        .orchestration(gate)
        .start();
    let (store, reads) = Counting::new(PostgresStore::connect(&url).await.unwrap());
    let client = Runtime::builder(store)
        .poll_interval(Duration::from_secs(60))
        .client_only();
    let n = 30;
    let read = end_gates_one_by_one(&client, n, &reads).await;
    // each wait reads once after its instance's end, and maybe once more for a step of
    // the instance that only buffered the event; waking every client at each end read
    // n * (n + 1) / 2 = 465 times
    assert!(read <= 2 * n, "{read} reads for {n} ends");
    worker.shutdown().await;
}

/// Timers started by one store and fired by three at once fire once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_fire_once_across_processes() {
    let url = postgres::database().await;
    let stores = [
        PostgresStore::connect(&url).await.unwrap(),
        PostgresStore::connect(&url).await.unwrap(),
        PostgresStore::connect(&url).await.unwrap(),
    ];
    let timers = 600u64;
    for i in 0..3 {
        let id = format!("t{i}");
        stores[0]
            .create(InstanceRecord::new(id.clone(), "o", 1, vec![], None))
            .await
            .unwrap();
        let locked = stores[0]
            .lock_instance(Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        let mut record = locked.record.clone();
        record.status = RuntimeStatus::Running;
        let step = StepCommit {
            record,
            consumed: locked.messages.iter().map(|(s, _)| *s).collect(),
            activities: vec![],
            timers: (0..timers / 3)
                .map(|t| TimerTask {
                    due: 1_000 + t,
                    instance: locked.record.id.clone(),
                    task: TaskId(t),
                })
                .collect(),
            messages: vec![],
            cancelled: vec![],
            parts: vec![],
            dropped_parts: vec![],
            changed: Changed::default(),
            children: vec![],
            activity: None,
        };
        stores[0].commit_step(&locked.lease, step).await.unwrap();
    }
    let fired = futures_fire(&stores).await;
    assert_eq!(fired, timers as usize, "each timer fired once");
    for store in &stores {
        assert_eq!(store.fire_timers(u64::MAX).await.unwrap(), (0, None));
    }
    let mut completions = 0;
    while let Some(locked) = stores[1]
        .lock_instance(Duration::from_secs(30))
        .await
        .unwrap()
    {
        for (_, message) in &locked.messages {
            assert!(matches!(message, Message::TaskCompleted { .. }));
            completions += 1;
        }
        let step = StepCommit {
            record: locked.record.clone(),
            consumed: locked.messages.iter().map(|(s, _)| *s).collect(),
            activities: vec![],
            timers: vec![],
            messages: vec![],
            cancelled: vec![],
            parts: vec![],
            dropped_parts: vec![],
            changed: Changed::default(),
            children: vec![],
            activity: None,
        };
        stores[1].commit_step(&locked.lease, step).await.unwrap();
    }
    assert_eq!(
        completions, timers,
        "one completion per timer reached the inboxes"
    );
}

/// Fires the due timers from every store at once; returns how many fired in all.
async fn futures_fire(stores: &[PostgresStore; 3]) -> usize {
    let [a, b, c] = stores;
    let (a, b, c) = tokio::join!(
        a.fire_timers(10_000),
        b.fire_timers(10_000),
        c.fire_timers(10_000)
    );
    a.unwrap().0 + b.unwrap().0 + c.unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_api_runs_in_a_process_without_workers() {
    let url = postgres::database().await;
    let worker = deaf_worker(PostgresStore::connect(&url).await.unwrap());
    let client = Runtime::builder(PostgresStore::connect(&url).await.unwrap()).client_only();
    let api = Api::new(client)
        .orchestration(greet)
        .event::<String>(greet, "reply")
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, api).await });
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let started = http
        .post(format!("{base}/orchestrators/greet/h1"))
        .json(&json!("bo"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), reqwest::StatusCode::ACCEPTED);
    let raised = http
        .post(format!("{base}/instances/h1/raiseEvent/reply"))
        .json(&json!("yo"))
        .send()
        .await
        .unwrap();
    assert_eq!(raised.status(), reqwest::StatusCode::ACCEPTED);
    let mut last = Value::Null;
    for _ in 0..400 {
        last = http
            .get(format!("{base}/instances/h1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if last["runtimeStatus"] == "Completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(last["runtimeStatus"], "Completed", "{last}");
    assert_eq!(last["output"], "HELLO BO, yo");
    worker.shutdown().await;
}

/// `examples/postgres_workers.rs`, as a user runs it: three worker processes and the
/// driver, on a database of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_runs_the_five_patterns_on_three_workers() {
    let url = postgres::database().await;
    let deps = std::env::current_exe().unwrap();
    let example = deps
        .parent()
        .unwrap()
        .with_file_name("examples")
        .join("postgres_workers");
    assert!(
        example.exists(),
        "{} is not built: run the tests with `--features durable/postgres` (scripts/test.sh does)",
        example.display()
    );
    let run = tokio::process::Command::new(&example)
        .arg(&url)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the example finishes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("all five finished"), "{stdout}");
    for pattern in ["chaining", "fan-out", "report", "monitor", "verify"] {
        assert!(
            stdout.contains(&format!("[{pattern}] completed")),
            "{pattern}: {stdout}"
        );
    }
    for worker in 1..=3 {
        assert!(
            stdout.contains(&format!("[worker {worker}] step of")),
            "worker {worker}: {stdout}"
        );
    }
}

/// A record whose bytes cannot be decoded blocks its own instance, shown with the
/// reason and its bytes kept; claims pass over it and the other instances go on.
#[tokio::test]
async fn an_undecodable_record_blocks_only_its_instance() {
    let url = postgres::database().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    for id in ["damaged", "sound"] {
        store
            .create(InstanceRecord::new(id.into(), "o", 1, vec![], None))
            .await
            .unwrap();
    }
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let garbage: &[u8] = &[0xff, 0xfe, 0x00];
    client
        .execute(
            "UPDATE durable_instances SET record = $1 WHERE id = 'damaged'",
            &[&garbage],
        )
        .await
        .unwrap();
    let claimed = store
        .lock_instance(Duration::from_secs(30))
        .await
        .unwrap()
        .expect("the sound instance is claimed");
    assert_eq!(claimed.record.id, "sound");
    assert!(store
        .lock_instance(Duration::from_secs(30))
        .await
        .unwrap()
        .is_none());
    let shown = store.instance("damaged").await.unwrap().unwrap();
    assert_eq!(shown.status, RuntimeStatus::Blocked);
    let page = durable::store::Page {
        after: None,
        limit: 10,
    };
    let listed = |statuses| durable::InstanceFilter {
        statuses,
        ..Default::default()
    };
    let blocked = store
        .list(&listed(vec![RuntimeStatus::Blocked]), &page)
        .await
        .unwrap();
    assert_eq!(blocked.len(), 1, "listed as blocked");
    assert_eq!(blocked[0].id, "damaged");
    let pending = store
        .list(&listed(vec![RuntimeStatus::Pending]), &page)
        .await
        .unwrap();
    let pending: Vec<&str> = pending.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(pending, ["sound"], "not as what its stored status says");
    let reason = shown.error.unwrap();
    assert!(reason.contains("cannot be decoded"), "{reason}");
    let kept = client
        .query_one(
            "SELECT record FROM durable_instances WHERE id = 'damaged'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(kept.get::<_, &[u8]>(0), garbage, "the bytes are kept");
    assert_eq!(
        store.purge("damaged").await.unwrap(),
        durable::Purge::Deleted { descendants: 0 },
        "a blocked instance can be purged"
    );
}

/// An activity call whose stored bytes cannot be decoded blocks its instance, with the
/// reason, instead of failing every claim; it is kept, and purged with the instance.
#[tokio::test]
async fn an_undecodable_call_blocks_its_instance() {
    let url = postgres::database().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    store
        .create(InstanceRecord::new("i".into(), "o", 1, vec![], None))
        .await
        .unwrap();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let garbage: &[u8] = &[0xff, 0xfe, 0x00];
    client
        .execute(
            "INSERT INTO durable_activities (instance, task, due, body) VALUES ('i', 7, 0, $1)",
            &[&garbage],
        )
        .await
        .unwrap();
    let lease = Duration::from_secs(30);
    assert!(store.lock_activity(lease).await.unwrap().is_none());
    assert!(
        store.lock_activity(lease).await.unwrap().is_none(),
        "parked"
    );
    let shown = store.instance("i").await.unwrap().unwrap();
    assert_eq!(shown.status, RuntimeStatus::Blocked);
    let reason = shown.error.unwrap();
    assert!(
        reason.contains("activity call 7 cannot be decoded"),
        "{reason}"
    );
    let kept = client
        .query_one("SELECT body FROM durable_activities WHERE task = 7", &[])
        .await
        .unwrap();
    assert_eq!(kept.get::<_, &[u8]>(0), garbage, "the bytes are kept");
    assert_eq!(
        store.purge("i").await.unwrap(),
        durable::Purge::Deleted { descendants: 0 }
    );
    let left = client
        .query("SELECT 1 FROM durable_activities", &[])
        .await
        .unwrap();
    assert!(left.is_empty(), "purged with its instance");
}

/// A loop's items are kept in `durable_parts`. A claim reads the next one along; any
/// other is read on a connection of the store's own, which connects again when the
/// server ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_part_reader_connects_again_after_its_connection_is_lost() {
    let url = postgres::database().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    let runtime = Runtime::builder(store).orchestration(weigh_items).start();
    let client = runtime.client();
    let id = client.start(weigh_items, None, &10u64).await.unwrap();
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let stored = "SELECT part, bytes FROM durable_parts ORDER BY part";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let parts = loop {
        let parts = admin.query(stored, &[]).await.unwrap();
        if !parts.is_empty() {
            break parts;
        }
        assert!(tokio::time::Instant::now() < deadline, "no item was kept");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(parts.len(), 9, "the items after the first");
    client.raise_event(&id, "w", &1u64).await.unwrap();
    let parts = loop {
        let parts = admin.query(stored, &[]).await.unwrap();
        if parts.len() == 8 {
            break parts;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the second item was not taken"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let readers = "SELECT count(*) FROM pg_stat_activity
                   WHERE application_name = 'durable-parts' AND datname = current_database()";
    let reading: i64 = admin.query_one(readers, &[]).await.unwrap().get(0);
    assert_eq!(reading, 0, "the step took the item its claim read along");
    let (key, bytes): (i64, Vec<u8>) = (parts[4].get(0), parts[4].get(1));
    let reader = runtime.store().part_reader().expect("parts are kept");
    let read = || (reader.0)(&id, key as u64);
    assert_eq!(read(), Ok(Some(bytes.clone())));
    // The server's word that it ends the connection can reach the reader as the answer
    // to its next read, before the connection is seen closed: each round gives that
    // race another chance.
    for round in 0..20 {
        while admin
            .query_one(readers, &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
            != 1
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the ended connection stays listed, round {round}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let ended = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = 'durable-parts' AND datname = current_database()",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(ended.len(), 1, "the reader's connection, round {round}");
        assert_eq!(
            read(),
            Ok(Some(bytes.clone())),
            "read on a new connection, round {round}"
        );
    }
    assert_eq!((reader.0)(&id, u64::MAX / 2), Ok(None));
    for _ in 2..=10 {
        client.raise_event(&id, "w", &1u64).await.unwrap();
    }
    let sum = client.wait(weigh_items, &id, Duration::from_secs(20)).await;
    assert_eq!(sum.unwrap(), Ok(55));
    let left = admin.query(stored, &[]).await.unwrap();
    assert!(
        left.is_empty(),
        "each item is deleted by the step that takes it"
    );
    runtime.shutdown().await;
}
