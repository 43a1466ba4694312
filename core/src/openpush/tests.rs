//! The worked examples of docs/protocol.md, recomputed and verified by this implementation.
//! They were produced independently (from the published RFC test keys), so agreement here
//! checks both the spec and the code.

use super::encoding::{b64, unb64};
use super::messages::Challenge;
use super::verify::{
    AccountState, answer_input, challenge_hash, check_challenge, request_input, sanitize,
};
use super::*;
use crate::crypto::{Ed25519Signer, SecretBytes, der_to_fixed, es256_verify, sha256};

const FP: &str = "If4x36FUomFia_hUBG_SJxt77UtqvkWqWId-9H-XIbk";
const DEVICE_PUB: &str =
    "BGD-1LolWp0xyWHrdMY1bWjASbiSO2H6bOZpYi5g8p-2eQP-EAi4vJmkGunpVii8ZPLxsgwtfp9Rd6PClNRGIpk";
const ACCOUNT: &str = "mvIRMpsvyC5e_pBgYscwCA";
const ACTIVATION_PAYLOAD: &str = r#"{"code_id":"4-klsR7Wxep4L5LY94un9g","base_url":"https://mfa.example.com","nonce":"uGnnZ2xpQdCACZ7L-6V1vw","client_time":1767225600,"device_key":{"alg":"ES256","pub":"BGD-1LolWp0xyWHrdMY1bWjASbiSO2H6bOZpYi5g8p-2eQP-EAi4vJmkGunpVii8ZPLxsgwtfp9Rd6PClNRGIpk"},"oath_kx":{"alg":"X25519","pub":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"},"push":{"provider":"fcm","token":"fcm-token-example"},"device":{"name":"Pixel 8","platform":"android","app_version":"1.0.0"}}"#;
const CHALLENGE_PAYLOAD: &str = r#"{"account_id":"mvIRMpsvyC5e_pBgYscwCA","challenge_id":"GzXo4tDKoGq__x4NCx4tzQ","kind":"signin","nonce":"IIYOMdzdrJ5dBzrTU_H5ug","created_at":1767229200,"expires_at":1767229260,"number_matching":true,"number_length":3,"fraud_report":true,"context":{"app":"Payroll","ip":"203.0.113.7","location":"Berlin, DE","time":1767229199,"client":"Chrome on Windows"}}"#;

