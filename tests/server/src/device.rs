//! The device endpoints of openpush/1 (§5, §7, §8.4–§8.5, §9, §11), each a thin handler:
//! read the bounded body, authenticate (§6), do the work in one synchronous database section,
//! answer with a signed envelope.

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use countersign_core::openpush::Envelope;
use countersign_core::openpush::messages::{
    Answer, AnswerReceipt, ChallengeFetch, ChallengeList, Echo, KeyRef, PushRegistration,
    TimePayload,
};
use rusqlite::params;
use serde::Serialize;

use crate::auth::{AccountState, Device, authenticate};
use crate::challenge::{self, closed, expired};
use crate::error::{ApiError, ApiResult};
use crate::listener::PeerAddr;
use crate::state::{AppState, Shared};
use crate::wire::{envelope, parse_json, read_body};

/// Most challenges in one list (§14).
const MAX_LIST: i64 = 16;

/// The device routes under `{prefix}/openpush/1/`.
pub(crate) fn routes(prefix: &str) -> Router<Shared> {
    let p = |s: &str| format!("{prefix}/openpush/1/{s}");
    Router::new()
        .route(&p("activate"), post(activate))
        .route(&p("time"), get(time))
        .route(&p("challenges"), get(list))
        .route(&p("challenges/{id}"), get(fetch))
        .route(&p("challenges/{id}/answer"), post(answer))
        .route(&p("account/push-token"), put(push_token))
        .route(&p("account/device-key"), post(crate::rotation::device_key))
        .route(&p("account/server-key"), get(crate::rotation::server_key))
        .route(&p("account"), axum::routing::delete(unenrol))
}

/// Authenticates a request and runs `f` inside one database section.
pub(crate) async fn with_device<T>(
    st: &AppState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
    f: impl FnOnce(&AppState, &rusqlite::Connection, &Device, &[u8]) -> ApiResult<T>,
) -> ApiResult<T> {
    let body = read_body(body).await?;
    let conn = st.db.lock()?;
    challenge::sweep(&conn, st.now())?;
    let dev = authenticate(st, &conn, method, uri, headers, &body)?;
    f(st, &conn, &dev, &body)
}

async fn activate(
    State(st): State<Shared>,
    ConnectInfo(peer): ConnectInfo<PeerAddr>,
    body: Body,
) -> ApiResult<Response> {
    let body = read_body(body).await?;
    crate::activation::activate(&st, &body, peer.0.ip())
}

async fn time(State(st): State<Shared>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let mut nonce = None;
    for (k, v) in url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()) {
        if k == "nonce" && nonce.replace(v.into_owned()).is_some() {
            return Err(ApiError::bad_request("nonce given twice"));
        }
    }
    let Some(nonce) = nonce else {
        return Err(ApiError::bad_request("nonce query parameter required"));
    };
    crate::wire::check_id(&nonce, "nonce")?;
    let env = st.sign(
        "time",
        &TimePayload {
            nonce,
            server_time: st.now(),
        },
    )?;
    Ok(envelope(StatusCode::OK, &env))
}

fn stored_envelope(text: &str) -> ApiResult<Envelope> {
    Ok(serde_json::from_str(text)?)
}

async fn list(
    State(st): State<Shared>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let env = with_device(&st, &method, &uri, &headers, body, |st, conn, dev, _| {
        let kind = match dev.state {
            AccountState::Pending => "activation",
            AccountState::Active => "signin",
        };
        let now = st.now();
        let mut stmt = conn.prepare(
            "SELECT envelope FROM challenges
             WHERE account_id = ?1 AND state = 'pending' AND kind = ?2 AND expires_at > ?3
             ORDER BY created_at, rowid LIMIT ?4",
        )?;
        let challenges = stmt
            .query_map(params![dev.account_id, kind, now as i64, MAX_LIST], |r| {
                r.get::<_, String>(0)
            })?
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .map(|t| stored_envelope(t))
            .collect::<ApiResult<Vec<_>>>()?;
        st.sign(
            "challenge-list",
            &ChallengeList {
                account_id: dev.account_id.clone(),
                request_nonce: dev.nonce.clone(),
                server_time: now,
                challenges,
            },
        )
    })
    .await?;
    Ok(envelope(StatusCode::OK, &env))
}

