//! End to end over loopback TLS: the reference server (in-process, generated certificate) and
//! the client exactly as the shells use it (`countersign-ffi`), with a real vault file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use countersign_ffi::{
    AuthenticatorClient, CodeState, CountersignError, Decision, DesktopKeyStore, DeviceDescription,
    NetworkOptions, Outcome, PushTarget,
};
use countersign_harness::admin::AdminClient;

mod common;
use std::sync::Arc;

struct World {
    _dir: tempfile::TempDir,
    server: Option<countersign_server::RunningServer>,
    admin: AdminClient,
    ca: Vec<u8>,
    vault: String,
}

impl World {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = countersign_server::ServerConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().join("srv"),
        );
        let server = countersign_server::start(config).await.unwrap();
        let ca = server.ca_pem().unwrap().into_bytes();
        let admin =
            AdminClient::new(server.base_url(), Some(ca.clone()), server.admin_token()).unwrap();
        let vault = dir.path().join("vault.db").display().to_string();
        Self {
            _dir: dir,
            server: Some(server),
            admin,
            ca,
            vault,
        }
    }

    fn phone(&self) -> Arc<AuthenticatorClient> {
        let p = AuthenticatorClient::open_desktop(
            self.vault.clone(),
            DesktopKeyStore::PassphraseFile { path: self.pw() },
            None,
        )
        .unwrap();
        p.set_network_options(NetworkOptions {
            extra_ca_pem: Some(self.ca.clone()),
            allow_insecure_loopback: true,
        })
        .unwrap();
        p
    }

    fn pw(&self) -> String {
        let p = self._dir.path().join("pw");
        if !p.exists() {
            std::fs::write(&p, "e2e passphrase").unwrap();
        }
        p.display().to_string()
    }

    async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
    }
}

