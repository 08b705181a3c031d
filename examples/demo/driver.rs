//! What the demos share: the five pattern instances, how they are registered and
//! served, and the driver that starts them over the HTTP API, watches them and plays
//! the user of the phone verification.

use std::collections::HashMap;
use std::time::Duration;

use durable::http::Api;
use durable::{Client, RuntimeBuilder, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};

use durable_patterns::{async_http_api, chaining, fan_out_fan_in, human_interaction, monitor};

/// Registers the orchestrations and activities of the five patterns.
pub fn register<S: Store>(mut builder: RuntimeBuilder<S>) -> RuntimeBuilder<S> {
    builder = chaining::register(builder);
    builder = fan_out_fan_in::register(builder);
    builder = async_http_api::register(builder);
    builder = monitor::register(builder);
    human_interaction::register(builder)
}

/// The HTTP API over `client`, with the five patterns' types.
pub fn api<S: Store>(client: Client<S>) -> axum::Router {
    Api::new(client)
        .orchestration(chaining::tidy)
        .orchestration(fan_out_fan_in::word_count)
        .orchestration(async_http_api::build_report)
        .custom_status::<String>(async_http_api::build_report)
        .orchestration(monitor::monitor)
        .orchestration(human_interaction::verify_phone)
        .event::<u32>(human_interaction::verify_phone, "code")
        .custom_status::<String>(human_interaction::verify_phone)
        .router()
}

/// Starts each pattern's instance over the API at `base` (or finds it started), prints
/// what each does until all have ended, and types the codes the verification asks for.
pub async fn run(base: &str) -> Result<(), Box<dyn std::error::Error>> {
    let http = reqwest::Client::new();
    let patterns = patterns();
    for p in &patterns {
        let url = format!("{base}/orchestrators/{}/{}", p.orchestrator, p.id);
        let response = http.post(url).json(&p.input).send().await?;
        match response.status() {
            StatusCode::ACCEPTED => println!("[{}] started `{}`", p.label, p.id),
            StatusCode::CONFLICT => println!("[{}] `{}` exists: continuing it", p.label, p.id),
            status => return Err(format!("starting {}: {status}", p.id).into()),
        }
    }
    println!();
    tokio::spawn(type_codes(http.clone(), base.to_owned()));
    watch(&http, base, &patterns).await?;
    Ok(())
}

/// The id of the verification left waiting for the person running the demo.
pub const YOURS: &str = "demo-verify-yours";

/// Starts a verification that waits for the person running the demo (or finds it
/// started), and says how to find it and answer it.
pub async fn wait_for_you(base: &str) -> Result<(), Box<dyn std::error::Error>> {
    let http = reqwest::Client::new();
    let phone = "+1 555 0199";
    let input = json!([phone, {"secs": 3600, "nanos": 0}]);
    let url = format!("{base}/orchestrators/verify_phone/{YOURS}");
    let response = http.post(url).json(&input).send().await?;
    if !matches!(
        response.status(),
        StatusCode::ACCEPTED | StatusCode::CONFLICT
    ) {
        return Err(format!("starting {YOURS}: {}", response.status()).into());
    }
    let code = human_interaction::code_for(phone);
    println!("\n`{YOURS}` waits for you: it texted {code:04} to {phone}.");
    println!("  dashboard: {base}/dashboard/#/instances/{YOURS}");
    println!("    (where it waits, its locals; raise event `code` with body {code})");
    println!("  CLI:       cargo run -p durable-cli -- --url {base} inspect {YOURS}");
    println!("             cargo run -p durable-cli -- --url {base} raise {YOURS} code {code}");
    Ok(())
}

/// One instance the demo runs: its label, fixed id, orchestrator and JSON input.
struct Pattern {
    label: &'static str,
    id: &'static str,
    orchestrator: &'static str,
    input: Value,
}

const PHONE: &str = "+1 555 0100";

fn patterns() -> Vec<Pattern> {
    let documents: Vec<String> = (1..=200).map(|n| "lorem ipsum dolor ".repeat(n)).collect();
    let seconds = |s: u64| json!({"secs": s, "nanos": 0});
    vec![
        Pattern {
            label: "chaining",
            id: "demo-chaining",
            orchestrator: "tidy",
            input: json!("  durable   orchestrations   without replay  "),
        },
        Pattern {
            label: "fan-out",
            id: "demo-fan-out",
            orchestrator: "word_count",
            input: json!(documents),
        },
        Pattern {
            label: "report",
            id: "demo-report",
            orchestrator: "build_report",
            input: json!({"title": "Q3 review", "sections": ["sales", "costs", "hiring", "outlook"]}),
        },
        Pattern {
            label: "monitor",
            id: "demo-monitor",
            orchestrator: "monitor",
            input: json!({
                "job": "nightly-export",
                "done_at_check": 6,
                "interval": seconds(2),
                "max_checks": 10,
            }),
        },
        Pattern {
            label: "verify",
            id: "demo-verify",
            orchestrator: "verify_phone",
            input: json!([PHONE, seconds(30)]),
        },
    ]
}

/// Prints each instance's status whenever it changes, until all have ended.
async fn watch(
    http: &reqwest::Client,
    base: &str,
    patterns: &[Pattern],
) -> Result<(), reqwest::Error> {
    let mut seen: HashMap<&str, (Value, Value)> = HashMap::new();
    loop {
        let mut running = 0;
        for p in patterns {
            let status: Value = http
                .get(format!("{base}/instances/{}", p.id))
                .send()
                .await?
                .json()
                .await?;
            let now = (
                status["runtimeStatus"].clone(),
                status["customStatus"].clone(),
            );
            if seen.get(p.id) == Some(&now) {
                running += usize::from(!is_final(&now.0));
                continue;
            }
            let (runtime_status, custom) = &now;
            let state = runtime_status.as_str().unwrap_or("?");
            match state {
                "Completed" => println!("[{}] completed: {}", p.label, status["output"]),
                "Failed" | "Terminated" => println!("[{}] {state}: {}", p.label, status["error"]),
                _ if custom.is_null() => println!("[{}] {state}", p.label),
                _ => println!("[{}] {state}: {custom}", p.label),
            }
            running += usize::from(!is_final(runtime_status));
            seen.insert(p.id, now);
        }
        if running == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn is_final(status: &Value) -> bool {
    matches!(status.as_str(), Some("Completed" | "Failed" | "Terminated"))
}

/// Plays the user of the phone verification: a wrong code at the first attempt, the
/// texted one at the second, each after a pause.
async fn type_codes(http: reqwest::Client, base: String) -> Result<(), reqwest::Error> {
    let mut typed_at = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let status: Value = http
            .get(format!("{base}/instances/demo-verify"))
            .send()
            .await?
            .json()
            .await?;
        if is_final(&status["runtimeStatus"]) {
            return Ok(());
        }
        let waiting = status["customStatus"].as_str().unwrap_or_default();
        let attempt = match waiting {
            s if s.contains("attempt 1 ") => 1,
            s if s.contains("attempt 2 ") => 2,
            s if s.contains("attempt 3 ") => 3,
            _ => continue,
        };
        if attempt == typed_at {
            continue;
        }
        let right = human_interaction::code_for(PHONE);
        let code = if attempt == 1 {
            (right + 1) % 10_000
        } else {
            right
        };
        println!("  [verify] user types {code:04}");
        http.post(format!("{base}/instances/demo-verify/raiseEvent/code"))
            .json(&code)
            .send()
            .await?;
        typed_at = attempt;
    }
}
