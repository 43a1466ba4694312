//! Import, export and encrypted backup over the FFI.
//!
//! Imports take the file's bytes (or scanned transfer links) and return an [`ImportReport`]:
//! what was added, what was a duplicate, what could not be read and why, and which Google
//! transfer codes are still to scan. Plain-text exports hand every secret out in the clear, so
//! [`AuthenticatorClient::export_plaintext`] refuses unless the caller passes
//! `acknowledge_plaintext = true` after the user confirmed. Backups are always encrypted
//! (docs/backup.md). Push-activated accounts are never exported; they are reported as skipped.
//!
//! Passwords arrive as `String`s and are copied into zeroizing buffers at once; they are never
//! logged or echoed in errors.

use crate::CountersignError;
use crate::client::AuthenticatorClient;
use countersign_core::transfer::{self, TransferError, backup};
use std::path::Path;
use zeroize::Zeroizing;

/// Which format an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ImportFormat {
    /// Detect it from the content (images are QR-decoded first).
    Auto,
    /// Google Authenticator transfer links (`otpauth-migration://`), one a line, or a picture
    /// of transfer QR codes.
    Google,
    /// An Aegis vault export (plain or encrypted).
    Aegis,
    /// A 2FAS backup (plain or encrypted).
    TwoFas,
    /// `otpauth://` URIs, one a line (Ente, FreeOTP+, …), or a picture of account QR codes.
    Uris,
    /// A Countersign encrypted backup.
    Backup,
}

impl ImportFormat {
    fn core(self) -> Option<transfer::ImportFormat> {
        Some(match self {
            Self::Auto => return None,
            Self::Google => transfer::ImportFormat::Google,
            Self::Aegis => transfer::ImportFormat::Aegis,
            Self::TwoFas => transfer::ImportFormat::TwoFas,
            Self::Uris => transfer::ImportFormat::Uris,
            Self::Backup => transfer::ImportFormat::Backup,
        })
    }
}

impl From<transfer::ImportFormat> for ImportFormat {
    fn from(f: transfer::ImportFormat) -> Self {
        match f {
            transfer::ImportFormat::Google => Self::Google,
            transfer::ImportFormat::Aegis => Self::Aegis,
            transfer::ImportFormat::TwoFas => Self::TwoFas,
            transfer::ImportFormat::Uris => Self::Uris,
            transfer::ImportFormat::Backup => Self::Backup,
        }
    }
}

/// Plain-text export formats (each holds every secret in the clear).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ExportFormat {
    /// One `otpauth://` URI a line, in one payload.
    Uris,
    /// Google Authenticator transfer links, one payload per QR code to show.
    GoogleQr,
}

/// An account an import added.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportedAccountEntry {
    /// 1-based position in the file (line number for line-based formats).
    pub index: u32,
    /// The new account's id.
    pub id: i64,
    /// Issuer.
    pub issuer: Option<String>,
    /// Account name.
    pub name: String,
}

/// An entry not added because the same account (secret, issuer and name) exists.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DuplicateAccountEntry {
    /// Position in the file.
    pub index: u32,
    /// Issuer.
    pub issuer: Option<String>,
    /// Account name.
    pub name: String,
    /// The vault account it duplicates; `None` when it repeats an earlier entry of the file.
    pub existing_id: Option<i64>,
}

/// An entry that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FailedImportEntry {
    /// Position in the file.
    pub index: u32,
    /// Issuer and name when readable (never the secret).
    pub label: Option<String>,
    /// Why.
    pub reason: String,
}

/// Google transfer codes of one export not scanned yet ("scan code 2 of 3").
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MissingTransferCodes {
    /// The export's batch id.
    pub batch_id: i32,
    /// Codes in the export.
    pub batch_size: u32,
    /// 0-based indices not seen.
    pub missing: Vec<u32>,
}

/// The outcome of an import or restore. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportReport {
    /// The format read.
    pub format: ImportFormat,
    /// Accounts added.
    pub imported: Vec<ImportedAccountEntry>,
    /// Entries skipped as duplicates.
    pub duplicates: Vec<DuplicateAccountEntry>,
    /// Entries that could not be read or stored.
    pub failed: Vec<FailedImportEntry>,
    /// Google exports with codes still to scan.
    pub missing_batches: Vec<MissingTransferCodes>,
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<transfer::ImportReport> for ImportReport {
    fn from(r: transfer::ImportReport) -> Self {
        Self {
            format: r.format.into(),
            imported: r
                .imported
                .into_iter()
                .map(|e| ImportedAccountEntry {
                    index: u32_of(e.index),
                    id: e.id,
                    issuer: e.issuer,
                    name: e.name,
                })
                .collect(),
            duplicates: r
                .duplicates
                .into_iter()
                .map(|d| DuplicateAccountEntry {
                    index: u32_of(d.index),
                    issuer: d.issuer,
                    name: d.name,
                    existing_id: d.existing_id,
                })
                .collect(),
            failed: r
                .failed
                .into_iter()
                .map(|f| FailedImportEntry {
                    index: u32_of(f.index),
                    label: f.label,
                    reason: f.reason,
                })
                .collect(),
            missing_batches: r
                .missing_batches
                .into_iter()
                .map(|b| MissingTransferCodes {
                    batch_id: b.batch_id,
                    batch_size: b.batch_size,
                    missing: b.missing,
                })
                .collect(),
        }
    }
}

