//! Writing an account back as an `otpauth://` URI that other authenticators read.

use super::account::OtpAccount;
use super::secret::encode_base32_secret;
use crate::otp::OtpKind;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use std::fmt::Write;
use zeroize::Zeroizing;

/// Characters escaped in labels and parameter values: everything with a meaning in a URI, plus
/// space and `+` (which form decoders read as a space). Non-ASCII is always escaped as UTF-8.
const COMPONENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

fn esc(s: &str) -> impl std::fmt::Display + '_ {
    utf8_percent_encode(s, COMPONENT)
}

impl OtpAccount {
    /// The account as a canonical `otpauth://` URI: label `Issuer:account`, then `secret`,
    /// `issuer`, `algorithm`, `digits`, `period` or `counter`, `image`, `color`, and every
    /// parameter the parser did not interpret, in its original order. Steam accounts are
    /// written as `otpauth://totp/…&encoder=steam`, which Steam-aware apps read.
    ///
    /// The result contains the secret, so it comes back in a zeroizing string.
    pub fn to_uri(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(128));
        let kind = match self.kind {
            OtpKind::Hotp { .. } => "hotp",
            OtpKind::Totp { .. } | OtpKind::Steam { .. } => "totp",
        };
        // Writing to a String cannot fail; the results are ignored deliberately.
        let _ = write!(out, "otpauth://{kind}/");
        if let Some(prefix) = self.label_issuer.as_deref().or(self.issuer.as_deref()) {
            let _ = write!(out, "{}:", esc(prefix));
        }
        let _ = write!(out, "{}", esc(&self.account_name));
        out.push_str("?secret=");
        out.push_str(&encode_base32_secret(self.secret()));
        if let Some(issuer) = &self.issuer {
            let _ = write!(out, "&issuer={}", esc(issuer));
        }
        match self.kind {
            OtpKind::Totp { period } => {
                let _ = write!(
                    out,
                    "&algorithm={}&digits={}&period={period}",
                    self.algorithm.uri_name(),
                    self.digits
                );
            }
            OtpKind::Hotp { counter } => {
                let _ = write!(
                    out,
                    "&algorithm={}&digits={}&counter={counter}",
                    self.algorithm.uri_name(),
                    self.digits
                );
            }
            OtpKind::Steam { period } => {
                out.push_str("&encoder=steam");
                if period != crate::otp::DEFAULT_PERIOD {
                    let _ = write!(out, "&period={period}");
                }
            }
        }
        if let Some(image) = &self.image {
            let _ = write!(out, "&image={}", esc(image));
        }
        if let Some(color) = &self.color {
            let _ = write!(out, "&color={}", esc(color));
        }
        for (name, value) in &self.extra {
            let _ = write!(out, "&{}={}", esc(name), esc(value));
        }
        out
    }
}
