//! The enrolment web page (§5.6, Appendix A) at its capability URL `{B}/enroll/{token}`: the QR
//! (inline SVG), "Can't scan? Enter code and URL manually", a status line polled every 2 s,
//! "Verify Now" with the number to type, and the app-password step. Plain HTML with one inline
//! script and style, both allowed by a per-response CSP nonce; no external resources.
//!
//! Stable element ids for browser tests: `#qr`, `#manual-code`, `#manual-url`, `#status`,
//! `#verify-now`, `#number`, `#generate-app-password`, `#app-password`.

use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use countersign_core::crypto::{random_bytes, sha256};
use countersign_core::openpush::encoding::b64;
use countersign_core::openpush::{ActivationCode, ActivationPayload};
use rusqlite::{OptionalExtension, params};
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::listener::PeerAddr;
use crate::state::{AppState, Shared};
use crate::wire::json;

/// The page routes under `{prefix}/enroll/`.
pub(crate) fn routes(prefix: &str) -> Router<Shared> {
    let p = |s: &str| format!("{prefix}/enroll/{s}");
    Router::new()
        .route(&p("{token}"), get(page))
        .route(&p("{token}/status"), get(status))
        .route(&p("{token}/verify"), post(verify))
        .route(&p("{token}/app-password"), post(app_password))
}

/// The enrolment id behind a page token (`not_found` otherwise).
fn enrollment_for(st: &AppState, token: &str) -> ApiResult<String> {
    let hash = b64(&sha256(token.as_bytes()));
    let conn = st.db.lock()?;
    conn.query_row(
        "SELECT id FROM enrollments WHERE page_token_hash = ?1",
        params![hash],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| ApiError::not_found("unknown enrolment page"))
}

/// POSTs from the page carry `OpenPush-Page: 1`: a cross-site form cannot set it, and a
/// cross-origin fetch with it needs a CORS preflight this server never grants.
fn require_page_header(headers: &HeaderMap) -> ApiResult<()> {
    if headers.get("openpush-page").and_then(|v| v.to_str().ok()) == Some("1") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "missing page header",
        ))
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn qr_svg(text: &str) -> ApiResult<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ApiError::internal(format_args!("QR: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    })
}

async fn page(State(st): State<Shared>, Path(token): Path<String>) -> ApiResult<Response> {
    let id = enrollment_for(&st, &token)?;
    let (state, sealed, user): (String, Vec<u8>, String) = {
        let conn = st.db.lock()?;
        crate::challenge::sweep(&conn, st.now())?;
        conn.query_row(
            "SELECT state, code_sealed, user FROM enrollments WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
    };
    let activation = if state == "waiting" {
        let text = st.unseal("code", &id, &sealed)?;
        let code = ActivationCode::parse(std::str::from_utf8(text.expose()).unwrap_or(""))
            .map_err(|_| ApiError::internal("stored code unreadable"))?;
        let display = code.display();
        let qr = ActivationPayload {
            base_url: st.base.clone(),
            code,
            fingerprint: Some(st.keys()?.public.fingerprint()),
        }
        .to_qr()
        .ok_or_else(|| ApiError::internal("QR payload"))?;
        format!(
            r#"<section id="activation">
<p>Scan this code with Countersign:</p>
<div id="qr" role="img" aria-label="Activation QR code">{svg}</div>
<details open><summary>Can't scan? Enter code and URL manually</summary>
<dl><dt>Code</dt><dd><code id="manual-code">{code}</code></dd>
<dt>URL</dt><dd><code id="manual-url">{url}</code></dd></dl></details>
</section>"#,
            svg = qr_svg(&qr)?,
            code = escape(&display),
            url = escape(st.base.as_str()),
        )
    } else {
        r#"<section id="activation"><p>This activation code has been used or is no longer valid.</p></section>"#.to_string()
    };
    let nonce = b64(random_bytes(16)?.expose());
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Add Countersign: {issuer}</title>
<style nonce="{nonce}">
body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#222}}
#qr svg{{width:240px;height:240px}} code{{font-size:1.15rem}} #number{{font-size:3rem;font-weight:bold;letter-spacing:.3rem}}
.hidden{{display:none}} button{{font-size:1rem;padding:.5rem 1rem}} #error{{color:#a00}}
</style></head><body>
<h1>Set up Countersign</h1>
<p>Account <strong>{user}</strong> at {issuer}.</p>
{activation}
<p>Status: <span id="status">Loading…</span></p>
<section id="verify-step">
<button id="verify-now" type="button" disabled>Verify Now</button>
<p id="number-help" class="hidden">Type this number in the app: <output id="number"></output></p>
</section>
<section id="app-password-step" class="hidden">
<h2>App password</h2>
<p>For apps that cannot show a push request, generate an app password. It is shown only once.</p>
<button id="generate-app-password" type="button">Generate app password</button>
<p><code id="app-password"></code></p>
</section>
<p id="error" role="alert"></p>
<script nonce="{nonce}">
(function () {{
  "use strict";
  var base = window.location.pathname.replace(/\/+$/, "");
  var $ = function (id) {{ return document.getElementById(id); }};
  var last = null;
  function show(id, on) {{ $(id).classList.toggle("hidden", !on); }}
  function render(s) {{
    last = s.status;
    var text;
    if (s.status === "waiting") text = "Waiting for your phone…";
    else if (s.status === "pending") text = (s.device ? s.device.name + " (" + s.device.platform + ")" : "A device") + " wants to join. Press Verify Now.";
    else if (s.status === "active") text = "Active";
    else if (s.status === "expired") text = "Expired: ask for a new code.";
    else text = "Failed" + (s.reason ? " (" + s.reason + ")" : "") + ": ask for a new code.";
    $("status").textContent = text;
    $("verify-now").disabled = s.status !== "pending";
    if (s.status !== "pending") show("number-help", false);
    show("verify-step", s.status === "waiting" || s.status === "pending");
    show("app-password-step", s.status === "active");
    if (s.status !== "waiting" && $("activation")) show("activation", false);
  }}
  function poll() {{
    fetch(base + "/status", {{cache: "no-store", credentials: "omit"}})
      .then(function (r) {{ return r.json(); }})
      .then(render)
      .catch(function () {{ $("status").textContent = "Cannot reach the server; retrying…"; }});
  }}
  function post(path) {{
    return fetch(base + path, {{method: "POST", cache: "no-store", credentials: "omit",
      headers: {{"OpenPush-Page": "1", "Content-Type": "application/json"}}, body: "{{}}"}})
      .then(function (r) {{ return r.json().then(function (j) {{ if (!r.ok) throw j; return j; }}); }});
  }}
  function fail(e) {{ $("error").textContent = (e && e.error && e.error.message) || "Something went wrong."; }}
  $("verify-now").addEventListener("click", function () {{
    $("error").textContent = "";
    post("/verify").then(function (j) {{
      $("number").textContent = j.number;
      show("number-help", true);
    }}, fail);
  }});
  $("generate-app-password").addEventListener("click", function () {{
    $("error").textContent = "";
    post("/app-password").then(function (j) {{
      $("app-password").textContent = j.password;
      $("generate-app-password").disabled = true;
    }}, fail);
  }});
  poll();
  setInterval(poll, 2000);
}})();
</script>
</body></html>"#,
        issuer = escape(&st.issuer),
        user = escape(&user),
        activation = activation,
        nonce = nonce,
    );
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src data:; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_FRAME_OPTIONS, "DENY".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        html,
    )
        .into_response())
}

