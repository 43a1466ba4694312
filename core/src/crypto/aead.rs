//! Sealing small secrets with AES-256-GCM under a data key.
//!
//! A sealed blob is `version (1 byte) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`. The
//! nonce is random (96 bits from the OS CSPRNG); the vault seals at most a few thousand blobs
//! over its life, far below the 2^32 messages at which random GCM nonces become a concern. The
//! caller supplies associated data that names what the blob is and where it lives, so a blob
//! copied to another row or purpose fails to open.

use super::SecretBytes;
use crate::{Error, Result};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Format version of sealed blobs written today.
pub const SEALED_VERSION: u8 = 1;
/// Length of a data key in bytes (AES-256).
pub const DATA_KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// Why a blob did not open. Deliberately coarse: GCM cannot tell a wrong key from a modified
/// blob, and saying more would help an attacker more than a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Too short, or a version this build does not know.
    #[error("the sealed data is malformed")]
    Malformed,
    /// Authentication failed: wrong key, wrong associated data, or modified bytes.
    #[error("the sealed data failed authentication")]
    Unauthentic,
}

/// A 256-bit data key with its AES key schedule. Built from [`SecretBytes`]; the raw bytes
/// are kept only as long as this value lives and are zeroized with it.
pub struct DataKey {
    raw: SecretBytes,
    key: LessSafeKey,
}

impl DataKey {
    /// A fresh random data key.
    pub fn generate() -> Result<Self> {
        Self::from_secret(super::random_bytes(DATA_KEY_LEN)?)
    }

    /// Wraps existing key bytes (must be 32 bytes).
    pub fn from_secret(raw: SecretBytes) -> Result<Self> {
        let unbound = UnboundKey::new(&AES_256_GCM, raw.expose())
            .map_err(|_| Error::Crypto("a data key must be 32 bytes"))?;
        Ok(Self {
            raw,
            key: LessSafeKey::new(unbound),
        })
    }

    /// The raw key bytes, for wrapping by a key store.
    pub fn expose(&self) -> &SecretBytes {
        &self.raw
    }

    /// Encrypts `plaintext`, binding it to `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| Error::Crypto("the system random number generator failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(SEALED_VERSION);
        out.extend_from_slice(&nonce);
        let mut body = Zeroizing::new(plaintext.to_vec());
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .map_err(|_| Error::Crypto("AES-GCM sealing failed"))?;
        out.extend_from_slice(&body);
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts a blob made by [`DataKey::seal`] with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<SecretBytes, OpenError> {
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let (version, rest) = sealed.split_at(1);
        if version != [SEALED_VERSION] {
            return Err(OpenError::Malformed);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Malformed)?;
        let mut buf = body.to_vec();
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| OpenError::Unauthentic)?
            .len();
        buf.truncate(plain_len);
        Ok(SecretBytes::new(buf))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let k = DataKey::generate().unwrap();
        let blob = k.seal(b"row 1", b"secret").unwrap();
        assert_eq!(k.open(b"row 1", &blob).unwrap().expose(), b"secret");
        assert_eq!(k.open(b"row 2", &blob), Err(OpenError::Unauthentic));
        let other = DataKey::generate().unwrap();
        assert_eq!(other.open(b"row 1", &blob), Err(OpenError::Unauthentic));
        let mut flipped = blob.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(k.open(b"row 1", &flipped), Err(OpenError::Unauthentic));
        assert_eq!(k.open(b"row 1", &blob[..10]), Err(OpenError::Malformed));
        let mut v2 = blob.clone();
        v2[0] = 2;
        assert_eq!(k.open(b"row 1", &v2), Err(OpenError::Malformed));
    }

    #[test]
    fn nonces_differ() {
        let k = DataKey::generate().unwrap();
        assert_ne!(k.seal(b"", b"x").unwrap(), k.seal(b"", b"x").unwrap());
    }
}
