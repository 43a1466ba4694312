//! Google Authenticator's transfer QR codes: `otpauth-migration://offline?data=…`.
//!
//! `data` is URL-encoded, padded standard base64 of a protobuf `MigrationPayload` (the schema
//! Aegis, Ente and 2FAS publish; see the project's research notes §4.1). Secrets are raw bytes.
//! The format has no period (every TOTP is 30 s), only 6 or 8 digits and no Steam type.
//! Unspecified algorithm, digit count and type mean SHA1, 6 and TOTP.
//!
//! An export of many accounts is split into a batch of codes sharing a `batch_id`, each with
//! its `batch_index` of `batch_size`; [`parse_links`] reports the indices still missing.

use super::{
    BatchGap, EntryFailure, ExportAccount, ImportedAccount, MAX_ENTRIES, Parsed, SkippedEntry,
    TransferError, label_of,
};
use crate::crypto::{SecretBytes, random_bytes};
use crate::otp::{Algorithm, OtpKind};
use crate::uri::OtpAccount;
use data_encoding::{BASE64, BASE64_NOPAD, BASE64URL_NOPAD};
use prost::Message;
use std::collections::BTreeMap;
use zeroize::{Zeroize, Zeroizing};

/// Longest transfer link read (a version-40 QR code holds 2,953 bytes; links pasted from other
/// tools may be longer).
pub const MAX_LINK_LEN: usize = 64 * 1024;
/// Largest batch size believed (Google's exports hold a handful of codes).
pub const MAX_BATCH_SIZE: i32 = 1000;
/// Most accounts written into one transfer code (Google writes up to 10).
pub const EXPORT_ACCOUNTS_PER_CODE: usize = 10;
/// Largest protobuf written into one code, so the QR code stays scannable.
pub const EXPORT_BYTES_PER_CODE: usize = 1000;

const FORMAT: &str = "Google Authenticator transfer";

/// Google Authenticator's `MigrationPayload` (the one definition in the crate; the payload
/// classifier reads it too).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct MigrationPayload {
    /// The accounts in this code.
    #[prost(message, repeated, tag = "1")]
    pub otp_parameters: Vec<OtpParameters>,
    /// Format version (Google and Aegis write 1).
    #[prost(int32, tag = "2")]
    pub version: i32,
    /// Codes in the export.
    #[prost(int32, tag = "3")]
    pub batch_size: i32,
    /// This code's 0-based position.
    #[prost(int32, tag = "4")]
    pub batch_index: i32,
    /// Shared by every code of one export.
    #[prost(int32, tag = "5")]
    pub batch_id: i32,
}

/// One account of a migration payload. The secret is never printed; holders call
/// [`MigrationPayload::wipe`] when done.
#[derive(Clone, PartialEq, Message)]
#[prost(skip_debug)]
pub(crate) struct OtpParameters {
    /// Raw key bytes.
    #[prost(bytes = "vec", tag = "1")]
    pub secret: Vec<u8>,
    /// Account name (sometimes `Issuer:account`).
    #[prost(string, tag = "2")]
    pub name: String,
    /// Issuer.
    #[prost(string, tag = "3")]
    pub issuer: String,
    /// 0 unspecified, 1 SHA1, 2 SHA256, 3 SHA512, 4 MD5.
    #[prost(int32, tag = "4")]
    pub algorithm: i32,
    /// 0 unspecified, 1 six, 2 eight.
    #[prost(int32, tag = "5")]
    pub digits: i32,
    /// 0 unspecified, 1 HOTP, 2 TOTP.
    #[prost(int32, tag = "6")]
    pub r#type: i32,
    /// HOTP counter.
    #[prost(int64, tag = "7")]
    pub counter: i64,
}

impl std::fmt::Debug for OtpParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpParameters")
            .field("issuer", &self.issuer)
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl MigrationPayload {
    /// Overwrites every secret (prost types cannot wipe themselves on drop: a `Drop` impl
    /// would forbid building them with `..Default::default()`).
    pub(crate) fn wipe(&mut self) {
        for p in &mut self.otp_parameters {
            p.secret.zeroize();
        }
    }
}

