//! The HTTP management API, driven by a real HTTP client against a server on
//! 127.0.0.1, over the in-memory store.

use std::time::Duration;

use durable::http::Api;
use durable::{activity, orchestrator, select, Either, MemoryStore, OrchestrationContext, Runtime};
use reqwest::{Client, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Expense {
    who: String,
    cents: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Decision {
    approved: bool,
    by: String,
}

#[activity]
async fn file(expense: Expense) -> Result<String, String> {
    Ok(format!("filed {} cents for {}", expense.cents, expense.who))
}

#[orchestrator]
async fn approve(ctx: OrchestrationContext, expense: Expense) -> Result<String, String> {
    ctx.set_custom_status(&format!("waiting for a manager: {} cents", expense.cents))
        .map_err(|e| e.to_string())?;
    match select(
        ctx.timer(Duration::from_secs(60)),
        ctx.event::<Decision>("decision"),
    )
    .await
    {
        Either::Left(()) => Err("nobody decided".into()),
        Either::Right(Decision {
            approved: false,
            by,
        }) => Ok(format!("rejected by {by}")),
        Either::Right(Decision { by, .. }) => {
            let receipt = ctx.call(file, expense).await.map_err(|e| e.to_string())?;
            Ok(format!("{receipt}, approved by {by}"))
        }
    }
}

/// `approve` as a later deploy has it, and it alone: version 2, which files nothing.
#[orchestrator(name = "approve", version = 2)]
async fn approve_v2(ctx: OrchestrationContext, expense: Expense) -> Result<String, String> {
    let decision: Decision = ctx.event("decision").await;
    Ok(format!("v2: {} cents, {}", expense.cents, decision.by))
}

/// A runtime and the API on an ephemeral port; the base URL includes `prefix`.
async fn serve(prefix: &str) -> (Runtime<MemoryStore>, String) {
    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(approve)
        .activity(file)
        .start();
    let api = Api::new(runtime.client())
        .orchestration(approve)
        .event::<Decision>(approve, "decision")
        .custom_status::<String>(approve)
        .router();
    let app = if prefix.is_empty() {
        api
    } else {
        axum::Router::new().nest(prefix, api)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (runtime, format!("http://{addr}{prefix}"))
}

async fn body(response: Response) -> Value {
    response.json().await.unwrap()
}

fn expense(cents: u64) -> Value {
    json!({"who": "ann", "cents": cents})
}

/// Polls the status URL until it answers 200.
async fn finished(http: &Client, url: &str) -> Value {
    for _ in 0..200 {
        let response = http.get(url).send().await.unwrap();
        if response.status() == StatusCode::OK {
            return body(response).await;
        }
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{url} did not finish");
}

/// Polls the status URL until `runtimeStatus` is `status`.
async fn reaches(http: &Client, url: &str, status: &str) -> Value {
    for _ in 0..200 {
        let json = body(http.get(url).send().await.unwrap()).await;
        if json["runtimeStatus"] == status {
            return json;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{url} never became {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_poll_raise_and_finish() {
    let (_runtime, base) = serve("").await;
    let http = Client::new();
    let started = http
        .post(format!("{base}/orchestrators/approve"))
        .json(&expense(1200))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let links = body(started).await;
    let id = links["id"].as_str().unwrap();
    let status_url = format!("{base}/instances/{id}");
    assert_eq!(location, status_url);
    assert_eq!(links["statusQueryGetUri"], status_url);
    assert_eq!(links["purgeHistoryDeleteUri"], status_url);
    assert_eq!(
        links["sendEventPostUri"],
        format!("{status_url}/raiseEvent/{{eventName}}")
    );
    assert_eq!(
        links["terminatePostUri"],
        format!("{status_url}/terminate?reason={{text}}")
    );
    assert_eq!(links["suspendPostUri"], format!("{status_url}/suspend"));
    assert_eq!(links["resumePostUri"], format!("{status_url}/resume"));

    let waiting = reaches(&http, &status_url, "Running").await;
    assert_eq!(waiting["customStatus"], "waiting for a manager: 1200 cents");
    let polled = http.get(&status_url).send().await.unwrap();
    assert_eq!(polled.status(), StatusCode::ACCEPTED);
    assert_eq!(polled.headers()["location"], status_url.as_str());
    let polled = body(polled).await;
    assert_eq!(polled["name"], "approve");
    assert_eq!(polled["instanceId"], id);
    assert_eq!(polled["input"], expense(1200));
    assert_eq!(polled["output"], Value::Null);

    let raised = http
        .post(format!("{status_url}/raiseEvent/decision"))
        .json(&json!({"approved": true, "by": "bo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(raised.status(), StatusCode::ACCEPTED);
    let done = finished(&http, &status_url).await;
    assert_eq!(done["runtimeStatus"], "Completed");
    assert_eq!(done["output"], "filed 1200 cents for ann, approved by bo");
    let created = done["createdTime"].as_str().unwrap();
    let updated = done["lastUpdatedTime"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.contains('T'), "{created}");
    assert!(updated >= created, "{updated} < {created}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_carry_the_prefix_the_router_is_nested_under() {
    let (_runtime, base) = serve("/api").await;
    let http = Client::new();
    let started = http
        .post(format!("{base}/orchestrators/approve/order-7"))
        .json(&expense(5))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let links = body(started).await;
    assert_eq!(links["id"], "order-7");
    assert_eq!(
        links["statusQueryGetUri"],
        format!("{base}/instances/order-7")
    );
    let status = http.get(format!("{base}/instances/order-7")).send().await;
    assert_eq!(body(status.unwrap()).await["instanceId"], "order-7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_answered_with_a_reason() {
    let (_runtime, base) = serve("").await;
    let http = Client::new();
    let start = |body: &'static str| {
        http.post(format!("{base}/orchestrators/approve/x"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases = [
        ("{\"who\": ", "not valid JSON"),
        ("{\"who\": \"ann\"}", "missing field `cents`"),
        ("{\"who\": \"ann\", \"cents\": -3}", "Expense"),
        ("", "Expense"),
    ];
    for (input, reason) in cases {
        let response = start(input).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{input}");
        let error = body(response).await["error"].as_str().unwrap().to_owned();
        assert!(error.contains(reason), "{input}: {error}");
    }
    let no_route = http
        .get(format!("{base}/orchestrators"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_route.status(), StatusCode::NOT_FOUND);
    let error = body(no_route).await["error"].as_str().unwrap().to_owned();
    assert!(error.contains("/orchestrators"), "{error}");
    let nothing = http
        .get(format!("{base}/instances/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        nothing.status(),
        StatusCode::NOT_FOUND,
        "bad input started nothing"
    );

    let reserved = http
        .post(format!("{base}/orchestrators/approve/p:1"))
        .json(&expense(1))
        .send()
        .await
        .unwrap();
    assert_eq!(reserved.status(), StatusCode::BAD_REQUEST);
    let unknown = http
        .post(format!("{base}/orchestrators/nope"))
        .json(&json!(1))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let error = body(unknown).await["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("nope") && error.contains("approve"),
        "{error}"
    );

    for (method, path) in [
        ("GET", "/instances/ghost"),
        ("DELETE", "/instances/ghost"),
        ("POST", "/instances/ghost/raiseEvent/decision"),
        ("POST", "/instances/ghost/terminate"),
        ("POST", "/instances/ghost/suspend"),
        ("POST", "/instances/ghost/resume"),
    ] {
        let method = method.parse().unwrap();
        let response = http
            .request(method, format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(body(response).await["error"]
            .as_str()
            .unwrap()
            .contains("ghost"));
    }

    let started = start("{\"who\": \"ann\", \"cents\": 3}").await.unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let again = start("{\"who\": \"ann\", \"cents\": 3}").await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let event = |name: &str, payload: Value| {
        http.post(format!("{base}/instances/x/raiseEvent/{name}"))
            .json(&payload)
            .send()
    };
    let unknown_event = event("bribe", json!(100)).await.unwrap();
    assert_eq!(unknown_event.status(), StatusCode::NOT_FOUND);
    let wrong_payload = event("decision", json!({"approved": "yes"})).await.unwrap();
    assert_eq!(wrong_payload.status(), StatusCode::BAD_REQUEST);
    let error = body(wrong_payload).await["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(error.contains("Decision"), "{error}");
    let running = http
        .delete(format!("{base}/instances/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(running.status(), StatusCode::CONFLICT);
    let status = body(
        http.get(format!("{base}/instances/x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_ne!(
        status["runtimeStatus"], "Failed",
        "a refused event reached it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_then_delete() {
    let (_runtime, base) = serve("").await;
    let http = Client::new();
    let url = format!("{base}/instances/t1");
    http.post(format!("{base}/orchestrators/approve/t1"))
        .json(&expense(1))
        .send()
        .await
        .unwrap();
    let terminated = http
        .post(format!("{url}/terminate?reason=changed%20my%20mind"))
        .send()
        .await
        .unwrap();
    assert_eq!(terminated.status(), StatusCode::ACCEPTED);
    let done = finished(&http, &url).await;
    assert_eq!(done["runtimeStatus"], "Terminated");
    assert_eq!(done["error"], "changed my mind");
    for command in ["terminate", "suspend", "resume", "raiseEvent/decision"] {
        let response = http
            .post(format!("{url}/{command}"))
            .json(&json!({"approved": true, "by": "bo"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::GONE, "{command}");
    }
    let deleted = http.delete(&url).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(body(deleted).await["instancesDeleted"], 1);
    let gone = http.get(&url).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_instances_hold_events_until_resumed() {
    let (_runtime, base) = serve("").await;
    let http = Client::new();
    let url = format!("{base}/instances/s1");
    http.post(format!("{base}/orchestrators/approve/s1"))
        .json(&expense(9))
        .send()
        .await
        .unwrap();
    reaches(&http, &url, "Running").await;
    let misspelt = http
        .post(format!("{url}/suspend?reasn=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(misspelt.status(), StatusCode::BAD_REQUEST, "not ignored");
    let suspended = http
        .post(format!("{url}/suspend?reason=audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(suspended.status(), StatusCode::ACCEPTED);
    reaches(&http, &url, "Suspended").await;
    http.post(format!("{url}/raiseEvent/decision"))
        .json(&json!({"approved": false, "by": "cy"}))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let held = http.get(&url).send().await.unwrap();
    assert_eq!(held.status(), StatusCode::ACCEPTED);
    assert_eq!(body(held).await["runtimeStatus"], "Suspended");
    let resumed = http
        .post(format!("{url}/resume?reason=audited"))
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), StatusCode::ACCEPTED);
    assert_eq!(finished(&http, &url).await["output"], "rejected by cy");
}

/// Past the bound of events an instance holds untaken, a raise is refused with 429 and
/// a JSON reason, before anything is stored; the events accepted are all kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raise_past_the_event_bound_is_429() {
    let (_runtime, base) = serve("").await;
    let http = Client::new();
    let url = format!("{base}/instances/full");
    http.post(format!("{base}/orchestrators/approve/full"))
        .json(&expense(9))
        .send()
        .await
        .unwrap();
    reaches(&http, &url, "Running").await;
    http.post(format!("{url}/suspend")).send().await.unwrap();
    let raise = || {
        http.post(format!("{url}/raiseEvent/decision"))
            .json(&json!({"approved": false, "by": "cy"}))
            .send()
    };
    for _ in 0..durable::limits::MAX_BUFFERED_EVENTS {
        assert_eq!(raise().await.unwrap().status(), StatusCode::ACCEPTED);
    }
    let refused = raise().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let reason = body(refused).await["error"].as_str().unwrap().to_owned();
    assert!(reason.contains("1024 events it has not taken"), "{reason}");
    http.post(format!("{url}/resume")).send().await.unwrap();
    assert_eq!(finished(&http, &url).await["output"], "rejected by cy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_and_pages() {
    let (_runtime, base) = serve("").await;
    let http = Client::new();
    for n in 0..7 {
        http.post(format!("{base}/orchestrators/approve/i{n}"))
            .json(&expense(n))
            .send()
            .await
            .unwrap();
    }
    for n in 0..3 {
        http.post(format!("{base}/instances/i{n}/terminate"))
            .send()
            .await
            .unwrap();
        finished(&http, &format!("{base}/instances/i{n}")).await;
    }
    let ids = |page: &Value| -> Vec<String> {
        page["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["instanceId"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |query: String| {
        let http = http.clone();
        let url = format!("{base}/instances{query}");
        async move { http.get(url).send().await.unwrap() }
    };

    let terminated = body(list("?runtimeStatus=terminated".into()).await).await;
    assert_eq!(ids(&terminated), ["i0", "i1", "i2"]);
    assert_eq!(terminated["instances"][0]["input"], expense(0));
    let live = body(list("?runtimeStatus=Running,Pending&name=approve".into()).await).await;
    assert_eq!(ids(&live), ["i3", "i4", "i5", "i6"]);
    let other = body(list("?name=other".into()).await).await;
    assert!(ids(&other).is_empty());
    assert_eq!(live["instances"][0]["version"], 1);
    let on_one = body(list("?version=1&runtimeStatus=Running".into()).await).await;
    assert_eq!(ids(&on_one), ["i3", "i4", "i5", "i6"]);
    let on_two = body(list("?version=2".into()).await).await;
    assert!(ids(&on_two).is_empty());

    // only a blocked instance can be retried
    let retry = http
        .post(format!("{base}/instances/i3/retry"))
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), StatusCode::CONFLICT);
    let error = body(retry).await["error"].as_str().unwrap().to_owned();
    assert!(error.contains("not blocked"), "{error}");

    let mut pages = Vec::new();
    let mut token = None::<String>;
    loop {
        let query = match &token {
            Some(t) => format!("?top=3&continuationToken={t}"),
            None => "?top=3".into(),
        };
        let page = body(list(query).await).await;
        pages.push(ids(&page));
        match page["continuationToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages.concat(), ["i0", "i1", "i2", "i3", "i4", "i5", "i6"]);
    assert!(pages.iter().all(|p| p.len() <= 3));

    let created = terminated["instances"][0]["createdTime"].as_str().unwrap();
    let since = body(list(format!("?createdTimeFrom={created}")).await).await;
    assert!(ids(&since).contains(&"i0".to_owned()));
    let before = body(list(format!("?createdTimeTo={created}")).await).await;
    assert!(!ids(&before).contains(&"i0".to_owned()));

    for (query, reason) in [
        ("?top=0", "top"),
        ("?top=many", "top"),
        ("?runtimeStatus=Done", "Done"),
        ("?createdTimeFrom=yesterday", "createdTimeFrom"),
        ("?colour=red", "colour"),
        ("?version=new", "version"),
    ] {
        let response = list(query.into()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let error = body(response).await["error"].as_str().unwrap().to_owned();
        assert!(error.contains(reason), "{query}: {error}");
    }
}

/// What a new user's bad input meets at the edges: every error is JSON, ids have a
/// length bound and no control characters, and the body limit is the API's setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edges_answer_in_json() {
    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(approve)
        .activity(file)
        .start();
    let api = Api::new(runtime.client())
        .orchestration(approve)
        .body_limit(1024)
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, api).await });
    let base = format!("http://{addr}");
    let http = Client::new();
    let error_of = |response: Response| async move {
        let status = response.status();
        let json: Value = response.json().await.expect("a JSON body");
        (
            status,
            json["error"].as_str().unwrap_or_default().to_owned(),
        )
    };

    let long = "x".repeat(10_000);
    let started = http
        .post(format!("{base}/orchestrators/approve/{long}"))
        .json(&expense(5))
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(started).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error.contains("256"), "{error}");
    for id in ["a%00b", "tab%09id", "new%0Aline"] {
        let started = http
            .post(format!("{base}/orchestrators/approve/{id}"))
            .json(&expense(5))
            .send()
            .await
            .unwrap();
        let (status, error) = error_of(started).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{id}");
        assert!(error.contains("control"), "{id}: {error}");
    }

    let big = json!({"who": "x".repeat(2000), "cents": 1});
    let started = http
        .post(format!("{base}/orchestrators/approve"))
        .json(&big)
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(started).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error.contains("1024"), "{error}");

    let put = http.put(format!("{base}/instances")).send().await.unwrap();
    assert_eq!(put.headers()["allow"], "GET,HEAD");
    let (status, error) = error_of(put).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(error.contains("PUT"), "{error}");
    runtime.shutdown().await;
}

/// Durable Functions' clients send `taskHub`, `connection`, `code` and the `show*`
/// parameters on every call, and list with `instances/`: they are accepted (ignored
/// where they do not apply), and `showInput=false` leaves the input out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_functions_query_parameters_are_accepted() {
    let (runtime, base) = serve("").await;
    let http = Client::new();
    let df = "taskHub=hub&connection=Storage&code=secret";
    let started = http
        .post(format!("{base}/orchestrators/approve/df-1?{df}"))
        .json(&expense(7))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let shown = body(
        http.get(format!(
            "{base}/instances/df-1?{df}&showHistory=false&showHistoryOutput=false"
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(shown["input"]["cents"], 7);
    let hidden = body(
        http.get(format!("{base}/instances/df-1?{df}&showInput=false"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(hidden["instanceId"], "df-1");
    assert!(hidden["input"].is_null(), "{hidden}");
    // ours is a page object, Durable Functions' (`instances/`) an array
    for (path, first) in [("instances", "/instances/0"), ("instances/", "/0")] {
        let listed = http
            .get(format!("{base}/{path}?{df}&showInput=false&top=5"))
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status(), StatusCode::OK, "{path}");
        let listed = body(listed).await;
        let first = listed.pointer(first).expect(path);
        assert_eq!(first["instanceId"], "df-1", "{path}");
        assert!(first["input"].is_null(), "{path}");
    }
    let raised = http
        .post(format!("{base}/instances/df-1/terminate?reason=done&{df}"))
        .send()
        .await
        .unwrap();
    assert_eq!(raised.status(), StatusCode::ACCEPTED);
    let unknown = http
        .get(format!("{base}/instances?colour=red&{df}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.status(),
        StatusCode::BAD_REQUEST,
        "others are still refused"
    );
    runtime.shutdown().await;
}

/// `GET /instances/`, the URL Durable Functions' clients list with, answers their shape:
/// a JSON array, the next page's token in the `x-ms-continuation-token` header, sent
/// back in the same header; any id survives the trip. `GET /instances` keeps ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_functions_list_is_an_array_paged_by_header() {
    let (runtime, base) = serve("/api").await;
    let http = Client::new();
    // (id, as one path segment), in the order the list gives them
    let ids = [
        ("a 1", "a%201"),
        ("b+2", "b+2"),
        ("café/3", "caf%C3%A9%2F3"),
        ("d&e=4", "d&e=4"),
        ("f%5", "f%255"),
    ];
    for (id, segment) in ids {
        let started = http
            .post(format!("{base}/orchestrators/approve/{segment}"))
            .json(&expense(1))
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), StatusCode::ACCEPTED, "{id}");
    }
    const HEADER: &str = "x-ms-continuation-token";
    let ids_of = |page: &Value| -> Vec<String> {
        let page = page
            .as_array()
            .expect("Durable Functions' shape is an array");
        let ids = page.iter().map(|i| i["instanceId"].as_str().unwrap());
        ids.map(str::to_owned).collect()
    };

    let mut pages = Vec::new();
    let mut token = None::<String>;
    loop {
        let mut request = http.get(format!("{base}/instances/?top=2&taskHub=hub"));
        if let Some(token) = &token {
            request = request.header(HEADER, token);
        }
        let page = request.send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        token = page
            .headers()
            .get(HEADER)
            .map(|t| t.to_str().unwrap().to_owned());
        pages.push(ids_of(&body(page).await));
        if token.is_none() {
            break;
        }
    }
    let all: Vec<&str> = ids.iter().map(|(id, _)| *id).collect();
    assert_eq!(pages.concat(), all);
    assert_eq!(pages.len(), 3, "{pages:?}");

    let filtered = http
        .get(format!("{base}/instances/?runtimeStatus=Completed"))
        .send()
        .await
        .unwrap();
    assert!(filtered.headers().get(HEADER).is_none());
    assert_eq!(body(filtered).await, json!([]));
    let empty_token = http
        .get(format!("{base}/instances/?top=1"))
        .header(HEADER, "")
        .send()
        .await
        .unwrap();
    assert_eq!(empty_token.headers()[HEADER], "a+1", "form-encoded");
    assert_eq!(ids_of(&body(empty_token).await), ["a 1"], "the first page");

    let ours = http
        .get(format!("{base}/instances?top=2"))
        .send()
        .await
        .unwrap();
    assert!(ours.headers().get(HEADER).is_none());
    let ours = body(ours).await;
    assert_eq!(ours["instances"].as_array().unwrap().len(), 2);
    assert_eq!(ours["continuationToken"], "b+2");

    for (path, query, reason) in [
        ("instances", "", "instances/"),
        ("instances/", "?continuationToken=b%2B2", "twice"),
    ] {
        let refused = http
            .get(format!("{base}/{path}{query}"))
            .header(HEADER, "b%2B2")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{path}{query}");
        let error = body(refused).await["error"].as_str().unwrap().to_owned();
        assert!(error.contains(reason), "{path}{query}: {error}");
    }
    runtime.shutdown().await;
}

/// Starting an id whose instance has ended replaces it, tree and all, as Durable
/// Functions does; a running one is a 409; `replace_ended(false)` keeps the 409 for any
/// existing id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_an_ended_id_replaces_it() {
    let (runtime, base) = serve("").await;
    let http = Client::new();
    let start = |cents: u64| {
        http.post(format!("{base}/orchestrators/approve/again"))
            .json(&expense(cents))
            .send()
    };
    assert_eq!(start(1).await.unwrap().status(), StatusCode::ACCEPTED);
    let running = start(2).await.unwrap();
    assert_eq!(running.status(), StatusCode::CONFLICT, "it runs");
    http.post(format!("{base}/instances/again/terminate?reason=over"))
        .send()
        .await
        .unwrap();
    reaches(&http, &format!("{base}/instances/again"), "Terminated").await;
    assert_eq!(start(3).await.unwrap().status(), StatusCode::ACCEPTED);
    let replaced = reaches(&http, &format!("{base}/instances/again"), "Running").await;
    assert_eq!(
        replaced["input"]["cents"], 3,
        "the new instance, not the old"
    );
    assert!(replaced["error"].is_null(), "{replaced}");
    runtime.shutdown().await;

    let runtime = Runtime::builder(MemoryStore::new())
        .orchestration(approve)
        .activity(file)
        .start();
    let client = runtime.client();
    let api = Api::new(client.clone())
        .orchestration(approve)
        .replace_ended(false)
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, api).await });
    let url = format!("http://{addr}/orchestrators/approve/kept");
    let first = http.post(&url).json(&expense(1)).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    client.terminate("kept", "over").await.unwrap();
    reaches(
        &http,
        &format!("http://{addr}/instances/kept"),
        "Terminated",
    )
    .await;
    let again = http.post(&url).json(&expense(2)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT, "idempotent starts");
    runtime.shutdown().await;
}

#[tokio::test]
async fn state_shows_where_an_instance_waits_and_the_dashboard_is_served() {
    let (runtime, base) = serve("/api").await;
    let http = Client::new();
    let started = http
        .post(format!("{base}/orchestrators/approve/trip"))
        .json(&expense(4200))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let mut state = Value::Null;
    for _ in 0..200 {
        let response = http
            .get(format!("{base}/instances/trip/state"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        state = body(response).await;
        if !state["waiting"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let waiting = &state["waiting"];
    assert!(
        waiting["at"]["expression"]
            .as_str()
            .unwrap()
            .starts_with("select(ctx.timer(Duration::from_secs(60))"),
        "{state:#}"
    );
    assert_eq!(waiting["at"]["file"], "tests/http.rs");
    assert_eq!(waiting["at"]["line"], 37);
    assert_eq!(waiting["error"], Value::Null);
    assert_eq!(waiting["awaits"]["kind"], "any");
    assert_eq!(waiting["awaits"]["of"][0]["kind"], "timer");
    assert!(waiting["awaits"]["of"][0]["due"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(
        waiting["awaits"]["of"][1],
        json!({"kind": "event", "task": 1, "name": "decision"})
    );
    assert_eq!(
        waiting["locals"],
        json!([{"name": "expense", "type": "http::Expense", "value": expense(4200)}])
    );
    assert_eq!(state["input"], expense(4200));
    assert_eq!(state["customStatus"], "waiting for a manager: 4200 cents");
    assert_eq!(state["events"], json!([]));
    let missing = http
        .get(format!("{base}/instances/nobody/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // the dashboard, under the same prefix, loads its assets relative to itself
    let page = http.get(format!("{base}/dashboard/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("src=\"dashboard.js\""), "{html}");
    let script = http
        .get(format!("{base}/dashboard/dashboard.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{base}/dashboard"))
        .send()
        .await
        .unwrap();
    assert!(bare.status().is_redirection());
    assert_eq!(bare.headers()["location"], "dashboard/");
    runtime.shutdown().await;
}

/// A deploy that dropped version 1 of `approve` blocks its instances; over HTTP they are
/// listed as `Blocked` with the reason in `error`, retried (202: a retry steps a blocked
/// instance again with the code registered now, and blocks it again with the reason if
/// that still cannot run it), terminated and purged; events raised meanwhile wait, and
/// the instance continues by itself once a runtime with version 1 starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_instance_is_listed_retried_terminated_and_purged() {
    let store = std::sync::Arc::new(MemoryStore::new());
    // the API stays up across the deploys: a client with no workers of its own
    let api = Api::new(Runtime::builder(store.clone()).client_only())
        .orchestration(approve)
        .event::<Decision>(approve, "decision")
        .custom_status::<String>(approve)
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api).await });
    let http = Client::new();
    let url = |id: &str| format!("{base}/instances/{id}");
    let ids = ["b1", "b2", "b3"];

    // version 1 starts them; they wait for a decision
    let v1 = Runtime::builder(store.clone())
        .orchestration(approve)
        .activity(file)
        .start();
    for id in ids {
        let started = http
            .post(format!("{base}/orchestrators/approve/{id}"))
            .json(&expense(1200))
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), StatusCode::ACCEPTED, "{id}");
        let waiting = reaches(&http, &url(id), "Running").await;
        assert_eq!(waiting["customStatus"], "waiting for a manager: 1200 cents");
    }
    v1.shutdown().await;

    // a deploy with version 2 only: the decision reaches code that cannot resume them
    let v2 = Runtime::builder(store.clone())
        .orchestration(approve_v2)
        .activity(file)
        .start();
    let decision = json!({"approved": true, "by": "bob"});
    for id in ids {
        let raised = http
            .post(format!("{}/raiseEvent/decision", url(id)))
            .json(&decision)
            .send()
            .await
            .unwrap();
        assert_eq!(raised.status(), StatusCode::ACCEPTED, "{id}");
        let blocked = reaches(&http, &url(id), "Blocked").await;
        assert_eq!(blocked["version"], 1, "{id}");
    }
    let reason = "version 1 is not registered with this runtime (registered: 2)";

    let listed = body(
        http.get(format!("{base}/instances?runtimeStatus=Blocked"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let listed = listed["instances"].as_array().unwrap();
    let listed_ids: Vec<_> = listed.iter().map(|i| &i["instanceId"]).collect();
    assert_eq!(listed_ids, ids);
    for instance in listed {
        assert_eq!(instance["runtimeStatus"], "Blocked");
        assert_eq!(instance["version"], 1);
        let error = instance["error"].as_str().unwrap();
        assert!(error.contains(reason), "{error}");
        assert!(error.contains("`approve`"), "{error}");
    }
    for query in [
        "runtimeStatus=Running,Completed",
        "runtimeStatus=Blocked&version=2",
    ] {
        let page = body(
            http.get(format!("{base}/instances?{query}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(page["instances"], json!([]), "{query}");
    }
    // not ended: polled with 202, like a waiting instance
    let polled = http.get(url("b1")).send().await.unwrap();
    assert_eq!(polled.status(), StatusCode::ACCEPTED);

    // retried with code that still cannot run it: accepted, and blocked again
    let retried = http
        .post(format!("{}/retry", url("b1")))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = reaches(&http, &url("b1"), "Blocked").await;
    assert!(again["error"].as_str().unwrap().contains(reason), "{again}");

    // terminated, then purged
    let terminated = http
        .post(format!(
            "{}/terminate?reason=dropped%20with%20v1",
            url("b2")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(terminated.status(), StatusCode::ACCEPTED);
    let ended = finished(&http, &url("b2")).await;
    assert_eq!(ended["runtimeStatus"], "Terminated");
    assert_eq!(ended["error"], "dropped with v1");
    // purged as it is: a blocked instance can be deleted without terminating it first
    for id in ["b2", "b3"] {
        let deleted = http.delete(url(id)).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::OK, "{id}");
        assert_eq!(body(deleted).await["instancesDeleted"], 1, "{id}");
        let gone = http.get(url(id)).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND, "{id}");
    }
    v2.shutdown().await;

    // version 1 side by side: a runtime that has its code retries it as it starts, and
    // it takes the decision raised while it was blocked
    let both = Runtime::builder(store.clone())
        .orchestration(approve)
        .orchestration(approve_v2)
        .activity(file)
        .start();
    let done = finished(&http, &url("b1")).await;
    assert_eq!(done["runtimeStatus"], "Completed", "{done}");
    assert_eq!(done["output"], "filed 1200 cents for ann, approved by bob");
    assert_eq!(done["version"], 1);
    assert_eq!(done["error"], Value::Null);
    // no longer blocked: a retry is refused
    let retried = http
        .post(format!("{}/retry", url("b1")))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), StatusCode::CONFLICT);
    let listed = body(
        http.get(format!("{base}/instances?runtimeStatus=Blocked"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["instances"], json!([]));
    both.shutdown().await;
}
