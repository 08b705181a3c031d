//! Every construct an orchestrator may contain, each run as a state machine that is
//! encoded, dropped and decoded at every `.await`, and compared with the same body run
//! as a plain `async fn`.

mod support;

use serde::{Deserialize, Serialize};
use support::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Pair {
    left: u64,
    right: u64,
}

twins!(lets / lets_plain(ctx, x: u64) -> (u64, String, u64) {
    let a = ctx.call(double, x).await?;
    let b: u64 = ctx.call(double, a).await?;
    let a = a + 1;
    let mut acc = 0u64;
    acc += ctx.call(add, (a, b)).await?;
    let (p, q) = (ctx.call(double, acc).await?, acc);
    let Pair { left, right } = Pair { left: p, right: q };
    let label = format!("{a}-{b}");
    let label = ctx.call(echo, label).await?;
    acc *= 2;
    Ok((acc + left, label, right))
});

#[tokio::test]
async fn lets_shadowing_mut_and_destructuring() {
    for x in [0, 1, 5] {
        let run = same(lets, lets_plain, x).await;
        assert_eq!(run.checkpoints.len(), 5);
    }
}

twins!(tries / tries_plain(ctx, x: u64) -> u64 {
    if x > 100 {
        return Err(TestError::Rejected(format!("{x} is too big")));
    }
    let y = ctx.call(fail_on_13, x).await?;
    let z = ctx.call(fail_on_13, y + 6).await?;
    Ok(z)
});

#[tokio::test]
async fn question_mark_converts_errors_through_from() {
    assert_eq!(same(tries, tries_plain, 1).await.result, Ok(7));
    let failed = same(tries, tries_plain, 13).await;
    assert_eq!(
        failed.result,
        Err("activity `fail_on_13` failed: unlucky 13".into())
    );
    assert_eq!(failed.checkpoints.len(), 1);
    assert_eq!(same(tries, tries_plain, 7).await.checkpoints.len(), 2);
    let rejected = same(tries, tries_plain, 101).await;
    assert_eq!(rejected.result, Err("rejected: 101 is too big".into()));
    assert!(rejected.checkpoints.is_empty());
}

twins!(branches / branches_plain(ctx, x: u64) -> Vec<u64> {
    let mut out = Vec::new();
    if ctx.call(is_even, x).await? {
        out.push(ctx.call(double, x).await?);
    } else if x > 10 {
        let big = ctx.call(add, (x, 1000)).await?;
        out.push(big);
    } else {
        out.push(x);
    }
    if let Some(found) = ctx.call(lookup, x).await? {
        let twice = ctx.call(double, found).await?;
        out.push(twice + found);
    } else {
        out.push(0);
    }
    let picked = if x % 4 == 1 { ctx.call(double, 100).await? } else { 1 };
    out.push(picked);
    Ok(out)
});

#[tokio::test]
async fn if_else_and_if_let_with_awaits_in_branches_and_conditions() {
    for x in 0..14 {
        same(branches, branches_plain, x).await;
    }
}

twins!(matches / matches_plain(ctx, x: u64) -> String {
    let first = match ctx.call(lookup, x).await? {
        Some(v) if v > 50 => {
            let d = ctx.call(double, v).await?;
            format!("big {d}")
        }
        Some(v) => format!("small {v}"),
        None => {
            let e = ctx.call(echo, "none".to_string()).await?;
            e
        }
    };
    let second = match x % 3 {
        0 => ctx.call(double, x).await?,
        1 => 1,
        _ => ctx.call(add, (x, x)).await? + ctx.call(constant, ()).await?,
    };
    Ok(format!("{first}/{second}"))
});

#[tokio::test]
async fn match_with_awaits_in_scrutinee_and_arms() {
    for x in 0..12 {
        same(matches, matches_plain, x).await;
    }
}

