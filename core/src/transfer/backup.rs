//! Countersign's encrypted backup: one file, restorable on any platform with the password
//! alone. The byte layout is specified in `docs/backup.md`; in short:
//!
//! ```text
//! magic "CSBACKUP" ‖ version 1 ‖ kdf 1 (Argon2id v1.3) ‖ memory KiB (u32 BE) ‖
//! iterations (u32 BE) ‖ lanes (u32 BE) ‖ salt length (u8) ‖ salt ‖ nonce (12) ‖
//! AES-256-GCM(ciphertext ‖ tag)
//! ```
//!
//! The whole header, magic to nonce, is the cipher's associated data, so changing any of it
//! (a lowered KDF cost, another salt) makes the file fail to open. The key is
//! Argon2id(password, salt) with the stated cost, which is bounded on read
//! ([`MAX_MEMORY_KIB`], [`MAX_ITERATIONS`], [`MAX_LANES`]): a hostile file cannot make us
//! allocate gigabytes. The plaintext is JSON: `{format, version, created_at, accounts: [{uri,
//! groups}]}`, one canonical `otpauth://` URI per OATH account (HOTP counters as stored).
//!
//! Push-activated accounts are not in backups (their keys are bound to the device); they
//! are reported as skipped. [`auto_backup`] writes to a folder the caller picks and keeps the
//! newest N files; every file is written to a temporary name in the same folder and renamed,
//! and only ciphertext is ever written.

use super::{
    EntryFailure, ExportAccount, ImportReport, ImportedAccount, MAX_ENTRIES, MAX_IMPORT_BYTES,
    Parsed, SkippedEntry, TransferError, exportable, from_json, import_parsed, write_new_file,
};
use crate::crypto::{
    Argon2Cost, GCM_NONCE_LEN, SecretBytes, aes256gcm_open, aes256gcm_seal, argon2id, random_bytes,
};
use crate::uri::OtpAccount;
use crate::vault::Vault;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The first eight bytes of every backup.
pub const MAGIC: &[u8; 8] = b"CSBACKUP";
/// Format version written and read.
pub const VERSION: u8 = 1;
/// KDF identifier: Argon2id, version 0x13.
pub const KDF_ARGON2ID: u8 = 1;
/// Salt length written.
pub const SALT_LEN: usize = 16;
/// Shortest and longest salt read.
pub const SALT_LEN_RANGE: std::ops::RangeInclusive<usize> = 16..=64;
/// Most Argon2id memory a file may ask for (256 MiB; we write 64 MiB).
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;
/// Most Argon2id passes read.
pub const MAX_ITERATIONS: u32 = 16;
/// Most Argon2id lanes read.
pub const MAX_LANES: u32 = 8;
/// File-name prefix and suffix of automatic backups.
pub const AUTO_PREFIX: &str = "countersign-backup-";
/// File-name extension of backups.
pub const EXTENSION: &str = ".csbak";
/// Most automatic backups kept.
pub const MAX_KEEP: u32 = 1000;

const FORMAT: &str = "Countersign backup";
const CONTENT_FORMAT: &str = "countersign-backup";
const FIXED_HEADER: usize = 8 + 1 + 1 + 4 + 4 + 4 + 1;

