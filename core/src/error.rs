//! The core's error type.
//!
//! One rich enum for the whole core, with a variant per module so callers can match on the
//! source of a failure. Messages name the problem and the field, never a secret: values echoed
//! back (an algorithm name, a period) are non-secret parameters, cut to a short preview.

use crate::otp::OtpError;
use crate::uri::UriError;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An `otpauth://` URI (or other account URI) could not be used.
    #[error("invalid account URI: {0}")]
    Uri(#[from] UriError),
    /// OTP parameters were out of range, or a counter ran out.
    #[error("{0}")]
    Otp(#[from] OtpError),
    /// A cryptographic primitive failed (random source, key format).
    #[error("cryptographic failure: {0}")]
    Crypto(&'static str),
}

/// Result with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shortens an untrusted, non-secret value for an error message: at most 32 characters, control
/// and formatting characters replaced, so a hostile URI cannot spoof a terminal or a log line.
pub(crate) fn preview(value: &str) -> String {
    const MAX: usize = 32;
    let mut out: String = value
        .chars()
        .take(MAX)
        .map(|c| {
            if c.is_control() || is_bidi_or_invisible(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    if value.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// Bidirectional overrides and zero-width characters, which can make text display as something
/// other than what it is.
pub(crate) fn is_bidi_or_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_cuts_and_neutralises() {
        assert_eq!(preview("SHA3"), "SHA3");
        assert_eq!(preview("a\u{202E}b\nc"), "a\u{FFFD}b\u{FFFD}c");
        let long = "x".repeat(40);
        assert_eq!(preview(&long).chars().count(), 33);
    }
}
