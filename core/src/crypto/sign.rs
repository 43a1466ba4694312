//! Signatures, key agreement and key derivation for the push protocols: Ed25519 (server keys),
//! ECDSA P-256 / ES256 (device keys), X25519 and HKDF-SHA256 (the offline OATH seed), SHA-256
//! and HMAC-SHA256. Thin, typed wrappers over `ring`.

use super::SecretBytes;
use crate::{Error, Result};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let tag = ring::hmac::sign(&k, msg);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Verifies an Ed25519 signature (32-byte public key, 64-byte signature).
pub fn ed25519_verify(public: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    public.len() == 32
        && signature::UnparsedPublicKey::new(&signature::ED25519, public)
            .verify(msg, sig)
            .is_ok()
}

/// Verifies an ES256 signature in fixed `r ‖ s` form against an uncompressed SEC1 P-256 key.
pub fn es256_verify(public_sec1: &[u8], msg: &[u8], sig_fixed: &[u8]) -> bool {
    public_sec1.len() == 65
        && sig_fixed.len() == 64
        && signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public_sec1)
            .verify(msg, sig_fixed)
            .is_ok()
}

/// Verifies an ES256 signature in ASN.1 DER form (what Android Keystore and the Secure Enclave
/// return).
pub fn es256_verify_der(public_sec1: &[u8], msg: &[u8], sig_der: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, public_sec1)
        .verify(msg, sig_der)
        .is_ok()
}

/// An Ed25519 signing key (the reference server's).
pub struct Ed25519Signer(Ed25519KeyPair);

impl Ed25519Signer {
    /// From a 32-byte seed.
    pub fn from_seed(seed: &SecretBytes) -> Result<Self> {
        Ed25519KeyPair::from_seed_unchecked(seed.expose())
            .map(Self)
            .map_err(|_| Error::Crypto("an Ed25519 seed must be 32 bytes"))
    }

    /// A fresh random key, returned with its seed (to store).
    pub fn generate() -> Result<(Self, SecretBytes)> {
        let seed = super::random_bytes(32)?;
        Ok((Self::from_seed(&seed)?, seed))
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.public_key().as_ref());
        out
    }

    /// Signs `msg` (64-byte signature).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.0.sign(msg).as_ref().to_vec()
    }
}

/// A software ES256 (P-256) key, stored as PKCS#8 inside the vault's sealed data.
pub struct Es256Signer {
    pair: EcdsaKeyPair,
    pkcs8: SecretBytes,
}

impl Es256Signer {
    /// A fresh random key.
    pub fn generate() -> Result<Self> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| Error::Crypto("P-256 key generation failed"))?;
        Self::from_pkcs8(SecretBytes::from_slice(doc.as_ref()))
    }

    /// From a PKCS#8 document made by [`Es256Signer::generate`].
    pub fn from_pkcs8(pkcs8: SecretBytes) -> Result<Self> {
        let pair = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8.expose(),
            &SystemRandom::new(),
        )
        .map_err(|_| Error::Crypto("not a P-256 PKCS#8 key"))?;
        Ok(Self { pair, pkcs8 })
    }

    /// The PKCS#8 document (to seal in the vault).
    pub fn pkcs8(&self) -> &SecretBytes {
        &self.pkcs8
    }

    /// The 65-byte uncompressed public key.
    pub fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// Signs `msg` with SHA-256; the signature is fixed 64-byte `r ‖ s`.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        self.pair
            .sign(&SystemRandom::new(), msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| Error::Crypto("ECDSA signing failed"))
    }
}

impl std::fmt::Debug for Es256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Es256Signer(<private key redacted>)")
    }
}

