//! Moving accounts in and out of the vault: foreign exports, plain URI lists, Google
//! Authenticator transfer codes and Countersign's own encrypted backup.
//!
//! Each format has its own module and parses into the same shape, [`Parsed`]: the accounts it
//! could read, and one [`EntryFailure`] per entry it could not (with the entry's position and a
//! reason that never quotes a secret). A bad entry never stops the others. [`import_parsed`]
//! then adds what is new to the vault and reports duplicates (same secret, issuer and account
//! name, already in the vault or earlier in the same file) instead of adding them twice.
//!
//! Whole-file problems (a wrong password, a truncated or modified file, a version we do not
//! read, key-derivation parameters out of bounds) are a [`TransferError`] and import nothing.
//!
//! Export reads every OATH account from the vault. Push-activated accounts are skipped and
//! reported: their keys are bound to this device and its server registration.

pub mod aegis;
pub mod backup;
pub mod google;
pub mod twofas;
pub mod uris;

use crate::crypto::sha256;
use crate::uri::OtpAccount;
use crate::vault::{AccountId, AccountKind, BatchEntry, BatchOutcome, Vault, VaultError};
use serde::Serialize;
use std::collections::HashMap;
use zeroize::Zeroizing;

/// Largest file an importer reads (an Aegis vault with embedded icons can be several MiB).
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;
/// Most entries read from one file.
pub const MAX_ENTRIES: usize = 10_000;

/// The formats Countersign reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportFormat {
    /// Google Authenticator transfer links (`otpauth-migration://offline?data=…`), one a line.
    Google,
    /// An Aegis vault export (`.json`), plain or encrypted.
    Aegis,
    /// A 2FAS backup (`.2fas`), plain or encrypted.
    TwoFas,
    /// Plain `otpauth://` URIs, one a line (Ente, FreeOTP+, Aegis and others export these).
    Uris,
    /// A Countersign encrypted backup (docs/backup.md).
    Backup,
}

impl ImportFormat {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Aegis => "aegis",
            Self::TwoFas => "2fas",
            Self::Uris => "uris",
            Self::Backup => "backup",
        }
    }
}

/// Why a whole file could not be imported or exported. Nothing was added to the vault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The file is encrypted and no password was given.
    #[error("this file is encrypted: a password is needed")]
    PasswordRequired,
    /// The password did not open the file (or the file was modified: the cipher cannot tell).
    #[error("wrong password, or the file was modified")]
    WrongPassword,
    /// The password was right but the encrypted content failed authentication.
    #[error("the file's encrypted content failed authentication: it was modified or is damaged")]
    Tampered,
    /// Not a valid file of the format.
    #[error("not a valid {format} file: {reason}")]
    Malformed {
        /// The format expected.
        format: &'static str,
        /// What is wrong (never file content).
        reason: String,
    },
    /// A version of the format this build does not read.
    #[error("{format} version {found} is not supported (this build reads up to {supported})")]
    UnsupportedVersion {
        /// The format.
        format: &'static str,
        /// Version in the file.
        found: i64,
        /// Newest version read.
        supported: i64,
    },
    /// Something the format allows but Countersign cannot do.
    #[error("{0}")]
    Unsupported(String),
    /// Key-derivation parameters outside the bounds we run (a hostile file could otherwise
    /// demand gigabytes of memory or hours of work).
    #[error("the file's key-derivation parameters are out of bounds ({0}); refusing to run them")]
    KdfOutOfBounds(String),
    /// Larger than [`MAX_IMPORT_BYTES`] or more than [`MAX_ENTRIES`] entries.
    #[error("the file is too large ({0})")]
    TooLarge(String),
    /// Auto-detection found no known format.
    #[error("could not tell the file's format; name it (google, aegis, 2fas, uris or backup)")]
    UnknownFormat,
    /// Bad arguments (a retention count of zero, an empty password).
    #[error("{0}")]
    InvalidInput(String),
    /// Reading or writing a file failed.
    #[error("cannot write {path}: {reason}")]
    Io {
        /// The file or directory.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A cryptographic primitive failed (random source).
    #[error(transparent)]
    Crypto(#[from] crate::Error),
    /// The vault refused (locked, storage failure).
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// An account read from a file, with its groups and position in the file.
pub struct ImportedAccount {
    /// The account (its `Debug` never shows the secret).
    pub account: OtpAccount,
    /// Group names from the file (may be empty).
    pub groups: Vec<String>,
    /// 1-based position of the entry in the file (a line number for line-based formats).
    pub index: usize,
}

impl std::fmt::Debug for ImportedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedAccount")
            .field("index", &self.index)
            .field("account", &self.account)
            .field("groups", &self.groups)
            .finish()
    }
}

