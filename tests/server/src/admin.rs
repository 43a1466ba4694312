//! The QA/administration API of Appendix A under `{B}/admin/`: users, enrolments ("Verify
//! Now"), RP sign-ins, TOTP verification, revocation, server key rotation, and the push outbox.
//! Every request needs `Authorization: Bearer <contents of <data>/admin-token>`.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use countersign_core::crypto::{constant_time_eq, sha256};
use countersign_core::openpush::encoding::b64;
use countersign_core::openpush::messages::Context;
use countersign_core::openpush::verify::sanitize;
use countersign_core::openpush::{ActivationCode, ActivationPayload};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::challenge::{self, Created, Kind, Target};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Shared};
use crate::wire::{fit_bytes, json, parse_json, read_body};

/// The admin routes under `{prefix}/admin/`, behind the bearer-token check.
pub(crate) fn routes(prefix: &str, st: Shared) -> Router<Shared> {
    let p = |s: &str| format!("{prefix}/admin/{s}");
    Router::new()
        .route(&p("info"), get(info))
        .route(&p("users"), post(create_user))
        .route(&p("users/{user}"), get(get_user))
        .route(&p("users/{user}/unblock"), post(unblock))
        .route(&p("enrollments"), post(create_enrollment))
        .route(&p("enrollments/{id}"), get(get_enrollment))
        .route(&p("enrollments/{id}/verify"), post(verify_enrollment))
        .route(&p("signins"), post(create_signin))
        .route(&p("signins/{id}"), get(get_signin))
        .route(&p("otp/verify"), post(otp_verify))
        .route(&p("app-passwords/verify"), post(app_password_verify))
        .route(&p("accounts/{id}/revoke"), post(revoke))
        .route(&p("server-key/rotate"), post(rotate))
        .route(&p("outbox"), get(outbox))
        .layer(axum::middleware::from_fn_with_state(st, require_token))
}

async fn require_token(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let ok = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), st.admin_token.as_bytes()));
    if ok {
        next.run(req).await
    } else {
        axum::response::IntoResponse::into_response(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "admin bearer token missing or wrong",
        ))
    }
}

fn unknown_user() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_user", "no such user")
}

fn user_blocked() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "user_blocked",
        "user is fraud-blocked",
    )
}

/// `(fraud_blocked, fraud_reported_at)` of a user, `unknown_user` if absent.
fn user_row(conn: &Connection, user: &str) -> ApiResult<(bool, Option<i64>)> {
    conn.query_row(
        "SELECT fraud_blocked, fraud_reported_at FROM users WHERE name = ?1",
        params![user],
        |r| Ok((r.get::<_, i64>(0)? != 0, r.get(1)?)),
    )
    .optional()?
    .ok_or_else(unknown_user)
}

async fn info(State(st): State<Shared>) -> ApiResult<Response> {
    let keys = st.keys()?;
    Ok(json(
        StatusCode::OK,
        json!({
            "base_url": st.base.as_str(),
            "server_key": keys.public.to_b64(),
            "kid": keys.public.kid(),
            "fingerprint": b64(&keys.public.fingerprint()),
            "server_time": st.now(),
        }),
    ))
}

#[derive(Deserialize)]
struct UserBody {
    user: String,
}

fn check_user_name(user: &str) -> ApiResult<()> {
    if user.is_empty() || user.chars().count() > 128 || user.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "user: 1–128 characters, no control characters",
        ));
    }
    Ok(())
}

async fn create_user(State(st): State<Shared>, body: Body) -> ApiResult<Response> {
    let b: UserBody = parse_json(&read_body(body).await?, "body")?;
    check_user_name(&b.user)?;
    let conn = st.db.lock()?;
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO users (name, created_at) VALUES (?1, ?2)",
        params![b.user, st.now() as i64],
    )?;
    if inserted == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "user_exists",
            "user already exists",
        ));
    }
    Ok(json(
        StatusCode::CREATED,
        json!({"user": b.user, "fraud_blocked": false}),
    ))
}

