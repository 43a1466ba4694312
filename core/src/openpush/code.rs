//! §3.1 and §4: the base URL, the activation code (checksum, key commitment, code id and
//! proof) and the activation payload in its QR and typed forms.

use super::ProtocolError;
use super::encoding::{b64, labelled, unb64_len};
use crate::crypto::{hmac_sha256, sha256};
use zeroize::Zeroizing;

/// Crockford base32 alphabet (§4.1).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SECRET_SYMBOLS: usize = 13;
const COMMIT_SYMBOLS: usize = 4;
const CHECK_SYMBOLS: usize = 3;
/// Symbols in a canonical activation code.
pub const CODE_SYMBOLS: usize = SECRET_SYMBOLS + COMMIT_SYMBOLS + CHECK_SYMBOLS;
/// Longest QR payload accepted (§14).
pub const MAX_QR_LEN: usize = 512;
/// Longest base URL (§3.1).
pub const MAX_BASE_URL_LEN: usize = 200;

/// Whether plain http and loopback hosts are acceptable (tests and QA only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UrlPolicy {
    /// Production: https to a DNS name only.
    #[default]
    Strict,
    /// The explicit test flag: loopback hosts (127.0.0.0/8, ::1, localhost) allowed, with https
    /// or http.
    AllowLoopback,
}

