//! The privacyIDEA push enrolment link, `otpauth://pipush/<label>?url=…&serial=…&…` or the same
//! with the `pia://` scheme, as printed in the enrolment QR code.
//!
//! Read with a real URL parser (privacyIDEA encodes values with Python's `quote`, so `/` stays
//! as it is); bounded; the registration URL obeys the same transport rules as every other push
//! URL. `sslverify=0` is recorded but never weakens TLS: see `docs/security.md`.

use crate::openpush::{ProtocolError, UrlPolicy};
use zeroize::Zeroizing;

/// Longest enrolment link read.
pub const MAX_URI_LEN: usize = 4096;
/// Longest registration URL kept.
pub const MAX_URL_LEN: usize = 512;
/// Registration window when the link names none (privacyIDEA's default `push_ttl`).
pub const DEFAULT_TTL_MINUTES: u64 = 10;

/// A parsed enrolment link.
pub struct EnrollmentUri {
    /// Issuer shown in the list (`issuer`, else the label's `issuer:` prefix, else
    /// `privacyIDEA`).
    pub issuer: String,
    /// Account label (the token label, by default the serial).
    pub label: String,
    /// Where registration, polls and answers go (checked against the URL policy).
    pub url: String,
    /// The token serial.
    pub serial: String,
    /// One-time enrolment secret (hex).
    pub enrollment_credential: Zeroizing<String>,
    /// Minutes within which registration must happen (enforced by this client).
    pub ttl_minutes: u64,
    /// The server's `sslverify` hint. Recorded only: TLS is always verified.
    pub sslverify: bool,
    /// The server polls only (no Firebase registration expected).
    pub poll_only: bool,
    /// The server asks that the app be unlocked before answering (`pin=True`).
    pub require_unlock: bool,
    /// `app_force_unlock` (`any`, `biometric` or `pin`), when given.
    pub force_unlock: Option<String>,
}

impl std::fmt::Debug for EnrollmentUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollmentUri")
            .field("issuer", &self.issuer)
            .field("label", &self.label)
            .field("url", &self.url)
            .field("serial", &self.serial)
            .field("enrollment_credential", &"<redacted>")
            .field("ttl_minutes", &self.ttl_minutes)
            .finish_non_exhaustive()
    }
}

/// True for `otpauth://pipush/…` and `pia://pipush/…` (any case in scheme and host).
pub fn is_pipush(text: &str) -> bool {
    let t = text.trim_start();
    let lower: String = t.chars().take(20).collect::<String>().to_ascii_lowercase();
    lower.starts_with("otpauth://pipush/") || lower.starts_with("pia://pipush/")
}

