//! One-time password generation: HOTP (RFC 4226), TOTP (RFC 6238) and Steam Guard.
//!
//! Every function here is pure: the secret, the counter and the time are parameters, so the
//! same inputs give the same code on every platform and in every test. Time is Unix seconds as
//! `u64`, so instants far in the future work; arithmetic that could overflow saturates or is
//! reported instead of wrapping.
//!
//! TOTP is HOTP over `floor(t / period)`, and Steam is HOTP/SHA-1 with a different rendering,
//! so one code path ([`Generator`]) serves all three.

mod code;

pub use code::OtpCode;

use crate::crypto::{HmacAlgorithm, HmacKey, SecretBytes};
use serde::Serialize;

/// Steam Guard's 26-symbol alphabet (no vowels or look-alike digits).
const STEAM_ALPHABET: &[u8; 26] = b"23456789BCDFGHJKMNPQRTVWXY";
/// Steam Guard codes are always this many characters.
pub const STEAM_CHARS: u8 = 5;
/// Fewest decimal digits accepted for HOTP/TOTP.
pub const MIN_DIGITS: u8 = 6;
/// Most decimal digits accepted: a 31-bit truncated value has at most 10 decimal digits.
pub const MAX_DIGITS: u8 = 10;
/// The default TOTP period in seconds.
pub const DEFAULT_PERIOD: u64 = 30;

/// Problems with OTP parameters or state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OtpError {
    /// Digits outside 6–10 (or not 5 for Steam).
    #[error("a code must have {MIN_DIGITS} to {MAX_DIGITS} digits, not {0}")]
    InvalidDigits(u8),
    /// A period of zero seconds.
    #[error("the period must be at least 1 second")]
    InvalidPeriod,
    /// The secret has no bytes.
    #[error("the secret is empty")]
    EmptySecret,
    /// An HOTP counter at 2^64 − 1 cannot advance.
    #[error("the HOTP counter is at its maximum and cannot advance")]
    CounterExhausted,
}

/// The HMAC hash function of an OATH account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Algorithm {
    /// SHA-1, the default of RFC 4226/6238 and of nearly every issuer.
    #[default]
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in `otpauth://` URIs (`SHA1`, `SHA256`, `SHA512`).
    pub fn uri_name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    fn hmac(self) -> HmacAlgorithm {
        match self {
            Self::Sha1 => HmacAlgorithm::Sha1,
            Self::Sha256 => HmacAlgorithm::Sha256,
            Self::Sha512 => HmacAlgorithm::Sha512,
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.uri_name())
    }
}

/// Which kind of one-time password an account produces, with its moving factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum OtpKind {
    /// Time-based (RFC 6238): a new code every `period` seconds.
    Totp {
        /// Step length in seconds (≥ 1).
        period: u64,
    },
    /// Counter-based (RFC 4226): a new code each time the counter advances.
    Hotp {
        /// The counter value the next code will use.
        counter: u64,
    },
    /// Steam Guard: TOTP/SHA-1 rendered as five letters and digits.
    Steam {
        /// Step length in seconds (Steam uses 30).
        period: u64,
    },
}

impl OtpKind {
    /// The lower-case type name (`totp`, `hotp`, `steam`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Totp { .. } => "totp",
            Self::Hotp { .. } => "hotp",
            Self::Steam { .. } => "steam",
        }
    }
}

/// How a code is rendered: a fixed number of decimal digits, or Steam's five symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rendering {
    Decimal(u8),
    Steam,
}

/// Generates codes for one secret; the HMAC key schedule is computed once in [`Generator::new`].
#[derive(Debug)]
pub struct Generator {
    key: HmacKey,
    rendering: Rendering,
}

