//! The runtime on RocksDB: instances survive the store being closed mid-flight and
//! reopened, and a directory is used by one process at a time.

mod support;

use std::time::Duration;

use durable::rocks::RocksStore;
use durable::{
    orchestrator, ClientError, InstanceFilter, OrchestrationContext, Purge, Runtime, RuntimeStatus,
    StoreError,
};
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

#[orchestrator]
async fn waits(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let y: u64 = ctx.event("go").await;
    Ok(ctx.call(double, x + y).await?)
}

/// The store's RocksDB opened directly, with every column family it has: to write
/// what durable never would (damaged bytes, an older format).
fn raw(path: &std::path::Path) -> rocksdb::DB {
    let options = rocksdb::Options::default();
    let families = rocksdb::DB::list_cf(&options, path).unwrap();
    rocksdb::DB::open_cf(&options, path, families).unwrap()
}

fn runtime(store: RocksStore) -> Runtime<RocksStore> {
    Runtime::builder(store)
        .orchestration(waits)
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

async fn status_of(client: &durable::Client<RocksStore>, id: &str) -> RuntimeStatus {
    client.status(id).await.unwrap().unwrap().status
}

/// Garbage in one instance's record, and in another's queued message, used to stop
/// every instance whose id sorts after them from being claimed, failed the open, and
/// answered `GET /instances` with an error for everyone. Each now blocks its own
/// instance, named with the reason, and the rest go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_record_or_message_blocks_only_its_instance() {
    let dir = tempfile::tempdir().unwrap();
    let first = runtime(RocksStore::open(dir.path()).unwrap());
    let client = first.client();
    for id in ["a", "m", "q"] {
        client.start(waits, Some(id), &1).await.unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        while status_of(&client, id).await != RuntimeStatus::Running {
            assert!(std::time::Instant::now() < deadline, "{id} never ran");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // `m` holds its event while suspended, so it has a message to be claimed for
    client.suspend("m").await.unwrap();
    client.raise_event("m", "go", &1u64).await.unwrap();
    first.shutdown().await;
    drop(client);

    {
        let db = raw(dir.path());
        let instances = db.cf_handle("instances").unwrap();
        db.put_cf(instances, "m", [0xff, 0xfe, 0x01]).unwrap();
        let inbox = db.cf_handle("inbox").unwrap();
        let mut key = b"q\0".to_vec();
        key.extend_from_slice(&(1u64 << 40).to_be_bytes());
        db.put_cf(inbox, key, [0xff; 4]).unwrap();
    }

    let second =
        runtime(RocksStore::open(dir.path()).expect("one bad value does not fail the open"));
    let client = second.client();
    let z = client.start(waits, Some("z"), &2).await.unwrap();
    client.raise_event(&z, "go", &3u64).await.unwrap();
    assert_eq!(client.wait(waits, &z, WAIT).await.unwrap(), Ok(10));
    client.raise_event("a", "go", &1u64).await.unwrap();
    assert_eq!(client.wait(waits, "a", WAIT).await.unwrap(), Ok(4));

    let m = client.status("m").await.unwrap().unwrap();
    assert_eq!(m.status, RuntimeStatus::Blocked);
    assert!(
        m.error
            .as_deref()
            .unwrap()
            .contains("record cannot be decoded"),
        "{m:?}"
    );
    let q = client.status("q").await.unwrap().unwrap();
    assert_eq!(
        (q.status, q.name.as_str()),
        (RuntimeStatus::Blocked, "waits")
    );
    let reason = q.error.as_deref().unwrap();
    assert!(
        reason.contains("inbox message 1099511627776 cannot be decoded"),
        "{reason}"
    );
    let refused = client.raise_event("m", "go", &1u64).await;
    assert!(
        matches!(&refused, Err(ClientError::Store(StoreError::Backend(e))) if e.contains("`m`")),
        "{refused:?}"
    );

    let blocked = InstanceFilter {
        statuses: vec![RuntimeStatus::Blocked],
        ..Default::default()
    };
    let listed: Vec<String> = client
        .list(&blocked, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, ["m", "q"]);
    assert_eq!(
        client
            .list(&InstanceFilter::default(), None, 10)
            .await
            .unwrap()
            .len(),
        4
    );
    for id in ["m", "q"] {
        assert_eq!(
            client.purge(id).await.unwrap(),
            Purge::Deleted { descendants: 0 }
        );
        assert_eq!(client.status(id).await.unwrap(), None);
    }
    second.shutdown().await;
}

/// An activity call whose stored bytes cannot be decoded blocks its instance, named,
/// with the bytes kept and purged with it; other calls are still claimed (the store
/// used to stop claiming past it).
#[tokio::test]
async fn an_undecodable_call_blocks_its_instance() {
    use durable::store::{InstanceRecord, Store};
    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::open(dir.path()).unwrap();
    store
        .create(InstanceRecord::new("i".into(), "o", 1, vec![], None))
        .await
        .unwrap();
    drop(store);
    let garbage = [0xff, 0xfe, 0x00];
    {
        let db = raw(dir.path());
        let mut key = b"i\0".to_vec();
        key.extend_from_slice(&7u64.to_be_bytes());
        db.put_cf(db.cf_handle("activities").unwrap(), &key, garbage)
            .unwrap();
    }
    let store = RocksStore::open(dir.path()).expect("one bad call does not fail the open");
    let lease = Duration::from_secs(30);
    assert!(store.lock_activity(lease).await.unwrap().is_none());
    let shown = store.instance("i").await.unwrap().unwrap();
    assert_eq!(shown.status, RuntimeStatus::Blocked);
    let reason = shown.error.unwrap();
    assert!(
        reason.contains("activity call 7 cannot be decoded"),
        "{reason}"
    );
    assert_eq!(
        store.purge("i").await.unwrap(),
        Purge::Deleted { descendants: 0 }
    );
    drop(store);
    let db = raw(dir.path());
    let left = db.iterator_cf(
        db.cf_handle("activities").unwrap(),
        rocksdb::IteratorMode::Start,
    );
    assert_eq!(left.count(), 0, "purged with its instance");
}

/// A store written before payloads carried type tags (format 1) would decode every
/// payload as another type: it is refused when opened, untouched, with what to do.
#[test]
fn a_store_in_another_format_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let families = ["instances", "inbox", "activities", "timers"];
        let db = rocksdb::DB::open_cf(&options, dir.path(), families).unwrap();
        db.put_cf(db.cf_handle("instances").unwrap(), "old", [1, 2, 3])
            .unwrap();
    }
    match RocksStore::open(dir.path()) {
        Err(StoreError::Backend(message)) => assert!(
            message.contains("format 1") && message.contains("reads formats 2"),
            "{message}"
        ),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a format 1 store was opened"),
    }
    // as the version that wrote it would open it: its families only, none added
    let families = ["instances", "inbox", "activities", "timers"];
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.path(), families).unwrap();
    let kept = db
        .get_cf(db.cf_handle("instances").unwrap(), "old")
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some(&[1u8, 2, 3][..]),
        "its data is as it was"
    );
    drop(db);
    let fresh = tempfile::tempdir().unwrap();
    assert!(
        RocksStore::open(fresh.path()).is_ok(),
        "a new store is created"
    );
    assert!(RocksStore::open(fresh.path()).is_ok(), "and opened again");
}