/// An account an export or backup left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SkippedAccount {
    /// Account id.
    pub id: i64,
    /// Issuer.
    pub issuer: Option<String>,
    /// Account name.
    pub name: String,
    /// Why it was left out (push-activated accounts: their keys are bound to this device).
    pub reason: String,
}

impl From<transfer::SkippedEntry> for SkippedAccount {
    fn from(s: transfer::SkippedEntry) -> Self {
        Self {
            id: s.id,
            issuer: s.issuer,
            name: s.name,
            reason: s.reason,
        }
    }
}

/// A plain-text export. `payloads` hold every secret in the clear: show them as QR codes or
/// hand them to a file the user chose, never log them.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlaintextExport {
    /// The format.
    pub format: ExportFormat,
    /// `Uris`: one text; `GoogleQr`: one transfer link per QR code, in order.
    pub payloads: Vec<String>,
    /// Accounts exported.
    pub exported: u32,
    /// Accounts left out.
    pub skipped: Vec<SkippedAccount>,
}

impl std::fmt::Debug for PlaintextExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaintextExport")
            .field("format", &self.format)
            .field(
                "payloads",
                &format_args!("<{} redacted>", self.payloads.len()),
            )
            .field("exported", &self.exported)
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// An encrypted backup in memory (for the shell to store, e.g. through a document picker).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct EncryptedBackup {
    /// The backup file's bytes (header and ciphertext only).
    pub data: Vec<u8>,
    /// Accounts in it.
    pub accounts: u32,
    /// Accounts left out.
    pub skipped: Vec<SkippedAccount>,
}

impl std::fmt::Debug for EncryptedBackup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedBackup")
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .field("accounts", &self.accounts)
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// A backup written to a file.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SavedBackup {
    /// The new file.
    pub path: String,
    /// Accounts in it.
    pub accounts: u32,
    /// Accounts left out.
    pub skipped: Vec<SkippedAccount>,
    /// Older automatic backups removed (automatic backup only).
    pub removed: Vec<String>,
}

impl From<TransferError> for CountersignError {
    fn from(e: TransferError) -> Self {
        let detail = e.to_string();
        let file = |detail: String| Self::InvalidInput {
            detail,
            field: Some("file".into()),
        };
        match e {
            TransferError::PasswordRequired => Self::WrongPassword {
                detail,
                missing: true,
            },
            TransferError::WrongPassword => Self::WrongPassword {
                detail,
                missing: false,
            },
            TransferError::Tampered
            | TransferError::Malformed { .. }
            | TransferError::KdfOutOfBounds(_)
            | TransferError::TooLarge(_) => file(detail),
            TransferError::UnknownFormat => Self::InvalidInput {
                detail,
                field: Some("format".into()),
            },
            TransferError::UnsupportedVersion { .. } | TransferError::Unsupported(_) => {
                Self::Unsupported { detail }
            }
            TransferError::InvalidInput(_) => Self::InvalidInput {
                detail,
                field: None,
            },
            TransferError::Io { .. } => Self::Storage { detail },
            TransferError::Vault(v) => v.into(),
            TransferError::Crypto(c) => c.into(),
            _ => Self::Internal { detail },
        }
    }
}

fn password(p: String) -> Result<Zeroizing<String>, CountersignError> {
    let p = Zeroizing::new(p);
    if p.is_empty() {
        return Err(CountersignError::InvalidInput {
            detail: "the password is empty".into(),
            field: Some("password".into()),
        });
    }
    Ok(p)
}

fn skipped(list: Vec<transfer::SkippedEntry>) -> Vec<SkippedAccount> {
    list.into_iter().map(Into::into).collect()
}

#[uniffi::export]
impl AuthenticatorClient {
    /// Imports accounts from a file's bytes: an Aegis or 2FAS export, a URI list, Google
    /// transfer links, a Countersign backup, or a PNG/JPEG of account or transfer QR codes.
    /// `password` is needed for encrypted files (`WrongPassword` with `missing = true` says
    /// so). Bad entries are reported in the result and the rest imported; duplicates are
    /// reported, not added twice.
    pub fn import_accounts(
        &self,
        data: Vec<u8>,
        format: ImportFormat,
        password: Option<String>,
    ) -> Result<ImportReport, CountersignError> {
        let password = password.map(Zeroizing::new);
        let report = transfer::import(
            &self.vault,
            &data,
            format.core(),
            password.as_ref().map(|p| p.as_bytes()),
            self.now(),
        )?;
        Ok(report.into())
    }