async fn get_user(State(st): State<Shared>, Path(user): Path<String>) -> ApiResult<Response> {
    let conn = st.db.lock()?;
    challenge::sweep(&conn, st.now())?;
    let (blocked, reported) = user_row(&conn, &user)?;
    let mut stmt = conn.prepare(
        "SELECT id, state, device_name, platform, activated_at FROM accounts
         WHERE user = ?1 AND state IN ('pending', 'active') ORDER BY created_at",
    )?;
    let accounts = stmt
        .query_map(params![user], |r| {
            Ok(json!({
                "account_id": r.get::<_, String>(0)?,
                "state": r.get::<_, String>(1)?,
                "device_name": r.get::<_, String>(2)?,
                "platform": r.get::<_, String>(3)?,
                "activated_at": r.get::<_, Option<i64>>(4)?,
            }))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(
        StatusCode::OK,
        json!({"user": user, "fraud_blocked": blocked, "fraud_reported_at": reported, "accounts": accounts}),
    ))
}

async fn unblock(State(st): State<Shared>, Path(user): Path<String>) -> ApiResult<Response> {
    let conn = st.db.lock()?;
    user_row(&conn, &user)?;
    conn.execute(
        "UPDATE users SET fraud_blocked = 0, otp_failures = 0, otp_locked = 0, otp_last_failure_at = NULL
         WHERE name = ?1",
        params![user],
    )?;
    crate::db::audit(&conn, st.now(), "user_unblocked", Some(&user), None, None)?;
    tracing::info!("user unblocked by administrator");
    Ok(json(
        StatusCode::OK,
        json!({"user": user, "fraud_blocked": false}),
    ))
}

/// Creates an enrolment for `user`; returns the Appendix A answer (code, URL, QR, page URL).
pub(crate) fn new_enrollment(st: &AppState, user: &str) -> ApiResult<Value> {
    let now = st.now();
    let conn = st.db.lock()?;
    let (blocked, _) = user_row(&conn, user)?;
    if blocked {
        return Err(user_blocked());
    }
    let keys = st.keys()?;
    let fp = keys.public.fingerprint();
    let code = ActivationCode::generate(&st.base, &fp)?;
    let id = crate::wire::new_id()?;
    let token = b64(countersign_core::crypto::random_bytes(32)?.expose());
    let token_hash = b64(&sha256(token.as_bytes()));
    let sealed = st.seal("code", &id, code.canonical().as_bytes())?;
    let expires_at = now + st.policy.code_ttl.min(600);
    conn.execute(
        "INSERT INTO enrollments (id, user, code_id, code_sealed, page_token_hash, base_url, server_kid,
             state, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'waiting', ?8, ?9)",
        params![
            id,
            user,
            code.code_id(),
            sealed,
            token_hash,
            st.base.as_str(),
            keys.public.kid(),
            now as i64,
            expires_at as i64
        ],
    )?;
    crate::db::audit(
        &conn,
        now,
        "enrollment_created",
        Some(user),
        None,
        Some(&id),
    )?;
    let display = code.display();
    let qr = ActivationPayload {
        base_url: st.base.clone(),
        code,
        fingerprint: Some(fp),
    }
    .to_qr()
    .ok_or_else(|| ApiError::internal("QR payload"))?;
    tracing::info!(enrollment_id = %id, "enrolment created");
    Ok(json!({
        "enrollment_id": id,
        "code": display.as_str(),
        "url": st.base.as_str(),
        "qr_payload": qr.as_str(),
        "expires_at": expires_at,
        "page_url": format!("{}/enroll/{token}", st.base.as_str()),
    }))
}

async fn create_enrollment(State(st): State<Shared>, body: Body) -> ApiResult<Response> {
    let b: UserBody = parse_json(&read_body(body).await?, "body")?;
    Ok(json(StatusCode::CREATED, new_enrollment(&st, &b.user)?))
}

