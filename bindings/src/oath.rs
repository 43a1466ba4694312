//! Offline codes from an `otpauth://` URI, without a vault: what QA and the "inspect" screens
//! need before an account is saved.

use crate::CountersignError;
use countersign_core::otp::OtpKind;
use countersign_core::uri::OtpAccount;

/// The kind of one-time password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OtpType {
    /// Time-based (RFC 6238).
    Totp,
    /// Counter-based (RFC 4226).
    Hotp,
    /// Steam Guard (five letters and digits).
    Steam,
}

/// An account as parsed from a URI: everything a shell shows, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountInfo {
    /// TOTP, HOTP or Steam.
    pub otp_type: OtpType,
    /// Issuer (service name), if any.
    pub issuer: Option<String>,
    /// Account name (user name or e-mail at the issuer).
    pub account_name: String,
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    /// Code length.
    pub digits: u8,
    /// Seconds per code (time-based accounts).
    pub period: Option<u64>,
    /// Next counter value (HOTP).
    pub counter: Option<u64>,
    /// Secret length in bits (so the UI can flag weak secrets without seeing them).
    pub secret_bits: u32,
    /// Icon URL from the `image` parameter, if any.
    pub image: Option<String>,
    /// Things the parser accepted with a guess, as sentences.
    pub warnings: Vec<String>,
}

impl From<&OtpAccount> for AccountInfo {
    fn from(a: &OtpAccount) -> Self {
        let (otp_type, period, counter) = match a.kind() {
            OtpKind::Totp { period } => (OtpType::Totp, Some(period), None),
            OtpKind::Hotp { counter } => (OtpType::Hotp, None, Some(counter)),
            OtpKind::Steam { period } => (OtpType::Steam, Some(period), None),
        };
        Self {
            otp_type,
            issuer: a.issuer().map(str::to_string),
            account_name: a.account_name().to_string(),
            algorithm: a.algorithm().uri_name().to_string(),
            digits: a.digits(),
            period,
            counter,
            secret_bits: u32::try_from(a.secret().len() * 8).unwrap_or(u32::MAX),
            image: a.image().map(str::to_string),
            warnings: a.warnings().iter().map(|w| w.to_string()).collect(),
        }
    }
}

/// A code with the window in which it is valid.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct CodeInfo {
    /// The code to type.
    pub code: String,
    /// First Unix second of validity (0 for HOTP).
    pub valid_from: u64,
    /// First Unix second after validity (0 for HOTP).
    pub valid_until: u64,
    /// The code that follows (next time step, or next counter).
    pub next_code: Option<String>,
}

impl std::fmt::Debug for CodeInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeInfo")
            .field("code", &"<redacted>")
            .field("valid_from", &self.valid_from)
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

impl From<countersign_core::otp::TimedCode> for CodeInfo {
    fn from(c: countersign_core::otp::TimedCode) -> Self {
        Self {
            code: c.code.as_str().to_string(),
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            next_code: c.next.map(|n| n.as_str().to_string()),
        }
    }
}

/// Parses an `otpauth://` URI and describes the account (never the secret).
#[uniffi::export]
pub fn parse_account_uri(uri: String) -> Result<AccountInfo, CountersignError> {
    Ok(AccountInfo::from(&OtpAccount::parse(&uri)?))
}

/// The code of the account in `uri` at Unix time `at` (TOTP/Steam), or for `counter`
/// (HOTP; defaults to the URI's counter).
#[uniffi::export]
pub fn code_for_uri(
    uri: String,
    at: u64,
    counter: Option<u64>,
) -> Result<CodeInfo, CountersignError> {
    let mut account = OtpAccount::parse(&uri)?;
    if let Some(c) = counter {
        account.set_counter(c);
    }
    Ok(account.code_at(at)?.into())
}
