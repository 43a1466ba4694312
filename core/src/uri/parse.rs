//! `otpauth://` parsing. Works on the raw text, so that the label can be split on its first
//! literal `:` before any percent-decoding (an encoded `%3A` inside an issuer stays inside it).

use super::account::{Keys, OtpAccount, UriWarning};
use super::secret::decode_base32_secret;
use super::{MAX_URI_LEN, UriError};
use crate::error::preview;
use crate::otp::{self, Algorithm, OtpKind};
use percent_encoding::percent_decode_str;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Bits below which a secret earns a [`UriWarning::ShortSecret`] (RFC 4226 R6).
const RECOMMENDED_MIN_BITS: usize = 128;

impl std::str::FromStr for OtpAccount {
    type Err = UriError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OtpAccount::parse(s)
    }
}

/// Parameters the model reads, each allowed once.
#[derive(Default)]
struct Known {
    secret: Option<Zeroizing<String>>,
    issuer: Option<String>,
    issuer_raw: Option<String>,
    algorithm: Option<String>,
    digits: Option<String>,
    period: Option<String>,
    counter: Option<String>,
    image: Option<String>,
    color: Option<String>,
    encoder: Option<String>,
}

impl OtpAccount {
    /// Parses an `otpauth://` Key URI (or Proton/Bitwarden's `steam://SECRET`).
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        if uri.len() > MAX_URI_LEN {
            return Err(UriError::TooLong {
                len: uri.len(),
                max: MAX_URI_LEN,
            });
        }
        let text = uri.trim();
        let Some((scheme, rest)) = text.split_once("://") else {
            let scheme = text.split_once(':').map_or("", |(s, _)| s);
            return Err(UriError::NotOtpauth {
                scheme: preview(scheme),
            });
        };
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "otpauth" => parse_otpauth(uri, rest),
            "steam" => parse_steam_scheme(uri, rest),
            other => Err(classify_foreign_scheme(other)),
        }
    }
}

fn classify_foreign_scheme(scheme: &str) -> UriError {
    let unsupported = |kind: &str, hint| UriError::UnsupportedType {
        kind: kind.to_string(),
        hint,
    };
    match scheme {
        "otpauth-migration" => unsupported(
            scheme,
            "this is a Google Authenticator export; import it with `countersign import`",
        ),
        "pia" => unsupported(
            scheme,
            "this is a privacyIDEA token; activate it with `countersign activate --uri`",
        ),
        "phonefactor" => unsupported(
            scheme,
            "this activates Microsoft Authenticator for Microsoft's service; it cannot be used \
             with another app — ask your administrator for an authenticator-app QR code",
        ),
        "openpush" => unsupported(
            scheme,
            "this is a Countersign push activation; use `countersign activate --uri`",
        ),
        "motp" => unsupported(scheme, "mOTP (MD5-based) accounts are not supported"),
        _ => UriError::NotOtpauth {
            scheme: preview(scheme),
        },
    }
}

fn decode(part: &str, what: &str) -> Result<String, UriError> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| UriError::InvalidEncoding {
            part: what.to_string(),
        })
}

