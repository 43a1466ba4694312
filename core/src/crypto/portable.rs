//! Ciphers and key derivations of portable files: our encrypted backup and the foreign export
//! formats we import (Aegis, 2FAS). Here, and not in the importers, so that `ring` and every
//! KDF stay inside the crypto module.
//!
//! Unlike [`super::DataKey`], these take the nonce from the file (it is part of the format),
//! and every derived key comes back as [`SecretBytes`].

use super::SecretBytes;
use crate::{Error, Result};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

/// AES-GCM nonce length (96 bits).
pub const GCM_NONCE_LEN: usize = NONCE_LEN;
/// AES-GCM tag length (128 bits).
pub const GCM_TAG_LEN: usize = 16;

fn gcm_key(key: &[u8]) -> Result<LessSafeKey> {
    let unbound = UnboundKey::new(&AES_256_GCM, key)
        .map_err(|_| Error::Crypto("an AES-256 key must be 32 bytes"))?;
    Ok(LessSafeKey::new(unbound))
}

/// AES-256-GCM decryption of `ciphertext ‖ tag` under `key` with the file's `nonce`.
/// `None` when the nonce or key has the wrong length or authentication fails (wrong key,
/// wrong associated data, modified bytes): GCM cannot tell these apart.
pub fn aes256gcm_open(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Option<SecretBytes> {
    let key = gcm_key(key).ok()?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    if ciphertext_and_tag.len() < GCM_TAG_LEN {
        return None;
    }
    let mut buf = ciphertext_and_tag.to_vec();
    match key.open_in_place(nonce, Aad::from(aad), &mut buf) {
        Ok(plain) => {
            let n = plain.len();
            buf.truncate(n);
            Some(SecretBytes::new(buf))
        }
        Err(_) => {
            // The buffer holds unauthenticated plaintext-sized garbage; wipe it anyway.
            drop(Zeroizing::new(buf));
            None
        }
    }
}

/// AES-256-GCM encryption: returns `ciphertext ‖ tag`. The caller supplies a fresh random
/// nonce (from [`super::random_bytes`]) and stores it in the file.
pub fn aes256gcm_seal(
    key: &[u8],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let key = gcm_key(key)?;
    let mut buf = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut buf,
        )
        .map_err(|_| Error::Crypto("AES-GCM sealing failed"))?;
    buf.extend_from_slice(tag.as_ref());
    Ok(buf)
}

/// PBKDF2-HMAC-SHA256 with `iterations` rounds, `len` bytes out.
pub fn pbkdf2_sha256(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Result<SecretBytes> {
    let rounds = std::num::NonZeroU32::new(iterations)
        .ok_or(Error::Crypto("PBKDF2 needs at least one iteration"))?;
    let mut out = vec![0u8; len];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        salt,
        password,
        &mut out,
    );
    Ok(SecretBytes::new(out))
}

/// scrypt (RFC 7914) with cost `2^log_n`, block size `r` and parallelism `p`; 32 bytes out.
/// The caller bounds the parameters first: memory is `128 · r · 2^log_n` bytes.
pub fn scrypt32(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<SecretBytes> {
    let params = scrypt::Params::new(log_n, r, p)
        .map_err(|_| Error::Crypto("scrypt parameters out of range"))?;
    let mut out = vec![0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut out)
        .map_err(|_| Error::Crypto("scrypt derivation failed"))?;
    Ok(SecretBytes::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcm_round_trip_and_failures() {
        let key = [7u8; 32];
        let nonce = [1u8; 12];
        let ct = aes256gcm_seal(&key, &nonce, b"aad", b"hello").unwrap();
        assert_eq!(ct.len(), 5 + GCM_TAG_LEN);
        let pt = aes256gcm_open(&key, &nonce, b"aad", &ct).unwrap();
        assert_eq!(pt.expose(), b"hello");
        assert!(aes256gcm_open(&key, &nonce, b"other", &ct).is_none());
        assert!(aes256gcm_open(&[8u8; 32], &nonce, b"aad", &ct).is_none());
        assert!(aes256gcm_open(&key, &nonce[..11], b"aad", &ct).is_none());
        assert!(aes256gcm_open(&key[..16], &nonce, b"aad", &ct).is_none());
        assert!(aes256gcm_open(&key, &nonce, b"aad", &ct[..10]).is_none());
    }

    #[test]
    fn kdf_vectors() {
        // RFC 7914 §12, second vector (N = 1024, r = 8, p = 16), first 32 bytes.
        let k = scrypt32(b"password", b"NaCl", 10, 8, 16).unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(k.expose()),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
        );
        // RFC 7914 §11 (PBKDF2-HMAC-SHA256, c = 1), first 32 bytes.
        let k = pbkdf2_sha256(b"passwd", b"salt", 1, 32).unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(k.expose()),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
        assert!(pbkdf2_sha256(b"p", b"s", 0, 32).is_err());
    }
}
