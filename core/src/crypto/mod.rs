//! Cryptographic primitives, kept in one place.
//!
//! This is the only module that imports `ring`. Everything else asks it for HMACs, sealed blobs,
//! random bytes or signatures, so that the choice of primitives and the handling of key material
//! can be reviewed in one spot. Key material lives in [`SecretBytes`], which zeroizes on drop and
//! never prints its contents.

mod aead;
mod hmac;
mod kdf;
mod portable;
mod secret;
mod sign;

pub use aead::{DATA_KEY_LEN, DataKey, OpenError, SEALED_VERSION};
pub use hmac::{HmacAlgorithm, HmacKey};
pub use kdf::{Argon2Cost, argon2id};
pub use portable::{
    GCM_NONCE_LEN, GCM_TAG_LEN, aes256gcm_open, aes256gcm_seal, pbkdf2_sha256, scrypt32,
};
pub use secret::SecretBytes;
pub use sign::{
    Ed25519Signer, Es256Signer, X25519Ephemeral, der_to_fixed, ed25519_verify, es256_verify,
    es256_verify_der, hkdf_sha256, hmac_sha256, sha256,
};

use crate::{Error, Result};
use ring::rand::{SecureRandom, SystemRandom};

/// Fills a new buffer of `len` bytes from the operating system's CSPRNG.
pub fn random_bytes(len: usize) -> Result<SecretBytes> {
    let mut buf = vec![0u8; len];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| Error::Crypto("the system random number generator failed"))?;
    Ok(SecretBytes::new(buf))
}

/// Compares two byte strings in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