/// Query values are form-encoded by many generators (`+` for a space).
fn decode_query(part: &str, what: &str) -> Result<String, UriError> {
    if part.contains('+') {
        decode(&part.replace('+', " "), what)
    } else {
        decode(part, what)
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), UriError> {
    if slot.is_some() {
        return Err(UriError::DuplicateParameter(name.to_string()));
    }
    *slot = Some(value);
    Ok(())
}

fn parse_otpauth(uri: &str, rest: &str) -> Result<OtpAccount, UriError> {
    let type_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (kind_text, after_type) = rest.split_at(type_end);
    if kind_text.is_empty() {
        return Err(UriError::MissingType);
    }
    let kind_text = kind_text.to_ascii_lowercase();
    let (label_raw, query) = match after_type
        .strip_prefix('/')
        .unwrap_or(after_type)
        .split_once('?')
    {
        Some((label, query)) => (label, query),
        None => (after_type.strip_prefix('/').unwrap_or(after_type), ""),
    };

    enum Base {
        Totp,
        Hotp,
        Steam,
    }
    let base = match kind_text.as_str() {
        "totp" => Base::Totp,
        "hotp" => Base::Hotp,
        "steam" => Base::Steam,
        "pipush" => {
            return Err(UriError::UnsupportedType {
                kind: kind_text,
                hint: "this is a privacyIDEA push token; activate it with `countersign activate --uri`",
            });
        }
        "yaotp" | "motp" | "daypassword" => {
            return Err(UriError::UnsupportedType {
                kind: kind_text,
                hint: "this OTP variant is not supported",
            });
        }
        other => return Err(UriError::UnknownType(preview(other))),
    };

    let mut warnings = Vec::new();
    let mut known = Known::default();
    let mut extra: Vec<(String, String)> = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (name_raw, value_raw) = piece.split_once('=').unwrap_or((piece, ""));
        let name = decode_query(name_raw, "parameter name")?;
        let lower = name.to_ascii_lowercase();
        if lower == "secret" {
            let value = Zeroizing::new(decode_query(value_raw, "secret")?);
            set_once(&mut known.secret, value, "secret")?;
            continue;
        }
        let value = decode_query(value_raw, "parameter value")?;
        match lower.as_str() {
            "issuer" => {
                set_once(&mut known.issuer, value, "issuer")?;
                known.issuer_raw = Some(value_raw.to_string());
            }
            "algorithm" => set_once(&mut known.algorithm, value, "algorithm")?,
            "digits" => set_once(&mut known.digits, value, "digits")?,
            "period" => set_once(&mut known.period, value, "period")?,
            "counter" => set_once(&mut known.counter, value, "counter")?,
            "image" => set_once(&mut known.image, value, "image")?,
            "color" => set_once(&mut known.color, value, "color")?,
            "encoder" => set_once(&mut known.encoder, value, "encoder")?,
            _ => extra.push((name, value)),
        }
    }

    split_glued_issuer(&mut known, &mut warnings)?;
    let issuer_param = known.issuer.take().and_then(super::account::clean_name);
    let (label_prefix, account_name) = split_label(label_raw, issuer_param.as_deref())?;
    if label_raw.contains('#') || issuer_param.as_deref().is_some_and(|i| i.contains('#')) {
        warnings.push(UriWarning::UnescapedHash);
    }

    for (field, value) in [
        ("issuer", issuer_param.as_deref()),
        ("label's issuer", label_prefix.as_deref()),
        ("account name", Some(account_name.as_str())),
    ] {
        if value.is_some_and(|v| v.len() > super::MAX_NAME_BYTES) {
            return Err(UriError::FieldTooLong {
                field,
                max: super::MAX_NAME_BYTES,
            });
        }
    }
    let extra_bytes: usize = known.image.as_ref().map_or(0, String::len)
        + known.color.as_ref().map_or(0, String::len)
        + extra.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    if extra_bytes > super::MAX_EXTRA_BYTES {
        return Err(UriError::FieldTooLong {
            field: "image, color and other parameters",
            max: super::MAX_EXTRA_BYTES,
        });
    }
    let (issuer, label_issuer) = match (issuer_param, label_prefix) {
        (Some(param), Some(prefix)) if param != prefix => {
            if !param.eq_ignore_ascii_case(&prefix) {
                warnings.push(UriWarning::IssuerMismatch {
                    label: prefix.clone(),
                    parameter: param.clone(),
                });
            }
            (Some(param), Some(prefix))
        }
        (Some(param), _) => (Some(param), None),
        (None, prefix) => (prefix, None),
    };

    let steam_by_encoder = known
        .encoder
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case("steam"));
    let steam_by_issuer = matches!(base, Base::Totp)
        && known.digits.is_none()
        && issuer
            .as_deref()
            .is_some_and(|i| i.eq_ignore_ascii_case("steam"));
    if let (false, Some(encoder)) = (steam_by_encoder, known.encoder.take()) {
        extra.push(("encoder".into(), encoder));
    }

    let secret_text = known.secret.take().ok_or(UriError::MissingSecret)?;
    let secret = decode_base32_secret(&secret_text)?;
    let bits = secret.len() * 8;
    if bits < RECOMMENDED_MIN_BITS {
        warnings.push(UriWarning::ShortSecret { bits });
    }

    let algorithm = match known.algorithm.take() {
        None => Algorithm::Sha1,
        Some(text) => match parse_algorithm(&text)? {
            Some(a) => a,
            None => {
                warnings.push(UriWarning::AlgorithmDefaulted);
                Algorithm::Sha1
            }
        },
    };

    let is_steam = matches!(base, Base::Steam) || steam_by_encoder || steam_by_issuer;
    let (kind, digits) = if is_steam {
        if steam_by_issuer && !steam_by_encoder && !matches!(base, Base::Steam) {
            warnings.push(UriWarning::SteamFromIssuer);
        }
        if known.digits.take().is_some_and(|d| d.trim() != "5") {
            warnings.push(UriWarning::SteamDigitsIgnored);
        }
        let period = parse_period(known.period.take())?;
        (OtpKind::Steam { period }, otp::STEAM_CHARS)
    } else {
        let digits = parse_digits(known.digits.take())?;
        match base {
            Base::Hotp => {
                let counter = match known.counter.take() {
                    Some(c) => c
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| UriError::InvalidCounter(preview(&c)))?,
                    None => {
                        warnings.push(UriWarning::HotpCounterMissing);
                        0
                    }
                };
                (OtpKind::Hotp { counter }, digits)
            }
            _ => (
                OtpKind::Totp {
                    period: parse_period(known.period.take())?,
                },
                digits,
            ),
        }
    };
    // Parameters that exist but do not apply to this kind are kept for the round trip.
    if let Some(p) = known.period.take() {
        extra.push(("period".into(), p));
    }
    if let Some(c) = known.counter.take() {
        extra.push(("counter".into(), c));
    }

    let algorithm = if is_steam { Algorithm::Sha1 } else { algorithm };
    Ok(OtpAccount {
        kind,
        algorithm,
        digits,
        keys: Arc::new(prepare(kind, algorithm, digits, secret)?),
        issuer,
        label_issuer,
        account_name,
        image: known.image,
        color: known.color,
        extra,
        warnings,
        raw: Some(Arc::new(Zeroizing::new(uri.to_string()))),
    })
}

