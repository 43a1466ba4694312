//! Push sign-in costs, printed with ratios against floors measured in the same run:
//!
//! 1. CPU: verify a signed challenge (envelope signature, parse, §10.1 checks) and sign the
//!    answer, against the floor of one Ed25519 verification plus one ECDSA P-256 signature with
//!    nothing else. Target ≤ 1 ms.
//! 2. Latency over loopback TLS against the in-process reference server: list pending
//!    challenges, and fetch + answer one, against the floor of a bare authenticated round trip
//!    (`GET /time`). Asserts nothing about time.
//!
//! Run: `cargo bench -p countersign-harness --bench push_answer`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

use countersign_core::crypto::{Ed25519Signer, Es256Signer, ed25519_verify};
use countersign_core::openpush::encoding::b64;
use countersign_core::openpush::messages::{Challenge, Context};
use countersign_core::openpush::verify::{
    AccountState, answer_input, challenge_hash, check_challenge,
};
use countersign_core::openpush::{Envelope, ServerKey};
use countersign_ffi::{
    AuthenticatorClient, Decision, DesktopKeyStore, DeviceDescription, NetworkOptions, PushTarget,
};
use countersign_harness::admin::AdminClient;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[runs / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn cpu() {
    let server = Ed25519Signer::generate().unwrap().0;
    let key = ServerKey::from_bytes(&server.public_key()).unwrap();
    let device = Es256Signer::generate().unwrap();
    let now = 1_767_229_201;
    let challenge = Challenge {
        account_id: "mvIRMpsvyC5e_pBgYscwCA".into(),
        challenge_id: "GzXo4tDKoGq__x4NCx4tzQ".into(),
        kind: "signin".into(),
        nonce: "IIYOMdzdrJ5dBzrTU_H5ug".into(),
        created_at: now - 1,
        expires_at: now + 59,
        number_matching: true,
        number_length: 3,
        fraud_report: true,
        context: Context {
            app: "Payroll".into(),
            time: now - 2,
            ip: Some("203.0.113.7".into()),
            location: Some("Berlin, DE".into()),
            client: Some("Firefox on Linux".into()),
        },
    };
    let payload = serde_json::to_vec(&challenge).unwrap();
    let env = Envelope::sign(&server, "challenge", &payload);
    let raw_sig = server.sign(&payload);

    let full = median(2001, || {
        let bytes = env.verify("challenge", &key).unwrap();
        let c: Challenge = serde_json::from_slice(&bytes).unwrap();
        check_challenge(&c, "mvIRMpsvyC5e_pBgYscwCA", AccountState::Active, now).unwrap();
        let h = challenge_hash(&bytes);
        let input = answer_input(
            &c.account_id,
            &c.challenge_id,
            &c.nonce,
            &h,
            "approve",
            "407",
            "",
            now,
        );
        black_box(b64(&device.sign(&input).unwrap()));
    });
    let floor = median(2001, || {
        assert!(ed25519_verify(&server.public_key(), &payload, &raw_sig));
        black_box(device.sign(&payload).unwrap());
    });
    println!("push_answer CPU (median of 2001):");
    println!(
        "  verify challenge + checks + sign answer  {:>8.1} µs   (target <= 1000 µs: {})",
        us(full),
        if us(full) <= 1000.0 { "met" } else { "NOT met" }
    );
    println!(
        "  floor: Ed25519 verify + ES256 sign       {:>8.1} µs",
        us(floor)
    );
    println!(
        "  ratio                                    {:>8.2}x",
        us(full) / us(floor)
    );
}

async fn latency() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = countersign_server::ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("srv"),
    );
    // The reference policy allows 5 sign-ins per user per 10 minutes; a benchmark needs more.
    config.policy.signin_budget = 1000;
    let server = countersign_server::start(config).await.unwrap();
    let ca = server.ca_pem().unwrap().into_bytes();
    let admin =
        AdminClient::new(server.base_url(), Some(ca.clone()), server.admin_token()).unwrap();
    let phone = AuthenticatorClient::open_desktop(
        dir.path().join("v.db").display().to_string(),
        DesktopKeyStore::Ephemeral,
        None,
    )
    .unwrap();
    phone
        .set_network_options(NetworkOptions {
            extra_ca_pem: Some(ca),
            allow_insecure_loopback: true,
        })
        .unwrap();
    admin.create_user("bench").await.unwrap();
    let e = admin.enroll("bench").await.unwrap();
    let dev = DeviceDescription {
        name: "bench".into(),
        platform: "linux".into(),
        app_version: "0".into(),
    };
    let act = phone
        .activate_from_payload(
            e.qr_payload,
            dev,
            PushTarget {
                provider: "none".into(),
                token: String::new(),
            },
        )
        .await
        .unwrap();
    let n = admin.verify_now(&e.id).await.unwrap();
    let c = phone.pending_challenges().await.unwrap().pop().unwrap();
    phone
        .answer_challenge(
            act.account_id,
            c.challenge_id,
            Decision::Approve {
                number: Some(n),
                option: None,
            },
        )
        .await
        .unwrap();

    const ROUNDS: usize = 15;
    let (mut lists, mut answers, mut floors) = (Vec::new(), Vec::new(), Vec::new());
    let http = countersign_core::push::http::HttpClient::new(
        countersign_core::push::http::TransportConfig {
            extra_ca_pem: Some(server.ca_pem().unwrap().into_bytes()),
            allow_loopback: true,
        },
    )
    .unwrap();
    for _ in 0..ROUNDS {
        let s = admin
            .signin("bench", "Payroll", "203.0.113.7", "Berlin, DE", "Firefox")
            .await
            .unwrap();
        let t = Instant::now();
        let c = phone.pending_challenges().await.unwrap().pop().unwrap();
        lists.push(t.elapsed());
        let t = Instant::now();
        phone
            .answer_challenge(
                act.account_id,
                c.challenge_id,
                Decision::Approve {
                    number: Some(s.number),
                    option: None,
                },
            )
            .await
            .unwrap();
        answers.push(t.elapsed());
        let t = Instant::now();
        let url = format!(
            "{}/openpush/1/time?nonce={}",
            server.base_url(),
            countersign_core::openpush::encoding::random_id().unwrap()
        );
        let r = http
            .send(reqwest::Method::GET, &url, &[], None)
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        floors.push(t.elapsed());
    }
    for v in [&mut lists, &mut answers, &mut floors] {
        v.sort();
    }
    let (l, a, f) = (lists[ROUNDS / 2], answers[ROUNDS / 2], floors[ROUNDS / 2]);
    println!("push round trips over loopback TLS (median of {ROUNDS}):");
    println!(
        "  list pending (signed GET, verify list + challenge)   {:>8.2} ms",
        l.as_secs_f64() * 1e3
    );
    println!(
        "  answer (fetch + verify + sign + POST + receipt)      {:>8.2} ms",
        a.as_secs_f64() * 1e3
    );
    println!(
        "  floor: one GET /time on the same TLS setup           {:>8.2} ms",
        f.as_secs_f64() * 1e3
    );
    println!(
        "  ratios: list {:.2}x, answer {:.2}x the floor",
        l.as_secs_f64() / f.as_secs_f64(),
        a.as_secs_f64() / f.as_secs_f64()
    );
    server.shutdown().await.unwrap();
}

fn main() {
    cpu();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(latency());
}
