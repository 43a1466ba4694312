//! End to end against a real privacyIDEA 3.14 (installed and started by
//! `tests/privacyidea/start.sh`; `tests/run.sh` does that and runs these with `--ignored`).
//! Three roles, as in production: the administrator enrols tokens through privacyIDEA's API,
//! the relying party calls `/validate/check` and `/validate/polltransaction`, and the phone is
//! `countersign-ffi` exactly as the shells use it, with a real vault file, over HTTPS with the
//! generated CA.
//!
//! Each test has its own user, so they run in parallel. They are `#[ignore]`d because they need
//! the server; run them with
//! `cargo test -p countersign-harness --test e2e_privacyidea -- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use countersign_core::push::http::{HttpClient, TransportConfig};
use countersign_ffi::{
    AuthenticatorClient, CodeState, CountersignError, Decision, DesktopKeyStore, EnrollmentStage,
    NetworkOptions, Outcome, PushTarget,
};
use serde_json::Value;
use std::sync::{Arc, Mutex};

const REALM: &str = "countersign";

/// The administrator and relying party, over privacyIDEA's plain-http loopback listener.
struct Pi {
    http: HttpClient,
    base: String,
    jwt: String,
    ca: Vec<u8>,
}

fn pi_home() -> std::path::PathBuf {
    std::env::var_os("PI_HOME")
        .map(Into::into)
        .unwrap_or_else(|| "/tmp/countersign-pi".into())
}

impl Pi {
    async fn connect() -> Self {
        let home = pi_home();
        let read = |f: &str| {
            std::fs::read_to_string(home.join(f)).unwrap_or_else(|_| {
                panic!(
                    "privacyIDEA is not running ({}/{f} missing): start it with \
                     tests/privacyidea/start.sh",
                    home.display()
                )
            })
        };
        let base = read("http-url").trim().to_string();
        let ca = read("ca.pem").into_bytes();
        let http = HttpClient::new(TransportConfig {
            extra_ca_pem: None,
            allow_loopback: true,
        })
        .unwrap();
        let mut pi = Self {
            http,
            base,
            jwt: String::new(),
            ca,
        };
        let password = read("admin-password");
        let auth = pi
            .call(
                "POST",
                "/auth",
                &[("username", "admin"), ("password", password.trim())],
            )
            .await;
        pi.jwt = auth["result"]["value"]["token"]
            .as_str()
            .unwrap()
            .to_string();
        pi
    }

    async fn call(&self, method: &str, path: &str, pairs: &[(&str, &str)]) -> Value {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let headers = [("PI-Authorization", self.jwt.clone())];
        let headers: &[(&str, String)] = if self.jwt.is_empty() { &[] } else { &headers };
        let resp = match method {
            "GET" => self
                .http
                .send_typed(
                    reqwest::Method::GET,
                    &format!("{}{path}?{form}", self.base),
                    headers,
                    None,
                )
                .await
                .unwrap(),
            m => self
                .http
                .send_typed(
                    m.parse().unwrap(),
                    &format!("{}{path}", self.base),
                    headers,
                    Some(("application/x-www-form-urlencoded", form.into_bytes())),
                )
                .await
                .unwrap(),
        };
        serde_json::from_slice(&resp.body)
            .unwrap_or_else(|_| panic!("{path}: HTTP {} not JSON", resp.status))
    }

