//! The `durable` binary against a real HTTP API on 127.0.0.1, over the in-memory store:
//! each subcommand's output, errors and exit codes, as a script would see them.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use durable::http::Api;
use durable::{
    orchestrator, select, Either, MemoryStore, OrchestrationContext, Runtime, RuntimeStatus,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Decision {
    approved: bool,
    by: String,
}

/// Waits an hour for a decision: long enough to inspect, suspend and terminate it.
#[orchestrator]
async fn approve(ctx: OrchestrationContext, cents: u64) -> Result<String, String> {
    match select(
        ctx.timer(Duration::from_secs(3600)),
        ctx.event::<Decision>("decision"),
    )
    .await
    {
        Either::Left(()) => Err("nobody decided".into()),
        Either::Right(Decision {
            approved: false,
            by,
        }) => Ok(format!("rejected by {by}")),
        Either::Right(Decision { by, .. }) => Ok(format!("{cents} cents approved by {by}")),
    }
}

/// A runtime and the API under `/api` on an ephemeral port, on their own threads so
/// that the tests can block on the binary.
struct Service {
    runtime: Runtime<MemoryStore>,
    tokio: tokio::runtime::Runtime,
    url: String,
}

impl Service {
    fn start() -> Self {
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (runtime, url) = tokio.block_on(async {
            let runtime = Runtime::builder(MemoryStore::new())
                .orchestration(approve)
                .start();
            let api = Api::new(runtime.client())
                .orchestration(approve)
                .event::<Decision>(approve, "decision")
                .router();
            let app = axum::Router::new().nest("/api", api);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            (runtime, format!("http://{addr}/api"))
        });
        Self {
            runtime,
            tokio,
            url,
        }
    }

    /// Starts an `approve` of `cents` as `id` and waits until it runs.
    fn approval(&self, id: &str, cents: u64) {
        let client = self.runtime.client();
        self.tokio
            .block_on(client.start(approve, Some(id), &cents))
            .unwrap();
        self.reaches(id, RuntimeStatus::Running);
    }

    fn reaches(&self, id: &str, status: RuntimeStatus) {
        let client = self.runtime.client();
        for _ in 0..400 {
            let now = self.tokio.block_on(client.status(id)).unwrap();
            if now.as_ref().is_some_and(|s| s.status == status) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("`{id}` never became {status:?}");
    }

    /// Runs `durable --url <this service> args..`.
    fn durable(&self, args: &[&str]) -> Run {
        durable(&self.url, args, None)
    }
}

/// What one run of the binary printed and how it exited.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// Asserts the exit code, showing both streams if it is another.
    fn exits(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs the binary with `--url url`, `stdin` piped in if given, `DURABLE_URL` unset.
fn durable(url: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_durable"));
    command
        .arg("--url")
        .arg(url)
        .args(args)
        .env_remove("DURABLE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    finish(child.wait_with_output().unwrap())
}

fn finish(output: Output) -> Run {
    Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[test]
fn list_shows_instances_as_a_table_or_json_and_pages() {
    let service = Service::start();
    service.approval("exp-1", 1200);
    service.approval("exp-2", 30);

    let table = service.durable(&["list"]).exits(0);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", table.stdout);
    assert!(
        lines[0].starts_with("INSTANCE  NAME     STATUS   CREATED"),
        "{}",
        lines[0]
    );
    for (line, id) in lines[1..].iter().zip(["exp-1", "exp-2"]) {
        assert!(
            line.starts_with(&format!("{id}     approve  Running  20")),
            "{line}"
        );
    }
    assert_eq!(table.stderr, "");

    let json = service.durable(&["list", "--json"]).exits(0).json();
    assert_eq!(json["instances"].as_array().unwrap().len(), 2);
    assert_eq!(json["continuationToken"], Value::Null);

    let page = service.durable(&["list", "--top", "1"]).exits(0);
    assert_eq!(page.stdout.lines().count(), 2, "{}", page.stdout);
    assert!(page.stderr.contains("--all"), "{}", page.stderr);
    let all = service.durable(&["list", "--top", "1", "--all"]).exits(0);
    assert_eq!(all.stdout.lines().count(), 3, "{}", all.stdout);
    let all = service
        .durable(&["--json", "list", "--top", "1", "--all"])
        .exits(0);
    assert_eq!(all.json()["instances"].as_array().unwrap().len(), 2);

    let none = service
        .durable(&["list", "--status", "Completed,Failed"])
        .exits(0);
    assert_eq!(none.stdout, "INSTANCE  NAME  STATUS  CREATED  UPDATED\n");
    assert_eq!(none.stderr, "durable: no instances match\n");
    let named = service.durable(&["list", "--status", "running", "--name", "approve"]);
    assert_eq!(named.exits(0).stdout.lines().count(), 3);

    let bad = service.durable(&["list", "--status", "Done"]).exits(1);
    assert!(
        bad.stderr
            .starts_with("durable: error: unknown runtimeStatus `Done`"),
        "{}",
        bad.stderr
    );
    assert_eq!(bad.stdout, "");
    let bad = service
        .durable(&["list", "--created-from", "yesterday"])
        .exits(1);
    assert!(bad.stderr.contains("createdTimeFrom"), "{}", bad.stderr);
    let usage = service.durable(&["list", "--top", "0"]).exits(2);
    assert!(usage.stderr.contains("--top"), "{}", usage.stderr);
}

#[test]
fn status_shows_the_instance_and_exits_0_whatever_its_status() {
    let service = Service::start();
    service.approval("exp-1", 1200);

    let status = service.durable(&["status", "exp-1"]).exits(0);
    assert!(
        status
            .stdout
            .starts_with("instance  exp-1\nname      approve\n"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("\nstatus    Running\n"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("\ninput     1200\n"),
        "{}",
        status.stdout
    );
    let json = service
        .durable(&["status", "exp-1", "--json"])
        .exits(0)
        .json();
    assert_eq!(json["instanceId"], "exp-1");
    assert_eq!(json["runtimeStatus"], "Running");

    service.durable(&["terminate", "exp-1"]).exits(0);
    service.reaches("exp-1", RuntimeStatus::Terminated);
    let ended = service.durable(&["status", "exp-1"]).exits(0);
    assert!(
        ended.stdout.contains("\nstatus    Terminated\n"),
        "{}",
        ended.stdout
    );
}

#[test]
fn an_unknown_instance_exits_1_with_the_apis_message() {
    let service = Service::start();
    for command in [
        "status",
        "inspect",
        "purge",
        "terminate",
        "suspend",
        "resume",
    ] {
        let run = service.durable(&[command, "nope"]).exits(1);
        assert_eq!(
            run.stderr, "durable: error: no instance with id `nope`\n",
            "{command}"
        );
        assert_eq!(run.stdout, "", "{command}");
    }
    let raise = service
        .durable(&["raise", "nope", "decision", "1"])
        .exits(1);
    assert!(
        raise.stderr.starts_with("durable: error: "),
        "{}",
        raise.stderr
    );
    assert!(raise.stderr.contains("nope"), "{}", raise.stderr);
}

#[test]
fn ids_with_url_characters_reach_their_instance() {
    let service = Service::start();
    let id = "a b/c?d#e%f";
    service.approval(id, 5);
    let json = service.durable(&["status", id, "--json"]).exits(0).json();
    assert_eq!(json["instanceId"], id);
    let raise = service.durable(&["raise", id, "decision", r#"{"approved": true, "by": "x"}"#]);
    raise.exits(0);
    service.reaches(id, RuntimeStatus::Completed);
}

#[test]
fn raise_completes_an_instance_waiting_for_the_event() {
    let service = Service::start();
    service.approval("exp-1", 1200);
    service.approval("exp-2", 30);

    let payload = r#"{"approved": true, "by": "bo"}"#;
    let raised = service
        .durable(&["raise", "exp-1", "decision", payload])
        .exits(0);
    assert_eq!(raised.stdout, "raised event `decision` on `exp-1`\n");
    service.reaches("exp-1", RuntimeStatus::Completed);
    let done = service.durable(&["status", "exp-1"]).exits(0);
    assert!(
        done.stdout
            .contains("\noutput    \"1200 cents approved by bo\"\n"),
        "{}",
        done.stdout
    );

    // the payload from standard input; `--json` prints the (empty) answer as nothing
    let stdin = r#"{"approved": false, "by": "cy"}"#;
    let piped = durable(
        &service.url,
        &["--json", "raise", "exp-2", "decision", "-"],
        Some(stdin),
    );
    assert_eq!(piped.exits(0).stdout, "");
    service.reaches("exp-2", RuntimeStatus::Completed);
    let json = service
        .durable(&["status", "exp-2", "--json"])
        .exits(0)
        .json();
    assert_eq!(json["output"], "rejected by cy");

    let ended = service
        .durable(&["raise", "exp-1", "decision", payload])
        .exits(1);
    assert!(
        ended.stderr.starts_with("durable: error: "),
        "{}",
        ended.stderr
    );

    service.approval("exp-3", 1);
    let unknown = service.durable(&["raise", "exp-3", "nudge"]).exits(1);
    assert!(unknown.stderr.contains("`nudge`"), "{}", unknown.stderr);
    let wrong = service
        .durable(&["raise", "exp-3", "decision", "true"])
        .exits(1);
    assert!(wrong.stderr.contains("decision"), "{}", wrong.stderr);
    let not_json = service
        .durable(&["raise", "exp-3", "decision", "yes"])
        .exits(2);
    assert!(
        not_json
            .stderr
            .starts_with("durable: error: the payload is not JSON"),
        "{}",
        not_json.stderr
    );
}

#[test]
fn suspend_resume_terminate_and_purge() {
    let service = Service::start();
    service.approval("exp-1", 1200);

    let suspended = service
        .durable(&["suspend", "exp-1", "--reason", "audit"])
        .exits(0);
    assert_eq!(suspended.stdout, "`exp-1`: suspend accepted\n");
    service.reaches("exp-1", RuntimeStatus::Suspended);
    service.durable(&["resume", "exp-1"]).exits(0);
    service.reaches("exp-1", RuntimeStatus::Running);

    let busy = service.durable(&["purge", "exp-1"]).exits(1);
    assert!(
        busy.stderr.contains("terminate it before deleting it"),
        "{}",
        busy.stderr
    );

    let terminated = service
        .durable(&["terminate", "exp-1", "--reason", "over budget"])
        .exits(0);
    assert_eq!(terminated.stdout, "`exp-1`: terminate accepted\n");
    service.reaches("exp-1", RuntimeStatus::Terminated);
    let json = service
        .durable(&["status", "exp-1", "--json"])
        .exits(0)
        .json();
    assert_eq!(json["error"], "over budget");
    let again = service.durable(&["terminate", "exp-1"]).exits(1);
    assert!(
        again.stderr.starts_with("durable: error: "),
        "{}",
        again.stderr
    );

    let purged = service.durable(&["purge", "exp-1"]).exits(0);
    assert_eq!(purged.stdout, "purged `exp-1`\n");
    service.durable(&["status", "exp-1"]).exits(1);
    service.approval("exp-2", 1);
    service.durable(&["terminate", "exp-2"]).exits(0);
    service.reaches("exp-2", RuntimeStatus::Terminated);
    let json = service
        .durable(&["purge", "exp-2", "--json"])
        .exits(0)
        .json();
    assert_eq!(json["instancesDeleted"], 1);
}

#[test]
fn inspect_shows_where_an_instance_waits() {
    let service = Service::start();
    service.approval("exp-1", 1200);

    // the checkpoint is taken when the instance suspends, just after it runs
    let mut text = String::new();
    for _ in 0..100 {
        text = service.durable(&["inspect", "exp-1"]).exits(0).stdout;
        if text.contains("waiting at") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(text.starts_with("instance  exp-1\n"), "{text}");
    let tree = text.split_once("\n\n").map(|(_, tree)| tree).unwrap_or("");
    let lines: Vec<&str> = tree.lines().collect();
    assert!(lines.len() >= 6, "{text}");
    assert!(
        lines[0].starts_with("waiting at ") && lines[0].contains("cli.rs:"),
        "{text}"
    );
    assert!(lines[1].starts_with("  select("), "{text}");
    assert!(lines[2].starts_with("  checkpoint "), "{text}");
    assert!(
        tree.contains("\n  awaits\n    first of\n      timer #"),
        "{text}"
    );
    assert!(tree.contains("\n      event #"), "{text}");
    assert!(tree.contains(" `decision`\n"), "{text}");
    assert!(
        tree.contains("\n  locals\n    cents: u64 = 1200\n"),
        "{text}"
    );

    let json = service
        .durable(&["inspect", "exp-1", "--json"])
        .exits(0)
        .json();
    assert_eq!(json["instanceId"], "exp-1");
    let at = &json["waiting"]["at"];
    assert!(at["file"].as_str().unwrap().ends_with("cli.rs"), "{json:#}");
    assert_eq!(json["waiting"]["awaits"]["kind"], "any");

    service.durable(&["terminate", "exp-1"]).exits(0);
    service.reaches("exp-1", RuntimeStatus::Terminated);
    let ended = service.durable(&["inspect", "exp-1"]).exits(0);
    assert!(
        ended.stdout.contains("not waiting at an `.await`"),
        "{}",
        ended.stdout
    );
}

#[test]
fn an_unreachable_service_exits_3() {
    // a port nothing listens on: bound, then freed
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/api");
    let run = durable(&url, &["list"], None).exits(3);
    assert!(
        run.stderr.starts_with("durable: error: cannot reach `"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");

    // the URL from the environment
    let output = Command::new(env!("CARGO_BIN_EXE_durable"))
        .args(["status", "x"])
        .env("DURABLE_URL", &url)
        .output()
        .unwrap();
    let run = finish(output).exits(3);
    assert!(
        run.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    let run = durable("http://127.0.0.1:1/api", &["status"], None).exits(2);
    assert!(run.stderr.contains("<ID>"), "{}", run.stderr);
    durable("ftp://x", &["list"], None).exits(2);
    durable("http://127.0.0.1:1/api", &["status", ".."], None).exits(2);
    let help = durable("http://127.0.0.1:1/api", &["--help"], None).exits(0);
    assert!(help.stdout.contains("Exit codes:"), "{}", help.stdout);
}
