//! Aegis Authenticator vault exports (`aegis-export-*.json`), plain and encrypted, as described
//! in Aegis's `docs/vault.md`.
//!
//! The file is `{version: 1, header: {slots, params}, db}`. Plain: `slots` and `params` are
//! null and `db` is an object. Encrypted: `db` is base64 of AES-256-GCM ciphertext under a
//! random master key (nonce and tag, in hex, in `header.params`); each password slot (type 1)
//! holds the master key wrapped with AES-256-GCM under `scrypt(password, salt, n, r, p)`.
//!
//! The scrypt parameters come from the file, so they are bounded before anything runs: at most
//! [`MAX_SCRYPT_MEMORY`] bytes of memory and [`MAX_PASSWORD_SLOTS`] slots tried.
//!
//! The decrypted `db` (content version ≤ 3) is `{version, entries, groups}`. Entries of type
//! `totp`, `hotp` and `steam` are read (`motp` and `yandex` are reported as unsupported);
//! groups come from version 3's `groups: [uuid]` (names in `db.groups`) or from the older
//! per-entry `group` string.

use super::{
    EntryFailure, ImportedAccount, MAX_ENTRIES, Parsed, SecretText, TransferError, from_json,
    json_text, json_u64, label_of,
};
use crate::crypto::{SecretBytes, aes256gcm_open, scrypt32};
use crate::otp::{Algorithm, OtpKind};
use crate::uri::{OtpAccount, decode_base32_secret};
use data_encoding::{BASE64, HEXLOWER_PERMISSIVE};
use serde::Deserialize;
use std::collections::HashMap;

const FORMAT: &str = "Aegis";
/// Newest `db` content version read.
pub const MAX_DB_VERSION: i64 = 3;
/// Most memory a file's scrypt parameters may ask for (128 · r · n bytes): 256 MiB, eight
/// times Aegis's own 32 MiB.
pub const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;
/// Largest scrypt `p` run.
pub const MAX_SCRYPT_P: u32 = 16;
/// Most password slots tried (each costs one scrypt run).
pub const MAX_PASSWORD_SLOTS: usize = 4;

fn malformed(reason: impl Into<String>) -> TransferError {
    TransferError::Malformed {
        format: FORMAT,
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
struct Outer {
    version: i64,
    header: Header,
    db: serde::de::IgnoredAny,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    slots: Option<Vec<Slot>>,
    #[serde(default)]
    params: Option<GcmParams>,
}

#[derive(Deserialize)]
struct GcmParams {
    nonce: String,
    tag: String,
}

#[derive(Deserialize)]
struct Slot {
    #[serde(rename = "type")]
    kind: i64,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    key_params: Option<GcmParams>,
    #[serde(default)]
    n: Option<u64>,
    #[serde(default)]
    r: Option<u64>,
    #[serde(default)]
    p: Option<u64>,
    #[serde(default)]
    salt: Option<String>,
}

#[derive(Deserialize)]
struct PlainFile {
    db: Db,
}

#[derive(Deserialize)]
struct EncryptedFile {
    db: String,
}

#[derive(Deserialize)]
struct Db {
    version: i64,
    entries: Vec<Entry>,
    #[serde(default)]
    groups: Option<Vec<Group>>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default)]
    uuid: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<serde_json::Value>,
}

/// An entry, read leniently: a field of the wrong type fails this entry, not the file.
#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "type", default)]
    kind: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<serde_json::Value>,
    #[serde(default)]
    issuer: Option<serde_json::Value>,
    #[serde(default)]
    group: Option<serde_json::Value>,
    #[serde(default)]
    groups: Option<serde_json::Value>,
    #[serde(default)]
    info: Option<Info>,
}

#[derive(Deserialize)]
struct Info {
    #[serde(default)]
    secret: Option<SecretText>,
    #[serde(default)]
    algo: Option<serde_json::Value>,
    #[serde(default)]
    digits: Option<serde_json::Value>,
    #[serde(default)]
    period: Option<serde_json::Value>,
    #[serde(default)]
    counter: Option<serde_json::Value>,
}

fn hex(field: &str, text: &str, len: Option<usize>) -> Result<Vec<u8>, TransferError> {
    let bytes = HEXLOWER_PERMISSIVE
        .decode(text.trim().as_bytes())
        .map_err(|_| malformed(format!("`{field}` is not hex")))?;
    match len {
        Some(n) if bytes.len() != n => Err(malformed(format!(
            "`{field}` is {} bytes, not {n}",
            bytes.len()
        ))),
        _ => Ok(bytes),
    }
}

