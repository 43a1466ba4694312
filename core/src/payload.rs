//! What a scanned or pasted payload is, and where it goes.
//!
//! The QR decoder and the "paste a link" field hand every string here first. Each payload is
//! classified into a typed result without side effects: an OATH account to add, a Google
//! Authenticator transfer batch to import (with its position in the batch), a privacyIDEA push
//! enrolment, a Countersign (openpush/1) activation, Microsoft's `phonefactor://` activation
//! (recognised, with a clear message that it belongs to Microsoft's service), or unknown text
//! with a safe preview. Every payload is size-limited before it is looked at.

use crate::openpush::{ActivationPayload, UrlPolicy};
use crate::uri::OtpAccount;

/// Longest payload classified (a version-40 QR code holds 2,953 bytes; pasted links a bit more).
pub const MAX_PAYLOAD: usize = 8 * 1024;

/// A classified payload.
#[derive(Debug)]
#[non_exhaustive]
pub enum Payload {
    /// An `otpauth://` (or `steam://`) account, parsed.
    Otpauth(Box<OtpAccount>),
    /// A Google Authenticator transfer QR code (`otpauth-migration://offline?data=…`).
    GoogleMigration {
        /// Accounts in this code.
        accounts: usize,
        /// 0-based index of this code in its batch, when stated.
        batch_index: Option<u32>,
        /// Codes in the batch, when stated.
        batch_size: Option<u32>,
        /// Batch id (all codes of one export share it).
        batch_id: Option<i32>,
    },
    /// A privacyIDEA push enrolment (`otpauth://pipush/…` or `pia://pipush/…`).
    PrivacyideaPush {
        /// The token serial.
        serial: Option<String>,
        /// The registration URL's host.
        host: Option<String>,
    },
    /// A Countersign openpush/1 activation.
    OpenpushActivation {
        /// The server host to confirm with the user.
        host: String,
    },
    /// Microsoft Authenticator's work-account activation.
    MicrosoftActivation,
    /// Something else, or a recognised scheme that failed to parse.
    Unknown {
        /// Why it was not recognised or did not parse.
        reason: String,
        /// Up to 40 characters, control characters replaced. Shown only for text that is not
        /// a recognised secret-bearing scheme.
        preview: String,
    },
}

fn scheme_of(text: &str) -> String {
    text.split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default()
}

