//! What the core needs from the device, as traits the shells implement.
//!
//! The core never holds a key-encryption key of its own: a [`KeyStore`] wraps and unwraps the
//! vault's data key, and on a phone the key that does this lives in the Android Keystore or the
//! iOS Keychain / Secure Enclave and never leaves it. Desktop builds get implementations here:
//! [`PassphraseKeyStore`] (Argon2id, for headless machines and scripted QA), the OS credential
//! store through the `keyring` ecosystem (feature `desktop-keyring`), and
//! [`MemoryKeyStore`] for tests and throw-away demo vaults.

mod memory;
#[cfg(feature = "desktop-keyring")]
mod os_keyring;
mod passphrase;

pub use memory::MemoryKeyStore;
#[cfg(feature = "desktop-keyring")]
pub use os_keyring::OsKeyringStore;
pub use passphrase::PassphraseKeyStore;

use crate::crypto::SecretBytes;

/// Why a key store could not wrap or unwrap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// The store needs the user first (device locked, biometric prompt dismissed).
    #[error("the key store is locked; unlock the device or confirm your identity and retry")]
    Locked,
    /// The store is not there or not reachable (no Secret Service, keystore service down).
    #[error("the key store is unavailable: {0}")]
    Unavailable(String),
    /// The wrapped key does not open with this store's key (wrong passphrase, key deleted or
    /// replaced, wrapped key modified).
    #[error("the key store could not unwrap the vault key (wrong passphrase or a different key)")]
    WrongKey,
    /// Anything else the store reported.
    #[error("the key store failed: {0}")]
    Failed(String),
}

/// Wraps and unwraps the vault's data key with a key-encryption key the platform keeps.
///
/// Implementations must not log or keep the data key. `wrap` may be called again at any time
/// (re-wrapping under a new key); `unwrap` must only return the key that `wrap` was given.
pub trait KeyStore: Send + Sync {
    /// A stable name for the kind of store (`"passphrase-argon2id"`, `"android-keystore"` …),
    /// recorded in the vault so a mismatched store is reported clearly.
    fn kind(&self) -> String;
    /// Encrypts `data_key` under the store's key.
    fn wrap(&self, data_key: &SecretBytes) -> Result<Vec<u8>, KeyStoreError>;
    /// Decrypts what [`KeyStore::wrap`] returned.
    fn unwrap(&self, wrapped: &[u8]) -> Result<SecretBytes, KeyStoreError>;
}

/// A device signing key held by the platform (Secure Enclave, StrongBox / TEE, TPM), for
/// openpush/1 device keys (ES256, docs/protocol.md §2.3). Without one, the core keeps a
/// software P-256 key sealed in the vault.
///
/// Keys are addressed by an alias the core chooses (one key per account). Signatures may be
/// returned in ASN.1 DER (what Android Keystore and the Secure Enclave produce) or as fixed
/// 64-byte `r ‖ s`; the core converts and verifies every signature before it is sent.
pub trait DeviceSigner: Send + Sync {
    /// Creates a new P-256 key under `alias`; returns its 65-byte uncompressed public key.
    fn create_key(&self, alias: &str) -> Result<Vec<u8>, KeyStoreError>;
    /// Signs `message` with ECDSA P-256 / SHA-256 using the key `alias`.
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyStoreError>;
    /// Deletes the key `alias` (unenrolment).
    fn delete_key(&self, alias: &str) -> Result<(), KeyStoreError>;
}
