//! The payload classifier on arbitrary text (what a QR code or the "paste a link" field hands
//! over): it must never panic under either URL policy; an unknown payload's preview is at most
//! 40 characters plus an ellipsis with no control characters; a secret-bearing scheme
//! (`otpauth`, `steam`, `otpauth-migration`, `pia`, `openpush`) is never previewed; an accepted
//! OATH account survives a format → parse round trip.

#![no_main]

use countersign_core::openpush::UrlPolicy;
use countersign_core::payload::{MAX_PAYLOAD, Payload, classify};
use countersign_core::uri::OtpAccount;
use libfuzzer_sys::fuzz_target;

const SECRET_BEARING: &[&str] = &["otpauth", "steam", "otpauth-migration", "pia", "openpush"];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let scheme = text
        .trim()
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    for policy in [UrlPolicy::Strict, UrlPolicy::AllowLoopback] {
        match classify(&text, policy) {
            Payload::Unknown { reason, preview } => {
                assert!(!reason.is_empty());
                assert!(preview.chars().count() <= 41, "{preview:?}");
                assert!(!preview.chars().any(char::is_control), "{preview:?}");
                if SECRET_BEARING.contains(&scheme.as_str()) || text.len() > MAX_PAYLOAD {
                    assert!(preview.is_empty(), "previewed a {scheme} payload");
                }
            }
            Payload::Otpauth(account) => {
                let again = OtpAccount::parse(&account.to_uri()).expect("formatted URI parses");
                assert_eq!(account.secret(), again.secret());
                assert_eq!(account.kind(), again.kind());
            }
            _ => {}
        }
    }
});