/// An instance record as format 2 stored it: without the orchestration's version.
#[derive(serde::Serialize)]
struct RecordV2 {
    id: String,
    name: String,
    status: RuntimeStatus,
    input: Vec<u8>,
    output: Option<Vec<u8>>,
    error: Option<String>,
    created: u64,
    updated: u64,
    state: Option<Vec<u8>>,
    wake: Option<durable::Wake>,
    next_task: u64,
    event_waits: Vec<(String, durable::TaskId)>,
    events: Vec<(String, Vec<u8>)>,
    parent: Option<(String, durable::TaskId)>,
    custom_status: Option<Vec<u8>>,
}

/// A store of format 2 is upgraded in place when opened: its records get version 1.
#[tokio::test]
async fn a_format_2_store_is_upgraded_in_place() {
    use durable::Store;
    let dir = tempfile::tempdir().unwrap();
    drop(RocksStore::open(dir.path()).unwrap());
    {
        let db = raw(dir.path());
        let output = durable::codec::encode_payload(&42u64, "output").unwrap();
        let old = RecordV2 {
            id: "old".into(),
            name: "chain".into(),
            status: RuntimeStatus::Completed,
            input: Vec::new(),
            output: Some(output),
            error: None,
            created: 1,
            updated: 2,
            state: None,
            wake: None,
            next_task: 3,
            event_waits: Vec::new(),
            events: Vec::new(),
            parent: None,
            custom_status: None,
        };
        let bytes = durable::codec::encode(&old, "record").unwrap();
        db.put_cf(db.cf_handle("instances").unwrap(), "old", bytes)
            .unwrap();
        db.put_cf(db.cf_handle("meta").unwrap(), "format", [2u8])
            .unwrap();
    }
    let store = RocksStore::open(dir.path()).unwrap();
    let record = store.instance("old").await.unwrap().expect("kept");
    assert_eq!(
        (record.version, record.status, record.next_task),
        (1, RuntimeStatus::Completed, 3)
    );
    let output: u64 = durable::codec::decode_payload(&record.output.unwrap(), "o").unwrap();
    assert_eq!(output, 42);
    assert_eq!(created_between(&store, 0, 10).await, ["old"], "indexed");
    drop(store);
    let again = RocksStore::open(dir.path()).unwrap();
    assert_eq!(again.instance("old").await.unwrap().unwrap().version, 1);
}