/// An entry that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryFailure {
    /// 1-based position in the file (line number for line-based formats).
    pub index: usize,
    /// Issuer and account name when they could be read (shortened, never the secret).
    pub label: Option<String>,
    /// Why, in words (never the secret).
    pub reason: String,
}

/// A Google Authenticator export whose codes were not all given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchGap {
    /// The export's batch id.
    pub batch_id: i32,
    /// Codes in the export.
    pub batch_size: u32,
    /// 0-based indices not seen (show them to people as 1-based: "code 2 of 3").
    pub missing: Vec<u32>,
}

/// What a format module read from a file.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Accounts read.
    pub accounts: Vec<ImportedAccount>,
    /// Entries that could not be read.
    pub failures: Vec<EntryFailure>,
    /// Google batches with codes missing.
    pub missing_batches: Vec<BatchGap>,
}

/// An account added by an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedEntry {
    /// Position in the file.
    pub index: usize,
    /// The new vault id.
    pub id: AccountId,
    /// Issuer.
    pub issuer: Option<String>,
    /// Account name.
    pub name: String,
}

/// An entry not added because the same account exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateEntry {
    /// Position in the file.
    pub index: usize,
    /// Issuer.
    pub issuer: Option<String>,
    /// Account name.
    pub name: String,
    /// The vault account it duplicates; `None` when it repeats an earlier entry of the same
    /// file (which was imported, or itself a duplicate).
    pub existing_id: Option<AccountId>,
}

/// The outcome of an import or restore. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The format read.
    pub format: ImportFormat,
    /// Accounts added.
    pub imported: Vec<ImportedEntry>,
    /// Entries skipped as duplicates.
    pub duplicates: Vec<DuplicateEntry>,
    /// Entries that could not be read or stored.
    pub failed: Vec<EntryFailure>,
    /// Google exports with codes still to scan.
    pub missing_batches: Vec<BatchGap>,
}

/// An account export or backup left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedEntry {
    /// Vault id.
    pub id: AccountId,
    /// Issuer.
    pub issuer: Option<String>,
    /// Account name.
    pub name: String,
    /// Why it was left out.
    pub reason: String,
}

/// Reason given for push-activated accounts in every export.
pub const PUSH_NOT_EXPORTABLE: &str =
    "push-activated account: its keys are bound to this device and cannot be exported";

/// A secret-bearing string field read from JSON: kept in a zeroizing buffer; any other JSON
/// type is remembered only as "not a string".
pub(crate) enum SecretText {
    /// A JSON string.
    Text(Zeroizing<String>),
    /// Any other JSON value.
    NotText,
}