twins!(loops / loops_plain(ctx, n: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        i += 1;
        if i > n {
            break;
        }
        if i % 2 == 0 {
            continue;
        }
        out.push(ctx.call(double, i).await?);
    }
    let mut j = 0;
    while j < n && ctx.call(is_even, j).await? || j == 1 {
        out.push(ctx.call(add, (j, 100)).await?);
        j += 1;
    }
    let mut queue = vec![3, 4, 5];
    while let Some(v) = queue.pop() {
        out.push(ctx.call(double, v).await?);
    }
    let found = loop {
        let k = ctx.call(add, (i, 1)).await?;
        i += 1;
        if k % 5 == 0 {
            break k;
        }
    };
    out.push(found);
    Ok(out)
});

#[tokio::test]
async fn loop_while_and_while_let_with_break_continue_and_break_value() {
    for n in 0..7 {
        same(loops, loops_plain, n).await;
    }
}

twins!(fors / fors_plain(ctx, n: u64) -> Vec<u64> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(ctx.call(double, i).await?);
    }
    for i in 1..=n {
        out.push(ctx.call(add, (i, 1)).await?);
    }
    for i in 1.. {
        if i > n {
            break;
        }
        out.push(ctx.call(double, i).await?);
    }
    let items = vec![10u64, 20, 30];
    for (pos, item) in items.into_iter().enumerate() {
        out.push(ctx.call(add, (pos as u64, item)).await?);
    }
    let words = ["a".to_string(), "bb".to_string(), "ccc".to_string()];
    for w in words.iter().map(|w| w.len() as u64).filter(|l| *l != 2).rev() {
        out.push(ctx.call(double, w).await?);
    }
    'outer: for a in 0..n {
        for b in 0..n {
            if b > a {
                continue 'outer;
            }
            if a + b > 4 {
                break 'outer;
            }
            out.push(ctx.call(add, (a * 10, b)).await?);
        }
    }
    Ok(out)
});

#[tokio::test]
async fn for_over_ranges_endless_ranges_vectors_and_adapters_with_labels() {
    for n in 0..5 {
        same(fors, fors_plain, n).await;
    }
}

twins!(let_else / let_else_plain(ctx, x: u64) -> u64 {
    let Some(v) = ctx.call(lookup, x).await? else {
        return Ok(0);
    };
    let w = ctx.call(double, v).await?;
    {
        let inner = ctx.call(add, (w, 1)).await?;
        if inner > 100 {
            return Ok(inner);
        }
    }
    Ok(w)
});

#[tokio::test]
async fn let_else_early_return_and_nested_blocks() {
    for x in 0..12 {
        same(let_else, let_else_plain, x).await;
    }
}

fn combine(a: u64, b: u64, c: u64) -> u64 {
    a * 100 + b * 10 + c
}

twins!(expressions / expressions_plain(ctx, x: u64) -> (u64, usize, u64, bool, bool) {
    let y = x + 1;
    let f = combine(ctx.call(double, x).await?, y, ctx.call(constant, ()).await?);
    let n = ctx.call(read, x).await?.values.len();
    let sum = ctx.call(double, x).await? + ctx.call(add, (x, y)).await?;
    let and = x > 3 && ctx.call(is_even, x).await?;
    let or = x > 3 || ctx.call(is_even, x).await?;
    Ok((f, n, sum, and, or))
});

#[tokio::test]
async fn awaits_inside_expressions_keep_evaluation_order_and_short_circuit() {
    for x in 0..8 {
        let run = same(expressions, expressions_plain, x).await;
        // five awaits always, plus the right side of `&&` only when x > 3 and of `||` only when x <= 3
        assert_eq!(run.checkpoints.len(), 6, "x = {x}");
    }
}

twins!(macros_and_closures / macros_and_closures_plain(ctx, name: String) -> String {
    let greeting = ctx.call(echo, format!("hello {name}")).await?;
    let words = ctx.call(split, greeting.clone()).await?;
    let shout = |s: &str| s.to_uppercase();
    let joined: Vec<String> = words.iter().map(|w| shout(w)).collect();
    let count = ctx.call(double, joined.len() as u64).await?;
    Ok(format!("{greeting}: {} ({count})", joined.join("+")))
});

