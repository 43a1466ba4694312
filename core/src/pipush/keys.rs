//! The RSA keys of a privacyIDEA push token: the device's signing key (made here, 4096 bits,
//! as the official app does) and the server's verification key (received at registration).
//! Every signature in both directions is RSASSA-PKCS1-v1_5 with SHA-256 over a UTF-8 string,
//! encoded as RFC 4648 base32 with padding.

use crate::openpush::ProtocolError;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::sha2::Sha256;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Verifier};
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

/// Size of the device keys made here (the official app's; privacyIDEA accepts any RSA size).
pub const KEY_BITS: usize = 4096;
/// Smallest server key accepted.
const MIN_SERVER_BITS: usize = 2048;
/// Longest encoded signature read (RSA-8192 is 1,640 base32 characters).
const MAX_SIGNATURE_CHARS: usize = 2048;

/// The device's private key (in the vault, sealed; never leaves the device).
pub struct DeviceKey(SigningKey<Sha256>);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(<redacted>)")
    }
}

impl DeviceKey {
    /// Makes a new RSA-4096 key from the OS random source. Takes seconds: call it off the UI
    /// thread.
    pub fn generate() -> Result<Self, ProtocolError> {
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, KEY_BITS)
            .map_err(|_| ProtocolError::invalid("device key", "RSA key generation failed"))?;
        Ok(Self(SigningKey::new(key)))
    }

    /// Reads a key stored with [`DeviceKey::to_pkcs8_der`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, ProtocolError> {
        SigningKey::<Sha256>::from_pkcs8_der(der)
            .map(Self)
            .map_err(|_| ProtocolError::invalid("device key", "not a PKCS#8 RSA key"))
    }

    /// The key as PKCS#8 DER (zeroized on drop), for the vault.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, ProtocolError> {
        self.0
            .to_pkcs8_der()
            .map(|doc| Zeroizing::new(doc.as_bytes().to_vec()))
            .map_err(|_| ProtocolError::invalid("device key", "cannot be encoded"))
    }

    /// The public key as privacyIDEA wants it at registration: base64 (standard, padded) of
    /// the DER SubjectPublicKeyInfo.
    pub fn public_spki_b64(&self) -> Result<String, ProtocolError> {
        let public = rsa::PublicKey::from(self.0.as_ref());
        let der = public
            .to_public_key_der()
            .map_err(|_| ProtocolError::invalid("device key", "cannot be encoded"))?;
        Ok(data_encoding::BASE64.encode(der.as_bytes()))
    }

    /// Signs `message` (RSASSA-PKCS1-v1_5, SHA-256, blinded) and encodes it as padded base32.
    pub fn sign(&self, message: &str) -> Result<String, ProtocolError> {
        let sig = self
            .0
            .try_sign_with_rng(&mut getrandom::SysRng, message.as_bytes())
            .map_err(|_| ProtocolError::invalid("device key", "signing failed"))?;
        Ok(data_encoding::BASE32.encode(&sig.to_vec()))
    }
}

/// The server's public key for one token.
#[derive(Clone, Debug)]
pub struct ServerKey(VerifyingKey<Sha256>);

impl ServerKey {
    /// Reads the `public_key` of the registration response: base64 of a PKCS#1 RSAPublicKey,
    /// possibly with PEM line breaks and no header.
    pub fn from_pkcs1_b64(text: &str) -> Result<Self, ProtocolError> {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if compact.len() > 4096 {
            return Err(ProtocolError::invalid("public_key", "longer than 4 KiB"));
        }
        let der = data_encoding::BASE64
            .decode(compact.as_bytes())
            .map_err(|_| ProtocolError::invalid("public_key", "not base64"))?;
        let key = rsa::PublicKey::from_pkcs1_der(&der)
            .map_err(|_| ProtocolError::invalid("public_key", "not a PKCS#1 RSA public key"))?;
        if key.size() * 8 < MIN_SERVER_BITS {
            return Err(ProtocolError::invalid(
                "public_key",
                "an RSA key shorter than 2048 bits",
            ));
        }
        Ok(Self(VerifyingKey::new(key)))
    }

    /// The key as stored in the vault (base64 of PKCS#1 DER, no line breaks).
    pub fn to_pkcs1_b64(&self) -> Result<String, ProtocolError> {
        self.0
            .as_ref()
            .to_pkcs1_der()
            .map(|der| data_encoding::BASE64.encode(der.as_bytes()))
            .map_err(|_| ProtocolError::invalid("public_key", "cannot be encoded"))
    }

    /// Checks a padded-base32 PKCS#1 v1.5 / SHA-256 signature over `message`.
    pub fn verify(
        &self,
        message: &str,
        signature_b32: &str,
        what: &'static str,
    ) -> Result<(), ProtocolError> {
        if signature_b32.len() > MAX_SIGNATURE_CHARS {
            return Err(ProtocolError::invalid("signature", "too long"));
        }
        let bad = || ProtocolError::BadSignature { what };
        let bytes = data_encoding::BASE32
            .decode(signature_b32.as_bytes())
            .map_err(|_| bad())?;
        let sig = Signature::try_from(bytes.as_slice()).map_err(|_| bad())?;
        self.0.verify(message.as_bytes(), &sig).map_err(|_| bad())
    }
}