/// `user, state, reason, expires_at, account_id, confirm_by`.
type EnrollmentRow = (
    String,
    String,
    Option<String>,
    i64,
    Option<String>,
    Option<i64>,
);
/// `user, kind, state, reason, answered_by, answered_at`.
type SigninRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// The status of an enrolment (Appendix A `GET /admin/enrollments/{id}`; the page polls the same).
pub(crate) fn enrollment_status(st: &AppState, conn: &Connection, id: &str) -> ApiResult<Value> {
    challenge::sweep(conn, st.now())?;
    let row: Option<EnrollmentRow> = conn
        .query_row(
            "SELECT user, state, reason, expires_at, account_id, confirm_by FROM enrollments WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?;
    let Some((user, state, reason, expires_at, account_id, confirm_by)) = row else {
        return Err(ApiError::not_found("unknown enrolment"));
    };
    let expires = if state == "pending" {
        confirm_by.unwrap_or(expires_at)
    } else {
        expires_at
    };
    let mut v = json!({"enrollment_id": id, "user": user, "status": state, "expires_at": expires});
    if let Some(r) = reason {
        v["reason"] = json!(r);
    }
    if let Some(a) = &account_id {
        v["account_id"] = json!(a);
        let device: Option<(String, String)> = conn
            .query_row(
                "SELECT device_name, platform FROM accounts WHERE id = ?1",
                params![a],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((name, platform)) = device {
            v["device"] = json!({"name": name, "platform": platform});
        }
    }
    Ok(v)
}

async fn get_enrollment(State(st): State<Shared>, Path(id): Path<String>) -> ApiResult<Response> {
    let conn = st.db.lock()?;
    Ok(json(StatusCode::OK, enrollment_status(&st, &conn, &id)?))
}

/// Sanitises a context string for signing (§10.2) within its hard byte limit (§8.2).
pub(crate) fn context_text(text: &str, max: usize) -> Option<String> {
    sanitize(text).map(|s| fit_bytes(s, max))
}

/// "Verify Now" (§5.6): creates the activation challenge of a pending enrolment.
pub(crate) async fn verify_now(
    st: &AppState,
    enrollment_id: &str,
    ip: Option<String>,
    client: Option<String>,
) -> ApiResult<Created> {
    let created = {
        let conn = st.db.lock()?;
        let now = st.now();
        challenge::sweep(&conn, now)?;
        let row: Option<(String, String, Option<String>)> = conn
            .query_row(
                "SELECT user, state, account_id FROM enrollments WHERE id = ?1",
                params![enrollment_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((user, state, account)) = row else {
            return Err(ApiError::not_found("unknown enrolment"));
        };
        let Some(account) = account.filter(|_| state == "pending") else {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "enrollment_not_pending",
                "no device is waiting for confirmation",
            ));
        };
        let pending: i64 = conn.query_row(
            "SELECT COUNT(*) FROM challenges WHERE account_id = ?1 AND state = 'pending'",
            params![account],
            |r| r.get(0),
        )?;
        if pending > 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "challenge_pending",
                "a confirmation is already pending",
            ));
        }
        let (provider, token): (String, String) = conn.query_row(
            "SELECT push_provider, push_token FROM accounts WHERE id = ?1",
            params![account],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let context = Context {
            app: context_text(&format!("{}: add authenticator", st.issuer), 128)
                .unwrap_or_else(|| "add authenticator".into()),
            time: now,
            ip: ip.filter(|i| i.parse::<std::net::IpAddr>().is_ok()),
            location: None,
            client: client.and_then(|c| context_text(&c, 128)),
        };
        let targets = [Target {
            account_id: account,
            provider,
            token,
        }];
        challenge::create(
            st,
            &conn,
            &user,
            Kind::Activation,
            Some(enrollment_id),
            &targets,
            context,
        )?
    };
    challenge::deliver(st, &created.wakes).await;
    Ok(created)
}

async fn verify_enrollment(
    State(st): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let c = verify_now(&st, &id, None, None).await?;
    Ok(json(
        StatusCode::CREATED,
        json!({"challenge_id": c.challenge_ids.first(), "number": c.number, "expires_at": c.expires_at}),
    ))
}

