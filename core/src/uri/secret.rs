//! Base32 secrets as people and issuers actually write them.

use super::UriError;
use crate::crypto::SecretBytes;
use data_encoding::{Encoding, Specification};
use zeroize::Zeroizing;

/// Longest decoded secret accepted: far above any issuer's, small enough to bound work.
pub const MAX_SECRET_BYTES: usize = 1024;

fn lenient_base32() -> Result<&'static Encoding, UriError> {
    // RFC 4648 base32 without padding, not insisting that unused trailing bits are zero:
    // issuers generate secrets whose length is not a multiple of 8 characters. Built once: the
    // table costs more than decoding a secret.
    static ENCODING: std::sync::OnceLock<Option<Encoding>> = std::sync::OnceLock::new();
    ENCODING
        .get_or_init(|| {
            let mut spec = Specification::new();
            spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
            spec.check_trailing_bits = false;
            spec.encoding().ok()
        })
        .as_ref()
        .ok_or_else(|| UriError::InvalidEncoding {
            part: "base32 alphabet".into(),
        })
}

/// Decodes a base32 secret after normalising it: case is ignored, spaces, tabs, dashes and
/// underscores are removed, and `=` padding (missing, right or too much) is dropped. Any other
/// character is an error that names its position (never the character).
pub fn decode_base32_secret(text: &str) -> Result<SecretBytes, UriError> {
    let mut clean = Zeroizing::new(String::with_capacity(text.len()));
    let mut padding_seen = false;
    for (i, c) in text.chars().enumerate() {
        match c {
            ' ' | '\t' | '-' | '_' => {}
            '=' => padding_seen = true,
            'a'..='z' | 'A'..='Z' | '2'..='7' if !padding_seen => {
                clean.push(c.to_ascii_uppercase())
            }
            _ => return Err(UriError::InvalidSecretCharacter { position: i + 1 }),
        }
    }
    if clean.is_empty() {
        return Err(UriError::EmptySecret);
    }
    let chars = clean.len();
    if matches!(chars % 8, 1 | 3 | 6) {
        return Err(UriError::InvalidSecretLength { chars });
    }
    let bytes = lenient_base32()?
        .decode(clean.as_bytes())
        .map_err(|_| UriError::InvalidSecretLength { chars })?;
    let secret = SecretBytes::new(bytes);
    if secret.len() > MAX_SECRET_BYTES {
        return Err(UriError::SecretTooLong {
            bytes: secret.len(),
            max: MAX_SECRET_BYTES,
        });
    }
    Ok(secret)
}

/// Encodes a secret as upper-case base32 without padding (the form the Key URI format asks for).
pub fn encode_base32_secret(secret: &SecretBytes) -> Zeroizing<String> {
    Zeroizing::new(data_encoding::BASE32_NOPAD.encode(secret.expose()))
}
