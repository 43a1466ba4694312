//! Codes for 10,000 TOTP accounts in one call, beside raw `ring` HMAC-SHA1 over the same inputs
//! (key schedule included), beside the floor (a prepared RustCrypto HMAC-SHA1 and truncation,
//! no formatting) and beside totp-rs used directly. Prints medians and
//! ratios measured in the same run; asserts nothing about wall time.
//!
//! Run: `cargo bench -p countersign-core --bench otp_codes`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

mod common;

use countersign_core::crypto::SecretBytes;
use countersign_core::otp::{Algorithm, OtpKind};
use countersign_core::uri::OtpAccount;
use std::hint::black_box;
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 10_000;
const RUNS: usize = 41;
const AT: u64 = 1_700_000_000;

fn secrets() -> Vec<[u8; 20]> {
    common::secrets(ACCOUNTS)
}

fn median(mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn main() {
    let secrets = secrets();
    let accounts: Vec<OtpAccount> = secrets
        .iter()
        .map(|s| {
            OtpAccount::new(
                OtpKind::Totp { period: 30 },
                Algorithm::Sha1,
                6,
                SecretBytes::from_slice(s),
                Some("Bench".into()),
                "user".into(),
            )
            .unwrap()
        })
        .collect();
    let totps: Vec<totp_rs::Totp> = secrets
        .iter()
        .map(|s| {
            totp_rs::Builder::new()
                .with_secret(s.to_vec())
                .build_noncompliant()
        })
        .collect();

    // Same answers from all three, or the comparison means nothing.
    let ours = OtpAccount::current_codes(&accounts, AT);
    for (i, c) in ours.iter().enumerate().step_by(997) {
        let theirs = totps[i].generate(AT).to_string();
        assert_eq!(c.as_ref().unwrap().code.as_str(), theirs);
    }

    let t_ours = median(|| {
        black_box(OtpAccount::current_codes(black_box(&accounts), AT));
    });
    let t_ring = median(|| {
        let msg = (AT / 30).to_be_bytes();
        let mut acc = 0u32;
        for s in &secrets {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, s);
            let tag = ring::hmac::sign(&key, &msg);
            let t = tag.as_ref();
            let off = usize::from(t[19] & 0xf);
            let v = u32::from_be_bytes([t[off], t[off + 1], t[off + 2], t[off + 3]]) & 0x7fff_ffff;
            acc ^= v % 1_000_000;
        }
        black_box(acc);
    });
    let prepared: Vec<hmac::Hmac<sha1::Sha1>> = secrets
        .iter()
        .map(|s| <hmac::Hmac<sha1::Sha1> as hmac::KeyInit>::new_from_slice(s).unwrap())
        .collect();
    let t_prepared = median(|| {
        use hmac::Mac;
        let msg = (AT / 30).to_be_bytes();
        let mut acc = 0u32;
        for m in &prepared {
            let t = m.clone().chain_update(msg).finalize().into_bytes();
            let off = usize::from(t[19] & 0xf);
            let v = u32::from_be_bytes([t[off], t[off + 1], t[off + 2], t[off + 3]]) & 0x7fff_ffff;
            acc ^= v % 1_000_000;
        }
        black_box(acc);
    });
    let t_totp_rs = median(|| {
        let codes: Vec<String> = totps.iter().map(|t| t.generate(AT).to_string()).collect();
        black_box(codes);
    });

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("otp_codes: {ACCOUNTS} TOTP accounts (SHA1, 6 digits), median of {RUNS} runs");
    println!("  {:<34} {:>9} {:>10}", "", "ms", "ns/code");
    for (name, t) in [
        ("countersign current_codes", t_ours),
        ("ring HMAC-SHA1 + truncate", t_ring),
        ("floor: prepared HMAC-SHA1 + trunc.", t_prepared),
        ("totp-rs generate + to_string", t_totp_rs),
    ] {
        println!(
            "  {name:<34} {:>9.3} {:>10.1}",
            ms(t),
            t.as_nanos() as f64 / ACCOUNTS as f64
        );
    }
    println!(
        "  ratio countersign / ring    = {:.2}x",
        ms(t_ours) / ms(t_ring)
    );
    println!(
        "  ratio countersign / floor   = {:.2}x",
        ms(t_ours) / ms(t_prepared)
    );
    println!(
        "  ratio countersign / totp-rs = {:.2}x   (target <= 1.0x)",
        ms(t_ours) / ms(t_totp_rs)
    );
    println!(
        "  target <= 2 ms for 10k: {}",
        if ms(t_ours) <= 2.0 { "met" } else { "NOT met" }
    );
}
