//! One instance: its status and state, events and commands to it, and purging it.

use axum::extract::{OriginalUri, Path, State};
use axum::http::header::{LOCATION, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use durable_core::store::Purge;
use durable_core::{InstanceStatus, Store};
use serde::Deserialize;
use serde_json::json;

use crate::error::HttpError;
use crate::inspect::inspection_json;
use crate::status::instance_json;
use crate::Api;

use super::links::{location, Base};
use super::request::{parse_body, query, Body, NoParams};
use super::Shared;

pub(super) async fn instance<S: Store>(
    api: &Api<S>,
    id: &str,
) -> Result<InstanceStatus, HttpError> {
    api.client
        .status(id)
        .await?
        .ok_or_else(|| HttpError::not_found(format!("no instance with id `{id}`")))
}

/// The instance, if it can still take events and commands.
pub(super) async fn live_instance<S: Store>(
    api: &Api<S>,
    id: &str,
) -> Result<InstanceStatus, HttpError> {
    let instance = instance(api, id).await?;
    if instance.status.is_terminal() {
        return Err(HttpError::gone(format!(
            "instance `{id}` has ended ({:?})",
            instance.status
        )));
    }
    Ok(instance)
}

pub(super) async fn status<S: Store>(
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
pub(super) async fn inspect<S: Store>(
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

pub(super) async fn raise_event<S: Store>(
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

pub(super) async fn terminate<S: Store>(
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

/// Suspends an instance. The reason, if one is given, is logged: an instance keeps
/// no history to record it in.
pub(super) async fn suspend<S: Store>(
    State(api): Shared<S>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<StatusCode, HttpError> {
    let (Reason { reason }, _) = query(&uri)?;
    live_instance(&api, &id).await?;
    api.client.suspend(&id).await?;
    tracing::info!(instance = %id, reason = reason.as_deref().unwrap_or(""), "suspended over HTTP");
    Ok(StatusCode::ACCEPTED)
}

/// Resumes a suspended instance; the reason, if one is given, is logged.
pub(super) async fn resume<S: Store>(
    State(api): Shared<S>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<StatusCode, HttpError> {
    let (Reason { reason }, _) = query(&uri)?;
    live_instance(&api, &id).await?;
    api.client.resume(&id).await?;
    tracing::info!(instance = %id, reason = reason.as_deref().unwrap_or(""), "resumed over HTTP");
    Ok(StatusCode::ACCEPTED)
}

pub(super) async fn retry<S: Store>(
    State(api): Shared<S>,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    api.client.retry(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

pub(super) async fn purge<S: Store>(
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