/// Prepares the key schedule; parameters were validated above, so a failure here is reported
/// as the parameter it concerns rather than assumed impossible.
fn prepare(
    kind: OtpKind,
    algorithm: Algorithm,
    digits: u8,
    secret: crate::crypto::SecretBytes,
) -> Result<Keys, UriError> {
    Keys::new(kind, algorithm, digits, secret).map_err(|e| match e {
        otp::OtpError::InvalidDigits(d) => UriError::InvalidDigits(d.to_string()),
        otp::OtpError::InvalidPeriod => UriError::InvalidPeriod("0".into()),
        _ => UriError::EmptySecret,
    })
}

/// `steam://SECRET` (Proton Authenticator, Bitwarden).
fn parse_steam_scheme(uri: &str, rest: &str) -> Result<OtpAccount, UriError> {
    let secret_text = Zeroizing::new(decode(rest.trim_end_matches('/'), "secret")?);
    let secret = decode_base32_secret(&secret_text)?;
    let mut warnings = Vec::new();
    if secret.len() * 8 < RECOMMENDED_MIN_BITS {
        warnings.push(UriWarning::ShortSecret {
            bits: secret.len() * 8,
        });
    }
    let kind = OtpKind::Steam {
        period: otp::DEFAULT_PERIOD,
    };
    Ok(OtpAccount {
        kind,
        algorithm: Algorithm::Sha1,
        digits: otp::STEAM_CHARS,
        keys: Arc::new(prepare(kind, Algorithm::Sha1, otp::STEAM_CHARS, secret)?),
        issuer: Some("Steam".into()),
        label_issuer: None,
        account_name: String::new(),
        image: None,
        color: None,
        extra: Vec::new(),
        warnings,
        raw: Some(Arc::new(Zeroizing::new(uri.to_string()))),
    })
}

