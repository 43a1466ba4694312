//! Push sign-in over the FFI: activation (scanned payload or typed code + URL), pending
//! challenges, wake-up pushes, answers, push-token updates and unenrolment. Network calls are
//! `async`; uniffi runs them on the tokio runtime this crate owns.

use crate::CountersignError;
use crate::client::AuthenticatorClient;
use countersign_core::openpush::messages::{DeviceInfo, PushRegistration};
use countersign_core::openpush::{ActivationPayload, ProtocolError};
use countersign_core::pipush::enroll::is_pipush;
use countersign_core::push::http::{HttpClient, TransportConfig};
use countersign_core::push::openpush::OpenpushClient;
use countersign_core::push::{self as core_push, PushError};
use std::collections::HashMap;
use std::sync::Arc;

/// Network settings for push servers.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NetworkOptions {
    /// An extra CA certificate (PEM) the user approved for a self-hosted server.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Allow loopback servers and plain http to them (tests and QA only; never in a shipped
    /// app).
    pub allow_insecure_loopback: bool,
}

/// The device as the server's enrolment page will show it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceDescription {
    /// e.g. "Pixel 8" (≤ 64 chars).
    pub name: String,
    /// `android`, `ios`, `windows`, `macos`, `linux` or `other`.
    pub platform: String,
    /// App version (≤ 32 chars).
    pub app_version: String,
}

/// How the server can wake this device.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PushTarget {
    /// `fcm`, `apns`, `unifiedpush` or `none` (poll only).
    pub provider: String,
    /// The token (empty for `none`).
    pub token: String,
}

/// Where a push account stands.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PushAccountStatus {
    /// `openpush` or `privacyidea`.
    pub protocol: String,
    /// Confirmed and answering sign-ins (false while an openpush activation waits for
    /// "Verify Now").
    pub active: bool,
    /// The server's host.
    pub host: String,
    /// Deadline (server time) for the confirmation, while pending.
    pub confirm_by: Option<u64>,
}

/// A finished activation, waiting for "Verify Now".
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Activation {
    /// The vault account.
    pub account_id: i64,
    /// The server's host.
    pub host: String,
    /// Organisation.
    pub issuer: String,
    /// Account label.
    pub label: String,
    /// Confirm before this server time.
    pub confirm_by: u64,
}

/// Sign-in or activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChallengeKind {
    /// Someone is signing in.
    Signin,
    /// Confirming this device's activation.
    Activation,
}

/// A pending sign-in request, verified, with display-safe context.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PushChallenge {
    /// Vault account.
    pub account_id: i64,
    /// `openpush` or `privacyidea`.
    pub protocol: String,
    /// Server challenge id.
    pub challenge_id: String,
    /// Sign-in or activation.
    pub kind: ChallengeKind,
    /// What is being signed in to.
    pub app: String,
    /// The server's own text for the request (privacyIDEA's question).
    pub message: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Approximate location.
    pub location: Option<String>,
    /// Browser / OS.
    pub client: Option<String>,
    /// When the sign-in started.
    pub time: u64,
    /// Expiry (server time).
    pub expires_at: u64,
    /// Digits to type (number matching), if asked.
    pub number_length: Option<u8>,
    /// Options to choose from (privacyIDEA presence).
    pub options: Vec<String>,
    /// A code to show (privacyIDEA code-to-phone).
    pub display_code: Option<String>,
    /// Whether "Deny and report fraud" is offered.
    pub fraud_report: bool,
}

impl From<core_push::PushChallenge> for PushChallenge {
    fn from(c: core_push::PushChallenge) -> Self {
        Self {
            account_id: c.account_id,
            protocol: match c.protocol {
                core_push::Protocol::Openpush => "openpush".into(),
                core_push::Protocol::Privacyidea => "privacyidea".into(),
            },
            challenge_id: c.challenge_id,
            kind: match c.kind {
                core_push::ChallengeKind::Signin => ChallengeKind::Signin,
                core_push::ChallengeKind::Activation => ChallengeKind::Activation,
            },
            app: c.app,
            message: c.message,
            ip: c.ip,
            location: c.location,
            client: c.client,
            time: c.time,
            expires_at: c.expires_at,
            number_length: c.number_length,
            options: c.options,
            display_code: c.display_code,
            fraud_report: c.fraud_report,
        }
    }
}