fn device() -> DeviceDescription {
    DeviceDescription {
        name: "e2e phone".into(),
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

async fn activate_and_confirm(
    w: &World,
    phone: &AuthenticatorClient,
    user: &str,
    typed: bool,
) -> i64 {
    w.admin.create_user(user).await.unwrap();
    let e = w.admin.enroll(user).await.unwrap();
    let act = if typed {
        phone
            .activate_with_code(e.code.clone(), e.url.clone(), device(), poll())
            .await
            .unwrap()
    } else {
        phone
            .activate_from_payload(e.qr_payload.clone(), device(), poll())
            .await
            .unwrap()
    };
    assert_eq!(w.admin.enrollment_status(&e.id).await.unwrap(), "pending");
    let number = w.admin.verify_now(&e.id).await.unwrap();
    let c = phone.pending_challenges().await.unwrap().pop().unwrap();
    let out = phone
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
    assert_eq!(out, Outcome::Approved);
    assert_eq!(
        w.admin.enrollment_status(&e.id).await.unwrap(),
        "active",
        "the page's status check sees it"
    );
    act.account_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_activation_signins_and_fraud() {
    let w = World::new().await;
    let phone = w.phone();
    let account = activate_and_confirm(&w, &phone, "alice", false).await;

    // Right number → approved.
    let s = w
        .admin
        .signin("alice", "Payroll", "203.0.113.7", "Berlin, DE", "Firefox")
        .await
        .unwrap();
    let c = phone.pending_challenges().await.unwrap().pop().unwrap();
    assert_eq!(c.account_id, account);
    assert_eq!(
        (c.app.as_str(), c.location.as_deref(), c.ip.as_deref()),
        ("Payroll", Some("Berlin, DE"), Some("203.0.113.7"))
    );
    assert_eq!(c.number_length, Some(s.number.len() as u8));
    let out = phone
        .answer_challenge(
            account,
            c.challenge_id.clone(),
            Decision::Approve {
                number: Some(s.number.clone()),
                option: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(out, Outcome::Approved);
    assert_eq!(w.admin.signin_state(&s.id).await.unwrap(), "approved");
    // Answered challenges are not shown or answered again.
    assert!(phone.pending_challenges().await.unwrap().is_empty());
    let again = phone
        .answer_challenge(account, c.challenge_id, Decision::Deny)
        .await;
    assert!(
        matches!(again, Err(CountersignError::ChallengeClosed { .. })),
        "{again:?}"
    );

    // Wrong number → denied, and there is no second try.
    let s = w
        .admin
        .signin("alice", "Payroll", "203.0.113.7", "Berlin, DE", "Firefox")
        .await
        .unwrap();
    let c = phone.pending_challenges().await.unwrap().pop().unwrap();
    let wrong = if s.number == "000" {
        "001".to_string()
    } else {
        "000".to_string()
    };
    let wrong = format!(
        "{:0>width$}",
        &wrong[wrong.len().saturating_sub(s.number.len())..],
        width = s.number.len()
    );
    let out = phone
        .answer_challenge(
            account,
            c.challenge_id.clone(),
            Decision::Approve {
                number: Some(wrong),
                option: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        Outcome::Denied {
            reason: Some("wrong_number".into())
        }
    );
    assert_eq!(w.admin.signin_state(&s.id).await.unwrap(), "denied");
    let retry = phone
        .answer_challenge(
            account,
            c.challenge_id,
            Decision::Approve {
                number: Some(s.number),
                option: None,
            },
        )
        .await;
    assert!(retry.is_err(), "one attempt only");

    // A number of the wrong length is refused locally and does not use up the attempt.
    let s = w
        .admin
        .signin("alice", "Payroll", "203.0.113.7", "Berlin, DE", "Firefox")
        .await
        .unwrap();
    let c = phone.pending_challenges().await.unwrap().pop().unwrap();
    let short = phone
        .answer_challenge(
            account,
            c.challenge_id.clone(),
            Decision::Approve {
                number: Some("1".into()),
                option: None,
            },
        )
        .await;
    assert!(
        matches!(short, Err(CountersignError::InvalidInput { .. })),
        "{short:?}"
    );
    // Deny.
    let out = phone
        .answer_challenge(account, c.challenge_id, Decision::Deny)
        .await
        .unwrap();
    assert_eq!(out, Outcome::Denied { reason: None });
    assert_eq!(w.admin.signin_state(&s.id).await.unwrap(), "denied");

    // Offline code: the app's code (this step or, if the confirmation used it, the next).
    let code = phone
        .codes()
        .unwrap()
        .into_iter()
        .find_map(|c| match c.state {
            CodeState::Timed { code, .. } => Some(code),
            _ => None,
        })
        .unwrap();
    let accepted = w.admin.otp_valid("alice", &code.code).await.unwrap()
        || w.admin
            .otp_valid("alice", code.next_code.as_deref().unwrap())
            .await
            .unwrap();
    assert!(accepted, "the server accepts the offline code");

    // Report fraud → user blocked → no more sign-ins.
    let s = w
        .admin
        .signin("alice", "Payroll", "203.0.113.7", "Berlin, DE", "Firefox")
        .await
        .unwrap();
    let c = phone.pending_challenges().await.unwrap().pop().unwrap();
    let out = phone
        .answer_challenge(account, c.challenge_id, Decision::ReportFraud)
        .await
        .unwrap();
    assert_eq!(out, Outcome::Fraud);
    assert_eq!(w.admin.signin_state(&s.id).await.unwrap(), "fraud");
    assert!(w.admin.fraud_blocked("alice").await.unwrap());
    assert!(
        w.admin
            .signin("alice", "Payroll", "203.0.113.7", "Berlin, DE", "Firefox")
            .await
            .is_err()
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_code_activation_and_reuse_refused() {
    let w = World::new().await;
    let phone = w.phone();
    activate_and_confirm(&w, &phone, "bob", true).await;

    // A code is single-use: a second device using the same code is refused, nothing stored.
    w.admin.create_user("carol").await.unwrap();
    let e = w.admin.enroll("carol").await.unwrap();
    phone
        .activate_with_code(e.code.clone(), e.url.clone(), device(), poll())
        .await
        .unwrap();
    let before = phone.list_accounts().unwrap().len();
    let reuse = phone
        .activate_with_code(e.code.clone(), e.url.clone(), device(), poll())
        .await;
    match reuse {
        Err(CountersignError::ServerRejected { code, .. }) => assert_eq!(code, "code_used"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        phone.list_accounts().unwrap().len(),
        before,
        "nothing stored"
    );

    // A typo in the code or the URL is caught offline, before any request.
    let mut typo = e.code.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == '0' { '1' } else { '0' });
    let r = phone
        .activate_with_code(typo, e.url.clone(), device(), poll())
        .await;
    assert!(
        matches!(r, Err(CountersignError::InvalidInput { .. })),
        "{r:?}"
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_rules() {
    let w = World::new().await;
    let phone = w.phone();
    // Plain http to a non-loopback host is refused before any connection (test flag or not).
    let r = phone
        .activate_with_code(
            "7K3QX-9MDP2-VR4M0-NAP0N".into(),
            "http://mfa.example.com".into(),
            device(),
            poll(),
        )
        .await;
    assert!(
        matches!(r, Err(CountersignError::SecurityCheckFailed { .. })),
        "{r:?}"
    );
    // Without the test flag even the loopback server is refused.
    let strict = AuthenticatorClient::open_desktop(
        w.vault.clone(),
        DesktopKeyStore::PassphraseFile { path: w.pw() },
        None,
    )
    .unwrap();
    w.admin.create_user("dave").await.unwrap();
    let e = w.admin.enroll("dave").await.unwrap();
    let r = strict
        .activate_from_payload(e.qr_payload, device(), poll())
        .await;
    assert!(
        matches!(r, Err(CountersignError::SecurityCheckFailed { .. })),
        "{r:?}"
    );
    // A push whose ids name no account on this device is dropped; other keys are ignored.
    let mut data = std::collections::HashMap::new();
    data.insert("op".to_string(), "1".to_string());
    data.insert("aid".to_string(), "AAAAAAAAAAAAAAAAAAAAAA".to_string());
    data.insert("url".to_string(), "https://evil.example/steal".to_string());
    assert!(phone.handle_push(data).await.is_err());
    assert!(phone.list_accounts().unwrap().is_empty(), "nothing stored");
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_from_a_scanned_picture() {
    let w = World::new().await;
    let phone = w.phone();
    w.admin.create_user("erin").await.unwrap();
    let e = w.admin.enroll("erin").await.unwrap();
    let png = w._dir.path().join("activation.png");
    common::qr_png(&e.qr_payload, &png, false);
    let scanned = phone.scan_image(std::fs::read(&png).unwrap()).unwrap();
    assert_eq!(scanned.len(), 1);
    match &scanned[0].kind {
        countersign_ffi::PayloadKind::OpenpushActivation { host } => assert_eq!(host, "127.0.0.1"),
        other => panic!("{other:?}"),
    }
    let act = phone
        .activate_from_payload(scanned[0].text.clone(), device(), poll())
        .await
        .unwrap();
    assert_eq!(w.admin.enrollment_status(&e.id).await.unwrap(), "pending");
    assert_eq!(act.label, "erin");
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_token_update_and_unenrol() {
    let w = World::new().await;
    let phone = w.phone();
    let account = activate_and_confirm(&w, &phone, "frank", false).await;
    // Switch from polling to a push token: the server now queues wake-ups for this device,
    // carrying only ids (never the number or the context).
    phone
        .update_push_token(
            account,
            PushTarget {
                provider: "fcm".into(),
                token: "fcm-test-token".into(),
            },
        )
        .await
        .unwrap();
    let s = w
        .admin
        .signin("frank", "Payroll", "203.0.113.7", "Berlin, DE", "Firefox")
        .await
        .unwrap();
    let (_, outbox) = w
        .admin
        .call(reqwest::Method::GET, "/admin/outbox", None)
        .await
        .unwrap();
    let wakeups = outbox["wakeups"].as_array().unwrap();
    let last = wakeups.last().expect("a wake-up was queued");
    assert_eq!(last["token"], "fcm-test-token");
    let data = last["data"].as_object().unwrap();
    assert_eq!(
        data.keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        ["aid", "cid", "op"].iter().map(|k| k.to_string()).collect()
    );
    assert!(
        !last.to_string().contains(&s.number),
        "the number is never in a push"
    );
    // The app handles that exact wake-up.
    let push: std::collections::HashMap<String, String> = data
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let got = phone.handle_push(push.clone()).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].app, "Payroll");
    // Once answered, a repeated or late delivery of the same push shows nothing.
    phone
        .answer_challenge(account, got[0].challenge_id.clone(), Decision::Deny)
        .await
        .unwrap();
    assert!(phone.handle_push(push).await.unwrap().is_empty());

    // Unenrol: gone from the server and from the vault.
    phone.unenroll(account).await.unwrap();
    assert!(phone.list_accounts().unwrap().is_empty());
    let (_, user) = w
        .admin
        .call(reqwest::Method::GET, "/admin/users/frank", None)
        .await
        .unwrap();
    assert!(
        user["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["state"] != "active"),
        "{user}"
    );
    w.stop().await;
}

/// A platform signer as a shell would write it: keys never leave it, signatures come back as
/// ASN.1 DER (what Android Keystore and the Secure Enclave return).
#[derive(Default)]
struct DerSigner {
    keys: std::sync::Mutex<std::collections::HashMap<String, ring::signature::EcdsaKeyPair>>,
    deleted: std::sync::Mutex<Vec<String>>,
    garbage: bool,
}

impl countersign_ffi::DeviceSigner for DerSigner {
    fn create_key(&self, alias: String) -> Result<Vec<u8>, countersign_ffi::KeyStoreError> {
        use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = ring::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, doc.as_ref(), &rng).unwrap();
        let public = pair.public_key().as_ref().to_vec();
        self.keys.lock().unwrap().insert(alias, pair);
        Ok(public)
    }

    fn sign(
        &self,
        alias: String,
        message: Vec<u8>,
    ) -> Result<Vec<u8>, countersign_ffi::KeyStoreError> {
        if self.garbage {
            return Ok(vec![0x30, 0x02, 0x01, 0x00]);
        }
        let keys = self.keys.lock().unwrap();
        let pair = keys
            .get(&alias)
            .ok_or(countersign_ffi::KeyStoreError::WrongKey)?;
        Ok(pair
            .sign(&ring::rand::SystemRandom::new(), &message)
            .unwrap()
            .as_ref()
            .to_vec())
    }

    fn delete_key(&self, alias: String) -> Result<(), countersign_ffi::KeyStoreError> {
        self.keys.lock().unwrap().remove(&alias);
        self.deleted.lock().unwrap().push(alias);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_device_signer_with_der_signatures() {
    let w = World::new().await;
    let phone = w.phone();
    let signer = Arc::new(DerSigner::default());
    phone.set_device_signer(Some(signer.clone()));
    let account = activate_and_confirm(&w, &phone, "gina", true).await;
    assert_eq!(
        signer.keys.lock().unwrap().len(),
        1,
        "the key lives in the platform signer"
    );
    let s = w
        .admin
        .signin("gina", "Payroll", "203.0.113.7", "Berlin, DE", "Firefox")
        .await
        .unwrap();
    let c = phone.pending_challenges().await.unwrap().pop().unwrap();
    let out = phone
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
    assert_eq!(out, Outcome::Approved);
    // Without the signer after a restart, the account reports why it cannot sign.
    phone.set_device_signer(None);
    assert!(phone.pending_challenges().await.is_err());
    phone.set_device_signer(Some(signer.clone()));
    phone.unenroll(account).await.unwrap();
    assert_eq!(
        signer.deleted.lock().unwrap().len(),
        1,
        "unenrol deletes the platform key"
    );

    // A signer that returns a malformed signature is caught before anything is sent or stored.
    let bad = Arc::new(DerSigner {
        garbage: true,
        ..Default::default()
    });
    phone.set_device_signer(Some(bad));
    w.admin.create_user("hank").await.unwrap();
    let e = w.admin.enroll("hank").await.unwrap();
    let r = phone
        .activate_from_payload(e.qr_payload, device(), poll())
        .await;
    assert!(matches!(r, Err(CountersignError::Internal { .. })), "{r:?}");
    assert!(phone.list_accounts().unwrap().is_empty());
    assert_eq!(
        w.admin.enrollment_status(&e.id).await.unwrap(),
        "waiting",
        "nothing reached the server"
    );
    w.stop().await;
}