async fn fetch(
    State(st): State<Shared>,
    Path(id): Path<String>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let env = with_device(&st, &method, &uri, &headers, body, |st, conn, dev, _| {
        let c = challenge::load_for(conn, &id, &dev.account_id)?;
        if dev.state == AccountState::Pending && c.kind != "activation" {
            return Err(ApiError::not_found("unknown challenge"));
        }
        let now = st.now();
        match c.state.as_str() {
            "pending" if now < c.expires_at => {}
            "pending" | "expired" => return Err(expired()),
            other => return Err(closed(other)),
        }
        st.sign(
            "challenge-fetch",
            &ChallengeFetch {
                account_id: dev.account_id.clone(),
                request_nonce: dev.nonce.clone(),
                server_time: now,
                challenge: stored_envelope(&c.envelope)?,
            },
        )
    })
    .await?;
    Ok(envelope(StatusCode::OK, &env))
}

async fn answer(
    State(st): State<Shared>,
    Path(id): Path<String>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let env = with_device(&st, &method, &uri, &headers, body, |st, conn, dev, body| {
        let ans: Answer = parse_json(body, "answer")?;
        let outcome = challenge::answer(st, conn, dev, &id, &ans)?;
        st.sign(
            "answer-receipt",
            &AnswerReceipt {
                account_id: dev.account_id.clone(),
                challenge_id: id.clone(),
                state: outcome.state.into(),
                reason: outcome.reason.map(str::to_string),
                request_nonce: dev.nonce.clone(),
                server_time: st.now(),
            },
        )
    })
    .await?;
    Ok(envelope(StatusCode::OK, &env))
}

#[derive(Serialize)]
struct PushUpdated<'a> {
    account_id: &'a str,
    provider: &'a str,
    request_nonce: &'a str,
    server_time: u64,
}

async fn push_token(
    State(st): State<Shared>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let env = with_device(&st, &method, &uri, &headers, body, |st, conn, dev, body| {
        let reg: PushRegistration = parse_json(body, "push registration")?;
        crate::activation::check_push(&reg.provider, &reg.token)?;
        conn.execute(
            "UPDATE accounts SET push_provider = ?1, push_token = ?2 WHERE id = ?3",
            params![reg.provider, reg.token, dev.account_id],
        )?;
        tracing::info!(account_id = %dev.account_id, provider = %reg.provider, "push registration updated");
        st.sign(
            "push-token-updated",
            &PushUpdated {
                account_id: &dev.account_id,
                provider: &reg.provider,
                request_nonce: &dev.nonce,
                server_time: st.now(),
            },
        )
    })
    .await?;
    Ok(envelope(StatusCode::OK, &env))
}

async fn unenrol(
    State(st): State<Shared>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let env = with_device(&st, &method, &uri, &headers, body, |st, conn, dev, _| {
        let now = st.now();
        let tx = conn.unchecked_transaction()?;
        if dev.state == AccountState::Pending {
            tx.execute(
                "UPDATE enrollments SET state = 'failed', reason = 'unenrolled'
                 WHERE account_id = ?1 AND state = 'pending'",
                params![dev.account_id],
            )?;
        }
        challenge::delete_account(&tx, &dev.account_id, "unenrolled", now)?;
        tx.commit()?;
        tracing::info!(account_id = %dev.account_id, "account unenrolled");
        st.sign(
            "unenrolled",
            &Echo {
                account_id: dev.account_id.clone(),
                request_nonce: dev.nonce.clone(),
                server_time: now,
            },
        )
    })
    .await?;
    Ok(envelope(StatusCode::OK, &env))
}

/// `{"alg":"Ed25519","pub":…}` for the current key.
pub(crate) fn key_ref(st: &AppState) -> ApiResult<KeyRef> {
    Ok(KeyRef {
        alg: "Ed25519".into(),
        public: st.keys()?.public.to_b64(),
    })
}