/// The user's decision.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Decision {
    /// Approve with the typed number (or picked option).
    Approve {
        /// Number shown in the browser.
        number: Option<String>,
        /// Option picked (privacyIDEA presence).
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

impl From<Decision> for core_push::Decision {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Approve { number, option } => Self::Approve { number, option },
            Decision::Deny => Self::Deny,
            Decision::ReportFraud => Self::ReportFraud,
        }
    }
}

/// What the server recorded.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Outcome {
    /// Approved.
    Approved,
    /// Approved; show `code`, which the sign-in page now asks for (privacyIDEA
    /// code-to-phone).
    ApprovedWithCode {
        /// The code to show.
        code: String,
        /// The server's instruction.
        instruction: Option<String>,
    },
    /// Denied; `reason` is `wrong_number` when the number did not match, or
    /// `fraud_report_unsupported` when a privacyIDEA server too old for reports got a plain
    /// decline instead.
    Denied {
        /// Why, when the server said.
        reason: Option<String>,
    },
    /// Reported as fraud.
    Fraud,
}

impl From<core_push::Outcome> for Outcome {
    fn from(o: core_push::Outcome) -> Self {
        match o {
            core_push::Outcome::Approved => Self::Approved,
            core_push::Outcome::ApprovedWithCode { code, instruction } => {
                Self::ApprovedWithCode { code, instruction }
            }
            core_push::Outcome::Denied { reason } => Self::Denied { reason },
            core_push::Outcome::Fraud => Self::Fraud,
        }
    }
}

impl From<PushError> for CountersignError {
    fn from(e: PushError) -> Self {
        let detail = e.to_string();
        match e {
            PushError::Network(_) => Self::Network {
                detail,
                retryable: true,
            },
            PushError::Server { code, status, .. } => Self::ServerRejected {
                detail,
                code,
                retryable: status >= 500 || status == 429,
            },
            PushError::ChallengeClosed(_) | PushError::Expired => Self::ChallengeClosed { detail },
            PushError::Protocol(ProtocolError::Checksum) | PushError::InvalidInput(_) => {
                Self::InvalidInput {
                    detail,
                    field: None,
                }
            }
            PushError::Protocol(p) => Self::SecurityCheckFailed {
                detail: p.to_string(),
            },
            PushError::Vault(v) => v.into(),
            PushError::Internal(_) | _ => Self::Internal { detail },
        }
    }
}

impl AuthenticatorClient {
    /// The shared HTTP client for the current network options (built once, reused).
    pub(crate) fn http_client(&self) -> Result<HttpClient, CountersignError> {
        let mut cached = self.http.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = cached.as_ref() {
            return Ok(h.clone());
        }
        let config = self
            .network
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let h = HttpClient::new(config)?;
        *cached = Some(h.clone());
        Ok(h)
    }

    fn openpush(&self) -> Result<OpenpushClient, CountersignError> {
        let http = self.http_client()?;
        let clock = self.clock.clone();
        let signer = self
            .device_signer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(OpenpushClient::new(
            self.vault.clone(),
            http,
            Arc::new(move || clock.now_unix_seconds()),
        )
        .with_device_signer(signer))
    }

    fn is_privacyidea(&self, account_id: i64) -> Result<bool, CountersignError> {
        Ok(self.vault.summary(account_id)?.kind
            == countersign_core::vault::AccountKind::PushPrivacyidea)
    }

    /// The URL policy of the current network options.
    pub(crate) fn url_policy(&self) -> countersign_core::openpush::UrlPolicy {
        self.network
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .url_policy()
    }
}