fn malformed(reason: impl Into<String>) -> TransferError {
    TransferError::Malformed {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// The cost a file asks for must lie between our floor (OWASP's 19 MiB, 2 passes; we never
/// write less) and the bounds above.
fn check_cost(cost: Argon2Cost) -> Result<(), TransferError> {
    let min = Argon2Cost::MINIMUM;
    if !(min.memory_kib..=MAX_MEMORY_KIB).contains(&cost.memory_kib)
        || !(min.iterations..=MAX_ITERATIONS).contains(&cost.iterations)
        || !(1..=MAX_LANES).contains(&cost.parallelism)
    {
        return Err(TransferError::KdfOutOfBounds(format!(
            "Argon2id m = {} KiB, t = {}, p = {}; accepted: m {}–{MAX_MEMORY_KIB} KiB, t {}–{MAX_ITERATIONS}, p 1–{MAX_LANES}",
            cost.memory_kib, cost.iterations, cost.parallelism, min.memory_kib, min.iterations
        )));
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct Content {
    format: String,
    version: u32,
    created_at: u64,
    accounts: Vec<BackupAccount>,
}

#[derive(Serialize, Deserialize)]
struct BackupAccount {
    uri: Zeroizing<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// An encrypted backup, ready to store.
pub struct Backup {
    /// The file's bytes (header and ciphertext only).
    pub bytes: Vec<u8>,
    /// Accounts in it.
    pub accounts: usize,
    /// Accounts left out (push-activated, unreadable).
    pub skipped: Vec<SkippedEntry>,
}

impl std::fmt::Debug for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup")
            .field("bytes", &self.bytes.len())
            .field("accounts", &self.accounts)
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// Encrypts `accounts` under `password` with Argon2id at `cost` (checked against the read
/// bounds, so whatever is written can be read back).
pub fn seal(
    accounts: &[ExportAccount],
    password: &[u8],
    cost: Argon2Cost,
    now: u64,
) -> Result<Vec<u8>, TransferError> {
    if password.is_empty() {
        return Err(TransferError::InvalidInput("the password is empty".into()));
    }
    check_cost(cost)?;
    let content = Content {
        format: CONTENT_FORMAT.into(),
        version: 1,
        created_at: now,
        accounts: accounts
            .iter()
            .map(|e| BackupAccount {
                uri: e.account.to_uri(),
                groups: e.groups.clone(),
            })
            .collect(),
    };
    // Sized generously up front, so the buffer never reallocates and leaves an unwiped partial
    // copy behind (URIs are ASCII and need no JSON escaping; group names may, at worst 6×).
    let estimate = content
        .accounts
        .iter()
        .map(|a| a.uri.len() + a.groups.iter().map(|g| 6 * g.len() + 4).sum::<usize>() + 32)
        .sum::<usize>()
        + 256;
    let mut plain = Zeroizing::new(Vec::with_capacity(estimate));
    serde_json::to_writer(&mut *plain, &content)
        .map_err(|_| TransferError::Crypto(crate::Error::Crypto("serialising a backup")))?;
    let salt = random_bytes(SALT_LEN)?;
    let nonce_bytes = random_bytes(GCM_NONCE_LEN)?;
    let mut nonce = [0u8; GCM_NONCE_LEN];
    nonce.copy_from_slice(nonce_bytes.expose());
    let mut out = Vec::with_capacity(FIXED_HEADER + SALT_LEN + GCM_NONCE_LEN + plain.len() + 16);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(KDF_ARGON2ID);
    out.extend_from_slice(&cost.memory_kib.to_be_bytes());
    out.extend_from_slice(&cost.iterations.to_be_bytes());
    out.extend_from_slice(&cost.parallelism.to_be_bytes());
    out.push(SALT_LEN as u8);
    out.extend_from_slice(salt.expose());
    out.extend_from_slice(&nonce);
    let key = argon2id(password, salt.expose(), cost)?;
    let sealed = aes256gcm_seal(key.expose(), &nonce, &out, &plain)?;
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The parts of a backup's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Argon2id cost.
    pub cost: Argon2Cost,
    /// Salt.
    pub salt: Vec<u8>,
    /// GCM nonce.
    pub nonce: [u8; GCM_NONCE_LEN],
    /// Header length (the associated data is `bytes[..header_len]`).
    pub header_len: usize,
}

fn be32(b: &[u8], at: usize) -> Result<u32, TransferError> {
    b.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| malformed("the header is truncated"))
}

/// Reads and checks a backup's header without running the KDF (bounds included).
pub fn read_header(data: &[u8]) -> Result<Header, TransferError> {
    if data.len() > MAX_IMPORT_BYTES {
        return Err(TransferError::TooLarge(format!("{} bytes", data.len())));
    }
    if !data.starts_with(MAGIC) {
        return Err(malformed("not a Countersign backup (no CSBACKUP magic)"));
    }
    let version = *data
        .get(8)
        .ok_or_else(|| malformed("the header is truncated"))?;
    if version != VERSION {
        return Err(TransferError::UnsupportedVersion {
            format: FORMAT,
            found: i64::from(version),
            supported: i64::from(VERSION),
        });
    }
    let kdf = *data
        .get(9)
        .ok_or_else(|| malformed("the header is truncated"))?;
    if kdf != KDF_ARGON2ID {
        return Err(TransferError::Unsupported(format!(
            "key-derivation function {kdf} is not known to this build"
        )));
    }
    let cost = Argon2Cost {
        memory_kib: be32(data, 10)?,
        iterations: be32(data, 14)?,
        parallelism: be32(data, 18)?,
    };
    check_cost(cost)?;
    let salt_len = usize::from(
        *data
            .get(22)
            .ok_or_else(|| malformed("the header is truncated"))?,
    );
    if !SALT_LEN_RANGE.contains(&salt_len) {
        return Err(malformed(format!("a salt of {salt_len} bytes")));
    }
    let salt_end = FIXED_HEADER + salt_len;
    let header_len = salt_end + GCM_NONCE_LEN;
    let salt = data
        .get(FIXED_HEADER..salt_end)
        .ok_or_else(|| malformed("the header is truncated"))?
        .to_vec();
    let nonce: [u8; GCM_NONCE_LEN] = data
        .get(salt_end..header_len)
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| malformed("the header is truncated"))?;
    if data.len() < header_len + 16 {
        return Err(malformed("the file ends before its ciphertext"));
    }
    Ok(Header {
        cost,
        salt,
        nonce,
        header_len,
    })
}

/// Decrypts a backup and reads its accounts (each URI that does not parse is a failure).
pub fn open(data: &[u8], password: &[u8]) -> Result<Parsed, TransferError> {
    let header = read_header(data)?;
    let key: SecretBytes = argon2id(password, &header.salt, header.cost)?;
    let (aad, ciphertext) = data.split_at(header.header_len);
    let plain = aes256gcm_open(key.expose(), &header.nonce, aad, ciphertext)
        .ok_or(TransferError::WrongPassword)?;
    read_content(plain.expose())
}

/// Reads a backup's decrypted content (the JSON inside the ciphertext).
pub fn read_content(plain: &[u8]) -> Result<Parsed, TransferError> {
    let content: Content = from_json(plain, FORMAT)?;
    if content.format != CONTENT_FORMAT {
        return Err(malformed("the content is not a Countersign backup"));
    }
    if content.version != 1 {
        return Err(TransferError::UnsupportedVersion {
            format: "Countersign backup content",
            found: i64::from(content.version),
            supported: 1,
        });
    }
    if content.accounts.len() > MAX_ENTRIES {
        return Err(TransferError::TooLarge(format!(
            "{} accounts",
            content.accounts.len()
        )));
    }
    let mut parsed = Parsed::default();
    for (i, a) in content.accounts.into_iter().enumerate() {
        match OtpAccount::parse(&a.uri) {
            Ok(account) => parsed.accounts.push(ImportedAccount {
                account,
                groups: a.groups,
                index: i + 1,
            }),
            Err(e) => parsed.failures.push(EntryFailure {
                index: i + 1,
                label: None,
                reason: e.to_string(),
            }),
        }
    }
    Ok(parsed)
}

/// A backup of every exportable account in `vault`, with the default (strong) cost.
pub fn create(vault: &Vault, password: &[u8], now: u64) -> Result<Backup, TransferError> {
    create_with_cost(vault, password, Argon2Cost::DEFAULT, now)
}

/// A backup with an explicit Argon2id cost (within the read bounds; never below the floor).
pub fn create_with_cost(
    vault: &Vault,
    password: &[u8],
    cost: Argon2Cost,
    now: u64,
) -> Result<Backup, TransferError> {
    let (accounts, skipped) = exportable(vault)?;
    let bytes = seal(&accounts, password, cost, now)?;
    tracing::info!(
        accounts = accounts.len(),
        skipped = skipped.len(),
        "backup created"
    );
    Ok(Backup {
        bytes,
        accounts: accounts.len(),
        skipped,
    })
}

/// Restores a backup into `vault`: accounts already there are reported as duplicates.
pub fn restore(
    vault: &Vault,
    data: &[u8],
    password: &[u8],
    now: u64,
) -> Result<ImportReport, TransferError> {
    let parsed = open(data, password)?;
    import_parsed(vault, super::ImportFormat::Backup, parsed, now)
}

/// Writes a backup of `vault` to a new file at `path` (refuses to replace one).
pub fn save(
    vault: &Vault,
    path: &Path,
    password: &[u8],
    now: u64,
) -> Result<Backup, TransferError> {
    let backup = create(vault, password, now)?;
    write_new_file(path, &backup.bytes)?;
    Ok(backup)
}

/// What [`auto_backup`] did.
#[derive(Debug)]
pub struct AutoBackup {
    /// The new file.
    pub path: PathBuf,
    /// Accounts in it.
    pub accounts: usize,
    /// Accounts left out.
    pub skipped: Vec<SkippedEntry>,
    /// Older automatic backups removed to keep the newest `keep_last`.
    pub removed: Vec<PathBuf>,
}

/// `countersign-backup-<12-digit unix seconds>-<2-digit sequence>.csbak`, or `None` for
/// any other name (which automatic backup never touches).
fn auto_name_key(name: &str) -> Option<(u64, u32)> {
    let rest = name.strip_prefix(AUTO_PREFIX)?.strip_suffix(EXTENSION)?;
    let (time, seq) = rest.split_once('-')?;
    if time.len() != 12 || seq.len() != 2 {
        return None;
    }
    if !time.bytes().chain(seq.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((time.parse().ok()?, seq.parse().ok()?))
}

/// Writes a new automatic backup of `vault` into `dir` (which must exist) and removes the
/// oldest automatic backups there beyond `keep_last`. Only files named like automatic backups
/// are ever removed. The file appears atomically (temporary file in `dir`, then rename) and
/// holds only ciphertext.
pub fn auto_backup(
    vault: &Vault,
    dir: &Path,
    password: &[u8],
    keep_last: u32,
    now: u64,
) -> Result<AutoBackup, TransferError> {
    auto_backup_with_cost(vault, dir, password, keep_last, Argon2Cost::DEFAULT, now)
}

/// [`auto_backup`] with an explicit Argon2id cost.
pub fn auto_backup_with_cost(
    vault: &Vault,
    dir: &Path,
    password: &[u8],
    keep_last: u32,
    cost: Argon2Cost,
    now: u64,
) -> Result<AutoBackup, TransferError> {
    if !(1..=MAX_KEEP).contains(&keep_last) {
        return Err(TransferError::InvalidInput(format!(
            "keep_last must be 1–{MAX_KEEP}, not {keep_last}"
        )));
    }
    let io = |e: std::io::Error| TransferError::Io {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    if !dir.is_dir() {
        return Err(TransferError::Io {
            path: dir.display().to_string(),
            reason: "not an existing directory".into(),
        });
    }
    let backup = create_with_cost(vault, password, cost, now)?;
    let stamp = now.min(999_999_999_999);
    let mut written = None;
    for seq in 0..100u32 {
        let path = dir.join(format!("{AUTO_PREFIX}{stamp:012}-{seq:02}{EXTENSION}"));
        if path.exists() {
            continue;
        }
        match write_new_file(&path, &backup.bytes) {
            Ok(()) => {
                written = Some(path);
                break;
            }
            // Lost a race for the name: try the next one.
            Err(_) if path.exists() => continue,
            Err(e) => return Err(e),
        }
    }
    let path = written.ok_or_else(|| TransferError::Io {
        path: dir.display().to_string(),
        reason: "100 backups already carry this second's time stamp".into(),
    })?;
    let mut existing: Vec<((u64, u32), PathBuf)> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter_map(|e| {
            let name = e.file_name();
            auto_name_key(name.to_str()?).map(|k| (k, e.path()))
        })
        .collect();
    existing.sort();
    let excess = existing.len().saturating_sub(keep_last as usize);
    let mut removed = Vec::new();
    for (_, old) in existing.into_iter().take(excess) {
        if old == path {
            continue;
        }
        std::fs::remove_file(&old).map_err(io)?;
        removed.push(old);
    }
    tracing::info!(
        accounts = backup.accounts,
        removed = removed.len(),
        "automatic backup written"
    );
    Ok(AutoBackup {
        path,
        accounts: backup.accounts,
        skipped: backup.skipped,
        removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_names() {
        assert_eq!(
            auto_name_key("countersign-backup-001700000000-03.csbak"),
            Some((1_700_000_000, 3))
        );
        for bad in [
            "countersign-backup-1700000000-03.csbak",
            "countersign-backup-001700000000-3.csbak",
            "countersign-backup-00170000000x-03.csbak",
            "countersign-backup-001700000000-03.csbak.tmp",
            "my-notes.txt",
        ] {
            assert_eq!(auto_name_key(bad), None, "{bad}");
        }
    }
}
