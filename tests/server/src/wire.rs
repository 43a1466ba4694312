//! Request and response plumbing shared by the device, admin and page handlers: bounded body
//! reading (16 KiB), strict JSON parsing (I-JSON rules of §2.1 that serde does not enforce
//! itself), and envelope responses.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use countersign_core::openpush::Envelope;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// Largest request body accepted (§3.2).
pub const MAX_REQUEST: usize = 16 * 1024;
/// Deepest JSON nesting accepted (§2.1).
const MAX_DEPTH: usize = 8;

/// Reads the whole body, failing with `payload_too_large` past 16 KiB.
pub(crate) async fn read_body(body: Body) -> ApiResult<Bytes> {
    axum::body::to_bytes(body, MAX_REQUEST)
        .await
        .map_err(|_| ApiError::too_large())
}

/// Nesting depth of a JSON text (strings skipped), without parsing it.
fn depth(bytes: &[u8]) -> usize {
    let (mut d, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                d += 1;
                max = max.max(d);
            }
            b'}' | b']' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses a JSON body strictly: UTF-8 without BOM, depth ≤ 8, duplicate members rejected (the
/// derived deserialisers do that), integers only (the message types have no floats). Error
/// messages give a position, never the offending value.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> ApiResult<T> {
    if bytes.starts_with(&[0xef, 0xbb, 0xbf]) {
        return Err(ApiError::bad_request(format!("{what}: byte-order mark")));
    }
    if depth(bytes) > MAX_DEPTH {
        return Err(ApiError::bad_request(format!(
            "{what}: nested deeper than 8"
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Data => {
                "a member is missing, duplicated or of the wrong type"
            }
            _ => "not valid JSON",
        };
        ApiError::bad_request(format!(
            "{what}: {kind} (line {} column {})",
            e.line(),
            e.column()
        ))
    })
}

/// A signed envelope as the response body.
pub(crate) fn envelope(status: StatusCode, env: &Envelope) -> Response {
    (status, Json(env)).into_response()
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (status, Json(value)).into_response()
}

/// A string field within `max` Unicode scalar values.
pub(crate) fn max_chars(value: &str, max: usize, field: &str) -> ApiResult<()> {
    if value.chars().count() > max {
        return Err(ApiError::bad_request(format!(
            "{field}: longer than {max} characters"
        )));
    }
    Ok(())
}

/// A base64url identifier of 16 bytes (§2.1).
pub(crate) fn check_id(value: &str, field: &'static str) -> ApiResult<()> {
    countersign_core::openpush::encoding::check_id(value, field)
        .map_err(|_| ApiError::bad_request(format!("{field}: not a 16-byte base64url id")))
}

/// A fresh random identifier.
pub(crate) fn new_id() -> ApiResult<String> {
    Ok(countersign_core::openpush::encoding::random_id()?)
}

/// Cuts `text` to at most `max` bytes on a character boundary (context hard limits, §8.2).
pub(crate) fn fit_bytes(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}
