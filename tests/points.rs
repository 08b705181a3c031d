//! A checkpoint names the `.await` it was taken at and what it saved there. Code edited
//! elsewhere resumes it; code that changed the point or what it saves refuses it before
//! decoding a byte, saying what changed; damaged bytes are told apart from changed code.
//!
//! Each `vN` module is one deploy of the same orchestration (`name = "order"`).

mod support;

use durable::{
    orchestrator, Completions, Orchestration, OrchestrationContext, Step, StepError, StepInput,
    TaskId,
};
use support::*;

mod v1 {
    use super::*;

    #[orchestrator(name = "order")]
    pub async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = ctx.call(double, x).await?;
        let b = ctx.call(add, (a, 1)).await?;
        Ok(a + b)
    }
}

/// Compatible with v1 at both points: code between the awaits changed, and an await
/// was added before the first (a new instance goes through it, a resumed one does not).
mod v2_compatible {
    use super::*;

    #[orchestrator(name = "order")]
    pub async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        if x > 1000 {
            let _ = ctx.call(echo, "big".to_string()).await?;
        }
        let a = ctx.call(double, x).await?;
        let a = a.max(1); // edited between awaits, same local saved
        let b = ctx.call(add, (a, 1)).await?;
        Ok(a + b * 10)
    }
}

/// Compatible with v1 at both points: a new branch after them, with an await inside.
mod v2_new_branch {
    use super::*;

    #[orchestrator(name = "order")]
    pub async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = ctx.call(double, x).await?;
        let b = ctx.call(add, (a, 1)).await?;
        let extra = match b % 2 {
            0 => ctx.call(double, b).await?,
            _ => 0,
        };
        Ok(a + b + extra)
    }
}

/// Compatible with v1 at its first point: the second await is gone.
mod v2_removed_after {
    use super::*;

    #[orchestrator(name = "order")]
    pub async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = ctx.call(double, x).await?;
        Ok(a * 2)
    }
}

/// Awaits the same expression as v1's first point before it: which of the two a v1
/// checkpoint was taken at cannot be told, so neither takes it.
mod v2_same_call_before {
    use super::*;

    #[orchestrator(name = "order")]
    pub async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let _warmup = ctx.call(double, x).await?;
        let a = ctx.call(double, x).await?;
        let b = ctx.call(add, (a, 1)).await?;
        Ok(a + b)
    }
}

/// A pin on a statement whose `.await` is inside a block of its own.
mod pinned_block {
    use super::*;

    #[orchestrator(name = "pinned")]
    pub async fn pinned(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        #[point("first")]
        let a = {
            let doubled_input = x;
            ctx.call(double, doubled_input).await?
        };
        Ok(a)
    }
}

/// Keeps one more local (`extra`) across the first await.
mod v2_extra_local {
    use super::*;

    #[orchestrator(name = "order")]
    pub async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let extra = x * 3;
        let a = ctx.call(double, x).await?;
        let b = ctx.call(add, (a, extra)).await?;
        Ok(a + b)
    }
}

/// Awaits something else at the first point.
mod v2_other_call {
    use super::*;

    #[orchestrator(name = "order")]
    pub async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = ctx.call(fail_on_13, x).await?;
        let b = ctx.call(add, (a, 1)).await?;
        Ok(a + b)
    }
}

mod typed_v1 {
    use super::*;

    #[orchestrator(name = "typed")]
    pub async fn typed(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let n: u32 = 300;
        let a = ctx.call(double, x).await?;
        Ok(a + u64::from(n))
    }
}

/// The same local, now an `i64`: without the type in the check, the u32 300 would
/// decode as the i64 150.
mod typed_v2 {
    use super::*;

    #[orchestrator(name = "typed")]
    pub async fn typed(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let n: i64 = 300;
        let a = ctx.call(double, x).await?;
        Ok(a + n as u64)
    }
}

mod pinned_v1 {
    use super::*;

    #[orchestrator(name = "pinned")]
    pub async fn pinned(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        #[point("first")]
        let a = ctx.call(double, x).await?;
        Ok(a)
    }
}

/// The pinned point awaits the same activity with another expression: the name keeps the
/// identity, so the state resumes although the expression changed.
mod pinned_v2 {
    use super::*;

    #[orchestrator(name = "pinned")]
    pub async fn pinned(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        #[point("first")]
        let a = ctx.call(double, x.max(1)).await?;
        Ok(a + 1)
    }
}