/// Converts a DER ECDSA signature (`SEQUENCE { INTEGER r, INTEGER s }`) to fixed 64-byte
/// `r ‖ s`. Strict: minimal lengths, positive integers, nothing trailing. `None` if malformed.
pub fn der_to_fixed(der: &[u8]) -> Option<[u8; 64]> {
    fn int(input: &[u8]) -> Option<(&[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let len = usize::from(len);
        if tag != 0x02 || len == 0 || len > 33 || rest.len() < len {
            return None;
        }
        let (v, rest) = rest.split_at(len);
        // Positive and minimally encoded.
        if v[0] & 0x80 != 0 || (len > 1 && v[0] == 0 && v[1] & 0x80 == 0) {
            return None;
        }
        let v = if v[0] == 0 && len > 1 { &v[1..] } else { v };
        (v.len() <= 32).then_some((v, rest))
    }
    let (&tag, rest) = der.split_first()?;
    let (&len, body) = rest.split_first()?;
    if tag != 0x30 || len & 0x80 != 0 || usize::from(len) != body.len() {
        return None;
    }
    let (r, rest) = int(body)?;
    let (s, rest) = int(rest)?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = [0u8; 64];
    out[32 - r.len()..32].copy_from_slice(r);
    out[64 - s.len()..].copy_from_slice(s);
    Some(out)
}

/// An ephemeral X25519 key for the offline-seed agreement.
pub struct X25519Ephemeral {
    private: ring::agreement::EphemeralPrivateKey,
    public: [u8; 32],
}

impl X25519Ephemeral {
    /// A fresh key.
    pub fn generate() -> Result<Self> {
        let private = ring::agreement::EphemeralPrivateKey::generate(
            &ring::agreement::X25519,
            &SystemRandom::new(),
        )
        .map_err(|_| Error::Crypto("X25519 key generation failed"))?;
        let mut public = [0u8; 32];
        public.copy_from_slice(
            private
                .compute_public_key()
                .map_err(|_| Error::Crypto("X25519 public key failed"))?
                .as_ref(),
        );
        Ok(Self { private, public })
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// The shared secret with `peer` (consumes the key). Rejects an all-zero result (a
    /// low-order peer key).
    pub fn agree(self, peer: &[u8]) -> Result<SecretBytes> {
        let peer = ring::agreement::UnparsedPublicKey::new(&ring::agreement::X25519, peer);
        let z = ring::agreement::agree_ephemeral(self.private, &peer, SecretBytes::from_slice)
            .map_err(|_| Error::Crypto("X25519 agreement failed"))?;
        if z.expose().iter().all(|b| *b == 0) {
            return Err(Error::Crypto("X25519 produced an all-zero secret"));
        }
        Ok(z)
    }
}

/// HKDF-SHA256 (RFC 5869) expanding to `len` bytes (≤ 255 × 32).
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], len: usize) -> Result<SecretBytes> {
    struct Len(usize);
    impl ring::hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    let okm = prk
        .expand(&info, Len(len))
        .map_err(|_| Error::Crypto("HKDF output too long"))?;
    let mut out = vec![0u8; len];
    okm.fill(&mut out)
        .map_err(|_| Error::Crypto("HKDF output too long"))?;
    Ok(SecretBytes::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test1_public_key() {
        let seed = SecretBytes::new(
            data_encoding::HEXLOWER
                .decode(b"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap(),
        );
        let k = Ed25519Signer::from_seed(&seed).unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&k.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = k.sign(b"");
        assert!(ed25519_verify(&k.public_key(), b"", &sig));
        assert!(!ed25519_verify(&k.public_key(), b"x", &sig));
    }

    #[test]
    fn es256_sign_verify_and_der() {
        let k = Es256Signer::generate().unwrap();
        let sig = k.sign(b"hello").unwrap();
        assert!(es256_verify(&k.public_key(), b"hello", &sig));
        assert!(!es256_verify(&k.public_key(), b"hellO", &sig));
        let again = Es256Signer::from_pkcs8(k.pkcs8().duplicate()).unwrap();
        assert_eq!(again.public_key(), k.public_key());
    }

    #[test]
    fn der_conversion_is_strict() {
        // r = 1, s = 0x80 (needs a leading zero in DER).
        let der = [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80];
        let fixed = der_to_fixed(&der).unwrap();
        assert_eq!(fixed[31], 1);
        assert_eq!(fixed[63], 0x80);
        assert!(
            der_to_fixed(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x80]).is_none(),
            "negative"
        );
        assert!(
            der_to_fixed(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]).is_none(),
            "non-minimal"
        );
        assert!(
            der_to_fixed(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]).is_none(),
            "trailing"
        );
        assert!(der_to_fixed(&[]).is_none());
    }

    #[test]
    fn x25519_agreement_matches() {
        let a = X25519Ephemeral::generate().unwrap();
        let b = X25519Ephemeral::generate().unwrap();
        let (pa, pb) = (a.public_key(), b.public_key());
        assert_eq!(a.agree(&pb).unwrap(), b.agree(&pa).unwrap());
        let c = X25519Ephemeral::generate().unwrap();
        assert!(c.agree(&[0u8; 32]).is_err(), "low-order point");
    }

    #[test]
    fn hkdf_rfc5869_case_1() {
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0u8..=0x0c).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let okm = hkdf_sha256(&salt, &ikm, &info, 42).unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(okm.expose()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }
}
