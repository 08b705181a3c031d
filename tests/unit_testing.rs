//! Unit tests of each pattern's orchestration with `durable::testing::InlineRunner`, as
//! the README's "Testing an orchestrator" shows: no store and no runtime, activities
//! run inline, the state is encoded, dropped and decoded at every `.await`, and timers
//! fire in virtual time (a 30-second timeout takes microseconds).

use std::time::Duration;

use durable::testing::InlineRunner;
use durable_patterns::{async_http_api, chaining, fan_out_fan_in, human_interaction, monitor};

#[tokio::test]
async fn chaining_passes_each_output_to_the_next_activity() {
    let runner = InlineRunner::new()
        .activity(chaining::normalize)
        .activity(chaining::capitalize)
        .activity(chaining::punctuate);
    let text = "  hello   durable world ".to_owned();
    let run = runner.run(chaining::tidy, &text).await.unwrap();
    assert_eq!(run.result, Ok("Hello durable world.".into()));
    assert_eq!(run.checkpoints.len(), 3, "one checkpoint per call");
}

#[tokio::test]
async fn fan_out_fan_in_adds_up_every_result() {
    let runner = InlineRunner::new().activity(fan_out_fan_in::count_words);
    let documents: Vec<String> = (1..=5).map(|n| "a b c ".repeat(n)).collect();
    let run = runner
        .run(fan_out_fan_in::word_count, &documents)
        .await
        .unwrap();
    assert_eq!(run.result, Ok(3 * (1 + 2 + 3 + 4 + 5)));
    assert_eq!(run.checkpoints.len(), 1, "the fan-out waits at one point");
}

#[tokio::test]
async fn monitor_waits_hour_long_timers_in_virtual_time() {
    let runner = InlineRunner::new().activity(monitor::job_done);
    let watch = |done_at_check, max_checks| monitor::Watch {
        job: "export".into(),
        done_at_check,
        interval: Duration::from_secs(3600),
        max_checks,
    };
    let run = runner.run(monitor::monitor, &watch(3, 10)).await.unwrap();
    assert_eq!(run.result, Ok("export done after 3 checks".into()));
    let run = runner.run(monitor::monitor, &watch(30, 4)).await.unwrap();
    assert_eq!(run.result, Ok("gave up on export after 4 checks".into()));
}

#[tokio::test]
async fn human_interaction_races_the_code_against_a_timeout() {
    let phone = "+1 555 0100".to_owned();
    let timeout = Duration::from_secs(30);
    let right = human_interaction::code_for(&phone);
    // no code arrives: the timer wins the first race
    let runner = InlineRunner::new().activity(human_interaction::send_code);
    let run = runner
        .run(human_interaction::verify_phone, &(phone.clone(), timeout))
        .await
        .unwrap();
    assert_eq!(run.result, Ok("timed out at attempt 1".into()));
    // events queued before the run reach the waits in order: a wrong code, then the right
    let runner = InlineRunner::new()
        .activity(human_interaction::send_code)
        .event("code", &1u32)
        .unwrap()
        .event("code", &right)
        .unwrap();
    let run = runner
        .run(human_interaction::verify_phone, &(phone, timeout))
        .await
        .unwrap();
    assert_eq!(run.result, Ok("verified at attempt 2".into()));
}

#[tokio::test]
async fn async_http_api_builds_the_report_section_by_section() {
    let runner = InlineRunner::new().activity(async_http_api::render_section);
    let request = async_http_api::ReportRequest {
        title: "Q3".into(),
        sections: vec!["sales".into(), "outlook".into()],
    };
    let run = runner
        .run(async_http_api::build_report, &request)
        .await
        .unwrap();
    let report = run.result.unwrap();
    assert_eq!(report.sections, ["sales", "outlook"]);
    assert_eq!(
        report.pages,
        ("sales".len() % 4 + 1 + "outlook".len() % 4 + 1) as u32
    );
    let empty = async_http_api::ReportRequest {
        title: "none".into(),
        sections: vec![],
    };
    let run = runner
        .run(async_http_api::build_report, &empty)
        .await
        .unwrap();
    assert_eq!(
        run.result,
        Err("a report needs at least one section".into())
    );
}
