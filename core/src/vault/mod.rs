//! The encrypted store of accounts on the device.
//!
//! One SQLite file (WAL, `secure_delete`, `foreign_keys`, `synchronous=FULL`), migrated by
//! numbered steps on `PRAGMA user_version`. Every secret sits in a per-row blob sealed with
//! AES-256-GCM under a random data key; the associated data names the vault, the purpose and the
//! row, so a blob copied elsewhere does not open. The data key is stored only wrapped by a
//! [`KeyStore`]; [`Vault::lock`] drops (and zeroizes) it, [`Vault::unlock`] asks the key store
//! again.
//!
//! What stays in plaintext, and why: the kind, issuer, account name, position, groups, icon
//! reference and timestamps. The account list, its order and its groups must render while the
//! vault is locked (and before a biometric prompt), and the same text is on screen anyway. What
//! they reveal to someone holding the file is which services use two-factor sign-in, not how to
//! pass it. Everything that can produce a code or answer a sign-in is sealed: OATH secrets and
//! URIs, HOTP counters (sealed so they cannot be wound back without the key), and for push
//! accounts the device keys, server keys and tokens.
//!
//! A vault that fails to open is reported ([`VaultError::Corrupt`], key-store errors) and never
//! deleted, recreated or migrated in a way that loses data: new vaults are built under a temporary
//! name and renamed into place, so an existing file is always a complete vault or not ours.
//!
//! One connection serves all calls, behind a mutex: there is one writer, and every HOTP
//! advance commits before its code is returned. Foreign code (the key store) is never called
//! with the mutex held.

mod error;
mod payload;
mod push;
pub mod schema;

pub use error::{AccountId, VaultError};
pub use payload::{OpenpushSecret, PipushSecret};
pub use push::SeenChallenge;

use crate::crypto::{DataKey, OpenError, SecretBytes, random_bytes};
use crate::otp::{OtpCode, OtpKind, TimedCode};
use crate::platform::KeyStore;
use crate::uri::OtpAccount;
use payload::{Purpose, Sealed, aad};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use zeroize::Zeroizing;

type Result<T, E = VaultError> = std::result::Result<T, E>;

/// Longest issuer, account or group name stored (characters).
pub const MAX_NAME_CHARS: usize = 256;
const KEY_CHECK_PLAINTEXT: &[u8] = b"countersign vault key check";
const VAULT_ID_LEN: usize = 16;

/// What kind of account a row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountKind {
    /// An OATH (HOTP/TOTP/Steam) account.
    Oath,
    /// An account activated with the openpush/1 protocol.
    PushOpenpush,
    /// A privacyIDEA push token.
    PushPrivacyidea,
}

impl AccountKind {
    fn as_sql(self) -> &'static str {
        match self {
            Self::Oath => "oath",
            Self::PushOpenpush => "push-openpush",
            Self::PushPrivacyidea => "push-privacyidea",
        }
    }

    fn from_sql(s: &str) -> Option<Self> {
        match s {
            "oath" => Some(Self::Oath),
            "push-openpush" => Some(Self::PushOpenpush),
            "push-privacyidea" => Some(Self::PushPrivacyidea),
            _ => None,
        }
    }
}

/// The plaintext description of an account (available while locked).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountSummary {
    /// Row id (stable for the life of the account).
    pub id: AccountId,
    /// Kind of account.
    pub kind: AccountKind,
    /// Issuer (service name).
    pub issuer: Option<String>,
    /// Account name at the issuer.
    pub name: String,
    /// Position in the user's order (0-based, ties broken by id).
    pub position: i64,
    /// Groups the account belongs to, by name.
    pub groups: Vec<String>,
    /// Icon reference (an icon-pack id or URL; fetching is the shell's choice).
    pub icon: Option<String>,
    /// Unix seconds when added.
    pub created_at: u64,
    /// Unix seconds of the last code use recorded with [`Vault::touch`].
    pub last_used_at: Option<u64>,
}

/// The code state of one account for an account list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeState {
    /// A time-based code with its window (and the next code).
    Timed {
        /// TOTP or Steam, with the period.
        kind: OtpKind,
        /// The code and its window.
        code: TimedCode,
    },
    /// An HOTP account: no code is shown until the user asks for the next one.
    CounterBased {
        /// The counter the next code will use.
        counter: u64,
    },
    /// Not an OATH account (push-only).
    NoCode,
    /// The sealed data did not open (see [`Vault::check`]); the other accounts are unaffected.
    Unreadable,
}

