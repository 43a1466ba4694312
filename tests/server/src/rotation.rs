//! Key rotation: the device's (§11.2, `POST /account/device-key`, signed by the old and the new
//! key) and the server's (§11.3, `POST /admin/server-key/rotate` plus the chain served by
//! `GET /account/server-key`).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use countersign_core::crypto::{Ed25519Signer, es256_verify, sha256};
use countersign_core::openpush::Envelope;
use countersign_core::openpush::encoding::{b64, labelled, unb64, unb64_len};
use countersign_core::openpush::messages::KeyRef;
use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Keys, Shared};
use crate::wire::{envelope, parse_json};

/// Most chain statements returned (§14).
const MAX_CHAIN: i64 = 16;

#[derive(Deserialize)]
struct RotationBody {
    statement: String,
    old_sig: String,
    new_sig: String,
}

#[derive(Deserialize)]
struct Statement {
    account_id: String,
    old_kid: String,
    new_key: KeyRef,
    new_kid: String,
    issued_at: u64,
    nonce: String,
}

#[derive(Serialize)]
struct Rotated<'a> {
    account_id: &'a str,
    new_kid: &'a str,
    request_nonce: &'a str,
    server_time: u64,
}

fn bad_sig(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_signature",
        format!("{what} does not verify"),
    )
}

/// `POST /openpush/1/account/device-key` (§11.2).
pub(crate) async fn device_key(
    State(st): State<Shared>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let env =
        crate::device::with_device(&st, &method, &uri, &headers, body, |st, conn, dev, body| {
            dev.require_active()?;
            let b: RotationBody = parse_json(body, "rotation body")?;
            let stmt_bytes = unb64(&b.statement, "statement")
                .map_err(|_| ApiError::bad_request("statement: not base64url"))?;
            let s: Statement = parse_json(&stmt_bytes, "rotation statement")?;
            crate::wire::check_id(&s.nonce, "nonce")?;
            let current_kid: String = conn.query_row(
                "SELECT device_kid FROM accounts WHERE id = ?1",
                params![dev.account_id],
                |r| r.get(0),
            )?;
            if s.account_id != dev.account_id || s.old_kid != current_kid {
                return Err(ApiError::bad_request(
                    "statement names another account or key",
                ));
            }
            let now = st.now();
            if s.issued_at.abs_diff(now) > crate::auth::WINDOW {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "stale_request",
                    "issued_at outside the window",
                ));
            }
            if s.new_key.alg != "ES256" {
                return Err(ApiError::unsupported("new_key must be ES256"));
            }
            let new_key = unb64_len(&s.new_key.public, 65, "new_key").map_err(|_| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_key", "new key malformed")
            })?;
            let old_sig = unb64_len(&b.old_sig, 64, "old_sig").map_err(|_| bad_sig("old_sig"))?;
            let new_sig = unb64_len(&b.new_sig, 64, "new_sig").map_err(|_| bad_sig("new_sig"))?;
            let label = "openpush/1 device-key-rotation";
            if !es256_verify(
                &dev.device_key,
                &labelled(label, &[b"old"], &stmt_bytes),
                &old_sig,
            ) {
                return Err(bad_sig("old_sig"));
            }
            if !es256_verify(&new_key, &labelled(label, &[b"new"], &stmt_bytes), &new_sig) {
                return Err(bad_sig("new_sig"));
            }
            let new_kid = b64(&sha256(&new_key)[..16]);
            if s.new_kid != new_kid {
                return Err(ApiError::bad_request("new_kid is not the new key's id"));
            }
            let tx = conn.unchecked_transaction()?;
            tx.execute(
                "UPDATE accounts SET device_key = ?1, device_kid = ?2 WHERE id = ?3",
                params![new_key, new_kid, dev.account_id],
            )?;
            tx.execute(
            "INSERT INTO device_key_rotations (account_id, statement, old_sig, new_sig, rotated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![dev.account_id, stmt_bytes, b.old_sig, b.new_sig, now as i64],
        )?;
            crate::db::audit(
                &tx,
                now,
                "device_key_rotated",
                Some(&dev.user),
                Some(&dev.account_id),
                Some(&new_kid),
            )?;
            tx.commit()?;
            tracing::info!(account_id = %dev.account_id, new_kid = %new_kid, "device key rotated");
            st.sign(
                "device-key-rotated",
                &Rotated {
                    account_id: &dev.account_id,
                    new_kid: &new_kid,
                    request_nonce: &dev.nonce,
                    server_time: now,
                },
            )
        })
        .await?;
    Ok(envelope(StatusCode::OK, &env))
}