/// The pinned point now awaits an event: same name, another operation.
mod pinned_v3 {
    use super::*;

    #[orchestrator(name = "pinned")]
    pub async fn pinned(ctx: OrchestrationContext, _x: u64) -> Result<u64, TestError> {
        #[point("first")]
        let a: u64 = ctx.event("go").await;
        Ok(a)
    }
}

fn start<O: Orchestration>(input: &O::Input) -> Vec<u8> {
    let ctx = OrchestrationContext::new("i", 0, 0);
    let input = durable::codec::encode_payload(input, "input").unwrap();
    match O::step(&ctx, StepInput::Start { input: &input }).unwrap() {
        Step::Suspended(s) => s.state,
        other => panic!("expected a suspension, got {other:?}"),
    }
}

/// Resumes `state` with `output` as the result of task `task`.
fn resume<O: Orchestration>(state: &[u8], task: u64, output: u64) -> Result<Step, StepError> {
    let ctx = OrchestrationContext::new("i", task + 1, 0);
    let mut completions = Completions::new();
    completions.insert(
        TaskId(task),
        Ok(durable::codec::encode_payload(&output, "output").unwrap()),
    );
    O::step(
        &ctx,
        StepInput::Resume {
            state,
            completions: &mut completions,
        },
    )
}

fn suspended(step: Result<Step, StepError>) -> Vec<u8> {
    match step {
        Ok(Step::Suspended(s)) => s.state,
        other => panic!("expected a suspension, got {other:?}"),
    }
}

fn completed(step: Result<Step, StepError>) -> u64 {
    match step {
        Ok(Step::Completed(bytes)) => durable::codec::decode_payload(&bytes, "output").unwrap(),
        other => panic!("expected a completion, got {other:?}"),
    }
}

#[test]
fn a_state_resumes_with_the_code_that_wrote_it() {
    let state = start::<v1::order>(&5);
    let state = suspended(resume::<v1::order>(&state, 0, 10));
    assert_eq!(completed(resume::<v1::order>(&state, 1, 11)), 21);
}

/// The differential: an instance suspended under v1 at a point v2 shares, resumed under
/// v2, ends as a fresh v2 run does when its awaits return the same values from that
/// point on (here: `double` gave 10, `add` gave 11).
#[test]
fn edits_elsewhere_keep_a_point_resumable() {
    let fresh = start::<v2_compatible::order>(&5);
    let fresh = suspended(resume::<v2_compatible::order>(&fresh, 0, 10));
    let expected = completed(resume::<v2_compatible::order>(&fresh, 1, 11));
    assert_eq!(expected, 120);

    // suspended at the first point under v1, the rest under v2
    let at_first = start::<v1::order>(&5);
    let next = suspended(resume::<v2_compatible::order>(&at_first, 0, 10));
    assert_eq!(
        completed(resume::<v2_compatible::order>(&next, 1, 11)),
        expected
    );

    // suspended at the second point under v1
    let at_second = suspended(resume::<v1::order>(&start::<v1::order>(&5), 0, 10));
    assert_eq!(
        completed(resume::<v2_compatible::order>(&at_second, 1, 11)),
        expected
    );
}

#[test]
fn a_new_branch_or_a_removed_await_after_the_point_keeps_it_resumable() {
    type New = v2_new_branch::order;
    // fresh v2 runs: `double` gives 10, `add` gives 11 (odd) or 12 (even, then the new
    // branch's `double` gives 24)
    let fresh = suspended(resume::<New>(&start::<New>(&5), 0, 10));
    let odd = completed(resume::<New>(&fresh, 1, 11));
    let even = completed(resume::<New>(
        &suspended(resume::<New>(&fresh, 1, 12)),
        2,
        24,
    ));
    assert_eq!((odd, even), (21, 46));
    for (at_second, add_gives) in [(false, 11), (true, 11), (false, 12), (true, 12)] {
        let mut state = start::<v1::order>(&5);
        if at_second {
            state = suspended(resume::<v1::order>(&state, 0, 10));
        } else {
            state = suspended(resume::<New>(&state, 0, 10));
        }
        let step = resume::<New>(&state, 1, add_gives);
        let out = match add_gives {
            11 => completed(step),
            _ => completed(resume::<New>(&suspended(step), 2, 24)),
        };
        let expected = if add_gives == 11 { odd } else { even };
        assert_eq!(out, expected, "suspended at the second point: {at_second}");
    }

    type Shorter = v2_removed_after::order;
    let fresh = completed(resume::<Shorter>(&start::<Shorter>(&5), 0, 10));
    let resumed = completed(resume::<Shorter>(&start::<v1::order>(&5), 0, 10));
    assert_eq!((resumed, fresh), (20, 20));
    // suspended at the await the new code removed: blocked, not misread
    let at_removed = suspended(resume::<v1::order>(&start::<v1::order>(&5), 0, 10));
    let err = resume::<Shorter>(&at_removed, 1, 11).unwrap_err();
    assert!(matches!(err, StepError::UnknownPoint { .. }), "{err:?}");
}

