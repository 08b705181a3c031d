//! The saved state carries the machine's layout fingerprint: a state is resumed only by
//! code of the same shape, and bad bytes are errors, never panics.

mod support;

use durable::{
    orchestrator, Completions, Orchestration, OrchestrationContext, Step, StepError, StepInput,
};
use support::*;

#[orchestrator]
async fn v1(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let a = ctx.call(double, x).await?;
    Ok(a + x)
}

/// The same orchestrator after a change that keeps a second local across the `.await`.
#[orchestrator(name = "v1")]
async fn v2(ctx: OrchestrationContext, x: u64) -> Result<u64, TestError> {
    let extra = x * 3;
    let a = ctx.call(double, x).await?;
    Ok(a + x + extra)
}

fn first_state<O: Orchestration>(input: &O::Input) -> Vec<u8> {
    let ctx = OrchestrationContext::new("i", 0, 0);
    let input = durable::codec::encode_payload(input, "input").unwrap();
    match O::step(&ctx, StepInput::Start { input: &input }).unwrap() {
        Step::Suspended(s) => s.state,
        other => panic!("expected a suspension, got {other:?}"),
    }
}

fn resume<O: Orchestration>(state: &[u8]) -> Result<Step, StepError> {
    let ctx = OrchestrationContext::new("i", 1, 0);
    let mut completions = Completions::new();
    completions.insert(
        durable::TaskId(0),
        Ok(durable::codec::encode_payload(&10u64, "output").unwrap()),
    );
    O::step(
        &ctx,
        StepInput::Resume {
            state,
            completions: &mut completions,
        },
    )
}

#[test]
fn fingerprints_follow_the_shape() {
    assert_ne!(v1::FINGERPRINT, v2::FINGERPRINT);
    assert_eq!(v1::NAME, v2::NAME);
}

#[test]
fn a_state_resumes_with_the_code_that_wrote_it() {
    let state = first_state::<v1>(&5);
    let step = resume::<v1>(&state).unwrap();
    assert_eq!(
        step,
        Step::Completed(durable::codec::encode_payload(&15u64, "t").unwrap())
    );
}

#[test]
fn a_state_of_another_layout_is_refused_before_decoding() {
    let state = first_state::<v1>(&5);
    let err = resume::<v2>(&state).unwrap_err();
    assert_eq!(
        err,
        StepError::LayoutMismatch {
            orchestrator: "v1",
            expected: v2::FINGERPRINT,
            found: v1::FINGERPRINT,
        }
    );
    let message = err.to_string();
    assert!(message.contains("`v1`"), "{message}");
    assert!(
        message.contains(&format!("{:#018x}", v1::FINGERPRINT)),
        "{message}"
    );
    assert!(
        message.contains(&format!("{:#018x}", v2::FINGERPRINT)),
        "{message}"
    );
}

#[test]
fn truncated_or_padded_states_are_errors() {
    let state = first_state::<v2>(&5);
    for cut in [0, 5, 12, state.len() - 1] {
        assert!(resume::<v2>(&state[..cut]).is_err(), "cut at {cut}");
    }
    let mut padded = state.clone();
    padded.push(7);
    assert!(matches!(resume::<v2>(&padded), Err(StepError::Codec(_))));
}

#[test]
fn an_unknown_resume_point_is_an_error() {
    let mut state = first_state::<v1>(&5);
    state[8..12].copy_from_slice(&99u32.to_le_bytes());
    assert_eq!(
        resume::<v1>(&state),
        Err(StepError::BadResumePoint {
            orchestrator: "v1",
            pc: 99
        })
    );
}

#[test]
fn a_bad_input_or_a_missing_result_is_an_error() {
    let ctx = OrchestrationContext::new("i", 0, 0);
    let step = v1::step(&ctx, StepInput::Start { input: &[0xff] });
    assert!(matches!(step, Err(StepError::Codec(_))));
    let state = first_state::<v1>(&5);
    let mut none = Completions::new();
    let step = v1::step(
        &ctx,
        StepInput::Resume {
            state: &state,
            completions: &mut none,
        },
    );
    assert_eq!(step, Err(StepError::MissingResult(durable::TaskId(0))));
}
