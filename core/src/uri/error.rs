//! Why a URI was refused. Messages name the field; they never contain the secret.

/// A reason an account URI cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// Longer than [`super::MAX_URI_LEN`].
    #[error("the URI is {len} bytes long; at most {max} are accepted")]
    TooLong {
        /// Length seen.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// Not an `otpauth://` URI at all.
    #[error("not an otpauth:// URI (scheme `{scheme}`)")]
    NotOtpauth {
        /// The scheme found (preview).
        scheme: String,
    },
    /// `otpauth://` with nothing after it.
    #[error("the URI names no OTP type (expected otpauth://totp/… or otpauth://hotp/…)")]
    MissingType,
    /// A type we recognise but that is not an offline OTP account.
    #[error("`{kind}` is not an OTP account: {hint}")]
    UnsupportedType {
        /// The type.
        kind: String,
        /// What to do instead.
        hint: &'static str,
    },
    /// A type we do not know.
    #[error("unknown OTP type `{0}` (expected totp, hotp or steam)")]
    UnknownType(String),
    /// No `secret` parameter.
    #[error("the URI has no `secret` parameter")]
    MissingSecret,
    /// `secret=` with nothing in it (after removing spaces, dashes and padding).
    #[error("the `secret` parameter is empty")]
    EmptySecret,
    /// A character outside the base32 alphabet.
    #[error(
        "the secret has a character that is not base32 at position {position} \
         (allowed: A–Z, 2–7, spaces and dashes)"
    )]
    InvalidSecretCharacter {
        /// 1-based position in the secret as given.
        position: usize,
    },
    /// A base32 length that no byte string encodes to.
    #[error("the secret's length ({chars} base32 characters) is not a valid base32 length")]
    InvalidSecretLength {
        /// Number of base32 characters after normalisation.
        chars: usize,
    },
    /// Longer than any sensible HMAC key.
    #[error("the secret is {bytes} bytes; at most {max} are accepted")]
    SecretTooLong {
        /// Decoded length.
        bytes: usize,
        /// Limit.
        max: usize,
    },
    /// A name or parameter longer than its limit.
    #[error("the {field} is longer than {max} bytes")]
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Limit.
        max: usize,
    },
    /// An algorithm spelling we do not know.
    #[error("unknown algorithm `{0}` (expected SHA1, SHA256 or SHA512)")]
    UnknownAlgorithm(String),
    /// A known hash we do not support for OATH (MD5, SHA-224, SHA-384).
    #[error("algorithm `{0}` is not supported (use SHA1, SHA256 or SHA512)")]
    UnsupportedAlgorithm(String),
    /// `digits` not an integer in 6–10.
    #[error("`digits` must be a whole number from 6 to 10, not `{0}`")]
    InvalidDigits(String),
    /// `period` not a positive integer.
    #[error("`period` must be a whole number of seconds ≥ 1, not `{0}`")]
    InvalidPeriod(String),
    /// `counter` not an integer in 0..2^64.
    #[error("`counter` must be a whole number from 0 to 18446744073709551615, not `{0}`")]
    InvalidCounter(String),
    /// A parameter that must appear once appears twice.
    #[error("the parameter `{0}` appears more than once")]
    DuplicateParameter(String),
    /// Bad `%` escape or bytes that are not UTF-8.
    #[error("the {part} is not valid percent-encoded UTF-8")]
    InvalidEncoding {
        /// Which part (label, parameter name).
        part: String,
    },
}
