//! Test support: the real server started in-process on 127.0.0.1:0 (TLS with its generated CA
//! trusted, or plain-http loopback), an admin client, and a device played with the core's
//! openpush primitives over reqwest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    missing_docs
)]

use countersign_core::crypto::{Es256Signer, SecretBytes, X25519Ephemeral, es256_verify, sha256};
use countersign_core::openpush::encoding::{b64, random_id, unb64};
use countersign_core::openpush::messages::{
    ActivateResponse, ActivationBody, ActivationRequest, Challenge, DeviceInfo, KeyRef,
    PushRegistration,
};
use countersign_core::openpush::verify::{
    activation_proof_input, answer_input, challenge_hash, request_input,
};
use countersign_core::openpush::{ActivationPayload, Envelope, ServerKey, UrlPolicy, seed};
use countersign_server::{ManualClock, RunningServer, ServerConfig, Tls, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

/// A response: status, raw bytes and parsed JSON (Null if not JSON).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: StatusCode,
    pub bytes: Vec<u8>,
    pub json: Value,
    pub cache_control: Option<String>,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

pub struct Harness {
    pub server: RunningServer,
    pub clock: ManualClock,
    pub client: reqwest::Client,
    pub base: String,
    pub dir: tempfile::TempDir,
}

pub fn client_for(ca_pem: Option<&[u8]>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = ca_pem {
        b = b.tls_certs_only([reqwest::Certificate::from_pem(pem).unwrap()]);
    }
    b.build().unwrap()
}

impl Harness {
    pub async fn start(tls: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::starting_now();
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        config.tls = if tls {
            Tls::Generated
        } else {
            Tls::PlainHttpLoopback
        };
        config.clock = Arc::new(clock.clone());
        let server = start(config).await.unwrap();
        let ca = std::fs::read(server.ca_pem_path()).unwrap();
        let client = client_for(tls.then_some(ca.as_slice()));
        let base = server.base_url().to_string();
        assert!(base.starts_with(if tls {
            "https://127.0.0.1:"
        } else {
            "http://127.0.0.1:"
        }));
        Self {
            server,
            clock,
            client,
            base,
            dir,
        }
    }

    pub fn now(&self) -> u64 {
        countersign_server::Clock::now(&self.clock)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req.send().await.unwrap();
        let status = r.status();
        let cache_control = r
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = r.bytes().await.unwrap().to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            bytes,
            json,
            cache_control,
        }
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}/admin/{path}", self.base))
            .bearer_auth(self.server.admin_token());
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    pub async fn user(&self, name: &str) {
        let r = self
            .admin(Method::POST, "users", Some(json!({"user": name})))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    }

    pub async fn enrollment(&self, user: &str) -> Value {
        let r = self
            .admin(Method::POST, "enrollments", Some(json!({"user": user})))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
        r.json
    }

    pub async fn enrollment_status(&self, id: &str) -> Value {
        let r = self
            .admin(Method::GET, &format!("enrollments/{id}"), None)
            .await;
        assert_eq!(r.status, StatusCode::OK);
        r.json
    }

    /// Creates a user with one confirmed (active) device.
    pub async fn active_device(&self, user: &str) -> Device {
        self.user(user).await;
        let e = self.enrollment(user).await;
        let payload =
            ActivationPayload::from_qr(e["qr_payload"].as_str().unwrap(), UrlPolicy::AllowLoopback)
                .unwrap();
        let (mut dev, r) = Device::activate(self, &payload, "fcm", "tok-1").await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
        dev.confirm(self, e["enrollment_id"].as_str().unwrap())
            .await;
        dev
    }
}

/// A device played with the core's primitives.
pub struct Device {
    pub signer: Es256Signer,
    pub account_id: String,
    pub server_key: ServerKey,
    pub seed: SecretBytes,
    pub base: String,
    pub activation_body: Vec<u8>,
}

/// A challenge as the device received it.
pub struct Received {
    pub payload: Challenge,
    pub bytes: Vec<u8>,
}

pub fn sign_activation(
    signer: &Es256Signer,
    payload: &ActivationPayload,
    req: &ActivationRequest,
) -> Vec<u8> {
    let bytes = serde_json::to_vec(req).unwrap();
    let body = ActivationBody {
        payload: b64(&bytes),
        device_sig: b64(&signer.sign(&activation_proof_input(&bytes)).unwrap()),
        code_proof: payload.code.proof(&bytes),
    };
    serde_json::to_vec(&body).unwrap()
}