fn server() -> Ed25519Signer {
    Ed25519Signer::from_seed(&SecretBytes::new(
        data_encoding::HEXLOWER
            .decode(b"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap(),
    ))
    .unwrap()
}

fn base() -> BaseUrl {
    BaseUrl::parse("https://mfa.example.com", UrlPolicy::Strict).unwrap()
}

#[test]
fn server_key_fingerprint_and_kid() {
    let key = ServerKey::from_bytes(&server().public_key()).unwrap();
    assert_eq!(b64(&key.fingerprint()), FP);
    assert_eq!(key.kid(), "If4x36FUomFia_hUBG_SJw");
}

#[test]
fn activation_code_example_4_7() {
    let fp = ServerKey::from_bytes(&server().public_key())
        .unwrap()
        .fingerprint();
    let code = ActivationCode::parse("7k3qx-9mdp2-vr4m0-nap0n").unwrap();
    assert_eq!(code.canonical(), "7K3QX9MDP2VR4M0NAP0N");
    code.verify_checksum(&base()).unwrap();
    assert!(code.commits_to(&base(), &fp));
    assert_eq!(code.code_id(), "4-klsR7Wxep4L5LY94un9g");
    assert_eq!(code.display().as_str(), "7K3QX-9MDP2-VR4M0-NAP0N");
    // Typos in the code or the URL are caught offline.
    assert_eq!(
        ActivationCode::parse("7K3QX9MDP2VR4M0NAP0P")
            .unwrap()
            .verify_checksum(&base()),
        Err(ProtocolError::Checksum)
    );
    let other = BaseUrl::parse("https://mfa.example.org", UrlPolicy::Strict).unwrap();
    assert_eq!(code.verify_checksum(&other), Err(ProtocolError::Checksum));
    // A different server key does not match the commitment.
    assert!(!code.commits_to(&base(), &sha256(b"another key")));
    // I/L/O are read as 1/1/0; U is refused.
    assert!(ActivationCode::parse("7K3QX9MDP2VR4M0NAP0U").is_err());
    let qr = "openpush://activate?v=1&url=https%3A%2F%2Fmfa.example.com&code=7K3QX9MDP2VR4M0NAP0N&fp=If4x36FUomFia_hUBG_SJxt77UtqvkWqWId-9H-XIbk";
    let p = ActivationPayload::from_qr(qr, UrlPolicy::Strict).unwrap();
    assert_eq!(p.fingerprint, Some(fp));
    assert_eq!(p.to_qr().unwrap().as_str(), qr);
}

#[test]
fn generated_codes_verify() {
    let fp = sha256(b"k");
    for _ in 0..50 {
        let c = ActivationCode::generate(&base(), &fp).unwrap();
        c.verify_checksum(&base()).unwrap();
        assert!(c.commits_to(&base(), &fp));
        let typed =
            ActivationPayload::typed(&c.display(), "MFA.Example.com/", UrlPolicy::Strict).unwrap();
        assert_eq!(typed.code, c);
    }
}

#[test]
fn activation_request_example_5_1() {
    let code = ActivationCode::parse("7K3QX9MDP2VR4M0NAP0N").unwrap();
    assert_eq!(
        code.proof(ACTIVATION_PAYLOAD.as_bytes()),
        "jBLAlKFwbbpOZQF3YHfYVQlJBBql1eKXcJegvLnJJEI"
    );
    let sig = unb64(
        "On1HBb9PRG6TsSzLGgQdLN1GfY6DcPBZhJZPf7JUw31h5Q7iu6Ys7ohytP3Bstfvt4eiOTfozCYORorEMKZfXg",
        "s",
    )
    .unwrap();
    let device = unb64(DEVICE_PUB, "d").unwrap();
    assert!(es256_verify(
        &device,
        &verify::activation_proof_input(ACTIVATION_PAYLOAD.as_bytes()),
        &sig
    ));
    let der = unb64("MEQCIDp9RwW_T0Ruk7EsyxoEHSzdRn2Og3DwWYSWT3-yVMN9AiBh5Q7iu6Ys7ohytP3Bstfvt4eiOTfozCYORorEMKZfXg", "der").unwrap();
    assert_eq!(der_to_fixed(&der).unwrap().to_vec(), sig);
    assert_eq!(
        b64(&sha256(ACTIVATION_PAYLOAD.as_bytes())),
        "aTg1eFdqVp0-273bsTq3Z9eBE7tFdkKeJl3cH3Z0ryA"
    );
}

#[test]
fn oath_seed_example_5_5() {
    let z = SecretBytes::new(
        data_encoding::HEXLOWER
            .decode(b"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
            .unwrap(),
    );
    let rh: [u8; 32] = sha256(ACTIVATION_PAYLOAD.as_bytes());
    let dk: [u8; 32] = unb64("hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo", "d")
        .unwrap()
        .try_into()
        .unwrap();
    let sk: [u8; 32] = unb64("3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08", "s")
        .unwrap()
        .try_into()
        .unwrap();
    let seed = seed::derive(&z, &rh, ACCOUNT, &dk, &sk).unwrap();
    assert_eq!(
        data_encoding::HEXLOWER.encode(seed.expose()),
        "d0773391fb2e949f2b70ca93eba2ee02a764c64b"
    );
    let code = crate::otp::totp(&seed, crate::otp::Algorithm::Sha1, 6, 30, 1_767_225_641).unwrap();
    assert_eq!(code.code.as_str(), "417850");
}

#[test]
fn challenge_envelope_example_8_2() {
    let key = ServerKey::from_bytes(&server().public_key()).unwrap();
    let env = Envelope {
        v: 1,
        typ: "challenge".into(),
        alg: "Ed25519".into(),
        kid: key.kid(),
        payload: b64(CHALLENGE_PAYLOAD.as_bytes()),
        sig:
            "zlOR8D55kP2x83w0mM3Yr9L-3PmJf1QGqh4fkZbNNEPbxiG89GM24VYPUld7xKVTt2i7BRyLDTnfaDT5vmXuBw"
                .into(),
        server_key: None,
    };
    let bytes = env.verify("challenge", &key).unwrap();
    assert_eq!(
        challenge_hash(&bytes),
        "PD79JO8WpEhTZkmCeOpXqfwwXBZONZ6V442twGpggys"
    );
    // Ed25519 is deterministic: our signer produces the same envelope.
    assert_eq!(
        Envelope::sign(&server(), "challenge", CHALLENGE_PAYLOAD.as_bytes()),
        env
    );
    // Wrong type, tampered payload, other key: refused.
    assert!(env.verify("challenge-list", &key).is_err());
    let mut tampered = env.clone();
    tampered.payload = b64(CHALLENGE_PAYLOAD.replace("Payroll", "Payrol1").as_bytes());
    assert_eq!(
        tampered.verify("challenge", &key),
        Err(ProtocolError::BadSignature { what: "server" })
    );
    let other = ServerKey::from_bytes(&Ed25519Signer::generate().unwrap().0.public_key()).unwrap();
    assert!(env.verify("challenge", &other).is_err());

    let c: Challenge = serde_json::from_slice(&bytes).unwrap();
    check_challenge(&c, ACCOUNT, AccountState::Active, 1_767_229_201).unwrap();
    assert_eq!(
        check_challenge(&c, ACCOUNT, AccountState::Active, 1_767_229_260),
        Err(ProtocolError::Expired)
    );
    assert_eq!(
        check_challenge(&c, "other", AccountState::Active, 1_767_229_201),
        Err(ProtocolError::WrongAccount)
    );
    assert!(check_challenge(&c, ACCOUNT, AccountState::Pending, 1_767_229_201).is_err());
}

#[test]
fn answer_and_request_signatures_9_2_and_6() {
    let device = unb64(DEVICE_PUB, "d").unwrap();
    let input = answer_input(
        ACCOUNT,
        "GzXo4tDKoGq__x4NCx4tzQ",
        "IIYOMdzdrJ5dBzrTU_H5ug",
        "PD79JO8WpEhTZkmCeOpXqfwwXBZONZ6V442twGpggys",
        "approve",
        "407",
        "",
        1_767_229_212,
    );
    let sig = unb64(
        "dfLbyoTR0i1F2xzQ6fEpXvnOLnfC_tsOgp2mUwXR4TY8SoVijVFMFJeqvqp-suy16wM3vKCclfN0OE7qBhN3Ug",
        "s",
    )
    .unwrap();
    assert!(es256_verify(&device, &input, &sig));
    // The same signature does not cover another decision or number.
    let deny = answer_input(
        ACCOUNT,
        "GzXo4tDKoGq__x4NCx4tzQ",
        "IIYOMdzdrJ5dBzrTU_H5ug",
        "PD79JO8WpEhTZkmCeOpXqfwwXBZONZ6V442twGpggys",
        "approve",
        "408",
        "",
        1_767_229_212,
    );
    assert!(!es256_verify(&device, &deny, &sig));
    let req = request_input(
        "GET",
        "/openpush/1/challenges/GzXo4tDKoGq__x4NCx4tzQ",
        ACCOUNT,
        1_767_229_201,
        "-_lGs9XpjE4aAU8qP5724A",
        b"",
    );
    let rsig = unb64(
        "c__itr1RO5EipHlCZgLbNeLMWFL3JlSKhiSzEpJkIH42m5f3LJpWRZR30b-UwAf-ECZEX22tfOx0hlBBuFaSpg",
        "s",
    )
    .unwrap();
    assert!(es256_verify(&device, &req, &rsig));
}

#[test]
fn base_url_rules_3_1() {
    let ok = |t: &str| BaseUrl::parse(t, UrlPolicy::Strict).map(|b| b.as_str().to_string());
    assert_eq!(ok("MFA.Example.com/").unwrap(), "https://mfa.example.com");
    assert_eq!(
        ok("https://example.org:8443/mfa/").unwrap(),
        "https://example.org:8443/mfa"
    );
    assert_eq!(
        ok("https://example.org:443").unwrap(),
        "https://example.org"
    );
    for bad in [
        "http://example.org",
        "https://user@example.org",
        "https://example.org/?q",
        "https://example.org/#f",
        "https://203.0.113.7",
        "https://127.0.0.1:8443",
        "http://localhost:8080",
        "ftp://example.org",
    ] {
        assert!(ok(bad).is_err(), "{bad}");
    }
    let loop_ok = BaseUrl::parse("http://127.0.0.1:8080", UrlPolicy::AllowLoopback).unwrap();
    assert_eq!(loop_ok.as_str(), "http://127.0.0.1:8080");
    assert!(BaseUrl::parse("http://10.0.0.1", UrlPolicy::AllowLoopback).is_err());
    assert!(BaseUrl::parse("http://example.org", UrlPolicy::AllowLoopback).is_err());
    assert_eq!(
        BaseUrl::parse("https://example.org/mfa", UrlPolicy::Strict)
            .unwrap()
            .path_prefix(),
        "/mfa"
    );
}

#[test]
fn sanitisation_10_2() {
    assert_eq!(
        sanitize("Pay\u{202E}roll\n\tApp").as_deref(),
        Some("Payroll App")
    );
    assert_eq!(sanitize("\u{200B}\u{FEFF}  "), None);
    let long = "x".repeat(60);
    let cut = sanitize(&long).unwrap();
    assert_eq!(cut.chars().count(), 48);
    assert!(cut.ends_with('…'));
}
