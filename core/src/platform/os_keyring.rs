//! The OS credential store as a key store (feature `desktop-keyring`).
//!
//! OS credential stores keep secrets, they do not wrap keys. So a random 256-bit
//! key-encryption key is kept in the store (one entry per service name), and wrapping is
//! AES-256-GCM under it. The key-encryption key is read into this process only while wrapping
//! or unwrapping and is zeroized right after. Wrapped form: `"CSKR" ‖ version 1 ‖ sealed`.
//!
//! Stores: Secret Service over D-Bus (GNOME Keyring, KWallet) and the kernel keyring on Linux,
//! the Keychain on macOS, the Credential Manager on Windows. The kernel keyring keeps keys in
//! kernel memory only (never on disk), so they are gone after a reboot: it is offered for QA
//! sessions on headless machines, never chosen by default.

use super::{KeyStore, KeyStoreError};
use crate::crypto::{DATA_KEY_LEN, DataKey, SecretBytes, random_bytes};
use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"CSKR";
const VERSION: u8 = 1;
const AAD: &[u8] = b"countersign/keystore/os-keyring/v1";
const USER: &str = "vault-key-encryption-key";

/// A key store backed by an OS credential store.
pub struct OsKeyringStore {
    entry: Entry,
    kind: &'static str,
}

impl std::fmt::Debug for OsKeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsKeyringStore")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Maps keyring errors without ever formatting their payloads (some carry secret bytes).
fn map_err(e: &KeyringError) -> KeyStoreError {
    match e {
        KeyringError::NoStorageAccess(_) => KeyStoreError::Locked,
        KeyringError::NoEntry => KeyStoreError::WrongKey,
        KeyringError::PlatformFailure(p) => KeyStoreError::Unavailable(p.to_string()),
        KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(..) => {
            KeyStoreError::Failed("the stored key has an unexpected format".into())
        }
        _ => KeyStoreError::Failed("the OS credential store refused the request".into()),
    }
}

impl OsKeyringStore {
    fn in_store(
        store: Arc<CredentialStore>,
        service: &str,
        kind: &'static str,
    ) -> Result<Self, KeyStoreError> {
        let entry = Entry::new_in_store(&store, service, USER).map_err(|e| map_err(&e))?;
        Ok(Self { entry, kind })
    }

    /// The platform's default credential store: Secret Service on Linux, Keychain on macOS,
    /// Credential Manager on Windows. Fails with [`KeyStoreError::Unavailable`] when there is
    /// none (a headless Linux machine without a D-Bus session and Secret Service).
    pub fn platform_default(service: &str) -> Result<Self, KeyStoreError> {
        #[cfg(target_os = "linux")]
        {
            let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| {
                KeyStoreError::Unavailable(format!(
                    "no Secret Service on this machine ({}); use a passphrase file \
                     (--passphrase-file) or the kernel keyring (--key-store kernel)",
                    match &e {
                        KeyringError::PlatformFailure(p) | KeyringError::NoStorageAccess(p) => {
                            p.to_string()
                        }
                        _ => "not reachable".to_string(),
                    }
                ))
            })?;
            let entry = Self::in_store(store, service, "os-secret-service")?;
            // Connecting is lazy; probe now so "unavailable" is reported at open, not later.
            match entry.entry.get_secret() {
                Ok(mut s) => zeroize::Zeroize::zeroize(&mut s),
                Err(KeyringError::NoEntry) => {}
                Err(e) => return Err(map_err(&e)),
            }
            Ok(entry)
        }
        #[cfg(target_os = "macos")]
        {
            let store =
                apple_native_keyring_store::keychain::Store::new().map_err(|e| map_err(&e))?;
            Self::in_store(store, service, "os-macos-keychain")
        }
        #[cfg(windows)]
        {
            let store = windows_native_keyring_store::Store::new().map_err(|e| map_err(&e))?;
            Self::in_store(store, service, "os-windows-credential-manager")
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
        {
            let _ = service;
            Err(KeyStoreError::Unavailable(
                "no OS credential store on this platform".into(),
            ))
        }
    }

    /// The Linux kernel keyring (keyutils). Keys live in kernel memory until reboot: for QA
    /// only. Needs a session keyring (e.g. run under `keyctl session`).
    #[cfg(target_os = "linux")]
    pub fn kernel(service: &str) -> Result<Self, KeyStoreError> {
        let store = linux_keyutils_keyring_store::Store::new().map_err(|e| map_err(&e))?;
        Self::in_store(store, service, "os-linux-kernel-keyring")
    }

    fn kek(&self, create: bool) -> Result<DataKey, KeyStoreError> {
        let raw = match self.entry.get_secret() {
            Ok(bytes) => SecretBytes::new(bytes),
            Err(KeyringError::NoEntry) if create => {
                let fresh =
                    random_bytes(DATA_KEY_LEN).map_err(|e| KeyStoreError::Failed(e.to_string()))?;
                self.entry
                    .set_secret(fresh.expose())
                    .map_err(|e| map_err(&e))?;
                fresh
            }
            Err(e) => return Err(map_err(&e)),
        };
        DataKey::from_secret(raw)
            .map_err(|_| KeyStoreError::Failed("the stored key has an unexpected length".into()))
    }
}

impl KeyStore for OsKeyringStore {
    fn kind(&self) -> String {
        self.kind.into()
    }

    fn wrap(&self, data_key: &SecretBytes) -> Result<Vec<u8>, KeyStoreError> {
        let kek = self.kek(true)?;
        let sealed = kek
            .seal(AAD, data_key.expose())
            .map_err(|e| KeyStoreError::Failed(e.to_string()))?;
        let mut out = Vec::with_capacity(5 + sealed.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<SecretBytes, KeyStoreError> {
        let Some(sealed) = wrapped
            .strip_prefix(MAGIC.as_slice())
            .and_then(|r| r.strip_prefix(&[VERSION]))
        else {
            return Err(KeyStoreError::WrongKey);
        };
        self.kek(false)?
            .open(AAD, sealed)
            .map_err(|_| KeyStoreError::WrongKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_with_a_key_kept_in_the_store() {
        let store: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let ks = OsKeyringStore::in_store(store.clone(), "countersign-test", "mock").unwrap();
        let key = SecretBytes::from_slice(&[9u8; 32]);
        let wrapped = ks.wrap(&key).unwrap();
        assert_eq!(ks.unwrap(&wrapped).unwrap(), key);
        // A second wrap reuses the stored key-encryption key.
        assert_eq!(ks.unwrap(&ks.wrap(&key).unwrap()).unwrap(), key);
        // A different service (different entry) has no key: typed error, not a panic.
        let other = OsKeyringStore::in_store(store, "other-service", "mock").unwrap();
        assert_eq!(other.unwrap(&wrapped), Err(KeyStoreError::WrongKey));
        assert_eq!(ks.unwrap(b"junk"), Err(KeyStoreError::WrongKey));
    }
}
