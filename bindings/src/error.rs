//! The one error type the shells see, chosen by what a shell does next, not by where in the
//! core the failure arose. Each variant carries a human-readable message (already free of
//! secrets: the core's messages never contain them) and, where useful, the field at fault.

use countersign_core::Error as CoreError;
use countersign_core::platform::KeyStoreError as CoreKeyStoreError;
use countersign_core::vault::VaultError;

/// Why a call failed, grouped by what the caller should do about it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum CountersignError {
    /// The input is malformed (a URI, a code, a parameter); show `message` and let the user fix it.
    #[error("{detail}")]
    InvalidInput {
        /// What is wrong, in words a user can act on.
        detail: String,
        /// The field or parameter at fault, when there is one.
        field: Option<String>,
    },
    /// The input is well-formed but describes something Countersign does not do.
    #[error("{detail}")]
    Unsupported {
        /// What is not supported and what to do instead.
        detail: String,
    },
    /// The thing asked for does not exist (an account id, a vault file).
    #[error("{detail}")]
    NotFound {
        /// What was not found.
        detail: String,
    },
    /// The vault is locked: call `unlock` (after the user authenticates) and retry.
    #[error("{detail}")]
    VaultLocked {
        /// Explanation.
        detail: String,
    },
    /// The platform key store needs the user (device locked, biometric cancelled): prompt
    /// and retry.
    #[error("{detail}")]
    KeyStoreLocked {
        /// Explanation.
        detail: String,
    },
    /// The platform key store is missing, unreachable or holds a different key. Retrying will
    /// not help; the vault file is untouched.
    #[error("{detail}")]
    KeyStoreUnavailable {
        /// Explanation and what to do.
        detail: String,
    },
    /// Stored data is damaged or was tampered with. Nothing was deleted; offer export of
    /// what is readable and support.
    #[error("{detail}")]
    StorageCorrupt {
        /// What is damaged.
        detail: String,
        /// The account affected, when the damage is limited to one.
        account_id: Option<i64>,
    },
    /// Storage failed for a reason that may pass (disk full, busy): retry later.
    #[error("{detail}")]
    Storage {
        /// Explanation.
        detail: String,
    },
    /// The network failed (offline, timeout, TLS); retry when `retryable`.
    #[error("{detail}")]
    Network {
        /// Explanation.
        detail: String,
        /// Whether retrying later may help.
        retryable: bool,
    },
    /// The server refused the request (its error code says why).
    #[error("{detail}")]
    ServerRejected {
        /// Explanation.
        detail: String,
        /// The server's machine-readable code.
        code: String,
        /// Whether retrying later may help.
        retryable: bool,
    },
    /// The sign-in request was already answered, closed or expired: show that and move on.
    #[error("{detail}")]
    ChallengeClosed {
        /// Explanation.
        detail: String,
    },
    /// A server message failed a security check (signature, pinned key, freshness, replay,
    /// URL rules). Nothing was stored or answered; tell the user and do not retry blindly.
    #[error("{detail}")]
    SecurityCheckFailed {
        /// What failed.
        detail: String,
    },
    /// A failure inside Countersign that no user action will fix; report it.
    #[error("internal error: {detail}")]
    Internal {
        /// Diagnostic text (never contains secrets).
        detail: String,
    },
    /// An encrypted file (backup, Aegis or 2FAS export) did not open with the password given,
    /// or needs one and none was given (`missing`): ask for the password and retry. Nothing
    /// was imported.
    #[error("{detail}")]
    WrongPassword {
        /// Explanation.
        detail: String,
        /// True when the file is encrypted and no password was passed.
        missing: bool,
    },
}

impl From<CoreError> for CountersignError {
    fn from(e: CoreError) -> Self {
        use countersign_core::otp::OtpError;
        use countersign_core::uri::UriError;
        let detail = e.to_string();
        match e {
            CoreError::Uri(UriError::UnsupportedType { .. }) => Self::Unsupported { detail },
            CoreError::Uri(u) => Self::InvalidInput {
                field: uri_field(&u).map(str::to_string),
                detail,
            },
            CoreError::Otp(OtpError::CounterExhausted) => Self::Unsupported { detail },
            CoreError::Otp(_) => Self::InvalidInput {
                detail,
                field: None,
            },
            _ => Self::Internal { detail },
        }
    }
}

impl From<countersign_core::uri::UriError> for CountersignError {
    fn from(e: countersign_core::uri::UriError) -> Self {
        CoreError::from(e).into()
    }
}

impl From<countersign_core::otp::OtpError> for CountersignError {
    fn from(e: countersign_core::otp::OtpError) -> Self {
        CoreError::from(e).into()
    }
}

impl From<CoreKeyStoreError> for CountersignError {
    fn from(e: CoreKeyStoreError) -> Self {
        let detail = e.to_string();
        match e {
            CoreKeyStoreError::Locked => Self::KeyStoreLocked { detail },
            _ => Self::KeyStoreUnavailable { detail },
        }
    }
}

impl From<VaultError> for CountersignError {
    fn from(e: VaultError) -> Self {
        let detail = e.to_string();
        match e {
            VaultError::NotFound(_) | VaultError::NoSuchAccount(_) => Self::NotFound { detail },
            VaultError::AlreadyExists(_) | VaultError::InvalidInput(_) => Self::InvalidInput {
                detail,
                field: None,
            },
            VaultError::WrongKind { .. } | VaultError::CounterExhausted(_) => {
                Self::Unsupported { detail }
            }
            VaultError::NewerFormat { .. } => Self::Unsupported { detail },
            VaultError::Corrupt(_) => Self::StorageCorrupt {
                detail,
                account_id: None,
            },
            VaultError::Unreadable(id) => Self::StorageCorrupt {
                detail,
                account_id: Some(id),
            },
            VaultError::Locked => Self::VaultLocked { detail },
            VaultError::KeyStore(k) => k.into(),
            VaultError::KeyStoreMismatch { .. } => Self::KeyStoreUnavailable { detail },
            VaultError::Storage(_) => Self::Storage { detail },
            _ => Self::Internal { detail },
        }
    }
}

fn uri_field(e: &countersign_core::uri::UriError) -> Option<&'static str> {
    use countersign_core::uri::UriError as U;
    Some(match e {
        U::MissingSecret
        | U::EmptySecret
        | U::InvalidSecretCharacter { .. }
        | U::InvalidSecretLength { .. }
        | U::SecretTooLong { .. } => "secret",
        U::UnknownAlgorithm(_) | U::UnsupportedAlgorithm(_) => "algorithm",
        U::InvalidDigits(_) => "digits",
        U::InvalidPeriod(_) => "period",
        U::InvalidCounter(_) => "counter",
        U::MissingType | U::UnknownType(_) => "type",
        _ => return None,
    })
}