/// Splits `Issuer:account` on the first *literal* colon, then decodes each side. Without a
/// literal colon, an encoded `%3A` splits only when what precedes it is the issuer parameter.
fn split_label(
    raw: &str,
    issuer_param: Option<&str>,
) -> Result<(Option<String>, String), UriError> {
    if let Some((prefix, account)) = raw.split_once(':') {
        let prefix = super::account::clean_name(decode(prefix, "label")?);
        let account = decode(account, "label")?;
        return Ok((prefix, account.trim().to_string()));
    }
    let decoded = decode(raw, "label")?;
    if let Some((param, account)) = issuer_param.and_then(|param| {
        decoded
            .strip_prefix(param)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|account| (param, account))
    }) {
        return Ok((Some(param.to_string()), account.trim().to_string()));
    }
    Ok((None, decoded.trim().to_string()))
}

/// `issuer=Foo period=60 digits=8` (seen from some generators): keep `Foo`, apply the rest
/// where the real parameter is absent.
fn split_glued_issuer(known: &mut Known, warnings: &mut Vec<UriWarning>) -> Result<(), UriError> {
    // Detection works on the raw text: generators that glue parameters write a literal `=`,
    // while a formatter (ours included) escapes `=` inside a value as `%3D`. So an issuer
    // that merely contains "period=60" survives a round trip unchanged.
    let Some(raw) = known.issuer_raw.as_deref() else {
        return Ok(());
    };
    let spaced = raw.replace("%20", " ").replace('+', " ");
    let mut words: Vec<&str> = spaced.split_whitespace().collect();
    let mut glued = Vec::new();
    while let Some(last) = words.last() {
        let Some((k, v)) = last.split_once('=') else {
            break;
        };
        let k = k.to_ascii_lowercase();
        if !matches!(k.as_str(), "period" | "digits" | "algorithm" | "counter") || words.len() == 1
        {
            break;
        }
        glued.push((k, decode(v, "issuer")?));
        words.pop();
    }
    if glued.is_empty() {
        return Ok(());
    }
    known.issuer = Some(decode(words.join(" ").trim_end(), "issuer")?);
    warnings.push(UriWarning::GluedParameters);
    for (k, v) in glued {
        let slot = match k.as_str() {
            "period" => &mut known.period,
            "digits" => &mut known.digits,
            "algorithm" => &mut known.algorithm,
            _ => &mut known.counter,
        };
        if slot.is_none() {
            *slot = Some(v);
        }
    }
    Ok(())
}

/// Every spelling seen in the wild: `SHA1`, `sha256`, `SHA-512`, `HmacSHA1`, `HMAC-SHA-256`,
/// `Algorithm.SHA256`. `Ok(None)` means empty or `null` (use the default, with a warning).
pub(crate) fn parse_algorithm(text: &str) -> Result<Option<Algorithm>, UriError> {
    let mut norm: String = text
        .trim()
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .collect();
    if let Some(rest) = norm.strip_prefix("algorithm.") {
        norm = rest.to_string();
    }
    if let Some(rest) = norm.strip_prefix("hmac") {
        norm = rest.to_string();
    }
    match norm.as_str() {
        "" | "null" => Ok(None),
        "sha1" => Ok(Some(Algorithm::Sha1)),
        "sha256" => Ok(Some(Algorithm::Sha256)),
        "sha512" => Ok(Some(Algorithm::Sha512)),
        "md5" | "sha224" | "sha384" | "sha3256" | "sha3512" => {
            Err(UriError::UnsupportedAlgorithm(preview(text)))
        }
        _ => Err(UriError::UnknownAlgorithm(preview(text))),
    }
}

fn parse_digits(text: Option<String>) -> Result<u8, UriError> {
    let Some(text) = text else { return Ok(6) };
    match text.trim().parse::<u8>() {
        Ok(d) if (otp::MIN_DIGITS..=otp::MAX_DIGITS).contains(&d) => Ok(d),
        _ => Err(UriError::InvalidDigits(preview(&text))),
    }
}

fn parse_period(text: Option<String>) -> Result<u64, UriError> {
    let Some(text) = text else {
        return Ok(otp::DEFAULT_PERIOD);
    };
    match text.trim().parse::<u64>() {
        Ok(p) if p >= 1 => Ok(p),
        _ => Err(UriError::InvalidPeriod(preview(&text))),
    }
}