/// The ids `list` finds created in `[from, to)`.
async fn created_between(store: &RocksStore, from: u64, to: u64) -> Vec<String> {
    use durable::store::{InstanceFilter, Page};
    use durable::Store;
    let window = InstanceFilter {
        created_from: Some(from),
        created_to: Some(to),
        ..Default::default()
    };
    let page = Page {
        after: None,
        limit: 10,
    };
    let listed = store.list(&window, &page).await.unwrap();
    listed.into_iter().map(|r| r.id).collect()
}

/// A store of format 3 is upgraded in place when opened: its instances get their entry
/// in the creation-time index, which lists a time window without reading every record.
#[tokio::test]
async fn a_format_3_store_gets_its_creation_index() {
    use durable::store::InstanceRecord;
    let dir = tempfile::tempdir().unwrap();
    drop(RocksStore::open(dir.path()).unwrap());
    {
        let db = raw(dir.path());
        for (id, created) in [("b", 5), ("a", 7), ("late", 20)] {
            let mut record = InstanceRecord::new(id.into(), "chain", 1, Vec::new(), None);
            record.created = created;
            let bytes = durable::codec::encode(&record, "record").unwrap();
            db.put_cf(db.cf_handle("instances").unwrap(), id, bytes)
                .unwrap();
        }
        db.put_cf(db.cf_handle("meta").unwrap(), "format", [3u8])
            .unwrap();
    }
    let store = RocksStore::open(dir.path()).unwrap();
    assert_eq!(created_between(&store, 0, 10).await, ["a", "b"], "id order");
    assert_eq!(created_between(&store, 6, 21).await, ["a", "late"]);
    assert!(created_between(&store, 21, 30).await.is_empty());
    drop(store);
    let db = raw(dir.path());
    let format = db.get_cf(db.cf_handle("meta").unwrap(), "format").unwrap();
    assert_eq!(format.as_deref(), Some(&[durable::rocks::FORMAT][..]));
}

/// Writes `record` whole into `instances`, as formats 3 to 5 stored it, and marks the
/// store with `format`.
fn store_whole(db: &rocksdb::DB, record: &durable::store::InstanceRecord, format: u8) {
    let bytes = durable::codec::encode(record, "record").unwrap();
    db.put_cf(db.cf_handle("instances").unwrap(), &record.id, bytes)
        .unwrap();
    db.put_cf(db.cf_handle("meta").unwrap(), "format", [format])
        .unwrap();
}

