//! Loops over borrowed collections and lazy (also endless) iterators with an `.await`
//! in their body: each runs as a state machine, encoded, dropped and decoded at every
//! `.await`, and agrees with its plain `async fn` twin. Nothing is collected eagerly:
//! an endless iterator is taken item by item.

mod support;

use std::collections::{BTreeMap, VecDeque};

use durable::{orchestrator, OrchestrationContext};
use support::*;

twins!(mapped_endless / mapped_endless_plain(ctx, limit: u64) -> (u64, u64) {
    let mut total = 0;
    let mut last = 0;
    for d in (1..).map(|n: u64| n * 100) {
        total += ctx.call(double, d).await?;
        last = d;
        if total > limit {
            break;
        }
    }
    Ok((total, last))
});

twins!(stepped / stepped_plain(ctx, limit: u64) -> Vec<u64> {
    let mut seen = Vec::new();
    for k in (0..).step_by(5) {
        let r = ctx.call(add, (k, 1)).await?;
        seen.push(r);
        if k >= limit {
            break;
        }
    }
    Ok(seen)
});

twins!(backoff / backoff_plain(ctx, base: u64) -> Vec<u64> {
    let mut waits = Vec::new();
    for delay in std::iter::successors(Some(base), |d| Some(d * 2)).take(6) {
        let failed = ctx.call(fail_on_13, delay % 20).await.is_err();
        waits.push(delay);
        if !failed && delay > 40 {
            break;
        }
    }
    Ok(waits)
});

twins!(repeated / repeated_plain(ctx, x: u64) -> u64 {
    let mut sum = 0;
    for v in std::iter::repeat(x) {
        sum += ctx.call(double, v).await?;
        if sum >= 24 {
            break;
        }
    }
    for v in std::iter::repeat_n(x, 2) {
        sum += ctx.call(double, v).await?;
    }
    Ok(sum)
});

#[tokio::test]
async fn lazy_and_endless_iterators_are_taken_item_by_item() {
    for limit in [0, 250, 2_000] {
        same(mapped_endless, mapped_endless_plain, limit).await;
    }
    for limit in [0, 12, 30] {
        same(stepped, stepped_plain, limit).await;
    }
    for base in [1, 3, 13] {
        same(backoff, backoff_plain, base).await;
    }
    let run = same(repeated, repeated_plain, 4).await;
    assert_eq!(run.result, Ok(40));
}

twins!(borrowed / borrowed_plain(ctx, items: Vec<u64>) -> (u64, Vec<String>) {
    let labels: Vec<String> = items.iter().map(|i| format!("item {i}")).collect();
    let mut total = 0;
    let mut echoed = Vec::new();
    for item in &items {
        let doubled = ctx.call(double, *item).await?;
        // `item` is a borrow of `items`, read again after the `.await`
        total += doubled + *item;
    }
    for (i, label) in labels.iter().enumerate() {
        let back = ctx.call(echo, label.clone()).await?;
        echoed.push(format!("{i}:{back}:{}", label.len()));
    }
    Ok((total, echoed))
});

twins!(windows / windows_plain(ctx, items: Vec<u64>) -> Vec<u64> {
    let mut out = Vec::new();
    for chunk in items.chunks(2) {
        let first = ctx.call(double, chunk[0]).await?;
        out.push(first + chunk.iter().sum::<u64>());
    }
    for pair in items.windows(2) {
        let sum = ctx.call(add, (pair[0], pair[1])).await?;
        out.push(sum * pair.len() as u64);
    }
    Ok(out)
});

twins!(nested / nested_plain(ctx, grid: Vec<Vec<u64>>) -> Vec<u64> {
    let mut sums = Vec::new();
    for row in &grid {
        let mut sum = 0;
        for cell in row.iter() {
            sum += ctx.call(double, *cell).await? + *cell;
        }
        sums.push(sum + row.len() as u64);
    }
    Ok(sums)
});

twins!(ordered_maps / ordered_maps_plain(ctx, n: u64) -> Vec<String> {
    let prices: BTreeMap<String, u64> = (0..n).map(|i| (format!("p{i}"), i * 10)).collect();
    let queue: VecDeque<u64> = (0..n).collect();
    let mut lines = Vec::new();
    for (name, price) in &prices {
        let total = ctx.call(double, *price).await?;
        lines.push(format!("{name}={total}/{price}"));
    }
    for q in queue.iter() {
        lines.push(ctx.call(echo, format!("q{q}")).await?);
    }
    Ok(lines)
});

#[tokio::test]
async fn borrowed_iteration_is_derived_again_after_each_await() {
    for items in [vec![], vec![3], vec![1, 2, 3, 4, 5]] {
        let run = same(borrowed, borrowed_plain, items.clone()).await;
        // the state keeps the collection and a cursor, not a copy of what is left
        if items.len() == 5 {
            let sizes = &run.checkpoints;
            assert!(sizes.windows(2).take(4).all(|w| w[0] == w[1]), "{sizes:?}");
        }
        same(windows, windows_plain, items).await;
    }
    same(nested, nested_plain, vec![vec![1, 2], vec![], vec![3]]).await;
    same(ordered_maps, ordered_maps_plain, 4).await;
}

#[durable::orchestrator]
async fn chunked(
    ctx: durable::OrchestrationContext,
    items: Vec<u64>,
) -> Result<Vec<u64>, TestError> {
    let mut sums = Vec::new();
    for chunk in items.chunks(3) {
        let doubled = durable::join_all(chunk.iter().map(|x| ctx.call(double, *x))).await;
        let mut sum = 0;
        for d in doubled {
            sum += d?;
        }
        sums.push(sum + chunk.len() as u64);
    }
    Ok(sums)
}