/// One row of [`Vault::codes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCode {
    /// The account.
    pub account: AccountSummary,
    /// Its code.
    pub state: CodeState,
}

/// An HOTP code handed out by [`Vault::next_hotp`], with the counter that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedHotp {
    /// The code.
    pub code: OtpCode,
    /// The counter value used (already persisted as used).
    pub counter: u64,
}

/// Result of [`Vault::check`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IntegrityReport {
    /// `PRAGMA integrity_check` and `foreign_key_check` passed.
    pub database_ok: bool,
    /// What SQLite reported, when not ok.
    pub database_messages: Vec<String>,
    /// Accounts whose sealed data was opened and parsed.
    pub accounts_checked: usize,
    /// Accounts whose sealed data did not open or parse.
    pub unreadable: Vec<AccountId>,
    /// Schema version.
    pub schema_version: u32,
    /// Kind of key store holding the data key.
    pub key_store: String,
}

impl IntegrityReport {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.database_ok && self.unreadable.is_empty()
    }
}

/// An open vault.
pub struct Vault {
    path: PathBuf,
    conn: Mutex<Connection>,
    vault_id: Vec<u8>,
    key: RwLock<Option<Arc<DataKey>>>,
    key_store: RwLock<Arc<dyn KeyStore>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .field("locked", &self.is_locked())
            .finish_non_exhaustive()
    }
}

fn now_or(at: u64) -> i64 {
    i64::try_from(at).unwrap_or(i64::MAX)
}

fn clean(name: &str, what: &str) -> Result<String> {
    let t = name.trim();
    if t.chars().count() > MAX_NAME_CHARS {
        return Err(VaultError::InvalidInput(format!(
            "the {what} is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(VaultError::InvalidInput(format!(
            "the {what} contains control characters"
        )));
    }
    Ok(t.to_string())
}

/// Cleans group names; an empty one is refused.
fn group_names(groups: &[String]) -> Result<Vec<String>> {
    let names: Vec<String> = groups
        .iter()
        .map(|g| clean(g, "group name"))
        .collect::<Result<_>>()?;
    if names.iter().any(String::is_empty) {
        return Err(VaultError::InvalidInput("a group name is empty".into()));
    }
    Ok(names)
}

/// One account of [`Vault::add_oath_batch`].
#[derive(Debug, Clone, Copy)]
pub struct BatchEntry<'a> {
    /// The account (its `Debug` shows no secret).
    pub account: &'a OtpAccount,
    /// Groups to put it in (may be empty).
    pub groups: &'a [String],
}

/// What [`Vault::add_oath_batch`] did with one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Added; if its groups were refused, why (the account was added without them).
    Added {
        /// The new account's id.
        id: AccountId,
        /// Why the groups were not set, if they were not.
        groups_refused: Option<String>,
    },
    /// Not added, and why (the same reasons [`Vault::add_oath`] gives).
    Refused(String),
}

fn configure(conn: &Connection) -> Result<()> {
    // journal_mode returns a row; the others do not.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(VaultError::Storage(format!(
            "the file system does not support WAL (journal mode {mode})"
        )));
    }
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA synchronous = FULL;
         PRAGMA temp_store = MEMORY;",
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

#[cfg(unix)]
fn owner_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| VaultError::Storage(format!("cannot restrict permissions: {e}")))
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> Result<()> {
    Ok(())
}

