//! The privacyIDEA push-token client: registration from an enrolment link, signed polls,
//! verified challenges, approve / decline / report fraud / presence answers, code-to-phone and
//! push-token updates, over the shared transport rules of [`super::http`].
//!
//! privacyIDEA has no signed responses the phone can check (its response signatures use an
//! audit key the phone never gets), so what protects the user is the challenge signature by the
//! per-token server key pinned at registration, the capabilities signature, our replay cache,
//! and TLS that is always verified (`sslverify=0` is ignored; a self-hosted CA is added
//! explicitly by the user instead).

use super::http::{HttpClient, Response};
use super::openpush::Clock;
use super::{ChallengeKind, Decision, Outcome, Protocol, PushChallenge, PushError, parse};
use crate::openpush::ProtocolError;
use crate::pipush::challenge::{self, Answer, VerifiedChallenge, WireChallenge};
use crate::pipush::{DeviceKey, EnrollmentUri, ServerKey};
use crate::vault::{AccountId, PipushSecret, SeenChallenge, Vault};
use std::sync::Arc;
use zeroize::Zeroizing;

/// How long a challenge is answerable (privacyIDEA's default validity; the server sends none).
pub const CHALLENGE_TTL: u64 = 120;
/// More open challenges than this in one poll is refused.
const MAX_CHALLENGES: usize = 16;
/// What a poll-only device registers as its push token.
pub const NO_PUSH_TOKEN: &str = "no_firebase_token";
/// Capabilities this client announces (and signs decline reasons for).
const CAPABILITIES: &str = r#"["decline_reason"]"#;

/// A registered token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Enrollment {
    /// The vault account.
    pub account_id: AccountId,
    /// The server's host.
    pub host: String,
    /// Issuer shown in the list.
    pub issuer: String,
    /// Token label.
    pub label: String,
    /// Token serial.
    pub serial: String,
}

/// The privacyIDEA client over a vault.
#[derive(Clone)]
pub struct PrivacyideaClient {
    vault: Arc<Vault>,
    http: HttpClient,
    clock: Clock,
}

