//! The client under attack: a tampering proxy sits between the app and the reference server
//! (plain http on loopback, under the test flag) and rewrites the server's answers the way a
//! network attacker or a compromised relay would. Every attack must end in a typed error with
//! nothing stored or answered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use countersign_core::crypto::Ed25519Signer;
use countersign_core::openpush::Envelope;
use countersign_core::openpush::encoding::{b64, unb64};
use countersign_core::push::http::{HttpClient, TransportConfig};
use countersign_ffi::{
    AuthenticatorClient, CountersignError, Decision, DesktopKeyStore, DeviceDescription,
    NetworkOptions, PushTarget,
};
use countersign_harness::admin::AdminClient;
use serde_json::Value;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

type Mutator = Box<dyn FnMut(&str, Vec<u8>) -> Vec<u8> + Send>;

struct Proxy {
    upstream: String,
    http: HttpClient,
    mutate: Mutex<Option<Mutator>>,
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|x| x.to_string())
        .unwrap_or_default();
    let headers: Vec<(&'static str, String)> = [
        "OpenPush-Account",
        "OpenPush-Time",
        "OpenPush-Nonce",
        "OpenPush-Signature",
        "Authorization",
    ]
    .iter()
    .filter_map(|h| {
        req.headers()
            .get(*h)
            .and_then(|v| v.to_str().ok())
            .map(|v| (*h, v.to_string()))
    })
    .collect();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    let resp = p
        .http
        .send(
            method,
            &format!("{}{path}", p.upstream),
            &headers,
            (!body.is_empty()).then_some(body),
        )
        .await
        .unwrap();
    let mut bytes = resp.body;
    if let Some(m) = p.mutate.lock().unwrap().as_mut() {
        bytes = m(&path, bytes);
    }
    (
        axum::http::StatusCode::from_u16(resp.status).unwrap(),
        [("content-type", "application/json")],
        bytes,
    )
        .into_response()
}

struct World {
    dir: tempfile::TempDir,
    _server: countersign_server::RunningServer,
    proxy: Arc<Proxy>,
    admin: AdminClient,
    phone: Arc<AuthenticatorClient>,
    server_clock: Arc<countersign_server::ManualClock>,
}