    /// Deletes the user's tokens and enrols a new push token; returns the enrolment link.
    async fn push_link(&self, user: &str) -> String {
        self.delete_tokens(user).await;
        let r = self
            .call(
                "POST",
                "/token/init",
                &[
                    ("type", "push"),
                    ("genkey", "1"),
                    ("user", user),
                    ("realm", REALM),
                ],
            )
            .await;
        r["detail"]["pushurl"]["value"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn delete_tokens(&self, user: &str) {
        let r = self
            .call("GET", "/token/", &[("user", user), ("realm", REALM)])
            .await;
        for t in r["result"]["value"]["tokens"].as_array().unwrap() {
            let serial = t["serial"].as_str().unwrap();
            self.call("DELETE", &format!("/token/{serial}"), &[]).await;
        }
    }

    /// `/validate/check` with the user's password: returns the whole response.
    async fn check(&self, user: &str, pass: &str, tx: Option<&str>) -> Value {
        let mut form = vec![("user", user), ("realm", REALM), ("pass", pass)];
        if let Some(t) = tx {
            form.push(("transaction_id", t));
        }
        self.call("POST", "/validate/check", &form).await
    }

    /// Triggers a push sign-in; returns the transaction id and the whole response.
    async fn trigger(&self, user: &str) -> (String, Value) {
        let r = self.check(user, &format!("{user}-password"), None).await;
        assert_eq!(r["result"]["authentication"], "CHALLENGE", "{r}");
        (
            r["detail"]["transaction_id"].as_str().unwrap().to_string(),
            r,
        )
    }

    async fn finalize(&self, user: &str, tx: &str) -> String {
        let r = self.check(user, "", Some(tx)).await;
        r["result"]["authentication"].as_str().unwrap().to_string()
    }

    async fn status(&self, tx: &str) -> String {
        let r = self
            .call(
                "GET",
                "/validate/polltransaction",
                &[("transaction_id", tx)],
            )
            .await;
        r["detail"]["challenge_status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    async fn policy(&self, name: &str, user: &str, action: &str) {
        let r = self
            .call(
                "POST",
                &format!("/policy/{name}"),
                &[
                    ("scope", "authentication"),
                    ("action", action),
                    ("user", user),
                    ("realm", REALM),
                    ("active", "true"),
                ],
            )
            .await;
        assert_eq!(r["result"]["status"], true, "{r}");
    }

    async fn drop_policy(&self, name: &str) {
        self.call("DELETE", &format!("/policy/{name}"), &[]).await;
    }
}

/// A phone: a real vault file in a temp dir, the test CA trusted, loopback allowed.
struct Phone {
    _dir: tempfile::TempDir,
    client: Arc<AuthenticatorClient>,
}

fn phone(ca: &[u8]) -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "e2e passphrase").unwrap();
    let client = AuthenticatorClient::open_desktop(
        dir.path().join("vault.db").display().to_string(),
        DesktopKeyStore::PassphraseFile {
            path: pw.display().to_string(),
        },
        None,
    )
    .unwrap();
    client
        .set_network_options(NetworkOptions {
            extra_ca_pem: Some(ca.to_vec()),
            allow_insecure_loopback: true,
        })
        .unwrap();
    Phone { _dir: dir, client }
}

struct Stages(Mutex<Vec<EnrollmentStage>>);

impl countersign_ffi::EnrollmentProgress for Stages {
    fn on_stage(&self, stage: EnrollmentStage) {
        self.0.lock().unwrap().push(stage);
    }
}

async fn enroll(p: &Phone, link: String) -> i64 {
    let stages = Arc::new(Stages(Mutex::new(Vec::new())));
    let e = p
        .client
        .enroll_privacyidea(link, None, None, Some(stages.clone()))
        .await
        .unwrap();
    assert_eq!(
        *stages.0.lock().unwrap(),
        [
            EnrollmentStage::GeneratingKey,
            EnrollmentStage::Registering,
            EnrollmentStage::Done
        ]
    );
    e.account_id
}

/// Approves request `challenge_id`, picking `option` when the request offers options.
async fn approve(
    p: &Phone,
    id: i64,
    challenge_id: String,
    option: Option<String>,
) -> Result<Outcome, CountersignError> {
    p.client
        .answer_challenge(
            id,
            challenge_id,
            Decision::Approve {
                number: None,
                option,
            },
        )
        .await
}

/// The one pending request of `account`.
async fn pending(p: &Phone, account: i64) -> countersign_ffi::PushChallenge {
    let list = p.client.pending_challenges().await.unwrap();
    let mine: Vec<_> = list
        .into_iter()
        .filter(|c| c.account_id == account)
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    mine.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs privacyIDEA: tests/privacyidea/start.sh"]
async fn enroll_approve_decline_fraud_and_push_token() {
    let pi = Pi::connect().await;
    let p = phone(&pi.ca);
    let link = pi.push_link("alice").await;
    let serial = p.client.privacyidea_link(link.clone()).unwrap().serial;
    let id = enroll(&p, link.clone()).await;
    let token = pi.call("GET", "/token/", &[("serial", &serial)]).await;
    assert_eq!(
        token["result"]["value"]["tokens"][0]["rollout_state"],
        "enrolled"
    );
    // The same link again: privacyIDEA refuses a second registration, nothing is stored.
    let before = p.client.list_accounts().unwrap().len();
    let again = p.client.enroll_privacyidea(link, None, None, None).await;
    assert!(
        matches!(again, Err(CountersignError::ServerRejected { ref code, .. }) if code == "601"),
        "{again:?}"
    );
    assert_eq!(p.client.list_accounts().unwrap().len(), before);

    // Approve → the relying party's final check is ACCEPT.
    let (tx, _) = pi.trigger("alice").await;
    let c = pending(&p, id).await;
    assert_eq!(c.protocol, "privacyidea");
    assert_eq!(c.app, "Countersign e2e");
    assert!(
        c.message.as_deref().unwrap().starts_with("Login by Alice"),
        "{c:?}"
    );
    assert!(c.fraud_report, "3.14 advertises decline reasons");
    assert!(c.options.is_empty());
    let out = approve(&p, id, c.challenge_id.clone(), None).await.unwrap();
    assert_eq!(out, Outcome::Approved);
    assert_eq!(pi.status(&tx).await, "accept");
    assert_eq!(pi.finalize("alice", &tx).await, "ACCEPT");
    // Answered once: this device does not answer it again.
    let twice = p
        .client
        .answer_challenge(id, c.challenge_id, Decision::Deny)
        .await;
    assert!(
        matches!(twice, Err(CountersignError::ChallengeClosed { .. })),
        "{twice:?}"
    );

    // Deny ("it was me, but discard it": decline_reason=cancelled) → not accepted.
    let (tx, _) = pi.trigger("alice").await;
    let c = pending(&p, id).await;
    let out = p
        .client
        .answer_challenge(id, c.challenge_id, Decision::Deny)
        .await
        .unwrap();
    assert_eq!(out, Outcome::Denied { reason: None });
    assert_eq!(pi.status(&tx).await, "cancelled");
    assert_eq!(pi.finalize("alice", &tx).await, "REJECT");

    // Report fraud ("no, it's not me": decline_reason=unknown_trigger) → declined, and the
    // authentication log records it.
    let (tx, _) = pi.trigger("alice").await;
    let c = pending(&p, id).await;
    let out = p
        .client
        .answer_challenge(id, c.challenge_id, Decision::ReportFraud)
        .await
        .unwrap();
    assert_eq!(out, Outcome::Fraud);
    assert_eq!(pi.status(&tx).await, "declined");
    assert_eq!(pi.finalize("alice", &tx).await, "REJECT");
    let log = pi
        .call(
            "GET",
            "/authenticationlog/",
            &[("event_types", "CHALLENGE_DECLINED_UNKNOWN_TRIGGER")],
        )
        .await;
    let text = log.to_string();
    assert!(
        text.contains("CHALLENGE_DECLINED_UNKNOWN_TRIGGER") && text.contains(&tx),
        "authentication log: {text}"
    );

    // Push-token update (signed), then back to polling.
    p.client
        .update_push_token(
            id,
            PushTarget {
                provider: "fcm".into(),
                token: "fcm-token-for-e2e".into(),
            },
        )
        .await
        .unwrap();
    let info = pi.call("GET", "/token/", &[("serial", &serial)]).await;
    assert_eq!(
        info["result"]["value"]["tokens"][0]["info"]["firebase_token"],
        "fcm-token-for-e2e"
    );
    // Removed from the device (privacyIDEA has no device-side unenrolment).
    p.client.unenroll(id).await.unwrap();
    assert!(p.client.list_accounts().unwrap().iter().all(|a| a.id != id));
    pi.delete_tokens("alice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs privacyIDEA: tests/privacyidea/start.sh"]
async fn presence_right_option_accepts_wrong_option_does_not() {
    let pi = Pi::connect().await;
    let p = phone(&pi.ca);
    let id = enroll(&p, pi.push_link("dave").await).await;
    pi.policy("cs-e2e-presence", "dave", "push_require_presence")
        .await;

    // Wrong option: the server refuses, the device does not try again, the sign-in fails.
    let (tx, r) = pi.trigger("dave").await;
    let shown = r["detail"]["multi_challenge"][0]["presence_answer"]
        .as_str()
        .unwrap()
        .to_string();
    let c = pending(&p, id).await;
    assert!(c.options.len() >= 2 && c.options.contains(&shown), "{c:?}");
    let wrong = c.options.iter().find(|o| **o != shown).unwrap().clone();
    // Not one of the options at all: refused before anything is sent.
    let typo = p
        .client
        .answer_challenge(
            id,
            c.challenge_id.clone(),
            Decision::Approve {
                number: None,
                option: Some("not an option".into()),
            },
        )
        .await;
    assert!(
        matches!(typo, Err(CountersignError::InvalidInput { .. })),
        "{typo:?}"
    );
    let out = approve(&p, id, c.challenge_id.clone(), Some(wrong)).await;
    assert!(
        matches!(out, Err(CountersignError::ChallengeClosed { .. })),
        "{out:?}"
    );
    assert_eq!(pi.status(&tx).await, "pending");
    assert_eq!(pi.finalize("dave", &tx).await, "REJECT");

    // Right option: ACCEPT.
    let (tx, r) = pi.trigger("dave").await;
    let shown = r["detail"]["multi_challenge"][0]["presence_answer"]
        .as_str()
        .unwrap()
        .to_string();
    let c = pending(&p, id).await;
    let out = approve(&p, id, c.challenge_id, Some(shown)).await.unwrap();
    assert_eq!(out, Outcome::Approved);
    assert_eq!(pi.finalize("dave", &tx).await, "ACCEPT");
    pi.drop_policy("cs-e2e-presence").await;
    pi.delete_tokens("dave").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs privacyIDEA: tests/privacyidea/start.sh"]
async fn code_to_phone_shows_the_code_the_login_page_wants() {
    let pi = Pi::connect().await;
    let p = phone(&pi.ca);
    let id = enroll(&p, pi.push_link("erin").await).await;
    pi.policy("cs-e2e-code", "erin", "push_code_to_phone").await;
    let (tx, _) = pi.trigger("erin").await;
    let c = pending(&p, id).await;
    let out = approve(&p, id, c.challenge_id, None).await.unwrap();
    let Outcome::ApprovedWithCode { code, instruction } = out else {
        panic!("{out:?}")
    };
    assert!(instruction.is_some());
    // The user types the code shown on the phone into the login page.
    let r = pi.check("erin", &code, Some(&tx)).await;
    assert_eq!(r["result"]["authentication"], "ACCEPT", "{r}");
    pi.drop_policy("cs-e2e-code").await;
    pi.delete_tokens("erin").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs privacyIDEA: tests/privacyidea/start.sh"]
async fn totp_token_from_privacyidea_gives_accepted_codes() {
    let pi = Pi::connect().await;
    let p = phone(&pi.ca);
    pi.delete_tokens("bob").await;
    let r = pi
        .call(
            "POST",
            "/token/init",
            &[
                ("type", "totp"),
                ("genkey", "1"),
                ("hashlib", "sha256"),
                ("otplen", "8"),
                ("user", "bob"),
                ("realm", REALM),
            ],
        )
        .await;
    let uri = r["detail"]["googleurl"]["value"].as_str().unwrap();
    assert!(
        uri.contains("creator=privacyidea") && !uri.contains('='.to_string().repeat(2).as_str())
    );
    let added = p.client.add_account_from_uri(uri.to_string()).unwrap();
    let codes = p.client.codes().unwrap();
    let code = codes
        .iter()
        .find(|c| c.account.id == added.account.id)
        .map(|c| match &c.state {
            CodeState::Timed { code, .. } => code.code.clone(),
            other => panic!("{other:?}"),
        })
        .unwrap();
    assert_eq!(code.len(), 8);
    let r = pi.check("bob", &format!("bob-password{code}"), None).await;
    assert_eq!(r["result"]["authentication"], "ACCEPT", "{r}");
    pi.delete_tokens("bob").await;
}

/// A relay between the phone and privacyIDEA that can rewrite what the server says.
struct Relay {
    upstream: String,
    http: HttpClient,
    tamper: Mutex<bool>,
}

async fn relay(State(r): State<Arc<Relay>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|x| x.to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    let resp = r
        .http
        .send_typed(
            method.clone(),
            &format!("{}{path}", r.upstream),
            &[],
            (!body.is_empty()).then_some(("application/x-www-form-urlencoded", body)),
        )
        .await
        .unwrap();
    let mut bytes = resp.body;
    if method == reqwest::Method::GET && *r.tamper.lock().unwrap() {
        let mut v: Value = serde_json::from_slice(&bytes).unwrap();
        if let Some(list) = v["result"]["value"].as_array_mut() {
            for c in list {
                c["question"] = Value::String("Login by alice from a place you trust?".into());
            }
        }
        bytes = serde_json::to_vec(&v).unwrap();
    }
    (
        axum::http::StatusCode::from_u16(resp.status).unwrap(),
        [("content-type", "application/json")],
        bytes,
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs privacyIDEA: tests/privacyidea/start.sh"]
async fn tampered_challenge_is_refused_and_nothing_is_answered() {
    let pi = Pi::connect().await;
    let p = phone(&pi.ca);
    let r = Arc::new(Relay {
        upstream: pi.base.clone(),
        http: HttpClient::new(TransportConfig {
            extra_ca_pem: None,
            allow_loopback: true,
        })
        .unwrap(),
        tamper: Mutex::new(false),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(relay).with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // The phone reaches privacyIDEA only through the relay (the link's url is rewritten).
    let link = pi.push_link("frank").await;
    let push_url = std::fs::read_to_string(pi_home().join("push-url")).unwrap();
    let relayed = link.replace(
        &url::form_urlencoded::byte_serialize(push_url.trim().as_bytes())
            .collect::<String>()
            .replace("%2F", "/"),
        &url::form_urlencoded::byte_serialize(format!("http://{addr}/ttype/push").as_bytes())
            .collect::<String>(),
    );
    assert_ne!(relayed, link, "the link's url was not rewritten: {link}");
    let id = enroll(&p, relayed).await;

    let (tx, _) = pi.trigger("frank").await;
    *r.tamper.lock().unwrap() = true;
    let refused = p.client.pending_challenges().await;
    assert!(
        matches!(refused, Err(CountersignError::SecurityCheckFailed { .. })),
        "{refused:?}"
    );
    // Honest again: the real challenge is listed and still open at the server.
    *r.tamper.lock().unwrap() = false;
    let c = pending(&p, id).await;
    assert!(c.message.as_deref().unwrap().starts_with("Login by Frank"));
    assert_eq!(pi.status(&tx).await, "pending");
    // Tampered while answering (the answer re-polls first): nothing is sent.
    *r.tamper.lock().unwrap() = true;
    let out = p
        .client
        .answer_challenge(id, c.challenge_id, Decision::Deny)
        .await;
    assert!(
        matches!(out, Err(CountersignError::SecurityCheckFailed { .. })),
        "{out:?}"
    );
    assert_eq!(pi.status(&tx).await, "pending");
    pi.delete_tokens("frank").await;
}

/// Runs the `countersign` binary against the phone's vault; returns stdout, or panics with
/// stderr when the exit status is not `want`.
fn cli(dir: &std::path::Path, ca: &std::path::Path, args: &[&str], want: i32) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_countersign"))
        .arg("--vault")
        .arg(dir.join("vault.db"))
        .arg("--key-store")
        .arg("passphrase")
        .arg("--passphrase-file")
        .arg(dir.join("pw"))
        .arg("--ca")
        .arg(ca)
        .arg("--allow-http-loopback")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(want),
        "countersign {args:?}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs privacyIDEA: tests/privacyidea/start.sh"]
async fn the_cli_enrols_lists_approves_and_reports_fraud() {
    let pi = Pi::connect().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "cli passphrase").unwrap();
    let ca = pi_home().join("ca.pem");
    let link = pi.push_link("carol").await;
    let enrolled: Value = serde_json::from_str(&cli(
        dir.path(),
        &ca,
        &["activate", "--uri", &link, "--json"],
        0,
    ))
    .unwrap();
    assert_eq!(enrolled["protocol"], "privacyidea");
    assert_eq!(enrolled["host"], "127.0.0.1");

    let (tx, _) = pi.trigger("carol").await;
    let list: Value =
        serde_json::from_str(&cli(dir.path(), &ca, &["push", "list", "--json"], 0)).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["protocol"], "privacyidea");
    assert!(list[0]["message"].as_str().unwrap().contains("Carol"));
    // A number on a request that has none is bad input (exit 2); nothing is sent.
    cli(
        dir.path(),
        &ca,
        &["push", "approve", &id, "--number", "12"],
        2,
    );
    let out = cli(dir.path(), &ca, &["push", "approve", &id], 0);
    assert_eq!(out.trim(), "approved");
    assert_eq!(pi.finalize("carol", &tx).await, "ACCEPT");

    let (tx, _) = pi.trigger("carol").await;
    let list: Value =
        serde_json::from_str(&cli(dir.path(), &ca, &["push", "list", "--json"], 0)).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    let out = cli(dir.path(), &ca, &["push", "report-fraud", &id], 0);
    assert_eq!(out.trim(), "denied and reported as fraud");
    assert_eq!(pi.status(&tx).await, "declined");
    // Answered: a second answer is refused as closed (exit 9).
    cli(dir.path(), &ca, &["push", "deny", &id], 9);
    pi.delete_tokens("carol").await;
}
