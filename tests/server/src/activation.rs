//! `POST /openpush/1/activate` (§5.2): the code proof, single use with idempotent retry, the
//! new device key, the X25519 exchange and the derived OATH seed, in the spec's order.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use countersign_core::crypto::{X25519Ephemeral, constant_time_eq, es256_verify, sha256};
use countersign_core::openpush::ActivationCode;
use countersign_core::openpush::encoding::{b64, unb64, unb64_len};
use countersign_core::openpush::messages::{
    ActivateResponse, ActivationBody, ActivationRequest, KeyRef, Limits, OathParams,
};
use countersign_core::openpush::seed;
use countersign_core::openpush::verify::activation_proof_input;
use rusqlite::{OptionalExtension, params};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::{check_id, max_chars, parse_json};

const PROVIDERS: &[&str] = &["fcm", "apns", "unifiedpush", "none"];
const PLATFORMS: &[&str] = &["android", "ios", "windows", "macos", "linux", "other"];

/// A parsed, well-formed activation request (step 1).
struct Parsed {
    payload: Vec<u8>,
    req: ActivationRequest,
    device_key: Vec<u8>,
    device_sig: Vec<u8>,
    code_proof: Vec<u8>,
    oath_kx: Vec<u8>,
}

/// Validates push registration members (§5.1, §11.1).
pub(crate) fn check_push(provider: &str, token: &str) -> ApiResult<()> {
    if !PROVIDERS.contains(&provider) {
        return Err(ApiError::unsupported("unknown push provider"));
    }
    if token.len() > 2048 {
        return Err(ApiError::bad_request("push token longer than 2048 bytes"));
    }
    if (provider == "none") != token.is_empty() {
        return Err(ApiError::bad_request(
            "push token must be empty exactly for provider none",
        ));
    }
    Ok(())
}

fn parse(body: &[u8]) -> ApiResult<Parsed> {
    let outer: ActivationBody = parse_json(body, "activation body")?;
    let payload = unb64(&outer.payload, "payload")
        .map_err(|_| ApiError::bad_request("payload: not base64url"))?;
    if payload.len() > countersign_core::openpush::envelope::MAX_PAYLOAD {
        return Err(ApiError::too_large());
    }
    let req: ActivationRequest = parse_json(&payload, "activation payload")?;
    check_id(&req.code_id, "code_id")?;
    check_id(&req.nonce, "nonce")?;
    if req.base_url.len() > 200 {
        return Err(ApiError::bad_request("base_url longer than 200 bytes"));
    }
    if req.device_key.alg != "ES256" || req.oath_kx.alg != "X25519" {
        return Err(ApiError::unsupported(
            "device_key must be ES256 and oath_kx X25519",
        ));
    }
    let device_key = unb64_len(&req.device_key.public, 65, "device_key")
        .map_err(|_| ApiError::bad_request("device_key.pub: not 65 bytes of base64url"))?;
    let oath_kx = unb64_len(&req.oath_kx.public, 32, "oath_kx")
        .map_err(|_| ApiError::bad_request("oath_kx.pub: not 32 bytes of base64url"))?;
    check_push(&req.push.provider, &req.push.token)?;
    max_chars(&req.device.name, 64, "device.name")?;
    max_chars(&req.device.app_version, 32, "device.app_version")?;
    if !PLATFORMS.contains(&req.device.platform.as_str()) {
        return Err(ApiError::unsupported("unknown platform"));
    }
    let device_sig = unb64_len(&outer.device_sig, 64, "device_sig")
        .map_err(|_| ApiError::bad_request("device_sig: not 64 bytes of base64url"))?;
    let code_proof = unb64_len(&outer.code_proof, 32, "code_proof")
        .map_err(|_| ApiError::bad_request("code_proof: not 32 bytes of base64url"))?;
    Ok(Parsed {
        payload,
        req,
        device_key,
        device_sig,
        code_proof,
        oath_kx,
    })
}

fn invalid_code() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_code",
        "activation code unknown, expired, failed, or proof wrong",
    )
}

struct EnrollmentRow {
    id: String,
    user: String,
    state: String,
    attempts: i64,
    code_sealed: Vec<u8>,
    request_hash: Option<String>,
    response_body: Option<Vec<u8>>,
}

