//! Foreign traits: what the shells implement for the core (key store, clock), and the
//! adapters that plug them into the core's own traits.
//!
//! Rules kept here: the core never calls foreign code while it holds a lock (the vault calls
//! the key store before taking its connection), a foreign exception becomes a typed error and
//! never a panic, and key bytes handed across are zeroized on the Rust side after use.

use countersign_core::crypto::SecretBytes;
use countersign_core::platform as core_platform;
use std::sync::Arc;
use zeroize::Zeroize;

/// A key store error a shell reports from its [`KeyStore`] implementation.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// The user must authenticate first (device locked, biometric prompt cancelled).
    #[error("key store locked")]
    Locked,
    /// The key store is unavailable.
    #[error("key store unavailable: {detail}")]
    Unavailable {
        /// Explanation.
        detail: String,
    },
    /// The wrapped key does not open with the store's key.
    #[error("wrong key")]
    WrongKey,
    /// Anything else.
    #[error("key store failure: {detail}")]
    Failed {
        /// Explanation (must not contain key material).
        detail: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyStoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        // Foreign exceptions arrive with whole stack traces; keep the first line, cut short.
        let first = e.reason.lines().next().unwrap_or_default();
        Self::Failed {
            detail: first.chars().take(200).collect(),
        }
    }
}

impl From<KeyStoreError> for core_platform::KeyStoreError {
    fn from(e: KeyStoreError) -> Self {
        match e {
            KeyStoreError::Locked => Self::Locked,
            KeyStoreError::Unavailable { detail } => Self::Unavailable(detail),
            KeyStoreError::WrongKey => Self::WrongKey,
            KeyStoreError::Failed { detail } => Self::Failed(detail),
        }
    }
}

/// The platform's key store: wraps the vault's data key with a key that never leaves the OS
/// (Android Keystore / StrongBox, iOS Keychain or Secure Enclave, Windows DPAPI / Hello).
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    /// A stable name for this kind of store, recorded in the vault (e.g. `"android-keystore"`).
    fn kind(&self) -> String;
    /// Encrypts the 32-byte data key; returns an opaque blob the vault stores.
    fn wrap(&self, data_key: Vec<u8>) -> Result<Vec<u8>, KeyStoreError>;
    /// Decrypts a blob returned by `wrap`.
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreError>;
}

/// Adapts a foreign [`KeyStore`] to the core's trait.
pub(crate) struct ForeignKeyStore(pub Arc<dyn KeyStore>);

impl core_platform::KeyStore for ForeignKeyStore {
    fn kind(&self) -> String {
        self.0.kind()
    }

    fn wrap(&self, data_key: &SecretBytes) -> Result<Vec<u8>, core_platform::KeyStoreError> {
        // The copy handed across the FFI is the foreign side's to protect; ours is wiped.
        Ok(self.0.wrap(data_key.expose().to_vec())?)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<SecretBytes, core_platform::KeyStoreError> {
        let mut raw = self.0.unwrap(wrapped.to_vec())?;
        let key = SecretBytes::from_slice(&raw);
        raw.zeroize();
        Ok(key)
    }
}

/// The platform's signer for push device keys (Secure Enclave, StrongBox / TEE). Optional:
/// without one, device keys are software keys sealed in the vault.
#[uniffi::export(with_foreign)]
pub trait DeviceSigner: Send + Sync {
    /// Creates a P-256 key under `alias`; returns its 65-byte uncompressed public key.
    fn create_key(&self, alias: String) -> Result<Vec<u8>, KeyStoreError>;
    /// Signs `message` (ECDSA P-256, SHA-256) with key `alias`: DER or fixed 64-byte `r‖s`.
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreError>;
    /// Deletes key `alias`.
    fn delete_key(&self, alias: String) -> Result<(), KeyStoreError>;
}

/// Adapts a foreign [`DeviceSigner`] to the core's trait.
pub(crate) struct ForeignDeviceSigner(pub Arc<dyn DeviceSigner>);

impl core_platform::DeviceSigner for ForeignDeviceSigner {
    fn create_key(&self, alias: &str) -> Result<Vec<u8>, core_platform::KeyStoreError> {
        Ok(self.0.create_key(alias.to_string())?)
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, core_platform::KeyStoreError> {
        Ok(self.0.sign(alias.to_string(), message.to_vec())?)
    }

    fn delete_key(&self, alias: &str) -> Result<(), core_platform::KeyStoreError> {
        Ok(self.0.delete_key(alias.to_string())?)
    }
}

/// A clock the shell can supply (tests, or a network-corrected time source).
#[uniffi::export(with_foreign)]
pub trait Clock: Send + Sync {
    /// Current Unix time in seconds.
    fn now_unix_seconds(&self) -> u64;
}

/// The system clock.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_seconds(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// Key stores built into the library for desktop use and QA (phones pass their own
/// [`KeyStore`]).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum DesktopKeyStore {
    /// Argon2id key derived from the first line of a passphrase file (headless machines, CI).
    PassphraseFile {
        /// Path of the file.
        path: String,
    },
    /// A key held only by this process: for throw-away vaults (demo, tests).
    Ephemeral,
    /// The OS credential store (Secret Service, macOS Keychain, Windows Credential Manager),
    /// holding a key-encryption key under `service`.
    OsKeyring {
        /// Service name of the credential entry.
        service: String,
    },
    /// The Linux kernel keyring (keys vanish at logout or reboot: QA only).
    KernelKeyring {
        /// Service name of the key.
        service: String,
    },
}

impl DesktopKeyStore {
    pub(crate) fn build(
        &self,
    ) -> Result<Arc<dyn core_platform::KeyStore>, crate::CountersignError> {
        Ok(match self {
            Self::PassphraseFile { path } => Arc::new(
                core_platform::PassphraseKeyStore::from_file(std::path::Path::new(path))?,
            ),
            Self::Ephemeral => Arc::new(core_platform::MemoryKeyStore::generate()?),
            #[cfg(feature = "desktop-keyring")]
            Self::OsKeyring { service } => {
                Arc::new(core_platform::OsKeyringStore::platform_default(service)?)
            }
            #[cfg(all(feature = "desktop-keyring", target_os = "linux"))]
            Self::KernelKeyring { service } => {
                Arc::new(core_platform::OsKeyringStore::kernel(service)?)
            }
            #[allow(unreachable_patterns)]
            _ => {
                return Err(crate::CountersignError::Unsupported {
                    detail: "this build has no OS key store support on this platform".into(),
                });
            }
        })
    }
}
