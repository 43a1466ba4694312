//! HMAC over the three hash functions OATH uses, with the key schedule computed once.
//!
//! OATH HMACs use RustCrypto's `hmac`/`sha1`/`sha2` (the crates totp-rs builds on) rather than
//! `ring`: their SHA-1 uses the CPU's SHA extensions where present, `ring`'s is portable code
//! about three times slower, and an account list recomputes every code each step. The
//! measurement is in `core/benches/otp_codes.rs` and the decision in docs/adr/0001-oath-hmac.md.

use hmac::{Hmac, KeyInit, Mac};

/// The hash function inside an HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HmacAlgorithm {
    /// HMAC-SHA-1 (RFC 2104 with SHA-1), the OATH default.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

#[derive(Clone)]
enum State {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha512(Hmac<sha2::Sha512>),
}

/// A prepared HMAC key: the inner and outer pads are hashed once at construction, so each
/// signature afterwards costs two compression-function calls for a short message.
///
/// `Debug` shows only the algorithm.
#[derive(Clone)]
pub struct HmacKey {
    state: State,
}

impl HmacKey {
    /// Prepares `secret` for signing with `algorithm`. HMAC accepts keys of any length.
    pub fn new(algorithm: HmacAlgorithm, secret: &[u8]) -> Self {
        // `new_from_slice` only fails for MACs with fixed key sizes; HMAC takes any length,
        // and an empty key is refused earlier (OtpError::EmptySecret). The fallback keeps
        // this total without a panic path.
        let state = match algorithm {
            HmacAlgorithm::Sha1 => State::Sha1(
                Hmac::new_from_slice(secret).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
            HmacAlgorithm::Sha256 => State::Sha256(
                Hmac::new_from_slice(secret).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
            HmacAlgorithm::Sha512 => State::Sha512(
                Hmac::new_from_slice(secret).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
        };
        Self { state }
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> HmacAlgorithm {
        match self.state {
            State::Sha1(_) => HmacAlgorithm::Sha1,
            State::Sha256(_) => HmacAlgorithm::Sha256,
            State::Sha512(_) => HmacAlgorithm::Sha512,
        }
    }

    /// Computes the HMAC of `message` and hands the tag to `f` (the tag stays on the stack).
    pub fn with_tag<R>(&self, message: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
        match &self.state {
            State::Sha1(m) => f(&m.clone().chain_update(message).finalize().into_bytes()),
            State::Sha256(m) => f(&m.clone().chain_update(message).finalize().into_bytes()),
            State::Sha512(m) => f(&m.clone().chain_update(message).finalize().into_bytes()),
        }
    }
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacKey")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(key: &HmacKey, msg: &[u8]) -> String {
        key.with_tag(msg, |t| t.iter().map(|b| format!("{b:02x}")).collect())
    }

    #[test]
    fn rfc2202_and_rfc4231_case_2() {
        let msg = b"what do ya want for nothing?";
        assert_eq!(
            hex(&HmacKey::new(HmacAlgorithm::Sha1, b"Jefe"), msg),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex(&HmacKey::new(HmacAlgorithm::Sha256, b"Jefe"), msg),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(
            hex(&HmacKey::new(HmacAlgorithm::Sha512, b"Jefe"), msg).starts_with("164b7a7bfcf819e2")
        );
    }

    #[test]
    fn prepared_key_is_reusable() {
        let key = HmacKey::new(HmacAlgorithm::Sha1, b"Jefe");
        assert_eq!(hex(&key, b"a"), hex(&key, b"a"));
        assert_ne!(hex(&key, b"a"), hex(&key, b"b"));
    }
}