#[test]
fn an_identical_await_added_beside_the_point_blocks_rather_than_guesses() {
    let at_first = start::<v1::order>(&5);
    let err = resume::<v2_same_call_before::order>(&at_first, 0, 10).unwrap_err();
    assert!(matches!(err, StepError::UnknownPoint { .. }), "{err:?}");
    // the other points keep their identity
    let at_second = suspended(resume::<v1::order>(&at_first, 0, 10));
    let out = completed(resume::<v2_same_call_before::order>(&at_second, 1, 11));
    assert_eq!(out, 10 + 11);
}

#[test]
fn a_pin_covers_the_await_in_its_statement_block() {
    let state = start::<pinned_v1::pinned>(&5);
    assert_eq!(completed(resume::<pinned_block::pinned>(&state, 0, 10)), 10);
}

#[test]
fn a_new_saved_local_is_named() {
    let state = start::<v1::order>(&5);
    let err = resume::<v2_extra_local::order>(&state, 0, 10).unwrap_err();
    let StepError::PointChanged { point, why, .. } = &err else {
        panic!("expected a changed point, got {err:?}")
    };
    assert!(point.starts_with("ctx.call(double, x) at line "), "{point}");
    assert!(why.contains("`extra: u64`"), "{why}");
    assert!(err.blocks());
}

#[test]
fn a_changed_type_is_refused_before_decoding() {
    let state = start::<typed_v1::typed>(&5);
    let err = resume::<typed_v2::typed>(&state, 0, 10).unwrap_err();
    let StepError::PointChanged { why, .. } = &err else {
        panic!("expected a changed point, got {err:?}")
    };
    assert!(why.contains("`n: i64`"), "{why}");
    assert_eq!(completed(resume::<typed_v1::typed>(&state, 0, 10)), 310);
}

#[test]
fn another_awaited_expression_is_another_point() {
    let state = start::<v1::order>(&5);
    let err = resume::<v2_other_call::order>(&state, 0, 10).unwrap_err();
    let StepError::UnknownPoint { saved, .. } = &err else {
        panic!("expected an unknown point, got {err:?}")
    };
    assert!(saved.starts_with("ctx.call(double, x) at "), "{saved}");
    assert!(err.to_string().contains("the code changed there"), "{err}");
}

#[test]
fn a_pinned_name_is_the_identity() {
    let state = start::<pinned_v1::pinned>(&5);
    assert_eq!(completed(resume::<pinned_v2::pinned>(&state, 0, 10)), 11);
    let err = resume::<pinned_v3::pinned>(&state, 0, 10).unwrap_err();
    let StepError::PointChanged { why, .. } = &err else {
        panic!("expected a changed point, got {err:?}")
    };
    assert!(why.contains("operation awaited there changed"), "{why}");
    assert!(why.contains("EventWaiter<u64>"), "{why}");
}

#[test]
fn damaged_bytes_are_told_apart_from_changed_code() {
    let state = start::<v2_extra_local::order>(&5);
    let padded = [state.clone(), vec![7]].concat();
    let cut = &state[..state.len() - 1];
    // without this format's header, bytes too short for the first format's, or with
    // its resume point 0, are damaged too
    let headless = [
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 0, 0, 0, 5,
    ];
    for bad in [
        &padded[..],
        cut,
        &state[..10],
        &headless[..],
        &headless[..9],
    ] {
        let err = resume::<v2_extra_local::order>(bad, 0, 10).unwrap_err();
        assert!(
            matches!(err, StepError::CorruptState { .. }),
            "{} bytes: {err:?}",
            bad.len()
        );
        assert!(err.to_string().contains("damaged"), "{err}");
    }
    // the first state format started with a whole-machine fingerprint
    let legacy = [
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 0, 0, 0, 5,
    ];
    let err = resume::<v1::order>(&legacy, 0, 10).unwrap_err();
    assert_eq!(
        err,
        StepError::LegacyState {
            orchestrator: "order"
        }
    );
    assert!(err.to_string().contains("damaged outside durable"), "{err}");
}