async fn status(State(st): State<Shared>, Path(token): Path<String>) -> ApiResult<Response> {
    let id = enrollment_for(&st, &token)?;
    let conn = st.db.lock()?;
    let mut v = crate::admin::enrollment_status(&st, &conn, &id)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("user");
    }
    Ok(json(StatusCode::OK, v))
}

async fn verify(
    State(st): State<Shared>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    require_page_header(&headers)?;
    let id = enrollment_for(&st, &token)?;
    let client = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let c = crate::admin::verify_now(&st, &id, Some(peer.0.ip().to_string()), client).await?;
    Ok(json(
        StatusCode::CREATED,
        json!({"number": c.number, "expires_at": c.expires_at}),
    ))
}

async fn app_password(
    State(st): State<Shared>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    require_page_header(&headers)?;
    let id = enrollment_for(&st, &token)?;
    let user: String = {
        let conn = st.db.lock()?;
        let (state, user): (String, String) = conn.query_row(
            "SELECT state, user FROM enrollments WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if state != "active" {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "enrollment_not_active",
                "confirm the device first",
            ));
        }
        user
    };
    let (password, hash) = tokio::task::spawn_blocking(crate::apppass::generate)
        .await
        .map_err(ApiError::internal)??;
    let pid = crate::wire::new_id()?;
    {
        let conn = st.db.lock()?;
        let now = st.now();
        conn.execute(
            "INSERT INTO app_passwords (id, user, enrollment_id, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![pid, user, id, hash, now as i64],
        )?;
        crate::db::audit(
            &conn,
            now,
            "app_password_created",
            Some(&user),
            None,
            Some(&pid),
        )?;
    }
    tracing::info!(enrollment_id = %id, "app password generated");
    Ok(json(
        StatusCode::CREATED,
        json!({"password": password.as_str(), "id": pid}),
    ))
}
