//! §6, §9.2, §10: signing strings, the per-challenge checks and display sanitisation.

use super::ProtocolError;
use super::encoding::{b64, check_id, labelled};
use super::messages::Challenge;
use crate::crypto::sha256;

/// Challenge TTL bound (§8.1).
pub const MAX_TTL: u64 = 120;
/// Clock tolerance for `created_at` in the future (§10.1 step 13).
pub const CREATED_SKEW: u64 = 30;
/// Display caps (§10.2).
pub const DISPLAY_CAP: usize = 48;

/// §6: the request-authentication signing input.
pub fn request_input(
    method: &str,
    path: &str,
    account_id: &str,
    time: u64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let time = time.to_string();
    let body_hash = b64(&sha256(body));
    labelled(
        "openpush/1 request",
        &[
            method.as_bytes(),
            path.as_bytes(),
            account_id.as_bytes(),
            time.as_bytes(),
            nonce.as_bytes(),
        ],
        body_hash.as_bytes(),
    )
}

/// §9.2: the answer signing input.
#[allow(clippy::too_many_arguments)]
pub fn answer_input(
    account_id: &str,
    challenge_id: &str,
    nonce: &str,
    challenge_hash: &str,
    decision: &str,
    number: &str,
    otp: &str,
    answered_at: u64,
) -> Vec<u8> {
    let at = answered_at.to_string();
    labelled(
        "openpush/1 answer",
        &[
            account_id.as_bytes(),
            challenge_id.as_bytes(),
            nonce.as_bytes(),
            challenge_hash.as_bytes(),
            decision.as_bytes(),
            number.as_bytes(),
            otp.as_bytes(),
        ],
        at.as_bytes(),
    )
}

/// §5.1: the activation proof-of-possession input.
pub fn activation_proof_input(payload: &[u8]) -> Vec<u8> {
    labelled("openpush/1 activation-proof", &[], payload)
}

/// `challenge_hash` (§2.6).
pub fn challenge_hash(payload: &[u8]) -> String {
    b64(&sha256(payload))
}

/// §10.2 steps 1–3 and 5: what a context string may show. `None` when nothing is left.
pub fn sanitize(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut last_space = true;
    for c in text.chars() {
        let c = match c {
            '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' => ' ',
            '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{ad}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200b}'..='\u{200d}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}' => continue,
            '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => ' ',
            c => c,
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
    }
    let trimmed = out.trim_end();
    if trimmed.is_empty() {
        return None;
    }
    let count = trimmed.chars().count();
    Some(if count > DISPLAY_CAP {
        let mut cut: String = trimmed.chars().take(DISPLAY_CAP - 1).collect();
        cut.push('…');
        cut
    } else {
        trimmed.to_string()
    })
}

fn limit(value: &str, max: usize, field: &'static str) -> Result<(), ProtocolError> {
    if value.len() > max {
        return Err(ProtocolError::invalid(
            field,
            format!("longer than {max} bytes"),
        ));
    }
    Ok(())
}

/// What kind of account is checking a challenge (§10.1 step 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// Waiting for its activation challenge.
    Pending,
    /// Active.
    Active,
}

/// §10.1 steps 11–13 and 15 for a challenge whose envelope already verified.
pub fn check_challenge(
    c: &Challenge,
    account_id: &str,
    state: AccountState,
    corrected_now: u64,
) -> Result<(), ProtocolError> {
    check_id(&c.challenge_id, "challenge_id")?;
    check_id(&c.nonce, "nonce")?;
    if c.account_id != account_id {
        return Err(ProtocolError::WrongAccount);
    }
    match (c.kind.as_str(), state) {
        ("activation", AccountState::Pending) | ("signin", AccountState::Active) => {}
        _ => {
            return Err(ProtocolError::invalid(
                "kind",
                "not valid for this account's state",
            ));
        }
    }
    if !c.number_matching || !(2..=6).contains(&c.number_length) {
        return Err(ProtocolError::invalid(
            "number_length",
            "number matching with 2–6 digits is required",
        ));
    }
    if c.kind == "activation" && c.fraud_report {
        return Err(ProtocolError::invalid(
            "fraud_report",
            "not offered on activation",
        ));
    }
    if c.created_at > corrected_now.saturating_add(CREATED_SKEW) {
        return Err(ProtocolError::invalid("created_at", "in the future"));
    }
    let ttl = c.expires_at.saturating_sub(c.created_at);
    if c.expires_at <= c.created_at || ttl > MAX_TTL {
        return Err(ProtocolError::invalid("expires_at", "TTL must be 1–120 s"));
    }
    if corrected_now >= c.expires_at {
        return Err(ProtocolError::Expired);
    }
    if c.context.time > c.created_at || c.context.time + 600 < c.created_at {
        return Err(ProtocolError::invalid("context.time", "out of range"));
    }
    limit(&c.context.app, 128, "context.app")?;
    if let Some(l) = &c.context.location {
        limit(l, 128, "context.location")?;
    }
    if let Some(cl) = &c.context.client {
        limit(cl, 128, "context.client")?;
    }
    if let Some(ip) = &c.context.ip {
        limit(ip, 45, "context.ip")?;
    }
    Ok(())
}

/// The context as shown: sanitised, capped, `ip` dropped unless it parses (§10.1 step 15).
pub fn display_context(c: &super::messages::Context) -> super::messages::Context {
    super::messages::Context {
        app: sanitize(&c.app).unwrap_or_else(|| "unknown".into()),
        time: c.time,
        ip: c
            .ip
            .as_deref()
            .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
            .map(str::to_string),
        location: c.location.as_deref().and_then(sanitize),
        client: c.client.as_deref().and_then(sanitize),
    }
}
