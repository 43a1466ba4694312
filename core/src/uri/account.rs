//! An OATH account as described by a Key URI: parameters, names, and what the parser noticed.

use crate::crypto::SecretBytes;
use crate::otp::{self, Algorithm, Generator, OtpCode, OtpError, OtpKind, TimedCode};
use serde::Serialize;
use zeroize::Zeroizing;

/// Something the parser accepted but that a careful user should know about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
#[non_exhaustive]
pub enum UriWarning {
    /// The secret is shorter than RFC 4226's 128-bit minimum (80-bit secrets are still common).
    ShortSecret {
        /// Secret length in bits.
        bits: usize,
    },
    /// An HOTP URI without `counter`; counting starts at 0.
    HotpCounterMissing,
    /// The label's issuer prefix differs from the `issuer` parameter; the parameter is used.
    IssuerMismatch {
        /// The prefix in the label.
        label: String,
        /// The `issuer` parameter.
        parameter: String,
    },
    /// A TOTP URI whose issuer is "Steam" is treated as a Steam Guard account.
    SteamFromIssuer,
    /// Parameters were glued into the issuer (`issuer=Foo period=60`) and split off.
    GluedParameters,
    /// `algorithm` was empty or `null`; SHA1 (the format's default) is used.
    AlgorithmDefaulted,
    /// `digits` on a Steam account is ignored (Steam codes are always 5 characters).
    SteamDigitsIgnored,
    /// The label or issuer contains a raw `#`, which many tools cut off as a URL fragment.
    UnescapedHash,
}

impl std::fmt::Display for UriWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ShortSecret { bits } => write!(
                f,
                "the secret is only {bits} bits (128 is the minimum the standard asks for)"
            ),
            Self::HotpCounterMissing => f.write_str("no counter given; starting at 0"),
            Self::IssuerMismatch { label, parameter } => write!(
                f,
                "the label says issuer `{}` but the issuer parameter says `{}`; using `{}`",
                crate::error::preview(label),
                crate::error::preview(parameter),
                crate::error::preview(parameter)
            ),
            Self::SteamFromIssuer => f.write_str("issuer is Steam: showing Steam Guard codes"),
            Self::GluedParameters => {
                f.write_str("parameters were glued to the issuer and have been split off")
            }
            Self::AlgorithmDefaulted => f.write_str("empty algorithm; using SHA1"),
            Self::SteamDigitsIgnored => {
                f.write_str("digits ignored: Steam codes have 5 characters")
            }
            Self::UnescapedHash => f.write_str("the label or issuer contains an unescaped `#`"),
        }
    }
}

/// The secret and the HMAC key schedule prepared from it, shared by clones of an account.
pub(crate) struct Keys {
    secret: SecretBytes,
    generator: Generator,
}

impl Keys {
    pub(crate) fn new(
        kind: OtpKind,
        algorithm: Algorithm,
        digits: u8,
        secret: SecretBytes,
    ) -> Result<Self, OtpError> {
        let generator = match kind {
            OtpKind::Steam { .. } => Generator::steam(&secret)?,
            _ => Generator::decimal(algorithm, digits, &secret)?,
        };
        Ok(Self { secret, generator })
    }
}

impl PartialEq for Keys {
    fn eq(&self, other: &Self) -> bool {
        self.secret == other.secret
    }
}
impl Eq for Keys {}

/// Names are stored without surrounding white space, and a blank issuer is no issuer: the
/// Key URI format cannot tell `Issuer: name` from `Issuer:name`, so neither can we.
pub(crate) fn clean_name(name: String) -> Option<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == name.len() {
        Some(name)
    } else {
        Some(trimmed.to_string())
    }
}

/// An OATH account: what is needed to compute its codes and to show it to a person.
///
/// The secret and the raw URI (which contains the secret) are private and never printed by
/// `Debug`; read them with [`OtpAccount::secret`] and [`OtpAccount::raw_uri`].
#[derive(Clone, PartialEq, Eq)]
pub struct OtpAccount {
    pub(crate) kind: OtpKind,
    pub(crate) algorithm: Algorithm,
    pub(crate) digits: u8,
    pub(crate) keys: std::sync::Arc<Keys>,
    pub(crate) issuer: Option<String>,
    pub(crate) label_issuer: Option<String>,
    pub(crate) account_name: String,
    pub(crate) image: Option<String>,
    pub(crate) color: Option<String>,
    pub(crate) extra: Vec<(String, String)>,
    pub(crate) warnings: Vec<UriWarning>,
    pub(crate) raw: Option<std::sync::Arc<Zeroizing<String>>>,
}