fn device_info(d: DeviceDescription) -> DeviceInfo {
    DeviceInfo {
        name: d.name.chars().take(64).collect(),
        platform: d.platform,
        app_version: d.app_version.chars().take(32).collect(),
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AuthenticatorClient {
    /// Sets how push servers are reached (extra CA, loopback test mode). A CA that is not a
    /// usable PEM certificate is refused here, not at the next network call.
    pub fn set_network_options(&self, options: NetworkOptions) -> Result<(), CountersignError> {
        let config = TransportConfig {
            extra_ca_pem: options.extra_ca_pem,
            allow_loopback: options.allow_insecure_loopback,
        };
        let http = HttpClient::new(config.clone())?;
        *self.network.write().unwrap_or_else(|p| p.into_inner()) = config;
        *self.http.lock().unwrap_or_else(|p| p.into_inner()) = Some(http);
        Ok(())
    }

    /// Keeps new push device keys in the platform's signer (Secure Enclave, StrongBox) instead
    /// of the vault. Accounts activated earlier keep the key they have; accounts activated with
    /// a signer need the same signer set again after a restart.
    pub fn set_device_signer(&self, signer: Option<Arc<dyn crate::platform::DeviceSigner>>) {
        *self
            .device_signer
            .write()
            .unwrap_or_else(|p| p.into_inner()) = signer.map(|s| {
            Arc::new(crate::platform::ForeignDeviceSigner(s))
                as Arc<dyn countersign_core::platform::DeviceSigner>
        });
    }

    /// The host an activation payload points at, for the "Add an account at …?" prompt shown
    /// before any network request. Checks the payload offline (checksum, URL rules).
    pub fn activation_host(&self, payload: String) -> Result<String, CountersignError> {
        if is_pipush(&payload) {
            return Ok(self.privacyidea_link(payload)?.host);
        }
        let p = ActivationPayload::from_qr(&payload, self.url_policy()).map_err(input_error)?;
        Ok(p.base_url.host().to_string())
    }

    /// The host a typed activation code + URL point at, checked offline (the code's checksum
    /// catches typos), for the confirmation prompt before any network request.
    pub fn activation_host_for_code(
        &self,
        code: String,
        url: String,
    ) -> Result<String, CountersignError> {
        let p = ActivationPayload::typed(&code, &url, self.url_policy()).map_err(input_error)?;
        Ok(p.base_url.host().to_string())
    }

    /// Where a push account stands: its protocol, whether it still waits for the "Verify
    /// Now" confirmation, and its server's host.
    pub fn push_account_status(
        &self,
        account_id: i64,
    ) -> Result<PushAccountStatus, CountersignError> {
        if self.is_privacyidea(account_id)? {
            let (_, s) = self.vault.pipush_account(account_id)?;
            return Ok(PushAccountStatus {
                protocol: "privacyidea".into(),
                active: true,
                host: countersign_core::pipush::enroll::host_of(&s.url),
                confirm_by: None,
            });
        }
        let (_, s) = self.vault.openpush_account(account_id)?;
        let active = s.state == "active";
        let host = countersign_core::openpush::BaseUrl::parse(&s.base_url, self.url_policy())
            .map(|b| b.host().to_string())
            .unwrap_or_default();
        Ok(PushAccountStatus {
            protocol: "openpush".into(),
            active,
            host,
            confirm_by: (!active).then_some(s.confirm_by),
        })
    }

    /// Activates from a scanned or pasted `openpush://activate?…` payload, or enrols a
    /// privacyIDEA token from an `otpauth://pipush/…` / `pia://pipush/…` link (then
    /// `confirm_by` is 0: privacyIDEA has no confirmation step; use `enroll_privacyidea` for
    /// progress reports).
    pub async fn activate_from_payload(
        &self,
        payload: String,
        device: DeviceDescription,
        push: PushTarget,
    ) -> Result<Activation, CountersignError> {
        if is_pipush(&payload) {
            let token = (push.provider != "none" && !push.token.is_empty()).then_some(push.token);
            let e = self.enroll_privacyidea(payload, token, None, None).await?;
            return Ok(Activation {
                account_id: e.account_id,
                host: e.host,
                issuer: e.issuer,
                label: e.label,
                confirm_by: 0,
            });
        }
        let p = ActivationPayload::from_qr(&payload, self.url_policy()).map_err(input_error)?;
        self.activate(p, device, push).await
    }

    /// Activates from the code and URL typed from the enrolment page ("enter code and URL
    /// manually"). Typos are caught offline by the code's checksum.
    pub async fn activate_with_code(
        &self,
        code: String,
        url: String,
        device: DeviceDescription,
        push: PushTarget,
    ) -> Result<Activation, CountersignError> {
        let p = ActivationPayload::typed(&code, &url, self.url_policy()).map_err(input_error)?;
        self.activate(p, device, push).await
    }

    /// Polls every push account's server (both protocols) and returns what is pending
    /// (verified).
    pub async fn pending_challenges(&self) -> Result<Vec<PushChallenge>, CountersignError> {
        let mut all = self.openpush()?.list_all().await?;
        all.extend(self.privacyidea()?.poll_all().await?);
        Ok(all.into_iter().map(Into::into).collect())
    }

    /// Handles the data of a received push (FCM data map / APNs payload keys). Only the
    /// protocol's id fields are read; the server contacted is always the stored one.
    pub async fn handle_push(
        &self,
        data: HashMap<String, String>,
    ) -> Result<Vec<PushChallenge>, CountersignError> {
        // privacyIDEA's pushes carry the token serial: a hint to poll that token.
        if !data.contains_key("op")
            && let Some(serial) = data.get("serial")
        {
            let client = self.privacyidea()?;
            let found = self
                .vault
                .pipush_accounts()?
                .into_iter()
                .find(|(_, s)| &s.serial == serial);
            let Some((summary, _)) = found else {
                return Err(CountersignError::InvalidInput {
                    detail: "the push is for a token not on this device".into(),
                    field: Some("serial".into()),
                });
            };
            return Ok(client
                .poll(summary.id)
                .await?
                .into_iter()
                .map(Into::into)
                .collect());
        }
        let pairs: Vec<(String, String)> = data.into_iter().collect();
        Ok(self
            .openpush()?
            .handle_push(&pairs)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The vault account that received challenge `challenge_id` (after a list or push).
    pub fn account_for_challenge(
        &self,
        challenge_id: String,
    ) -> Result<Option<i64>, CountersignError> {
        Ok(self.vault.account_for_challenge(&challenge_id)?)
    }

    /// Answers a challenge. Approve needs the number typed from the sign-in page.
    pub async fn answer_challenge(
        &self,
        account_id: i64,
        challenge_id: String,
        decision: Decision,
    ) -> Result<Outcome, CountersignError> {
        let decision = decision.into();
        let outcome = if self.is_privacyidea(account_id)? {
            self.privacyidea()?
                .answer(account_id, &challenge_id, &decision)
                .await?
        } else {
            self.openpush()?
                .answer(account_id, &challenge_id, &decision)
                .await?
        };
        Ok(outcome.into())
    }

    /// Registers a new push token for an account (or provider `none` to poll).
    pub async fn update_push_token(
        &self,
        account_id: i64,
        push: PushTarget,
    ) -> Result<(), CountersignError> {
        if self.is_privacyidea(account_id)? {
            let token = (push.provider != "none").then_some(push.token.as_str());
            return Ok(self
                .privacyidea()?
                .update_push_token(account_id, token)
                .await?);
        }
        Ok(self
            .openpush()?
            .update_push_token(
                account_id,
                PushRegistration {
                    provider: push.provider,
                    token: push.token,
                },
            )
            .await?)
    }

    /// Replaces an openpush account's device key (§11.2): a new key (in the platform signer
    /// when the old one was there) is registered with a statement signed by both keys. A lost
    /// confirmation is settled by the next request. privacyIDEA has no key rotation.
    pub async fn rotate_device_key(&self, account_id: i64) -> Result<(), CountersignError> {
        if self.is_privacyidea(account_id)? {
            return Err(CountersignError::Unsupported {
                detail: "privacyIDEA tokens cannot rotate their key; re-enrol instead".into(),
            });
        }
        Ok(self.openpush()?.rotate_device_key(account_id).await?)
    }

    /// Unenrols a push account at its server and removes it from the vault. A privacyIDEA
    /// token is removed here only: privacyIDEA has no device-side unenrolment, so the
    /// administrator or the self-service page deletes it at the server.
    pub async fn unenroll(&self, account_id: i64) -> Result<(), CountersignError> {
        if self.is_privacyidea(account_id)? {
            return Ok(self.privacyidea()?.remove(account_id)?);
        }
        Ok(self.openpush()?.unenroll(account_id).await?)
    }
}

impl AuthenticatorClient {
    async fn activate(
        &self,
        p: ActivationPayload,
        device: DeviceDescription,
        push: PushTarget,
    ) -> Result<Activation, CountersignError> {
        let a = self
            .openpush()?
            .activate(
                &p,
                device_info(device),
                PushRegistration {
                    provider: push.provider,
                    token: push.token,
                },
            )
            .await?;
        Ok(Activation {
            account_id: a.account_id,
            host: a.host,
            issuer: a.issuer,
            label: a.label,
            confirm_by: a.confirm_by,
        })
    }
}

/// Errors in what the user typed or scanned (before any network traffic) are input errors;
/// the same kinds of error in a server's answer are security failures (see `From<PushError>`).
fn input_error(e: ProtocolError) -> CountersignError {
    link_error(e.into())
}

/// [`input_error`] for errors already wrapped as [`PushError`].
pub(crate) fn link_error(e: PushError) -> CountersignError {
    let PushError::Protocol(e) = e else {
        return e.into();
    };
    match e {
        ProtocolError::UrlNotAllowed(_) => PushError::from(e).into(),
        other => CountersignError::InvalidInput {
            detail: other.to_string(),
            field: None,
        },
    }
}
