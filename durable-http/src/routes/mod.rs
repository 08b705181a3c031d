//! The handlers, by what they serve. Each converts JSON at the edge and calls the
//! [`Client`](durable_core::Client).

mod instances;
mod links;
mod list;
mod request;
mod start;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::Router;
use durable_core::Store;

use crate::error::HttpError;
use crate::Api;

use instances::{inspect, purge, raise_event, resume, retry, status, suspend, terminate};
use list::list;
use start::{start, start_with_id};

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