#[derive(Deserialize)]
struct SigninBody {
    user: String,
    app: String,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    client: Option<String>,
}

async fn create_signin(State(st): State<Shared>, body: Body) -> ApiResult<Response> {
    let b: SigninBody = parse_json(&read_body(body).await?, "body")?;
    let app = context_text(&b.app, 128).ok_or_else(|| ApiError::bad_request("app: empty"))?;
    let ip = match b.ip.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(ip) => Some(
            ip.parse::<std::net::IpAddr>()
                .map_err(|_| ApiError::bad_request("ip: not an IP address"))?
                .to_string(),
        ),
    };
    let created = {
        let conn = st.db.lock()?;
        let now = st.now();
        challenge::sweep(&conn, now)?;
        let (blocked, _) = user_row(&conn, &b.user)?;
        if blocked {
            return Err(user_blocked());
        }
        let mut stmt = conn.prepare(
            "SELECT id, push_provider, push_token FROM accounts WHERE user = ?1 AND state = 'active' ORDER BY created_at",
        )?;
        let targets = stmt
            .query_map(params![b.user], |r| {
                Ok(Target {
                    account_id: r.get(0)?,
                    provider: r.get(1)?,
                    token: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        if targets.is_empty() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "no_active_device",
                "the user has no active device",
            ));
        }
        let pending: i64 = conn.query_row(
            "SELECT COUNT(*) FROM signins WHERE user = ?1 AND kind = 'signin' AND state = 'pending'",
            params![b.user],
            |r| r.get(0),
        )?;
        if pending > 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "challenge_pending",
                "a sign-in is already pending",
            ));
        }
        let window_start = now.saturating_sub(st.policy.signin_window) as i64;
        let (count, oldest): (i64, Option<i64>) = conn.query_row(
            "SELECT COUNT(*), MIN(created_at) FROM signins WHERE user = ?1 AND kind = 'signin' AND created_at > ?2",
            params![b.user, window_start],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if count >= i64::from(st.policy.signin_budget) {
            let retry = oldest.map_or(1, |o| {
                (o as u64 + st.policy.signin_window).saturating_sub(now)
            });
            return Err(ApiError::rate_limited(retry));
        }
        let context = Context {
            app,
            time: now,
            ip,
            location: b.location.as_deref().and_then(|l| context_text(l, 128)),
            client: b.client.as_deref().and_then(|c| context_text(c, 128)),
        };
        challenge::create(&st, &conn, &b.user, Kind::Signin, None, &targets, context)?
    };
    challenge::deliver(&st, &created.wakes).await;
    Ok(json(
        StatusCode::CREATED,
        json!({
            "signin_id": created.signin_id,
            "number": created.number,
            "expires_at": created.expires_at,
            "challenge_ids": created.challenge_ids,
        }),
    ))
}

