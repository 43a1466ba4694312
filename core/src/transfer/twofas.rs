//! 2FAS Authenticator backups (`.2fas`), plain and encrypted, schema versions 1 to 4.
//!
//! The file is `{services: [...], groups: [{id, name}], schemaVersion, ...}`. Each service has
//! `name`, `secret` (base32) and `otp: {account, issuer, digits, period, algorithm, counter,
//! tokenType}` (TOTP, HOTP or STEAM), and optionally `groupId`. Missing values take the usual
//! defaults (6 digits, 30 s, SHA1, TOTP) as older schemas left them out.
//!
//! Encrypted backups have `services: []` and `servicesEncrypted` =
//! `base64(ciphertext ‖ tag) : base64(salt) : base64(iv)`: AES-256-GCM under
//! PBKDF2-HMAC-SHA256(password, salt, 10,000 iterations, 256 bits). `reference` is a known
//! text encrypted the same way; it is opened first, so a wrong password is told apart from a
//! damaged `servicesEncrypted`.

use super::{
    EntryFailure, ImportedAccount, MAX_ENTRIES, Parsed, SecretText, TransferError, from_json,
    json_text, json_u64, label_of,
};
use crate::crypto::{SecretBytes, aes256gcm_open, pbkdf2_sha256};
use crate::otp::{Algorithm, OtpKind};
use crate::uri::{OtpAccount, decode_base32_secret};
use data_encoding::{BASE64, BASE64_NOPAD};
use serde::Deserialize;
use std::collections::HashMap;

const FORMAT: &str = "2FAS";
/// Newest schema version read.
pub const MAX_SCHEMA_VERSION: i64 = 4;
/// PBKDF2 iterations 2FAS uses (fixed by the format, not stated in the file).
pub const PBKDF2_ITERATIONS: u32 = 10_000;
/// Longest salt accepted (2FAS writes 256 bytes).
pub const MAX_SALT_LEN: usize = 1024;

