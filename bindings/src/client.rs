//! `AuthenticatorClient`: the one object a shell holds. It owns the vault and the clock and
//! exposes every capability of the core as plain records.

use crate::CountersignError;
use crate::oath::{AccountInfo, CodeInfo, OtpType};
use crate::platform::{Clock, DesktopKeyStore, ForeignKeyStore, KeyStore, SystemClock};
use countersign_core::otp::OtpKind;
use countersign_core::platform::KeyStore as CoreKeyStore;
use countersign_core::uri::OtpAccount;
use countersign_core::vault::{self, Vault};
use std::path::Path;
use std::sync::Arc;

/// The kind of an account in the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AccountKind {
    /// An OATH (TOTP/HOTP/Steam) account.
    Oath,
    /// An account activated with Countersign's open push protocol.
    PushOpenpush,
    /// A privacyIDEA push token.
    PushPrivacyidea,
}

impl From<vault::AccountKind> for AccountKind {
    fn from(k: vault::AccountKind) -> Self {
        match k {
            vault::AccountKind::Oath => Self::Oath,
            vault::AccountKind::PushOpenpush => Self::PushOpenpush,
            vault::AccountKind::PushPrivacyidea => Self::PushPrivacyidea,
        }
    }
}

/// An account as the list shows it (available while the vault is locked).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountEntry {
    /// Stable id.
    pub id: i64,
    /// Kind of account.
    pub kind: AccountKind,
    /// Issuer (service name).
    pub issuer: Option<String>,
    /// Account name.
    pub name: String,
    /// Position in the user's order.
    pub position: i64,
    /// Group names.
    pub groups: Vec<String>,
    /// Icon reference.
    pub icon: Option<String>,
    /// Unix seconds when added.
    pub created_at: u64,
    /// Unix seconds of last recorded use.
    pub last_used_at: Option<u64>,
}

impl From<vault::AccountSummary> for AccountEntry {
    fn from(s: vault::AccountSummary) -> Self {
        Self {
            id: s.id,
            kind: s.kind.into(),
            issuer: s.issuer,
            name: s.name,
            position: s.position,
            groups: s.groups,
            icon: s.icon,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
        }
    }
}

/// What the list shows for one account's code.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CodeState {
    /// A time-based code; show it with a countdown to `code.valid_until`.
    Timed {
        /// TOTP or Steam.
        otp_type: OtpType,
        /// Seconds per code.
        period: u64,
        /// The code and window.
        code: CodeInfo,
    },
    /// HOTP: show a button; `next_hotp` hands out the next code.
    CounterBased {
        /// The counter the next code uses.
        counter: u64,
    },
    /// A push-only account without offline codes.
    NoCode,
    /// The account's encrypted data is damaged; the rest of the list is fine.
    Unreadable,
}

/// One row of the code list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountCode {
    /// The account.
    pub account: AccountEntry,
    /// Its code.
    pub state: CodeState,
}

impl From<vault::AccountCode> for AccountCode {
    fn from(c: vault::AccountCode) -> Self {
        let state = match c.state {
            vault::CodeState::Timed { kind, code } => {
                let (otp_type, period) = match kind {
                    OtpKind::Steam { period } => (OtpType::Steam, period),
                    OtpKind::Totp { period } => (OtpType::Totp, period),
                    OtpKind::Hotp { .. } => (OtpType::Hotp, 0),
                };
                CodeState::Timed {
                    otp_type,
                    period,
                    code: code.into(),
                }
            }
            vault::CodeState::CounterBased { counter } => CodeState::CounterBased { counter },
            vault::CodeState::NoCode => CodeState::NoCode,
            vault::CodeState::Unreadable => CodeState::Unreadable,
        };
        Self {
            account: c.account.into(),
            state,
        }
    }
}

/// An HOTP code handed out, with the counter that made it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct HotpCode {
    /// The code.
    pub code: String,
    /// The counter used (already recorded as used).
    pub counter: u64,
}

impl std::fmt::Debug for HotpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotpCode")
            .field("code", &"<redacted>")
            .field("counter", &self.counter)
            .finish()
    }
}

/// An account just added, with what the parser had to guess.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AddedAccount {
    /// The stored account.
    pub account: AccountEntry,
    /// Details parsed from the URI.
    pub info: AccountInfo,
}

/// Result of `check_vault`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VaultReport {
    /// SQLite's integrity and foreign-key checks passed.
    pub database_ok: bool,
    /// SQLite's messages when not ok.
    pub database_messages: Vec<String>,
    /// Accounts whose encrypted data was checked.
    pub accounts_checked: u32,
    /// Accounts whose encrypted data did not open.
    pub unreadable: Vec<i64>,
    /// Schema version.
    pub schema_version: u32,
    /// Kind of key store holding the data key.
    pub key_store: String,
}

/// The authenticator: vault, codes, and (as they land) activation and push sign-in.
#[derive(uniffi::Object)]
pub struct AuthenticatorClient {
    pub(crate) vault: Arc<Vault>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) network: std::sync::RwLock<countersign_core::push::http::TransportConfig>,
    /// The HTTP client for those settings, built once and reused (connection pool, TLS
    /// sessions); dropped when the settings change.
    pub(crate) http: std::sync::Mutex<Option<countersign_core::push::http::HttpClient>>,
    /// The platform signer for new push device keys, if the shell set one.
    pub(crate) device_signer:
        std::sync::RwLock<Option<Arc<dyn countersign_core::platform::DeviceSigner>>>,
}

impl std::fmt::Debug for AuthenticatorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticatorClient")
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

