//! Orchestrators behave as the same `async fn` would in plain Rust: evaluation order,
//! where items are visible, locals initialised later. Each runs as a state machine,
//! encoded, dropped and decoded at every `.await`, and is compared with its plain twin.

mod support;

use support::*;

twins!(deferred / deferred_plain(ctx, x: u64) -> u64 {
    let found;
    let mut n = x;
    loop {
        let r = ctx.call(double, n).await?;
        if r % 5 == 0 {
            found = r;
            break;
        }
        n += 1;
    }
    Ok(found)
});

#[tokio::test]
async fn a_local_initialised_inside_a_loop_is_read_after_it() {
    for x in [1, 5, 7] {
        same(deferred, deferred_plain, x).await;
    }
}

twins!(receivers / receivers_plain(ctx, x: u64) -> (u64, u64) {
    let mut items = vec![x, x + 1, x + 2];
    // Rust pops first (the receiver), then calls `double` with the length after it
    let first = items.pop().unwrap_or(0).max(ctx.call(double, items.len() as u64).await?);
    let pair = (items[0], ctx.call(double, items[1]).await?);
    Ok((first, pair.0 + pair.1))
});

#[tokio::test]
async fn receivers_and_places_are_evaluated_before_a_later_await() {
    for x in [0, 3, 10] {
        same(receivers, receivers_plain, x).await;
    }
}

static COUNTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[durable::activity]
async fn counted(x: u64) -> Result<u64, String> {
    COUNTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Ok(x)
}

#[durable::orchestrator]
async fn indexed(ctx: durable::OrchestrationContext, i: usize) -> Result<u64, TestError> {
    let items = [1u64, 2, 3];
    // out of bounds: Rust panics before `counted` is called
    let sum = items[i] + ctx.call(counted, 7).await?;
    Ok(sum)
}

/// The same with the indexed place as a method's receiver.
#[durable::orchestrator]
async fn indexed_receiver(ctx: durable::OrchestrationContext, i: usize) -> Result<u64, TestError> {
    let items = [1u64, 2, 3];
    // out of bounds: Rust panics before `counted` is called
    let larger = items[i].max(ctx.call(counted, 2).await?);
    Ok(larger)
}

#[tokio::test]
async fn an_index_out_of_bounds_panics_before_the_call() {
    let runner = durable::testing::InlineRunner::new().activity(counted);
    let run = runner.run(indexed, &1).await.unwrap();
    assert_eq!(run.result, Ok(9));
    let run = runner.run(indexed_receiver, &2).await.unwrap();
    assert_eq!(run.result, Ok(3));
    let calls = COUNTED.load(std::sync::atomic::Ordering::SeqCst);
    for outcome in [
        runner.run(indexed, &5).await.unwrap().result,
        runner.run(indexed_receiver, &5).await.unwrap().result,
    ] {
        let error = outcome.expect_err("the machine panics");
        assert!(error.contains("index out of bounds"), "{error}");
    }
    assert_eq!(
        COUNTED.load(std::sync::atomic::Ordering::SeqCst),
        calls,
        "no call was made"
    );
}

fn rate() -> u64 {
    100
}

twins!(scoped_items / scoped_items_plain(ctx, x: u64) -> (u64, u64) {
    let before = ctx.call(double, rate()).await?;
    let inner = {
        fn rate() -> u64 {
            7
        }
        ctx.call(double, rate() + x).await?
    };
    let other = {
        fn rate() -> u64 {
            9
        }
        rate()
    };
    Ok((before, inner + other))
});

#[tokio::test]
async fn items_are_visible_only_where_rust_makes_them_visible() {
    same(scoped_items, scoped_items_plain, 1).await;
}

twins!(saga / saga_plain(ctx, car: u64) -> Vec<String> {
    // book each step; when one fails, undo the booked ones in reverse order
    let mut booked: Vec<String> = Vec::new();
    let mut log = Vec::new();
    // owned names: a `&'static str` held across an `.await` cannot be decoded again
    let steps = [("flight".to_string(), 1u64), ("hotel".into(), 2), ("car".into(), car)];
    let mut failed = None;
    for (name, input) in steps.iter() {
        match ctx.call(fail_on_13, *input).await {
            Ok(_) => booked.push(name.to_string()),
            Err(e) => {
                failed = Some(format!("{name}: {}", e.message));
                break;
            }
        }
    }
    if let Some(reason) = failed {
        log.push(reason);
        while let Some(step) = booked.pop() {
            log.push(ctx.call(echo, format!("cancel {step}")).await?);
        }
    } else {
        log.extend(booked);
    }
    Ok(log)
});