fn safe_preview(text: &str) -> String {
    let mut p: String = text
        .chars()
        .take(40)
        .map(|c| {
            if c.is_control() || crate::error::is_bidi_or_invisible(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    if text.chars().count() > 40 {
        p.push('…');
    }
    p
}

fn unknown(reason: impl Into<String>, preview: &str) -> Payload {
    Payload::Unknown {
        reason: reason.into(),
        preview: preview.to_string(),
    }
}

/// Classifies a payload. `policy` decides whether loopback activation servers are acceptable.
pub fn classify(text: &str, policy: UrlPolicy) -> Payload {
    if text.len() > MAX_PAYLOAD {
        return unknown(format!("longer than {MAX_PAYLOAD} bytes"), "");
    }
    let t = text.trim();
    let scheme = scheme_of(t);
    let lower = t.to_ascii_lowercase();
    match scheme.as_str() {
        "otpauth" if lower.starts_with("otpauth://pipush/") => privacyidea(t),
        "pia" if lower.starts_with("pia://pipush/") => privacyidea(t),
        "otpauth" | "steam" => match OtpAccount::parse(t) {
            Ok(a) => Payload::Otpauth(Box::new(a)),
            // Never preview a secret-bearing URI.
            Err(e) => unknown(e.to_string(), ""),
        },
        "otpauth-migration" => migration(t),
        "openpush" => match ActivationPayload::from_qr(t, policy) {
            Ok(p) => Payload::OpenpushActivation {
                host: p.base_url.host().to_string(),
            },
            Err(e) => unknown(e.to_string(), ""),
        },
        "phonefactor" => Payload::MicrosoftActivation,
        _ => unknown("not an authenticator payload", &safe_preview(t)),
    }
}

fn privacyidea(t: &str) -> Payload {
    let Some((_, query)) = t.split_once('?') else {
        return unknown("a privacyIDEA link without parameters", "");
    };
    let mut serial = None;
    let mut host = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "serial" => serial = Some(safe_preview(&v)),
            "url" => {
                host = url::Url::parse(&v)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
            }
            _ => {}
        }
    }
    Payload::PrivacyideaPush { serial, host }
}

fn migration(t: &str) -> Payload {
    match crate::transfer::google::decode_link(t) {
        Ok(mut m) => {
            let batch = m.batch_size > 0;
            m.wipe();
            Payload::GoogleMigration {
                accounts: m.otp_parameters.len(),
                batch_index: batch.then(|| u32::try_from(m.batch_index).unwrap_or(0)),
                batch_size: batch.then(|| u32::try_from(m.batch_size).unwrap_or(0)),
                batch_id: batch.then_some(m.batch_id),
            }
        }
        Err(e) => unknown(e.to_string(), ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_kind() {
        let p = |t: &str| classify(t, UrlPolicy::Strict);
        assert!(matches!(
            p("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP"),
            Payload::Otpauth(_)
        ));
        assert!(
            matches!(p("OTPAUTH://pipush/PIPU1?url=https%3A//pi.example/ttype/push&serial=PIPU1&v=1"),
            Payload::PrivacyideaPush { serial: Some(s), host: Some(h) } if s == "PIPU1" && h == "pi.example")
        );
        assert!(matches!(
            p("pia://pipush/alice?url=https%3A//pi.example/ttype/push&serial=X&v=1"),
            Payload::PrivacyideaPush { .. }
        ));
        assert!(matches!(
            p("phonefactor://activate_account?code=123&url=https://x"),
            Payload::MicrosoftActivation
        ));
        let qr = "openpush://activate?v=1&url=https%3A%2F%2Fmfa.example.com&code=7K3QX9MDP2VR4M0NAP0N&fp=If4x36FUomFia_hUBG_SJxt77UtqvkWqWId-9H-XIbk";
        assert!(matches!(p(qr), Payload::OpenpushActivation { host } if host == "mfa.example.com"));
        assert!(
            matches!(p("https://example.com/\u{202e}x"), Payload::Unknown { preview, .. } if !preview.contains('\u{202e}'))
        );
        // A bad otpauth URI is reported without previewing its text (it may hold a secret).
        assert!(
            matches!(p("otpauth://totp/a?secret=SECRET1"), Payload::Unknown { preview, .. } if preview.is_empty())
        );
        assert!(matches!(
            p(&"x".repeat(MAX_PAYLOAD + 1)),
            Payload::Unknown { .. }
        ));
    }

    #[test]
    fn google_migration_batch() {
        use crate::transfer::google::{MigrationPayload, OtpParameters};
        use data_encoding::BASE64;
        use prost::Message;
        let otp = |issuer: &str| OtpParameters {
            issuer: issuer.into(),
            secret: vec![1; 10],
            ..Default::default()
        };
        let m = MigrationPayload {
            otp_parameters: vec![otp("A"), otp("B")],
            version: 1,
            batch_size: 3,
            batch_index: 1,
            batch_id: -42,
        };
        let data = BASE64.encode(&m.encode_to_vec());
        let enc: String = url::form_urlencoded::byte_serialize(data.as_bytes()).collect();
        match classify(
            &format!("otpauth-migration://offline?data={enc}"),
            UrlPolicy::Strict,
        ) {
            Payload::GoogleMigration {
                accounts,
                batch_index,
                batch_size,
                batch_id,
            } => {
                assert_eq!(
                    (accounts, batch_index, batch_size, batch_id),
                    (2, Some(1), Some(3), Some(-42))
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify("otpauth-migration://offline?data=!!!", UrlPolicy::Strict),
            Payload::Unknown { .. }
        ));
    }
}