/// A normalised base URL `B` (§3.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Normalises typed or scanned text into `B`, enforcing the transport rules.
    pub fn parse(text: &str, policy: UrlPolicy) -> Result<Self, ProtocolError> {
        let t = text.trim();
        let with_scheme = if t.contains("://") {
            t.to_string()
        } else {
            format!("https://{t}")
        };
        let url = url::Url::parse(&with_scheme)
            .map_err(|e| ProtocolError::UrlNotAllowed(format!("not a URL ({e})")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ProtocolError::UrlNotAllowed(
                "user information in the URL".into(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() || with_scheme.contains(['?', '#']) {
            return Err(ProtocolError::UrlNotAllowed(
                "a query or fragment in the URL".into(),
            ));
        }
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => {
                if !ip.is_loopback() {
                    return Err(ProtocolError::UrlNotAllowed(
                        "an IP address instead of a name".into(),
                    ));
                }
                true
            }
            Some(url::Host::Ipv6(ip)) => {
                if !ip.is_loopback() {
                    return Err(ProtocolError::UrlNotAllowed(
                        "an IP address instead of a name".into(),
                    ));
                }
                true
            }
            None => return Err(ProtocolError::UrlNotAllowed("no host".into())),
        };
        if loopback && policy != UrlPolicy::AllowLoopback {
            return Err(ProtocolError::UrlNotAllowed(
                "a loopback host (allowed only in test mode)".into(),
            ));
        }
        match url.scheme() {
            "https" => {}
            "http" if loopback && policy == UrlPolicy::AllowLoopback => {}
            "http" => {
                return Err(ProtocolError::UrlNotAllowed(
                    "plain http (only https is allowed; http only to loopback in test mode)".into(),
                ));
            }
            other => {
                return Err(ProtocolError::UrlNotAllowed(format!(
                    "scheme `{}`",
                    crate::error::preview(other)
                )));
            }
        }
        let host = url.host_str().unwrap_or_default();
        let mut b = format!("{}://{host}", url.scheme());
        if let Some(port) = url.port() {
            b.push_str(&format!(":{port}"));
        }
        b.push_str(url.path().trim_end_matches('/'));
        if b.len() > MAX_BASE_URL_LEN {
            return Err(ProtocolError::invalid("url", "longer than 200 bytes"));
        }
        Ok(Self(b))
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host, for "Add an account at …?" prompts.
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or("", |(_, r)| r);
        let end = rest.find(['/', ':']).unwrap_or(rest.len());
        &rest[..end]
    }

    /// `B + "/openpush/1/" + path`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}/openpush/1/{}", self.0, path.trim_start_matches('/'))
    }

    /// The path component of `B` (for request signing), empty for the root.
    pub fn path_prefix(&self) -> &str {
        let rest = self.0.split_once("://").map_or("", |(_, r)| r);
        rest.find('/').map_or("", |i| &rest[i..])
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The first `n` bits of `digest` as `n / 5` alphabet symbols (§4.1).
fn bits_to_symbols(digest: &[u8], n_symbols: usize) -> String {
    let mut out = String::with_capacity(n_symbols);
    for i in 0..n_symbols {
        let mut v = 0usize;
        for b in 0..5 {
            let bit = i * 5 + b;
            let byte = digest.get(bit / 8).copied().unwrap_or(0);
            v = (v << 1) | usize::from((byte >> (7 - bit % 8)) & 1);
        }
        out.push(char::from(ALPHABET[v & 31]));
    }
    out
}

/// An activation code (§4.1): 13 secret symbols, 4 key-commitment symbols, 3 checksum symbols.
/// The secret part is zeroized on drop and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationCode(Zeroizing<String>);

impl std::fmt::Debug for ActivationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ActivationCode(<redacted>)")
    }
}

impl ActivationCode {
    /// Normalises typed text (spaces and dashes removed, case folded, I/L→1, O→0).
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let mut s = Zeroizing::new(String::with_capacity(CODE_SYMBOLS));
        for c in text.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' => continue,
                'I' | 'L' => '1',
                'O' => '0',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => {
                    return Err(ProtocolError::invalid(
                        "code",
                        "only letters and digits of the code alphabet (no U)",
                    ));
                }
            };
            s.push(c);
        }
        if s.len() != CODE_SYMBOLS {
            return Err(ProtocolError::invalid(
                "code",
                format!("must have {CODE_SYMBOLS} characters, has {}", s.len()),
            ));
        }
        Ok(Self(s))
    }

    /// A fresh code for `base` committing to server key fingerprint `fp` (server side).
    pub fn generate(base: &BaseUrl, fp: &[u8; 32]) -> crate::Result<Self> {
        let random = crate::crypto::random_bytes(SECRET_SYMBOLS)?;
        let secret: String = random
            .expose()
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
            .collect();
        let commit = commitment(&secret, base, fp);
        let check = checksum(base, &format!("{secret}{commit}"));
        Ok(Self(Zeroizing::new(format!("{secret}{commit}{check}"))))
    }

    fn secret(&self) -> &str {
        &self.0[..SECRET_SYMBOLS]
    }

    fn commit(&self) -> &str {
        &self.0[SECRET_SYMBOLS..SECRET_SYMBOLS + COMMIT_SYMBOLS]
    }

    /// The 20 canonical symbols.
    pub fn canonical(&self) -> &str {
        &self.0
    }

    /// `XXXXX-XXXXX-XXXXX-XXXXX`.
    pub fn display(&self) -> Zeroizing<String> {
        let s = &self.0;
        Zeroizing::new(format!(
            "{}-{}-{}-{}",
            &s[0..5],
            &s[5..10],
            &s[10..15],
            &s[15..20]
        ))
    }

    /// §4.2: the checksum covers the code and the URL; a mismatch means a typo in either.
    pub fn verify_checksum(&self, base: &BaseUrl) -> Result<(), ProtocolError> {
        let expected = checksum(base, &self.0[..SECRET_SYMBOLS + COMMIT_SYMBOLS]);
        if crate::crypto::constant_time_eq(
            expected.as_bytes(),
            self.0[SECRET_SYMBOLS + COMMIT_SYMBOLS..].as_bytes(),
        ) {
            Ok(())
        } else {
            Err(ProtocolError::Checksum)
        }
    }

    /// §4.3: does the server key with fingerprint `fp` match the code's commitment?
    pub fn commits_to(&self, base: &BaseUrl, fp: &[u8; 32]) -> bool {
        crate::crypto::constant_time_eq(
            commitment(self.secret(), base, fp).as_bytes(),
            self.commit().as_bytes(),
        )
    }

    /// §4.4: the lookup handle sent instead of the code.
    pub fn code_id(&self) -> String {
        let h = sha256(&labelled(
            "openpush/1 code-id",
            &[],
            self.secret().as_bytes(),
        ));
        b64(&h[..16])
    }

    /// §4.4: HMAC proof over the activation request payload bytes.
    pub fn proof(&self, payload: &[u8]) -> String {
        b64(&hmac_sha256(
            self.secret().as_bytes(),
            &labelled("openpush/1 activation-code", &[], payload),
        ))
    }
}

