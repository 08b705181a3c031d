//! The handlers. Each converts JSON at the edge and calls the [`Client`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, OriginalUri, Path, Request, State};
use axum::http::header::{HOST, LOCATION, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use durable_core::store::Purge;
use durable_core::{ClientError, InstanceFilter, InstanceStatus, Store, StoreError};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::HttpError;
use crate::inspect::inspection_json;
use crate::status::{instance_json, parse_status, parse_time};
use crate::Api;

type Shared<S> = State<Arc<Api<S>>>;

pub(crate) fn router<S: Store>(api: Arc<Api<S>>) -> Router {
    let limit = api.body_limit;
    Router::new()
        .route("/orchestrators/{name}", post(start::<S>))
        .route("/orchestrators/{name}/{id}", post(start_with_id::<S>))
        .route("/instances", get(list::<S>))
        .route("/instances/", get(list::<S>))
        .route("/instances/{id}", get(status::<S>).delete(purge::<S>))
        .route("/instances/{id}/state", get(inspect::<S>))
        .route("/instances/{id}/raiseEvent/{event}", post(raise_event::<S>))
        .route("/instances/{id}/terminate", post(terminate::<S>))
        .route("/instances/{id}/suspend", post(suspend::<S>))
        .route("/instances/{id}/resume", post(resume::<S>))
        .route("/instances/{id}/retry", post(retry::<S>))
        .merge(crate::dashboard::routes::<S>())
        .method_not_allowed_fallback(wrong_method)
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(api)
}

/// A method a route does not take: a JSON 405 (axum adds the `Allow` header).
async fn wrong_method(method: Method, uri: Uri) -> HttpError {
    HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("`{}` does not take {method}", uri.path()),
    )
}

/// A request body, or why it cannot be read (over the limit: `413`), as JSON.
struct Body(Bytes);

impl<S: Store> FromRequest<Arc<Api<S>>> for Body {
    type Rejection = HttpError;

    async fn from_request(request: Request, api: &Arc<Api<S>>) -> Result<Self, HttpError> {
        match Bytes::from_request(request, api).await {
            Ok(bytes) => Ok(Body(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(HttpError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the body is larger than the {} bytes the API reads",
                        api.body_limit
                    ),
                ))
            }
            Err(rejection) => Err(HttpError::new(rejection.status(), rejection.body_text())),
        }
    }
}

/// Any other path: a JSON 404 like every other error, naming what exists.
async fn no_route(uri: Uri) -> HttpError {
    HttpError::not_found(format!(
        "no route `{}`; the API has POST /orchestrators/{{name}}[/{{id}}], GET /instances, \
         GET and DELETE /instances/{{id}}, GET /instances/{{id}}/state, and POST \
         /instances/{{id}}/raiseEvent/{{event}}, /terminate, /suspend, /resume, /retry; the \
         dashboard is at GET /dashboard/",
        uri.path()
    ))
}

/// Where this router is reachable from the client's side: scheme, host and the prefix
/// it is nested under, so the links work behind `Router::nest`.
struct Base(String);

impl Base {
    fn new(headers: &HeaderMap, original: &Uri, local: &Uri) -> Self {
        let path = original.path();
        let prefix = path.strip_suffix(local.path()).unwrap_or("");
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.bytes().all(is_authority_byte));
        // the first of a proxy chain's list, and only a scheme a link can have
        let scheme = match headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.split(',').next())
            .map(str::trim)
        {
            Some(s) if s.eq_ignore_ascii_case("https") => "https",
            _ => "http",
        };
        match host {
            Some(host) => Self(format!("{scheme}://{host}{prefix}")),
            None => Self(prefix.to_owned()),
        }
    }

    fn instance(&self, id: &str) -> String {
        format!("{}/instances/{}", self.0, encode_segment(id))
    }
}

/// Whether `b` may appear in a URL's host and port.
fn is_authority_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:[]".contains(&b)
}

/// Percent-encodes what may not appear as is in one path segment.
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The body as JSON; an empty body is `null` (for inputs of type `()` or `Option`).
fn parse_body(body: &Bytes) -> Result<Value, HttpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| HttpError::bad_request(format!("the body is not valid JSON: {e}")))
}

/// What Durable Functions' clients send on every call: the task hub, the connection and
/// the function key of their host, and whether to show history (this engine keeps
/// none) and input. Accepted wherever a query is; only `showInput=false` changes an
/// answer.
const DURABLE_FUNCTIONS_PARAMS: [&str; 6] = [
    "taskHub",
    "connection",
    "code",
    "showHistory",
    "showHistoryOutput",
    "showInput",
];

