//! Azure Durable Functions' own Node.js client, the npm package `durable-functions`,
//! drives the HTTP API: `tests/durable_functions_client/client.mjs` makes a
//! `DurableClient` as a Functions app gets one, pointed at an API served here on
//! 127.0.0.1, and calls start, status, raise, wait, list (more than a page, so it
//! follows `x-ms-continuation-token`), terminate, suspend, resume and purge, once with
//! `rpcBaseUrl` and once with the older webhook URL templates.
//!
//! Needs Node.js and npm (`apt-get install nodejs npm`; `scripts/test.sh` installs
//! them); the packages come from the npm registry at the versions in
//! `package-lock.json` (`npm ci`, run here when `node_modules` is missing or older).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::middleware::{self, Next};
use durable::http::Api;
use durable::{orchestrator, MemoryStore, OrchestrationContext, Runtime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::process::Command;

#[derive(Debug, Serialize, Deserialize)]
struct Order {
    item: String,
    qty: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Approval {
    by: String,
}

#[orchestrator]
async fn order(ctx: OrchestrationContext, order: Order) -> Result<String, String> {
    let approval = ctx.event::<Approval>("approval").await;
    Ok(format!(
        "{} x{} approved by {}",
        order.item, order.qty, approval.by
    ))
}

const HEADER: &str = "x-ms-continuation-token";

/// The Node.js project of the client.
fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/durable_functions_client")
}

/// Runs `program` with `args` in `dir`; a missing program fails with how to get it.
async fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    match Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .await
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{program}` is not installed: this test runs Durable Functions' Node.js client. \
             Install Node.js and npm (Debian: `apt-get install nodejs npm`; \
             scripts/test.sh does it), then run the test again"
        ),
        Err(e) => panic!("cannot run `{program}`: {e}"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `npm ci` when `node_modules` is missing or older than the lock file.
async fn install(dir: &Path) {
    let modified = |path: PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let installed = modified(dir.join("node_modules/.package-lock.json"));
    let locked = modified(dir.join("package-lock.json"));
    if matches!((installed, locked), (Some(i), Some(l)) if i >= l) {
        return;
    }
    let npm = run("npm", &["ci", "--no-audit", "--no-fund"], dir).await;
    assert!(
        npm.status.success(),
        "`npm ci` in {} failed ({}):\n{}{}",
        dir.display(),
        npm.status,
        text(&npm.stdout),
        text(&npm.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_durable_functions_node_client_drives_the_api() {
    let dir = client_dir();
    let node = run("node", &["--version"], &dir).await;
    assert!(node.status.success(), "`node --version`: {}", node.status);
    install(&dir).await;

    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(order)
        .start();
    let api = Api::new(runtime.client())
        .orchestration(order)
        .event::<Approval>(order, "approval")
        .router();
    // every request the client sends, as `METHOD path?query` and the paging header
    let requests = Arc::new(Mutex::new(Vec::<(String, Option<String>)>::new()));
    let log = requests.clone();
    let app = axum::Router::new()
        .nest("/api", api)
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let token = request.headers().get(HEADER);
            let token = token.map(|t| t.to_str().unwrap_or("?").to_owned());
            let line = format!("{} {}", request.method(), request.uri());
            log.lock().unwrap().push((line, token));
            next.run(request)
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let base = format!("http://{addr}/api/");
    let client = run("node", &["client.mjs", &base], &dir).await;
    let (stdout, stderr) = (text(&client.stdout), text(&client.stderr));
    assert!(
        client.status.success(),
        "client.mjs failed ({}):\n{stderr}{stdout}",
        client.status
    );
    let line = stdout.lines().last().unwrap_or_default();
    let seen: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("client.mjs printed no JSON line ({e}):\n{stdout}"));
    assert_eq!(seen["ok"], true, "{seen}");
    for form in ["rpc", "webhooks"] {
        let seen = &seen[form];
        assert_eq!(seen["output"], "book x2 approved by ann", "{form}: {seen}");
        assert_eq!(seen["resumed"], "pen x2 approved by bo", "{form}: {seen}");
        assert_eq!(seen["terminated"], "Terminated", "{form}: {seen}");
        assert_eq!(seen["purged"], 1, "{form}: {seen}");
        assert!(seen["listed"].as_u64().unwrap() > 100, "{form}: {seen}");
    }

    // the requests were Durable Functions' own: the list at `instances/`, paged by the
    // header, and the webhook form with its query on every call
    let requests = requests.lock().unwrap().clone();
    let sent = |method: &str, path: &str| {
        requests
            .iter()
            .any(|(line, _)| line.starts_with(&format!("{method} /api/{path}")))
    };
    for (method, path) in [
        ("POST", "orchestrators/order/rpc-order"),
        ("GET", "instances/rpc-order"),
        ("POST", "instances/rpc-order/raiseEvent/approval"),
        ("GET", "instances/?runtimeStatus=Running"),
        (
            "POST",
            "instances/rpc-bulk-000/terminate?reason=not%20needed",
        ),
        ("POST", "instances/rpc-bulk-001/suspend?reason=hold"),
        ("POST", "instances/rpc-bulk-001/resume?reason=go"),
        ("DELETE", "instances/rpc-order"),
        ("POST", "orchestrators/order/webhooks-order?code=secret"),
        (
            "GET",
            "instances/?taskHub=durable&connection=Storage&code=secret&runtimeStatus=Running",
        ),
        (
            "DELETE",
            "instances/webhooks-order?taskHub=durable&connection=Storage&code=secret",
        ),
    ] {
        assert!(sent(method, path), "no {method} {path} in {requests:#?}");
    }
    let paged: Vec<&str> = requests
        .iter()
        .filter_map(|(line, token)| token.as_ref().map(|_| line.as_str()))
        .collect();
    assert!(
        paged.contains(&"GET /api/instances/"),
        "getStatusAll took its second page with the header: {paged:?}"
    );
    assert!(
        paged
            .iter()
            .all(|line| line.starts_with("GET /api/instances/")),
        "only lists carry the header: {paged:?}"
    );
    runtime.shutdown().await;
}
