//! HMAC over the three hash functions OATH uses, with the key schedule computed once.

use ring::hmac;

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

impl HmacAlgorithm {
    fn ring(self) -> hmac::Algorithm {
        match self {
            Self::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// A prepared HMAC key: the inner and outer pads are hashed once at construction, so each
/// signature afterwards costs two compression-function calls for a short message.
///
/// `ring` keeps the derived state opaque; it is dropped with this value. `Debug` shows only the
/// algorithm.
pub struct HmacKey {
    algorithm: HmacAlgorithm,
    key: hmac::Key,
}

impl HmacKey {
    /// Prepares `secret` for signing with `algorithm`.
    pub fn new(algorithm: HmacAlgorithm, secret: &[u8]) -> Self {
        Self {
            algorithm,
            key: hmac::Key::new(algorithm.ring(), secret),
        }
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> HmacAlgorithm {
        self.algorithm
    }

    /// Computes the HMAC of `message` and hands the tag to `f` (the tag stays on the stack).
    pub fn with_tag<R>(&self, message: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
        let tag = hmac::sign(&self.key, message);
        f(tag.as_ref())
    }
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2202_sha1_case_2() {
        let key = HmacKey::new(HmacAlgorithm::Sha1, b"Jefe");
        let hex = key.with_tag(b"what do ya want for nothing?", |t| {
            t.iter().map(|b| format!("{b:02x}")).collect::<String>()
        });
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }
}