impl Vault {
    /// Creates a new vault at `path` (its directory is created if needed) with a fresh data key
    /// wrapped by `key_store`, and returns it unlocked. Refuses to touch an existing file.
    pub fn create(path: &Path, key_store: Arc<dyn KeyStore>) -> Result<Self> {
        if path.exists() {
            return Err(VaultError::AlreadyExists(path.display().to_string()));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                VaultError::Storage(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let data_key = DataKey::generate().map_err(|e| VaultError::Storage(e.to_string()))?;
        // Foreign calls before any lock or file exists. The store must give back what it
        // wrapped: a store that cannot would produce a vault that never opens again.
        let store_kind = key_store.kind();
        let wrapped = key_store.wrap(data_key.expose())?;
        if &key_store.unwrap(&wrapped)? != data_key.expose() {
            return Err(crate::platform::KeyStoreError::Failed(
                "the key store did not return the key it wrapped".into(),
            )
            .into());
        }
        let vault_id =
            random_bytes(VAULT_ID_LEN).map_err(|e| VaultError::Storage(e.to_string()))?;
        let check = data_key
            .seal(
                &aad(vault_id.expose(), Purpose::KeyCheck, 0),
                KEY_CHECK_PLAINTEXT,
            )
            .map_err(|e| VaultError::Storage(e.to_string()))?;

        let suffix = data_encoding::HEXLOWER.encode(
            random_bytes(6)
                .map_err(|e| VaultError::Storage(e.to_string()))?
                .expose(),
        );
        let tmp = path.with_file_name(format!(
            ".{}.creating-{suffix}",
            path.file_name()
                .map_or("vault".into(), |n| n.to_string_lossy())
        ));
        let build = || -> Result<()> {
            let mut conn = Connection::open(&tmp)?;
            owner_only(&tmp)?;
            conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL;")?;
            schema::migrate(&mut conn, 0, schema::LATEST)?;
            let tx = conn.transaction()?;
            for (k, v) in [
                ("vault_id", vault_id.expose().to_vec()),
                ("key_store", store_kind.clone().into_bytes()),
                ("wrapped_data_key", wrapped.clone()),
                ("key_check", check.clone()),
            ] {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )?;
            }
            tx.commit()?;
            drop(conn);
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| VaultError::Storage(e.to_string()))?;
            std::fs::rename(&tmp, path).map_err(|e| VaultError::Storage(e.to_string()))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // Make the rename durable; not all platforms can open a directory.
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            Ok(())
        };
        if let Err(e) = build() {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        tracing::info!(path = %path.display(), key_store = %store_kind, "created vault");
        // The kind is not asked again: a store is foreign code and is called as little as
        // possible (and never twice for the same answer).
        let vault = Self::open_locked_as(path, key_store, store_kind)?;
        vault.install_key(data_key)?;
        Ok(vault)
    }

    /// Opens an existing vault and unlocks it with `key_store`.
    pub fn open(path: &Path, key_store: Arc<dyn KeyStore>) -> Result<Self> {
        let v = Self::open_locked(path, key_store)?;
        v.unlock()?;
        Ok(v)
    }

    /// Opens an existing vault, or creates one if there is no file at `path`.
    pub fn open_or_create(path: &Path, key_store: Arc<dyn KeyStore>) -> Result<Self> {
        if path.exists() {
            Self::open(path, key_store)
        } else {
            Self::create(path, key_store)
        }
    }

    /// Opens an existing vault without unlocking it (the list works; codes need
    /// [`Vault::unlock`]). Migrates an older schema forward in one transaction.
    pub fn open_locked(path: &Path, key_store: Arc<dyn KeyStore>) -> Result<Self> {
        let kind = key_store.kind();
        Self::open_locked_as(path, key_store, kind)
    }

    fn open_locked_as(
        path: &Path,
        key_store: Arc<dyn KeyStore>,
        given_kind: String,
    ) -> Result<Self> {
        if !path.exists() {
            return Err(VaultError::NotFound(path.display().to_string()));
        }
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Identify the file before changing anything in it: switching to WAL or migrating
        // writes to the file, and a file that is not ours must be left byte-for-byte alone.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version = schema::version(&conn)?;
        if version == 0 {
            return Err(VaultError::Corrupt(
                "no Countersign schema in the file".into(),
            ));
        }
        if version > schema::LATEST {
            return Err(VaultError::NewerFormat {
                found: version,
                supported: schema::LATEST,
            });
        }
        let ours: Option<Vec<u8>> = conn
            .query_row("SELECT value FROM meta WHERE key = 'vault_id'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|_| VaultError::Corrupt("not a Countersign vault (no key records)".into()))?;
        if ours.is_none() {
            return Err(VaultError::Corrupt(
                "not a Countersign vault (no vault id)".into(),
            ));
        }
        configure(&conn)?;
        if version < schema::LATEST {
            tracing::info!(
                from = version,
                to = schema::LATEST,
                "migrating vault schema"
            );
            schema::migrate(&mut conn, version, schema::LATEST)?;
        }
        let meta = |k: &str| -> Result<Vec<u8>> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?
                .ok_or_else(|| VaultError::Corrupt(format!("the `{k}` record is missing")))
        };
        let vault_id = meta("vault_id")?;
        let stored_kind = String::from_utf8_lossy(&meta("key_store")?).into_owned();
        if stored_kind != given_kind {
            return Err(VaultError::KeyStoreMismatch {
                vault: stored_kind,
                given: given_kind,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            vault_id,
            key: RwLock::new(None),
            key_store: RwLock::new(key_store),
        })
    }

    /// Where the vault lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        // A poisoned lock only means another thread panicked mid-call; SQLite's own
        // transactions keep the file consistent, so carry on with the connection.
        Ok(self.conn.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn meta(&self, k: &str) -> Result<Vec<u8>> {
        self.conn()?
            .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .optional()?
            .ok_or_else(|| VaultError::Corrupt(format!("the `{k}` record is missing")))
    }

    fn key_store(&self) -> Arc<dyn KeyStore> {
        self.key_store
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn data_key(&self) -> Result<Arc<DataKey>> {
        self.key
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(VaultError::Locked)
    }

    /// Checks `key` against the vault's key-check blob and keeps it.
    fn install_key(&self, key: DataKey) -> Result<()> {
        let check = self.meta("key_check")?;
        match key.open(&aad(&self.vault_id, Purpose::KeyCheck, 0), &check) {
            Ok(p) if p.expose() == KEY_CHECK_PLAINTEXT => {}
            _ => return Err(crate::platform::KeyStoreError::WrongKey.into()),
        }
        *self.key.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(key));
        Ok(())
    }

    /// True while the data key is not in memory.
    pub fn is_locked(&self) -> bool {
        self.key.read().map_or(true, |k| k.is_none())
    }

    /// Drops the data key (zeroized once no call still uses it).
    pub fn lock(&self) {
        *self.key.write().unwrap_or_else(|p| p.into_inner()) = None;
        tracing::debug!("vault locked");
    }

    /// Asks the key store to unwrap the data key again.
    pub fn unlock(&self) -> Result<()> {
        let wrapped = self.meta("wrapped_data_key")?;
        let store = self.key_store();
        let raw = store.unwrap(&wrapped)?; // foreign call, no lock held
        let key = DataKey::from_secret(raw)
            .map_err(|_| VaultError::KeyStore(crate::platform::KeyStoreError::WrongKey))?;
        self.install_key(key)?;
        tracing::debug!("vault unlocked");
        Ok(())
    }

    /// Wraps the data key under `new_store` and makes it the vault's key store. The vault must
    /// be unlocked. The old wrapped key is replaced in one transaction.
    pub fn rewrap(&self, new_store: Arc<dyn KeyStore>) -> Result<()> {
        let key = self.data_key()?;
        let wrapped = new_store.wrap(key.expose())?; // foreign call, no lock held
        let check = new_store.unwrap(&wrapped)?;
        if &check != key.expose() {
            return Err(VaultError::KeyStore(
                crate::platform::KeyStoreError::Failed(
                    "the new key store did not return the key it wrapped".into(),
                ),
            ));
        }
        {
            let mut conn = self.conn()?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'wrapped_data_key'",
                [&wrapped],
            )?;
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'key_store'",
                [new_store.kind().as_bytes()],
            )?;
            tx.commit()?;
        }
        *self.key_store.write().unwrap_or_else(|p| p.into_inner()) = new_store;
        tracing::info!("vault key re-wrapped");
        Ok(())
    }

    fn seal(&self, key: &DataKey, row: AccountId, sealed: &Sealed) -> Result<Vec<u8>> {
        let bytes = sealed
            .to_bytes()
            .map_err(|e| VaultError::Storage(format!("serialising a payload: {e}")))?;
        key.seal(&aad(&self.vault_id, Purpose::AccountSecret, row), &bytes)
            .map_err(|e| VaultError::Storage(e.to_string()))
    }

    fn open_plain(&self, key: &DataKey, row: AccountId, blob: &[u8]) -> Result<SecretBytes> {
        key.open(&aad(&self.vault_id, Purpose::AccountSecret, row), blob)
            .map_err(|e: OpenError| {
                tracing::warn!(account = row, error = %e, "sealed account data did not open");
                VaultError::Unreadable(row)
            })
    }

    fn open_blob(&self, key: &DataKey, row: AccountId, blob: &[u8]) -> Result<Sealed> {
        let plain = self.open_plain(key, row, blob)?;
        Sealed::from_bytes(plain.expose()).ok_or(VaultError::Unreadable(row))
    }

    /// The account in an OATH payload. The list takes the decoded parameters when present
    /// (cheap); detail and export take the URI (lossless).
    fn oath_from(sealed: Sealed, row: AccountId, summary: &AccountSummary) -> Result<OtpAccount> {
        Self::oath_from_with(sealed, row, summary, true)
    }

    fn oath_from_with(
        sealed: Sealed,
        row: AccountId,
        summary: &AccountSummary,
        lossless: bool,
    ) -> Result<OtpAccount> {
        let Sealed::Oath {
            uri,
            counter,
            params,
        } = sealed
        else {
            return Err(VaultError::Unreadable(row));
        };
        if let (false, Some(p)) = (lossless, params) {
            return p
                .account(summary.issuer.clone(), summary.name.clone(), counter)
                .ok_or(VaultError::Unreadable(row));
        }
        let mut account = OtpAccount::parse(&uri).map_err(|_| VaultError::Unreadable(row))?;
        if let Some(c) = counter {
            account.set_counter(c);
        }
        account.set_names(summary.issuer.clone(), summary.name.clone());
        Ok(account)
    }

    /// Adds an OATH account at the end of the list; returns its id. `now` is Unix seconds.
    pub fn add_oath(&self, account: &OtpAccount, now: u64) -> Result<AccountId> {
        let key = self.data_key()?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = self.insert_oath(&tx, &key, account, now)?;
        tx.commit()?;
        tracing::debug!(account = id, kind = account.kind().name(), "added account");
        Ok(id)
    }

    /// Adds many OATH accounts, each with its groups, in one transaction: one durable write
    /// for the whole batch instead of one or two per account (an import of 1,000 accounts), and
    /// all or nothing if the disk fails. An entry the vault refuses (a name too long, control
    /// characters) is reported in its [`BatchOutcome`] and the rest still go in; an entry whose
    /// groups are refused is added without them.
    ///
    /// # Errors
    /// [`VaultError::Locked`] and storage errors; then nothing was added.
    pub fn add_oath_batch(
        &self,
        entries: &[BatchEntry<'_>],
        now: u64,
    ) -> Result<Vec<BatchOutcome>> {
        let key = self.data_key()?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let id = match self.insert_oath(&tx, &key, e.account, now) {
                Ok(id) => id,
                Err(VaultError::InvalidInput(reason)) => {
                    out.push(BatchOutcome::Refused(reason));
                    continue;
                }
                Err(other) => return Err(other),
            };
            let groups_refused = match group_names(e.groups) {
                Ok(names) => {
                    Self::put_groups(&tx, id, &names)?;
                    None
                }
                Err(VaultError::InvalidInput(reason)) => Some(reason),
                Err(other) => return Err(other),
            };
            out.push(BatchOutcome::Added { id, groups_refused });
        }
        tx.commit()?;
        tracing::debug!(accounts = entries.len(), "added a batch of accounts");
        Ok(out)
    }

    /// Whether [`Vault::add_oath`] would accept `account`'s names (length, no control
    /// characters), without touching the file: lets an importer report a refused entry before
    /// it counts as the original of later duplicates.
    ///
    /// # Errors
    /// [`VaultError::InvalidInput`] with the reason `add_oath` would give.
    pub fn check_oath_names(account: &OtpAccount) -> Result<()> {
        Self::oath_names(account).map(|_| ())
    }

    /// The cleaned issuer and account name, or why they are refused.
    fn oath_names(account: &OtpAccount) -> Result<(Option<String>, String)> {
        let issuer = account.issuer().map(|i| clean(i, "issuer")).transpose()?;
        let name = clean(account.account_name(), "account name")?;
        Ok((issuer, name))
    }

    /// Inserts and seals one OATH account inside `tx`.
    fn insert_oath(
        &self,
        tx: &Connection,
        key: &DataKey,
        account: &OtpAccount,
        now: u64,
    ) -> Result<AccountId> {
        let (issuer, name) = Self::oath_names(account)?;
        let counter = match account.kind() {
            OtpKind::Hotp { counter } => Some(counter),
            _ => None,
        };
        let uri = match account.raw_uri() {
            Some(raw) => Zeroizing::new(raw.to_string()),
            None => account.to_uri(),
        };
        let sealed = Sealed::Oath {
            uri,
            counter,
            params: Some(payload::OathParams::of(account)),
        };
        tx.execute(
            "INSERT INTO accounts (kind, issuer, name, position, created_at, sealed, icon)
             VALUES (?5, ?1, ?2, (SELECT COALESCE(MAX(position) + 1, 0) FROM accounts), ?3, x'', ?4)",
            params![issuer, name, now_or(now), account.image(), AccountKind::Oath.as_sql()],
        )?;
        let id = tx.last_insert_rowid();
        let blob = self.seal(key, id, &sealed)?;
        tx.execute(
            "UPDATE accounts SET sealed = ?1 WHERE id = ?2",
            params![blob, id],
        )?;
        Ok(id)
    }

    fn summaries(
        conn: &Connection,
        only: Option<AccountId>,
    ) -> Result<Vec<(AccountSummary, Vec<u8>)>> {
        let mut stmt = conn.prepare_cached(
            "SELECT a.id, a.kind, a.issuer, a.name, a.position, a.icon, a.created_at,
                    a.last_used_at, a.sealed
             FROM accounts a
             WHERE ?1 IS NULL OR a.id = ?1
             ORDER BY a.position, a.id",
        )?;
        // Group memberships in one pass (a correlated subquery per row cost more than the rows).
        let mut groups_of: std::collections::HashMap<AccountId, Vec<String>> =
            std::collections::HashMap::new();
        let mut gstmt = conn.prepare_cached(
            "SELECT ag.account_id, g.name FROM account_groups ag JOIN groups g ON g.id = ag.group_id
             WHERE ?1 IS NULL OR ag.account_id = ?1
             ORDER BY g.position, g.name",
        )?;
        for row in gstmt.query_map([only], |r| {
            Ok((r.get::<_, AccountId>(0)?, r.get::<_, String>(1)?))
        })? {
            let (id, name) = row?;
            groups_of.entry(id).or_default().push(name);
        }
        let rows = stmt.query_map([only], |r| {
            let kind: String = r.get(1)?;
            Ok((
                kind,
                AccountSummary {
                    id: r.get(0)?,
                    kind: AccountKind::Oath,
                    issuer: r.get(2)?,
                    name: r.get(3)?,
                    position: r.get(4)?,
                    icon: r.get(5)?,
                    created_at: u64::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
                    last_used_at: r
                        .get::<_, Option<i64>>(7)?
                        .map(|t| u64::try_from(t).unwrap_or(0)),
                    groups: Vec::new(),
                },
                r.get::<_, Vec<u8>>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, mut summary, blob) = row?;
            summary.kind = AccountKind::from_sql(&kind)
                .ok_or_else(|| VaultError::Corrupt(format!("unknown account kind `{kind}`")))?;
            summary.groups = groups_of.remove(&summary.id).unwrap_or_default();
            out.push((summary, blob));
        }
        Ok(out)
    }

    /// All accounts in the user's order (works while locked).
    pub fn list(&self) -> Result<Vec<AccountSummary>> {
        Ok(Self::summaries(&*self.conn()?, None)?
            .into_iter()
            .map(|(s, _)| s)
            .collect())
    }

    /// One account's description.
    pub fn summary(&self, id: AccountId) -> Result<AccountSummary> {
        Self::summaries(&*self.conn()?, Some(id))?
            .pop()
            .map(|(s, _)| s)
            .ok_or(VaultError::NoSuchAccount(id))
    }

    /// The decrypted OATH account (for export and detail screens).
    pub fn oath_account(&self, id: AccountId) -> Result<OtpAccount> {
        let key = self.data_key()?;
        let (summary, blob) = Self::summaries(&*self.conn()?, Some(id))?
            .pop()
            .ok_or(VaultError::NoSuchAccount(id))?;
        if summary.kind != AccountKind::Oath {
            return Err(VaultError::WrongKind {
                id,
                expected: "an OATH account",
            });
        }
        Self::oath_from(self.open_blob(&key, id, &blob)?, id, &summary)
    }

    /// Every account's current code at Unix time `at`, in list order. An account whose data
    /// does not open is reported as [`CodeState::Unreadable`]; the rest still get codes.
    pub fn codes(&self, at: u64) -> Result<Vec<AccountCode>> {
        let key = self.data_key()?;
        let rows = Self::summaries(&*self.conn()?, None)?; // lock released here
        Ok(rows
            .into_iter()
            .map(|(account, blob)| {
                let state = match account.kind {
                    AccountKind::Oath => self.oath_state(&key, &account, &blob, at),
                    AccountKind::PushOpenpush => self.openpush_state(&key, &account, &blob, at),
                    AccountKind::PushPrivacyidea => CodeState::NoCode,
                };
                AccountCode { account, state }
            })
            .collect())
    }

    fn oath_state(&self, key: &DataKey, s: &AccountSummary, blob: &[u8], at: u64) -> CodeState {
        let Ok(plain) = self.open_plain(key, s.id, blob) else {
            return CodeState::Unreadable;
        };
        // The list's path: read the decoded parameters and skip the URI (no copy of it).
        let fast = match payload::ListView::from_bytes(plain.expose()) {
            Some(payload::ListView::Oath {
                counter,
                params: Some(p),
            }) => p.account(s.issuer.clone(), s.name.clone(), counter),
            _ => None,
        };
        let account = match fast.map(Ok).unwrap_or_else(|| {
            Sealed::from_bytes(plain.expose())
                .ok_or(VaultError::Unreadable(s.id))
                .and_then(|sealed| Self::oath_from_with(sealed, s.id, s, false))
        }) {
            Ok(a) => a,
            Err(_) => return CodeState::Unreadable,
        };
        match account.kind() {
            OtpKind::Hotp { counter } => CodeState::CounterBased { counter },
            kind => match account.code_at(at) {
                Ok(code) => CodeState::Timed { kind, code },
                Err(_) => CodeState::Unreadable,
            },
        }
    }

    /// Hands out the next HOTP code of account `id`: the counter is advanced and committed
    /// before the code is returned, so no counter value is ever handed out twice.
    pub fn next_hotp(&self, id: AccountId, now: u64) -> Result<IssuedHotp> {
        let key = self.data_key()?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (summary, blob) = Self::summaries(&tx, Some(id))?
            .pop()
            .ok_or(VaultError::NoSuchAccount(id))?;
        if summary.kind != AccountKind::Oath {
            return Err(VaultError::WrongKind {
                id,
                expected: "an HOTP account",
            });
        }
        let sealed = self.open_blob(&key, id, &blob)?;
        let Sealed::Oath { uri, params, .. } = &sealed else {
            return Err(VaultError::WrongKind {
                id,
                expected: "an HOTP account",
            });
        };
        let (uri, params) = (uri.clone(), params.clone());
        let account = Self::oath_from_with(sealed, id, &summary, false)?;
        let OtpKind::Hotp { counter } = account.kind() else {
            return Err(VaultError::WrongKind {
                id,
                expected: "an HOTP account",
            });
        };
        let next = counter
            .checked_add(1)
            .ok_or(VaultError::CounterExhausted(id))?;
        let code = account.code_at_counter(counter);
        let blob = self.seal(
            &key,
            id,
            &Sealed::Oath {
                uri,
                counter: Some(next),
                params,
            },
        )?;
        tx.execute(
            "UPDATE accounts SET sealed = ?1, last_used_at = ?2 WHERE id = ?3",
            params![blob, now_or(now), id],
        )?;
        tx.commit()?;
        tracing::debug!(account = id, "advanced HOTP counter");
        Ok(IssuedHotp { code, counter })
    }

    fn exists(conn: &Connection, id: AccountId) -> Result<()> {
        let found: Option<i64> = conn
            .query_row("SELECT id FROM accounts WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        found.map(|_| ()).ok_or(VaultError::NoSuchAccount(id))
    }

    /// Renames an account (issuer and account name).
    pub fn rename(&self, id: AccountId, issuer: Option<&str>, name: &str) -> Result<()> {
        let issuer = issuer
            .map(|i| clean(i, "issuer"))
            .transpose()?
            .filter(|i| !i.is_empty());
        let name = clean(name, "account name")?;
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE accounts SET issuer = ?1, name = ?2 WHERE id = ?3",
            params![issuer, name, id],
        )?;
        if n == 0 {
            return Err(VaultError::NoSuchAccount(id));
        }
        Ok(())
    }

    /// Records that a code of `id` was used (copied) at `now`, for "recently used" sorting.
    pub fn touch(&self, id: AccountId, now: u64) -> Result<()> {
        let n = self.conn()?.execute(
            "UPDATE accounts SET last_used_at = ?1 WHERE id = ?2",
            params![now_or(now), id],
        )?;
        if n == 0 {
            return Err(VaultError::NoSuchAccount(id));
        }
        Ok(())
    }

    /// Sets the order: `ids` must name every account exactly once.
    pub fn reorder(&self, ids: &[AccountId]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut all: Vec<AccountId> = tx
            .prepare("SELECT id FROM accounts")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut given = ids.to_vec();
        all.sort_unstable();
        given.sort_unstable();
        if all != given {
            return Err(VaultError::InvalidInput(
                "a new order must list every account exactly once".into(),
            ));
        }
        for (pos, id) in ids.iter().enumerate() {
            tx.execute(
                "UPDATE accounts SET position = ?1 WHERE id = ?2",
                params![pos as i64, id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Puts account `id` in exactly the named groups (created as needed; unused groups are
    /// removed).
    pub fn set_groups(&self, id: AccountId, groups: &[String]) -> Result<()> {
        let names = group_names(groups)?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        Self::exists(&tx, id)?;
        tx.execute("DELETE FROM account_groups WHERE account_id = ?1", [id])?;
        Self::put_groups(&tx, id, &names)?;
        tx.execute(
            "DELETE FROM groups WHERE id NOT IN (SELECT group_id FROM account_groups)",
            [],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Adds account `id` to the (already cleaned) named groups, creating them as needed.
    fn put_groups(conn: &Connection, id: AccountId, names: &[String]) -> Result<()> {
        for name in names {
            conn.execute(
                "INSERT INTO groups (name, position)
                 VALUES (?1, (SELECT COALESCE(MAX(position) + 1, 0) FROM groups))
                 ON CONFLICT(name) DO NOTHING",
                [name],
            )?;
            conn.execute(
                "INSERT OR IGNORE INTO account_groups (account_id, group_id)
                 SELECT ?1, id FROM groups WHERE name = ?2",
                params![id, name],
            )?;
        }
        Ok(())
    }

    /// Deletes an account. `secure_delete` overwrites the freed pages, and the WAL is
    /// checkpointed and truncated so no copy of the sealed blob lingers there either.
    pub fn delete(&self, id: AccountId) -> Result<()> {
        let conn = self.conn()?;
        let n = conn.execute("DELETE FROM accounts WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(VaultError::NoSuchAccount(id));
        }
        conn.execute(
            "DELETE FROM groups WHERE id NOT IN (SELECT group_id FROM account_groups)",
            [],
        )?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        tracing::debug!(account = id, "deleted account");
        Ok(())
    }

    /// Checks the database and tries to open every sealed blob (needs the vault unlocked).
    pub fn check(&self) -> Result<IntegrityReport> {
        let key = self.data_key()?;
        let (messages, fk_problems, version, rows) = {
            let conn = self.conn()?;
            let messages: Vec<String> = conn
                .prepare("PRAGMA integrity_check")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let fk: usize = conn
                .prepare("PRAGMA foreign_key_check")?
                .query_map([], |_| Ok(()))?
                .count();
            (
                messages,
                fk,
                schema::version(&conn)?,
                Self::summaries(&conn, None)?,
            )
        };
        let database_ok = messages == ["ok"] && fk_problems == 0;
        let mut unreadable = Vec::new();
        for (s, blob) in &rows {
            let ok = match s.kind {
                AccountKind::Oath => self
                    .open_blob(&key, s.id, blob)
                    .and_then(|sealed| Self::oath_from(sealed, s.id, s))
                    .is_ok(),
                _ => self.open_blob(&key, s.id, blob).is_ok(),
            };
            if !ok {
                unreadable.push(s.id);
            }
        }
        Ok(IntegrityReport {
            database_ok,
            database_messages: if database_ok { Vec::new() } else { messages },
            accounts_checked: rows.len(),
            unreadable,
            schema_version: version,
            key_store: self.key_store().kind(),
        })
    }
}

#[cfg(test)]
mod tests;
