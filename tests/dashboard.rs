//! The dashboard in a real browser: Debian's Chromium, headless, driven over WebDriver
//! by its `chromedriver` (through `fantoccini`). The human-interaction example's
//! verification waits for its code; the page shows it waiting at its `.await` with its
//! attempt counter, raises the code, shows it completed, and shows the API's refusal
//! of a command to an ended instance.
//!
//! Needs `apt-get install chromium chromium-driver` (`scripts/test.sh` installs them);
//! nothing here downloads a browser. `DURABLE_SCREENSHOTS=1` also writes the README's
//! screenshots, `docs/dashboard-list.png` and `docs/dashboard-instance.png`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use durable::http::Api;
use durable::{MemoryStore, Runtime};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use durable_patterns::human_interaction::{code_for, register, verify_phone};

const CHROMIUM: &str = "/usr/bin/chromium";
const INSTALL: &str = "apt-get install chromium chromium-driver";

/// How long a page gets to show what a step expects, polled every `POLL`.
const DEADLINE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);

/// A `chromedriver` on a port of its own, shut down with its browsers when dropped,
/// also when the test panics.
struct Chromedriver {
    child: Child,
    port: u16,
    /// Its and its browsers' `TMPDIR` (profiles, Chromium's singleton socket), deleted
    /// after them: Chromium leaves a directory in `/tmp` even when a session ends well.
    _tmp: tempfile::TempDir,
}