    /// Imports Google Authenticator transfer links scanned one by one (pass every code of the
    /// export scanned so far; `missing_batches` says which are still to scan).
    pub fn import_transfer_links(
        &self,
        links: Vec<String>,
    ) -> Result<ImportReport, CountersignError> {
        let links: Vec<Zeroizing<String>> = links.into_iter().map(Zeroizing::new).collect();
        let refs: Vec<&str> = links.iter().map(|l| l.as_str()).collect();
        let parsed = transfer::google::parse_links(&refs);
        let report = transfer::import_parsed(
            &self.vault,
            transfer::ImportFormat::Google,
            parsed,
            self.now(),
        )?;
        Ok(report.into())
    }

    /// Exports every OATH account in plain text. The result holds every secret in the clear,
    /// so this refuses unless `acknowledge_plaintext` is true: pass it only after the user
    /// confirmed they understand. Push-activated accounts (and, for `GoogleQr`, accounts the
    /// format cannot express) are skipped and listed.
    pub fn export_plaintext(
        &self,
        format: ExportFormat,
        acknowledge_plaintext: bool,
    ) -> Result<PlaintextExport, CountersignError> {
        if !acknowledge_plaintext {
            return Err(CountersignError::InvalidInput {
                detail: "a plain-text export holds every secret unencrypted: the user must \
                         confirm it (acknowledge_plaintext = true), or use an encrypted backup"
                    .into(),
                field: Some("acknowledge_plaintext".into()),
            });
        }
        let (accounts, mut skipped_list) = transfer::exportable(&self.vault)?;
        let (payloads, exported) = match format {
            ExportFormat::Uris => {
                let text = transfer::uris::export(&accounts);
                (vec![text.to_string()], accounts.len())
            }
            ExportFormat::GoogleQr => {
                let (links, left_out) = transfer::google::export(&accounts)?;
                let exported = accounts.len().saturating_sub(left_out.len());
                skipped_list.extend(left_out);
                (links.iter().map(|l| l.to_string()).collect(), exported)
            }
        };
        Ok(PlaintextExport {
            format,
            payloads,
            exported: u32_of(exported),
            skipped: skipped(skipped_list),
        })
    }

    /// An encrypted backup of every OATH account (Argon2id 64 MiB / 3 passes + AES-256-GCM;
    /// docs/backup.md), returned as bytes for the shell to store.
    pub fn create_backup(&self, password: String) -> Result<EncryptedBackup, CountersignError> {
        let password = self::password(password)?;
        let b = backup::create(&self.vault, password.as_bytes(), self.now())?;
        Ok(EncryptedBackup {
            data: b.bytes,
            accounts: u32_of(b.accounts),
            skipped: skipped(b.skipped),
        })
    }

    /// Writes an encrypted backup to a new file at `path` (atomically; never replaces a file).
    pub fn save_backup(
        &self,
        path: String,
        password: String,
    ) -> Result<SavedBackup, CountersignError> {
        let password = self::password(password)?;
        let b = backup::save(
            &self.vault,
            Path::new(&path),
            password.as_bytes(),
            self.now(),
        )?;
        Ok(SavedBackup {
            path,
            accounts: u32_of(b.accounts),
            skipped: skipped(b.skipped),
            removed: Vec::new(),
        })
    }

    /// Restores a Countersign backup into this vault; accounts already here are reported as
    /// duplicates. A wrong password imports nothing and returns `WrongPassword`.
    pub fn restore_backup(
        &self,
        data: Vec<u8>,
        password: String,
    ) -> Result<ImportReport, CountersignError> {
        let password = self::password(password)?;
        Ok(backup::restore(&self.vault, &data, password.as_bytes(), self.now())?.into())
    }

    /// Writes an automatic encrypted backup into `directory` (an existing folder the user
    /// picked) and removes the oldest automatic backups there beyond `keep_last` (1–1000).
    /// Other files in the folder are never touched.
    pub fn auto_backup(
        &self,
        directory: String,
        password: String,
        keep_last: u32,
    ) -> Result<SavedBackup, CountersignError> {
        let password = self::password(password)?;
        let r = backup::auto_backup(
            &self.vault,
            Path::new(&directory),
            password.as_bytes(),
            keep_last,
            self.now(),
        )?;
        Ok(SavedBackup {
            path: r.path.display().to_string(),
            accounts: u32_of(r.accounts),
            skipped: skipped(r.skipped),
            removed: r.removed.iter().map(|p| p.display().to_string()).collect(),
        })
    }
}