/// The request's query parameters as `T`, less Durable Functions' own; and whether to
/// show inputs (`showInput` is not `false`).
fn query<T: DeserializeOwned>(uri: &Uri) -> Result<(T, bool), HttpError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|e| HttpError::bad_request(format!("the query string: {e}")))?;
    let show_input = !pairs.iter().any(|(k, v)| k == "showInput" && v == "false");
    let ours: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !DURABLE_FUNCTIONS_PARAMS.contains(&k.as_str()))
        .collect();
    let ours = serde_urlencoded::to_string(ours)
        .map_err(|e| HttpError::internal(format!("the query string: {e}")))?;
    // the path to what is wrong (`top: invalid digit`), as axum's extractor says it
    let fields = serde_urlencoded::Deserializer::new(form_urlencoded::parse(ours.as_bytes()));
    let parsed = serde_path_to_error::deserialize(fields)
        .map_err(|e| HttpError::bad_request(format!("Failed to deserialize query string: {e}")))?;
    Ok((parsed, show_input))
}

/// What a status query takes: Durable Functions' parameters only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

/// A link as a header value. Links are built from a checked host, the path prefix the
/// request came in on (visible ASCII, as the server parsed it) and percent-encoded ids.
fn location(url: &str) -> Result<HeaderValue, HttpError> {
    HeaderValue::from_str(url)
        .map_err(|_| HttpError::internal(format!("`{url}` cannot be a Location header")))
}

async fn start<S: Store>(
    api: Shared<S>,
    Path(name): Path<String>,
    headers: HeaderMap,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    Body(body): Body,
) -> Result<Response, HttpError> {
    start_instance(api, name, None, Base::new(&headers, &original, &uri), body).await
}

async fn start_with_id<S: Store>(
    api: Shared<S>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    Body(body): Body,
) -> Result<Response, HttpError> {
    let base = Base::new(&headers, &original, &uri);
    start_instance(api, name, Some(id), base, body).await
}

async fn start_instance<S: Store>(
    State(api): Shared<S>,
    name: String,
    id: Option<String>,
    base: Base,
    body: Bytes,
) -> Result<Response, HttpError> {
    let (version, types) = api.latest(&name).ok_or_else(|| {
        let mut known: Vec<_> = api.orchestrations.keys().copied().collect();
        known.sort_unstable();
        HttpError::not_found(format!(
            "no orchestrator named `{name}` (served: {})",
            known.join(", ")
        ))
    })?;
    let input = (types.input_from_json)(parse_body(&body)?)
        .map_err(|e| HttpError::bad_request(format!("input of `{name}`: {e}")))?;
    location(&base.0)?; // the links can be headers: checked before anything starts
    let client = &api.client;
    let id = match client
        .start_encoded(&name, version, id.as_deref(), input.clone())
        .await
    {
        Err(ClientError::Store(StoreError::AlreadyExists(id))) if api.replace_ended => {
            replace(&api, &name, version, id, input).await?
        }
        started => started?,
    };
    let status_uri = base.instance(&id);
    let links = json!({
        "id": id,
        "statusQueryGetUri": status_uri,
        "sendEventPostUri": format!("{status_uri}/raiseEvent/{{eventName}}"),
        "terminatePostUri": format!("{status_uri}/terminate?reason={{text}}"),
        "suspendPostUri": format!("{status_uri}/suspend"),
        "resumePostUri": format!("{status_uri}/resume"),
        "purgeHistoryDeleteUri": status_uri,
    });
    let headers = [(LOCATION, location(&status_uri)?)];
    Ok((StatusCode::ACCEPTED, headers, Json(links)).into_response())
}

/// Starts `name` under `id` in place of the instance that has ended there, purged with
/// its sub-orchestrations (ended is final, and the purge checks it again as it
/// deletes). A `409` if it runs or is blocked, if a step of its tree is under way, or if
/// another start takes the id first.
async fn replace<S: Store>(
    api: &Api<S>,
    name: &str,
    version: u32,
    id: String,
    input: Vec<u8>,
) -> Result<String, HttpError> {
    let client = &api.client;
    let ended = client
        .status(&id)
        .await?
        .is_some_and(|s| s.status.is_terminal());
    if ended && matches!(client.purge(&id).await?, Purge::Deleted { .. }) {
        return Ok(client
            .start_encoded(name, version, Some(&id), input)
            .await?);
    }
    Err(ClientError::Store(StoreError::AlreadyExists(id)).into())
}

