//! The service's HTTP API: one method per route the tool uses, each answering the
//! response body as JSON or a [`Failure`].
//!
//! Ids and event names are user text put into URL paths, so each goes in as one
//! percent-encoded path segment: an id with `/`, `?` or `#` names that instance and
//! no other route.

use std::error::Error as _;
use std::time::Duration;

use reqwest::{Client, Method, StatusCode, Url};
use serde_json::Value;

use crate::args::ListArgs;
use crate::error::Failure;

/// How long a request may take, connecting included, before the service counts as
/// unreachable: a script waiting on a hung service should fail, not hang. The help's
/// exit codes name this number.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How much of an error body that is not the API's JSON goes into the message.
const SNIPPET: usize = 200;

/// The commands that change an instance's course, as the API's path names them.
#[derive(Debug, Clone, Copy)]
pub enum Control {
    Terminate,
    Suspend,
    Resume,
}

impl Control {
    pub fn path(self) -> &'static str {
        match self {
            Control::Terminate => "terminate",
            Control::Suspend => "suspend",
            Control::Resume => "resume",
        }
    }
}

/// A service's API at its base URL.
pub struct Service {
    base: Url,
    http: Client,
}

impl Service {
    pub fn new(base: Url) -> Result<Self, Failure> {
        if base.scheme() == "https" && !cfg!(feature = "tls") {
            return Err(Failure::Usage(format!(
                "`{base}` is https, and this build has no TLS: build durable-cli with \
                 `--features tls`, or use an http:// URL"
            )));
        }
        let http = Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| Failure::Usage(format!("cannot set up an HTTP client: {e}")))?;
        Ok(Self { base, http })
    }

    /// `GET /instances/{id}`: the status object.
    pub async fn status(&self, id: &str) -> Result<Value, Failure> {
        let url = self.url(&["instances", id])?;
        self.send(Method::GET, url, None).await
    }

    /// `GET /instances/{id}/state`: the status object plus where the instance waits.
    pub async fn state(&self, id: &str) -> Result<Value, Failure> {
        let url = self.url(&["instances", id, "state"])?;
        self.send(Method::GET, url, None).await
    }

    /// `GET /instances?..`: one page, `{"instances", "continuationToken"}`.
    pub async fn list(&self, filter: &ListArgs, token: Option<&str>) -> Result<Value, Failure> {
        let url = self.list_url(filter, token)?;
        self.send(Method::GET, url, None).await
    }

    /// The list's URL, with a query parameter for each filter given.
    fn list_url(&self, filter: &ListArgs, token: Option<&str>) -> Result<Url, Failure> {
        let mut url = self.url(&["instances"])?;
        let optional = [
            (
                "runtimeStatus",
                Some(filter.status.join(",")).filter(|s| !s.is_empty()),
            ),
            ("name", filter.name.clone()),
            ("createdTimeFrom", filter.created_from.clone()),
            ("createdTimeTo", filter.created_to.clone()),
            ("top", filter.top.map(|top| top.to_string())),
            ("continuationToken", token.map(str::to_owned)),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                url.query_pairs_mut().append_pair(key, &value);
            }
        }
        Ok(url)
    }

    /// `POST /instances/{id}/raiseEvent/{event}` with `payload` as the body.
    pub async fn raise(&self, id: &str, event: &str, payload: &Value) -> Result<Value, Failure> {
        let url = self.url(&["instances", id, "raiseEvent", event])?;
        self.send(Method::POST, url, Some(payload)).await
    }

    /// `POST /instances/{id}/{terminate|suspend|resume}?reason=..`.
    pub async fn control(
        &self,
        id: &str,
        control: Control,
        reason: Option<&str>,
    ) -> Result<Value, Failure> {
        let mut url = self.url(&["instances", id, control.path()])?;
        if let Some(reason) = reason {
            url.query_pairs_mut().append_pair("reason", reason);
        }
        self.send(Method::POST, url, None).await
    }

    /// `DELETE /instances/{id}`: `{"instancesDeleted": n}`.
    pub async fn purge(&self, id: &str) -> Result<Value, Failure> {
        let url = self.url(&["instances", id])?;
        self.send(Method::DELETE, url, None).await
    }

    /// The base URL with `segments` appended, each percent-encoded as one segment.
    fn url(&self, segments: &[&str]) -> Result<Url, Failure> {
        for segment in segments {
            // the URL standard drops `.` and `..` segments, and an empty one would
            // reach the route without it (`/instances/` is the list)
            if segment.is_empty() || *segment == "." || *segment == ".." {
                return Err(Failure::Usage(format!(
                    "`{segment}` cannot be sent as an id or event name in a URL path"
                )));
            }
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| Failure::Usage(format!("`{}` cannot take a path", self.base)))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Sends the request and reads the answer: its JSON body on success (`null` if
    /// empty), else the API's `{"error"}` message.
    async fn send(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Value, Failure> {
        let mut request = self.http.request(method, url.clone());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| unreachable(&url, &e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| unreachable(&url, &e))?;
        if !status.is_success() {
            return Err(Failure::Api {
                message: error_message(status, &bytes),
            });
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            Failure::Response(format!(
                "`{url}` answered {status} with a body that is not JSON: {e}"
            ))
        })
    }
}

/// The message of an error response: the API's `{"error": message}`, or else the status
/// and the start of whatever the body is (a proxy's error page, say).
fn error_message(status: StatusCode, body: &[u8]) -> String {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(message) = json.as_ref().and_then(|j| j.get("error")?.as_str()) {
        return message.to_owned();
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return format!("the service answered {status}");
    }
    let snippet: String = text.chars().take(SNIPPET).collect();
    let more = if snippet.len() < text.len() {
        "…"
    } else {
        ""
    };
    format!("the service answered {status}: {snippet}{more}")
}

/// Why `url` could not be reached, with the causes reqwest wraps (`connection
/// refused` is two levels down), each said once.
fn unreachable(url: &Url, error: &reqwest::Error) -> Failure {
    if error.is_timeout() {
        return Failure::Unreachable(format!(
            "`{url}` did not answer within {} seconds",
            TIMEOUT.as_secs()
        ));
    }
    let mut causes: Vec<String> = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // hyper's wrappers repeat their cause's text
        if !causes.last().is_some_and(|last| last.contains(&text)) {
            causes.push(text);
        }
        source = cause.source();
    }
    let why = causes.last().cloned().unwrap_or_else(|| error.to_string());
    Failure::Unreachable(format!("cannot reach `{url}`: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(base: &str) -> Service {
        Service::new(Url::parse(base).unwrap()).unwrap()
    }

    #[test]
    fn ids_are_one_percent_encoded_segment() {
        let api = service("http://h:1/api/");
        let url = api.url(&["instances", "a/b?c#d e%", "state"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://h:1/api/instances/a%2Fb%3Fc%23d%20e%25/state"
        );
    }

    #[test]
    fn the_base_may_end_with_or_without_a_slash_and_keeps_its_query() {
        let plain = service("http://h:1/api").url(&["instances"]).unwrap();
        assert_eq!(plain.as_str(), "http://h:1/api/instances");
        let keyed = service("http://h:1/?code=k").url(&["instances"]).unwrap();
        assert_eq!(keyed.as_str(), "http://h:1/instances?code=k");
    }

    #[test]
    fn list_filters_are_query_parameters() {
        let api = service("http://h:1/api");
        let mut filter = ListArgs {
            status: Vec::new(),
            name: None,
            created_from: None,
            created_to: None,
            top: None,
            all: false,
        };
        let plain = api.list_url(&filter, None).unwrap();
        assert_eq!(plain.as_str(), "http://h:1/api/instances");
        filter.status = vec!["Running".into(), "Failed".into()];
        filter.name = Some("a b".into());
        filter.created_from = Some("2026-11-26T10:00:00+01:00".into());
        filter.top = Some(5);
        let full = api.list_url(&filter, Some("id&1")).unwrap();
        assert_eq!(
            full.query(),
            Some(
                "runtimeStatus=Running%2CFailed&name=a+b&createdTimeFrom=\
                 2026-11-26T10%3A00%3A00%2B01%3A00&top=5&continuationToken=id%261"
            )
        );
    }

    #[test]
    fn segments_the_url_would_drop_are_refused() {
        let api = service("http://h:1/api");
        for id in ["", ".", ".."] {
            let failure = api.url(&["instances", id]).unwrap_err();
            assert!(matches!(failure, Failure::Usage(_)), "{id:?}: {failure:?}");
        }
    }

    #[test]
    fn error_messages_come_from_the_body_or_else_the_status() {
        let status = StatusCode::NOT_FOUND;
        assert_eq!(
            error_message(status, br#"{"error": "no instance with id `x`"}"#),
            "no instance with id `x`"
        );
        assert_eq!(
            error_message(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>\n"),
            "the service answered 502 Bad Gateway: <html>bad gateway</html>"
        );
        assert_eq!(
            error_message(status, b""),
            "the service answered 404 Not Found"
        );
        let long = "x".repeat(SNIPPET + 1);
        assert!(error_message(status, long.as_bytes()).ends_with("x…"));
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn https_needs_the_tls_feature() {
        let failure = Service::new(Url::parse("https://h/api").unwrap())
            .err()
            .unwrap();
        assert!(failure.to_string().contains("--features tls"), "{failure}");
    }
}
