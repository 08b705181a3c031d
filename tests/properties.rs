//! Property tests: orchestrators that mix loops, branches and early exits give the same
//! result as a state machine (state round-tripped through bytes at every `.await`) and
//! as a plain `async fn`, for random inputs.

mod support;

use proptest::prelude::*;
use support::*;

twins!(collatz / collatz_plain(ctx, input: (u64, u64)) -> (u64, Vec<u64>) {
    let (mut x, budget) = input;
    let mut steps = 0;
    let mut trail = Vec::new();
    while x > 1 {
        if steps >= budget {
            return Ok((steps, trail));
        }
        x = if ctx.call(is_even, x).await? {
            x / 2
        } else {
            ctx.call(add, (ctx.call(double, x).await?, x + 1)).await?
        };
        steps += 1;
        if x % 7 == 0 {
            trail.push(x);
            continue;
        }
        if x > 100_000 {
            break;
        }
    }
    Ok((steps, trail))
});

twins!(filter_sum / filter_sum_plain(ctx, items: Vec<u64>) -> u64 {
    let mut sum = 0;
    let mut skipped = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match ctx.call(lookup, item).await? {
            Some(v) if v > 900 => return Ok(sum + v),
            Some(v) => sum += ctx.call(fail_on_13, (v / 10) % 20).await?,
            None => {
                if i % 2 == 0 {
                    continue;
                }
                skipped.push(item);
            }
        }
        if sum > 60 && ctx.call(is_even, sum).await? {
            break;
        }
    }
    Ok(sum + skipped.len() as u64)
});

twins!(grid / grid_plain(ctx, input: (u64, u64, u64)) -> Vec<(u64, u64)> {
    let (rows, cols, stop) = input;
    let mut hits = Vec::new();
    'rows: for r in 0..rows {
        let mut c = 0;
        loop {
            if c >= cols {
                break;
            }
            let cell = ctx.call(add, (r * 10, c)).await?;
            if cell == stop {
                break 'rows;
            }
            if let Some(found) = ctx.call(lookup, cell).await? {
                if found % 4 == 0 || ctx.call(is_even, found / 10).await? {
                    hits.push((r, c));
                }
            } else if c > r {
                continue 'rows;
            }
            c += 1;
        }
    }
    Ok(hits)
});

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn collatz_machine_matches_plain(x in 0u64..200, budget in 0u64..30) {
        let run = block_on(same(collatz, collatz_plain, (x, budget)));
        prop_assert!(run.result.is_ok());
    }

    #[test]
    fn filter_sum_machine_matches_plain(items in proptest::collection::vec(0u64..120, 0..12)) {
        block_on(same(filter_sum, filter_sum_plain, items));
    }

    #[test]
    fn grid_machine_matches_plain(rows in 0u64..5, cols in 0u64..5, stop in 0u64..60) {
        block_on(same(grid, grid_plain, (rows, cols, stop)));
    }
}