async fn instance<S: Store>(api: &Api<S>, id: &str) -> Result<InstanceStatus, HttpError> {
    api.client
        .status(id)
        .await?
        .ok_or_else(|| HttpError::not_found(format!("no instance with id `{id}`")))
}

/// The instance, if it can still take events and commands.
async fn live_instance<S: Store>(api: &Api<S>, id: &str) -> Result<InstanceStatus, HttpError> {
    let instance = instance(api, id).await?;
    if instance.status.is_terminal() {
        return Err(HttpError::gone(format!(
            "instance `{id}` has ended ({:?})",
            instance.status
        )));
    }
    Ok(instance)
}

async fn status<S: Store>(
    State(api): Shared<S>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(original): OriginalUri,
    uri: Uri,
) -> Result<Response, HttpError> {
    let (NoParams {}, show_input) = query(&uri)?;
    let instance = instance(&api, &id).await?;
    let body = Json(instance_json(
        &instance,
        api.types(&instance.name, instance.version),
        show_input,
    ));
    if instance.status.is_terminal() {
        return Ok((StatusCode::OK, body).into_response());
    }
    let url = Base::new(&headers, &original, &uri).instance(&id);
    let headers = [
        (LOCATION, location(&url)?),
        (RETRY_AFTER, HeaderValue::from_static("1")),
    ];
    Ok((StatusCode::ACCEPTED, headers, body).into_response())
}

