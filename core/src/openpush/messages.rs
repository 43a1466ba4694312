//! Message shapes (§5, §8, §9, §12). Deserialising rejects duplicate members (serde's derive
//! does) and ignores unknown ones, as §13 requires.

use serde::{Deserialize, Serialize};

/// `{"alg","pub"}` key objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRef {
    /// `ES256`, `X25519` or `Ed25519`.
    pub alg: String,
    /// base64url public key.
    #[serde(rename = "pub")]
    pub public: String,
}

/// Push registration (§5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRegistration {
    /// `fcm`, `apns`, `unifiedpush` or `none`.
    pub provider: String,
    /// Token (empty iff `none`).
    pub token: String,
}

/// Device description (§5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// ≤ 64 chars.
    pub name: String,
    /// `android`, `ios`, `windows`, `macos`, `linux`, `other`.
    pub platform: String,
    /// ≤ 32 chars.
    pub app_version: String,
}

/// The activation request payload (§5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationRequest {
    /// §4.4.
    pub code_id: String,
    /// `B` as normalised by the client.
    pub base_url: String,
    /// 16 random bytes.
    pub nonce: String,
    /// Uncorrected device clock.
    pub client_time: u64,
    /// ES256 device key.
    pub device_key: KeyRef,
    /// Device's ephemeral X25519 key.
    pub oath_kx: KeyRef,
    /// Push registration.
    pub push: PushRegistration,
    /// Device description.
    pub device: DeviceInfo,
}

/// The activation request body (§5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationBody {
    /// base64url of the [`ActivationRequest`] bytes.
    pub payload: String,
    /// ES256 proof of possession.
    pub device_sig: String,
    /// HMAC proof of the code.
    pub code_proof: String,
}

/// OATH parameters and the server's X25519 key (§5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OathParams {
    /// `totp`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `SHA1`.
    pub algorithm: String,
    /// 6.
    pub digits: u8,
    /// 30.
    pub period: u64,
    /// Server's ephemeral X25519 key.
    pub kx: KeyRef,
}

/// Limits the server states (§5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// ≤ 120.
    pub challenge_ttl_max: u64,
}

/// `activate-response` payload (§5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivateResponse {
    /// SHA-256 of the request payload.
    pub request_hash: String,
    /// New account id.
    pub account_id: String,
    /// The server's `B`.
    pub base_url: String,
    /// §7.
    pub server_time: u64,
    /// `pending`.
    pub state: String,
    /// Deadline for confirmation.
    pub confirm_by: u64,
    /// Organisation name.
    pub issuer: String,
    /// Account label.
    pub label: String,
    /// OATH parameters.
    pub oath: OathParams,
    /// Limits.
    pub limits: Limits,
}

/// Sign-in context (§8.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// What the user signs in to.
    pub app: String,
    /// When the sign-in started.
    pub time: u64,
    /// Client IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Approximate location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Browser / OS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// `challenge` payload (§8.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Account.
    pub account_id: String,
    /// Challenge id.
    pub challenge_id: String,
    /// `signin` or `activation`.
    pub kind: String,
    /// 16 random bytes.
    pub nonce: String,
    /// Creation time.
    pub created_at: u64,
    /// Expiry.
    pub expires_at: u64,
    /// Always true.
    pub number_matching: bool,
    /// 2–6.
    pub number_length: u8,
    /// Whether fraud reporting is offered.
    pub fraud_report: bool,
    /// Signed context.
    pub context: Context,
}

/// `challenge-list` payload (§8.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeList {
    /// Account.
    pub account_id: String,
    /// Echo.
    pub request_nonce: String,
    /// §7.
    pub server_time: u64,
    /// Challenge envelopes.
    pub challenges: Vec<super::Envelope>,
}

/// `challenge-fetch` payload (§8.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeFetch {
    /// Account.
    pub account_id: String,
    /// Echo.
    pub request_nonce: String,
    /// §7.
    pub server_time: u64,
    /// The challenge envelope.
    pub challenge: super::Envelope,
}

/// Answer body (§9.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Challenge id.
    pub challenge_id: String,
    /// `approve`, `deny` or `fraud`.
    pub decision: String,
    /// The typed number (approve only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// TOTP code (activation approve only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
    /// Corrected time of the decision.
    pub answered_at: u64,
    /// ES256 signature (§9.2).
    pub sig: String,
}

/// `answer-receipt` payload (§9.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerReceipt {
    /// Account.
    pub account_id: String,
    /// Challenge.
    pub challenge_id: String,
    /// `approved`, `denied`, `fraud`.
    pub state: String,
    /// `wrong_number` / `otp_mismatch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Echo.
    pub request_nonce: String,
    /// §7.
    pub server_time: u64,
}

/// `time` payload (§7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimePayload {
    /// Echo.
    pub nonce: String,
    /// §7.
    pub server_time: u64,
}

/// Generic echoed payload (`push-token-updated`, `unenrolled`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Echo {
    /// Account.
    pub account_id: String,
    /// Echo.
    pub request_nonce: String,
    /// §7.
    pub server_time: u64,
}

/// Error body (§12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Error detail (§12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Machine-readable code.
    pub code: String,
    /// For logs.
    pub message: String,
    /// Seconds to wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// With `challenge_closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}