#[test]
fn an_unknown_point_names_the_saved_one() {
    let mut state = start::<v1::order>(&5);
    state[4] ^= 0xff; // the identity follows the 4-byte magic
    let err = resume::<v1::order>(&state, 0, 10).unwrap_err();
    let StepError::UnknownPoint {
        orchestrator,
        saved,
    } = &err
    else {
        panic!("expected an unknown point, got {err:?}")
    };
    assert_eq!(*orchestrator, "order");
    assert!(saved.starts_with("ctx.call(double, x)"), "{saved}");
}

#[test]
fn a_bad_input_or_a_missing_result_is_an_error() {
    let ctx = OrchestrationContext::new("i", 0, 0);
    let step = v1::order::step(&ctx, StepInput::Start { input: &[0xff] });
    assert!(matches!(step, Err(StepError::Codec(_))));
    let state = start::<v1::order>(&5);
    let mut none = Completions::new();
    let step = v1::order::step(
        &ctx,
        StepInput::Resume {
            state: &state,
            completions: &mut none,
        },
    );
    assert_eq!(step, Err(StepError::MissingResult(TaskId(0))));
}

#[test]
fn versions_default_to_one() {
    assert_eq!(v1::order::VERSION, 1);
    assert_eq!(v1::order::NAME, v2_compatible::order::NAME);
}

mod approval_v1 {
    use super::*;

    #[orchestrator(name = "approval", version = 1)]
    pub async fn approval(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let amount = ctx.call(double, x).await?;
        let approver = format!("ann-{x}");
        #[point("approval")]
        let ok: bool = ctx.event("approval").await;
        Ok(if ok { amount } else { 0 } + approver.len() as u64)
    }
}

/// Version 3 keeps other locals at the pinned point; a migration maps the old ones.
mod approval_v3 {
    use super::*;

    pub struct Locals {
        pub cents: u64,
        pub approvers: Vec<String>,
    }

    #[durable::migration]
    pub fn from_v1(amount: u64, approver: String) -> Locals {
        Locals {
            cents: amount * 100,
            approvers: vec![approver],
        }
    }

    /// Takes the old locals in another order than the old code declared them.
    #[durable::migration]
    pub fn swapped(approver: String, amount: u64) -> Locals {
        from_v1::run(amount, approver)
    }

    #[orchestrator(name = "approval", version = 3, migrate(from = 1, point = "approval", with = from_v1))]
    pub async fn approval(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let amount = ctx.call(double, x).await?;
        let cents = amount * 100;
        let approvers = vec![format!("ann-{x}")];
        #[point("approval")]
        let ok: bool = ctx.event("approval").await;
        Ok(if ok { cents } else { 0 } + approvers.len() as u64)
    }

    #[orchestrator(name = "approval", version = 4, migrate(from = 1, point = "approval", with = swapped))]
    pub async fn misfit(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let amount = ctx.call(double, x).await?;
        let cents = amount * 100;
        let approvers = vec![format!("ann-{x}")];
        #[point("approval")]
        let ok: bool = ctx.event("approval").await;
        Ok(if ok { cents } else { 0 } + approvers.len() as u64)
    }
}

/// Steps `state`, saved by version `from`, with code of a later version.
fn migrate<O: Orchestration>(state: &[u8], from: u32, event: bool) -> Result<Step, StepError> {
    let ctx = OrchestrationContext::new("i", 2, 0);
    let mut completions = Completions::new();
    completions.insert(
        TaskId(1),
        Ok(durable::codec::encode_payload(&event, "event").unwrap()),
    );
    O::step(
        &ctx,
        StepInput::Migrate {
            from,
            state,
            completions: &mut completions,
        },
    )
}

