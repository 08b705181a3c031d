//! Starting instances: `POST /orchestrators/{name}[/{id}]`.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use durable_core::store::Purge;
use durable_core::{ClientError, Store, StoreError};
use serde_json::json;

use crate::error::HttpError;
use crate::Api;

use super::links::{location, Base};
use super::request::{parse_body, Body};
use super::Shared;

pub(super) async fn start<S: Store>(
    api: Shared<S>,
    Path(name): Path<String>,
    headers: HeaderMap,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    Body(body): Body,
) -> Result<Response, HttpError> {
    start_instance(api, name, None, Base::new(&headers, &original, &uri), body).await
}

pub(super) async fn start_with_id<S: Store>(
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