/// Handles the request; `ip` is the client address for rate limiting.
pub(crate) fn activate(st: &AppState, body: &[u8], ip: std::net::IpAddr) -> ApiResult<Response> {
    // 1. Well-formed.
    let p = parse(body)?;
    let now = st.now();
    // 2. Rate limits.
    st.limiter
        .check(
            ip,
            now,
            60,
            st.policy.activations_per_ip_per_minute,
            st.policy.activations_per_minute,
        )
        .map_err(ApiError::rate_limited)?;
    let conn = st.db.lock()?;
    crate::challenge::sweep(&conn, now)?;
    // 3. Find the enrolment.
    let row = conn
        .query_row(
            "SELECT id, user, state, attempts, code_sealed, request_hash, response_body
             FROM enrollments WHERE code_id = ?1",
            params![p.req.code_id],
            |r| {
                Ok(EnrollmentRow {
                    id: r.get(0)?,
                    user: r.get(1)?,
                    state: r.get(2)?,
                    attempts: r.get(3)?,
                    code_sealed: r.get(4)?,
                    request_hash: r.get(5)?,
                    response_body: r.get(6)?,
                })
            },
        )
        .optional()?;
    let Some(e) = row else {
        return Err(invalid_code());
    };
    if matches!(e.state.as_str(), "expired" | "failed") {
        return Err(invalid_code());
    }
    // 4. The code proof, in constant time; failures count against the enrolment.
    let code_text = st.unseal("code", &e.id, &e.code_sealed)?;
    let code = ActivationCode::parse(std::str::from_utf8(code_text.expose()).unwrap_or(""))
        .map_err(|_| ApiError::internal("stored code unreadable"))?;
    let proof = unb64(&code.proof(&p.payload), "proof").unwrap_or_default();
    if !constant_time_eq(&proof, &p.code_proof) {
        let attempts = e.attempts + 1;
        let failed = attempts >= i64::from(st.policy.max_code_failures);
        conn.execute(
            "UPDATE enrollments SET attempts = ?1,
                 state = CASE WHEN ?2 AND state = 'waiting' THEN 'failed' ELSE state END,
                 reason = CASE WHEN ?2 AND state = 'waiting' THEN 'too_many_attempts' ELSE reason END
             WHERE id = ?3",
            params![attempts, failed, e.id],
        )?;
        tracing::info!(enrollment_id = %e.id, attempts, "activation proof wrong");
        return Err(invalid_code());
    }
    // 5. Consumed: idempotent retry or code_used.
    let request_hash = b64(&sha256(&p.payload));
    if e.state != "waiting" {
        if let (Some(h), Some(stored)) = (&e.request_hash, &e.response_body)
            && constant_time_eq(h.as_bytes(), request_hash.as_bytes())
        {
            tracing::info!(enrollment_id = %e.id, "activation retried: stored response");
            return Ok(created(stored.clone()));
        }
        tracing::warn!(enrollment_id = %e.id, "activation code reused by another request");
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "code_used",
            "activation code already used",
        ));
    }
    // 6. Our own base URL.
    if p.req.base_url != st.base.as_str() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "wrong_server",
            "base_url is not this server",
        ));
    }
    // 7. Keys and proof of possession. ring validates the point while verifying, so a key off
    // the curve never verifies.
    if p.device_key.first() != Some(&0x04) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_key",
            "device key is not an uncompressed P-256 point",
        ));
    }
    if !es256_verify(
        &p.device_key,
        &activation_proof_input(&p.payload),
        &p.device_sig,
    ) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_signature",
            "activation proof does not verify",
        ));
    }
    // 8. Fraud block.
    let blocked: i64 = conn.query_row(
        "SELECT fraud_blocked FROM users WHERE name = ?1",
        params![e.user],
        |r| r.get(0),
    )?;
    if blocked != 0 {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "user_blocked",
            "user is fraud-blocked",
        ));
    }
    // 9–10. Account, seed, stored response, atomically.
    let account_id = crate::wire::new_id()?;
    let server_kx = X25519Ephemeral::generate()?;
    let server_kx_pub = server_kx.public_key();
    let z = server_kx.agree(&p.oath_kx).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_key",
            "oath_kx is not a usable X25519 key",
        )
    })?;
    let mut device_kx = [0u8; 32];
    device_kx.copy_from_slice(&p.oath_kx);
    let rh_raw = sha256(&p.payload);
    let seed = seed::derive(&z, &rh_raw, &account_id, &device_kx, &server_kx_pub)?;
    drop(z);
    let seed_sealed = st.seal("seed", &account_id, seed.expose())?;
    drop(seed);
    let confirm_by = now + st.policy.confirm_window.min(600);
    let response = ActivateResponse {
        request_hash: request_hash.clone(),
        account_id: account_id.clone(),
        base_url: st.base.as_str().to_string(),
        server_time: now,
        state: "pending".into(),
        confirm_by,
        issuer: st.issuer.clone(),
        label: e.user.clone(),
        oath: OathParams {
            kind: "totp".into(),
            algorithm: "SHA1".into(),
            digits: seed::OATH_DIGITS,
            period: seed::OATH_PERIOD,
            kx: KeyRef {
                alg: "X25519".into(),
                public: b64(&server_kx_pub),
            },
        },
        limits: Limits {
            challenge_ttl_max: st.policy.challenge_ttl.clamp(30, 120),
        },
    };
    let keys = st.keys()?;
    let mut env = st.sign("activate-response", &response)?;
    env.server_key = Some(keys.public.to_b64());
    let body = serde_json::to_vec(&env)?;
    let device_kid = b64(&sha256(&p.device_key)[..16]);
    let tx = conn.unchecked_transaction()?;
    let moved = tx.execute(
        "UPDATE enrollments SET state = 'pending', account_id = ?1, request_hash = ?2,
             response_body = ?3, confirm_by = ?4
         WHERE id = ?5 AND state = 'waiting'",
        params![account_id, request_hash, body, confirm_by as i64, e.id],
    )?;
    if moved != 1 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "code_used",
            "activation code already used",
        ));
    }
    tx.execute(
        "INSERT INTO accounts (id, user, enrollment_id, state, device_key, device_kid, push_provider,
             push_token, device_name, platform, app_version, seed_sealed, created_at, confirm_by)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            account_id,
            e.user,
            e.id,
            p.device_key,
            device_kid,
            p.req.push.provider,
            p.req.push.token,
            p.req.device.name,
            p.req.device.platform,
            p.req.device.app_version,
            seed_sealed,
            now as i64,
            confirm_by as i64
        ],
    )?;
    crate::db::audit(
        &tx,
        now,
        "account_pending",
        Some(&e.user),
        Some(&account_id),
        Some(&e.id),
    )?;
    tx.commit()?;
    tracing::info!(enrollment_id = %e.id, account_id = %account_id, "device activated (pending)");
    Ok(created(body))
}

fn created(body: Vec<u8>) -> Response {
    (
        StatusCode::CREATED,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