#[test]
fn a_migration_maps_the_old_locals_at_its_point() {
    assert_eq!(approval_v3::approval::MIGRATES_FROM, [1]);
    let state = suspended(resume::<approval_v1::approval>(
        &start::<approval_v1::approval>(&5),
        0,
        10,
    ));
    // v1 would have given 10 + 5; v3, migrated, counts cents and approvers
    assert_eq!(
        completed(migrate::<approval_v3::approval>(&state, 1, true)),
        1001
    );
    assert_eq!(
        completed(migrate::<approval_v3::approval>(&state, 1, false)),
        1
    );
}

#[test]
fn a_migration_that_does_not_fit_the_checkpoint_is_refused() {
    let state = suspended(resume::<approval_v1::approval>(
        &start::<approval_v1::approval>(&5),
        0,
        10,
    ));
    let err = migrate::<approval_v3::misfit>(&state, 1, true).unwrap_err();
    let StepError::MigrationMismatch { why, .. } = &err else {
        panic!("expected a mismatch, got {err:?}")
    };
    assert!(
        why.contains("in the order the old code declared them"),
        "{why}"
    );
    assert!(err.blocks());
    // from a version without a migration at that point: checked as it is, and refused
    let err = migrate::<approval_v3::approval>(&state, 2, true).unwrap_err();
    assert!(matches!(&err, StepError::PointChanged { .. }), "{err:?}");
}

#[test]
fn a_point_unchanged_since_the_old_version_resumes_without_a_migration() {
    // suspended at v1's first await, which v3 has unchanged (it saves `x` there too)
    let state = start::<approval_v1::approval>(&5);
    let ctx = OrchestrationContext::new("i", 1, 0);
    let mut completions = Completions::new();
    completions.insert(
        TaskId(0),
        Ok(durable::codec::encode_payload(&10u64, "output").unwrap()),
    );
    let step = approval_v3::approval::step(
        &ctx,
        StepInput::Migrate {
            from: 1,
            state: &state,
            completions: &mut completions,
        },
    );
    // now at v3's pinned point, with v3's locals
    let at_approval = suspended(step);
    assert_eq!(
        completed(migrate_free::<approval_v3::approval>(&at_approval, true)),
        1001
    );
}

/// Resumes a checkpoint of the code's own version with the event at task 1.
fn migrate_free<O: Orchestration>(state: &[u8], event: bool) -> Result<Step, StepError> {
    let ctx = OrchestrationContext::new("i", 2, 0);
    let mut completions = Completions::new();
    completions.insert(
        TaskId(1),
        Ok(durable::codec::encode_payload(&event, "event").unwrap()),
    );
    O::step(
        &ctx,
        StepInput::Resume {
            state,
            completions: &mut completions,
        },
    )
}

// Differential tests for more compatible edits. Each compares an instance suspended
// under the old code and resumed under the new one with a fresh run of the new code
// whose awaits return the same values from that point on; the task ids differ where the
// new code awaits more or less before the point, so each run passes its own.

/// The first of v1's awaits is gone: `a` is computed instead of called for. v1's second
/// point (`ctx.call(add, (a, 1))`, saving `a`) is unchanged.
mod v2_removed_before {
    use super::*;

    #[orchestrator(name = "order")]
    pub async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = x * 2;
        let b = ctx.call(add, (a, 1)).await?;
        Ok(a + b * 10)
    }
}

/// An unconditional await of another expression before v1's first point, in the same
/// construct (the function's body); its result is not kept past it.
mod v2_other_call_before {
    use super::*;

    #[orchestrator(name = "order")]
    pub async fn order(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let seven = ctx.call(constant, ()).await?;
        if seven != 7 {
            return Err(TestError::Rejected(format!("constant gave {seven}")));
        }
        let a = ctx.call(double, x).await?;
        let b = ctx.call(add, (a, 1)).await?;
        Ok(a + b * 10)
    }
}

mod labelled_v1 {
    use super::*;

    #[orchestrator(name = "labelled")]
    pub async fn labelled(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = ctx.call(double, x).await?;
        let label = format!("n{a}");
        let len = label.len() as u64;
        let b = ctx.call(add, (a, len)).await?;
        let note = format!("{b}!");
        Ok(a + b + note.len() as u64)
    }
}

/// `label` and `note`, saved at no point, are renamed; the code after both points changed.
mod labelled_v2 {
    use super::*;