impl AuthenticatorClient {
    fn with_store(
        path: &str,
        store: Arc<dyn CoreKeyStore>,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<Arc<Self>, CountersignError> {
        let vault = Arc::new(Vault::open_or_create(Path::new(path), store)?);
        Ok(Arc::new(Self {
            vault,
            clock: clock.unwrap_or_else(|| Arc::new(SystemClock)),
            network: Default::default(),
            http: Default::default(),
            device_signer: Default::default(),
        }))
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now_unix_seconds()
    }
}

#[uniffi::export]
impl AuthenticatorClient {
    /// Opens the vault at `path` (creating it if there is none) with the platform's key
    /// store, and unlocks it. `clock` defaults to the system clock.
    #[uniffi::constructor]
    pub fn open(
        path: String,
        key_store: Arc<dyn KeyStore>,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<Arc<Self>, CountersignError> {
        Self::with_store(&path, Arc::new(ForeignKeyStore(key_store)), clock)
    }

    /// Opens (or creates) the vault at `path` with a key store built into the library
    /// (desktop and QA).
    #[uniffi::constructor]
    pub fn open_desktop(
        path: String,
        key_store: DesktopKeyStore,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<Arc<Self>, CountersignError> {
        Self::with_store(&path, key_store.build()?, clock)
    }

    /// True while the vault's data key is not in memory.
    pub fn is_locked(&self) -> bool {
        self.vault.is_locked()
    }

    /// Forgets the data key; codes need `unlock` again.
    pub fn lock(&self) {
        self.vault.lock();
    }

    /// Asks the key store for the data key again (after the user authenticates).
    pub fn unlock(&self) -> Result<(), CountersignError> {
        Ok(self.vault.unlock()?)
    }

    /// Moves the vault's data key to another platform key store.
    pub fn rewrap(&self, key_store: Arc<dyn KeyStore>) -> Result<(), CountersignError> {
        Ok(self.vault.rewrap(Arc::new(ForeignKeyStore(key_store)))?)
    }

    /// Moves the vault's data key to a built-in desktop key store.
    pub fn rewrap_desktop(&self, key_store: DesktopKeyStore) -> Result<(), CountersignError> {
        Ok(self.vault.rewrap(key_store.build()?)?)
    }

    /// Adds an account from an `otpauth://` URI.
    pub fn add_account_from_uri(&self, uri: String) -> Result<AddedAccount, CountersignError> {
        let account = OtpAccount::parse(&uri)?;
        let id = self.vault.add_oath(&account, self.now())?;
        Ok(AddedAccount {
            account: self.vault.summary(id)?.into(),
            info: AccountInfo::from(&account),
        })
    }

    /// All accounts in the user's order (works while locked).
    pub fn list_accounts(&self) -> Result<Vec<AccountEntry>, CountersignError> {
        Ok(self.vault.list()?.into_iter().map(Into::into).collect())
    }

    /// Details of one OATH account (never its secret).
    pub fn account_info(&self, id: i64) -> Result<AccountInfo, CountersignError> {
        Ok(AccountInfo::from(&self.vault.oath_account(id)?))
    }

    /// Every account's current code, at the client's clock.
    pub fn codes(&self) -> Result<Vec<AccountCode>, CountersignError> {
        self.codes_at(self.now())
    }

    /// Every account's code at Unix time `at`.
    pub fn codes_at(&self, at: u64) -> Result<Vec<AccountCode>, CountersignError> {
        Ok(self.vault.codes(at)?.into_iter().map(Into::into).collect())
    }

    /// Hands out the next HOTP code (the counter is saved before the code is returned).
    pub fn next_hotp(&self, id: i64) -> Result<HotpCode, CountersignError> {
        let issued = self.vault.next_hotp(id, self.now())?;
        Ok(HotpCode {
            code: issued.code.as_str().to_string(),
            counter: issued.counter,
        })
    }

    /// Renames an account.
    pub fn rename_account(
        &self,
        id: i64,
        issuer: Option<String>,
        name: String,
    ) -> Result<(), CountersignError> {
        Ok(self.vault.rename(id, issuer.as_deref(), &name)?)
    }

    /// Sets the order of the list (every id exactly once).
    pub fn reorder_accounts(&self, ids: Vec<i64>) -> Result<(), CountersignError> {
        Ok(self.vault.reorder(&ids)?)
    }

    /// Puts an account in exactly these groups.
    pub fn set_account_groups(&self, id: i64, groups: Vec<String>) -> Result<(), CountersignError> {
        Ok(self.vault.set_groups(id, &groups)?)
    }

    /// Records that the user used (copied) a code, for "recently used" ordering.
    pub fn mark_used(&self, id: i64) -> Result<(), CountersignError> {
        Ok(self.vault.touch(id, self.now())?)
    }

    /// Deletes an account (its encrypted data is overwritten on disk).
    pub fn delete_account(&self, id: i64) -> Result<(), CountersignError> {
        Ok(self.vault.delete(id)?)
    }

    /// Checks the database and every account's encrypted data.
    pub fn check_vault(&self) -> Result<VaultReport, CountersignError> {
        let r = self.vault.check()?;
        Ok(VaultReport {
            database_ok: r.database_ok,
            database_messages: r.database_messages,
            accounts_checked: u32::try_from(r.accounts_checked).unwrap_or(u32::MAX),
            unreadable: r.unreadable,
            schema_version: r.schema_version,
            key_store: r.key_store,
        })
    }

    /// Where the vault file is.
    pub fn vault_path(&self) -> String {
        self.vault.path().display().to_string()
    }
}