fn malformed(reason: impl Into<String>) -> TransferError {
    TransferError::Malformed {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// Decodes one transfer link into its payload.
pub(crate) fn decode_link(link: &str) -> Result<MigrationPayload, TransferError> {
    let link = link.trim();
    if link.len() > MAX_LINK_LEN {
        return Err(malformed(format!(
            "the link is longer than {MAX_LINK_LEN} bytes"
        )));
    }
    let Some((scheme, rest)) = link.split_once("://") else {
        return Err(malformed("not an otpauth-migration:// link"));
    };
    if !scheme.eq_ignore_ascii_case("otpauth-migration") {
        return Err(malformed("not an otpauth-migration:// link"));
    }
    let Some((_, query)) = rest.split_once('?') else {
        return Err(malformed("the link has no data"));
    };
    let data = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "data")
        .map(|(_, v)| Zeroizing::new(v.into_owned()))
        .ok_or_else(|| malformed("the link has no data parameter"))?;
    // Form decoding turns an unescaped `+` into a space; base64 has no spaces.
    let data = Zeroizing::new(data.trim().replace(' ', "+"));
    let unpadded = data.trim_end_matches('=');
    let bytes = Zeroizing::new(
        BASE64
            .decode(data.as_bytes())
            .or_else(|_| BASE64_NOPAD.decode(unpadded.as_bytes()))
            .or_else(|_| BASE64URL_NOPAD.decode(unpadded.as_bytes()))
            .map_err(|_| malformed("the data is not base64"))?,
    );
    MigrationPayload::decode(bytes.as_slice())
        .map_err(|_| malformed("the data is not a transfer payload (protobuf)"))
}

/// Turns one entry into an account.
fn account_of(p: &OtpParameters) -> Result<OtpAccount, String> {
    let algorithm = match p.algorithm {
        0 | 1 => Algorithm::Sha1,
        2 => Algorithm::Sha256,
        3 => Algorithm::Sha512,
        4 => return Err("algorithm MD5 is not supported".into()),
        n => return Err(format!("unknown algorithm value {n}")),
    };
    let digits = match p.digits {
        0 | 1 => 6,
        2 => 8,
        n => return Err(format!("unknown digit-count value {n}")),
    };
    let kind = match p.r#type {
        0 | 2 => OtpKind::Totp {
            period: crate::otp::DEFAULT_PERIOD,
        },
        1 => OtpKind::Hotp {
            counter: u64::try_from(p.counter)
                .map_err(|_| "the HOTP counter is negative".to_string())?,
        },
        n => return Err(format!("unknown OTP type value {n}")),
    };
    if p.secret.len() > crate::uri::MAX_NAME_BYTES {
        return Err("the secret is longer than 1024 bytes".into());
    }
    let (issuer, name) = split_names(&p.issuer, &p.name);
    OtpAccount::new(
        kind,
        algorithm,
        digits,
        SecretBytes::from_slice(&p.secret),
        issuer,
        name,
    )
    .map_err(|e| e.to_string())
}

/// Google writes `name` as `Issuer:account` at times: with no issuer the prefix is the issuer;
/// with one, a prefix equal to it is dropped.
fn split_names(issuer: &str, name: &str) -> (Option<String>, String) {
    let issuer = issuer.trim();
    match name.split_once(':') {
        Some((prefix, rest)) if issuer.is_empty() && !prefix.trim().is_empty() => {
            (Some(prefix.trim().to_string()), rest.trim().to_string())
        }
        Some((prefix, rest)) if prefix.trim() == issuer => {
            (Some(issuer.to_string()), rest.trim().to_string())
        }
        _ => (
            (!issuer.is_empty()).then(|| issuer.to_string()),
            name.trim().to_string(),
        ),
    }
}

