//! What a request carries: its body as JSON, and its query parameters, less those
//! Durable Functions' clients add to every call.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, Uri};
use durable_core::Store;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::HttpError;
use crate::Api;

/// A request body, or why it cannot be read (over the limit: `413`), as JSON.
pub(super) struct Body(pub(super) Bytes);

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

/// The body as JSON; an empty body is `null` (for inputs of type `()` or `Option`).
pub(super) fn parse_body(body: &Bytes) -> Result<Value, HttpError> {
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
pub(super) fn query<T: DeserializeOwned>(uri: &Uri) -> Result<(T, bool), HttpError> {
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
pub(super) struct NoParams {}
