//! A key store for machines without an OS key store (headless Linux, CI, scripted QA): the
//! key-encryption key is derived from a passphrase with Argon2id.
//!
//! Wrapped form: `"CSPW" ‖ version 1 ‖ memory KiB (u32 BE) ‖ iterations (u32 BE) ‖ lanes
//! (u32 BE) ‖ salt (16 bytes) ‖ sealed data key`. The cost is stored so it can be raised; a
//! stored cost below [`Argon2Cost::MINIMUM`] is refused, so a tampered header cannot make the
//! passphrase cheap to guess.

use super::{KeyStore, KeyStoreError};
use crate::crypto::{Argon2Cost, DataKey, SecretBytes, argon2id, random_bytes};
use zeroize::Zeroizing;

const MAGIC: &[u8; 4] = b"CSPW";
const VERSION: u8 = 1;
const SALT_LEN: usize = 16;
const HEADER_LEN: usize = 4 + 1 + 12 + SALT_LEN;
const AAD: &[u8] = b"countersign/keystore/passphrase/v1";

/// Argon2id-from-passphrase key store.
pub struct PassphraseKeyStore {
    passphrase: Zeroizing<Vec<u8>>,
    cost: Argon2Cost,
    minimum: Argon2Cost,
}

impl PassphraseKeyStore {
    /// A store for `passphrase` (bytes as given; an empty passphrase is refused).
    pub fn new(passphrase: Zeroizing<Vec<u8>>) -> Result<Self, KeyStoreError> {
        if passphrase.is_empty() {
            return Err(KeyStoreError::Failed("the passphrase is empty".into()));
        }
        Ok(Self {
            passphrase,
            cost: Argon2Cost::DEFAULT,
            minimum: Argon2Cost::MINIMUM,
        })
    }

    /// Reads the passphrase from the first line of a file (trailing newline removed).
    pub fn from_file(path: &std::path::Path) -> Result<Self, KeyStoreError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
            KeyStoreError::Unavailable(format!(
                "cannot read the passphrase file {}: {}",
                path.display(),
                e.kind()
            ))
        })?);
        let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Self::new(Zeroizing::new(line.to_vec()))
    }

    /// Uses a cheaper derivation (tests only: it weakens the passphrase).
    #[doc(hidden)]
    pub fn with_test_cost(mut self) -> Self {
        self.cost = Argon2Cost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        self.minimum = self.cost;
        self
    }

    fn kek(&self, salt: &[u8], cost: Argon2Cost) -> Result<DataKey, KeyStoreError> {
        let key = argon2id(&self.passphrase, salt, cost)
            .map_err(|e| KeyStoreError::Failed(e.to_string()))?;
        DataKey::from_secret(key).map_err(|e| KeyStoreError::Failed(e.to_string()))
    }
}

impl std::fmt::Debug for PassphraseKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassphraseKeyStore")
            .field("cost", &self.cost)
            .finish_non_exhaustive()
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

impl KeyStore for PassphraseKeyStore {
    fn kind(&self) -> String {
        "passphrase-argon2id".into()
    }

    fn wrap(&self, data_key: &SecretBytes) -> Result<Vec<u8>, KeyStoreError> {
        let salt = random_bytes(SALT_LEN).map_err(|e| KeyStoreError::Failed(e.to_string()))?;
        let kek = self.kek(salt.expose(), self.cost)?;
        let mut out = Vec::with_capacity(HEADER_LEN + 64);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        for v in [
            self.cost.memory_kib,
            self.cost.iterations,
            self.cost.parallelism,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(salt.expose());
        let header = out.clone();
        let sealed = kek
            .seal(&[AAD, &header].concat(), data_key.expose())
            .map_err(|e| KeyStoreError::Failed(e.to_string()))?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<SecretBytes, KeyStoreError> {
        if wrapped.len() <= HEADER_LEN || &wrapped[..4] != MAGIC || wrapped[4] != VERSION {
            return Err(KeyStoreError::WrongKey);
        }
        let cost = Argon2Cost {
            memory_kib: u32_at(wrapped, 5),
            iterations: u32_at(wrapped, 9),
            parallelism: u32_at(wrapped, 13),
        };
        if cost.memory_kib < self.minimum.memory_kib
            || cost.iterations < self.minimum.iterations
            || cost.parallelism < 1
            || cost.memory_kib > Argon2Cost::MAXIMUM_MEMORY_KIB
            || cost.iterations > 64
            || cost.parallelism > 16
        {
            return Err(KeyStoreError::Failed(
                "the wrapped key asks for Argon2id parameters outside the accepted range".into(),
            ));
        }
        let (header, sealed) = wrapped.split_at(HEADER_LEN);
        let kek = self.kek(&header[17..], cost)?;
        kek.open(&[AAD, header].concat(), sealed)
            .map_err(|_| KeyStoreError::WrongKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(pw: &[u8]) -> PassphraseKeyStore {
        PassphraseKeyStore::new(Zeroizing::new(pw.to_vec()))
            .unwrap()
            .with_test_cost()
    }

    #[test]
    fn wraps_and_unwraps() {
        let key = SecretBytes::from_slice(&[7u8; 32]);
        let wrapped = store(b"correct horse").wrap(&key).unwrap();
        assert_eq!(store(b"correct horse").unwrap(&wrapped).unwrap(), key);
        assert_eq!(
            store(b"wrong").unwrap(&wrapped),
            Err(KeyStoreError::WrongKey)
        );
    }

    #[test]
    fn header_is_authenticated_and_cost_floor_enforced() {
        let key = SecretBytes::from_slice(&[7u8; 32]);
        let mut wrapped = store(b"pw").wrap(&key).unwrap();
        // Production stores refuse the cheap test cost written into this header.
        let strict = PassphraseKeyStore::new(Zeroizing::new(b"pw".to_vec())).unwrap();
        assert!(matches!(
            strict.unwrap(&wrapped),
            Err(KeyStoreError::Failed(_))
        ));
        // A flipped salt byte changes the key; a flipped cost byte fails authentication.
        wrapped[20] ^= 1;
        assert_eq!(store(b"pw").unwrap(&wrapped), Err(KeyStoreError::WrongKey));
    }

    #[test]
    fn empty_passphrase_refused() {
        assert!(PassphraseKeyStore::new(Zeroizing::new(Vec::new())).is_err());
    }
}