#[tokio::test]
async fn a_saga_compensates_in_reverse_order() {
    let ok = same(saga, saga_plain, 3).await;
    assert_eq!(
        ok.result,
        Ok(vec!["flight".into(), "hotel".into(), "car".into()])
    );
    let undone = same(saga, saga_plain, 13).await;
    assert_eq!(
        undone.result,
        Ok(vec![
            "car: unlucky 13".into(),
            "cancel hotel".into(),
            "cancel flight".into()
        ])
    );
}

twins!(branch_write / branch_write_plain(ctx, c: u64) -> (u64, u64) {
    let mut x = 1;
    let mut y;
    y = ctx.call(double, c).await?;
    // written on one path only: the other passes the old value on
    if c > 2 {
        x = 5;
    }
    match c {
        0 => y = 100,
        1 => y += 1,
        _ => {}
    }
    // neither is read again before the `.await`: their values cross it in their slots
    let z = ctx.call(double, c).await?;
    Ok((z + x, y))
});

#[tokio::test]
async fn a_local_written_on_one_branch_keeps_its_value_on_the_other() {
    for c in [0, 1, 3] {
        same(branch_write, branch_write_plain, c).await;
    }
}

twins!(borrowed_operands / borrowed_operands_plain(ctx, name: String) -> (bool, String, u64) {
    // `==` borrows `name`, and `table[..]` reads a place: neither is moved
    let same = name == ctx.call(echo, "ann".to_string()).await?;
    let table = vec![10u64, 20, 30];
    let picked = table[1] + ctx.call(double, table.len() as u64).await?;
    Ok((same, name, picked + table[0]))
});

#[tokio::test]
async fn operands_that_are_places_are_not_moved() {
    for name in ["ann", "bob"] {
        same(borrowed_operands, borrowed_operands_plain, name.to_string()).await;
    }
}

twins!(nested_items / nested_items_plain(ctx, x: u64) -> (u64, u64) {
    const N: u64 = 1;
    let outer = {
        const N: u64 = 10;
        let a = ctx.call(double, N).await?;
        let inner = {
            const N: u64 = 100;
            ctx.call(double, N).await? + N
        };
        a + inner + N
    };
    let typed = {
        use std::collections::BTreeMap;
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Index {
            by_key: BTreeMap<u64, u64>,
        }
        let index = Index {
            by_key: BTreeMap::from([(x, N)]),
        };
        ctx.call(double, index.by_key.len() as u64).await? + index.by_key[&x]
    };
    Ok((outer + N, typed))
});

#[tokio::test]
async fn nested_items_of_the_same_name_resolve_to_the_innermost() {
    same(nested_items, nested_items_plain, 3).await;
}

twins!(operands_read_first / operands_read_first_plain(ctx, x: u64) -> (u64, u64, bool) {
    let mut n = x;
    // Rust reads `n` (a copy) before the block changes it
    let sum = n + {
        n += 10;
        ctx.call(double, n).await?
    };
    let mut m = x;
    let shifted = m * 2 + {
        m = 0;
        ctx.call(double, m + 1).await?
    };
    let name = format!("n{x}");
    // a comparison borrows its operands: `name` is not moved, and is read after
    let same = name == ctx.call(echo, format!("n{x}")).await?;
    Ok((sum + shifted, n + m, same && name.len() > 1))
});

#[tokio::test]
async fn an_operand_is_read_before_a_later_operand_changes_it() {
    for x in [0, 3, 10] {
        same(operands_read_first, operands_read_first_plain, x).await;
    }
}

/// A type of the module, which blocks below declare again under the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row(u64);

impl Row {
    fn total(&self) -> u64 {
        self.0 * 1000
    }
}

twins!(scoped_types / scoped_types_plain(ctx, x: u64) -> (u64, u64, u64, u64) {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Weight(u64);
    fn unit() -> u64 {
        3
    }
    impl Weight {
        fn of(&self) -> u64 {
            self.0 * unit()
        }
    }
    let w = Weight(x);
    let first = {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Row {
            v: u64,
            w: Weight,
        }
        impl Row {
            fn total(&self) -> u64 {
                self.v + self.w.of()
            }
        }
        // saved across the `.await`: the block's own `Row`, holding the body's type
        let r = Row { v: x, w: Weight(2) };
        let d = ctx.call(double, r.v).await?;
        d + r.total()
    };
    let second = {
        struct Row(u64, u64);
        impl Row {
            fn total(&self) -> u64 {
                self.0 + self.1
            }
        }
        let r = Row(x, 2);
        ctx.call(double, r.total()).await?
    };
    // outside those blocks, `Row` is the module's again
    let outer = Row(x).total();
    Ok((first, second, outer, w.of()))
});

#[tokio::test]
async fn types_declared_in_blocks_are_visible_only_there() {
    for x in [0, 4] {
        same(scoped_types, scoped_types_plain, x).await;
    }
}