#[derive(Serialize)]
struct ServerKeyPayload<'a> {
    account_id: &'a str,
    current_kid: String,
    current_key: KeyRef,
    chain: Vec<Envelope>,
    request_nonce: &'a str,
    server_time: u64,
}

/// The rotation statements, oldest first (at most 16, the newest ones).
fn chain(conn: &rusqlite::Connection) -> ApiResult<Vec<Envelope>> {
    let mut stmt = conn.prepare(
        "SELECT envelope FROM (SELECT seq, envelope FROM server_key_chain ORDER BY seq DESC LIMIT ?1)
         ORDER BY seq",
    )?;
    let texts = stmt
        .query_map(params![MAX_CHAIN], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    texts
        .iter()
        .map(|t| serde_json::from_str(t).map_err(ApiError::from))
        .collect()
}

/// `GET /openpush/1/account/server-key` (§11.3); pending accounts allowed.
pub(crate) async fn server_key(
    State(st): State<Shared>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let env = crate::device::with_device(&st, &method, &uri, &headers, body, |st, conn, dev, _| {
        let keys = st.keys()?;
        st.sign(
            "server-key",
            &ServerKeyPayload {
                account_id: &dev.account_id,
                current_kid: keys.public.kid(),
                current_key: crate::device::key_ref(st)?,
                chain: chain(conn)?,
                request_nonce: &dev.nonce,
                server_time: st.now(),
            },
        )
    })
    .await?;
    Ok(envelope(StatusCode::OK, &env))
}

#[derive(Serialize)]
struct RotationStatement {
    old_kid: String,
    new_key: KeyRef,
    new_kid: String,
    rotated_at: u64,
}

/// Rotates the server key (§11.3): signs the statement with the old key, stores it, persists the
/// new seed, invalidates waiting codes (they commit to the old key) and re-signs pending
/// challenges (same payload bytes). Returns `(old_kid, new_kid)`.
pub(crate) fn rotate_server_key(st: &AppState) -> ApiResult<(String, String)> {
    let now = st.now();
    let old = st.keys()?;
    let (signer, seed) = Ed25519Signer::generate()?;
    let new = Keys::from_seed(&seed).map_err(ApiError::internal)?;
    let statement = RotationStatement {
        old_kid: old.public.kid(),
        new_key: KeyRef {
            alg: "Ed25519".into(),
            public: new.public.to_b64(),
        },
        new_kid: new.public.kid(),
        rotated_at: now,
    };
    let bytes = serde_json::to_vec(&statement)?;
    let env = Envelope::sign(&old.signer, "server-key-rotation", &bytes);
    let conn = st.db.lock()?;
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO server_key_chain (old_kid, new_kid, envelope, rotated_at) VALUES (?1, ?2, ?3, ?4)",
        params![statement.old_kid, statement.new_kid, serde_json::to_string(&env)?, now as i64],
    )?;
    tx.execute(
        "UPDATE enrollments SET state = 'failed', reason = 'server_key_rotated' WHERE state = 'waiting'",
        [],
    )?;
    let pending: Vec<(String, Vec<u8>)> = {
        let mut stmt = tx.prepare("SELECT id, payload FROM challenges WHERE state = 'pending'")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    for (id, payload) in pending {
        let env = Envelope::sign(&signer, "challenge", &payload);
        tx.execute(
            "UPDATE challenges SET envelope = ?1 WHERE id = ?2",
            params![serde_json::to_string(&env)?, id],
        )?;
    }
    crate::files::replace_server_key_seed(&st.data_dir, &seed).map_err(ApiError::internal)?;
    crate::db::audit(
        &tx,
        now,
        "server_key_rotated",
        None,
        None,
        Some(&statement.new_kid),
    )?;
    tx.commit()?;
    st.set_keys(new)?;
    tracing::warn!(old_kid = %statement.old_kid, new_kid = %statement.new_kid, "server key rotated");
    Ok((statement.old_kid, statement.new_kid))
}