#[tokio::test]
async fn locals_used_only_in_macros_and_closures_survive() {
    let run = same(
        macros_and_closures,
        macros_and_closures_plain,
        "durable world".to_string(),
    )
    .await;
    assert_eq!(
        run.result,
        Ok("hello durable world: HELLO+DURABLE+WORLD (6)".to_string())
    );
}

twins!(moved / moved_plain(ctx, text: String) -> (u64, u64) {
    let copy = text.clone();
    let chars = copy.len() as u64;
    let words = ctx.call(split, text).await?;
    let len = ctx.call(double, words.len() as u64).await?;
    let last = ctx.call(add, (len, chars)).await?;
    Ok((len, last))
});

#[tokio::test]
async fn values_moved_before_an_await_are_not_saved() {
    let run = same(moved, moved_plain, "a b c d e f g h".repeat(50)).await;
    // `text` is moved into the first call and `copy` is not read after an await, so
    // the states stay small even though the input is 750 bytes long.
    assert!(
        run.checkpoints.iter().all(|size| *size < 100),
        "{:?}",
        run.checkpoints
    );
}

twins!(state_stays_flat / state_stays_flat_plain(ctx, n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        total += ctx.call(double, i).await?;
    }
    Ok(total)
});

#[tokio::test]
async fn a_long_loop_keeps_a_constant_size_state() {
    let run = same(state_stays_flat, state_stays_flat_plain, 500).await;
    assert_eq!(run.checkpoints.len(), 500);
    let (min, max) = (
        run.checkpoints.iter().min().unwrap(),
        run.checkpoints.iter().max().unwrap(),
    );
    assert!(max - min <= 8, "state grew from {min} to {max} bytes");
}

twins!(
    #[allow(clippy::needless_late_init)]
    shadows / shadows_plain(ctx, x: u64) -> (u64, u64, u64, u64) {
    let v = x + 1;
    let a = ctx.call(double, x).await?;
    let s = v + a;
    let w = {
        let v = a * 3;
        ctx.call(add, (v, s)).await?
    };
    let x = ctx.call(double, x).await?;
    let total;
    if x > 4 {
        total = ctx.call(add, (x, w)).await?;
    } else {
        total = w;
    }
    Ok((v, w, x, total))
});

#[tokio::test]
async fn shadowed_locals_and_deferred_initialization_keep_their_values() {
    for x in 0..5 {
        same(shadows, shadows_plain, x).await;
    }
}

twins!(patterns / patterns_plain(ctx, (a, mut b): (u64, u64)) -> (u64, u64) {
    b += ctx.call(double, a).await?;
    let [first, .., last] = [a, b, ctx.call(constant, ()).await?];
    b += first + last;
    Ok((a, b))
});

#[tokio::test]
async fn a_destructured_mutable_input() {
    assert_eq!(
        same(patterns, patterns_plain, (2, 3)).await.result,
        Ok((2, 16))
    );
}

#[durable::orchestrator]
async fn no_input(ctx: durable::OrchestrationContext) -> Result<u64, TestError> {
    Ok(ctx.call(constant, ()).await? + 1)
}

#[tokio::test]
async fn an_orchestrator_without_input() {
    let run = runner().run(no_input, &()).await.unwrap();
    assert_eq!(run.result, Ok(8));
}