impl<'de> serde::Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SecretText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<SecretText, E> {
                Ok(SecretText::Text(Zeroizing::new(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<SecretText, E> {
                Ok(SecretText::Text(Zeroizing::new(v)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<SecretText, E> {
                Ok(SecretText::NotText)
            }
            fn visit_i64<E>(self, _: i64) -> Result<SecretText, E> {
                Ok(SecretText::NotText)
            }
            fn visit_u64<E>(self, _: u64) -> Result<SecretText, E> {
                Ok(SecretText::NotText)
            }
            fn visit_f64<E>(self, _: f64) -> Result<SecretText, E> {
                Ok(SecretText::NotText)
            }
            fn visit_unit<E>(self) -> Result<SecretText, E> {
                Ok(SecretText::NotText)
            }
            fn visit_none<E>(self) -> Result<SecretText, E> {
                Ok(SecretText::NotText)
            }
            fn visit_some<D2: serde::Deserializer<'de>>(
                self,
                d: D2,
            ) -> Result<SecretText, D2::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<SecretText, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(SecretText::NotText)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<SecretText, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(SecretText::NotText)
            }
        }
        d.deserialize_any(V)
    }
}

/// `"Issuer (name)"`, shortened, for a failure label.
pub(crate) fn label_of(issuer: Option<&str>, name: &str) -> Option<String> {
    let issuer = issuer.map(str::trim).filter(|s| !s.is_empty());
    let name = name.trim();
    match (issuer, name.is_empty()) {
        (Some(i), false) => Some(format!(
            "{} ({})",
            crate::error::preview(i),
            crate::error::preview(name)
        )),
        (Some(i), true) => Some(crate::error::preview(i)),
        (None, false) => Some(crate::error::preview(name)),
        (None, true) => None,
    }
}

/// A string from a lenient JSON field: strings as they are, numbers written out, else none.
pub(crate) fn json_text(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-negative integer from a lenient JSON field (numbers, or strings of digits).
pub(crate) fn json_u64(v: Option<&serde_json::Value>) -> Option<Result<u64, ()>> {
    match v? {
        serde_json::Value::Null => None,
        serde_json::Value::Number(n) => Some(n.as_u64().ok_or(())),
        serde_json::Value::String(s) if s.trim().is_empty() => None,
        serde_json::Value::String(s) => Some(s.trim().parse().map_err(|_| ())),
        _ => Some(Err(())),
    }
}

/// Reads a JSON document, turning serde's error into a reason that does not quote the input.
pub(crate) fn from_json<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    format: &'static str,
) -> Result<T, TransferError> {
    serde_json::from_slice(bytes).map_err(|e| TransferError::Malformed {
        format,
        reason: json_reason(&e),
    })
}

/// serde_json's category and position, never its message (which can quote input).
pub(crate) fn json_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "invalid JSON",
        Category::Data => "unexpected structure",
        Category::Eof => "the JSON ends early (truncated?)",
    };
    format!("{what} at line {}, column {}", e.line(), e.column())
}

