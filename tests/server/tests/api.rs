//! The reference server's own tests: the real server in-process (TLS with its generated CA, and
//! plain-http loopback), a device played with countersign-core primitives over reqwest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{Device, Harness, activation_request, post_activation, sign_activation};
use countersign_core::crypto::{Es256Signer, X25519Ephemeral};
use countersign_core::openpush::encoding::{b64, random_id};
use countersign_core::openpush::messages::ActivationRequest;
use countersign_core::openpush::{ActivationPayload, Envelope, ServerKey, UrlPolicy};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn typed(e: &Value) -> ActivationPayload {
    ActivationPayload::typed(
        e["code"].as_str().unwrap(),
        e["url"].as_str().unwrap(),
        UrlPolicy::AllowLoopback,
    )
    .unwrap()
}

fn qr(e: &Value) -> ActivationPayload {
    ActivationPayload::from_qr(e["qr_payload"].as_str().unwrap(), UrlPolicy::AllowLoopback).unwrap()
}

#[tokio::test]
async fn full_flow_over_tls_with_typed_code() {
    let logs = common::logs();
    let h = Harness::start(true).await;
    h.user("alice").await;
    let e = h.enrollment("alice").await;
    let eid = e["enrollment_id"].as_str().unwrap();
    assert_eq!(e["url"], h.base.as_str());
    assert!(
        e["page_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/enroll/", h.base))
    );
    assert_eq!(h.enrollment_status(eid).await["status"], "waiting");

    // Typed code + URL.
    let (dev, r) = Device::activate(&h, &typed(&e), "fcm", "fcm-token-1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(r.cache_control.as_deref(), Some("no-store"));
    let s = h.enrollment_status(eid).await;
    assert_eq!(s["status"], "pending");
    assert_eq!(s["device"]["name"], "Pixel 8");
    assert_eq!(s["device"]["platform"], "android");
    assert_eq!(s["account_id"], dev.account_id.as_str());

    // A pending account sees no sign-in, may not start one, and the list is empty until Verify Now.
    assert!(dev.list(&h).await.is_empty());
    let r = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "alice", "app": "Payroll"})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "no_active_device")
    );

    // Verify Now: number to the browser, wake-up to the outbox (ids only).
    let v = h
        .admin(Method::POST, &format!("enrollments/{eid}/verify"), None)
        .await;
    assert_eq!(v.status, StatusCode::CREATED, "{:?}", v.json);
    let number = v.json["number"].as_str().unwrap().to_string();
    assert_eq!(number.len(), 3);
    let cid = v.json["challenge_id"].as_str().unwrap();
    let again = h
        .admin(Method::POST, &format!("enrollments/{eid}/verify"), None)
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "challenge_pending")
    );
    let out = h.admin(Method::GET, "outbox", None).await;
    let wakes = out.json["wakeups"].as_array().unwrap();
    assert_eq!(wakes.len(), 1);
    assert_eq!(
        wakes[0]["data"],
        json!({"op": "1", "aid": dev.account_id, "cid": cid})
    );
    assert_eq!(wakes[0]["provider"], "fcm");
    assert_eq!(wakes[0]["token"], "fcm-token-1");

    // The device pulls, sees the activation challenge (never the number), and confirms.
    let listed = dev.list(&h).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].payload.challenge_id, cid);
    assert!(!String::from_utf8_lossy(&listed[0].bytes).contains(&format!("\"{number}\"")));
    let c = dev.fetch(&h, cid).await.unwrap();
    assert_eq!(c.payload.kind, "activation");
    assert_eq!(c.payload.number_length, 3);
    h.clock.advance(3);
    let otp = dev.totp(h.now());
    let r = dev
        .answer(&h, &c, "approve", Some(&number), Some(&otp))
        .await;
    let receipt = dev.open(&r, "answer-receipt");
    assert_eq!(receipt["state"], "approved");
    assert_eq!(h.enrollment_status(eid).await["status"], "active");
    let u = h.admin(Method::GET, "users/alice", None).await;
    assert_eq!(u.json["accounts"][0]["state"], "active");
    assert_eq!(u.json["fraud_blocked"], false);

    // A sign-in, approved with the right number.
    let s = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "alice", "app": "Payroll\u{202E}", "ip": "203.0.113.7", "location": "Berlin, DE", "client": "Firefox"})),
        )
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.json);
    let sid = s.json["signin_id"].as_str().unwrap();
    let number = s.json["number"].as_str().unwrap();
    let ch = dev
        .fetch(&h, s.json["challenge_ids"][0].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(ch.payload.kind, "signin");
    assert!(ch.payload.fraud_report);
    assert_eq!(
        ch.payload.context.app, "Payroll",
        "sanitised before signing"
    );
    assert_eq!(ch.payload.context.ip.as_deref(), Some("203.0.113.7"));
    let busy = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "alice", "app": "Payroll"})),
        )
        .await;
    assert_eq!(
        (busy.status, busy.code()),
        (StatusCode::CONFLICT, "challenge_pending")
    );
    let r = dev.answer(&h, &ch, "approve", Some(number), None).await;
    assert_eq!(dev.open(&r, "answer-receipt")["state"], "approved");
    let st = h.admin(Method::GET, &format!("signins/{sid}"), None).await;
    assert_eq!(st.json["state"], "approved");
    assert_eq!(st.json["answered_by"], dev.account_id.as_str());

    // Offline TOTP: the code the device computes is accepted once per counter.
    h.clock.advance(30);
    let code = dev.totp(h.now());
    let ok = h
        .admin(
            Method::POST,
            "otp/verify",
            Some(json!({"user": "alice", "code": code})),
        )
        .await;
    assert_eq!(ok.json, json!({"valid": true}));
    let reuse = h
        .admin(
            Method::POST,
            "otp/verify",
            Some(json!({"user": "alice", "code": code})),
        )
        .await;
    assert_eq!(reuse.json, json!({"valid": false}), "same counter twice");
    let wrong = h
        .admin(
            Method::POST,
            "otp/verify",
            Some(json!({"user": "alice", "code": "000000"})),
        )
        .await;
    assert_eq!(wrong.json["valid"], false);

    // The outbox never carries the number or context.
    let out = h.admin(Method::GET, "outbox", None).await;
    for w in out.json["wakeups"].as_array().unwrap() {
        let keys: Vec<_> = w["data"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["aid", "cid", "op"]);
    }

    // Logs carry ids and states, never codes, tokens, numbers or seeds.
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let canonical = typed(&e).code.canonical().to_string();
    assert!(text.contains(&dev.account_id), "logging works");
    for secret in [
        e["code"].as_str().unwrap(),
        &canonical,
        h.server.admin_token(),
        "fcm-token-1",
        &code,
        &otp,
        &format!("number={number}"),
        &format!("\"{number}\""),
    ] {
        assert!(!text.contains(secret), "a secret reached the logs");
    }
    h.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn qr_flow_over_plain_http_with_idempotent_retry_and_code_used() {
    let h = Harness::start(false).await;
    h.user("bob").await;
    let e = h.enrollment("bob").await;
    let info = h.admin(Method::GET, "info", None).await;
    let p = qr(&e);
    assert_eq!(
        b64(&p.fingerprint.unwrap()),
        info.json["fingerprint"].as_str().unwrap()
    );
    let (dev, r) = Device::activate(&h, &p, "none", "").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);

    // The same request bytes again (lost response): the stored answer, byte for byte.
    let retry = post_activation(&h, &h.base, &dev.activation_body).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.bytes, r.bytes);

    // Any other request with the same code: code_used.
    let (_, other) = Device::activate(&h, &p, "none", "").await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::CONFLICT, "code_used")
    );

    // Poll-only device: Verify Now records no wake-up; the device finds the challenge by polling.
    let eid = e["enrollment_id"].as_str().unwrap();
    let v = h
        .admin(Method::POST, &format!("enrollments/{eid}/verify"), None)
        .await;
    assert_eq!(v.status, StatusCode::CREATED);
    let out = h.admin(Method::GET, "outbox", None).await;
    assert!(out.json["wakeups"].as_array().unwrap().is_empty());
    let listed = dev.list(&h).await;
    assert_eq!(listed.len(), 1);
    let otp = dev.totp(h.now());
    let r = dev
        .answer(
            &h,
            &listed[0],
            "approve",
            v.json["number"].as_str(),
            Some(&otp),
        )
        .await;
    assert_eq!(dev.open(&r, "answer-receipt")["state"], "approved");
    assert_eq!(h.enrollment_status(eid).await["status"], "active");
}

