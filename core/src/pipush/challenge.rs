//! A polled privacyIDEA challenge and the strings the device signs.
//!
//! Signed by the server (checked here before anything is shown):
//! `nonce|url|serial|question|title|sslverify` (with `|require_presence` appended in presence
//! mode, version 2), and, since 3.14, JCS(`{"capabilities": …, "nonce": …}`).
//! Signed by the device: `serial|timestamp` (poll), `nonce|serial[|decline[|reason]][|answer]`
//! (answers) and `token|serial|timestamp` (push-token update).

use super::keys::ServerKey;
use crate::openpush::ProtocolError;
use crate::openpush::verify::sanitize;

/// Longest nonce accepted (privacyIDEA's are 32 base32 characters).
const MAX_NONCE: usize = 128;
/// privacyIDEA caps the question at 512 and the title at 128 characters.
const MAX_QUESTION: usize = 512;
const MAX_TITLE: usize = 128;
/// Presence options: at most 10 (the server's maximum), each at most 32 characters.
const MAX_OPTIONS: usize = 10;
const MAX_OPTION_LEN: usize = 32;
/// Largest `capabilities` JSON read.
const MAX_CAPABILITIES: usize = 1024;

/// A challenge as the poll response carries it (every value a string, as signed).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct WireChallenge {
    /// Challenge nonce (its id).
    pub nonce: String,
    /// The URL answers go to.
    pub url: String,
    /// Token serial.
    pub serial: String,
    /// Text shown to the user.
    pub question: String,
    /// Title shown to the user.
    pub title: String,
    /// `"0"` or `"1"`.
    pub sslverify: String,
    /// Server signature (padded base32).
    pub signature: String,
    /// Capabilities, a JSON object inside a string (3.14+).
    #[serde(default)]
    pub capabilities: Option<String>,
    /// Signature over the canonical capabilities and nonce.
    #[serde(default)]
    pub capabilities_signature: Option<String>,
    /// Comma-separated options in presence mode.
    #[serde(default)]
    pub require_presence: Option<String>,
    /// `"2"` in presence mode.
    #[serde(default)]
    pub version: Option<String>,
}

/// A challenge whose signatures verified, with display-safe text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChallenge {
    /// Nonce (the challenge's id).
    pub nonce: String,
    /// Title, sanitised for display.
    pub title: String,
    /// Question, sanitised for display.
    pub question: String,
    /// Options for presence mode (empty otherwise), in the server's order.
    pub options: Vec<String>,
    /// The server advertised (and signed) decline reasons.
    pub decline_reasons: bool,
    /// SHA-256 (base64url) of everything signed, to tell a replayed nonce with other content.
    pub hash: String,
}

/// What the device answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer<'a> {
    /// Approve; `presence` is the option picked in presence mode.
    Approve {
        /// The option the user picked.
        presence: Option<&'a str>,
    },
    /// Decline, with a reason when the server supports them (`cancelled`,
    /// `unknown_trigger`).
    Decline {
        /// The signed reason.
        reason: Option<&'a str>,
    },
}