fn malformed(reason: impl Into<String>) -> TransferError {
    TransferError::Malformed {
        format: FORMAT,
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Outer {
    #[serde(default)]
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    services_encrypted: Option<String>,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    groups: Option<Vec<Group>>,
    #[serde(default)]
    services: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct PlainServices {
    #[serde(default)]
    services: Vec<Service>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Service {
    #[serde(default)]
    name: Option<serde_json::Value>,
    #[serde(default)]
    secret: Option<SecretText>,
    #[serde(default)]
    otp: Option<Otp>,
    #[serde(default)]
    group_id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Otp {
    #[serde(default)]
    account: Option<serde_json::Value>,
    #[serde(default)]
    issuer: Option<serde_json::Value>,
    #[serde(default)]
    digits: Option<serde_json::Value>,
    #[serde(default)]
    period: Option<serde_json::Value>,
    #[serde(default)]
    algorithm: Option<serde_json::Value>,
    #[serde(default)]
    counter: Option<serde_json::Value>,
    #[serde(default)]
    token_type: Option<serde_json::Value>,
}

/// One `ciphertext:salt:iv` triple.
struct Sealed {
    ciphertext: Vec<u8>,
    salt: Vec<u8>,
    iv: Vec<u8>,
}

fn b64(field: &str, text: &str) -> Result<Vec<u8>, TransferError> {
    let t = text.trim();
    BASE64
        .decode(t.as_bytes())
        .or_else(|_| BASE64_NOPAD.decode(t.trim_end_matches('=').as_bytes()))
        .map_err(|_| malformed(format!("`{field}` is not base64")))
}

fn split_sealed(field: &str, text: &str) -> Result<Sealed, TransferError> {
    let parts: Vec<&str> = text.split(':').collect();
    let [ct, salt, iv] = parts.as_slice() else {
        return Err(malformed(format!("`{field}` is not ciphertext:salt:iv")));
    };
    let sealed = Sealed {
        ciphertext: b64(field, ct)?,
        salt: b64(field, salt)?,
        iv: b64(field, iv)?,
    };
    if sealed.salt.is_empty() || sealed.salt.len() > MAX_SALT_LEN {
        return Err(malformed(format!(
            "`{field}` has a salt of {} bytes",
            sealed.salt.len()
        )));
    }
    if sealed.iv.len() != 12 {
        return Err(malformed(format!(
            "`{field}` has an IV of {} bytes, not 12",
            sealed.iv.len()
        )));
    }
    if sealed.ciphertext.len() < 16 {
        return Err(malformed(format!("`{field}` is shorter than a GCM tag")));
    }
    Ok(sealed)
}

fn key_for(password: &[u8], salt: &[u8]) -> Result<SecretBytes, TransferError> {
    Ok(pbkdf2_sha256(password, salt, PBKDF2_ITERATIONS, 32)?)
}

/// Reads a 2FAS backup. `password` is needed only for an encrypted one.
pub fn parse(data: &[u8], password: Option<&[u8]>) -> Result<Parsed, TransferError> {
    let outer: Outer = from_json(data, FORMAT)?;
    let _ = outer.services;
    let version = match json_u64(outer.schema_version.as_ref()) {
        None => 1,
        Some(Ok(v)) => i64::try_from(v).unwrap_or(i64::MAX),
        Some(Err(())) => return Err(malformed("`schemaVersion` is not a number")),
    };
    if !(1..=MAX_SCHEMA_VERSION).contains(&version) {
        return Err(TransferError::UnsupportedVersion {
            format: FORMAT,
            found: version,
            supported: MAX_SCHEMA_VERSION,
        });
    }
    let groups: HashMap<String, String> = outer
        .groups
        .unwrap_or_default()
        .into_iter()
        .filter_map(|g| Some((json_text(g.id.as_ref())?, json_text(g.name.as_ref())?)))
        .collect();
    let services: Vec<Service> = match outer.services_encrypted.as_deref().map(str::trim) {
        Some(enc) if !enc.is_empty() => {
            let sealed = split_sealed("servicesEncrypted", enc)?;
            let reference = outer
                .reference
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| split_sealed("reference", r))
                .transpose()?;
            let password = password.ok_or(TransferError::PasswordRequired)?;
            let key = key_for(password, &sealed.salt)?;
            if let Some(r) = reference {
                let ref_key;
                let k = if r.salt == sealed.salt {
                    &key
                } else {
                    ref_key = key_for(password, &r.salt)?;
                    &ref_key
                };
                aes256gcm_open(k.expose(), &r.iv, &[], &r.ciphertext)
                    .ok_or(TransferError::WrongPassword)?;
            }
            let plain = aes256gcm_open(key.expose(), &sealed.iv, &[], &sealed.ciphertext).ok_or(
                if outer.reference.is_some() {
                    TransferError::Tampered
                } else {
                    TransferError::WrongPassword
                },
            )?;
            from_json(plain.expose(), FORMAT)?
        }
        _ => from_json::<PlainServices>(data, FORMAT)?.services,
    };
    if services.len() > MAX_ENTRIES {
        return Err(TransferError::TooLarge(format!(
            "{} services; at most {MAX_ENTRIES}",
            services.len()
        )));
    }
    let mut parsed = Parsed::default();
    for (i, s) in services.into_iter().enumerate() {
        let index = i + 1;
        let service_name = json_text(s.name.as_ref()).unwrap_or_default();
        let otp = s.otp.as_ref();
        let issuer = otp
            .and_then(|o| json_text(o.issuer.as_ref()))
            .filter(|x| !x.trim().is_empty())
            .or_else(|| (!service_name.trim().is_empty()).then(|| service_name.clone()));
        let account = otp
            .and_then(|o| json_text(o.account.as_ref()))
            .unwrap_or_default();
        match account_of(&s, issuer.clone(), account.clone()) {
            Ok(a) => {
                let groups = json_text(s.group_id.as_ref())
                    .and_then(|id| groups.get(&id).cloned())
                    .into_iter()
                    .collect();
                parsed.accounts.push(ImportedAccount {
                    account: a,
                    groups,
                    index,
                });
            }
            Err(reason) => parsed.failures.push(EntryFailure {
                index,
                label: label_of(issuer.as_deref(), &account),
                reason,
            }),
        }
    }
    Ok(parsed)
}

fn account_of(s: &Service, issuer: Option<String>, account: String) -> Result<OtpAccount, String> {
    let secret = match &s.secret {
        Some(SecretText::Text(t)) => decode_base32_secret(t).map_err(|e| e.to_string())?,
        _ => return Err("the service has no secret".into()),
    };
    let otp = s.otp.as_ref();
    let field = |f: fn(&Otp) -> Option<&serde_json::Value>| otp.and_then(f);
    let bad = |name: &str| format!("`{name}` is not a valid number");
    let digits = match json_u64(field(|o| o.digits.as_ref())) {
        None => 6,
        Some(Ok(d)) => u8::try_from(d).map_err(|_| bad("digits"))?,
        Some(Err(())) => return Err(bad("digits")),
    };
    let period = match json_u64(field(|o| o.period.as_ref())) {
        None | Some(Ok(0)) => crate::otp::DEFAULT_PERIOD,
        Some(Ok(p)) => p,
        Some(Err(())) => return Err(bad("period")),
    };
    let token_type = json_text(field(|o| o.token_type.as_ref()))
        .unwrap_or_else(|| "TOTP".into())
        .to_ascii_uppercase();
    let kind = match token_type.as_str() {
        "TOTP" => OtpKind::Totp { period },
        "STEAM" => OtpKind::Steam { period },
        "HOTP" => OtpKind::Hotp {
            counter: match json_u64(field(|o| o.counter.as_ref())) {
                None => 0,
                Some(Ok(c)) => c,
                Some(Err(())) => return Err(bad("counter")),
            },
        },
        other => {
            return Err(format!(
                "unknown token type `{}`",
                crate::error::preview(other)
            ));
        }
    };
    let algorithm = match json_text(field(|o| o.algorithm.as_ref()))
        .unwrap_or_else(|| "SHA1".into())
        .to_ascii_uppercase()
        .as_str()
    {
        "SHA1" => Algorithm::Sha1,
        "SHA256" => Algorithm::Sha256,
        "SHA512" => Algorithm::Sha512,
        a @ ("SHA224" | "SHA384" | "MD5") => {
            return Err(format!("algorithm {a} is not supported"));
        }
        other => {
            return Err(format!(
                "unknown algorithm `{}`",
                crate::error::preview(other)
            ));
        }
    };
    OtpAccount::new(kind, algorithm, digits, secret, issuer, account).map_err(|e| e.to_string())
}