/// Checks a password slot's scrypt parameters; returns `log2(n)`, `r`, `p`.
fn scrypt_params(slot: &Slot) -> Result<(u8, u32, u32), TransferError> {
    let (Some(n), Some(r), Some(p)) = (slot.n, slot.r, slot.p) else {
        return Err(malformed("a password slot lacks n, r or p"));
    };
    if n < 2 || !n.is_power_of_two() {
        return Err(TransferError::KdfOutOfBounds(format!(
            "scrypt n = {n} is not a power of two ≥ 2"
        )));
    }
    let log_n = u8::try_from(n.trailing_zeros()).unwrap_or(u8::MAX);
    let r32 = u32::try_from(r).ok().filter(|r| *r >= 1);
    let p32 = u32::try_from(p)
        .ok()
        .filter(|p| (1..=MAX_SCRYPT_P).contains(p));
    let (Some(r32), Some(p32)) = (r32, p32) else {
        return Err(TransferError::KdfOutOfBounds(format!(
            "scrypt r = {r}, p = {p} (r ≥ 1, 1 ≤ p ≤ {MAX_SCRYPT_P})"
        )));
    };
    let memory = 128u64
        .checked_mul(r)
        .and_then(|m| m.checked_mul(n))
        .filter(|m| *m <= MAX_SCRYPT_MEMORY);
    if memory.is_none() {
        return Err(TransferError::KdfOutOfBounds(format!(
            "scrypt n = {n}, r = {r} needs more than {} MiB",
            MAX_SCRYPT_MEMORY / (1024 * 1024)
        )));
    }
    Ok((log_n, r32, p32))
}

/// A password slot checked and decoded, ready for its KDF run.
struct PreparedSlot {
    log_n: u8,
    r: u32,
    p: u32,
    salt: Vec<u8>,
    nonce: Vec<u8>,
    wrapped: Vec<u8>,
}

/// Checks and decodes every password slot before any KDF runs: a hostile later slot must
/// not cost a KDF run, and a malformed file is reported as such even without a password.
fn prepare_slots(slots: &[Slot]) -> Result<Vec<PreparedSlot>, TransferError> {
    let password_slots: Vec<&Slot> = slots.iter().filter(|s| s.kind == 1).collect();
    if password_slots.is_empty() {
        return Err(TransferError::Unsupported(
            "this Aegis vault has no password slot (a biometric slot only opens on the phone \
             that made it)"
                .into(),
        ));
    }
    if password_slots.len() > MAX_PASSWORD_SLOTS {
        return Err(TransferError::KdfOutOfBounds(format!(
            "{} password slots (at most {MAX_PASSWORD_SLOTS} are tried)",
            password_slots.len()
        )));
    }
    let mut prepared = Vec::new();
    for slot in password_slots {
        let (log_n, r, p) = scrypt_params(slot)?;
        let salt = hex("salt", slot.salt.as_deref().unwrap_or(""), None)?;
        if salt.is_empty() || salt.len() > 1024 {
            return Err(malformed("a password slot's salt is empty or too long"));
        }
        let key_params = slot
            .key_params
            .as_ref()
            .ok_or_else(|| malformed("a password slot lacks key_params"))?;
        let mut wrapped = hex("key", slot.key.as_deref().unwrap_or(""), Some(32))?;
        wrapped.extend_from_slice(&hex("key_params.tag", &key_params.tag, Some(16))?);
        let nonce = hex("key_params.nonce", &key_params.nonce, Some(12))?;
        prepared.push(PreparedSlot {
            log_n,
            r,
            p,
            salt,
            nonce,
            wrapped,
        });
    }
    Ok(prepared)
}

/// Unwraps the master key with the first password slot the password opens.
fn master_key(slots: &[PreparedSlot], password: &[u8]) -> Result<SecretBytes, TransferError> {
    for s in slots {
        let slot_key = scrypt32(password, &s.salt, s.log_n, s.r, s.p)?;
        if let Some(master) = aes256gcm_open(slot_key.expose(), &s.nonce, &[], &s.wrapped)
            && master.len() == 32
        {
            return Ok(master);
        }
    }
    Err(TransferError::WrongPassword)
}

/// Reads an Aegis export. `password` is needed only for an encrypted one.
pub fn parse(data: &[u8], password: Option<&[u8]>) -> Result<Parsed, TransferError> {
    let outer: Outer = from_json(data, FORMAT)?;
    let _ = outer.db;
    if outer.version != 1 {
        return Err(TransferError::UnsupportedVersion {
            format: FORMAT,
            found: outer.version,
            supported: 1,
        });
    }
    let encrypted = outer.header.slots.as_ref().is_some_and(|s| !s.is_empty());
    if !encrypted {
        let file: PlainFile = from_json(data, FORMAT)?;
        return read_db(file.db);
    }
    let slots = prepare_slots(&outer.header.slots.unwrap_or_default())?;
    let params = outer
        .header
        .params
        .ok_or_else(|| malformed("an encrypted vault without header.params"))?;
    let nonce = hex("params.nonce", &params.nonce, Some(12))?;
    let tag = hex("params.tag", &params.tag, Some(16))?;
    let file: EncryptedFile = from_json(data, FORMAT)?;
    let mut ciphertext = BASE64
        .decode(file.db.trim().as_bytes())
        .map_err(|_| malformed("`db` is not base64"))?;
    ciphertext.extend_from_slice(&tag);
    let password = password.ok_or(TransferError::PasswordRequired)?;
    let master = master_key(&slots, password)?;
    let plain =
        aes256gcm_open(master.expose(), &nonce, &[], &ciphertext).ok_or(TransferError::Tampered)?;
    let db: Db = from_json(plain.expose(), FORMAT)?;
    read_db(db)
}