impl World {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_url = format!("http://{}", listener.local_addr().unwrap());
        let mut config = countersign_server::ServerConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().join("srv"),
        );
        config.tls = countersign_server::Tls::PlainHttpLoopback;
        config.public_url = Some(proxy_url.clone());
        let server_clock = Arc::new(countersign_server::ManualClock::starting_now());
        config.clock = server_clock.clone();
        let server = countersign_server::start(config).await.unwrap();
        let proxy = Arc::new(Proxy {
            upstream: format!("http://{}", server.addr()),
            http: HttpClient::new(TransportConfig {
                extra_ca_pem: None,
                allow_loopback: true,
            })
            .unwrap(),
            mutate: Mutex::new(None),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let admin = AdminClient::new(
            &format!("http://{}", server.addr()),
            None,
            server.admin_token(),
        )
        .unwrap();
        std::fs::write(dir.path().join("pw"), "attack tests").unwrap();
        let phone = AuthenticatorClient::open_desktop(
            dir.path().join("vault.db").display().to_string(),
            DesktopKeyStore::PassphraseFile {
                path: dir.path().join("pw").display().to_string(),
            },
            None,
        )
        .unwrap();
        phone
            .set_network_options(NetworkOptions {
                extra_ca_pem: None,
                allow_insecure_loopback: true,
            })
            .unwrap();
        Self {
            dir,
            _server: server,
            proxy,
            admin,
            phone,
            server_clock,
        }
    }

    fn tamper(&self, f: impl FnMut(&str, Vec<u8>) -> Vec<u8> + Send + 'static) {
        *self.proxy.mutate.lock().unwrap() = Some(Box::new(f));
    }

    fn honest(&self) {
        *self.proxy.mutate.lock().unwrap() = None;
    }

    async fn activate(&self, user: &str) -> i64 {
        self.admin.create_user(user).await.unwrap();
        let e = self.admin.enroll(user).await.unwrap();
        let act = self
            .phone
            .activate_from_payload(e.qr_payload, device(), poll())
            .await
            .unwrap();
        let number = self.admin.verify_now(&e.id).await.unwrap();
        let c = self
            .phone
            .pending_challenges()
            .await
            .unwrap()
            .pop()
            .unwrap();
        self.phone
            .answer_challenge(
                c.account_id,
                c.challenge_id,
                Decision::Approve {
                    number: Some(number),
                    option: None,
                },
            )
            .await
            .unwrap();
        act.account_id
    }

    /// Lists, approves the one pending request of `account` with the sign-in's number, and
    /// checks the server recorded the approval.
    async fn approve_pending(&self, account: i64, s: &countersign_harness::admin::Signin) {
        let c = self
            .phone
            .pending_challenges()
            .await
            .unwrap()
            .pop()
            .unwrap();
        self.phone
            .answer_challenge(
                account,
                c.challenge_id,
                Decision::Approve {
                    number: Some(s.number.clone()),
                    option: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(self.admin.signin_state(&s.id).await.unwrap(), "approved");
    }

    async fn signin(&self, user: &str) -> countersign_harness::admin::Signin {
        self.admin
            .signin(user, "Payroll", "203.0.113.7", "Berlin, DE", "Firefox")
            .await
            .unwrap()
    }
}

fn device() -> DeviceDescription {
    DeviceDescription {
        name: "attack test".into(),
        platform: "linux".into(),
        app_version: "0".into(),
    }
}

fn poll() -> PushTarget {
    PushTarget {
        provider: "none".into(),
        token: String::new(),
    }
}

fn security(r: Result<impl std::fmt::Debug, CountersignError>) {
    match r {
        Err(CountersignError::SecurityCheckFailed { .. }) => {}
        other => panic!("expected a security failure, got {other:?}"),
    }
}

/// Applies `f` to the payload of the challenge envelope(s) inside a list/fetch response,
/// without re-signing anything.
fn edit_nested_challenge(body: Vec<u8>, f: impl Fn(&mut Value)) -> Vec<u8> {
    let mut outer: Value = serde_json::from_slice(&body).unwrap();
    let inner_payload = unb64(outer["payload"].as_str().unwrap(), "p").unwrap();
    let mut inner: Value = serde_json::from_slice(&inner_payload).unwrap();
    let envs: Vec<&mut Value> = match inner.get_mut("challenges") {
        Some(Value::Array(a)) => a.iter_mut().collect(),
        _ => vec![&mut inner["challenge"]],
    };
    for env in envs {
        f(env);
    }
    outer["payload"] = b64(&serde_json::to_vec(&inner).unwrap()).into();
    serde_json::to_vec(&outer).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpinned_server_key_at_activation_stores_nothing() {
    let w = World::new().await;
    let attacker = Ed25519Signer::generate().unwrap().0;
    w.tamper(move |path, body| {
        if !path.ends_with("/activate") {
            return body;
        }
        let Ok(env) = serde_json::from_slice::<Envelope>(&body) else {
            return body; // an error body: pass it on
        };
        let payload = unb64(&env.payload, "p").unwrap();
        let mut forged = Envelope::sign(&attacker, "activate-response", &payload);
        forged.server_key = Some(b64(&attacker.public_key()));
        serde_json::to_vec(&forged).unwrap()
    });
    w.admin.create_user("u1").await.unwrap();
    let e = w.admin.enroll("u1").await.unwrap();
    security(
        w.phone
            .activate_from_payload(e.qr_payload.clone(), device(), poll())
            .await,
    );
    // The typed path pins through the code's key commitment alone (no fingerprint).
    let e = w.admin.enroll("u1").await.unwrap();
    security(
        w.phone
            .activate_with_code(e.code.clone(), e.url.clone(), device(), poll())
            .await,
    );
    assert!(
        w.phone.list_accounts().unwrap().is_empty(),
        "nothing stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_signature_and_tampered_context_are_refused() {
    let w = World::new().await;
    let account = w.activate("u2").await;
    let s = w.signin("u2").await;

    // A flipped signature byte on the challenge.
    w.tamper(|path, body| {
        if !path.contains("/challenges") || path.contains("/answer") {
            return body;
        }
        edit_nested_challenge(body, |env| {
            let sig = env["sig"].as_str().unwrap().to_string();
            let (first, rest) = sig.split_at(1);
            let flipped = format!("{}{rest}", if first == "A" { "B" } else { "A" });
            env["sig"] = flipped.into();
        })
    });
    security(w.phone.pending_challenges().await);

    // The context rewritten ("Payroll" → "Benefits") without the server key.
    w.tamper(|path, body| {
        if !path.contains("/challenges") || path.contains("/answer") {
            return body;
        }
        edit_nested_challenge(body, |env| {
            let p = unb64(env["payload"].as_str().unwrap(), "p").unwrap();
            let text = String::from_utf8(p).unwrap().replace("Payroll", "Benefits");
            env["payload"] = b64(text.as_bytes()).into();
        })
    });
    security(w.phone.pending_challenges().await);

    // Honest again: the untouched challenge is still there and can be answered.
    w.honest();
    let c = w.phone.pending_challenges().await.unwrap().pop().unwrap();
    assert_eq!(c.app, "Payroll");
    w.phone
        .answer_challenge(
            account,
            c.challenge_id,
            Decision::Approve {
                number: Some(s.number),
                option: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(w.admin.signin_state(&s.id).await.unwrap(), "approved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_response_expired_challenge_and_oversize() {
    let w = World::new().await;
    let account = w.activate("u3").await;
    let s = w.signin("u3").await;

    // Capture a list response, then replay it later: its nonce echo no longer matches.
    let captured: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let cap = captured.clone();
    w.tamper(move |path, body| {
        if path.ends_with("/challenges") {
            let mut c = cap.lock().unwrap();
            if let Some(old) = c.as_ref() {
                return old.clone();
            }
            *c = Some(body.clone());
        }
        body
    });
    assert_eq!(w.phone.pending_challenges().await.unwrap().len(), 1);
    security(w.phone.pending_challenges().await);
    w.honest();

    // An oversized answer from the server is cut off and refused.
    w.tamper(|path, body| {
        if path.ends_with("/challenges") {
            vec![b' '; 70 * 1024]
        } else {
            body
        }
    });
    security(w.phone.pending_challenges().await);
    w.honest();

    // Time passes the expiry (the server's clock is authoritative; the phone resynchronises
    // from signed time): the request is no longer shown, and a late answer is refused.
    let c = w.phone.pending_challenges().await.unwrap().pop().unwrap();
    w.server_clock.advance(200);
    assert!(
        w.phone.pending_challenges().await.unwrap().is_empty(),
        "expired requests are not shown"
    );
    let late = w
        .phone
        .answer_challenge(
            account,
            c.challenge_id,
            Decision::Approve {
                number: Some(s.number),
                option: None,
            },
        )
        .await;
    assert!(
        matches!(late, Err(CountersignError::ChallengeClosed { .. })),
        "{late:?}"
    );
    assert_ne!(w.admin.signin_state(&s.id).await.unwrap(), "approved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_payload_urls_are_never_followed() {
    let w = World::new().await;
    let _account = w.activate("u4").await;
    let s = w.signin("u4").await;
    // The wake-up as the server queued it (poll-only devices get none, so build it from the
    // ids the phone knows), plus hostile extra keys.
    let c = w.phone.pending_challenges().await.unwrap().pop().unwrap();
    let aid = {
        // The server account id is not exposed by the FFI; the push's aid is what the server
        // sends. Ask the server's outbox-independent admin view for it.
        let (_, v) = w
            .admin
            .call(reqwest::Method::GET, "/admin/users/u4", None)
            .await
            .unwrap();
        v["accounts"][0]["account_id"].as_str().unwrap().to_string()
    };
    let hits: Arc<AtomicI64> = Arc::default();
    let h = hits.clone();
    w.tamper(move |_, body| {
        h.fetch_add(1, Ordering::SeqCst);
        body
    });
    let mut data = std::collections::HashMap::new();
    data.insert("op".into(), "1".into());
    data.insert("aid".into(), aid);
    data.insert("cid".into(), c.challenge_id.clone());
    data.insert("url".into(), "http://127.0.0.1:9/elsewhere".into());
    data.insert("number".into(), s.number.clone());
    let got = w.phone.handle_push(data).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].challenge_id, c.challenge_id);
    assert!(
        hits.load(Ordering::SeqCst) >= 1,
        "fetched from the account's own server, via the stored URL"
    );
    assert!(
        got[0].display_code.is_none(),
        "nothing from the push is shown"
    );
    let _ = w.dir.path();
}

/// The server's own signing key, read from its data directory: the tests below play a server
/// that signs something it should not (mixing accounts), which only its key can do.
fn server_signer(w: &World) -> Ed25519Signer {
    let text = std::fs::read_to_string(w.dir.path().join("srv").join("server-key")).unwrap();
    Ed25519Signer::from_seed(&countersign_core::crypto::SecretBytes::new(
        unb64(text.trim(), "seed").unwrap(),
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correctly_signed_challenge_for_another_account_is_refused() {
    let w = World::new().await;
    let alice = w.activate("mix-alice").await;
    let _bob = w.activate("mix-bob").await;
    // A sign-in for bob; the "server" then lists bob's challenge, validly signed, in alice's
    // list (re-signing the list for alice's request), as a buggy or malicious server could.
    w.signin("mix-bob").await;
    let bob_challenges: Arc<Mutex<Option<Value>>> = Arc::default();
    assert_eq!(w.phone.list_accounts().unwrap()[0].id, alice);
    let signer = server_signer(&w);
    let store = bob_challenges.clone();
    let listed: Arc<Mutex<u32>> = Arc::default();
    let count = listed.clone();
    w.tamper(move |path, body| {
        if !path.ends_with("/challenges") {
            return body;
        }
        let env: Envelope = serde_json::from_slice(&body).unwrap();
        let mut payload: Value =
            serde_json::from_slice(&unb64(&env.payload, "p").unwrap()).unwrap();
        let mut n = count.lock().unwrap();
        *n += 1;
        match *n {
            // Round one, in list order: alice's list (empty) passes; bob's is captured.
            1 => body,
            2 => {
                *store.lock().unwrap() = Some(payload["challenges"].clone());
                body
            }
            // Round two: alice's list (her request, her nonce) carries bob's challenge, and
            // the list is signed with the real server key.
            _ => {
                payload["challenges"] = store.lock().unwrap().clone().unwrap();
                let bytes = serde_json::to_vec(&payload).unwrap();
                serde_json::to_vec(&Envelope::sign(&signer, "challenge-list", &bytes)).unwrap()
            }
        }
    });
    // First round: honest lists (alice empty, bob one challenge).
    let first = w.phone.pending_challenges().await.unwrap();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_ne!(first[0].account_id, alice);
    // Second round: alice's list now holds bob's challenge, signed by the real server key.
    security(w.phone.pending_challenges().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_key_rotation_then_sign_in_and_a_lost_confirmation_is_recovered() {
    let w = World::new().await;
    let account = w.activate("rot-dev").await;
    // Rotation confirmed: the next sign-in is answered with the new key (the server now
    // refuses the old one, so a client still using it would fail here).
    w.phone.rotate_device_key(account).await.unwrap();
    let s = w.signin("rot-dev").await;
    w.approve_pending(account, &s).await;

    // The server switches keys but its confirmation never arrives intact.
    w.tamper(|path, body| {
        if path.ends_with("/account/device-key") {
            b"<html>gateway error</html>".to_vec()
        } else {
            body
        }
    });
    assert!(w.phone.rotate_device_key(account).await.is_err());
    w.honest();
    // The next request, signed with the old key, is refused by the server; the client retries
    // with the pending key, which works, and keeps it from then on.
    let s = w.signin("rot-dev").await;
    w.approve_pending(account, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_key_rotation_is_followed_along_the_signed_chain() {
    let w = World::new().await;
    let account = w.activate("rot-srv").await;
    let s = w.signin("rot-srv").await;
    let (status, r) = w
        .admin
        .call(reqwest::Method::POST, "/admin/server-key/rotate", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{r}");
    // The pending challenge was re-signed with the new key; the client follows the chain
    // from its pin, then lists and answers as before.
    w.approve_pending(account, &s).await;
    // A second rotation within 10 minutes: the chain is not fetched again so soon, and the
    // unknown key is refused rather than trusted.
    w.admin
        .call(reqwest::Method::POST, "/admin/server-key/rotate", None)
        .await
        .unwrap();
    w.signin("rot-srv").await;
    security(w.phone.pending_challenges().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_key_chain_is_refused_and_the_pin_stays() {
    let w = World::new().await;
    let account = w.activate("rot-evil").await;
    let s = w.signin("rot-evil").await;
    // An attacker re-signs responses with its own key and serves a "rotation" from the pinned
    // key to its key, signed by itself.
    let evil = Ed25519Signer::generate().unwrap().0;
    let pinned_kid =
        countersign_core::openpush::ServerKey::from_bytes(&server_signer(&w).public_key())
            .unwrap()
            .kid();
    let evil_key = countersign_core::openpush::ServerKey::from_bytes(&evil.public_key()).unwrap();
    w.tamper(move |path, body| {
        let Ok(env) = serde_json::from_slice::<Envelope>(&body) else {
            return body;
        };
        let mut payload: Value =
            serde_json::from_slice(&unb64(&env.payload, "p").unwrap()).unwrap();
        if path.ends_with("/account/server-key") {
            let statement = serde_json::json!({
                "old_kid": pinned_kid, "new_key": {"alg": "Ed25519", "pub": evil_key.to_b64()},
                "new_kid": evil_key.kid(), "rotated_at": 1
            });
            let mut link = Envelope::sign(
                &evil,
                "server-key-rotation",
                &serde_json::to_vec(&statement).unwrap(),
            );
            link.kid = pinned_kid.clone(); // claims to be signed by the pinned key
            payload["chain"] = serde_json::json!([link]);
            payload["current_kid"] = evil_key.kid().into();
            payload["current_key"] =
                serde_json::json!({"alg": "Ed25519", "pub": evil_key.to_b64()});
        }
        let bytes = serde_json::to_vec(&payload).unwrap();
        serde_json::to_vec(&Envelope::sign(&evil, &env.typ, &bytes)).unwrap()
    });
    security(w.phone.pending_challenges().await);
    // Honest again: the pin was not moved, so the real server's answers still verify.
    w.honest();
    w.approve_pending(account, &s).await;
}