pub fn activation_request(
    h: &Harness,
    signer: &Es256Signer,
    kx_pub: [u8; 32],
    payload: &ActivationPayload,
    provider: &str,
    token: &str,
) -> ActivationRequest {
    ActivationRequest {
        code_id: payload.code.code_id(),
        base_url: payload.base_url.as_str().to_string(),
        nonce: random_id().unwrap(),
        client_time: h.now(),
        device_key: KeyRef {
            alg: "ES256".into(),
            public: b64(&signer.public_key()),
        },
        oath_kx: KeyRef {
            alg: "X25519".into(),
            public: b64(&kx_pub),
        },
        push: PushRegistration {
            provider: provider.into(),
            token: token.into(),
        },
        device: DeviceInfo {
            name: "Pixel 8".into(),
            platform: "android".into(),
            app_version: "1.0.0".into(),
        },
    }
}

pub async fn post_activation(h: &Harness, base: &str, body: &[u8]) -> Resp {
    h.send(
        h.client
            .post(format!("{base}/openpush/1/activate"))
            .header("content-type", "application/json")
            .body(body.to_vec()),
    )
    .await
}

impl Device {
    /// Activates like the client (§5.4 checks included). Panics on a 201 that does not verify.
    pub async fn activate(
        h: &Harness,
        payload: &ActivationPayload,
        provider: &str,
        token: &str,
    ) -> (Device, Resp) {
        let signer = Es256Signer::generate().unwrap();
        let kx = X25519Ephemeral::generate().unwrap();
        let kx_pub = kx.public_key();
        let req = activation_request(h, &signer, kx_pub, payload, provider, token);
        let req_bytes = serde_json::to_vec(&req).unwrap();
        let body = sign_activation(&signer, payload, &req);
        let r = post_activation(h, payload.base_url.as_str(), &body).await;
        if r.status != StatusCode::CREATED {
            let dummy = Device {
                signer,
                account_id: String::new(),
                server_key: ServerKey::from_bytes(&[0u8; 32]).unwrap(),
                seed: SecretBytes::new(vec![]),
                base: payload.base_url.as_str().into(),
                activation_body: body,
            };
            return (dummy, r);
        }
        let env: Envelope = serde_json::from_slice(&r.bytes).unwrap();
        let server_key = ServerKey::from_b64(env.server_key.as_deref().unwrap()).unwrap();
        assert_eq!(env.kid, server_key.kid());
        if let Some(fp) = payload.fingerprint {
            assert_eq!(fp, server_key.fingerprint(), "QR fingerprint pins the key");
        }
        assert!(
            payload
                .code
                .commits_to(&payload.base_url, &server_key.fingerprint()),
            "key commitment"
        );
        let pbytes = env.verify("activate-response", &server_key).unwrap();
        let resp: ActivateResponse = serde_json::from_slice(&pbytes).unwrap();
        assert_eq!(resp.request_hash, b64(&sha256(&req_bytes)));
        assert_eq!(resp.base_url, payload.base_url.as_str());
        assert_eq!(resp.state, "pending");
        assert_eq!(
            (
                resp.oath.kind.as_str(),
                resp.oath.algorithm.as_str(),
                resp.oath.digits,
                resp.oath.period
            ),
            ("totp", "SHA1", 6, 30)
        );
        assert!(resp.limits.challenge_ttl_max <= 120);
        let server_kx: [u8; 32] = unb64(&resp.oath.kx.public, "kx")
            .unwrap()
            .try_into()
            .unwrap();
        let z = kx.agree(&server_kx).unwrap();
        let seed = seed::derive(
            &z,
            &sha256(&req_bytes),
            &resp.account_id,
            &kx_pub,
            &server_kx,
        )
        .unwrap();
        (
            Device {
                signer,
                account_id: resp.account_id,
                server_key,
                seed,
                base: payload.base_url.as_str().into(),
                activation_body: body,
            },
            r,
        )
    }

    pub fn totp(&self, at: u64) -> String {
        countersign_core::otp::totp(
            &self.seed,
            countersign_core::otp::Algorithm::Sha1,
            6,
            30,
            at,
        )
        .unwrap()
        .code
        .as_str()
        .to_string()
    }