fn read_db(db: Db) -> Result<Parsed, TransferError> {
    if !(1..=MAX_DB_VERSION).contains(&db.version) {
        return Err(TransferError::UnsupportedVersion {
            format: "Aegis database",
            found: db.version,
            supported: MAX_DB_VERSION,
        });
    }
    if db.entries.len() > MAX_ENTRIES {
        return Err(TransferError::TooLarge(format!(
            "{} entries; at most {MAX_ENTRIES}",
            db.entries.len()
        )));
    }
    let group_names: HashMap<String, String> = db
        .groups
        .unwrap_or_default()
        .into_iter()
        .filter_map(|g| Some((json_text(g.uuid.as_ref())?, json_text(g.name.as_ref())?)))
        .collect();
    let mut parsed = Parsed::default();
    for (i, entry) in db.entries.into_iter().enumerate() {
        let index = i + 1;
        let issuer = json_text(entry.issuer.as_ref()).filter(|s| !s.trim().is_empty());
        let name = json_text(entry.name.as_ref()).unwrap_or_default();
        match account_of(&entry, issuer.clone(), name.clone()) {
            Ok(account) => {
                let mut groups: Vec<String> = match &entry.groups {
                    Some(serde_json::Value::Array(ids)) => ids
                        .iter()
                        .filter_map(|id| id.as_str())
                        .filter_map(|id| group_names.get(id).cloned())
                        .collect(),
                    _ => Vec::new(),
                };
                if let Some(old) = json_text(entry.group.as_ref())
                    && !old.trim().is_empty()
                    && !groups.contains(&old)
                {
                    groups.push(old);
                }
                parsed.accounts.push(ImportedAccount {
                    account,
                    groups,
                    index,
                });
            }
            Err(reason) => parsed.failures.push(EntryFailure {
                index,
                label: label_of(issuer.as_deref(), &name),
                reason,
            }),
        }
    }
    Ok(parsed)
}

fn account_of(entry: &Entry, issuer: Option<String>, name: String) -> Result<OtpAccount, String> {
    let kind_name = json_text(entry.kind.as_ref())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if matches!(kind_name.as_str(), "motp" | "yandex") {
        return Err(format!(
            "{kind_name} entries are not supported by Countersign"
        ));
    }
    let info = entry.info.as_ref().ok_or("the entry has no `info`")?;
    let secret = match &info.secret {
        Some(SecretText::Text(s)) => decode_base32_secret(s).map_err(|e| e.to_string())?,
        _ => return Err("the entry has no secret".into()),
    };
    let bad = |field: &str| format!("`{field}` is not a valid number");
    let period = match json_u64(info.period.as_ref()) {
        None => crate::otp::DEFAULT_PERIOD,
        Some(Ok(p)) => p,
        Some(Err(())) => return Err(bad("period")),
    };
    let digits = match json_u64(info.digits.as_ref()) {
        None => 6,
        Some(Ok(d)) => u8::try_from(d).map_err(|_| bad("digits"))?,
        Some(Err(())) => return Err(bad("digits")),
    };
    let kind = match kind_name.as_str() {
        "totp" => OtpKind::Totp { period },
        "steam" => OtpKind::Steam { period },
        "hotp" => OtpKind::Hotp {
            counter: match json_u64(info.counter.as_ref()) {
                None => 0,
                Some(Ok(c)) => c,
                Some(Err(())) => return Err(bad("counter")),
            },
        },
        other => {
            return Err(format!(
                "unknown entry type `{}`",
                crate::error::preview(other)
            ));
        }
    };
    let algorithm = match json_text(info.algo.as_ref())
        .unwrap_or_else(|| "SHA1".into())
        .to_ascii_uppercase()
        .as_str()
    {
        "SHA1" => Algorithm::Sha1,
        "SHA256" => Algorithm::Sha256,
        "SHA512" => Algorithm::Sha512,
        "MD5" => return Err("algorithm MD5 is not supported".into()),
        other => {
            return Err(format!(
                "unknown algorithm `{}`",
                crate::error::preview(other)
            ));
        }
    };
    OtpAccount::new(kind, algorithm, digits, secret, issuer, name).map_err(|e| e.to_string())
}
