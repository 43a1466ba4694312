//! What goes inside an account's sealed blob, and the associated data that pins a blob to its
//! vault, purpose and row.
//!
//! The payload is versioned JSON (zeroized after use). Plaintext columns hold only what the
//! account list shows while the vault is locked; everything that could produce a code or
//! answer a sign-in is here.

use super::error::AccountId;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Associated-data prefix; changes with the blob layout.
const AAD_PREFIX: &[u8] = b"countersign/vault/v1";

/// What a sealed blob is for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// The `meta.key_check` value that proves an unwrapped key is this vault's.
    KeyCheck,
    /// An account's secret payload.
    AccountSecret,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::KeyCheck => b"key-check",
            Self::AccountSecret => b"account-secret",
        }
    }
}

/// `prefix ‖ 0 ‖ vault id ‖ 0 ‖ purpose ‖ 0 ‖ row id (i64 BE)`: a blob opens only in the vault,
/// column and row it was sealed for.
pub fn aad(vault_id: &[u8], purpose: Purpose, row: AccountId) -> Vec<u8> {
    let mut a = Vec::with_capacity(AAD_PREFIX.len() + vault_id.len() + 32);
    a.extend_from_slice(AAD_PREFIX);
    a.push(0);
    a.extend_from_slice(vault_id);
    a.push(0);
    a.extend_from_slice(purpose.label());
    a.push(0);
    a.extend_from_slice(&row.to_be_bytes());
    a
}

/// The secret part of an account. Externally tagged (`{"oath": {...}}`) so serde parses it in
/// one pass, without buffering secret strings in intermediate values.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sealed {
    /// An OATH account: its URI (as given, so nothing is lost) and the HOTP counter.
    Oath {
        /// The `otpauth://` URI, original text when there was one.
        uri: Zeroizing<String>,
        /// The next HOTP counter (authoritative over the URI's `counter`).
        counter: Option<u64>,
        /// The parameters already decoded, so the account list does not re-parse every URI
        /// each second (absent in payloads written before it existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        params: Option<OathParams>,
    },
    /// An openpush/1 account (docs/protocol.md): keys, pin, seed and state.
    Openpush(OpenpushSecret),
}

/// What the account list reads from a sealed payload: the counter and decoded parameters,
/// with the URI skipped rather than copied.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListView {
    /// An OATH payload.
    Oath {
        /// HOTP counter.
        counter: Option<u64>,
        /// Decoded parameters, when the payload has them.
        #[serde(default)]
        params: Option<OathParams>,
    },
    /// Any other payload.
    Openpush(serde::de::IgnoredAny),
}

impl ListView {
    /// Parses the list's view of a payload; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let env: Envelope<ListView> = serde_json::from_slice(bytes).ok()?;
        (env.v == VERSION).then_some(env.body)
    }
}

/// Decoded OATH parameters (the URI stays the lossless record).
#[derive(Serialize, Deserialize, Clone)]
pub struct OathParams {
    /// Base32 secret, canonical.
    pub secret: Zeroizing<String>,
    /// `totp`, `hotp` or `steam`.
    pub kind: String,
    /// Step in seconds (time-based kinds).
    pub period: u64,
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    /// Code length.
    pub digits: u8,
}

impl OathParams {
    /// The parameters of `account`.
    pub fn of(account: &crate::uri::OtpAccount) -> Self {
        use crate::otp::OtpKind;
        let (kind, period) = match account.kind() {
            OtpKind::Totp { period } => ("totp", period),
            OtpKind::Hotp { .. } => ("hotp", 0),
            OtpKind::Steam { period } => ("steam", period),
        };
        Self {
            secret: crate::uri::encode_base32_secret(account.secret()),
            kind: kind.into(),
            period,
            algorithm: account.algorithm().uri_name().into(),
            digits: account.digits(),
        }
    }

    /// Rebuilds an account (no URI parsing); `None` if anything is out of range.
    pub fn account(
        &self,
        issuer: Option<String>,
        name: String,
        counter: Option<u64>,
    ) -> Option<crate::uri::OtpAccount> {
        use crate::otp::{Algorithm, OtpKind};
        let kind = match self.kind.as_str() {
            "totp" => OtpKind::Totp {
                period: self.period,
            },
            "steam" => OtpKind::Steam {
                period: self.period,
            },
            "hotp" => OtpKind::Hotp {
                counter: counter.unwrap_or(0),
            },
            _ => return None,
        };
        let algorithm = match self.algorithm.as_str() {
            "SHA1" => Algorithm::Sha1,
            "SHA256" => Algorithm::Sha256,
            "SHA512" => Algorithm::Sha512,
            _ => return None,
        };
        let secret = crate::uri::decode_base32_secret(&self.secret).ok()?;
        crate::uri::OtpAccount::new(kind, algorithm, self.digits, secret, issuer, name).ok()
    }
}

/// Everything secret or integrity-critical about an openpush/1 account.
#[derive(Serialize, Deserialize, Clone)]
pub struct OpenpushSecret {
    /// The server's base URL `B` (the only host this account ever contacts).
    pub base_url: String,
    /// Whether `B` was accepted under the loopback test flag.
    #[serde(default)]
    pub allow_loopback: bool,
    /// The server's account id.
    pub account_id: String,
    /// The pinned Ed25519 server key (base64url).
    pub server_key: String,
    /// The software device key (PKCS#8, base64url), when no platform signer holds it.
    pub device_key_pkcs8: Option<Zeroizing<String>>,
    /// The device public key (base64url SEC1).
    pub device_public: String,
    /// The platform signer's alias for the device key, when the platform holds it.
    #[serde(default)]
    pub device_key_alias: Option<String>,
    /// The offline OATH seed (base64url, 20 bytes).
    pub seed: Zeroizing<String>,
    /// `pending` or `active`.
    pub state: String,
    /// Deadline for confirming a pending account.
    pub confirm_by: u64,
    /// Server time minus local time, from the last fresh signed response (§7).
    pub clock_offset: i64,
    /// Push provider registered (`none` for poll-only).
    pub push_provider: String,
}

/// Payload format version.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u32,
    body: T,
}

impl Sealed {
    /// Serialises to bytes that are zeroized when dropped.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, serde_json::Error> {
        serde_json::to_vec(&Envelope {
            v: VERSION,
            body: self,
        })
        .map(Zeroizing::new)
    }

    /// Parses bytes made by [`Sealed::to_bytes`]; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let env: Envelope<Sealed> = serde_json::from_slice(bytes).ok()?;
        (env.v == VERSION).then_some(env.body)
    }
}