/// Picks the format of `data` from its content.
pub fn sniff(data: &[u8]) -> Result<ImportFormat, TransferError> {
    if data.starts_with(backup::MAGIC) {
        return Ok(ImportFormat::Backup);
    }
    let text = std::str::from_utf8(data).map_err(|_| TransferError::UnknownFormat)?;
    let text = text.trim_start_matches('\u{FEFF}').trim_start();
    if text.starts_with('{') {
        #[derive(serde::Deserialize)]
        #[allow(non_snake_case)]
        struct Probe {
            header: Option<serde::de::IgnoredAny>,
            db: Option<serde::de::IgnoredAny>,
            services: Option<serde::de::IgnoredAny>,
            servicesEncrypted: Option<serde::de::IgnoredAny>,
            schemaVersion: Option<serde::de::IgnoredAny>,
        }
        let p: Probe = from_json(text.as_bytes(), "JSON")?;
        if p.header.is_some() && p.db.is_some() {
            return Ok(ImportFormat::Aegis);
        }
        if p.services.is_some() || p.servicesEncrypted.is_some() || p.schemaVersion.is_some() {
            return Ok(ImportFormat::TwoFas);
        }
        return Err(TransferError::UnknownFormat);
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or(TransferError::UnknownFormat)?;
    let lower: String = first
        .chars()
        .take(24)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("otpauth-migration:") {
        Ok(ImportFormat::Google)
    } else if lower.starts_with("otpauth:") || lower.starts_with("steam:") {
        Ok(ImportFormat::Uris)
    } else {
        Err(TransferError::UnknownFormat)
    }
}

/// True for PNG and JPEG data (a screenshot of transfer or account QR codes).
pub fn is_image(data: &[u8]) -> bool {
    data.starts_with(b"\x89PNG\r\n\x1a\n") || data.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// Decodes every QR code in an image into one text, one payload a line, for the line-based
/// importers (account and transfer QR codes).
pub fn image_to_lines(data: &[u8]) -> Result<Zeroizing<String>, TransferError> {
    let found =
        crate::qr::decode_image(data, &crate::qr::DecodeOptions::still_image()).map_err(|e| {
            TransferError::Malformed {
                format: "image",
                reason: e.to_string(),
            }
        })?;
    if found.is_empty() {
        return Err(TransferError::Malformed {
            format: "image",
            reason: "no QR code found".into(),
        });
    }
    let mut out = Zeroizing::new(String::new());
    for d in found {
        let text = Zeroizing::new(d.text);
        out.push_str(text.trim());
        out.push('\n');
    }
    Ok(out)
}

/// Parses `data` as `format` (`None`: detect it). Images (PNG/JPEG) are QR-decoded first and
/// read as lines of account or transfer links.
pub fn parse(
    data: &[u8],
    format: Option<ImportFormat>,
    password: Option<&[u8]>,
) -> Result<(ImportFormat, Parsed), TransferError> {
    if data.len() > MAX_IMPORT_BYTES {
        return Err(TransferError::TooLarge(format!(
            "{} bytes; at most {MAX_IMPORT_BYTES}",
            data.len()
        )));
    }
    if is_image(data) {
        let lines = image_to_lines(data)?;
        let format = match format {
            Some(f @ (ImportFormat::Google | ImportFormat::Uris)) => f,
            None => sniff(lines.as_bytes())?,
            Some(other) => {
                return Err(TransferError::Malformed {
                    format: other.name(),
                    reason: "this is an image; only account and Google transfer QR codes are read \
                             from images"
                        .into(),
                });
            }
        };
        return Ok((format, uris::parse(&lines)?));
    }
    let format = match format {
        Some(f) => f,
        None => sniff(data)?,
    };
    let parsed = match format {
        ImportFormat::Google => google::parse_text(data)?,
        ImportFormat::Uris => uris::parse_bytes(data)?,
        ImportFormat::Aegis => aegis::parse(data, password)?,
        ImportFormat::TwoFas => twofas::parse(data, password)?,
        ImportFormat::Backup => {
            let password = password.ok_or(TransferError::PasswordRequired)?;
            backup::open(data, password)?
        }
    };
    Ok((format, parsed))
}

/// Parses and imports in one step: see [`parse`] and [`import_parsed`].
pub fn import(
    vault: &Vault,
    data: &[u8],
    format: Option<ImportFormat>,
    password: Option<&[u8]>,
    now: u64,
) -> Result<ImportReport, TransferError> {
    let (format, parsed) = parse(data, format, password)?;
    import_parsed(vault, format, parsed, now)
}

/// Identity of an account for duplicate detection: secret, issuer and account name. Kept as
/// a SHA-256 digest so the table holds no secret in the clear.
fn fingerprint(a: &OtpAccount) -> [u8; 32] {
    let mut buf = Zeroizing::new(Vec::with_capacity(a.secret().len() + 64));
    let mut field = |b: &[u8]| {
        buf.extend_from_slice(&(b.len() as u64).to_be_bytes());
        buf.extend_from_slice(b);
    };
    field(a.secret().expose());
    field(a.issuer().unwrap_or("").as_bytes());
    field(a.account_name().as_bytes());
    sha256(&buf)
}

/// Adds the parsed accounts to the vault, in file order. Duplicates (of a vault account or of
/// an earlier entry) are reported, not added; an entry the vault refuses (a name too long) is
/// a failure; the rest are added with their groups.
pub fn import_parsed(
    vault: &Vault,
    format: ImportFormat,
    parsed: Parsed,
    now: u64,
) -> Result<ImportReport, TransferError> {
    let mut known: HashMap<[u8; 32], Option<AccountId>> = HashMap::new();
    for s in vault.list()? {
        if s.kind != AccountKind::Oath {
            continue;
        }
        match vault.oath_account(s.id) {
            Ok(a) => {
                known.insert(fingerprint(&a), Some(s.id));
            }
            Err(VaultError::Unreadable(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut report = ImportReport {
        format,
        imported: Vec::new(),
        duplicates: Vec::new(),
        failed: parsed.failures,
        missing_batches: parsed.missing_batches,
    };
    // Duplicates are settled first (against the vault and earlier entries), then everything
    // else goes in as one batch: one durable write, and nothing half-imported if the disk fails.
    let mut fresh = Vec::new();
    for item in parsed.accounts {
        let a = &item.account;
        let fp = fingerprint(a);
        if let Some(existing) = known.get(&fp) {
            report.duplicates.push(DuplicateEntry {
                index: item.index,
                issuer: a.issuer().map(str::to_string),
                name: a.account_name().to_string(),
                existing_id: *existing,
            });
            continue;
        }
        // A refused entry is reported now, so an identical later one fails the same way
        // instead of counting as its duplicate.
        if let Err(VaultError::InvalidInput(reason)) = Vault::check_oath_names(a) {
            report.failed.push(EntryFailure {
                index: item.index,
                label: label_of(a.issuer(), a.account_name()),
                reason,
            });
            continue;
        }
        known.insert(fp, None);
        let mut groups: Vec<String> = item
            .groups
            .iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        groups.dedup();
        fresh.push((item, groups));
    }
    let entries: Vec<BatchEntry<'_>> = fresh
        .iter()
        .map(|(item, groups)| BatchEntry {
            account: &item.account,
            groups,
        })
        .collect();
    let outcomes = vault.add_oath_batch(&entries, now)?;
    for ((item, _), outcome) in fresh.iter().zip(outcomes) {
        let a = &item.account;
        let label = || label_of(a.issuer(), a.account_name());
        match outcome {
            BatchOutcome::Refused(reason) => report.failed.push(EntryFailure {
                index: item.index,
                label: label(),
                reason,
            }),
            BatchOutcome::Added { id, groups_refused } => {
                if let Some(reason) = groups_refused {
                    report.failed.push(EntryFailure {
                        index: item.index,
                        label: label(),
                        reason: format!("imported without its groups: {reason}"),
                    });
                }
                report.imported.push(ImportedEntry {
                    index: item.index,
                    id,
                    issuer: a.issuer().map(str::to_string),
                    name: a.account_name().to_string(),
                });
            }
        }
    }
    report.failed.sort_by_key(|f| f.index);
    tracing::info!(
        format = format.name(),
        imported = report.imported.len(),
        duplicates = report.duplicates.len(),
        failed = report.failed.len(),
        "import finished"
    );
    Ok(report)
}

/// An OATH account read from the vault for export, with its groups.
pub struct ExportAccount {
    /// Vault id.
    pub id: AccountId,
    /// The account (issuer, name and HOTP counter as stored).
    pub account: OtpAccount,
    /// Its groups.
    pub groups: Vec<String>,
}

/// Every exportable account in list order, and the ones left out (push-activated accounts,
/// accounts whose encrypted data does not open).
pub fn exportable(vault: &Vault) -> Result<(Vec<ExportAccount>, Vec<SkippedEntry>), TransferError> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for s in vault.list()? {
        let skip = |reason: &str| SkippedEntry {
            id: s.id,
            issuer: s.issuer.clone(),
            name: s.name.clone(),
            reason: reason.to_string(),
        };
        match s.kind {
            AccountKind::Oath => match vault.oath_account(s.id) {
                Ok(account) => out.push(ExportAccount {
                    id: s.id,
                    account,
                    groups: s.groups.clone(),
                }),
                Err(VaultError::Unreadable(_)) => {
                    skipped.push(skip("its encrypted data does not open (run a vault check)"))
                }
                Err(e) => return Err(e.into()),
            },
            AccountKind::PushOpenpush | AccountKind::PushPrivacyidea => {
                skipped.push(skip(PUSH_NOT_EXPORTABLE))
            }
        }
    }
    Ok((out, skipped))
}

/// Writes `bytes` to a new file at `path` atomically: a temporary file in the same directory
/// (owner-only permissions), flushed to disk, then renamed into place. Refuses to replace an
/// existing file. `bytes` is written as given: callers pass ciphertext, or plaintext the user
/// explicitly asked for.
pub fn write_new_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), TransferError> {
    use std::io::Write;
    let io = |e: std::io::Error| TransferError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".countersign-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist_noclobber(path).map_err(|e| io(e.error))?;
    if let Ok(d) = std::fs::File::open(&dir) {
        // Makes the rename durable where directories can be opened (not on Windows).
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
