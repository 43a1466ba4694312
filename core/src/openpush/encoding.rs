//! §2.1–2.2: strict base64url and labelled signing inputs.

use super::ProtocolError;
use data_encoding::BASE64URL_NOPAD;

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

/// Strict base64url decode: no padding, no whitespace, canonical trailing bits.
pub fn unb64(text: &str, field: &'static str) -> Result<Vec<u8>, ProtocolError> {
    BASE64URL_NOPAD
        .decode(text.as_bytes())
        .map_err(|_| ProtocolError::invalid(field, "not canonical base64url"))
}

/// Decodes base64url of an exact length.
pub fn unb64_len(text: &str, len: usize, field: &'static str) -> Result<Vec<u8>, ProtocolError> {
    let v = unb64(text, field)?;
    if v.len() != len {
        return Err(ProtocolError::invalid(
            field,
            format!("must be {len} bytes"),
        ));
    }
    Ok(v)
}

/// `label ‖ 0 ‖ f1 ‖ 0 ‖ … ‖ 0 ‖ last` (§2.2). Fields before the last must not contain NUL.
pub fn labelled(label: &str, fields: &[&[u8]], last: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        label.len() + fields.iter().map(|f| f.len() + 1).sum::<usize>() + last.len() + 1,
    );
    out.extend_from_slice(label.as_bytes());
    for f in fields {
        out.push(0);
        out.extend_from_slice(f);
    }
    out.push(0);
    out.extend_from_slice(last);
    out
}

/// 16 random bytes as base64url (identifiers, nonces).
pub fn random_id() -> crate::Result<String> {
    Ok(b64(crate::crypto::random_bytes(16)?.expose()))
}

/// Checks a 22-character identifier (16 bytes).
pub fn check_id(text: &str, field: &'static str) -> Result<(), ProtocolError> {
    unb64_len(text, 16, field).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictness() {
        assert_eq!(unb64("AQ", "x").unwrap(), vec![1]);
        assert!(unb64("AR", "x").is_err(), "non-zero trailing bits");
        assert!(unb64("AQ==", "x").is_err(), "padding");
        assert!(unb64("A Q", "x").is_err());
        assert!(unb64("A", "x").is_err());
        assert_eq!(
            b64(&crate::crypto::sha256(b"")),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }
}