    #[orchestrator(name = "labelled")]
    pub async fn labelled(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = ctx.call(double, x).await?;
        let text = format!("n{a}");
        let len = text.len() as u64;
        let b = ctx.call(add, (a, len)).await?;
        let shout = format!("{b}!!");
        Ok(a + b * 10 + shout.len() as u64)
    }
}

mod looped_v1 {
    use super::*;

    #[orchestrator(name = "looped")]
    pub async fn looped(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
        let mut total = 0;
        for i in 0..n {
            total += ctx.call(add, (i, 1)).await?;
        }
        let mut k = 0;
        while k < 2 {
            k += 1;
            total = ctx.call(double, total).await?;
        }
        Ok(total)
    }
}

/// The same loops, with code edited around them: a loop with an await and a local
/// before the `for` loop, code between the loops and after them changed. (The loop
/// added before used to renumber the `for` loop's hidden iterator, which blocked every
/// instance waiting in it.)
mod looped_v2 {
    use super::*;

    #[orchestrator(name = "looped")]
    pub async fn looped(ctx: OrchestrationContext, n: u64) -> Result<u64, TestError> {
        let mut seven = 0;
        for j in 0..1u64 {
            seven += ctx.call(constant, ()).await? + j;
        }
        let zero = seven - 7;
        let mut total = zero;
        for i in 0..n {
            total += ctx.call(add, (i, 1)).await?;
        }
        let mut k = 0;
        total += 1;
        while k < 2 {
            k += 1;
            total = ctx.call(double, total).await?;
        }
        Ok(total * 3 + 1)
    }
}

#[test]
fn an_await_removed_before_the_point_keeps_it_resumable() {
    type New = v2_removed_before::order;
    // fresh v2: its only await, `add`, is task 0 and gives 11
    let expected = completed(resume::<New>(&start::<New>(&5), 0, 11));
    assert_eq!(expected, 10 + 110);
    // v1 suspended at its second point, where `double` had given 10 (what v2 computes)
    let at_second = suspended(resume::<v1::order>(&start::<v1::order>(&5), 0, 10));
    assert_eq!(completed(resume::<New>(&at_second, 1, 11)), expected);
    // v1 suspended at the removed await: blocked, not misread
    let err = resume::<New>(&start::<v1::order>(&5), 0, 10).unwrap_err();
    assert!(matches!(err, StepError::UnknownPoint { .. }), "{err:?}");
}

#[test]
fn an_await_of_another_expression_added_before_the_point_keeps_it_resumable() {
    type New = v2_other_call_before::order;
    // fresh v2: `constant` (task 0) gives 7, `double` (1) 10, `add` (2) 11
    let fresh = suspended(resume::<New>(&start::<New>(&5), 0, 7));
    let fresh = suspended(resume::<New>(&fresh, 1, 10));
    let expected = completed(resume::<New>(&fresh, 2, 11));
    assert_eq!(expected, 10 + 110);

    // v1 suspended at its first point: v2 takes it there, past the new await
    let at_first = start::<v1::order>(&5);
    let next = suspended(resume::<New>(&at_first, 0, 10));
    assert_eq!(completed(resume::<New>(&next, 1, 11)), expected);

    // v1 suspended at its second point
    let at_second = suspended(resume::<v1::order>(&at_first, 0, 10));
    assert_eq!(completed(resume::<New>(&at_second, 1, 11)), expected);
}

#[test]
fn a_renamed_local_saved_at_no_point_keeps_both_resumable() {
    type New = labelled_v2::labelled;
    // fresh v2: `double` gives 10, `add` gives 13; "13!!" has 4 bytes
    let fresh = suspended(resume::<New>(&start::<New>(&5), 0, 10));
    let expected = completed(resume::<New>(&fresh, 1, 13));
    assert_eq!(expected, 10 + 130 + 4);

    let at_first = start::<labelled_v1::labelled>(&5);
    let next = suspended(resume::<New>(&at_first, 0, 10));
    assert_eq!(completed(resume::<New>(&next, 1, 13)), expected);

    let at_second = suspended(resume::<labelled_v1::labelled>(&at_first, 0, 10));
    assert_eq!(completed(resume::<New>(&at_second, 1, 13)), expected);
    // v1 itself would have given 10 + 13 + 3
    assert_eq!(
        completed(resume::<labelled_v1::labelled>(&at_second, 1, 13)),
        26
    );
}