#[tokio::test]
async fn wrong_activation_number_or_otp_fails_the_enrolment() {
    let h = Harness::start(false).await;
    h.user("carol").await;
    for (wrong_number, reason) in [(true, "wrong_number"), (false, "otp_mismatch")] {
        let e = h.enrollment("carol").await;
        let eid = e["enrollment_id"].as_str().unwrap();
        let (dev, _) = Device::activate(&h, &qr(&e), "fcm", "t").await;
        let v = h
            .admin(Method::POST, &format!("enrollments/{eid}/verify"), None)
            .await;
        let c = dev
            .fetch(&h, v.json["challenge_id"].as_str().unwrap())
            .await
            .unwrap();
        let right = v.json["number"].as_str().unwrap();
        let number = if wrong_number {
            if right == "000" { "001" } else { "000" }
        } else {
            right
        };
        let otp = if wrong_number {
            dev.totp(h.now())
        } else {
            "123456".to_string()
        };
        let otp = if !wrong_number && otp == dev.totp(h.now()) {
            "654321".into()
        } else {
            otp
        };
        let r = dev
            .answer(&h, &c, "approve", Some(number), Some(&otp))
            .await;
        let receipt = dev.open(&r, "answer-receipt");
        assert_eq!(
            (receipt["state"].as_str(), receipt["reason"].as_str()),
            (Some("denied"), Some(reason))
        );
        let s = h.enrollment_status(eid).await;
        assert_eq!(
            (s["status"].as_str(), s["reason"].as_str()),
            (Some("failed"), Some(reason))
        );
        // The account is gone.
        let again = dev.call(&h, Method::GET, "challenges", None).await;
        assert_eq!(
            (again.status, again.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized")
        );
    }
}

#[tokio::test]
async fn wrong_number_denies_with_no_second_attempt_and_deny_works() {
    let h = Harness::start(false).await;
    let dev = h.active_device("dave").await;
    let s = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "dave", "app": "Mail"})),
        )
        .await;
    let number = s.json["number"].as_str().unwrap().to_string();
    let wrong = if number == "999" { "998" } else { "999" };
    let c = dev
        .fetch(&h, s.json["challenge_ids"][0].as_str().unwrap())
        .await
        .unwrap();
    let r = dev.answer(&h, &c, "approve", Some(wrong), None).await;
    let receipt = dev.open(&r, "answer-receipt");
    assert_eq!(
        (receipt["state"].as_str(), receipt["reason"].as_str()),
        (Some("denied"), Some("wrong_number"))
    );
    let second = dev.answer(&h, &c, "approve", Some(&number), None).await;
    assert_eq!(
        (second.status, second.code()),
        (StatusCode::CONFLICT, "challenge_closed")
    );
    assert_eq!(second.json["error"]["state"], "denied");
    let st = h
        .admin(
            Method::GET,
            &format!("signins/{}", s.json["signin_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        (st.json["state"].as_str(), st.json["reason"].as_str()),
        (Some("denied"), Some("wrong_number"))
    );
    let gone = dev.fetch(&h, &c.payload.challenge_id).await.err().unwrap();
    assert_eq!(
        (gone.status, gone.code()),
        (StatusCode::CONFLICT, "challenge_closed")
    );

    // A malformed answer does not use up the attempt; then deny.
    let s = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "dave", "app": "Mail"})),
        )
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.json);
    let c = dev
        .fetch(&h, s.json["challenge_ids"][0].as_str().unwrap())
        .await
        .unwrap();
    let bad = dev.answer(&h, &c, "approve", Some("12"), None).await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    let missing = dev.answer(&h, &c, "deny", Some("123"), None).await;
    assert_eq!(missing.code(), "bad_request");
    let r = dev.answer(&h, &c, "deny", None, None).await;
    assert_eq!(dev.open(&r, "answer-receipt")["state"], "denied");
    let st = h
        .admin(
            Method::GET,
            &format!("signins/{}", s.json["signin_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(st.json["state"], "denied");
}

#[tokio::test]
async fn fraud_blocks_the_user_until_an_admin_unblocks() {
    let h = Harness::start(false).await;
    let dev = h.active_device("erin").await;
    let s = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "erin", "app": "VPN"})),
        )
        .await;
    let c = dev
        .fetch(&h, s.json["challenge_ids"][0].as_str().unwrap())
        .await
        .unwrap();
    let r = dev.answer(&h, &c, "fraud", None, None).await;
    assert_eq!(dev.open(&r, "answer-receipt")["state"], "fraud");
    let st = h
        .admin(
            Method::GET,
            &format!("signins/{}", s.json["signin_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(st.json["state"], "fraud");
    let u = h.admin(Method::GET, "users/erin", None).await;
    assert_eq!(u.json["fraud_blocked"], true);
    assert!(u.json["fraud_reported_at"].as_u64().is_some());

    let refused = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "erin", "app": "VPN"})),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "user_blocked")
    );
    let enrol = h
        .admin(Method::POST, "enrollments", Some(json!({"user": "erin"})))
        .await;
    assert_eq!(
        (enrol.status, enrol.code()),
        (StatusCode::FORBIDDEN, "user_blocked")
    );
    // Offline codes keep working.
    h.clock.advance(30);
    let ok = h
        .admin(
            Method::POST,
            "otp/verify",
            Some(json!({"user": "erin", "code": dev.totp(h.now())})),
        )
        .await;
    assert_eq!(ok.json["valid"], true);

    let un = h.admin(Method::POST, "users/erin/unblock", None).await;
    assert_eq!(un.json, json!({"user": "erin", "fraud_blocked": false}));
    let s = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "erin", "app": "VPN"})),
        )
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.json);
}