async fn get_signin(State(st): State<Shared>, Path(id): Path<String>) -> ApiResult<Response> {
    let conn = st.db.lock()?;
    challenge::sweep(&conn, st.now())?;
    let row: Option<SigninRow> = conn
        .query_row(
            "SELECT user, kind, state, reason, answered_by, answered_at FROM signins WHERE id = ?1",
            params![id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    let Some((user, kind, state, reason, by, at)) = row else {
        return Err(ApiError::not_found("unknown sign-in"));
    };
    let mut v = json!({"signin_id": id, "user": user, "kind": kind, "state": state});
    if let Some(r) = reason {
        v["reason"] = json!(r);
    }
    if let Some(b) = by {
        v["answered_by"] = json!(b);
    }
    if let Some(a) = at {
        v["answered_at"] = json!(a);
    }
    Ok(json(StatusCode::OK, v))
}

#[derive(Deserialize)]
struct OtpBody {
    user: String,
    code: String,
}

async fn otp_verify(State(st): State<Shared>, body: Body) -> ApiResult<Response> {
    let b: OtpBody = parse_json(&read_body(body).await?, "body")?;
    let conn = st.db.lock()?;
    let valid = crate::otp::verify_for_user(&st, &conn, &b.user, b.code.trim())?;
    Ok(json(StatusCode::OK, json!({"valid": valid})))
}

#[derive(Deserialize)]
struct AppPasswordBody {
    user: String,
    password: String,
}

async fn app_password_verify(State(st): State<Shared>, body: Body) -> ApiResult<Response> {
    let b: AppPasswordBody = parse_json(&read_body(body).await?, "body")?;
    let hashes: Vec<(String, String)> = {
        let conn = st.db.lock()?;
        user_row(&conn, &b.user)?;
        let mut stmt = conn.prepare("SELECT id, hash FROM app_passwords WHERE user = ?1")?;
        stmt.query_map(params![b.user], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    let password = zeroize::Zeroizing::new(b.password);
    let matched = tokio::task::spawn_blocking(move || {
        hashes
            .into_iter()
            .find(|(_, h)| crate::apppass::verify(h, &password))
            .map(|(id, _)| id)
    })
    .await
    .map_err(ApiError::internal)?;
    if let Some(id) = &matched {
        let conn = st.db.lock()?;
        conn.execute(
            "UPDATE app_passwords SET last_used_at = ?1 WHERE id = ?2",
            params![st.now() as i64, id],
        )?;
    }
    Ok(json(StatusCode::OK, json!({"valid": matched.is_some()})))
}

async fn revoke(State(st): State<Shared>, Path(id): Path<String>) -> ApiResult<Response> {
    let conn = st.db.lock()?;
    let now = st.now();
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT state, user FROM accounts WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((state, user)) = row else {
        return Err(ApiError::not_found("unknown account"));
    };
    let tx = conn.unchecked_transaction()?;
    challenge::close_account_challenges(&tx, &id, "revoked")?;
    if state == "pending" {
        tx.execute(
            "UPDATE enrollments SET state = 'failed', reason = 'revoked' WHERE account_id = ?1",
            params![id],
        )?;
    }
    tx.execute(
        "UPDATE accounts SET state = 'revoked', revoked_reason = 'revoked', push_token = '', push_provider = 'none'
         WHERE id = ?1",
        params![id],
    )?;
    crate::db::audit(&tx, now, "account_revoked", Some(&user), Some(&id), None)?;
    tx.commit()?;
    tracing::info!(account_id = %id, "account revoked");
    Ok(json(
        StatusCode::OK,
        json!({"account_id": id, "state": "revoked"}),
    ))
}

async fn rotate(State(st): State<Shared>) -> ApiResult<Response> {
    let (old_kid, new_kid) = crate::rotation::rotate_server_key(&st)?;
    Ok(json(
        StatusCode::OK,
        json!({"old_kid": old_kid, "new_kid": new_kid}),
    ))
}

#[derive(Deserialize)]
struct OutboxQuery {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    account_id: Option<String>,
}

async fn outbox(State(st): State<Shared>, Query(q): Query<OutboxQuery>) -> ApiResult<Response> {
    let conn = st.db.lock()?;
    let mut stmt = conn.prepare(
        "SELECT id, account_id, challenge_id, provider, token, data, created_at FROM outbox
         WHERE id > ?1 AND (?2 IS NULL OR account_id = ?2) ORDER BY id",
    )?;
    let items = stmt
        .query_map(params![q.after.unwrap_or(0), q.account_id], |r| {
            let data: String = r.get(5)?;
            Ok(json!({
                "id": r.get::<_, i64>(0)?,
                "account_id": r.get::<_, String>(1)?,
                "challenge_id": r.get::<_, Option<String>>(2)?,
                "provider": r.get::<_, String>(3)?,
                "token": r.get::<_, String>(4)?,
                "data": serde_json::from_str::<Value>(&data).unwrap_or(Value::Null),
                "created_at": r.get::<_, i64>(6)?,
            }))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(StatusCode::OK, json!({"wakeups": items})))
}
