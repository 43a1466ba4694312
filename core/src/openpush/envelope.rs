//! §2.3–2.5: server keys, fingerprints and the signed envelope.

use super::ProtocolError;
use super::encoding::{b64, labelled, unb64, unb64_len};
use crate::crypto::{Ed25519Signer, ed25519_verify, sha256};
use serde::{Deserialize, Serialize};

/// Largest decoded envelope payload (§14).
pub const MAX_PAYLOAD: usize = 16 * 1024;

/// A server's Ed25519 public key, as pinned at activation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKey([u8; 32]);

impl ServerKey {
    /// From raw bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, ProtocolError> {
        let arr: [u8; 32] = b
            .try_into()
            .map_err(|_| ProtocolError::invalid("server_key", "must be 32 bytes"))?;
        Ok(Self(arr))
    }

    /// From base64url.
    pub fn from_b64(text: &str) -> Result<Self, ProtocolError> {
        Self::from_bytes(&unb64_len(text, 32, "server_key")?)
    }

    /// Raw bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `SHA-256(pub)`.
    pub fn fingerprint(&self) -> [u8; 32] {
        sha256(&self.0)
    }

    /// `base64url(fp[0..16])`.
    pub fn kid(&self) -> String {
        b64(&self.fingerprint()[..16])
    }

    /// base64url of the key.
    pub fn to_b64(&self) -> String {
        b64(&self.0)
    }
}

/// A signed server object (§2.4). Unknown members are ignored; duplicates are rejected by the
/// JSON parser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Always 1.
    pub v: u32,
    /// Object type (§2.5).
    pub typ: String,
    /// Always "Ed25519".
    pub alg: String,
    /// Signing key id.
    pub kid: String,
    /// base64url of the signed JSON bytes.
    pub payload: String,
    /// base64url Ed25519 signature.
    pub sig: String,
    /// Only on `activate-response`: the server's public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_key: Option<String>,
}

impl Envelope {
    /// Signs `payload` as `typ` (server side).
    pub fn sign(key: &Ed25519Signer, typ: &str, payload: &[u8]) -> Self {
        let kid = ServerKey(key.public_key()).kid();
        let sig = key.sign(&labelled(
            "openpush/1 server-envelope",
            &[typ.as_bytes()],
            payload,
        ));
        Self {
            v: 1,
            typ: typ.into(),
            alg: "Ed25519".into(),
            kid,
            payload: b64(payload),
            sig: b64(&sig),
            server_key: None,
        }
    }

    /// Checklist steps 3–5 (§10.1): version, algorithm, type, key id, then the signature over
    /// the exact payload bytes; returns those bytes for parsing.
    pub fn verify(&self, expected_typ: &str, key: &ServerKey) -> Result<Vec<u8>, ProtocolError> {
        if self.v != 1 {
            return Err(ProtocolError::invalid("v", "must be 1"));
        }
        if self.alg != "Ed25519" {
            return Err(ProtocolError::invalid("alg", "must be Ed25519"));
        }
        if self.typ != expected_typ {
            return Err(ProtocolError::invalid(
                "typ",
                format!("expected {expected_typ}"),
            ));
        }
        if self.kid != key.kid() {
            return Err(ProtocolError::invalid("kid", "not the pinned server key"));
        }
        let payload = unb64(&self.payload, "payload")?;
        if payload.len() > MAX_PAYLOAD {
            return Err(ProtocolError::invalid("payload", "larger than 16 KiB"));
        }
        let sig = unb64_len(&self.sig, 64, "sig")?;
        let msg = labelled(
            "openpush/1 server-envelope",
            &[self.typ.as_bytes()],
            &payload,
        );
        if !ed25519_verify(key.bytes(), &msg, &sig) {
            return Err(ProtocolError::BadSignature { what: "server" });
        }
        Ok(payload)
    }
}