#[tokio::test]
async fn request_authentication_failures() {
    let h = Harness::start(false).await;
    let dev = h.active_device("frank").await;
    let nonce = random_id().unwrap();
    let now = h.now();
    let first = dev
        .call_with(&h, Method::GET, "challenges", None, now, &nonce)
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let replay = dev
        .call_with(&h, Method::GET, "challenges", None, now, &nonce)
        .await;
    assert_eq!(
        (replay.status, replay.code()),
        (StatusCode::UNAUTHORIZED, "replayed_request")
    );
    let stale = dev
        .call_with(
            &h,
            Method::GET,
            "challenges",
            None,
            now - 121,
            &random_id().unwrap(),
        )
        .await;
    assert_eq!(
        (stale.status, stale.code()),
        (StatusCode::UNAUTHORIZED, "stale_request")
    );
    let future = dev
        .call_with(
            &h,
            Method::GET,
            "challenges",
            None,
            now + 121,
            &random_id().unwrap(),
        )
        .await;
    assert_eq!(future.code(), "stale_request");
    let edge = dev
        .call_with(
            &h,
            Method::GET,
            "challenges",
            None,
            now - 120,
            &random_id().unwrap(),
        )
        .await;
    assert_eq!(edge.status, StatusCode::OK);

    // Bad signature and unknown account: the same answer.
    let impostor = Device {
        signer: Es256Signer::generate().unwrap(),
        account_id: dev.account_id.clone(),
        server_key: dev.server_key.clone(),
        seed: dev.seed.duplicate(),
        base: dev.base.clone(),
        activation_body: vec![],
    };
    let bad = impostor.call(&h, Method::GET, "challenges", None).await;
    let unknown = Device {
        account_id: random_id().unwrap(),
        ..impostor
    };
    let unk = unknown.call(&h, Method::GET, "challenges", None).await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    assert_eq!(bad.json, unk.json);
    let none = h
        .send(h.client.get(format!("{}/openpush/1/challenges", h.base)))
        .await;
    assert_eq!(none.code(), "unauthorized");
    assert_eq!(none.cache_control.as_deref(), Some("no-store"));

    // The signature covers the body: a body changed in transit fails.
    let body = br#"{"provider":"fcm","token":"new"}"#.to_vec();
    let t = h.now();
    let n = random_id().unwrap();
    let msg = countersign_core::openpush::verify::request_input(
        "PUT",
        "/openpush/1/account/push-token",
        &dev.account_id,
        t,
        &n,
        &body,
    );
    let sig = b64(&dev.signer.sign(&msg).unwrap());
    let tampered = h
        .send(
            h.client
                .put(format!("{}/openpush/1/account/push-token", h.base))
                .header("OpenPush-Account", &dev.account_id)
                .header("OpenPush-Time", t.to_string())
                .header("OpenPush-Nonce", &n)
                .header("OpenPush-Signature", sig)
                .body(br#"{"provider":"fcm","token":"evil"}"#.to_vec()),
        )
        .await;
    assert_eq!(tampered.code(), "unauthorized");
    let ok = dev
        .call(&h, Method::PUT, "account/push-token", Some(body))
        .await;
    let p = dev.open(&ok, "push-token-updated");
    assert_eq!(p["provider"], "fcm");

    // An answer signed long ago is stale.
    let s = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "frank", "app": "Git"})),
        )
        .await;
    let c = dev
        .fetch(&h, s.json["challenge_ids"][0].as_str().unwrap())
        .await
        .unwrap();
    let body = dev.answer_body(&c, "deny", None, None, h.now() - 200);
    let r = dev
        .call(
            &h,
            Method::POST,
            &format!("challenges/{}/answer", c.payload.challenge_id),
            Some(body),
        )
        .await;
    assert_eq!(r.code(), "stale_request");
    // An answer with a forged signature.
    let mut body: Value =
        serde_json::from_slice(&dev.answer_body(&c, "deny", None, None, h.now())).unwrap();
    body["decision"] = json!("fraud");
    let r = dev
        .call(
            &h,
            Method::POST,
            &format!("challenges/{}/answer", c.payload.challenge_id),
            Some(serde_json::to_vec(&body).unwrap()),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "bad_signature")
    );
}