fn commitment(secret: &str, base: &BaseUrl, fp: &[u8; 32]) -> String {
    let mac = hmac_sha256(
        secret.as_bytes(),
        &labelled("openpush/1 key-commitment", &[base.as_str().as_bytes()], fp),
    );
    bits_to_symbols(&mac, COMMIT_SYMBOLS)
}

fn checksum(base: &BaseUrl, secret_and_commit: &str) -> String {
    let h = sha256(&labelled(
        "openpush/1 code-check",
        &[base.as_str().as_bytes()],
        secret_and_commit.as_bytes(),
    ));
    bits_to_symbols(&h, CHECK_SYMBOLS)
}

/// What the app needs to activate: `B`, the code, and (from a QR) the full key fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationPayload {
    /// The server's base URL.
    pub base_url: BaseUrl,
    /// The activation code (checksum already verified).
    pub code: ActivationCode,
    /// The server key fingerprint, when the payload came from a QR code.
    pub fingerprint: Option<[u8; 32]>,
}

impl ActivationPayload {
    /// The typed form (§4.6): code + URL, checksum verified offline.
    pub fn typed(code: &str, url: &str, policy: UrlPolicy) -> Result<Self, ProtocolError> {
        let base_url = BaseUrl::parse(url, policy)?;
        let code = ActivationCode::parse(code)?;
        code.verify_checksum(&base_url)?;
        Ok(Self {
            base_url,
            code,
            fingerprint: None,
        })
    }

    /// The QR form (§4.5): `openpush://activate?v=1&url=…&code=…&fp=…`.
    pub fn from_qr(text: &str, policy: UrlPolicy) -> Result<Self, ProtocolError> {
        if text.len() > MAX_QR_LEN {
            return Err(ProtocolError::invalid("qr", "longer than 512 bytes"));
        }
        let t = text.trim();
        let (head, query) = t.split_once('?').unwrap_or((t, ""));
        if !head.eq_ignore_ascii_case("openpush://activate") {
            return Err(ProtocolError::invalid(
                "qr",
                "not an openpush://activate payload",
            ));
        }
        let (mut v, mut url, mut code, mut fp) = (None, None, None, None);
        for (k, val) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "v" => &mut v,
                "url" => &mut url,
                "code" => &mut code,
                "fp" => &mut fp,
                _ => continue,
            };
            if slot.replace(val.into_owned()).is_some() {
                return Err(ProtocolError::invalid(
                    "qr",
                    format!("duplicated parameter `{k}`"),
                ));
            }
        }
        if v.as_deref() != Some("1") {
            return Err(ProtocolError::invalid("v", "must be 1"));
        }
        let url = url.ok_or_else(|| ProtocolError::invalid("url", "missing"))?;
        let code = Zeroizing::new(code.ok_or_else(|| ProtocolError::invalid("code", "missing"))?);
        let fp = fp.ok_or_else(|| ProtocolError::invalid("fp", "missing"))?;
        let base_url = BaseUrl::parse(&url, policy)?;
        if base_url.as_str() != url {
            return Err(ProtocolError::invalid("url", "not in normal form"));
        }
        let code = ActivationCode::parse(&code)?;
        code.verify_checksum(&base_url)?;
        let fp_bytes = unb64_len(&fp, 32, "fp")?;
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(&fp_bytes);
        Ok(Self {
            base_url,
            code,
            fingerprint: Some(fingerprint),
        })
    }

    /// The QR text for this payload (server side; needs the fingerprint).
    pub fn to_qr(&self) -> Option<Zeroizing<String>> {
        let fp = self.fingerprint?;
        let url: String =
            url::form_urlencoded::byte_serialize(self.base_url.as_str().as_bytes()).collect();
        Some(Zeroizing::new(format!(
            "openpush://activate?v=1&url={url}&code={}&fp={}",
            self.code.canonical(),
            b64(&fp)
        )))
    }
}
