//! A key store whose key lives only in this process: for tests, and for throw-away vaults such
//! as the harness demo's. A vault wrapped by it cannot be opened by another process unless the
//! key is handed over explicitly.

use super::{KeyStore, KeyStoreError};
use crate::crypto::{DataKey, SecretBytes};

const AAD: &[u8] = b"countersign/keystore/memory/v1";

/// Key-encryption key held in memory.
#[derive(Debug)]
pub struct MemoryKeyStore {
    kek: DataKey,
}

impl MemoryKeyStore {
    /// A store with a fresh random key.
    pub fn generate() -> crate::Result<Self> {
        Ok(Self {
            kek: DataKey::generate()?,
        })
    }

    /// A store with a given 32-byte key (tests that reopen a vault from another process).
    pub fn from_key(key: SecretBytes) -> crate::Result<Self> {
        Ok(Self {
            kek: DataKey::from_secret(key)?,
        })
    }
}

impl KeyStore for MemoryKeyStore {
    fn kind(&self) -> String {
        "memory".into()
    }

    fn wrap(&self, data_key: &SecretBytes) -> Result<Vec<u8>, KeyStoreError> {
        self.kek
            .seal(AAD, data_key.expose())
            .map_err(|e| KeyStoreError::Failed(e.to_string()))
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<SecretBytes, KeyStoreError> {
        self.kek
            .open(AAD, wrapped)
            .map_err(|_| KeyStoreError::WrongKey)
    }
}