#[tokio::test]
async fn activation_code_errors() {
    let h = Harness::start(false).await;
    h.user("gina").await;

    // Wrong proof (the device has the right id but a different code secret) → invalid_code,
    // and after 5 failures the enrolment is failed even for the right code.
    let e = h.enrollment("gina").await;
    let p = qr(&e);
    let other = qr(&h.enrollment("gina").await);
    for _ in 0..5 {
        let signer = Es256Signer::generate().unwrap();
        let kx = X25519Ephemeral::generate().unwrap();
        let req = activation_request(&h, &signer, kx.public_key(), &p, "none", "");
        // Sign the proof with the other code's secret.
        let forged = ActivationPayload {
            code: other.code.clone(),
            ..p.clone()
        };
        let mut body: Value =
            serde_json::from_slice(&sign_activation(&signer, &forged, &req)).unwrap();
        body["payload"] = json!(b64(&serde_json::to_vec(&req).unwrap()));
        let r = post_activation(&h, &h.base, &serde_json::to_vec(&body).unwrap()).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "invalid_code")
        );
    }
    let s = h
        .enrollment_status(e["enrollment_id"].as_str().unwrap())
        .await;
    assert_eq!(s["status"], "failed");
    let (_, r) = Device::activate(&h, &p, "none", "").await;
    assert_eq!(r.code(), "invalid_code");

    // Unknown code id.
    let unknown = ActivationPayload::typed(
        &countersign_core::openpush::ActivationCode::generate(&p.base_url, &[7u8; 32])
            .unwrap()
            .display(),
        &h.base,
        UrlPolicy::AllowLoopback,
    )
    .unwrap();
    let (_, r) = Device::activate(&h, &unknown, "none", "").await;
    assert_eq!(r.code(), "invalid_code");

    // A relay under another name: wrong_server.
    let e = h.enrollment("gina").await;
    let p = qr(&e);
    let signer = Es256Signer::generate().unwrap();
    let kx = X25519Ephemeral::generate().unwrap();
    let mut req: ActivationRequest =
        activation_request(&h, &signer, kx.public_key(), &p, "none", "");
    req.base_url = "https://relay.example".into();
    let r = post_activation(&h, &h.base, &sign_activation(&signer, &p, &req)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "wrong_server")
    );

    // Bad device signature; unknown platform; malformed JSON; oversize body.
    let mut req = activation_request(&h, &signer, kx.public_key(), &p, "none", "");
    let body = sign_activation(&Es256Signer::generate().unwrap(), &p, &req);
    let r = post_activation(&h, &h.base, &body).await;
    assert_eq!(r.code(), "bad_signature");
    req.device.platform = "palmos".into();
    let r = post_activation(&h, &h.base, &sign_activation(&signer, &p, &req)).await;
    assert_eq!(r.code(), "unsupported");
    let r = post_activation(&h, &h.base, br#"{"payload":"x","payload":"y"}"#).await;
    assert_eq!(r.code(), "bad_request");
    let r = post_activation(&h, &h.base, &vec![b' '; 17 * 1024]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // Expired code.
    h.clock.advance(601);
    let (_, r) = Device::activate(&h, &p, "none", "").await;
    assert_eq!(r.code(), "invalid_code");
    assert_eq!(
        h.enrollment_status(e["enrollment_id"].as_str().unwrap())
            .await["status"],
        "expired"
    );
}

#[tokio::test]
async fn challenges_of_another_account_are_not_found() {
    let h = Harness::start(false).await;
    let a = h.active_device("hana").await;
    let b = h.active_device("ivan").await;
    let s = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "hana", "app": "HR"})),
        )
        .await;
    let cid = s.json["challenge_ids"][0].as_str().unwrap();
    let c = a.fetch(&h, cid).await.unwrap();
    let r = b.fetch(&h, cid).await.err().unwrap();
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    // B signs an answer for A's challenge with its own key: still not found.
    let body = b.answer_body(&c, "deny", None, None, h.now());
    let r = b
        .call(
            &h,
            Method::POST,
            &format!("challenges/{cid}/answer"),
            Some(body),
        )
        .await;
    assert_eq!(r.code(), "not_found");
    assert!(b.list(&h).await.is_empty());
    let r = a.fetch(&h, &random_id().unwrap()).await.err().unwrap();
    assert_eq!(r.code(), "not_found");
}