/// Verifies a polled challenge for token `serial` against the pinned server key.
pub fn verify(
    c: &WireChallenge,
    key: &ServerKey,
    serial: &str,
) -> Result<VerifiedChallenge, ProtocolError> {
    if c.nonce.is_empty()
        || c.nonce.len() > MAX_NONCE
        || !c.nonce.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(ProtocolError::invalid(
            "nonce",
            "not 1–128 letters and digits",
        ));
    }
    if c.serial != serial {
        return Err(ProtocolError::WrongAccount);
    }
    if c.question.chars().count() > MAX_QUESTION || c.title.chars().count() > MAX_TITLE {
        return Err(ProtocolError::invalid(
            "question",
            "longer than the server's limits",
        ));
    }
    let presence = c.version.as_deref() == Some("2");
    let mut signed = format!(
        "{}|{}|{}|{}|{}|{}",
        c.nonce, c.url, c.serial, c.question, c.title, c.sslverify
    );
    let options = match (&c.require_presence, presence) {
        (Some(list), true) => {
            signed.push('|');
            signed.push_str(list);
            parse_options(list)?
        }
        (Some(_), false) => {
            return Err(ProtocolError::invalid(
                "require_presence",
                "present without version 2",
            ));
        }
        (None, true) => {
            return Err(ProtocolError::invalid(
                "require_presence",
                "missing in version 2",
            ));
        }
        (None, false) => Vec::new(),
    };
    key.verify(&signed, &c.signature, "challenge")?;
    let mut decline_reasons = false;
    let mut hashed = signed.clone();
    match (&c.capabilities, &c.capabilities_signature) {
        (Some(caps), Some(sig)) => {
            if caps.len() > MAX_CAPABILITIES {
                return Err(ProtocolError::invalid("capabilities", "longer than 1 KiB"));
            }
            let value: serde_json::Value = serde_json::from_str(caps)
                .map_err(|_| ProtocolError::invalid("capabilities", "not JSON"))?;
            if !value.is_object() {
                return Err(ProtocolError::invalid("capabilities", "not a JSON object"));
            }
            let canonical = serde_json_canonicalizer::to_string(&serde_json::json!({
                "capabilities": value,
                "nonce": c.nonce,
            }))
            .map_err(|_| ProtocolError::invalid("capabilities", "cannot be canonicalised"))?;
            key.verify(&canonical, sig, "capabilities")?;
            decline_reasons = value.get("decline_reason") == Some(&serde_json::Value::Bool(true));
            hashed.push('\n');
            hashed.push_str(&canonical);
        }
        (None, None) => {}
        // Capabilities without their signature (or the reverse) could only come from tampering.
        _ => {
            return Err(ProtocolError::BadSignature {
                what: "capabilities",
            });
        }
    }
    Ok(VerifiedChallenge {
        nonce: c.nonce.clone(),
        title: sanitize(&c.title).unwrap_or_else(|| "privacyIDEA".into()),
        question: sanitize(&c.question).unwrap_or_default(),
        options,
        decline_reasons,
        hash: crate::openpush::encoding::b64(&crate::crypto::sha256(hashed.as_bytes())),
    })
}

fn parse_options(list: &str) -> Result<Vec<String>, ProtocolError> {
    let options: Vec<String> = list.split(',').map(|o| o.trim().to_string()).collect();
    if options.len() < 2
        || options.len() > MAX_OPTIONS
        || options.iter().any(|o| {
            o.is_empty()
                || o.chars().count() > MAX_OPTION_LEN
                || sanitize(o).as_deref() != Some(o.as_str())
        })
    {
        return Err(ProtocolError::invalid(
            "require_presence",
            "not 2–10 printable options of at most 32 characters",
        ));
    }
    Ok(options)
}

/// `serial|timestamp`, signed for a poll.
pub fn poll_message(serial: &str, timestamp: &str) -> String {
    format!("{serial}|{timestamp}")
}

/// The string signed for an answer: `nonce|serial`, then `|decline`, the reason, and the
/// presence answer, each when present.
pub fn answer_message(nonce: &str, serial: &str, answer: Answer<'_>) -> String {
    let mut s = format!("{nonce}|{serial}");
    match answer {
        Answer::Approve { presence } => {
            if let Some(p) = presence {
                s.push('|');
                s.push_str(p);
            }
        }
        Answer::Decline { reason } => {
            s.push_str("|decline");
            if let Some(r) = reason {
                s.push('|');
                s.push_str(r);
            }
        }
    }
    s
}

/// `token|serial|timestamp`, signed for a push-token update.
pub fn token_update_message(token: &str, serial: &str, timestamp: &str) -> String {
    format!("{token}|{serial}|{timestamp}")
}

/// Unix seconds as the ISO 8601 UTC timestamp privacyIDEA parses (`2026-11-29T03:40:00Z`).
pub fn timestamp(unix_seconds: u64) -> Result<String, ProtocolError> {
    let t = i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or(ProtocolError::invalid(
            "timestamp",
            "the clock is out of range",
        ))?;
    t.format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| ProtocolError::invalid("timestamp", "the clock is out of range"))
}