impl Chromedriver {
    async fn start() -> Self {
        let program = on_path("chromedriver").unwrap_or_else(|| {
            panic!("no `chromedriver` on PATH: this browser test needs `{INSTALL}`")
        });
        assert!(
            Path::new(CHROMIUM).is_file(),
            "no {CHROMIUM}: this browser test needs `{INSTALL}`"
        );
        // a free port: the OS picks one, and it is released for chromedriver to take
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let tmp = tempfile::tempdir().unwrap();
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e} (`{INSTALL}`)", program.display()));
        let mut driver = Chromedriver {
            child,
            port,
            _tmp: tmp,
        };
        let http = reqwest::Client::new();
        let status = format!("{}/status", driver.url());
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(exit) = driver.child.try_wait().unwrap() {
                panic!("chromedriver exited at start ({exit}) on port {port}");
            }
            if let Ok(response) = http.get(&status).send().await {
                let body: serde_json::Value = response.json().await.unwrap();
                if body["value"]["ready"] == true {
                    return driver;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver never got ready");
            tokio::time::sleep(POLL).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A headless Chromium session: Debian's binary, 1280×900.
    async fn browser(&self) -> Client {
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
        ];
        let capabilities = json!({
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url())
            .await
            .unwrap_or_else(|e| panic!("chromedriver cannot start {CHROMIUM}: {e}"))
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // `/shutdown` quits every session's browser; killing chromedriver alone would
        // leave them running. Then the process itself, whatever that answered.
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|file| file.is_file())
}

/// Polls `probe` until it gives a value; after `DEADLINE`, fails with `what` was
/// awaited and what the page showed last.
async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("waited {DEADLINE:?} for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// The element `#id`, one the page has from the start.
async fn by_id(browser: &Client, id: &str) -> Element {
    let found = browser.find(Locator::Id(id)).await;
    found.unwrap_or_else(|e| panic!("no #{id}: {e}"))
}

/// The rendered text of the element `css` finds (empty while it is hidden).
async fn text(browser: &Client, css: &str) -> Result<String, String> {
    let element = browser
        .find(Locator::Css(css))
        .await
        .map_err(|e| format!("no {css}: {e}"))?;
    element.text().await.map_err(|e| e.to_string())
}

/// Waits until the element `css` finds shows exactly `expected`.
async fn shows(browser: &Client, css: &str, expected: &str) {
    shows_as(browser, css, expected, |seen| seen == expected).await
}

/// Waits until the element `css` finds shows the code `expected`, whatever its spacing
/// (the API prints an awaited expression on one line, spaced anew from its tokens).
async fn shows_code(browser: &Client, css: &str, expected: &str) {
    let unspaced = |text: &str| text.split_whitespace().collect::<String>();
    shows_as(browser, css, expected, |seen| {
        unspaced(seen) == unspaced(expected)
    })
    .await
}

async fn shows_as(browser: &Client, css: &str, expected: &str, same: impl Fn(&str) -> bool) {
    eventually(&format!("{css} to show {expected:?}"), async || {
        let seen = text(browser, css).await?;
        if same(&seen) {
            Ok(())
        } else {
            Err(format!("{seen:?}"))
        }
    })
    .await
}

/// Accepts the `confirm()` an action asks, once it is open; returns its question.
async fn confirm(browser: &Client) -> String {
    let question = eventually("a confirm() dialog", async || {
        browser.get_alert_text().await.map_err(|e| e.to_string())
    })
    .await;
    browser.accept_alert().await.unwrap();
    question
}

/// The whole page as a PNG in `docs/{name}`, when `DURABLE_SCREENSHOTS=1`: the window
/// is made as tall as the page for it, then given its size back.
async fn screenshot(browser: &Client, name: &str) {
    if std::env::var_os("DURABLE_SCREENSHOTS").is_none_or(|value| value != "1") {
        return;
    }
    let (width, height) = browser.get_window_size().await.unwrap();
    let sizes = browser
        .execute(
            "return [window.outerHeight - window.innerHeight, document.body.scrollHeight]",
            vec![],
        )
        .await
        .unwrap();
    let tall = sizes[0].as_u64().unwrap() + sizes[1].as_u64().unwrap();
    let fit = |size: u64| u32::try_from(size).unwrap();
    browser
        .set_window_size(fit(width), fit(tall))
        .await
        .unwrap();
    let png = browser.screenshot().await.unwrap();
    browser
        .set_window_size(fit(width), fit(height))
        .await
        .unwrap();
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_a_waiting_verification_and_raises_its_code() {
    let driver = Chromedriver::start().await;

    let runtime = register(Runtime::builder(MemoryStore::new())).start();
    let client = runtime.client();
    let api = Api::new(client.clone())
        .orchestration(verify_phone)
        .event::<u32>(verify_phone, "code")
        .custom_status::<String>(verify_phone)
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api", listener.local_addr().unwrap());
    let app = axum::Router::new().nest("/api", api);
    tokio::spawn(async move { axum::serve(listener, app).await });

    // One verification already done, so the list has more than the one under test.
    let (bob, bob_phone) = ("verify-bob", "+1 555 0199");
    let input = (bob_phone.to_owned(), Duration::from_secs(600));
    client.start(verify_phone, Some(bob), &input).await.unwrap();
    client
        .raise_event(bob, "code", &code_for(bob_phone))
        .await
        .unwrap();
    let done = client.wait(verify_phone, bob, DEADLINE).await.unwrap();
    assert_eq!(done.unwrap(), "verified at attempt 1");
    // The one the page drives: it waits ten minutes for its code.
    let (ann, phone) = ("verify-ann", "+1 555 0100");
    let input = (phone.to_owned(), Duration::from_secs(600));
    client.start(verify_phone, Some(ann), &input).await.unwrap();

    let browser = driver.browser().await;
    browser.goto(&format!("{base}/dashboard/")).await.unwrap();

    // The list: both instances, each with its status.
    let row = format!(r#"#instances tbody tr[data-instance-id="{ann}"]"#);
    let done_row = format!(r#"#instances tbody tr[data-instance-id="{bob}"]"#);
    shows(&browser, &format!("{done_row} .badge"), "Completed").await;
    shows(&browser, &format!("{row} .badge"), "Running").await;
    screenshot(&browser, "dashboard-list.png").await;

    // Its page: waiting at the select, in its first attempt. (Found and clicked again
    // if the list's refresh replaced the row in between.)
    let link = format!("{row} a");
    eventually("a click on verify-ann in the list", async || {
        let found = browser.find(Locator::Css(&link)).await;
        found
            .map_err(|e| e.to_string())?
            .click()
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    shows(&browser, "#instance-id", ann).await;
    shows(&browser, "#status", "Running").await;
    shows_code(
        &browser,
        "#waiting-expression",
        r#"select(ctx.timer(timeout), ctx.event::<u32>("code"))"#,
    )
    .await;
    shows(
        &browser,
        r#"#locals tr[data-local="attempt"] td:nth-child(3)"#,
        "1",
    )
    .await;
    shows(
        &browser,
        "#custom-status",
        r#""waiting for the code, attempt 1 of 3""#,
    )
    .await;
    screenshot(&browser, "dashboard-instance.png").await;

    // The user's code, raised from the page.
    let code = code_for(phone);
    let name = by_id(&browser, "event-name").await;
    name.send_keys("code").await.unwrap();
    let body = by_id(&browser, "event-body").await;
    body.send_keys(&code.to_string()).await.unwrap();
    by_id(&browser, "raise-event").await.click().await.unwrap();
    assert_eq!(
        confirm(&browser).await,
        format!(r#"Raise event "code" on instance "{ann}"?"#)
    );
    shows(&browser, "#status", "Completed").await;
    shows(&browser, "#output", r#""verified at attempt 1""#).await;
    let not_waiting = by_id(&browser, "not-waiting").await;
    assert!(not_waiting.is_displayed().await.unwrap());

    // A command to an ended instance: the API's 410 and its message, in the banner.
    by_id(&browser, "terminate").await.click().await.unwrap();
    assert_eq!(
        confirm(&browser).await,
        format!(r#"Terminate instance "{ann}"?"#)
    );
    shows(
        &browser,
        "#error-text",
        &format!("410 Gone: instance `{ann}` has ended (Completed)"),
    )
    .await;
    let banner = by_id(&browser, "error-banner").await;
    assert_eq!(
        banner.attr("data-status").await.unwrap().as_deref(),
        Some("410")
    );

    browser.close().await.unwrap();
    runtime.shutdown().await;
}