#[tokio::test]
async fn challenges_expire_and_budget_is_enforced() {
    let h = Harness::start(false).await;
    let dev = h.active_device("jon").await;
    let s = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "jon", "app": "CRM"})),
        )
        .await;
    let exp = s.json["expires_at"].as_u64().unwrap();
    assert_eq!(exp - h.now(), 60);
    let c = dev
        .fetch(&h, s.json["challenge_ids"][0].as_str().unwrap())
        .await
        .unwrap();
    h.clock.advance(61);
    let r = dev.fetch(&h, &c.payload.challenge_id).await.err().unwrap();
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::GONE, "challenge_expired")
    );
    assert!(dev.list(&h).await.is_empty());
    h.clock.advance(5);
    let r = dev
        .answer(&h, &c, "approve", s.json["number"].as_str(), None)
        .await;
    assert_eq!(r.code(), "challenge_expired");
    let st = h
        .admin(
            Method::GET,
            &format!("signins/{}", s.json["signin_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        (st.json["state"].as_str(), st.json["reason"].as_str()),
        (Some("expired"), Some("timeout"))
    );

    // Budget: 5 sign-ins per 10 minutes (the first one counts).
    for _ in 0..4 {
        let s = h
            .admin(
                Method::POST,
                "signins",
                Some(json!({"user": "jon", "app": "CRM"})),
            )
            .await;
        assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.json);
        let c = dev
            .fetch(&h, s.json["challenge_ids"][0].as_str().unwrap())
            .await
            .unwrap();
        let r = dev.answer(&h, &c, "deny", None, None).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "jon", "app": "CRM"})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(r.json["error"]["retry_after"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn enrolment_page_verify_now_and_app_password() {
    let h = Harness::start(true).await;
    h.user("kim").await;
    let e = h.enrollment("kim").await;
    let page_url = e["page_url"].as_str().unwrap();
    let page = h.send(h.client.get(page_url)).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8(page.bytes.clone()).unwrap();
    for id in [
        "qr",
        "manual-code",
        "manual-url",
        "status",
        "verify-now",
        "number",
        "app-password",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "#{id} missing");
    }
    assert!(html.contains(e["code"].as_str().unwrap()));
    assert!(html.contains("<svg"));
    assert!(!html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    let r = h.client.get(page_url).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'nonce-"));
    assert_eq!(r.headers()["cache-control"], "no-store");
    let bad = h
        .send(h.client.get(format!("{}/enroll/nope", h.base)))
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);

    let status = h.send(h.client.get(format!("{page_url}/status"))).await;
    assert_eq!(status.json["status"], "waiting");
    assert!(status.json.get("user").is_none());

    let (dev, _) = Device::activate(&h, &qr(&e), "apns", "apns-token").await;
    let status = h.send(h.client.get(format!("{page_url}/status"))).await;
    assert_eq!(status.json["status"], "pending");
    assert_eq!(status.json["device"]["name"], "Pixel 8");

    // Verify Now from the page needs the page header (no cross-site form posts).
    let forged = h.send(h.client.post(format!("{page_url}/verify"))).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let v = h
        .send(
            h.client
                .post(format!("{page_url}/verify"))
                .header("OpenPush-Page", "1")
                .header("user-agent", "Firefox on Linux"),
        )
        .await;
    assert_eq!(v.status, StatusCode::CREATED, "{:?}", v.json);
    let number = v.json["number"].as_str().unwrap();
    let listed = dev.list(&h).await;
    assert_eq!(listed[0].payload.context.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        listed[0].payload.context.client.as_deref(),
        Some("Firefox on Linux")
    );
    let early = h
        .send(
            h.client
                .post(format!("{page_url}/app-password"))
                .header("OpenPush-Page", "1"),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    let r = dev
        .answer(
            &h,
            &listed[0],
            "approve",
            Some(number),
            Some(&dev.totp(h.now())),
        )
        .await;
    assert_eq!(dev.open(&r, "answer-receipt")["state"], "approved");
    let status = h.send(h.client.get(format!("{page_url}/status"))).await;
    assert_eq!(status.json["status"], "active");

    let pw = h
        .send(
            h.client
                .post(format!("{page_url}/app-password"))
                .header("OpenPush-Page", "1"),
        )
        .await;
    assert_eq!(pw.status, StatusCode::CREATED, "{:?}", pw.json);
    let password = pw.json["password"].as_str().unwrap();
    let ok = h
        .admin(
            Method::POST,
            "app-passwords/verify",
            Some(json!({"user": "kim", "password": password})),
        )
        .await;
    assert_eq!(ok.json["valid"], true);
    let no = h
        .admin(
            Method::POST,
            "app-passwords/verify",
            Some(json!({"user": "kim", "password": "nope"})),
        )
        .await;
    assert_eq!(no.json["valid"], false);
    // Stored hashed only.
    let db = std::fs::read(h.server.data_dir().join("server.db")).unwrap();
    assert!(!db.windows(password.len()).any(|w| w == password.as_bytes()));
}

#[tokio::test]
async fn time_unenrol_revoke_and_admin_auth() {
    let h = Harness::start(false).await;
    let nonce = random_id().unwrap();
    let t = h
        .send(
            h.client
                .get(format!("{}/openpush/1/time?nonce={nonce}", h.base)),
        )
        .await;
    let info = h.admin(Method::GET, "info", None).await;
    let key = ServerKey::from_b64(info.json["server_key"].as_str().unwrap()).unwrap();
    let env: Envelope = serde_json::from_slice(&t.bytes).unwrap();
    let p: Value = serde_json::from_slice(&env.verify("time", &key).unwrap()).unwrap();
    assert_eq!(p, json!({"nonce": nonce, "server_time": h.now()}));
    let r = h
        .send(h.client.get(format!("{}/openpush/1/time", h.base)))
        .await;
    assert_eq!(r.code(), "bad_request");

    let noauth = h.send(h.client.get(format!("{}/admin/info", h.base))).await;
    assert_eq!(
        (noauth.status, noauth.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let wrong = h
        .send(
            h.client
                .get(format!("{}/admin/info", h.base))
                .bearer_auth("x"),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let dup = h
        .admin(Method::POST, "users", Some(json!({"user": "leo"})))
        .await;
    assert_eq!(dup.status, StatusCode::CREATED);
    let dup = h
        .admin(Method::POST, "users", Some(json!({"user": "leo"})))
        .await;
    assert_eq!(
        (dup.status, dup.code()),
        (StatusCode::CONFLICT, "user_exists")
    );
    let nouser = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "nobody", "app": "x"})),
        )
        .await;
    assert_eq!(
        (nouser.status, nouser.code()),
        (StatusCode::NOT_FOUND, "unknown_user")
    );

    // Unenrol.
    let dev = h.active_device("mia").await;
    let r = dev.call(&h, Method::DELETE, "account", None).await;
    assert_eq!(
        dev.open(&r, "unenrolled")["account_id"],
        dev.account_id.as_str()
    );
    let r = dev.call(&h, Method::GET, "challenges", None).await;
    assert_eq!(r.code(), "unauthorized");
    let u = h.admin(Method::GET, "users/mia", None).await;
    assert!(u.json["accounts"].as_array().unwrap().is_empty());

    // Revoke: a signed revocation echoing the nonce.
    let dev = h.active_device("ned").await;
    let r = h
        .admin(
            Method::POST,
            &format!("accounts/{}/revoke", dev.account_id),
            None,
        )
        .await;
    assert_eq!(r.json["state"], "revoked");
    let n = random_id().unwrap();
    let r = dev
        .call_with(&h, Method::GET, "challenges", None, h.now(), &n)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "account_revoked")
    );
    let env: Envelope = serde_json::from_value(r.json["revocation"].clone()).unwrap();
    let p: Value =
        serde_json::from_slice(&env.verify("revoked", &dev.server_key).unwrap()).unwrap();
    assert_eq!(p["request_nonce"], n.as_str());
    assert_eq!(p["account_id"], dev.account_id.as_str());
}

