//! Device request authentication (§6): the four `OpenPush-*` headers, the ±120 s window, the
//! per-account nonce cache (300 s) and the ES256 signature over the request string. Unknown
//! accounts and bad signatures get the same `unauthorized` answer.

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use countersign_core::crypto::es256_verify;
use countersign_core::openpush::encoding::unb64_len;
use countersign_core::openpush::verify::request_input;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Request-auth time window (§6).
pub(crate) const WINDOW: u64 = 120;
/// How long a request nonce is remembered (§6: at least twice the window).
pub(crate) const NONCE_TTL: u64 = 300;

/// Whether the account may use active-only endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountState {
    /// Waiting for its activation challenge.
    Pending,
    /// Confirmed.
    Active,
}

/// An authenticated device request.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub account_id: String,
    pub user: String,
    pub state: AccountState,
    /// `OpenPush-Nonce`, echoed as `request_nonce`.
    pub nonce: String,
    pub device_key: Vec<u8>,
}

impl Device {
    /// `account_pending` unless the account is active.
    pub(crate) fn require_active(&self) -> ApiResult<()> {
        if self.state == AccountState::Active {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "account_pending",
                "the account is not confirmed yet",
            ))
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> ApiResult<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::unauthorized)
}

/// Decimal without sign or leading zeros (§2.1).
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

#[derive(Serialize)]
struct Revoked<'a> {
    account_id: &'a str,
    reason: &'a str,
    request_nonce: &'a str,
    server_time: u64,
}

/// Authenticates a device request; `path` is the request target as sent (path and query).
pub(crate) fn authenticate(
    st: &AppState,
    conn: &Connection,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Device> {
    let account_id = header(headers, "openpush-account")?;
    let time_text = header(headers, "openpush-time")?;
    let nonce = header(headers, "openpush-nonce")?;
    let sig_text = header(headers, "openpush-signature")?;
    let now = st.now();

    let row: Option<(String, String, Option<String>, Vec<u8>)> = conn
        .query_row(
            "SELECT user, state, revoked_reason, device_key FROM accounts WHERE id = ?1",
            params![account_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((user, state, revoked_reason, device_key)) = row else {
        return Err(ApiError::unauthorized());
    };
    if countersign_core::openpush::encoding::check_id(nonce, "nonce").is_err() {
        return Err(ApiError::unauthorized());
    }
    if state == "revoked" {
        let env = st.sign(
            "revoked",
            &Revoked {
                account_id,
                reason: revoked_reason.as_deref().unwrap_or("revoked"),
                request_nonce: nonce,
                server_time: now,
            },
        )?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_revoked",
            "the account was revoked by the server",
        )
        .with_revocation(env));
    }
    let time = parse_decimal(time_text).ok_or_else(ApiError::unauthorized)?;
    if time.abs_diff(now) > WINDOW {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "stale_request",
            "request time outside the ±120 s window",
        ));
    }
    conn.execute(
        "DELETE FROM request_nonces WHERE seen_at < ?1",
        params![now.saturating_sub(NONCE_TTL * 2) as i64],
    )?;
    let seen: Option<i64> = conn
        .query_row(
            "SELECT seen_at FROM request_nonces WHERE account_id = ?1 AND nonce = ?2",
            params![account_id, nonce],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(at) = seen
        && (at as u64) + NONCE_TTL > now
    {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "replayed_request",
            "request nonce already used",
        ));
    }
    let sig = unb64_len(sig_text, 64, "signature").map_err(|_| ApiError::unauthorized())?;
    let target = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string());
    let msg = request_input(method.as_str(), &target, account_id, time, nonce, body);
    if !es256_verify(&device_key, &msg, &sig) {
        return Err(ApiError::unauthorized());
    }
    conn.execute(
        "INSERT OR REPLACE INTO request_nonces (account_id, nonce, seen_at) VALUES (?1, ?2, ?3)",
        params![account_id, nonce, now as i64],
    )?;
    Ok(Device {
        account_id: account_id.to_string(),
        user,
        state: if state == "active" {
            AccountState::Active
        } else {
            AccountState::Pending
        },
        nonce: nonce.to_string(),
        device_key,
    })
}
