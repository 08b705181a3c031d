//! The Store contract, checked against every store: creation is idempotent on id,
//! claims are exclusive until they expire, a commit under a lost lease is refused, and
//! results reach the inbox of their instance.

use std::time::Duration;

use durable::rocks::RocksStore;
use durable::store::{
    now_millis, ActivityTask, Changed, InstanceFilter, InstanceRecord, Message, Page, Purge,
    RuntimeStatus, StepCommit, Store, StoreError, TimerTask, ALL_PARTS, DIRECT,
};
use durable::{TaskId, Wake};

mod support;
use support::postgres;

fn record(id: &str) -> InstanceRecord {
    InstanceRecord::new(id.into(), "orchestration", 1, vec![1, 2, 3], None)
}

const LEASE: Duration = Duration::from_secs(30);

/// A first attempt of call `task` of `instance`, to run at once.
fn call(instance: &str, task: u64) -> ActivityTask {
    ActivityTask {
        instance: instance.into(),
        task: TaskId(task),
        name: "work".into(),
        input: vec![],
        attempt: 1,
        retry: None,
        timeout: None,
        not_before: 0,
    }
}

/// A step that only updates the record and consumes messages.
fn commit(record: InstanceRecord, consumed: Vec<u64>) -> StepCommit {
    StepCommit {
        record,
        consumed,
        activities: vec![],
        timers: vec![],
        messages: vec![],
        children: vec![],
        cancelled: vec![],
        parts: vec![],
        dropped_parts: vec![],
        changed: Changed::default(),
        activity: None,
    }
}