twins!(
    #[allow(clippy::needless_late_init)]
    pages / pages_plain(ctx, count: u64) -> Vec<u64> {
    let mut cursor: Option<u64> = Some(0);
    let mut all = Vec::new();
    loop {
        let page = ctx.call(double, cursor.take().unwrap_or_default()).await?;
        all.push(page);
        match (page < count * 2).then_some(page / 2 + 1) {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let label;
    if all.len() > 2 {
        label = "long";
    } else {
        label = "short";
    }
    let tag = ctx.call(echo, label.to_string()).await?;
    all.push(tag.len() as u64);
    Ok(all)
});

#[tokio::test]
async fn locals_assigned_in_branches_without_await() {
    for n in 0..5 {
        same(pages, pages_plain, n).await;
    }
}

twins!(diverging_arms / diverging_arms_plain(ctx, ids: Vec<u64>) -> u64 {
    let mut total = 0;
    for id in ids {
        let price = match ctx.call(lookup, id).await? {
            Some(p) => ctx.call(double, p).await?,
            None => {
                total += 1;
                continue;
            }
        };
        total += price;
    }
    if total > 1000 {
        return Ok(1000);
    }
    Ok(total)
});

#[tokio::test]
async fn match_arms_that_continue_have_no_value() {
    same(diverging_arms, diverging_arms_plain, vec![1, 3, 4, 6, 50]).await;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct User {
    name: String,
    age: u64,
}

twins!(macro_fields / macro_fields_plain(ctx, age: u64) -> String {
    let name = ctx.call(echo, "ada".to_string()).await?;
    let user = User { name, age };
    let saved = ctx.call(echo, user.name.clone()).await?;
    let line = format!("saved {} aged {} as {saved}", user.name, user.age);
    assert!(user.age == age, "{} changed", user.name);
    Ok(line)
});

#[tokio::test]
async fn field_names_in_macros_are_not_reads_of_locals() {
    same(macro_fields, macro_fields_plain, 36).await;
}

twins!(places / places_plain(ctx, lines: Vec<(String, u64)>) -> Vec<(String, u64)> {
    let mut totals = std::collections::BTreeMap::new();
    let mut by_name: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for (customer, item) in lines {
        *totals.entry(customer.clone()).or_insert(0) += ctx.call(double, item).await?;
        // the receiver is evaluated before the argument's `.await`, as in Rust, and a
        // borrow cannot be held across it: await into a local first
        let added = ctx.call(add, (item, 1)).await?;
        by_name.entry(customer).or_default().push(added);
    }
    let mut out: Vec<(String, u64)> = totals.into_iter().collect();
    out.extend(by_name.into_iter().map(|(k, v)| (k, v.iter().sum())));
    Ok(out)
});

#[tokio::test]
async fn awaited_values_written_through_borrowed_places() {
    let lines = vec![("a".into(), 1), ("b".into(), 2), ("a".into(), 3)];
    let run = same(places, places_plain, lines).await;
    assert_eq!(
        run.result,
        Ok(vec![
            ("a".into(), 8),
            ("b".into(), 4),
            ("a".into(), 6),
            ("b".into(), 3)
        ])
    );
}

twins!(hidden_by_verbatim_let / hidden_by_verbatim_let_plain(ctx, limit: u64) -> (u64, String) {
    let mut total = 0;
    let mut log = String::new();
    loop {
        total += ctx.call(double, 3).await?;
        if total > limit {
            let total = total * 100;
            log.push_str(&format!("over at {total};"));
            break;
        }
    }
    Ok((total, log))
});

#[tokio::test]
async fn a_let_in_await_free_code_may_hide_a_local_needed_after_the_loop() {
    let run = same(hidden_by_verbatim_let, hidden_by_verbatim_let_plain, 20).await;
    assert_eq!(run.result, Ok((24, "over at 2400;".to_string())));
}

fn doubled(ctx: &durable::OrchestrationContext, x: u64) -> durable::Call<double> {
    ctx.call(double, x * 2)
}

#[durable::orchestrator]
async fn helpers(ctx: durable::OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let a = doubled(&ctx, x).await?;
    let by_value = ctx.clone();
    let b = by_value.call(add, (a, 1)).await?;
    Ok(b + ctx.instance_id().len() as u64)
}

#[durable::orchestrator]
async fn borrowed_context(ctx: &durable::OrchestrationContext, x: u64) -> Result<u64, TestError> {
    Ok(doubled(ctx, x).await? + 1)
}

#[tokio::test]
async fn the_context_can_be_passed_to_helpers_by_reference_or_clone() {
    let run = runner().run(helpers, &3).await.unwrap();
    assert_eq!(run.result, Ok(12 + 1 + "inline".len() as u64));
    let run = runner().run(borrowed_context, &3).await.unwrap();
    assert_eq!(run.result, Ok(13));
}
