//! Listing instances, in our page shape and in Durable Functions'.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use durable_core::{InstanceFilter, Store};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::HttpError;
use crate::status::{instance_json, parse_status, parse_time};

use super::request::query;
use super::Shared;

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
pub(super) async fn list<S: Store>(
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