impl std::fmt::Debug for PrivacyideaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivacyideaClient")
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// privacyIDEA's response envelope.
#[derive(serde::Deserialize)]
struct Envelope<T> {
    result: ResultBody<T>,
    #[serde(default)]
    detail: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct ResultBody<T> {
    status: bool,
    #[serde(default = "Option::default")]
    value: Option<T>,
    #[serde(default)]
    error: Option<ErrorBody>,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

/// A token ready to talk.
struct Token {
    id: AccountId,
    secret: PipushSecret,
    device: DeviceKey,
    server: ServerKey,
}

impl PrivacyideaClient {
    /// A client for `vault`, sending through `http`, with `clock` in Unix seconds.
    pub fn new(vault: Arc<Vault>, http: HttpClient, clock: Clock) -> Self {
        Self { vault, http, clock }
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Reads an enrolment link under this client's URL policy (no network).
    pub fn parse_link(&self, link: &str) -> Result<EnrollmentUri, PushError> {
        Ok(EnrollmentUri::parse(link, self.http.config().url_policy())?)
    }

    /// Registers the device key with the server (enrolment step 2) and stores the token.
    /// `scanned_at` is when the user scanned or pasted the link: registration after the link's
    /// `ttl` is refused here, as the official app does (the server does not check it).
    pub async fn enroll(
        &self,
        link: &EnrollmentUri,
        key: DeviceKey,
        push_token: Option<&str>,
        scanned_at: u64,
    ) -> Result<Enrollment, PushError> {
        let deadline = scanned_at.saturating_add(link.ttl_minutes.saturating_mul(60));
        if self.now() > deadline {
            return Err(PushError::InvalidInput(format!(
                "the enrolment QR code is older than its {} minutes; ask for a new one",
                link.ttl_minutes
            )));
        }
        let token = push_token.unwrap_or(NO_PUSH_TOKEN);
        let pubkey = key.public_spki_b64()?;
        let resp = self
            .http
            .send_form(
                &link.url,
                &[
                    ("enrollment_credential", link.enrollment_credential.as_str()),
                    ("serial", &link.serial),
                    ("fbtoken", token),
                    ("pubkey", &pubkey),
                    ("capabilities", CAPABILITIES),
                ],
            )
            .await?;
        let env: Envelope<serde_json::Value> = envelope(&resp, "registration")?;
        let detail = env
            .detail
            .ok_or_else(|| ProtocolError::invalid("registration", "no detail"))?;
        if detail.get("rollout_state").and_then(|v| v.as_str()) != Some("enrolled") {
            return Err(ProtocolError::invalid("rollout_state", "not `enrolled`").into());
        }
        let server_key = detail
            .get("public_key")
            .and_then(|v| v.as_str())
            .ok_or_else(|| ProtocolError::invalid("public_key", "missing"))?;
        let server = ServerKey::from_pkcs1_b64(server_key)?;
        let der = key.to_pkcs8_der()?;
        let secret = PipushSecret {
            url: link.url.clone(),
            allow_loopback: self.http.config().allow_loopback,
            serial: link.serial.clone(),
            device_key_pkcs8: Zeroizing::new(data_encoding::BASE64.encode(&der)),
            server_key: server.to_pkcs1_b64()?,
            sslverify_hint: link.sslverify,
            require_unlock: link.require_unlock,
            push_token: token.to_string(),
        };
        let account_id = self
            .vault
            .add_pipush(&link.issuer, &link.label, &secret, self.now())?;
        tracing::info!(account = account_id, "privacyIDEA token registered");
        Ok(Enrollment {
            account_id,
            host: link.host(),
            issuer: link.issuer.clone(),
            label: link.label.clone(),
            serial: link.serial.clone(),
        })
    }

    fn token(&self, id: AccountId) -> Result<Token, PushError> {
        let (_, secret) = self.vault.pipush_account(id)?;
        if secret.allow_loopback && !self.http.config().allow_loopback {
            return Err(ProtocolError::UrlNotAllowed(
                "this token was registered in test mode".into(),
            )
            .into());
        }
        let der = Zeroizing::new(
            data_encoding::BASE64
                .decode(secret.device_key_pkcs8.as_bytes())
                .map_err(|_| PushError::Internal("the stored device key is damaged".into()))?,
        );
        let device = DeviceKey::from_pkcs8_der(&der)?;
        let server = ServerKey::from_pkcs1_b64(&secret.server_key)?;
        Ok(Token {
            id,
            secret,
            device,
            server,
        })
    }

    /// The verified open challenges of one token, recorded in the replay cache, each with its
    /// local expiry (first seen + [`CHALLENGE_TTL`]).
    async fn poll_token(&self, t: &Token) -> Result<Vec<(VerifiedChallenge, u64)>, PushError> {
        let ts = challenge::timestamp(self.now())?;
        let signature = t
            .device
            .sign(&challenge::poll_message(&t.secret.serial, &ts))?;
        let mut url = url::Url::parse(&t.secret.url)
            .map_err(|_| ProtocolError::UrlNotAllowed("the stored URL is damaged".into()))?;
        url.query_pairs_mut()
            .append_pair("serial", &t.secret.serial)
            .append_pair("timestamp", &ts)
            .append_pair("signature", &signature)
            .append_pair("capabilities", CAPABILITIES);
        let resp = self
            .http
            .send_typed(reqwest::Method::GET, url.as_str(), &[], None)
            .await?;
        let env: Envelope<Vec<WireChallenge>> = envelope(&resp, "poll")?;
        let wire = env.result.value.unwrap_or_default();
        if wire.len() > MAX_CHALLENGES {
            return Err(ProtocolError::invalid("challenges", "more than 16").into());
        }
        let now = self.now();
        let mut out = Vec::new();
        for c in &wire {
            // One forged or altered challenge fails the whole poll: it means the connection
            // or the server is not what was enrolled.
            let v = challenge::verify(c, &t.server, &t.secret.serial)?;
            match self.vault.seen_challenge(t.id, &v.nonce)? {
                Some(seen) if seen.challenge_hash != v.hash => {
                    return Err(ProtocolError::Replay.into());
                }
                Some(seen) if seen.answered.is_some() || now >= seen.expires_at => {}
                Some(seen) => out.push((v, seen.expires_at)),
                None => {
                    let expires_at = now.saturating_add(CHALLENGE_TTL);
                    self.vault.record_challenge(
                        t.id,
                        &SeenChallenge {
                            challenge_id: v.nonce.clone(),
                            challenge_hash: v.hash.clone(),
                            nonce: v.nonce.clone(),
                            expires_at,
                            answered: None,
                        },
                        now,
                    )?;
                    out.push((v, expires_at));
                }
            }
        }
        Ok(out)
    }

    fn to_display(id: AccountId, v: &VerifiedChallenge, expires_at: u64) -> PushChallenge {
        let created_at = expires_at.saturating_sub(CHALLENGE_TTL);
        PushChallenge {
            account_id: id,
            protocol: Protocol::Privacyidea,
            challenge_id: v.nonce.clone(),
            kind: ChallengeKind::Signin,
            app: v.title.clone(),
            message: (!v.question.is_empty()).then(|| v.question.clone()),
            ip: None,
            location: None,
            client: None,
            time: created_at,
            created_at,
            expires_at,
            number_length: None,
            options: v.options.clone(),
            display_code: None,
            fraud_report: v.decline_reasons,
        }
    }

    /// The pending challenges of token `id`, verified.
    pub async fn poll(&self, id: AccountId) -> Result<Vec<PushChallenge>, PushError> {
        let t = self.token(id)?;
        Ok(self
            .poll_token(&t)
            .await?
            .iter()
            .map(|(v, expires_at)| Self::to_display(id, v, *expires_at))
            .collect())
    }

    /// Pending challenges of every privacyIDEA token.
    pub async fn poll_all(&self) -> Result<Vec<PushChallenge>, PushError> {
        let mut out = Vec::new();
        for (summary, _) in self.vault.pipush_accounts()? {
            out.extend(self.poll(summary.id).await?);
        }
        Ok(out)
    }

    /// Answers challenge `nonce` of token `id`. The challenge is polled and verified again
    /// first, so the answer is signed for exactly what the server holds; one attempt only.
    pub async fn answer(
        &self,
        id: AccountId,
        nonce: &str,
        decision: &Decision,
    ) -> Result<Outcome, PushError> {
        let t = self.token(id)?;
        let open = self.poll_token(&t).await?;
        let Some((c, _)) = open.iter().find(|(c, _)| c.nonce == nonce) else {
            return Err(PushError::ChallengeClosed(
                "no longer open at the server (answered, expired or withdrawn)".into(),
            ));
        };
        let (answer, name, fraud) = match decision {
            Decision::Approve {
                number: Some(_), ..
            } => {
                return Err(PushError::InvalidInput(
                    "this request has no number to type; approve it, picking an option if asked"
                        .into(),
                ));
            }
            Decision::Approve { option, .. } => {
                let picked = option.as_deref().map(str::trim);
                match (c.options.is_empty(), picked) {
                    (true, None) => {}
                    (true, Some(_)) => {
                        return Err(PushError::InvalidInput(
                            "this request has no options to pick from".into(),
                        ));
                    }
                    (false, Some(p)) if c.options.iter().any(|o| o == p) => {}
                    (false, _) => {
                        return Err(PushError::InvalidInput(format!(
                            "pick the option the sign-in page shows: one of {}",
                            c.options.join(", ")
                        )));
                    }
                }
                (Answer::Approve { presence: picked }, "approve", false)
            }
            Decision::Deny => {
                let reason = c.decline_reasons.then_some("cancelled");
                (Answer::Decline { reason }, "deny", false)
            }
            Decision::ReportFraud if c.decline_reasons => (
                Answer::Decline {
                    reason: Some("unknown_trigger"),
                },
                "fraud",
                true,
            ),
            // An older server cannot take the report; a plain decline still stops the sign-in.
            Decision::ReportFraud => (Answer::Decline { reason: None }, "deny", false),
        };
        let signature =
            t.device
                .sign(&challenge::answer_message(nonce, &t.secret.serial, answer))?;
        let mut form: Vec<(&str, &str)> = vec![
            ("serial", &t.secret.serial),
            ("nonce", nonce),
            ("signature", &signature),
        ];
        match answer {
            Answer::Approve {
                presence: Some(p), ..
            } => form.push(("presence_answer", p)),
            Answer::Approve { .. } => {}
            Answer::Decline { reason } => {
                form.push(("decline", "1"));
                if let Some(r) = reason {
                    form.push(("decline_reason", r));
                }
            }
        }
        let result = self.http.send_form(&t.secret.url, &form).await;
        // Whatever the server said, this device does not answer the same challenge twice.
        if !matches!(result, Err(PushError::Network(_))) {
            let _ = self.vault.mark_answered(id, nonce, name);
        }
        let env: Envelope<bool> = envelope(&result?, "answer")?;
        if env.result.value != Some(true) {
            return Err(PushError::ChallengeClosed(
                "privacyIDEA did not accept the answer (expired, already answered, or the wrong option)"
                    .into(),
            ));
        }
        tracing::info!(
            account = id,
            decision = name,
            "answered privacyIDEA challenge"
        );
        let detail = env.detail.unwrap_or_default();
        let text = |k: &str| {
            detail
                .get(k)
                .and_then(|v| v.as_str())
                .and_then(crate::openpush::verify::sanitize)
                .map(|s| s.chars().take(128).collect::<String>())
        };
        Ok(match (answer, fraud) {
            (Answer::Approve { .. }, _) => match text("display_code") {
                Some(code) => Outcome::ApprovedWithCode {
                    code,
                    instruction: text("message"),
                },
                None => Outcome::Approved,
            },
            (Answer::Decline { .. }, true) => Outcome::Fraud,
            (Answer::Decline { reason: None }, false)
                if matches!(decision, Decision::ReportFraud) =>
            {
                Outcome::Denied {
                    reason: Some("fraud_report_unsupported".into()),
                }
            }
            (Answer::Decline { .. }, false) => Outcome::Denied { reason: None },
        })
    }

    /// Registers a new push token (`None`: poll only) with the server.
    pub async fn update_push_token(
        &self,
        id: AccountId,
        token: Option<&str>,
    ) -> Result<(), PushError> {
        let t = self.token(id)?;
        let token = token.unwrap_or(NO_PUSH_TOKEN);
        if token.is_empty() || token.len() > 4096 {
            return Err(PushError::InvalidInput(
                "the push token is empty or too long".into(),
            ));
        }
        let ts = challenge::timestamp(self.now())?;
        let signature = t.device.sign(&challenge::token_update_message(
            token,
            &t.secret.serial,
            &ts,
        ))?;
        let resp = self
            .http
            .send_form(
                &t.secret.url,
                &[
                    ("new_fb_token", token),
                    ("serial", &t.secret.serial),
                    ("timestamp", &ts),
                    ("signature", &signature),
                ],
            )
            .await?;
        let env: Envelope<bool> = envelope(&resp, "push-token update")?;
        if env.result.value != Some(true) {
            return Err(PushError::Server {
                code: "not_updated".into(),
                message: "privacyIDEA did not take the new push token".into(),
                status: resp.status,
            });
        }
        let owned = token.to_string();
        self.vault.update_pipush(id, |s| s.push_token = owned)?;
        Ok(())
    }

    /// Removes the token from this device. privacyIDEA has no device-side unenrolment: the
    /// administrator (or the user's self-service page) deletes the token at the server.
    pub fn remove(&self, id: AccountId) -> Result<(), PushError> {
        self.vault.pipush_account(id)?;
        self.vault.delete(id)?;
        Ok(())
    }
}

/// Reads privacyIDEA's envelope; a refusal becomes [`PushError::Server`] with its code.
fn envelope<T: serde::de::DeserializeOwned>(
    resp: &Response,
    what: &'static str,
) -> Result<Envelope<T>, PushError> {
    if resp.status != 200 {
        let (code, message) =
            match serde_json::from_slice::<Envelope<serde_json::Value>>(&resp.body) {
                Ok(Envelope {
                    result: ResultBody { error: Some(e), .. },
                    ..
                }) => (e.code.to_string(), crate::error::preview(&e.message)),
                _ => (
                    "unknown".into(),
                    format!("HTTP {} without an error body", resp.status),
                ),
            };
        return Err(PushError::Server {
            code,
            message,
            status: resp.status,
        });
    }
    let env: Envelope<T> = parse(&resp.body, what)?;
    if !env.result.status {
        return Err(PushError::Server {
            code: env
                .result
                .error
                .as_ref()
                .map_or_else(|| "unknown".into(), |e| e.code.to_string()),
            message: env
                .result
                .error
                .as_ref()
                .map_or_else(String::new, |e| crate::error::preview(&e.message)),
            status: resp.status,
        });
    }
    Ok(env)
}
