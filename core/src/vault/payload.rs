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
    },
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
