//! The `otpauth://` Key URI format: parse what real issuers hand out, write it back unchanged.
//!
//! Issuers disagree with the published format in many small ways (see the project's research
//! notes, "otpauth quirks"). The parser accepts every variant we know to be meant honestly —
//! lower-case or padded secrets, `HmacSHA256`, a colon inside the account name, Steam in three
//! spellings, a missing HOTP counter — and records a [`UriWarning`] where it had to guess. It
//! rejects, with a precise [`UriError`], anything that would produce wrong codes if guessed:
//! an unknown algorithm is an error, never a silent SHA-1.
//!
//! Parsing is lossless: the raw URI is kept, and parameters the model does not understand are
//! kept in order, so [`OtpAccount::to_uri`] round-trips them.

mod account;
mod error;
mod format;
mod parse;
mod secret;

pub use account::{OtpAccount, UriWarning};
pub use error::UriError;
pub use secret::{decode_base32_secret, encode_base32_secret};

/// Longest URI accepted. A version-40 QR code holds at most 2,953 bytes; the limit is higher
/// so that the canonical form of anything accepted (which escapes more characters than a raw
/// URI may) is itself accepted: the field limits below keep that form under this length.
pub const MAX_URI_LEN: usize = 16 * 1024;
/// Longest issuer, label prefix or account name, in bytes after decoding.
pub const MAX_NAME_BYTES: usize = 1024;
/// Most bytes (decoded) in `image`, `color` and unknown parameters together.
pub const MAX_EXTRA_BYTES: usize = 1024;

#[cfg(test)]
mod tests;