    /// A device-authenticated request with explicit time and nonce.
    pub async fn call_with(
        &self,
        h: &Harness,
        method: Method,
        rel: &str,
        body: Option<Vec<u8>>,
        time: u64,
        nonce: &str,
    ) -> Resp {
        let url = format!("{}/openpush/1/{rel}", self.base);
        let path = {
            let u = reqwest::Url::parse(&url).unwrap();
            match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            }
        };
        let body = body.unwrap_or_default();
        let msg = request_input(method.as_str(), &path, &self.account_id, time, nonce, &body);
        let sig = b64(&self.signer.sign(&msg).unwrap());
        let mut req = h
            .client
            .request(method, url)
            .header("OpenPush-Account", &self.account_id)
            .header("OpenPush-Time", time.to_string())
            .header("OpenPush-Nonce", nonce)
            .header("OpenPush-Signature", sig)
            .header("accept", "application/json");
        if !body.is_empty() {
            req = req.header("content-type", "application/json").body(body);
        }
        h.send(req).await
    }

    pub async fn call(
        &self,
        h: &Harness,
        method: Method,
        rel: &str,
        body: Option<Vec<u8>>,
    ) -> Resp {
        self.call_with(h, method, rel, body, h.now(), &random_id().unwrap())
            .await
    }

    /// Verifies a fresh envelope: type, signature, nonce echo (when `nonce` given).
    pub fn open(&self, r: &Resp, typ: &str) -> Value {
        assert_eq!(r.status, StatusCode::OK, "{typ}: {:?}", r.json);
        let env: Envelope = serde_json::from_slice(&r.bytes).unwrap();
        let bytes = env.verify(typ, &self.server_key).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    pub async fn list(&self, h: &Harness) -> Vec<Received> {
        let r = self.call(h, Method::GET, "challenges", None).await;
        let p = self.open(&r, "challenge-list");
        assert_eq!(p["account_id"], self.account_id.as_str());
        p["challenges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| self.received(e))
            .collect()
    }

    fn received(&self, env: &Value) -> Received {
        let env: Envelope = serde_json::from_value(env.clone()).unwrap();
        let bytes = env.verify("challenge", &self.server_key).unwrap();
        let payload: Challenge = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(payload.account_id, self.account_id);
        Received { payload, bytes }
    }

    pub async fn fetch(&self, h: &Harness, cid: &str) -> Result<Received, Resp> {
        let r = self
            .call(h, Method::GET, &format!("challenges/{cid}"), None)
            .await;
        if r.status != StatusCode::OK {
            return Err(r);
        }
        let p = self.open(&r, "challenge-fetch");
        Ok(self.received(&p["challenge"]))
    }

    pub fn answer_body(
        &self,
        c: &Received,
        decision: &str,
        number: Option<&str>,
        otp: Option<&str>,
        at: u64,
    ) -> Vec<u8> {
        let input = answer_input(
            &self.account_id,
            &c.payload.challenge_id,
            &c.payload.nonce,
            &challenge_hash(&c.bytes),
            decision,
            number.unwrap_or(""),
            otp.unwrap_or(""),
            at,
        );
        let sig = self.signer.sign(&input).unwrap();
        assert!(es256_verify(&self.signer.public_key(), &input, &sig));
        let mut body = json!({"challenge_id": c.payload.challenge_id, "decision": decision, "answered_at": at, "sig": b64(&sig)});
        if let Some(n) = number {
            body["number"] = json!(n);
        }
        if let Some(o) = otp {
            body["otp"] = json!(o);
        }
        serde_json::to_vec(&body).unwrap()
    }

    pub async fn answer(
        &self,
        h: &Harness,
        c: &Received,
        decision: &str,
        number: Option<&str>,
        otp: Option<&str>,
    ) -> Resp {
        let body = self.answer_body(c, decision, number, otp, h.now());
        self.call(
            h,
            Method::POST,
            &format!("challenges/{}/answer", c.payload.challenge_id),
            Some(body),
        )
        .await
    }

    /// Verify Now → fetch the activation challenge → approve with number and TOTP.
    pub async fn confirm(&mut self, h: &Harness, enrollment_id: &str) {
        let v = h
            .admin(
                Method::POST,
                &format!("enrollments/{enrollment_id}/verify"),
                None,
            )
            .await;
        assert_eq!(v.status, StatusCode::CREATED, "{:?}", v.json);
        let c = self
            .fetch(h, v.json["challenge_id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(c.payload.kind, "activation");
        assert!(!c.payload.fraud_report);
        let otp = self.totp(h.now());
        let r = self
            .answer(h, &c, "approve", v.json["number"].as_str(), Some(&otp))
            .await;
        let receipt = self.open(&r, "answer-receipt");
        assert_eq!(receipt["state"], "approved", "{receipt:?}");
        assert_eq!(h.enrollment_status(enrollment_id).await["status"], "active");
    }
}

/// Everything the server logs in this test process (a global subscriber, installed once).
pub fn logs() -> Arc<std::sync::Mutex<Vec<u8>>> {
    static BUF: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer_buf = Arc::clone(&buf);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogWriter(Arc::clone(&writer_buf)))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
    .clone()
}

struct LogWriter(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