#[test]
fn a_point_in_a_loop_resumes_after_edits_outside_the_loop() {
    type Old = looped_v1::looped;
    type New = looped_v2::looped;
    let n = 3;
    // the results of the awaits from the `for` loop on, as a v2 run gets them: `add`
    // gives 1, 2, 3 (total 6, then v2's `+= 1`), `double` 14 and 28
    let results = [1, 2, 3, 14, 28];

    // fresh v2: `constant` is task 0, then the loops' awaits
    let mut fresh = suspended(resume::<New>(&start::<New>(&n), 0, 7));
    for (k, r) in results[..results.len() - 1].iter().enumerate() {
        fresh = suspended(resume::<New>(&fresh, k as u64 + 1, *r));
    }
    let expected = completed(resume::<New>(&fresh, results.len() as u64, results[4]));
    assert_eq!(expected, 28 * 3 + 1);

    // v1 suspended at each iteration of the `for` loop (after `skip` of its awaits, all
    // run by v1), then resumed by v2 with the same results from there on
    for skip in 0..n as usize {
        let mut state = start::<Old>(&n);
        for (task, r) in results[..skip].iter().enumerate() {
            state = suspended(resume::<Old>(&state, task as u64, *r));
        }
        for (k, r) in results[skip..results.len() - 1].iter().enumerate() {
            state = suspended(resume::<New>(&state, (skip + k) as u64, *r));
        }
        let out = completed(resume::<New>(
            &state,
            results.len() as u64 - 1,
            results[results.len() - 1],
        ));
        assert_eq!(
            out, expected,
            "suspended in iteration {skip} of the for loop"
        );
    }

    // v1 suspended in the `while` loop's first iteration: v1 ran the `for` loop without
    // v2's `total += 1`, so the `while` loop's awaits double 6, not 7 (from here on the
    // awaits return what v1's state leads to: 12, then 24)
    let mut state = start::<Old>(&n);
    for (task, r) in [1, 2, 3].iter().enumerate() {
        state = suspended(resume::<Old>(&state, task as u64, *r));
    }
    let state = suspended(resume::<New>(&state, 3, 12));
    let out = completed(resume::<New>(&state, 4, 24));
    // a fresh v2 run whose second `double` gives 24 ends the same way
    let mut fresh = suspended(resume::<New>(&start::<New>(&n), 0, 7));
    for (k, r) in [1, 2, 3, 12].iter().enumerate() {
        fresh = suspended(resume::<New>(&fresh, k as u64 + 1, *r));
    }
    assert_eq!(out, completed(resume::<New>(&fresh, 5, 24)));
    assert_eq!(out, 24 * 3 + 1);
}

/// A durable function as one deploy has it: its point saves nothing of its own.
mod helper_v1 {
    use super::*;

    #[durable::function]
    pub async fn pick(ctx: &OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let a = ctx.call(double, x).await?;
        Ok(a + 1)
    }

    #[orchestrator(name = "picker")]
    pub async fn picker(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        Ok(pick(&ctx, x).await? * 10)
    }
}

/// The next deploy changed the durable function where instances wait inside it: its
/// point now saves `bonus`. The orchestrator itself is unchanged.
mod helper_v2 {
    use super::*;

    #[durable::function]
    pub async fn pick(ctx: &OrchestrationContext, x: u64) -> Result<u64, TestError> {
        let bonus = x + 5;
        let a = ctx.call(double, x).await?;
        Ok(a + bonus)
    }

    #[orchestrator(name = "picker")]
    pub async fn picker(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
        Ok(pick(&ctx, x).await? * 10)
    }
}

#[test]
fn a_changed_durable_function_blocks_the_instances_waiting_inside_it() {
    let state = start::<helper_v1::picker>(&3);
    assert_eq!(completed(resume::<helper_v1::picker>(&state, 0, 6)), 70);
    let err = resume::<helper_v2::picker>(&state, 0, 6).unwrap_err();
    assert!(err.blocks(), "blocked, not failed: {err:?}");
    let StepError::InFunction { function, error } = &err else {
        panic!("expected the error inside the function, got {err:?}")
    };
    assert_eq!(*function, "pick");
    assert!(
        matches!(**error, StepError::PointChanged { .. }),
        "{error:?}"
    );
    assert!(err.to_string().contains("`bonus: u64`"), "{err}");
}
