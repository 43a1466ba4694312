//! Error responses in the §12 shape (`{"error":{"code","message",…}}`), with the HTTP status
//! that goes with each code. Messages are for logs and humans and never contain secrets.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use countersign_core::openpush::Envelope;
use serde_json::json;

/// An error answer of the device or admin API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    state: Option<String>,
    retry_after: Option<u64>,
    revocation: Option<Box<Envelope>>,
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            state: None,
            retry_after: None,
            revocation: None,
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// `bad_request` (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// `unsupported` (400).
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported", message)
    }

    /// `unauthorized` (401): one answer for unknown accounts and bad signatures alike.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "request authentication failed",
        )
    }

    /// `not_found` (404).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `rate_limited` (429) with `retry_after`.
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// `payload_too_large` (413).
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body over 16 KiB",
        )
    }

    /// `internal` (500); the detail is logged, not sent.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    /// Adds the `state` member (with `challenge_closed`).
    pub fn with_state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Adds a signed `revocation` envelope (with `account_revoked`, §11.5).
    pub fn with_revocation(mut self, env: Envelope) -> Self {
        self.revocation = Some(Box::new(env));
        self
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(format_args!("database: {e}"))
    }
}

impl From<countersign_core::Error> for ApiError {
    fn from(e: countersign_core::Error) -> Self {
        Self::internal(format_args!("core: {e}"))
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self::internal(format_args!("json: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut detail = json!({ "code": self.code, "message": self.message });
        if let Some(s) = &self.state {
            detail["state"] = json!(s);
        }
        if let Some(r) = self.retry_after {
            detail["retry_after"] = json!(r);
        }
        let mut body = json!({ "error": detail });
        if let Some(env) = &self.revocation {
            body["revocation"] = json!(env);
        }
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(r) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&r.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Result with [`ApiError`].
pub type ApiResult<T> = Result<T, ApiError>;