#[tokio::test]
async fn key_rotations() {
    let h = Harness::start(false).await;
    let dev = h.active_device("olga").await;

    // Server key: the chain leads from the pinned key to the current one.
    let r = h.admin(Method::POST, "server-key/rotate", None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["old_kid"], dev.server_key.kid().as_str());
    let resp = dev.call(&h, Method::GET, "account/server-key", None).await;
    let env: Envelope = serde_json::from_slice(&resp.bytes).unwrap();
    assert_eq!(env.kid, r.json["new_kid"].as_str().unwrap());
    // Unverified peek at the payload to walk the chain, then verify the outer envelope.
    let payload: Value = serde_json::from_slice(
        &countersign_core::openpush::encoding::unb64(&env.payload, "p").unwrap(),
    )
    .unwrap();
    let mut pin = dev.server_key.clone();
    for link in payload["chain"].as_array().unwrap() {
        let link: Envelope = serde_json::from_value(link.clone()).unwrap();
        let s: Value =
            serde_json::from_slice(&link.verify("server-key-rotation", &pin).unwrap()).unwrap();
        assert_eq!(s["old_kid"], pin.kid().as_str());
        pin = ServerKey::from_b64(s["new_key"]["pub"].as_str().unwrap()).unwrap();
        assert_eq!(s["new_kid"], pin.kid().as_str());
    }
    assert_eq!(payload["current_kid"], pin.kid().as_str());
    env.verify("server-key", &pin).unwrap();
    let dev = Device {
        server_key: pin,
        ..dev
    };
    let s = h
        .admin(
            Method::POST,
            "signins",
            Some(json!({"user": "olga", "app": "Wiki"})),
        )
        .await;
    let c = dev
        .fetch(&h, s.json["challenge_ids"][0].as_str().unwrap())
        .await
        .unwrap();

    // Device key: old and new key sign the statement; afterwards only the new key works.
    let new = Es256Signer::generate().unwrap();
    let old_kid = b64(&countersign_core::crypto::sha256(&dev.signer.public_key())[..16]);
    let new_kid = b64(&countersign_core::crypto::sha256(&new.public_key())[..16]);
    let stmt = serde_json::to_vec(&json!({
        "account_id": dev.account_id, "old_kid": old_kid,
        "new_key": {"alg": "ES256", "pub": b64(&new.public_key())},
        "new_kid": new_kid, "issued_at": h.now(), "nonce": random_id().unwrap()
    }))
    .unwrap();
    let label = "openpush/1 device-key-rotation";
    let lab = |who: &[u8]| countersign_core::openpush::encoding::labelled(label, &[who], &stmt);
    let body = json!({
        "statement": b64(&stmt),
        "old_sig": b64(&dev.signer.sign(&lab(b"old")).unwrap()),
        "new_sig": b64(&new.sign(&lab(b"new")).unwrap()),
    });
    let r = dev
        .call(
            &h,
            Method::POST,
            "account/device-key",
            Some(serde_json::to_vec(&body).unwrap()),
        )
        .await;
    assert_eq!(
        dev.open(&r, "device-key-rotated")["new_kid"],
        new_kid.as_str()
    );
    let r = dev.call(&h, Method::GET, "challenges", None).await;
    assert_eq!(r.code(), "unauthorized");
    let dev = Device { signer: new, ..dev };
    let r = dev
        .answer(&h, &c, "approve", s.json["number"].as_str(), None)
        .await;
    assert_eq!(dev.open(&r, "answer-receipt")["state"], "approved");
}

