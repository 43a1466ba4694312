//! Push sign-in, protocol-neutral: what the app shows for a pending sign-in request and what
//! the user decides, shared by Countersign's own openpush/1 and privacyIDEA's push tokens.
//!
//! Each protocol adapter turns its server's signed messages into [`PushChallenge`]s after
//! verifying them, and turns a [`Decision`] into its own signed answer. The shells and the
//! harness see only these types. Network access goes through [`http`], which enforces the
//! transport rules both protocols need: TLS always verified (an extra CA only when the user
//! approved it), no redirects, plain http only to loopback under an explicit test flag,
//! bounded response sizes.

pub mod http;
pub mod openpush;
pub mod privacyidea;

use crate::openpush::ProtocolError;
use crate::vault::{AccountId, VaultError};

/// Which push protocol an account speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// openpush/1 (docs/protocol.md).
    Openpush,
    /// privacyIDEA push tokens.
    Privacyidea,
}

/// Why a challenge exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChallengeKind {
    /// Someone is signing in.
    Signin,
    /// Confirming this device's activation.
    Activation,
}

/// A pending sign-in request, verified and ready to show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushChallenge {
    /// The vault account it belongs to.
    pub account_id: AccountId,
    /// Protocol.
    pub protocol: Protocol,
    /// The server's challenge id (unique per account).
    pub challenge_id: String,
    /// Sign-in or activation.
    pub kind: ChallengeKind,
    /// What the user is signing in to (sanitised).
    pub app: String,
    /// The server's own text for the request (privacyIDEA's question), sanitised.
    pub message: Option<String>,
    /// Client IP, when given and valid.
    pub ip: Option<String>,
    /// Approximate location (sanitised).
    pub location: Option<String>,
    /// Browser / OS as reported (sanitised).
    pub client: Option<String>,
    /// When the sign-in started (server time).
    pub time: u64,
    /// Server time of creation.
    pub created_at: u64,
    /// Server time of expiry.
    pub expires_at: u64,
    /// Digits of the number the user must type (openpush), if any.
    pub number_length: Option<u8>,
    /// Options to pick from (privacyIDEA presence), if any.
    pub options: Vec<String>,
    /// A code to show the user (privacyIDEA code-to-phone), if any.
    pub display_code: Option<String>,
    /// Whether "Deny and report fraud" is offered.
    pub fraud_report: bool,
}

/// What the user decided.
#[derive(Clone, PartialEq, Eq)]
pub enum Decision {
    /// Approve, with the number typed (openpush) or the option picked (privacyIDEA presence).
    Approve {
        /// The number shown in the browser, typed by the user.
        number: Option<String>,
        /// The option picked.
        option: Option<String>,
    },
    /// Deny.
    Deny,
    /// Deny and report fraud.
    ReportFraud,
}

impl std::fmt::Debug for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Approve { .. } => "Approve",
            Self::Deny => "Deny",
            Self::ReportFraud => "ReportFraud",
        })
    }
}

/// What the server recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Approved.
    Approved,
    /// Approved; the sign-in page now asks for this code (privacyIDEA code-to-phone).
    ApprovedWithCode {
        /// The code to show the user.
        code: String,
        /// The server's instruction ("Enter the code to log in"), sanitised.
        instruction: Option<String>,
    },
    /// Denied (by the user, or because the number did not match).
    Denied {
        /// `wrong_number`, `otp_mismatch`, or none.
        reason: Option<String>,
    },
    /// Denied and reported as fraud.
    Fraud,
}

/// Push failures, by what the caller does next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The network failed or timed out; retry later.
    #[error("network error: {0}")]
    Network(String),
    /// The server refused (with its error code).
    #[error("the server refused: {code} ({message})")]
    Server {
        /// Machine-readable code (§12).
        code: String,
        /// The server's message (for logs; not shown verbatim).
        message: String,
        /// HTTP status.
        status: u16,
    },
    /// The challenge is already answered or closed.
    #[error("the request was already answered or closed ({0})")]
    ChallengeClosed(String),
    /// The challenge expired.
    #[error("the sign-in request has expired")]
    Expired,
    /// A message failed verification (signature, pin, freshness, limits).
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Bad input from the user or caller.
    #[error("{0}")]
    InvalidInput(String),
    /// Something internal failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::Error> for PushError {
    fn from(e: crate::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<crate::otp::OtpError> for PushError {
    fn from(e: crate::otp::OtpError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// Parses a JSON body, reporting only the category of a failure: serde's message can quote the
/// offending input.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T, PushError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let category = match e.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "unexpected members or values",
            serde_json::error::Category::Eof => "truncated",
        };
        ProtocolError::invalid(what, format!("malformed ({category})")).into()
    })
}