impl OtpAccount {
    /// An account built from parts (for accounts that did not come from a URI, such as push
    /// activations or imports). Digits are checked against the kind.
    pub fn new(
        kind: OtpKind,
        algorithm: Algorithm,
        digits: u8,
        secret: SecretBytes,
        issuer: Option<String>,
        account_name: String,
    ) -> Result<Self, OtpError> {
        match kind {
            OtpKind::Steam { period } | OtpKind::Totp { period } if period == 0 => {
                return Err(OtpError::InvalidPeriod);
            }
            OtpKind::Steam { .. } => {}
            _ if !(otp::MIN_DIGITS..=otp::MAX_DIGITS).contains(&digits) => {
                return Err(OtpError::InvalidDigits(digits));
            }
            _ => {}
        }
        if secret.is_empty() {
            return Err(OtpError::EmptySecret);
        }
        let steam = matches!(kind, OtpKind::Steam { .. });
        let digits = if steam { otp::STEAM_CHARS } else { digits };
        let algorithm = if steam { Algorithm::Sha1 } else { algorithm };
        Ok(Self {
            kind,
            algorithm,
            digits,
            keys: std::sync::Arc::new(Keys::new(kind, algorithm, digits, secret)?),
            issuer: issuer.and_then(clean_name),
            label_issuer: None,
            account_name: clean_name(account_name).unwrap_or_default(),
            image: None,
            color: None,
            extra: Vec::new(),
            warnings: Vec::new(),
            raw: None,
        })
    }

    /// TOTP, HOTP or Steam, with the period or counter.
    pub fn kind(&self) -> OtpKind {
        self.kind
    }
    /// The HMAC hash function.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
    /// Code length (5 for Steam).
    pub fn digits(&self) -> u8 {
        self.digits
    }
    /// The issuer (the `issuer` parameter, else the label prefix).
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
    /// The account name (the label after the issuer prefix).
    pub fn account_name(&self) -> &str {
        &self.account_name
    }
    /// The `image` parameter (an icon URL; fetching it is the shell's choice).
    pub fn image(&self) -> Option<&str> {
        self.image.as_deref()
    }
    /// The `color` parameter.
    pub fn color(&self) -> Option<&str> {
        self.color.as_deref()
    }
    /// Parameters the model does not interpret, in their original order (decoded).
    pub fn extra_parameters(&self) -> &[(String, String)] {
        &self.extra
    }
    /// What the parser accepted with a guess.
    pub fn warnings(&self) -> &[UriWarning] {
        &self.warnings
    }
    /// The secret key.
    pub fn secret(&self) -> &SecretBytes {
        &self.keys.secret
    }
    /// The URI exactly as it was given, when the account came from one. It contains the secret.
    pub fn raw_uri(&self) -> Option<&str> {
        self.raw.as_ref().map(|r| r.as_str())
    }

    /// Changes the issuer and account name (a rename); the label prefix follows the issuer.
    pub fn set_names(&mut self, issuer: Option<String>, account_name: String) {
        self.issuer = issuer.and_then(clean_name);
        self.label_issuer = None;
        self.account_name = clean_name(account_name).unwrap_or_default();
        self.raw = None;
    }

    /// Sets the HOTP counter (no effect on time-based accounts).
    pub fn set_counter(&mut self, counter: u64) {
        if let OtpKind::Hotp { counter: c } = &mut self.kind {
            *c = counter;
            self.raw = None;
        }
    }

    /// The prepared generator for this account's codes (built once, when the account was).
    pub fn generator(&self) -> &Generator {
        &self.keys.generator
    }

    /// The code valid at Unix time `at` with its window and the next code. For HOTP, `at` is
    /// ignored and the window is empty (`valid_from == valid_until == 0`): the code is the
    /// one for the stored counter, and `next` is the one after it.
    pub fn code_at(&self, at: u64) -> Result<TimedCode, OtpError> {
        let g = self.generator();
        match self.kind {
            OtpKind::Totp { period } | OtpKind::Steam { period } => g.at_time(period, at),
            OtpKind::Hotp { counter } => Ok(TimedCode {
                code: g.at_counter(counter),
                valid_from: 0,
                valid_until: 0,
                next: counter.checked_add(1).map(|c| g.at_counter(c)),
            }),
        }
    }

    /// The code valid at `at` with its window, without the next code: the cheap form for
    /// showing many accounts at once.
    pub fn current_code_at(&self, at: u64) -> Result<TimedCode, OtpError> {
        let g = self.generator();
        match self.kind {
            OtpKind::Totp { period } | OtpKind::Steam { period } => g.current_at_time(period, at),
            OtpKind::Hotp { counter } => Ok(TimedCode {
                code: g.at_counter(counter),
                valid_from: 0,
                valid_until: 0,
                next: None,
            }),
        }
    }

    /// Current codes for many accounts in one call (one result per account, in order): what an
    /// account list asks for every second.
    pub fn current_codes(accounts: &[OtpAccount], at: u64) -> Vec<Result<TimedCode, OtpError>> {
        accounts.iter().map(|a| a.current_code_at(at)).collect()
    }

    /// The code for an explicit moving factor: the HOTP counter, or a TOTP time step.
    pub fn code_at_counter(&self, counter: u64) -> OtpCode {
        self.generator().at_counter(counter)
    }
}

impl std::fmt::Debug for OtpAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpAccount")
            .field("kind", &self.kind)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("issuer", &self.issuer)
            .field("account_name", &self.account_name)
            .field("secret", &"<redacted>")
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}