#[tokio::test]
async fn chunks_fan_out_with_join_all() {
    let items: Vec<u64> = (1..=7).collect();
    let run = runner().run(chunked, &items).await.unwrap();
    let expected: Vec<u64> = items
        .chunks(3)
        .map(|c| c.iter().map(|x| x * 2).sum::<u64>() + c.len() as u64)
        .collect();
    assert_eq!(run.result, Ok(expected));
    assert_eq!(run.checkpoints.len(), 3, "one checkpoint per chunk");
}

twins!(snapshots / snapshots_plain(ctx, n: u64) -> (Vec<u64>, Vec<String>, Vec<char>) {
    let mut pending: Vec<u64> = (0..n).collect();
    // a snapshot: the body may change `pending`, the loop goes over the copy
    for id in pending.iter().filter(|p| **p > 0).copied().collect::<Vec<_>>() {
        if ctx.call(is_even, id).await? {
            pending.retain(|p| *p != id);
        }
    }
    let prefix = String::from("#");
    let mut labels = Vec::new();
    for label in pending.iter().map(|i| format!("{prefix}{i}")) {
        labels.push(ctx.call(echo, label).await?);
    }
    let mut letters = Vec::new();
    for c in prefix.repeat(2).to_lowercase().chars() {
        letters.push(c);
        ctx.call(double, 1).await?;
    }
    Ok((pending, labels, letters))
});

#[tokio::test]
async fn snapshots_and_temporaries_are_iterated_once() {
    for n in [0, 1, 5] {
        same(snapshots, snapshots_plain, n).await;
    }
}

twins!(literal_arrays / literal_arrays_plain(ctx, x: u64) -> Vec<String> {
    let mut out = Vec::new();
    for what in ["flight", "hotel", "car"] {
        out.push(ctx.call(echo, format!("{what}-{x}")).await?);
        out.push(what.to_uppercase());
    }
    for (name, n) in [("a", 1u64), ("b", 2)] {
        let d = ctx.call(double, n).await?;
        out.push(format!("{name}{d}"));
    }
    Ok(out)
});

#[tokio::test]
async fn literal_arrays_are_iterated_without_saving_their_items() {
    same(literal_arrays, literal_arrays_plain, 7).await;
}

/// An endless iterator held in a local: durable cannot re-create it, so it would be
/// collected when the loop starts, which used to hang every worker that claimed the
/// instance. Now the step fails and says what to write instead.
#[orchestrator]
async fn endless_in_a_local(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let forever = std::iter::repeat(x);
    let mut sum = 0;
    for v in forever {
        sum += ctx.call(double, v).await?;
        if sum > 10 {
            break;
        }
    }
    Ok(sum)
}

/// Unbounded as far as `size_hint` tells, and too long to collect.
#[orchestrator]
async fn unbounded_in_a_local(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let counting = std::iter::successors(Some(x), |n| Some(n.wrapping_add(1)));
    let mut sum = 0;
    for v in counting {
        sum += ctx.call(double, v).await?;
        if sum > 10 {
            break;
        }
    }
    Ok(sum)
}

/// Bounded by `.take(n)`, the same iterator is collected and runs as in Rust.
#[orchestrator]
async fn bounded_in_a_local(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let counting = std::iter::successors(Some(x), |n| Some(n + 1)).take(3);
    let mut sum = 0;
    for v in counting {
        sum += ctx.call(double, v).await?;
    }
    Ok(sum)
}

#[tokio::test]
async fn an_endless_iterator_durable_would_collect_fails_the_step_instead_of_hanging() {
    let runner = runner();
    for outcome in [
        runner.run(endless_in_a_local, &1).await,
        runner.run(unbounded_in_a_local, &1).await,
    ] {
        let error = outcome.map(|run| run.result).unwrap_err().to_string();
        assert!(error.contains("has no end durable can see"), "{error}");
        assert!(error.contains(".take(n)"), "{error}");
    }
    let run = runner.run(bounded_in_a_local, &1).await.unwrap();
    assert_eq!(run.result, Ok(12));
}

twins!(owned_items / owned_items_plain(ctx, n: u64) -> (u64, usize) {
    let items: Vec<u64> = (0..n).collect();
    let mut sum = 0;
    let mut skipped = 0;
    for item in items {
        // some items take no step: several are taken in one step
        if item % 3 == 1 {
            skipped += 1;
            continue;
        }
        sum += ctx.call(double, item).await?;
    }
    Ok((sum, skipped))
});

/// A loop over an owned collection keeps its items beside its checkpoints (each written
/// once), so a checkpoint is the same size however many items remain (its counters
/// aside, a few bytes of varints), and the loop
/// agrees with the plain `async fn`, also when a step takes several items.
#[tokio::test]
async fn an_owned_collection_is_kept_beside_its_checkpoints() {
    for n in [0, 3, 7, 8, 30] {
        same(owned_items, owned_items_plain, n).await;
    }
    let small = runner().run(owned_items, &100).await.unwrap().checkpoints;
    let large = runner()
        .run(owned_items, &10_000)
        .await
        .unwrap()
        .checkpoints;
    let largest = |c: &[usize]| c.iter().copied().max().unwrap_or(0);
    assert!(
        largest(&large) <= largest(&small) + 16,
        "checkpoints grew with the items: {} bytes at 100, {} at 10,000",
        largest(&small),
        largest(&large)
    );
}
