//! privacyIDEA push tokens over the FFI: enrolment from an `otpauth://pipush/` or
//! `pia://pipush/` link, with the RSA-4096 key made on a blocking thread and progress reported
//! to the shell. Polls, answers and push-token updates go through the protocol-neutral methods
//! in `push.rs`, which dispatch on the account's kind.

use crate::CountersignError;
use crate::client::AuthenticatorClient;
use countersign_core::pipush::DeviceKey;
use countersign_core::push::PushError;
use countersign_core::push::privacyidea::PrivacyideaClient;
use std::sync::Arc;

/// Where a privacyIDEA enrolment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum EnrollmentStage {
    /// Making the device's RSA-4096 key (a few seconds on a phone).
    GeneratingKey,
    /// Sending the public key to the server.
    Registering,
    /// Registered and stored.
    Done,
}

/// Receives enrolment progress (called from a background thread).
#[uniffi::export(with_foreign)]
pub trait EnrollmentProgress: Send + Sync {
    /// The enrolment reached `stage`.
    fn on_stage(&self, stage: EnrollmentStage);
}

/// What an enrolment link asks for, shown before anything is sent ("Add a privacyIDEA token
/// at … ?").
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PrivacyideaLink {
    /// The server's host.
    pub host: String,
    /// Issuer.
    pub issuer: String,
    /// Token label.
    pub label: String,
    /// Token serial.
    pub serial: String,
    /// Minutes left to register, from the scan.
    pub ttl_minutes: u64,
    /// The server asked not to verify TLS (`sslverify=0`). Countersign verifies anyway: show
    /// that a self-hosted server needs its CA added under settings.
    pub server_disables_tls_check: bool,
    /// The server wants the app unlocked before answering.
    pub require_unlock: bool,
}

/// A registered privacyIDEA token.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PrivacyideaEnrollment {
    /// The vault account.
    pub account_id: i64,
    /// The server's host.
    pub host: String,
    /// Issuer.
    pub issuer: String,
    /// Token label.
    pub label: String,
    /// Token serial.
    pub serial: String,
}

impl AuthenticatorClient {
    pub(crate) fn privacyidea(&self) -> Result<PrivacyideaClient, CountersignError> {
        let clock = self.clock.clone();
        Ok(PrivacyideaClient::new(
            self.vault.clone(),
            self.http_client()?,
            Arc::new(move || clock.now_unix_seconds()),
        ))
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AuthenticatorClient {
    /// Reads a privacyIDEA enrolment link offline, for the confirmation prompt.
    pub fn privacyidea_link(&self, link: String) -> Result<PrivacyideaLink, CountersignError> {
        let l = self
            .privacyidea()?
            .parse_link(&link)
            .map_err(crate::push::link_error)?;
        Ok(PrivacyideaLink {
            host: l.host(),
            issuer: l.issuer,
            label: l.label,
            serial: l.serial,
            ttl_minutes: l.ttl_minutes,
            server_disables_tls_check: !l.sslverify,
            require_unlock: l.require_unlock,
        })
    }

    /// Enrols a privacyIDEA push token: makes the RSA-4096 device key off the calling thread,
    /// registers it, and stores the token. `push_token` is the FCM/APNs token (`None`: poll
    /// only); `scanned_at` is when the link was scanned (Unix seconds; default now), for the
    /// link's `ttl`.
    pub async fn enroll_privacyidea(
        &self,
        link: String,
        push_token: Option<String>,
        scanned_at: Option<u64>,
        progress: Option<Arc<dyn EnrollmentProgress>>,
    ) -> Result<PrivacyideaEnrollment, CountersignError> {
        let client = self.privacyidea()?;
        let scanned_at = scanned_at.unwrap_or_else(|| self.clock.now_unix_seconds());
        let parsed = client.parse_link(&link).map_err(crate::push::link_error)?;
        let stage = |s| {
            if let Some(p) = &progress {
                p.on_stage(s);
            }
        };
        stage(EnrollmentStage::GeneratingKey);
        let key = tokio::task::spawn_blocking(DeviceKey::generate)
            .await
            .map_err(|_| CountersignError::Internal {
                detail: "key generation was interrupted".into(),
            })?
            .map_err(PushError::from)?;
        stage(EnrollmentStage::Registering);
        let e = client
            .enroll(&parsed, key, push_token.as_deref(), scanned_at)
            .await?;
        stage(EnrollmentStage::Done);
        Ok(PrivacyideaEnrollment {
            account_id: e.account_id,
            host: e.host,
            issuer: e.issuer,
            label: e.label,
            serial: e.serial,
        })
    }
}