async fn conformance<S: Store>(store: S) {
    // create: once per id, with a start message
    let a = record("a");
    store.create(a.clone()).await.unwrap();
    assert_eq!(
        store.create(record("a")).await,
        Err(StoreError::AlreadyExists("a".into()))
    );
    assert_eq!(store.instance("a").await.unwrap(), Some(a));
    assert_eq!(store.instance("missing").await.unwrap(), None);
    assert_eq!(
        store.send("missing", Message::Start).await,
        Err(StoreError::NotFound("missing".into()))
    );

    // claim: exclusive while the lease lives
    let locked = store
        .lock_instance(LEASE)
        .await
        .unwrap()
        .expect("a is runnable");
    assert_eq!(locked.record.id, "a");
    assert_eq!(locked.messages.len(), 1);
    assert_eq!(locked.messages[0].1, Message::Start);
    assert!(store.lock_instance(LEASE).await.unwrap().is_none());

    // commit: record, consumed messages and scheduled activities at once
    let mut next = locked.record.clone();
    next.status = RuntimeStatus::Running;
    next.state = Some(vec![9]);
    next.wake = Some(Wake::Task(TaskId(0)));
    next.next_task = 1;
    let task = ActivityTask {
        input: vec![7],
        ..call("a", 0)
    };
    store
        .commit_step(
            &locked.lease,
            StepCommit {
                record: next.clone(),
                consumed: locked.messages.iter().map(|(s, _)| *s).collect(),
                activities: vec![task.clone()],
                timers: vec![
                    TimerTask {
                        due: 1_000,
                        instance: "a".into(),
                        task: TaskId(1),
                    },
                    TimerTask {
                        due: 3_000,
                        instance: "a".into(),
                        task: TaskId(2),
                    },
                ],
                messages: vec![],
                children: vec![record("child")],
                cancelled: vec![],
                parts: vec![],
                dropped_parts: vec![],
                changed: Changed::default(),
                activity: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(store.instance("a").await.unwrap(), Some(next.clone()));
    // the child started in the same commit, with its start message; a's inbox is empty
    let child = store
        .lock_instance(LEASE)
        .await
        .unwrap()
        .expect("the child starts");
    assert_eq!(child.record.id, "child");
    assert_eq!(child.messages.len(), 1);
    assert!(store.lock_instance(LEASE).await.unwrap().is_none());
    store
        .commit_step(
            &child.lease,
            commit(
                child.record.clone(),
                child.messages.iter().map(|(s, _)| *s).collect(),
            ),
        )
        .await
        .unwrap();

    // a second commit under the released lease is refused
    let again = store
        .commit_step(&locked.lease, commit(next.clone(), vec![]))
        .await;
    assert_eq!(again, Err(StoreError::LeaseLost));

    // timers: fire once when due, in one write with their message, and say what is next
    assert_eq!(store.fire_timers(999).await.unwrap(), (0, Some(1_000)));
    assert_eq!(store.fire_timers(1_000).await.unwrap(), (1, Some(3_000)));
    let timer_fired = store
        .lock_instance(LEASE)
        .await
        .unwrap()
        .expect("timer message");
    assert_eq!(
        timer_fired.messages[0].1,
        Message::TaskCompleted {
            task: TaskId(1),
            result: Ok(vec![])
        }
    );
    // the step that used timer 1 cancels timer 2, which lost the race
    let mut cancelling = commit(
        next.clone(),
        timer_fired.messages.iter().map(|(s, _)| *s).collect(),
    );
    cancelling.cancelled = vec![TaskId(2)];
    store
        .commit_step(&timer_fired.lease, cancelling)
        .await
        .unwrap();
    assert_eq!(store.fire_timers(5_000).await.unwrap(), (0, None));

    // activities: claimed once; a retry waits for its time with the attempt counted
    let claimed = store.lock_activity(LEASE).await.unwrap().expect("a task");
    assert_eq!(claimed.task, task);
    assert!(store.lock_activity(LEASE).await.unwrap().is_none());
    let later = now_millis() + 40;
    store.retry_activity(&claimed, later).await.unwrap();
    assert!(
        store.lock_activity(LEASE).await.unwrap().is_none(),
        "not yet due"
    );
    tokio::time::sleep(Duration::from_millis(60)).await;
    let claimed = store
        .lock_activity(LEASE)
        .await
        .unwrap()
        .expect("due again");
    assert_eq!(claimed.task.attempt, 2);
    assert_eq!(claimed.task.not_before, later);

    // completing queues the result for the instance
    store
        .complete_activity(&claimed, Ok(vec![42]))
        .await
        .unwrap();
    assert_eq!(
        store.complete_activity(&claimed, Ok(vec![42])).await,
        Err(StoreError::LeaseLost)
    );
    let locked = store
        .lock_instance(LEASE)
        .await
        .unwrap()
        .expect("result arrived");
    assert_eq!(
        locked
            .messages
            .iter()
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>(),
        vec![Message::TaskCompleted {
            task: TaskId(0),
            result: Ok(vec![42])
        }]
    );

    // an expired claim can be taken over, and the old holder's commit is refused
    store.abandon_instance("a", &locked.lease).await.unwrap();
    let short = store
        .lock_instance(Duration::from_millis(1))
        .await
        .unwrap()
        .expect("abandoned work is free");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let taken = store
        .lock_instance(LEASE)
        .await
        .unwrap()
        .expect("expired lease");
    let stale = store
        .commit_step(&short.lease, commit(next.clone(), vec![]))
        .await;
    assert_eq!(stale, Err(StoreError::LeaseLost));
    store
        .commit_step(
            &taken.lease,
            commit(next, taken.messages.iter().map(|(s, _)| *s).collect()),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn memory_store() {
    conformance(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store() {
    let dir = tempfile::tempdir().unwrap();
    conformance(RocksStore::open(dir.path()).unwrap()).await;
}

async fn messages_between_instances<S: Store>(store: S) {
    store.create(record("x")).await.unwrap();
    store.create(record("y")).await.unwrap();
    let event = Message::Event {
        name: "go".into(),
        payload: vec![1],
    };
    store.send("y", event.clone()).await.unwrap();
    let first = store.lock_instance(LEASE).await.unwrap().unwrap();
    let second = store.lock_instance(LEASE).await.unwrap().unwrap();
    let (x, y) = if first.record.id == "x" {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(
        y.messages
            .iter()
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>(),
        vec![Message::Start, event]
    );
    let note = Message::TaskCompleted {
        task: TaskId(3),
        result: Err("from x".into()),
    };
    store
        .commit_step(
            &x.lease,
            StepCommit {
                record: x.record.clone(),
                consumed: x.messages.iter().map(|(s, _)| *s).collect(),
                activities: vec![],
                timers: vec![],
                messages: vec![("y".into(), note.clone())],
                children: vec![],
                cancelled: vec![],
                parts: vec![],
                dropped_parts: vec![],
                changed: Changed::default(),
                activity: None,
            },
        )
        .await
        .unwrap();
    store
        .commit_step(
            &y.lease,
            commit(
                y.record.clone(),
                y.messages.iter().map(|(s, _)| *s).collect(),
            ),
        )
        .await
        .unwrap();
    let y = store.lock_instance(LEASE).await.unwrap().unwrap();
    assert_eq!(y.record.id, "y");
    assert_eq!(y.messages.len(), 1);
    assert_eq!(y.messages[0].1, note);
}

#[tokio::test]
async fn memory_store_messages() {
    messages_between_instances(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_messages() {
    let dir = tempfile::tempdir().unwrap();
    messages_between_instances(RocksStore::open(dir.path()).unwrap()).await;
}

async fn listing_and_purging<S: Store>(store: S) {
    for (i, id) in ["b", "a", "d", "c", "e"].into_iter().enumerate() {
        let mut r = record(id);
        r.name = if i % 2 == 0 { "even" } else { "odd" }.into();
        r.created = 1_000 + i as u64;
        if id == "c" {
            r.status = RuntimeStatus::Completed;
        }
        store.create(r).await.unwrap();
    }
    let all = InstanceFilter::default();
    let page = |after: Option<&str>, limit| Page {
        after: after.map(str::to_owned),
        limit,
    };
    let ids = |rs: Vec<InstanceRecord>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list(&all, &page(None, 2)).await.unwrap()),
        ["a", "b"]
    );
    assert_eq!(
        ids(store.list(&all, &page(Some("b"), 2)).await.unwrap()),
        ["c", "d"]
    );
    assert_eq!(
        ids(store.list(&all, &page(Some("d"), 2)).await.unwrap()),
        ["e"]
    );
    let even = InstanceFilter {
        name: Some("even".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(store.list(&even, &page(None, 10)).await.unwrap()),
        ["b", "d", "e"]
    );
    let window = InstanceFilter {
        created_from: Some(1_001),
        created_to: Some(1_003),
        statuses: vec![RuntimeStatus::Pending],
        ..Default::default()
    };
    assert_eq!(
        ids(store.list(&window, &page(None, 10)).await.unwrap()),
        ["a", "d"]
    );
    let done = InstanceFilter {
        statuses: vec![RuntimeStatus::Completed],
        ..Default::default()
    };
    assert_eq!(
        ids(store.list(&done, &page(None, 10)).await.unwrap()),
        ["c"]
    );

    assert_eq!(
        store.purge("a").await.unwrap(),
        Purge::NotEnded(RuntimeStatus::Pending)
    );
    assert_eq!(
        store.purge("c").await.unwrap(),
        Purge::Deleted { descendants: 0 }
    );
    assert_eq!(store.purge("c").await.unwrap(), Purge::NotFound);
    assert_eq!(store.instance("c").await.unwrap(), None);
    assert_eq!(
        ids(store.list(&all, &page(None, 10)).await.unwrap()),
        ["a", "b", "d", "e"]
    );
}

#[tokio::test]
async fn memory_store_listing() {
    listing_and_purging(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_listing() {
    let dir = tempfile::tempdir().unwrap();
    listing_and_purging(RocksStore::open(dir.path()).unwrap()).await;
}

/// An instance `id` waiting for the activity call it scheduled, and that call claimed.
async fn waiting_on_a_call<S: Store>(store: &S, id: &str) -> durable::store::LockedActivity {
    store.create(record(id)).await.unwrap();
    let locked = store.lock_instance(LEASE).await.unwrap().unwrap();
    let mut next = locked.record.clone();
    next.status = RuntimeStatus::Running;
    next.wake = Some(Wake::Task(TaskId(0)));
    let task = call(id, 0);
    let mut step = commit(next, locked.messages.iter().map(|(s, _)| *s).collect());
    step.activities = vec![task];
    store.commit_step(&locked.lease, step).await.unwrap();
    store.lock_activity(LEASE).await.unwrap().unwrap()
}

/// A result handed straight to the step that consumes it is stored only by that
/// step's commit, which also deletes the call; if the commit is refused, the call is
/// free to run again.
async fn results_consumed_directly<S: Store>(store: S) {
    let call = waiting_on_a_call(&store, "d").await;
    let result = Ok(vec![42]);
    let claimed = store
        .claim_with_result(&call, &result, LEASE)
        .await
        .unwrap()
        .expect("the result makes d runnable");
    assert_eq!(claimed.record.id, "d");
    let direct = Message::TaskCompleted {
        task: TaskId(0),
        result: result.clone(),
    };
    assert_eq!(claimed.messages, vec![(DIRECT, direct)]);
    assert!(store.lock_instance(LEASE).await.unwrap().is_none());
    let mut step = commit(claimed.record.clone(), vec![]);
    step.record.status = RuntimeStatus::Completed;
    step.activity = claimed.activity.clone();
    store.commit_step(&claimed.lease, step).await.unwrap();
    assert!(
        store.lock_activity(LEASE).await.unwrap().is_none(),
        "call done"
    );
    assert!(
        store.lock_instance(LEASE).await.unwrap().is_none(),
        "nothing queued"
    );
    let done = store.instance("d").await.unwrap().unwrap();
    assert_eq!(done.status, RuntimeStatus::Completed);

    // an instance claimed elsewhere is not taken: the result goes the usual way
    let call = waiting_on_a_call(&store, "e").await;
    store.send("e", Message::Suspend).await.unwrap();
    let held = store.lock_instance(LEASE).await.unwrap().unwrap();
    assert!(store
        .claim_with_result(&call, &result, LEASE)
        .await
        .unwrap()
        .is_none());
    store
        .complete_activity(&call, result.clone())
        .await
        .unwrap();
    let mut suspended = held.record.clone();
    suspended.status = RuntimeStatus::Suspended;
    let consumed = held.messages.iter().map(|(s, _)| *s).collect();
    store
        .commit_step(&held.lease, commit(suspended, consumed))
        .await
        .unwrap();

    // a commit refused because the claim expired and was taken over frees the call
    let call = waiting_on_a_call(&store, "f").await;
    let claimed = store
        .claim_with_result(&call, &result, Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    store.send("f", Message::Resume).await.unwrap();
    let thief = store.lock_instance(LEASE).await.unwrap().unwrap();
    assert_eq!(thief.record.id, "f");
    let mut step = commit(claimed.record.clone(), vec![]);
    step.activity = claimed.activity.clone();
    assert_eq!(
        store.commit_step(&claimed.lease, step).await,
        Err(StoreError::LeaseLost)
    );
    let again = store.lock_activity(LEASE).await.unwrap().unwrap();
    assert_eq!(
        (again.task.instance.as_str(), again.task.task),
        ("f", TaskId(0))
    );
}

#[tokio::test]
async fn memory_store_direct_results() {
    results_consumed_directly(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_direct_results() {
    let dir = tempfile::tempdir().unwrap();
    results_consumed_directly(RocksStore::open(dir.path()).unwrap()).await;
}

/// A step's cancelled tasks take their queued activity calls with them.
async fn cancelled_calls_leave_the_queue<S: Store>(store: S) {
    store.create(record("c")).await.unwrap();
    let locked = store.lock_instance(LEASE).await.unwrap().unwrap();
    let mut step = commit(
        locked.record.clone(),
        locked.messages.iter().map(|(s, _)| *s).collect(),
    );
    step.activities = vec![call("c", 0), call("c", 1)];
    store.commit_step(&locked.lease, step).await.unwrap();
    store.send("c", Message::Resume).await.unwrap();
    let locked = store.lock_instance(LEASE).await.unwrap().unwrap();
    let mut step = commit(
        locked.record.clone(),
        locked.messages.iter().map(|(s, _)| *s).collect(),
    );
    step.cancelled = vec![TaskId(0)];
    store.commit_step(&locked.lease, step).await.unwrap();
    let left = store.lock_activity(LEASE).await.unwrap().unwrap();
    assert_eq!(left.task.task, TaskId(1));
    assert!(store.lock_activity(LEASE).await.unwrap().is_none());
}

#[tokio::test]
async fn memory_store_cancellation() {
    cancelled_calls_leave_the_queue(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_cancellation() {
    let dir = tempfile::tempdir().unwrap();
    cancelled_calls_leave_the_queue(RocksStore::open(dir.path()).unwrap()).await;
    let reopened = RocksStore::open(dir.path()).unwrap();
    let left = reopened.lock_activity(LEASE).await.unwrap().unwrap();
    assert_eq!(
        left.task.task,
        TaskId(1),
        "the cancelled call is gone from disk too"
    );
    assert!(reopened.lock_activity(LEASE).await.unwrap().is_none());
}

/// Purge deletes an ended instance with its whole tree (calls, timers and messages of
/// every descendant) atomically, and nothing while any of the tree takes a step.
async fn purging_takes_the_tree<S: Store>(store: S) {
    let mut parent = record("p");
    parent.status = RuntimeStatus::Completed;
    store.create(parent).await.unwrap();
    store
        .create(InstanceRecord::new(
            "p:1".into(),
            "child",
            1,
            vec![],
            Some(("p".into(), TaskId(1))),
        ))
        .await
        .unwrap();
    // "p" is claimed and stepped (ended, it only drops its start); the child schedules
    // a call, a timer and a grandchild
    let mut stepped = Vec::new();
    for _ in 0..2 {
        let locked = store.lock_instance(LEASE).await.unwrap().unwrap();
        let consumed = locked.messages.iter().map(|(s, _)| *s).collect();
        let mut step = commit(locked.record.clone(), consumed);
        if locked.record.id == "p:1" {
            step.record.status = RuntimeStatus::Running;
            step.activities = vec![call("p:1", 0)];
            step.timers = vec![TimerTask {
                due: 1_000,
                instance: "p:1".into(),
                task: TaskId(1),
            }];
            step.children = vec![InstanceRecord::new(
                "p:1:2".into(),
                "grandchild",
                1,
                vec![],
                Some(("p:1".into(), TaskId(2))),
            )];
        }
        stepped.push(locked.record.id.clone());
        store.commit_step(&locked.lease, step).await.unwrap();
    }
    assert_eq!(stepped, ["p", "p:1"]);
    // the grandchild is claimed: nothing is deleted while it steps
    let grandchild = store.lock_instance(LEASE).await.unwrap().unwrap();
    assert_eq!(grandchild.record.id, "p:1:2");
    // an instance whose id starts like the parent's, but is not under it
    let mut unrelated = record("pa");
    unrelated.status = RuntimeStatus::Completed;
    store.create(unrelated).await.unwrap();
    assert_eq!(store.purge("p").await.unwrap(), Purge::Busy);
    assert!(store.instance("p:1").await.unwrap().is_some());
    store
        .abandon_instance("p:1:2", &grandchild.lease)
        .await
        .unwrap();

    assert_eq!(
        store.purge("p").await.unwrap(),
        Purge::Deleted { descendants: 2 }
    );
    for id in ["p", "p:1", "p:1:2"] {
        assert_eq!(store.instance(id).await.unwrap(), None, "{id}");
    }
    assert!(store.instance("pa").await.unwrap().is_some(), "not a child");
    assert!(store.lock_activity(LEASE).await.unwrap().is_none());
    assert_eq!(store.fire_timers(u64::MAX).await.unwrap(), (0, None));
    let left = store.lock_instance(LEASE).await.unwrap().unwrap();
    assert_eq!(
        left.record.id, "pa",
        "only the unrelated instance's start is left"
    );
}

#[tokio::test]
async fn memory_store_purging() {
    purging_takes_the_tree(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_purging() {
    let dir = tempfile::tempdir().unwrap();
    purging_takes_the_tree(RocksStore::open(dir.path()).unwrap()).await;
    let reopened = RocksStore::open(dir.path()).unwrap();
    let left = reopened.lock_instance(LEASE).await.unwrap().unwrap();
    assert_eq!(left.record.id, "pa");
    assert!(reopened.lock_activity(LEASE).await.unwrap().is_none());
    assert_eq!(reopened.fire_timers(u64::MAX).await.unwrap(), (0, None));
}

/// Renewing a claim keeps it past its first expiry; a claim that was lost cannot be
/// renewed.
async fn claims_on_calls_are_renewed<S: Store>(store: S) {
    let short = Duration::from_millis(50);
    store.create(record("r")).await.unwrap();
    let locked = store.lock_instance(LEASE).await.unwrap().unwrap();
    let mut next = locked.record.clone();
    next.status = RuntimeStatus::Running;
    next.wake = Some(Wake::Task(TaskId(0)));
    let mut step = commit(next, locked.messages.iter().map(|(s, _)| *s).collect());
    step.activities = vec![call("r", 0)];
    store.commit_step(&locked.lease, step).await.unwrap();
    let mut call = store.lock_activity(short).await.unwrap().unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        call.lease = store.renew_activity(&call, short).await.unwrap();
        assert!(
            store.lock_activity(short).await.unwrap().is_none(),
            "still held"
        );
    }
    tokio::time::sleep(Duration::from_millis(80)).await;
    let taken = store.lock_activity(LEASE).await.unwrap().expect("expired");
    assert_eq!(
        store.renew_activity(&call, short).await,
        Err(StoreError::LeaseLost)
    );
    store.complete_activity(&taken, Ok(vec![])).await.unwrap();
}

#[tokio::test]
async fn memory_store_renewals() {
    claims_on_calls_are_renewed(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_renewals() {
    let dir = tempfile::tempdir().unwrap();
    claims_on_calls_are_renewed(RocksStore::open(dir.path()).unwrap()).await;
}

/// `tasks` lists an instance's queued calls (claimed or not) and unfired timers, and
/// nothing of another instance's.
async fn tasks_of_an_instance<S: Store>(store: S) {
    for id in ["t", "u"] {
        store.create(record(id)).await.unwrap();
        let locked = claim(&store, id).await;
        let mut next = locked.record.clone();
        next.status = RuntimeStatus::Running;
        next.wake = Some(Wake::All(vec![
            Wake::Task(TaskId(0)),
            Wake::Task(TaskId(2)),
        ]));
        let mut step = commit(next, locked.messages.iter().map(|(s, _)| *s).collect());
        let mut second = call(id, 1);
        second.attempt = 2;
        second.input = vec![7];
        step.activities = vec![call(id, 0), second];
        step.timers = vec![TimerTask {
            due: now_millis() + 3_600_000,
            instance: id.into(),
            task: TaskId(2),
        }];
        store.commit_step(&locked.lease, step).await.unwrap();
    }
    let claimed = store.lock_activity(LEASE).await.unwrap().unwrap();
    let tasks = store.tasks("t").await.unwrap();
    let mut calls: Vec<_> = tasks.activities.iter().map(|a| a.task.clone()).collect();
    calls.sort_by_key(|c| c.task);
    let mut second = call("t", 1);
    second.attempt = 2;
    second.input = vec![7];
    assert_eq!(calls, vec![call("t", 0), second]);
    let held: Vec<_> = tasks.activities.iter().filter(|a| a.claimed).collect();
    match claimed.task.instance.as_str() {
        "t" => assert_eq!(held.len(), 1, "{tasks:?}"),
        _ => assert!(held.is_empty(), "{tasks:?}"),
    }
    assert_eq!(tasks.timers.len(), 1);
    assert_eq!(
        (tasks.timers[0].instance.as_str(), tasks.timers[0].task),
        ("t", TaskId(2))
    );
    assert!(store.tasks("missing").await.unwrap().activities.is_empty());
}

#[tokio::test]
async fn memory_store_tasks() {
    tasks_of_an_instance(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_tasks() {
    let dir = tempfile::tempdir().unwrap();
    tasks_of_an_instance(RocksStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn postgres_store_tasks() {
    tasks_of_an_instance(postgres::store().await).await;
}

/// Past the event bound a raise is refused before anything is stored, except an event
/// the instance waits for and that nothing it holds answers yet: one per wait.
async fn events_past_the_bound<S: Store>(store: S) {
    let limit = durable::limits::MAX_BUFFERED_EVENTS;
    store.create(record("e")).await.unwrap();
    let locked = claim(&store, "e").await;
    let mut next = locked.record.clone();
    next.status = RuntimeStatus::Running;
    next.wake = Some(Wake::Task(TaskId(0)));
    next.event_waits = vec![("go".into(), TaskId(0))];
    let step = commit(next, locked.messages.iter().map(|(s, _)| *s).collect());
    store.commit_step(&locked.lease, step).await.unwrap();
    let event = |name: &str| Message::Event {
        name: name.into(),
        payload: vec![],
    };
    for _ in 0..limit {
        store.send("e", event("n")).await.unwrap();
    }
    let full = Err(StoreError::TooManyEvents {
        id: "e".into(),
        limit,
    });
    assert_eq!(store.send("e", event("n")).await, full);
    assert_eq!(store.send("e", event("go")).await, Ok(()), "awaited");
    assert_eq!(store.send("e", event("go")).await, full, "answered already");
    assert_eq!(
        store.send("missing", event("go")).await,
        Err(StoreError::NotFound("missing".into()))
    );
    let locked = claim(&store, "e").await;
    assert_eq!(locked.messages.len(), limit + 1, "none dropped");
}

#[tokio::test]
async fn memory_store_events() {
    events_past_the_bound(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_events() {
    let dir = tempfile::tempdir().unwrap();
    events_past_the_bound(RocksStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn postgres_store_events() {
    events_past_the_bound(postgres::store().await).await;
}

/// Claims go to the instance that has waited longest, not the lowest id, so that
/// instances that keep receiving messages cannot hold back the others. (A store may
/// order by a clock of a millisecond's resolution: the arrivals here are further apart.)
async fn claims_are_first_come_first_served<S: Store>(store: S) {
    let apart = Duration::from_millis(5);
    for id in ["z", "a", "m"] {
        store.create(record(id)).await.unwrap();
        tokio::time::sleep(apart).await;
    }
    let first = store.lock_instance(LEASE).await.unwrap().unwrap();
    assert_eq!(first.record.id, "z");
    let mut next = first.record.clone();
    next.status = RuntimeStatus::Running;
    next.wake = Some(Wake::Task(TaskId(0)));
    let step = commit(next, first.messages.iter().map(|(s, _)| *s).collect());
    store.commit_step(&first.lease, step).await.unwrap();
    tokio::time::sleep(apart).await;
    let result = Message::TaskCompleted {
        task: TaskId(0),
        result: Ok(vec![]),
    };
    store.send("z", result).await.unwrap();
    let mut order = Vec::new();
    for _ in 0..3 {
        order.push(store.lock_instance(LEASE).await.unwrap().unwrap().record.id);
    }
    assert_eq!(order, ["a", "m", "z"]);
}

#[tokio::test]
async fn memory_store_fairness() {
    claims_are_first_come_first_served(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_fairness() {
    let dir = tempfile::tempdir().unwrap();
    claims_are_first_come_first_served(RocksStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn postgres_store_fairness() {
    claims_are_first_come_first_served(postgres::store().await).await;
}

/// A creation-time window lists the instances created in it, in id order and paged,
/// through the creation index rather than every instance; purged ones leave it.
async fn listing_a_creation_window<S: Store>(store: S) {
    for (id, created) in [("c", 30), ("b", 10), ("a", 20), ("d", 40), ("e", 5)] {
        let mut r = record(id);
        r.created = created;
        store.create(r).await.unwrap();
    }
    let window = |from, to| InstanceFilter {
        created_from: from,
        created_to: to,
        ..Default::default()
    };
    let ids = |rs: Vec<InstanceRecord>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let page = |after: Option<&str>, limit| Page {
        after: after.map(str::to_owned),
        limit,
    };
    let listed = store
        .list(&window(Some(10), Some(40)), &page(None, 10))
        .await;
    assert_eq!(ids(listed.unwrap()), ["a", "b", "c"]);
    let listed = store
        .list(&window(Some(10), Some(40)), &page(None, 2))
        .await;
    assert_eq!(ids(listed.unwrap()), ["a", "b"]);
    let listed = store
        .list(&window(Some(10), Some(40)), &page(Some("b"), 2))
        .await;
    assert_eq!(ids(listed.unwrap()), ["c"]);
    let listed = store.list(&window(None, Some(20)), &page(None, 10)).await;
    assert_eq!(ids(listed.unwrap()), ["b", "e"]);
    let listed = store.list(&window(Some(35), None), &page(None, 10)).await;
    assert_eq!(ids(listed.unwrap()), ["d"]);
    let running = InstanceFilter {
        statuses: vec![RuntimeStatus::Pending],
        ..window(Some(20), Some(31))
    };
    let listed = store.list(&running, &page(None, 10)).await;
    assert_eq!(ids(listed.unwrap()), ["a", "c"], "with a status");
}

#[tokio::test]
async fn memory_store_creation_window() {
    listing_a_creation_window(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_creation_window() {
    let dir = tempfile::tempdir().unwrap();
    listing_a_creation_window(RocksStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn postgres_store_creation_window() {
    listing_a_creation_window(postgres::store().await).await;
}

/// A purge and a create of the same id at once: whichever comes first, a create that
/// succeeded leaves its new instance in the store (the purge's "has it ended?" check
/// and its delete are one atomic act, so it never deletes the new live instance).
async fn purge_racing_a_create<S: Store>(store: S) {
    for round in 0..40 {
        let id = format!("race{round}");
        store.create(record(&id)).await.unwrap();
        let locked = claim(&store, &id).await;
        let mut done = locked.record.clone();
        done.status = RuntimeStatus::Completed;
        let step = commit(done, locked.messages.iter().map(|(s, _)| *s).collect());
        store.commit_step(&locked.lease, step).await.unwrap();
        let (purged, created) = tokio::join!(store.purge(&id), store.create(record(&id)));
        let now = store.instance(&id).await.unwrap();
        match created {
            Ok(()) => {
                assert_eq!(purged, Ok(Purge::Deleted { descendants: 0 }), "{id}");
                let now = now.unwrap_or_else(|| panic!("{id}: the new instance was deleted"));
                assert_eq!(now.status, RuntimeStatus::Pending, "{id}");
                // end it, so that it does not stand before the next round's claims
                let locked = claim(&store, &id).await;
                let mut done = locked.record.clone();
                done.status = RuntimeStatus::Completed;
                let step = commit(done, locked.messages.iter().map(|(s, _)| *s).collect());
                store.commit_step(&locked.lease, step).await.unwrap();
            }
            Err(e) => {
                assert_eq!(e, StoreError::AlreadyExists(id.clone()));
                assert_eq!(purged, Ok(Purge::Deleted { descendants: 0 }), "{id}");
                assert!(now.is_none(), "{id}: the old instance was purged");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_purge_race() {
    purge_racing_a_create(durable::MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rocks_store_purge_race() {
    let dir = tempfile::tempdir().unwrap();
    purge_racing_a_create(RocksStore::open(dir.path()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_purge_race() {
    purge_racing_a_create(postgres::store().await).await;
}

/// A store that gives a part reader keeps the parts a step writes beside the
/// checkpoint, deletes those it deletes, drops the ranges of keys a step names (all of
/// them, or a loop's rest) and only its instance's, and purges them with the instance;
/// one that gives none refuses a step that writes parts rather than drop them.
async fn parts_beside_checkpoints<S: Store>(store: S) {
    store.create(record("k")).await.unwrap();
    let locked = claim(&store, "k").await;
    let mut next = locked.record.clone();
    next.status = RuntimeStatus::Running;
    let mut step = commit(next, locked.messages.iter().map(|(s, _)| *s).collect());
    step.parts = vec![(7, Some(vec![1, 2])), (8, Some(vec![3]))];
    let Some(reader) = store.part_reader() else {
        assert!(
            matches!(
                store.commit_step(&locked.lease, step).await,
                Err(StoreError::Backend(_))
            ),
            "refused"
        );
        return;
    };
    store.commit_step(&locked.lease, step).await.unwrap();
    let read = |key| (reader.0)("k", key).unwrap();
    assert_eq!(
        (read(7), read(8), read(9)),
        (Some(vec![1, 2]), Some(vec![3]), None)
    );
    assert_eq!((reader.0)("other", 7).unwrap(), None, "per instance");
    store.send("k", Message::Resume).await.unwrap();
    let locked = claim(&store, "k").await;
    let mut done = locked.record.clone();
    done.status = RuntimeStatus::Completed;
    let mut step = commit(done, locked.messages.iter().map(|(s, _)| *s).collect());
    step.parts = vec![(7, None)];
    store.commit_step(&locked.lease, step).await.unwrap();
    assert_eq!((read(7), read(8)), (None, Some(vec![3])));
    // a child's id starts with its parent's: dropping the parent's parts keeps its
    store.create(record("k:1")).await.unwrap();
    let locked = claim(&store, "k:1").await;
    let mut step = commit(
        locked.record.clone(),
        locked.messages.iter().map(|(s, _)| *s).collect(),
    );
    step.parts = vec![(8, Some(vec![4]))];
    store.commit_step(&locked.lease, step).await.unwrap();
    store.create(record("j")).await.unwrap();
    let locked = claim(&store, "j").await;
    let mut step = commit(
        locked.record.clone(),
        locked.messages.iter().map(|(s, _)| *s).collect(),
    );
    step.parts = (4..=7).map(|key| (key, Some(vec![key as u8]))).collect();
    store.commit_step(&locked.lease, step).await.unwrap();
    let read_j = |key| (reader.0)("j", key).unwrap();
    let dropping = |keys: std::ops::Range<u64>, parts| {
        let store = &store;
        async move {
            store.send("j", Message::Resume).await.unwrap();
            let locked = claim(store, "j").await;
            let mut step = commit(
                locked.record.clone(),
                locked.messages.iter().map(|(s, _)| *s).collect(),
            );
            step.dropped_parts = vec![keys];
            step.parts = parts;
            store.commit_step(&locked.lease, step).await.unwrap();
        }
    };
    dropping(5..7, vec![(6, Some(vec![9]))]).await;
    assert_eq!(
        (read_j(4), read_j(5), read_j(6), read_j(7)),
        (Some(vec![4]), None, Some(vec![9]), Some(vec![7])),
        "a range dropped, its end kept, then what the step writes"
    );
    dropping(ALL_PARTS, vec![(6, Some(vec![10]))]).await;
    assert_eq!(
        (read_j(4), read_j(6), read_j(7)),
        (None, Some(vec![10]), None),
        "all dropped, then what the step writes"
    );
    assert_eq!((reader.0)("k:1", 8).unwrap(), Some(vec![4]));
    assert_eq!(read(8), Some(vec![3]), "other instances' parts stay");
    assert_eq!(
        store.purge("k").await,
        Ok(Purge::Deleted { descendants: 1 })
    );
    assert_eq!(read(8), None, "purged with the instance");
    assert_eq!((reader.0)("k:1", 8).unwrap(), None, "and with its tree");
}

#[tokio::test]
async fn memory_store_parts() {
    parts_beside_checkpoints(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_parts() {
    let dir = tempfile::tempdir().unwrap();
    parts_beside_checkpoints(RocksStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn postgres_store_parts() {
    parts_beside_checkpoints(postgres::store().await).await;
}

/// A step writes what it changed ([`Changed`]) and leaves the rest of the record as
/// stored, whether or not the store handed its claim all of the record.
async fn fields_follow_what_changed<S: Store>(store: S) {
    store.create(record("f")).await.unwrap();
    let locked = claim(&store, "f").await;
    assert_eq!(
        locked.record.input,
        [1, 2, 3],
        "a step that starts reads the input"
    );
    let consumed =
        |l: &durable::store::LockedInstance| l.messages.iter().map(|(s, _)| *s).collect();
    let mut next = locked.record.clone();
    next.status = RuntimeStatus::Running;
    next.state = Some(vec![9]);
    next.events = vec![("e".into(), vec![5])];
    next.custom_status = Some(vec![6]);
    let mut step = commit(next, consumed(&locked));
    step.changed = Changed {
        output: false,
        events: true,
        custom_status: true,
    };
    store.commit_step(&locked.lease, step).await.unwrap();

    store.send("f", Message::Resume).await.unwrap();
    let locked = claim(&store, "f").await;
    let buffered = vec![("e".to_owned(), vec![5])];
    assert_eq!(
        locked.record.events, buffered,
        "a claim reads buffered events"
    );
    let mut next = locked.record.clone();
    next.state = Some(vec![10]);
    let step = commit(next, consumed(&locked));
    store.commit_step(&locked.lease, step).await.unwrap();
    let stored = store.instance("f").await.unwrap().unwrap();
    assert_eq!(
        (
            stored.input,
            stored.events,
            stored.custom_status,
            stored.state
        ),
        (vec![1, 2, 3], buffered, Some(vec![6]), Some(vec![10])),
        "a step that changed none of them leaves them as stored"
    );

    store.send("f", Message::Resume).await.unwrap();
    let locked = claim(&store, "f").await;
    let mut done = locked.record.clone();
    done.status = RuntimeStatus::Completed;
    done.state = None;
    done.output = Some(vec![8]);
    done.events.clear();
    let mut step = commit(done, consumed(&locked));
    step.changed = Changed {
        output: true,
        events: true,
        custom_status: false,
    };
    store.commit_step(&locked.lease, step).await.unwrap();
    let stored = store.instance("f").await.unwrap().unwrap();
    assert_eq!(
        (
            stored.input,
            stored.output,
            stored.events,
            stored.custom_status
        ),
        (vec![1, 2, 3], Some(vec![8]), vec![], Some(vec![6]))
    );
}

#[tokio::test]
async fn memory_store_fields() {
    fields_follow_what_changed(durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_fields() {
    let dir = tempfile::tempdir().unwrap();
    fields_follow_what_changed(RocksStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn postgres_store_fields() {
    fields_follow_what_changed(postgres::store().await).await;
}

/// Claims instance `id`, giving up the claims on others that come first: stores may
/// offer runnable instances in any order.
async fn claim<S: Store>(store: &S, id: &str) -> durable::store::LockedInstance {
    for _ in 0..10 {
        let locked = store.lock_instance(LEASE).await.unwrap().unwrap();
        if locked.record.id == id {
            return locked;
        }
        store
            .abandon_instance(&locked.record.id, &locked.lease)
            .await
            .unwrap();
    }
    panic!("instance `{id}` is never offered");
}

/// The status, name and ended indexes follow each instance through its steps and purge.
async fn indexes_follow_instances<S: Store>(store: &S) {
    let ids = |rs: Vec<InstanceRecord>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let page = Page {
        after: None,
        limit: 10,
    };
    let with = |status| InstanceFilter {
        statuses: vec![status],
        ..Default::default()
    };
    for id in ["x", "y"] {
        store.create(record(id)).await.unwrap();
    }
    let locked = store.lock_instance(LEASE).await.unwrap().unwrap();
    assert_eq!(locked.record.id, "x");
    let mut running = locked.record.clone();
    running.status = RuntimeStatus::Running;
    let consumed = locked.messages.iter().map(|(s, _)| *s).collect();
    store
        .commit_step(&locked.lease, commit(running.clone(), consumed))
        .await
        .unwrap();
    let running_ids = ids(store
        .list(&with(RuntimeStatus::Running), &page)
        .await
        .unwrap());
    assert_eq!(running_ids, ["x"]);
    let pending = ids(store
        .list(&with(RuntimeStatus::Pending), &page)
        .await
        .unwrap());
    assert_eq!(pending, ["y"]);

    store.send("x", Message::Resume).await.unwrap();
    let locked = claim(store, "x").await;
    let mut done = running;
    done.status = RuntimeStatus::Completed;
    done.updated = 500;
    let consumed = locked.messages.iter().map(|(s, _)| *s).collect();
    store
        .commit_step(&locked.lease, commit(done, consumed))
        .await
        .unwrap();
    assert!(store
        .list(&with(RuntimeStatus::Running), &page)
        .await
        .unwrap()
        .is_empty());
    let completed = ids(store
        .list(&with(RuntimeStatus::Completed), &page)
        .await
        .unwrap());
    assert_eq!(completed, ["x"]);
    assert_eq!(store.ended_before(501, 10).await.unwrap(), ["x"]);
    assert!(store.ended_before(500, 10).await.unwrap().is_empty());

    assert_eq!(
        store.purge("x").await.unwrap(),
        Purge::Deleted { descendants: 0 }
    );
    assert!(store
        .list(&with(RuntimeStatus::Completed), &page)
        .await
        .unwrap()
        .is_empty());
    assert!(store.ended_before(u64::MAX, 10).await.unwrap().is_empty());
    let named = InstanceFilter {
        name: Some("orchestration".into()),
        ..Default::default()
    };
    assert_eq!(ids(store.list(&named, &page).await.unwrap()), ["y"]);
}

#[tokio::test]
async fn memory_store_indexes() {
    indexes_follow_instances(&durable::MemoryStore::new()).await;
}

#[tokio::test]
async fn rocks_store_indexes() {
    let dir = tempfile::tempdir().unwrap();
    indexes_follow_instances(&RocksStore::open(dir.path()).unwrap()).await;
    let reopened = RocksStore::open(dir.path()).unwrap();
    let pending = InstanceFilter {
        statuses: vec![RuntimeStatus::Pending],
        ..Default::default()
    };
    let page = Page {
        after: None,
        limit: 10,
    };
    let listed = reopened.list(&pending, &page).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "y");
}

#[tokio::test]
async fn postgres_store() {
    conformance(postgres::store().await).await;
}

#[tokio::test]
async fn postgres_store_messages() {
    messages_between_instances(postgres::store().await).await;
}

#[tokio::test]
async fn postgres_store_listing() {
    listing_and_purging(postgres::store().await).await;
}

#[tokio::test]
async fn postgres_store_direct_results() {
    results_consumed_directly(postgres::store().await).await;
}

#[tokio::test]
async fn postgres_store_renewals() {
    claims_on_calls_are_renewed(postgres::store().await).await;
}

#[tokio::test]
async fn postgres_store_cancellation() {
    cancelled_calls_leave_the_queue(postgres::store().await).await;
}

#[tokio::test]
async fn postgres_store_purging() {
    purging_takes_the_tree(postgres::store().await).await;
}

#[tokio::test]
async fn postgres_store_indexes() {
    indexes_follow_instances(&postgres::store().await).await;
}