impl EnrollmentUri {
    /// Parses an enrolment link; `policy` decides whether loopback / plain http registration
    /// URLs are acceptable (tests only).
    pub fn parse(text: &str, policy: UrlPolicy) -> Result<Self, ProtocolError> {
        let text = text.trim();
        if text.len() > MAX_URI_LEN {
            return Err(ProtocolError::invalid("link", "longer than 4 KiB"));
        }
        if !is_pipush(text) {
            return Err(ProtocolError::invalid(
                "link",
                "not a privacyIDEA push enrolment (otpauth://pipush/ or pia://pipush/)",
            ));
        }
        let parsed = url::Url::parse(text)
            .map_err(|_| ProtocolError::invalid("link", "not a well-formed URI"))?;
        let mut url = None;
        let mut serial = None;
        let mut credential = None;
        let mut issuer = None;
        let mut ttl = None;
        let mut version = None;
        let mut sslverify = true;
        let mut poll_only = false;
        let mut require_unlock = false;
        let mut force_unlock = None;
        for (k, v) in parsed.query_pairs() {
            let v = v.into_owned();
            match k.as_ref() {
                "url" => url = Some(v),
                "serial" => serial = Some(v),
                "enrollment_credential" => credential = Some(Zeroizing::new(v)),
                "issuer" => issuer = Some(v),
                "ttl" => ttl = Some(v),
                "v" => version = Some(v),
                "sslverify" => sslverify = v != "0",
                "poll_only" => poll_only = v.eq_ignore_ascii_case("true") || v == "1",
                "pin" => require_unlock = v.eq_ignore_ascii_case("true") || v == "1",
                "app_force_unlock" => {
                    force_unlock = matches!(v.as_str(), "any" | "biometric" | "pin").then_some(v)
                }
                _ => {} // image, and whatever later versions add
            }
        }
        match version.as_deref() {
            Some("1") => {}
            Some(_) => {
                return Err(ProtocolError::invalid(
                    "v",
                    "an enrolment version this app does not speak (only v=1)",
                ));
            }
            None => return Err(ProtocolError::invalid("v", "missing")),
        }
        let url = check_url(
            &url.ok_or(ProtocolError::invalid("url", "missing"))?,
            policy,
        )?;
        let serial = serial.ok_or(ProtocolError::invalid("serial", "missing"))?;
        check_serial(&serial)?;
        let credential =
            credential.ok_or(ProtocolError::invalid("enrollment_credential", "missing"))?;
        if credential.is_empty()
            || credential.len() > 256
            || !credential.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(ProtocolError::invalid(
                "enrollment_credential",
                "not 1–256 letters and digits",
            ));
        }
        let ttl_minutes = match ttl {
            None => DEFAULT_TTL_MINUTES,
            Some(t) => t
                .parse::<u64>()
                .ok()
                .filter(|m| (1..=24 * 60).contains(m))
                .ok_or(ProtocolError::invalid("ttl", "not 1–1440 minutes"))?,
        };
        let path = parsed.path().trim_start_matches('/');
        let label = percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .map_err(|_| ProtocolError::invalid("label", "not UTF-8"))?
            .into_owned();
        let (label_issuer, label) = match label.split_once(':') {
            Some((i, l)) if !i.trim().is_empty() => (Some(i.trim().to_string()), l.trim()),
            _ => (None, label.trim()),
        };
        let issuer = issuer
            .filter(|i| !i.trim().is_empty())
            .or(label_issuer)
            .unwrap_or_else(|| "privacyIDEA".into());
        let label = if label.is_empty() {
            serial.clone()
        } else {
            label.to_string()
        };
        Ok(Self {
            issuer: bounded(&issuer, 128),
            label: bounded(&label, 256),
            url,
            serial,
            enrollment_credential: credential,
            ttl_minutes,
            sslverify,
            poll_only,
            require_unlock,
            force_unlock,
        })
    }

    /// The host the user is asked to trust ("Add a privacyIDEA token at …?").
    pub fn host(&self) -> String {
        host_of(&self.url)
    }
}

/// The host of a registration URL (empty if it does not parse).
pub fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

fn bounded(text: &str, max_chars: usize) -> String {
    crate::openpush::verify::sanitize(text)
        .unwrap_or_default()
        .chars()
        .take(max_chars)
        .collect()
}

/// A token serial: 1–64 of `A–Z a–z 0–9 . _ -` (privacyIDEA's are `PIPU` + hex).
pub fn check_serial(serial: &str) -> Result<(), ProtocolError> {
    if serial.is_empty()
        || serial.len() > 64
        || !serial
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(ProtocolError::invalid(
            "serial",
            "not 1–64 letters, digits, dots, dashes or underscores",
        ));
    }
    Ok(())
}

/// The registration URL rules: https (any host: TLS is verified), no user information, no
/// query or fragment; plain http and loopback hosts only under the test policy.
pub fn check_url(text: &str, policy: UrlPolicy) -> Result<String, ProtocolError> {
    if text.len() > MAX_URL_LEN {
        return Err(ProtocolError::invalid("url", "longer than 512 bytes"));
    }
    let url = url::Url::parse(text)
        .map_err(|_| ProtocolError::UrlNotAllowed("the registration URL is not a URL".into()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ProtocolError::UrlNotAllowed(
            "user information in the URL".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ProtocolError::UrlNotAllowed(
            "a query or fragment in the URL".into(),
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(ProtocolError::UrlNotAllowed("no host".into())),
    };
    let test = policy == UrlPolicy::AllowLoopback;
    if loopback && !test {
        return Err(ProtocolError::UrlNotAllowed(
            "a loopback host (allowed only in test mode)".into(),
        ));
    }
    match url.scheme() {
        "https" => Ok(url.to_string()),
        "http" if loopback && test => Ok(url.to_string()),
        _ => Err(ProtocolError::UrlNotAllowed(
            "only https (plain http only to loopback in test mode)".into(),
        )),
    }
}
