//! Failures as HTTP responses: a status code and a JSON body `{"error": message}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use durable_core::{ClientError, StoreError};
use serde_json::json;

/// What a request could not do, and the status code that says why.
#[derive(Debug)]
pub(crate) struct HttpError {
    status: StatusCode,
    message: String,
}

impl HttpError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// The request clashes with the instance's state.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// The instance exists but has ended, so it takes no more events or commands.
    pub(crate) fn gone(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl From<ClientError> for HttpError {
    fn from(e: ClientError) -> Self {
        let status = match &e {
            ClientError::Store(StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
            ClientError::Store(StoreError::AlreadyExists(_)) => StatusCode::CONFLICT,
            ClientError::InvalidId(_) => StatusCode::BAD_REQUEST,
            ClientError::NotBlocked { .. } => StatusCode::CONFLICT,
            ClientError::Store(StoreError::TooManyEvents { .. }) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("HTTP API: {e}");
        }
        Self::new(status, e.to_string())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}
