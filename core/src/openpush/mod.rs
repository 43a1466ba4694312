//! openpush/1, Countersign's open push sign-in protocol (specified in docs/protocol.md).
//!
//! This module holds the protocol's pure parts, shared by the client (the app) and the
//! reference server: encodings, the activation code and its QR form, the signed envelope,
//! message shapes, challenge checks, signing strings and the offline-seed derivation. Network
//! flows build on these; nothing here does I/O.
//!
//! Section numbers in comments refer to docs/protocol.md.

pub mod code;
pub mod encoding;
pub mod envelope;
pub mod messages;
pub mod rotation;
pub mod seed;
pub mod verify;

pub use code::{ActivationCode, ActivationPayload, BaseUrl, UrlPolicy};
pub use envelope::{Envelope, ServerKey};

/// Why openpush data was refused. Messages name the field and the rule, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A field is malformed or outside its limit.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The rule broken.
        reason: String,
    },
    /// The activation code or URL was mistyped (checksum mismatch, caught offline).
    #[error("the activation code or URL is mistyped (the checksum does not match)")]
    Checksum,
    /// The server's key does not match the code's commitment or the QR's fingerprint.
    #[error(
        "the server's key does not match this activation code: possible interception, nothing was stored"
    )]
    KeyMismatch,
    /// A signature did not verify.
    #[error("the {what} signature does not verify")]
    BadSignature {
        /// Which signature.
        what: &'static str,
    },
    /// A response does not answer our request (nonce or hash echo mismatch).
    #[error("the response is not fresh (its echo does not match our request)")]
    NotFresh,
    /// The object is for another account.
    #[error("the object is for another account")]
    WrongAccount,
    /// A challenge is expired or not yet valid.
    #[error("the challenge has expired")]
    Expired,
    /// A challenge id or nonce was seen before with different content.
    #[error("replayed or altered challenge")]
    Replay,
    /// The URL is not allowed (http to a non-loopback host, IP literal, userinfo …).
    #[error("URL not allowed: {0}")]
    UrlNotAllowed(String),
}

impl ProtocolError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests;