#[tokio::test]
async fn restart_keeps_data_keys_and_ca() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || {
        let mut c =
            countersign_server::ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
        c.tls = countersign_server::Tls::Generated;
        c
    };
    let s1 = countersign_server::start(cfg()).await.unwrap();
    let (token, fp, ca) = (
        s1.admin_token().to_string(),
        s1.server_key_fingerprint().to_string(),
        s1.ca_pem().unwrap(),
    );
    s1.shutdown().await.unwrap();
    let s2 = countersign_server::start(cfg()).await.unwrap();
    assert_eq!(s2.admin_token(), token);
    assert_eq!(s2.server_key_fingerprint(), fp);
    assert_eq!(s2.ca_pem().unwrap(), ca);
    // The new leaf certificate chains to the old ca.pem.
    let client = common::client_for(Some(ca.as_bytes()));
    let r = client
        .get(format!("{}/admin/info", s2.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["admin-token", "server-key", "seal-key", "ca-key.pem"] {
            let mode = std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
    // Plain HTTP only on loopback.
    let mut c = countersign_server::ServerConfig::new("0.0.0.0:0".parse().unwrap(), dir.path());
    c.tls = countersign_server::Tls::PlainHttpLoopback;
    assert!(countersign_server::start(c).await.is_err());
    s2.shutdown().await.unwrap();
}