impl Generator {
    /// A decimal HOTP/TOTP generator with `digits` in 6–10.
    pub fn decimal(
        algorithm: Algorithm,
        digits: u8,
        secret: &SecretBytes,
    ) -> Result<Self, OtpError> {
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
            return Err(OtpError::InvalidDigits(digits));
        }
        Self::build(algorithm, Rendering::Decimal(digits), secret)
    }

    /// A Steam Guard generator (HMAC-SHA-1, five symbols).
    pub fn steam(secret: &SecretBytes) -> Result<Self, OtpError> {
        Self::build(Algorithm::Sha1, Rendering::Steam, secret)
    }

    fn build(
        algorithm: Algorithm,
        rendering: Rendering,
        secret: &SecretBytes,
    ) -> Result<Self, OtpError> {
        if secret.is_empty() {
            return Err(OtpError::EmptySecret);
        }
        Ok(Self {
            key: HmacKey::new(algorithm.hmac(), secret.expose()),
            rendering,
        })
    }

    /// The code for moving factor `counter` (the HOTP counter, or the TOTP time step).
    pub fn at_counter(&self, counter: u64) -> OtpCode {
        let value = self
            .key
            .with_tag(&counter.to_be_bytes(), dynamic_truncation);
        match self.rendering {
            Rendering::Decimal(digits) => OtpCode::decimal(value, digits),
            Rendering::Steam => {
                let mut symbols = [0u8; STEAM_CHARS as usize];
                let mut rest = value;
                for s in &mut symbols {
                    // The index is < 26 by construction.
                    *s = STEAM_ALPHABET[(rest % 26) as usize];
                    rest /= 26;
                }
                OtpCode::from_symbols(&symbols)
            }
        }
    }

    /// The code valid at Unix time `at` for a time step of `period` seconds, with its window
    /// and the code of the following step.
    pub fn at_time(&self, period: u64, at: u64) -> Result<TimedCode, OtpError> {
        let mut timed = self.current_at_time(period, at)?;
        timed.next = (timed.valid_from / period)
            .checked_add(1)
            .map(|s| self.at_counter(s));
        Ok(timed)
    }

    /// Like [`Generator::at_time`] without the next code (half the work, for long lists).
    pub fn current_at_time(&self, period: u64, at: u64) -> Result<TimedCode, OtpError> {
        let window = Window::at(period, at)?;
        Ok(TimedCode {
            code: self.at_counter(window.step),
            valid_from: window.valid_from,
            valid_until: window.valid_until,
            next: None,
        })
    }
}

/// RFC 4226 §5.3: take 4 bytes at the offset named by the low nibble of the last byte, clear
/// the top bit. The offset is at most 15 and every supported tag is ≥ 20 bytes, so the slice
/// is always in range; `get` keeps that a checked fact rather than an assumption.
fn dynamic_truncation(tag: &[u8]) -> u32 {
    let offset = tag.last().map_or(0, |b| usize::from(b & 0x0f));
    match tag.get(offset..offset + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]) & 0x7fff_ffff,
        _ => 0,
    }
}

/// The time step containing an instant, and when it starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// `floor(at / period)`.
    pub step: u64,
    /// First second of the step.
    pub valid_from: u64,
    /// First second after the step (saturates at `u64::MAX` at the end of time).
    pub valid_until: u64,
}

impl Window {
    /// The step of length `period` that contains `at`.
    pub fn at(period: u64, at: u64) -> Result<Self, OtpError> {
        if period == 0 {
            return Err(OtpError::InvalidPeriod);
        }
        let step = at / period;
        let valid_from = step * period; // ≤ at, cannot overflow
        Ok(Self {
            step,
            valid_from,
            valid_until: valid_from.saturating_add(period),
        })
    }
}

/// A time-based code with the window in which it is valid and the code that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedCode {
    /// The code valid now.
    pub code: OtpCode,
    /// First Unix second at which `code` is valid.
    pub valid_from: u64,
    /// First Unix second at which `code` is no longer valid.
    pub valid_until: u64,
    /// The code of the next step; `None` when not asked for, or at the very end of `u64` time.
    pub next: Option<OtpCode>,
}

/// HOTP (RFC 4226) for one counter value.
pub fn hotp(
    secret: &SecretBytes,
    algorithm: Algorithm,
    digits: u8,
    counter: u64,
) -> Result<OtpCode, OtpError> {
    Ok(Generator::decimal(algorithm, digits, secret)?.at_counter(counter))
}

/// TOTP (RFC 6238) at Unix time `at`.
pub fn totp(
    secret: &SecretBytes,
    algorithm: Algorithm,
    digits: u8,
    period: u64,
    at: u64,
) -> Result<TimedCode, OtpError> {
    Generator::decimal(algorithm, digits, secret)?.at_time(period, at)
}

/// Steam Guard code at Unix time `at` (30-second steps unless the account says otherwise).
pub fn steam(secret: &SecretBytes, period: u64, at: u64) -> Result<TimedCode, OtpError> {
    Generator::steam(secret)?.at_time(period, at)
}

#[cfg(test)]
mod tests;
