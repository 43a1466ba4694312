//! Why a vault operation failed. None of these messages contain secrets; the vault file is
//! never deleted or recreated in response to any of them.

use crate::platform::KeyStoreError;

/// An account's row id.
pub type AccountId = i64;

/// A vault failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// No vault at the path (open) — create one first.
    #[error("no vault at {0}")]
    NotFound(String),
    /// A file already exists where a new vault was to be created.
    #[error("a file already exists at {0}; refusing to overwrite it")]
    AlreadyExists(String),
    /// The file is not a readable Countersign vault. It has been left untouched.
    #[error("the vault is damaged or not a Countersign vault ({0}); the file was left untouched")]
    Corrupt(String),
    /// Written by a newer Countersign.
    #[error(
        "the vault was written by a newer Countersign (schema {found}; this build reads up to {supported})"
    )]
    NewerFormat {
        /// Schema version in the file.
        found: u32,
        /// Newest this build understands.
        supported: u32,
    },
    /// The vault is locked; unlock it first.
    #[error("the vault is locked")]
    Locked,
    /// The key store could not unwrap or wrap the data key.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    /// The vault's data key was wrapped by a different kind of key store.
    #[error("this vault's key is held by the `{vault}` key store, not `{given}`")]
    KeyStoreMismatch {
        /// Kind recorded in the vault.
        vault: String,
        /// Kind offered.
        given: String,
    },
    /// No account with that id.
    #[error("no account with id {0}")]
    NoSuchAccount(AccountId),
    /// The operation does not apply to this account (e.g. next HOTP code of a TOTP account).
    #[error("account {id} is not {expected}")]
    WrongKind {
        /// The account.
        id: AccountId,
        /// What the operation needs.
        expected: &'static str,
    },
    /// An account's sealed data failed authentication: it was modified, moved from another
    /// row, or sealed under another key.
    #[error(
        "account {0}'s encrypted data failed authentication (modified or moved); left untouched"
    )]
    Unreadable(AccountId),
    /// Bad arguments (an empty group name, a reorder that is not a permutation).
    #[error("{0}")]
    InvalidInput(String),
    /// The HOTP counter cannot advance further.
    #[error("account {0}'s HOTP counter is at its maximum")]
    CounterExhausted(AccountId),
    /// The storage layer failed (disk full, I/O error, busy beyond the timeout).
    #[error("storage error: {0}")]
    Storage(String),
}

impl From<rusqlite::Error> for VaultError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
                Self::Corrupt(e.to_string())
            }
            _ => Self::Storage(e.to_string()),
        }
    }
}