/// A store of format 4 had no `parts` family: opened, it gets one and goes on.
#[tokio::test]
async fn a_format_4_store_gets_its_parts_family() {
    use durable::store::InstanceRecord;
    use durable::Store;
    let dir = tempfile::tempdir().unwrap();
    drop(RocksStore::open(dir.path()).unwrap());
    {
        let mut db = raw(dir.path());
        let record = InstanceRecord::new("kept".into(), "chain", 1, Vec::new(), None);
        store_whole(&db, &record, 4);
        db.drop_cf("parts").unwrap();
    }
    let store = RocksStore::open(dir.path()).expect("upgraded");
    assert!(store.instance("kept").await.unwrap().is_some());
    let reader = store.part_reader().expect("parts are kept");
    assert_eq!((reader.0)("kept", 1).unwrap(), None);
}

/// A store of format 5 kept each record whole: opened, its records are split into
/// their heads and their input, output, buffered events and custom status, and read
/// back as they were.
#[tokio::test]
async fn a_format_5_store_keeps_its_records_apart_from_their_fields() {
    use durable::store::InstanceRecord;
    use durable::Store;
    let dir = tempfile::tempdir().unwrap();
    drop(RocksStore::open(dir.path()).unwrap());
    let mut record = InstanceRecord::new("whole".into(), "chain", 1, vec![7; 10_000], None);
    record.status = RuntimeStatus::Running;
    record.output = Some(vec![1; 100]);
    record.events = vec![("a".into(), vec![2; 5_000]), ("b".into(), vec![3])];
    record.custom_status = Some(vec![4; 300]);
    {
        let db = raw(dir.path());
        store_whole(&db, &record, 5);
    }
    let store = RocksStore::open(dir.path()).expect("upgraded");
    let read = store.instance("whole").await.unwrap().expect("kept");
    assert_eq!(read, record, "read back whole");
    drop(store);
    let db = raw(dir.path());
    let head = db
        .get_cf(db.cf_handle("instances").unwrap(), "whole")
        .unwrap()
        .unwrap();
    assert!(
        head.len() < 200,
        "the head holds no payload: {} bytes",
        head.len()
    );
    let format = db.get_cf(db.cf_handle("meta").unwrap(), "format").unwrap();
    assert_eq!(format.as_deref(), Some(&[durable::rocks::FORMAT][..]));
}

/// How many bytes RocksDB's write-ahead logs in `dir` hold: what has been written
/// since the store was created (nothing is flushed at these sizes).
fn logged_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "log"))
        .map(|entry| entry.metadata().unwrap().len())
        .sum()
}

#[orchestrator]
async fn carries(ctx: OrchestrationContext, input: (u64, Vec<u8>)) -> Result<u64, TestError> {
    let (n, payload) = input;
    let mut sum = payload.len() as u64;
    for i in 0..n {
        sum += ctx.call(double, i).await?;
    }
    Ok(sum)
}

/// A step writes its checkpoint and what it changed: an instance with an input of
/// 1 MB that takes 20 steps writes the input once, not once per step.
#[tokio::test]
async fn a_step_does_not_rewrite_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::builder(RocksStore::open(dir.path()).unwrap())
        .orchestration(carries)
        .activity(double)
        .poll_interval(Duration::from_millis(5))
        .start();
    let client = runtime.client();
    let before = logged_bytes(dir.path());
    let input = (20u64, vec![9u8; 1 << 20]);
    let id = client.start(carries, None, &input).await.unwrap();
    let sum = client.wait(carries, &id, WAIT).await.unwrap().unwrap();
    assert_eq!(sum, 380 + (1 << 20));
    let written = logged_bytes(dir.path()) - before;
    assert!(
        written < 2 << 20,
        "{written} bytes written for 21 steps of an instance with a 1 MB input"
    );
    runtime.shutdown().await;
}
