//! Replays the recorded exchange with a real privacyIDEA 3.14
//! (`tests/privacyidea/observed-privacyidea-3.14.json`): the server's challenge signatures must
//! verify with the key it sent, and the device's signatures made here must equal, byte for
//! byte, the ones the server accepted (PKCS#1 v1.5 is deterministic).

use super::challenge::{self, Answer, WireChallenge};
use super::*;
use crate::openpush::{ProtocolError, UrlPolicy};
use serde_json::Value;

const TRANSCRIPT: &str = include_str!("../../../tests/privacyidea/observed-privacyidea-3.14.json");

fn transcript() -> Value {
    serde_json::from_str(TRANSCRIPT).unwrap()
}

fn exchange(t: &Value, step: &str) -> Value {
    t["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["step"] == step)
        .unwrap_or_else(|| panic!("no step {step}"))
        .clone()
}

fn device_key(t: &Value) -> DeviceKey {
    let pem = t["keys"]["phone_private_key_pkcs8_pem"].as_str().unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    DeviceKey::from_pkcs8_der(&data_encoding::BASE64.decode(b64.as_bytes()).unwrap()).unwrap()
}

fn server_key(t: &Value) -> ServerKey {
    ServerKey::from_pkcs1_b64(
        t["keys"]["server_public_key_pkcs1_b64_as_sent"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

fn polled(t: &Value, step: &str) -> WireChallenge {
    let e = exchange(t, step);
    serde_json::from_value(e["response"]["result"]["value"][0].clone()).unwrap()
}

fn serial(t: &Value) -> String {
    exchange(t, "enroll step 2 (phone): POST url")["form"]["serial"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn enrolment_link_from_the_server_parses() {
    let t = transcript();
    let uri = exchange(&t, "enroll step 1: /token/init type=push")["response"]["detail"]["pushurl"]
        ["value"]
        .as_str()
        .unwrap()
        .to_string();
    let e = EnrollmentUri::parse(&uri, UrlPolicy::AllowLoopback).unwrap();
    assert_eq!(e.serial, serial(&t));
    assert_eq!(e.url, "https://127.0.0.1:5443/ttype/push");
    assert_eq!(e.issuer, "privacyIDEA");
    assert_eq!(e.ttl_minutes, 10);
    assert!(e.poll_only);
    assert!(!format!("{e:?}").contains(e.enrollment_credential.as_str()));
    // The same link in production: a loopback server is refused.
    assert!(matches!(
        EnrollmentUri::parse(&uri, UrlPolicy::Strict),
        Err(ProtocolError::UrlNotAllowed(_))
    ));
}

#[test]
fn enrolment_link_rules() {
    let ok = "pia://pipush/ACME%3Aalice%40realm?url=https%3A//pi.example.org/ttype/push&ttl=2&issuer=&enrollment_credential=ab12&v=1&serial=PIPU0001&sslverify=0&poll_only=False&pin=True&app_force_unlock=biometric";
    let e = EnrollmentUri::parse(ok, UrlPolicy::Strict).unwrap();
    assert_eq!(
        (e.issuer.as_str(), e.label.as_str()),
        ("ACME", "alice@realm")
    );
    assert_eq!(e.ttl_minutes, 2);
    assert!(!e.sslverify && !e.poll_only && e.require_unlock);
    assert_eq!(e.force_unlock.as_deref(), Some("biometric"));
    assert_eq!(e.host(), "pi.example.org");
    let bad = [
        (ok.replace("v=1", "v=2"), "v"),
        (ok.replace("&v=1", ""), "v"),
        (ok.replace("serial=PIPU0001", "serial=PI%20PU"), "serial"),
        (ok.replace("&serial=PIPU0001", ""), "serial"),
        (ok.replace("ttl=2", "ttl=0"), "ttl"),
        (ok.replace("ttl=2", "ttl=lots"), "ttl"),
        (
            ok.replace("enrollment_credential=ab12", "enrollment_credential=a%26b"),
            "enrollment_credential",
        ),
        (
            ok.replace("https%3A//pi.example.org", "http%3A//pi.example.org"),
            "url",
        ),
        (
            ok.replace(
                "https%3A//pi.example.org",
                "https%3A//u%3Ap%40pi.example.org",
            ),
            "url",
        ),
        (ok.replace("pipush", "totp"), "link"),
        (format!("{ok}&x={}", "a".repeat(5000)), "link"),
    ];
    for (uri, field) in bad {
        let err = EnrollmentUri::parse(&uri, UrlPolicy::Strict).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(field) || matches!(err, ProtocolError::UrlNotAllowed(_)),
            "{uri}: {text}"
        );
        assert!(!text.contains("ab12"), "the credential leaked: {text}");
    }
}

#[test]
fn device_signatures_equal_the_ones_privacyidea_accepted() {
    let t = transcript();
    let key = device_key(&t);
    assert_eq!(
        key.public_spki_b64().unwrap(),
        t["keys"]["phone_public_key_spki_b64"].as_str().unwrap()
    );
    let serial = serial(&t);
    let poll = exchange(&t, "poll after trigger");
    let ts = poll["query"]["timestamp"].as_str().unwrap();
    assert_eq!(
        key.sign(&challenge::poll_message(&serial, ts)).unwrap(),
        poll["query"]["signature"].as_str().unwrap()
    );
    let approve = exchange(&t, "approve (phone)");
    let nonce = approve["form"]["nonce"].as_str().unwrap();
    assert_eq!(
        key.sign(&challenge::answer_message(
            nonce,
            &serial,
            Answer::Approve { presence: None }
        ))
        .unwrap(),
        approve["form"]["signature"].as_str().unwrap()
    );
    let decline = exchange(&t, "decline unknown_trigger (phone)");
    let nonce = decline["form"]["nonce"].as_str().unwrap();
    let reason = Answer::Decline {
        reason: Some("unknown_trigger"),
    };
    assert_eq!(
        key.sign(&challenge::answer_message(nonce, &serial, reason))
            .unwrap(),
        decline["form"]["signature"].as_str().unwrap()
    );
    let update = exchange(&t, "update fb token (phone)");
    let msg = challenge::token_update_message(
        "no_firebase_token",
        &serial,
        update["form"]["timestamp"].as_str().unwrap(),
    );
    assert_eq!(
        key.sign(&msg).unwrap(),
        update["form"]["signature"].as_str().unwrap()
    );
    assert_eq!(format!("{key:?}"), "DeviceKey(<redacted>)");
}

#[test]
fn server_challenges_verify_and_tampering_is_refused() {
    let t = transcript();
    let key = server_key(&t);
    let serial = serial(&t);
    let c = polled(&t, "poll after trigger");
    let v = challenge::verify(&c, &key, &serial).unwrap();
    assert_eq!(v.nonce, c.nonce);
    assert!(v.decline_reasons, "3.14 signs decline_reason");
    assert!(v.options.is_empty());
    // Stored key round trip.
    let again = ServerKey::from_pkcs1_b64(&key.to_pkcs1_b64().unwrap()).unwrap();
    assert!(challenge::verify(&c, &again, &serial).is_ok());

    let mut q = c.clone();
    q.question.push('!');
    assert!(matches!(
        challenge::verify(&q, &key, &serial),
        Err(ProtocolError::BadSignature { what: "challenge" })
    ));
    let mut u = c.clone();
    u.url = "https://evil.example/ttype/push".into();
    assert!(challenge::verify(&u, &key, &serial).is_err());
    let mut caps = c.clone();
    caps.capabilities = Some("{\"decline_reason\": false}".into());
    assert!(matches!(
        challenge::verify(&caps, &key, &serial),
        Err(ProtocolError::BadSignature {
            what: "capabilities"
        })
    ));
    let mut stripped = c.clone();
    stripped.capabilities_signature = None;
    assert!(challenge::verify(&stripped, &key, &serial).is_err());
    // Downgrade to presence mode without a signature over the options.
    let mut presence = c.clone();
    presence.version = Some("2".into());
    presence.require_presence = Some("11,22,33".into());
    assert!(challenge::verify(&presence, &key, &serial).is_err());
    assert!(matches!(
        challenge::verify(&c, &key, "PIPU-OTHER"),
        Err(ProtocolError::WrongAccount)
    ));
    // Another challenge's signature does not fit this one.
    let other = polled(&t, "poll after trigger 2");
    let mut swapped = c.clone();
    swapped.signature = other.signature.clone();
    assert!(challenge::verify(&swapped, &key, &serial).is_err());
    // Malformed signatures are refused, not panicked on.
    for sig in ["", "not base32!", "AAAA", &"A".repeat(5000)] {
        let mut s = c.clone();
        s.signature = sig.to_string();
        assert!(challenge::verify(&s, &key, &serial).is_err(), "{sig}");
    }
}

#[test]
fn answer_strings_follow_the_observed_grammar() {
    let m = |a| challenge::answer_message("N", "S", a);
    assert_eq!(m(Answer::Approve { presence: None }), "N|S");
    assert_eq!(
        m(Answer::Approve {
            presence: Some("95")
        }),
        "N|S|95"
    );
    assert_eq!(m(Answer::Decline { reason: None }), "N|S|decline");
    assert_eq!(
        m(Answer::Decline {
            reason: Some("cancelled")
        }),
        "N|S|decline|cancelled"
    );
    assert_eq!(
        challenge::timestamp(1_764_387_600).unwrap(),
        "2025-11-29T03:40:00Z"
    );
    assert!(challenge::timestamp(u64::MAX).is_err());
}

#[test]
fn server_keys_are_checked() {
    for bad in ["", "not base64", "AAAA", &"A".repeat(9000)] {
        assert!(ServerKey::from_pkcs1_b64(bad).is_err(), "{bad}");
    }
}

#[test]
fn generated_keys_are_4096_bits_and_round_trip() {
    let key = DeviceKey::generate().unwrap();
    let spki = data_encoding::BASE64
        .decode(key.public_spki_b64().unwrap().as_bytes())
        .unwrap();
    // SPKI of an RSA-4096 key is 550 bytes.
    assert_eq!(spki.len(), 550);
    let der = key.to_pkcs8_der().unwrap();
    let back = DeviceKey::from_pkcs8_der(&der).unwrap();
    assert_eq!(back.sign("x|y").unwrap(), key.sign("x|y").unwrap());
}