/// Where the instance waits, on what, and its live locals; `200` whatever its status.
async fn inspect<S: Store>(
    State(api): Shared<S>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, HttpError> {
    let (NoParams {}, _) = query(&uri)?;
    let inspection = api
        .client
        .inspect(&id)
        .await?
        .ok_or_else(|| HttpError::not_found(format!("no instance with id `{id}`")))?;
    let status = &inspection.status;
    let types = api.types(&status.name, status.version);
    Ok(Json(inspection_json(&inspection, types)).into_response())
}

async fn raise_event<S: Store>(
    State(api): Shared<S>,
    Path((id, event)): Path<(String, String)>,
    Body(body): Body,
) -> Result<StatusCode, HttpError> {
    let instance = live_instance(&api, &id).await?;
    let encode = api
        .types(&instance.name, instance.version)
        .and_then(|types| types.events.get(&event))
        .ok_or_else(|| {
            HttpError::not_found(format!(
                "orchestrator `{}` takes no event `{event}` over HTTP",
                instance.name
            ))
        })?;
    let payload = encode(parse_body(&body)?)
        .map_err(|e| HttpError::bad_request(format!("payload of event `{event}`: {e}")))?;
    api.client.raise_event_encoded(&id, &event, payload).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: Option<String>,
}

async fn terminate<S: Store>(
    State(api): Shared<S>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<StatusCode, HttpError> {
    let (Reason { reason }, _) = query(&uri)?;
    live_instance(&api, &id).await?;
    let reason = reason.as_deref().unwrap_or("terminated over HTTP");
    api.client.terminate(&id, reason).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn suspend<S: Store>(
    State(api): Shared<S>,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    live_instance(&api, &id).await?;
    api.client.suspend(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn resume<S: Store>(
    State(api): Shared<S>,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    live_instance(&api, &id).await?;
    api.client.resume(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn retry<S: Store>(
    State(api): Shared<S>,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    api.client.retry(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn purge<S: Store>(
    State(api): Shared<S>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    match api.client.purge(&id).await? {
        Purge::Deleted { descendants } => {
            Ok(Json(json!({ "instancesDeleted": 1 + descendants })).into_response())
        }
        Purge::NotFound => Err(HttpError::not_found(format!("no instance with id `{id}`"))),
        Purge::NotEnded(status) => Err(HttpError::conflict(format!(
            "instance `{id}` is {status:?}; terminate it before deleting it"
        ))),
        Purge::Busy => Err(HttpError::conflict(format!(
            "instance `{id}` or one of its sub-orchestrations is busy applying a message; \
             delete it again"
        ))),
    }
}

/// The most statuses one page holds.
const MAX_PAGE: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    /// Comma-separated statuses.
    runtime_status: Option<String>,
    name: Option<String>,
    version: Option<u32>,
    created_time_from: Option<String>,
    created_time_to: Option<String>,
    top: Option<usize>,
    continuation_token: Option<String>,
}

/// The header Durable Functions' list pages carry their continuation token in, both
/// ways: an answer names the next page in it, and the request for that page sends it
/// back.
const CONTINUATION_HEADER: &str = "x-ms-continuation-token";

/// `GET /instances` answers a page object, `{"instances", "continuationToken"}`.
/// `GET /instances/`, the URL Durable Functions' clients list with (their status URL
/// with the id left empty), answers in their shape: a JSON array, with the next page's
/// token in the `x-ms-continuation-token` header, which the request for that page sends
/// back in the same header. The token is the last id of the page, form-encoded so any
/// id is a header value.
async fn list<S: Store>(
    State(api): Shared<S>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, HttpError> {
    let durable_functions = uri.path().ends_with('/');
    let (params, show_input): (ListQuery, bool) = query(&uri)?;
    let header_token = match headers.get(CONTINUATION_HEADER) {
        None => None,
        Some(_) if !durable_functions => {
            return Err(HttpError::bad_request(format!(
                "`{CONTINUATION_HEADER}` pages `GET /instances/` (Durable Functions' \
                 shape); `GET /instances` takes the token as `continuationToken` in the query"
            )))
        }
        // empty: the first page; else form-encoded, so with no `&` or `=` left in it,
        // and as a form it is one key
        Some(value) => match value.to_str() {
            Ok("") => None,
            Ok(text) => form_urlencoded::parse(text.as_bytes())
                .next()
                .map(|(key, _)| key.into_owned()),
            Err(_) => {
                return Err(HttpError::bad_request(format!(
                    "`{CONTINUATION_HEADER}` is not a token this API gave"
                )))
            }
        },
    };
    let statuses = match &params.runtime_status {
        Some(list) => list
            .split(',')
            .map(parse_status)
            .collect::<Result<_, _>>()
            .map_err(HttpError::bad_request)?,
        None => Vec::new(),
    };
    let time = |field, text: &Option<String>| {
        text.as_deref()
            .map(|t| parse_time(field, t))
            .transpose()
            .map_err(HttpError::bad_request)
    };
    let filter = InstanceFilter {
        statuses,
        name: params.name,
        version: params.version,
        created_from: time("createdTimeFrom", &params.created_time_from)?,
        created_to: time("createdTimeTo", &params.created_time_to)?,
    };
    let top = params.top.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&top) {
        return Err(HttpError::bad_request(format!(
            "`top` must be from 1 to {MAX_PAGE}, not {top}"
        )));
    }
    let after = match (header_token, params.continuation_token) {
        (Some(_), Some(_)) => {
            return Err(HttpError::bad_request(format!(
                "the token is given twice: in `{CONTINUATION_HEADER}` and as `continuationToken`"
            )))
        }
        (header, query) => header.or(query),
    };
    let page = api.client.list(&filter, after.as_deref(), top).await?;
    let next = (page.len() == top)
        .then(|| page.last().map(|s| s.id.clone()))
        .flatten();
    let instances: Vec<Value> = page
        .iter()
        .map(|s| instance_json(s, api.types(&s.name, s.version), show_input))
        .collect();
    if !durable_functions {
        let page = json!({ "instances": instances, "continuationToken": next });
        return Ok(Json(page).into_response());
    }
    let mut response = Json(instances).into_response();
    if let Some(next) = next {
        let token: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let token = HeaderValue::try_from(token)
            .map_err(|e| HttpError::internal(format!("a continuation token: {e}")))?;
        response.headers_mut().insert(CONTINUATION_HEADER, token);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(host: Option<&str>, proto: Option<&str>, original: &str, local: &str) -> String {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(HOST, HeaderValue::from_str(host).unwrap());
        }
        if let Some(proto) = proto {
            headers.insert("x-forwarded-proto", HeaderValue::from_str(proto).unwrap());
        }
        let (original, local): (Uri, Uri) = (original.parse().unwrap(), local.parse().unwrap());
        Base::new(&headers, &original, &local).0
    }

    #[test]
    fn links_keep_the_prefix_and_a_checked_host_and_scheme() {
        let at = |host, proto| base(host, proto, "/api/instances/x", "/instances/x");
        assert_eq!(at(Some("svc:8080"), None), "http://svc:8080/api");
        assert_eq!(at(Some("svc"), Some("https, http")), "https://svc/api");
        assert_eq!(at(Some("svc"), Some("javascript")), "http://svc/api");
        assert_eq!(
            at(Some("evil.com/x?"), None),
            "/api",
            "not a host: relative links"
        );
        assert_eq!(at(None, None), "/api");
    }

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(encode_segment("order 7/a?b"), "order%207%2Fa%3Fb");
        assert_eq!(encode_segment("p:0"), "p:0");
    }
}