/// Reads several transfer links (the codes of one export, scanned one by one, or codes of
/// several exports). Entries are numbered across links in the order given; a link that does
/// not decode is one failure (its index is the entry number it would have started at).
pub fn parse_links<S: AsRef<str>>(links: &[S]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut index = 0usize;
    // batch id → (size, seen indices)
    let mut batches: BTreeMap<i32, (i32, Vec<i32>)> = BTreeMap::new();
    for link in links {
        let mut payload = match decode_link(link.as_ref()) {
            Ok(p) => p,
            Err(e) => {
                index += 1;
                parsed.failures.push(EntryFailure {
                    index,
                    label: None,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if payload.batch_size > 1 {
            if payload.batch_size > MAX_BATCH_SIZE
                || !(0..payload.batch_size).contains(&payload.batch_index)
            {
                index += 1;
                parsed.failures.push(EntryFailure {
                    index,
                    label: None,
                    reason: format!(
                        "the code says it is number {} of {} of an export, which cannot be",
                        i64::from(payload.batch_index) + 1,
                        payload.batch_size
                    ),
                });
                continue;
            }
            let entry = batches
                .entry(payload.batch_id)
                .or_insert((payload.batch_size, Vec::new()));
            entry.0 = entry.0.max(payload.batch_size);
            entry.1.push(payload.batch_index);
        }
        for p in &payload.otp_parameters {
            index += 1;
            if parsed.accounts.len() + parsed.failures.len() >= MAX_ENTRIES {
                parsed.failures.push(EntryFailure {
                    index,
                    label: None,
                    reason: format!("more than {MAX_ENTRIES} entries; the rest were not read"),
                });
                payload.wipe();
                return finish(parsed, batches);
            }
            match account_of(p) {
                Ok(account) => parsed.accounts.push(ImportedAccount {
                    account,
                    groups: Vec::new(),
                    index,
                }),
                Err(reason) => {
                    let (issuer, name) = split_names(&p.issuer, &p.name);
                    parsed.failures.push(EntryFailure {
                        index,
                        label: label_of(issuer.as_deref(), &name),
                        reason,
                    });
                }
            }
        }
        payload.wipe();
    }
    finish(parsed, batches)
}

fn finish(mut parsed: Parsed, batches: BTreeMap<i32, (i32, Vec<i32>)>) -> Parsed {
    for (batch_id, (size, seen)) in batches {
        let missing: Vec<u32> = (0..size)
            .filter(|i| !seen.contains(i))
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        if !missing.is_empty() {
            parsed.missing_batches.push(BatchGap {
                batch_id,
                batch_size: u32::try_from(size).unwrap_or(0),
                missing,
            });
        }
    }
    parsed
}

/// Reads a text of transfer links, one a line (blank lines and `#` comments skipped).
pub fn parse_text(data: &[u8]) -> Result<Parsed, TransferError> {
    let text = std::str::from_utf8(data).map_err(|_| malformed("the text is not UTF-8"))?;
    let links: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if links.is_empty() {
        return Err(malformed("no transfer link found"));
    }
    Ok(parse_links(&links))
}

/// Why an account cannot travel in Google's format, if it cannot.
fn not_representable(a: &OtpAccount) -> Option<&'static str> {
    match a.kind() {
        OtpKind::Steam { .. } => Some("Steam accounts cannot be expressed in Google's format"),
        OtpKind::Totp { period } if period != crate::otp::DEFAULT_PERIOD => {
            Some("Google's format has no period: only 30-second accounts can be exported")
        }
        OtpKind::Hotp { counter } if i64::try_from(counter).is_err() => {
            Some("the HOTP counter is too large for Google's format")
        }
        _ if !matches!(a.digits(), 6 | 8) => {
            Some("Google's format holds only 6- or 8-digit accounts")
        }
        _ => None,
    }
}

fn parameters_of(a: &OtpAccount) -> OtpParameters {
    let (r#type, counter) = match a.kind() {
        OtpKind::Hotp { counter } => (1, i64::try_from(counter).unwrap_or(0)),
        _ => (2, 0),
    };
    OtpParameters {
        secret: a.secret().expose().to_vec(),
        name: a.account_name().to_string(),
        issuer: a.issuer().unwrap_or("").to_string(),
        algorithm: match a.algorithm() {
            Algorithm::Sha1 => 1,
            Algorithm::Sha256 => 2,
            Algorithm::Sha512 => 3,
        },
        digits: if a.digits() == 8 { 2 } else { 1 },
        r#type,
        counter,
    }
}

fn link_of(payload: &MigrationPayload) -> Zeroizing<String> {
    let bytes = Zeroizing::new(payload.encode_to_vec());
    let b64 = Zeroizing::new(BASE64.encode(&bytes));
    const PREFIX: &str = "otpauth-migration://offline?data=";
    // Sized for the worst case (every character escaped), so the string never reallocates and
    // leaves an unwiped copy behind.
    let mut out = Zeroizing::new(String::with_capacity(PREFIX.len() + 3 * b64.len()));
    out.push_str(PREFIX);
    for part in url::form_urlencoded::byte_serialize(b64.as_bytes()) {
        out.push_str(part);
    }
    out
}

/// Google transfer links for `accounts`, batched (at most [`EXPORT_ACCOUNTS_PER_CODE`]
/// accounts and about [`EXPORT_BYTES_PER_CODE`] bytes per code). Accounts the format cannot
/// express are returned as skipped. The links hold every secret in the clear.
pub fn export(
    accounts: &[ExportAccount],
) -> Result<(Vec<Zeroizing<String>>, Vec<SkippedEntry>), TransferError> {
    let mut skipped = Vec::new();
    let mut batches: Vec<Vec<OtpParameters>> = Vec::new();
    let mut current: Vec<OtpParameters> = Vec::new();
    let mut current_bytes = 0usize;
    for e in accounts {
        if let Some(reason) = not_representable(&e.account) {
            skipped.push(SkippedEntry {
                id: e.id,
                issuer: e.account.issuer().map(str::to_string),
                name: e.account.account_name().to_string(),
                reason: reason.to_string(),
            });
            continue;
        }
        let p = parameters_of(&e.account);
        let size = p.encoded_len() + 3;
        if !current.is_empty()
            && (current.len() >= EXPORT_ACCOUNTS_PER_CODE
                || current_bytes.saturating_add(size) > EXPORT_BYTES_PER_CODE)
        {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current_bytes = current_bytes.saturating_add(size);
        current.push(p);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    let id_bytes = random_bytes(4)?;
    let mut id = [0u8; 4];
    id.copy_from_slice(id_bytes.expose());
    // Positive, like Google's own ids.
    let batch_id = i32::from_be_bytes(id) & i32::MAX;
    let size = i32::try_from(batches.len()).unwrap_or(i32::MAX);
    let links = batches
        .into_iter()
        .enumerate()
        .map(|(i, otp_parameters)| {
            let mut payload = MigrationPayload {
                otp_parameters,
                version: 1,
                batch_size: size,
                batch_index: i32::try_from(i).unwrap_or(i32::MAX),
                batch_id,
            };
            let link = link_of(&payload);
            payload.wipe();
            link
        })
        .collect();
    Ok((links, skipped))
}

#[cfg(test)]
pub(crate) fn link_for_test(payload: &MigrationPayload) -> String {
    link_of(payload).to_string()
}
