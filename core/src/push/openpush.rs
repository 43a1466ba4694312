//! The openpush/1 client: activation, challenge list and fetch, answers, push handling,
//! push-token update and unenrolment (docs/protocol.md §5–§11), with every check of §10.1.
//!
//! Each account talks only to its own base URL `B`; nothing that arrives in a push or a
//! server message is ever used as an address. Every signed response is verified against the
//! key pinned at activation before it is parsed, and fresh responses must echo our nonce.

use super::http::HttpClient;
use super::{ChallengeKind, Decision, Outcome, Protocol, PushChallenge, PushError, parse};
use crate::crypto::{Es256Signer, SecretBytes, X25519Ephemeral, sha256};
use crate::openpush::encoding::{b64, check_id, random_id, unb64, unb64_len};
use crate::openpush::messages::{
    ActivateResponse, ActivationBody, ActivationRequest, Answer, AnswerReceipt, Challenge,
    ChallengeFetch, ChallengeList, DeviceInfo, Echo, ErrorBody, KeyRef, PushRegistration,
    TimePayload,
};
use crate::openpush::rotation::{
    DeviceRotation, ServerKeyInfo, device_kid, device_rotation_input, follow_chain,
    unverified_payload,
};
use crate::openpush::seed::{self, OATH_DIGITS, OATH_PERIOD};
use crate::openpush::verify::{
    AccountState, activation_proof_input, answer_input, challenge_hash, check_challenge,
    display_context, request_input,
};
use crate::openpush::{ActivationPayload, BaseUrl, Envelope, ProtocolError, ServerKey};
use crate::platform::DeviceSigner;
use crate::vault::{AccountId, OpenpushSecret, SeenChallenge, Vault};
use reqwest::Method;
use std::sync::Arc;
use zeroize::Zeroizing;

/// A clock returning Unix seconds.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Result of a successful activation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Activation {
    /// The new vault account.
    pub account_id: AccountId,
    /// The server host (what the user agreed to).
    pub host: String,
    /// Organisation name from the server.
    pub issuer: String,
    /// Account label from the server.
    pub label: String,
    /// Deadline for the "Verify Now" confirmation (server time).
    pub confirm_by: u64,
}

/// The openpush/1 client over a vault.
#[derive(Clone)]
pub struct OpenpushClient {
    vault: Arc<Vault>,
    http: HttpClient,
    clock: Clock,
    device_signer: Option<Arc<dyn DeviceSigner>>,
}

impl std::fmt::Debug for OpenpushClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenpushClient")
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// The device key of an account: in the vault (software) or held by the platform.
enum DeviceKey {
    Software(Es256Signer),
    Platform {
        signer: Arc<dyn DeviceSigner>,
        alias: String,
        public: Vec<u8>,
    },
}

impl DeviceKey {
    fn public_key(&self) -> Vec<u8> {
        match self {
            Self::Software(k) => k.public_key(),
            Self::Platform { public, .. } => public.clone(),
        }
    }

    /// Signs and returns fixed `r ‖ s`. A platform signature (DER or fixed) is converted and
    /// verified against the public key before use, so a shell bug shows up here, not at the
    /// server.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PushError> {
        match self {
            Self::Software(k) => Ok(k.sign(message)?),
            Self::Platform {
                signer,
                alias,
                public,
            } => {
                let raw = signer
                    .sign(alias, message)
                    .map_err(|e| PushError::Internal(format!("the device signer failed: {e}")))?;
                let fixed = if raw.len() == 64 {
                    raw
                } else {
                    crate::crypto::der_to_fixed(&raw)
                        .ok_or_else(|| {
                            PushError::Internal(
                                "the device signer returned a malformed signature".into(),
                            )
                        })?
                        .to_vec()
                };
                if !crate::crypto::es256_verify(public, message, &fixed) {
                    return Err(PushError::Internal(
                        "the device signer's signature does not verify with its public key".into(),
                    ));
                }
                Ok(fixed)
            }
        }
    }
}

/// Everything needed to talk for one account.
struct Session {
    id: AccountId,
    secret: OpenpushSecret,
    base: BaseUrl,
    key: ServerKey,
    signer: DeviceKey,
    /// A rotated-to key the server may already hold (§11.2).
    pending: Option<DeviceKey>,
}

impl Session {
    fn corrected(&self, local: u64) -> u64 {
        local.saturating_add_signed(self.secret.clock_offset)
    }

    fn state(&self) -> AccountState {
        if self.secret.state == "active" {
            AccountState::Active
        } else {
            AccountState::Pending
        }
    }
}

fn server_error(status: u16, body: &[u8]) -> PushError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => match e.error.code.as_str() {
            "challenge_closed" => {
                PushError::ChallengeClosed(e.error.state.unwrap_or_else(|| "closed".into()))
            }
            "challenge_expired" => PushError::Expired,
            _ => PushError::Server {
                code: crate::error::preview(&e.error.code),
                message: crate::error::preview(&e.error.message),
                status,
            },
        },
        Err(_) => PushError::Server {
            code: "unknown".into(),
            message: format!("HTTP {status} without an error body"),
            status,
        },
    }
}

impl OpenpushClient {
    /// A client over `vault`, sending with `http`, reading time from `clock`.
    pub fn new(vault: Arc<Vault>, http: HttpClient, clock: Clock) -> Self {
        Self {
            vault,
            http,
            clock,
            device_signer: None,
        }
    }

    /// Keeps new device keys in the platform's signer instead of the vault.
    pub fn with_device_signer(mut self, signer: Option<Arc<dyn DeviceSigner>>) -> Self {
        self.device_signer = signer;
        self
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }

    /// The device key stored as (software PKCS#8 | platform alias) + public key.
    fn device_key(
        &self,
        pkcs8: Option<&Zeroizing<String>>,
        alias: Option<&String>,
        public: &str,
    ) -> Result<Option<DeviceKey>, PushError> {
        Ok(match (pkcs8, alias, &self.device_signer) {
            (Some(pkcs8), _, _) => Some(DeviceKey::Software(Es256Signer::from_pkcs8(
                SecretBytes::new(unb64(pkcs8, "device key")?),
            )?)),
            (None, Some(alias), Some(platform)) => Some(DeviceKey::Platform {
                signer: platform.clone(),
                alias: alias.clone(),
                public: unb64(public, "device key")?,
            }),
            (None, Some(_), None) => {
                return Err(PushError::Internal(
                    "this account's key is held by the platform signer, which is not set".into(),
                ));
            }
            (None, None, _) => None,
        })
    }

    /// A new device key: in the platform signer when `on_platform` and one is set, else in
    /// software (sealed in the vault).
    fn new_device_key(&self, on_platform: bool) -> Result<DeviceKey, PushError> {
        match (on_platform, &self.device_signer) {
            (true, Some(platform)) => {
                let alias = format!("countersign-openpush-{}", random_id()?);
                let public = platform.create_key(&alias).map_err(|e| {
                    PushError::Internal(format!("the device signer could not create a key: {e}"))
                })?;
                if public.len() != 65 || public.first() != Some(&4) {
                    return Err(PushError::Internal(
                        "the device signer returned a malformed public key".into(),
                    ));
                }
                Ok(DeviceKey::Platform {
                    signer: platform.clone(),
                    alias,
                    public,
                })
            }
            _ => Ok(DeviceKey::Software(Es256Signer::generate()?)),
        }
    }

    /// Makes the pending key the account's key (the server holds it now) and forgets the old
    /// one (deleting it from the platform signer when it lived there).
    fn commit_pending(&self, s: &mut Session) -> Result<(), PushError> {
        let Some(new) = s.pending.take() else {
            return Ok(());
        };
        self.vault.update_openpush(s.id, |x| {
            x.device_key_pkcs8 = x.pending_device_key_pkcs8.take();
            x.device_key_alias = x.pending_device_key_alias.take();
            if let Some(p) = x.pending_device_public.take() {
                x.device_public = p;
            }
        })?;
        let old = std::mem::replace(&mut s.signer, new);
        if let DeviceKey::Platform { signer, alias, .. } = &old
            && signer.delete_key(alias).is_err()
        {
            tracing::warn!(
                account = s.id,
                "the device signer could not delete the old key"
            );
        }
        s.secret = self.vault.openpush_account(s.id)?.1;
        tracing::info!(account = s.id, "device key rotated");
        Ok(())
    }

    /// Replaces the account's device key (§11.2): a new key is made and kept as pending, the
    /// server is asked to switch with a statement signed by both keys, and the new key becomes
    /// the account's key once the server confirms. If the confirmation is lost, the next
    /// request finds out which key the server holds.
    pub async fn rotate_device_key(&self, id: AccountId) -> Result<(), PushError> {
        let mut s = self.session(id)?;
        if s.secret.state != "active" {
            return Err(PushError::InvalidInput(
                "confirm the account (\"Verify Now\") before rotating its key".into(),
            ));
        }
        // A pending key from an interrupted rotation is settled first.
        if s.pending.is_some() {
            self.list(id).await?;
            s = self.session(id)?;
        }
        let new = self.new_device_key(matches!(s.signer, DeviceKey::Platform { .. }))?;
        let new_public = new.public_key();
        self.vault.update_openpush(id, |x| {
            x.pending_device_public = Some(b64(&new_public));
            match &new {
                DeviceKey::Software(k) => {
                    x.pending_device_key_pkcs8 = Some(Zeroizing::new(b64(k.pkcs8().expose())));
                    x.pending_device_key_alias = None;
                }
                DeviceKey::Platform { alias, .. } => {
                    x.pending_device_key_pkcs8 = None;
                    x.pending_device_key_alias = Some(alias.clone());
                }
            }
        })?;
        let statement = DeviceRotation {
            account_id: s.secret.account_id.clone(),
            old_kid: device_kid(&s.signer.public_key()),
            new_key: KeyRef {
                alg: "ES256".into(),
                public: b64(&new_public),
            },
            new_kid: device_kid(&new_public),
            issued_at: s.corrected(self.now()),
            nonce: random_id()?,
        };
        let bytes =
            serde_json::to_vec(&statement).map_err(|e| PushError::Internal(e.to_string()))?;
        let body = serde_json::json!({
            "statement": b64(&bytes),
            "old_sig": b64(&s.signer.sign(&device_rotation_input("old", &bytes))?),
            "new_sig": b64(&new.sign(&device_rotation_input("new", &bytes))?),
        });
        s.pending = Some(new);
        let body = serde_json::to_vec(&body).map_err(|e| PushError::Internal(e.to_string()))?;
        let sent = self.now();
        let (status, resp, nonce) = self
            .signed(&mut s, Method::POST, "account/device-key", Some(body))
            .await?;
        let r: DeviceKeyRotated = self
            .fresh(&mut s, status, &resp, "device-key-rotated", &nonce, sent)
            .await?;
        if r.new_kid != statement.new_kid {
            return Err(ProtocolError::invalid("new_kid", "not the key we sent").into());
        }
        self.commit_pending(&mut s)
    }

    /// Follows the server's key rotations from the pinned key (§11.3) after a response came
    /// signed by a key this account does not know. At most once per 10 minutes per account; a
    /// chain that does not lead from the pin leaves the pin as it was.
    async fn follow_server_key(&self, s: &mut Session) -> Result<(), PushError> {
        let now = self.now();
        if now.saturating_sub(s.secret.server_key_checked_at) < 600 {
            return Err(ProtocolError::invalid("kid", "not the pinned server key").into());
        }
        self.vault
            .update_openpush(s.id, |x| x.server_key_checked_at = now)?;
        s.secret.server_key_checked_at = now;
        let (status, body, nonce) = self
            .signed(s, Method::GET, "account/server-key", None)
            .await?;
        if status != 200 {
            return Err(server_error(status, &body));
        }
        let env: Envelope = parse(&body, "server-key")?;
        let claimed: ServerKeyInfo = parse(&unverified_payload(&env)?, "server-key")?;
        let current =
            follow_chain(&s.key, &claimed.chain, &claimed.current_kid).inspect_err(|_| {
                tracing::warn!(
                    account = s.id,
                    "security: server key chain refused; re-enrol"
                );
            })?;
        if claimed.current_key.alg != "Ed25519" || claimed.current_key.public != current.to_b64() {
            return Err(ProtocolError::invalid("current_key", "not the chain's end").into());
        }
        let info: ServerKeyInfo = parse(&env.verify("server-key", &current)?, "server-key")?;
        if info.request_nonce != nonce {
            return Err(ProtocolError::NotFresh.into());
        }
        if info.account_id != s.secret.account_id {
            return Err(ProtocolError::WrongAccount.into());
        }
        let pin = current.to_b64();
        self.vault
            .update_openpush(s.id, |x| x.server_key = pin.clone())?;
        s.secret.server_key = pin;
        tracing::warn!(
            account = s.id,
            kid = %current.kid(),
            "server key rotated: pin moved along the verified chain"
        );
        s.key = current;
        Ok(())
    }

    fn session(&self, id: AccountId) -> Result<Session, PushError> {
        let (_, secret) = self.vault.openpush_account(id)?;
        let policy = if secret.allow_loopback {
            crate::openpush::UrlPolicy::AllowLoopback
        } else {
            crate::openpush::UrlPolicy::Strict
        };
        if secret.allow_loopback && !self.http.config().allow_loopback {
            return Err(ProtocolError::UrlNotAllowed(
                "this account was activated in test mode; pass the loopback test flag".into(),
            )
            .into());
        }
        let base = BaseUrl::parse(&secret.base_url, policy)?;
        let key = ServerKey::from_b64(&secret.server_key)?;
        let signer = self
            .device_key(
                secret.device_key_pkcs8.as_ref(),
                secret.device_key_alias.as_ref(),
                &secret.device_public,
            )?
            .ok_or_else(|| PushError::Internal("the account has no device key".into()))?;
        let pending = match &secret.pending_device_public {
            Some(public) => self.device_key(
                secret.pending_device_key_pkcs8.as_ref(),
                secret.pending_device_key_alias.as_ref(),
                public,
            )?,
            None => None,
        };
        Ok(Session {
            id,
            secret,
            base,
            key,
            signer,
            pending,
        })
    }

    /// Activates an account from a scanned or typed payload (§5). On success the account is
    /// stored as pending; it becomes active when the user confirms with "Verify Now".
    pub async fn activate(
        &self,
        payload: &ActivationPayload,
        device: DeviceInfo,
        push: PushRegistration,
    ) -> Result<Activation, PushError> {
        let base = &payload.base_url;
        let signer = self.new_device_key(self.device_signer.is_some())?;
        let kx = X25519Ephemeral::generate()?;
        let request = ActivationRequest {
            code_id: payload.code.code_id(),
            base_url: base.as_str().into(),
            nonce: random_id()?,
            client_time: self.now(),
            device_key: KeyRef {
                alg: "ES256".into(),
                public: b64(&signer.public_key()),
            },
            oath_kx: KeyRef {
                alg: "X25519".into(),
                public: b64(&kx.public_key()),
            },
            push,
            device,
        };
        let bytes = serde_json::to_vec(&request).map_err(|e| PushError::Internal(e.to_string()))?;
        let body = ActivationBody {
            payload: b64(&bytes),
            device_sig: b64(&signer.sign(&activation_proof_input(&bytes))?),
            code_proof: payload.code.proof(&bytes),
        };
        let body = serde_json::to_vec(&body).map_err(|e| PushError::Internal(e.to_string()))?;
        let sent_at = self.now();
        let resp = self
            .http
            .send(Method::POST, &base.endpoint("activate"), &[], Some(body))
            .await?;
        if resp.status != 201 {
            return Err(server_error(resp.status, &resp.body));
        }
        let env: Envelope = parse(&resp.body, "activate-response")?;
        let key = ServerKey::from_b64(
            env.server_key
                .as_deref()
                .ok_or_else(|| ProtocolError::invalid("server_key", "missing"))?,
        )?;
        let fp = key.fingerprint();
        if payload.fingerprint.is_some_and(|qr| qr != fp) || !payload.code.commits_to(base, &fp) {
            tracing::warn!(
                host = base.host(),
                "activation: server key does not match the code"
            );
            return Err(ProtocolError::KeyMismatch.into());
        }
        let signed = env.verify("activate-response", &key)?;
        let r: ActivateResponse = parse(&signed, "activate-response")?;
        let request_hash = sha256(&bytes);
        if r.request_hash != b64(&request_hash) {
            return Err(ProtocolError::NotFresh.into());
        }
        if r.base_url != base.as_str() {
            return Err(ProtocolError::invalid("base_url", "not the URL we activated").into());
        }
        if r.state != "pending"
            || r.oath.kind != "totp"
            || r.oath.algorithm != "SHA1"
            || r.oath.digits != OATH_DIGITS
            || r.oath.period != OATH_PERIOD
            || r.oath.kx.alg != "X25519"
            || r.limits.challenge_ttl_max > 120
        {
            return Err(ProtocolError::invalid(
                "activate-response",
                "parameters are not openpush/1's",
            )
            .into());
        }
        check_id(&r.account_id, "account_id")?;
        let issuer =
            crate::openpush::verify::sanitize(&r.issuer).unwrap_or_else(|| base.host().to_string());
        let label = crate::openpush::verify::sanitize(&r.label).unwrap_or_default();
        let server_kx: [u8; 32] = unb64_len(&r.oath.kx.public, 32, "oath.kx")?
            .try_into()
            .map_err(|_| ProtocolError::invalid("oath.kx", "must be 32 bytes"))?;
        let device_kx = kx.public_key();
        let z = kx.agree(&server_kx)?;
        let seed = seed::derive(&z, &request_hash, &r.account_id, &device_kx, &server_kx)?;
        let local = self.now();
        let offset = offset(r.server_time, local, sent_at);
        let secret = OpenpushSecret {
            base_url: base.as_str().into(),
            allow_loopback: self.http.config().allow_loopback,
            account_id: r.account_id,
            server_key: key.to_b64(),
            device_key_pkcs8: match &signer {
                DeviceKey::Software(k) => Some(Zeroizing::new(b64(k.pkcs8().expose()))),
                DeviceKey::Platform { .. } => None,
            },
            device_public: b64(&signer.public_key()),
            device_key_alias: match &signer {
                DeviceKey::Platform { alias, .. } => Some(alias.clone()),
                DeviceKey::Software(_) => None,
            },
            seed: Zeroizing::new(b64(seed.expose())),
            state: "pending".into(),
            confirm_by: r.confirm_by,
            clock_offset: offset,
            push_provider: request.push.provider.clone(),
            pending_device_key_pkcs8: None,
            pending_device_public: None,
            pending_device_key_alias: None,
            server_key_checked_at: 0,
        };
        let id = self.vault.add_openpush(&issuer, &label, &secret, local)?;
        tracing::info!(
            account = id,
            host = base.host(),
            "activated (pending confirmation)"
        );
        Ok(Activation {
            account_id: id,
            host: base.host().into(),
            issuer,
            label,
            confirm_by: r.confirm_by,
        })
    }

    /// Sends a device-authenticated request (§6); on `stale_request` resyncs the clock from a
    /// signed `time` response (§7) and retries once. Returns the status, body and our nonce.
    async fn signed(
        &self,
        s: &mut Session,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>, String), PushError> {
        for attempt in 0..2 {
            let nonce = random_id()?;
            let time = s.corrected(self.now());
            let full_path = format!("{}/openpush/1/{path}", s.base.path_prefix());
            let input = request_input(
                method.as_str(),
                &full_path,
                &s.secret.account_id,
                time,
                &nonce,
                body.as_deref().unwrap_or_default(),
            );
            let sig = b64(&s.signer.sign(&input)?);
            let headers = [
                ("OpenPush-Account", s.secret.account_id.clone()),
                ("OpenPush-Time", time.to_string()),
                ("OpenPush-Nonce", nonce.clone()),
                ("OpenPush-Signature", sig),
            ];
            let resp = self
                .http
                .send(
                    method.clone(),
                    &s.base.endpoint(path),
                    &headers,
                    body.clone(),
                )
                .await?;
            if attempt == 0 && resp.status == 401 && is_code(&resp.body, "stale_request") {
                self.sync_time(s).await?;
                continue;
            }
            // §11.2: a rotation whose confirmation was lost. The server holds the pending key
            // if it refuses the old one; retry once with it and keep it if that works.
            if resp.status == 401
                && is_code(&resp.body, "unauthorized")
                && let Some(new) = s.pending.take()
            {
                // No pending key during the retry, so it cannot recurse again.
                let old = std::mem::replace(&mut s.signer, new);
                let retried = Box::pin(self.signed(s, method.clone(), path, body.clone())).await;
                let ok = matches!(&retried, Ok((status, body, _))
                    if !(*status == 401 && is_code(body, "unauthorized")));
                // Back as stored; then commit if the server took the new key.
                let new = std::mem::replace(&mut s.signer, old);
                s.pending = Some(new);
                if ok {
                    self.commit_pending(s)?;
                }
                return retried;
            }
            return Ok((resp.status, resp.body, nonce));
        }
        Err(PushError::Internal("retry loop ended".into()))
    }

    /// `GET /time` (§7): verify, check the echo, update the offset.
    async fn sync_time(&self, s: &mut Session) -> Result<(), PushError> {
        let nonce = random_id()?;
        let sent = self.now();
        let resp = self
            .http
            .send(
                Method::GET,
                &s.base.endpoint(&format!("time?nonce={nonce}")),
                &[],
                None,
            )
            .await?;
        if resp.status != 200 {
            return Err(server_error(resp.status, &resp.body));
        }
        let env: Envelope = parse(&resp.body, "time")?;
        let t: TimePayload = parse(&env.verify("time", &s.key)?, "time")?;
        if t.nonce != nonce {
            return Err(ProtocolError::NotFresh.into());
        }
        let off = offset(t.server_time, self.now(), sent);
        s.secret.clock_offset = off;
        self.vault.update_openpush(s.id, |x| x.clock_offset = off)?;
        Ok(())
    }

    /// Verifies a fresh envelope of type `typ` (§10.1 steps 3–9) and returns its payload. A
    /// response signed by a key id this account has not pinned makes the client follow the
    /// server's rotation chain first (§11.3).
    async fn fresh<T: serde::de::DeserializeOwned + Fresh>(
        &self,
        s: &mut Session,
        status: u16,
        body: &[u8],
        typ: &'static str,
        nonce: &str,
        sent: u64,
    ) -> Result<T, PushError> {
        if status != 200 {
            return Err(server_error(status, body));
        }
        let env: Envelope = parse(body, typ)?;
        if env.kid != s.key.kid() {
            self.follow_server_key(s).await?;
        }
        let payload: T = parse(&env.verify(typ, &s.key)?, typ)?;
        if payload.nonce() != nonce {
            return Err(ProtocolError::NotFresh.into());
        }
        if payload.account() != s.secret.account_id {
            return Err(ProtocolError::WrongAccount.into());
        }
        let off = offset(payload.server_time(), self.now(), sent);
        if off != s.secret.clock_offset {
            s.secret.clock_offset = off;
            self.vault.update_openpush(s.id, |x| x.clock_offset = off)?;
        }
        Ok(payload)
    }

    /// Verifies one challenge envelope and records it (§10.1 steps 10–16). `Ok(None)` for a
    /// challenge this device already answered.
    fn accept_challenge(
        &self,
        s: &Session,
        env: &Envelope,
    ) -> Result<Option<(Challenge, String)>, PushError> {
        let bytes = env.verify("challenge", &s.key)?;
        let c: Challenge = parse(&bytes, "challenge")?;
        let now = s.corrected(self.now());
        check_challenge(&c, &s.secret.account_id, s.state(), now)?;
        let hash = challenge_hash(&bytes);
        self.vault
            .record_challenge(
                s.id,
                &SeenChallenge {
                    challenge_id: c.challenge_id.clone(),
                    challenge_hash: hash.clone(),
                    nonce: c.nonce.clone(),
                    expires_at: c.expires_at,
                    answered: None,
                },
                now,
            )
            .map_err(|_| {
                tracing::warn!(
                    account = s.id,
                    "security: replayed or altered challenge refused"
                );
                PushError::Protocol(ProtocolError::Replay)
            })?;
        let answered = self
            .vault
            .seen_challenge(s.id, &c.challenge_id)?
            .and_then(|seen| seen.answered);
        Ok(answered.is_none().then_some((c, hash)))
    }

    fn to_display(id: AccountId, c: &Challenge) -> PushChallenge {
        let ctx = display_context(&c.context);
        PushChallenge {
            account_id: id,
            protocol: Protocol::Openpush,
            challenge_id: c.challenge_id.clone(),
            kind: if c.kind == "activation" {
                ChallengeKind::Activation
            } else {
                ChallengeKind::Signin
            },
            app: ctx.app,
            message: None,
            ip: ctx.ip,
            location: ctx.location,
            client: ctx.client,
            time: ctx.time,
            created_at: c.created_at,
            expires_at: c.expires_at,
            number_length: Some(c.number_length),
            options: Vec::new(),
            display_code: None,
            fraud_report: c.fraud_report,
        }
    }

    /// The pending challenges of account `id` (§8.4), verified.
    pub async fn list(&self, id: AccountId) -> Result<Vec<PushChallenge>, PushError> {
        let mut s = self.session(id)?;
        let sent = self.now();
        let (status, body, nonce) = self.signed(&mut s, Method::GET, "challenges", None).await?;
        let list: ChallengeList = self
            .fresh(&mut s, status, &body, "challenge-list", &nonce, sent)
            .await?;
        if list.challenges.len() > 16 {
            return Err(ProtocolError::invalid("challenges", "more than 16").into());
        }
        let mut out = Vec::new();
        for env in &list.challenges {
            match self.accept_challenge(&s, env) {
                Ok(Some((c, _))) => out.push(Self::to_display(id, &c)),
                Ok(None) => {}
                // Expired in transit, or of a kind this account does not take (§10.1 step 11):
                // not actionable, so not shown. Every other failure is a security failure
                // and fails the whole list.
                Err(PushError::Protocol(ProtocolError::Expired)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Pending challenges of every openpush account.
    pub async fn list_all(&self) -> Result<Vec<PushChallenge>, PushError> {
        let mut out = Vec::new();
        for (summary, _) in self.vault.openpush_accounts()? {
            out.extend(self.list(summary.id).await?);
        }
        Ok(out)
    }

    async fn fetch(
        &self,
        s: &mut Session,
        challenge_id: &str,
    ) -> Result<(Challenge, String), PushError> {
        check_id(challenge_id, "challenge_id")?;
        let sent = self.now();
        let path = format!("challenges/{challenge_id}");
        let (status, body, nonce) = self.signed(s, Method::GET, &path, None).await?;
        let f: ChallengeFetch = self
            .fresh(s, status, &body, "challenge-fetch", &nonce, sent)
            .await?;
        let (c, hash) = self
            .accept_challenge(s, &f.challenge)?
            .ok_or_else(|| PushError::ChallengeClosed("already answered on this device".into()))?;
        if c.challenge_id != challenge_id {
            return Err(ProtocolError::invalid("challenge_id", "not the one requested").into());
        }
        Ok((c, hash))
    }

    /// Handles a wake-up push (§8.3): only `op`, `aid` and `cid` are read; every other key is
    /// ignored, and the server contacted is the stored account's `B`.
    pub async fn handle_push(
        &self,
        data: &[(String, String)],
    ) -> Result<Vec<PushChallenge>, PushError> {
        let size: usize = data.iter().map(|(k, v)| k.len() + v.len()).sum();
        let get = |k: &str| {
            data.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        if size > 4096 || get("op") != Some("1") {
            return Err(ProtocolError::invalid("push", "not an openpush/1 wake-up").into());
        }
        let aid = get("aid").ok_or_else(|| ProtocolError::invalid("aid", "missing"))?;
        check_id(aid, "aid")?;
        let cid = get("cid");
        if let Some(c) = cid {
            check_id(c, "cid")?;
        }
        let Some((summary, _)) = self
            .vault
            .openpush_accounts()?
            .into_iter()
            .find(|(_, s)| s.account_id == aid)
        else {
            return Err(PushError::InvalidInput(
                "the push is for an account not on this device".into(),
            ));
        };
        match cid {
            Some(cid) => {
                let mut s = self.session(summary.id)?;
                match self.fetch(&mut s, cid).await {
                    Ok((c, _)) => Ok(vec![Self::to_display(summary.id, &c)]),
                    // A late or repeated push for a request already answered (here or on the
                    // server): nothing to show.
                    Err(PushError::ChallengeClosed(_)) => Ok(Vec::new()),
                    Err(e) => Err(e),
                }
            }
            None => self.list(summary.id).await,
        }
    }

    /// Answers challenge `challenge_id` of account `id` (§9). The challenge is fetched and
    /// verified again first, so the answer is bound to exactly what the server holds.
    pub async fn answer(
        &self,
        id: AccountId,
        challenge_id: &str,
        decision: &Decision,
    ) -> Result<Outcome, PushError> {
        let mut s = self.session(id)?;
        let (c, hash) = self.fetch(&mut s, challenge_id).await?;
        let now = s.corrected(self.now());
        if now >= c.expires_at {
            return Err(PushError::Expired);
        }
        let (name, number, otp) = match decision {
            Decision::Approve { number, .. } => {
                let n = number.as_deref().map(str::trim).unwrap_or_default();
                if n.len() != usize::from(c.number_length) || !n.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(PushError::InvalidInput(format!(
                        "type the {}-digit number shown on the sign-in page",
                        c.number_length
                    )));
                }
                let otp = if c.kind == "activation" {
                    let seed = SecretBytes::new(unb64(&s.secret.seed, "seed")?);
                    let code = crate::otp::totp(
                        &seed,
                        crate::otp::Algorithm::Sha1,
                        OATH_DIGITS,
                        OATH_PERIOD,
                        now,
                    )?;
                    code.code.as_str().to_string()
                } else {
                    String::new()
                };
                ("approve", n.to_string(), otp)
            }
            Decision::Deny => ("deny", String::new(), String::new()),
            Decision::ReportFraud if c.fraud_report => ("fraud", String::new(), String::new()),
            Decision::ReportFraud => {
                return Err(PushError::InvalidInput(
                    "this request does not offer fraud reporting; deny it".into(),
                ));
            }
        };
        let input = answer_input(
            &s.secret.account_id,
            &c.challenge_id,
            &c.nonce,
            &hash,
            name,
            &number,
            &otp,
            now,
        );
        let answer = Answer {
            challenge_id: c.challenge_id.clone(),
            decision: name.into(),
            number: (!number.is_empty()).then_some(number),
            otp: (!otp.is_empty()).then_some(otp),
            answered_at: now,
            sig: b64(&s.signer.sign(&input)?),
        };
        let body = serde_json::to_vec(&answer).map_err(|e| PushError::Internal(e.to_string()))?;
        let sent = self.now();
        let path = format!("challenges/{}/answer", c.challenge_id);
        let (status, resp, nonce) = self.signed(&mut s, Method::POST, &path, Some(body)).await?;
        let result: Result<AnswerReceipt, PushError> = self
            .fresh(&mut s, status, &resp, "answer-receipt", &nonce, sent)
            .await;
        if matches!(result, Ok(_) | Err(PushError::ChallengeClosed(_))) {
            let _ = self.vault.mark_answered(id, &c.challenge_id, name);
        }
        let receipt = result?;
        if receipt.challenge_id != c.challenge_id {
            return Err(
                ProtocolError::invalid("challenge_id", "receipt for another challenge").into(),
            );
        }
        let outcome = match receipt.state.as_str() {
            "approved" => Outcome::Approved,
            "fraud" => Outcome::Fraud,
            "denied" => Outcome::Denied {
                reason: receipt.reason.map(|r| crate::error::preview(&r)),
            },
            _ => return Err(ProtocolError::invalid("state", "unknown receipt state").into()),
        };
        if c.kind == "activation" {
            if outcome == Outcome::Approved {
                self.vault
                    .update_openpush(id, |x| x.state = "active".into())?;
                tracing::info!(account = id, "activation confirmed");
            } else {
                // The server deleted the pending account; so do we.
                self.vault.delete(id)?;
            }
        }
        tracing::info!(account = id, decision = name, "answered challenge");
        Ok(outcome)
    }

    /// Registers a new push token (or `none` to poll) (§11.1).
    pub async fn update_push_token(
        &self,
        id: AccountId,
        push: PushRegistration,
    ) -> Result<(), PushError> {
        let mut s = self.session(id)?;
        let body = serde_json::to_vec(&push).map_err(|e| PushError::Internal(e.to_string()))?;
        let sent = self.now();
        let (status, resp, nonce) = self
            .signed(&mut s, Method::PUT, "account/push-token", Some(body))
            .await?;
        let _: Echo = self
            .fresh(&mut s, status, &resp, "push-token-updated", &nonce, sent)
            .await?;
        self.vault
            .update_openpush(id, |x| x.push_provider = push.provider.clone())?;
        Ok(())
    }

    /// Unenrols at the server (§11.4), then deletes the account locally.
    pub async fn unenroll(&self, id: AccountId) -> Result<(), PushError> {
        let mut s = self.session(id)?;
        let sent = self.now();
        let (status, resp, nonce) = self.signed(&mut s, Method::DELETE, "account", None).await?;
        let _: Echo = self
            .fresh(&mut s, status, &resp, "unenrolled", &nonce, sent)
            .await?;
        self.vault.delete(id)?;
        if let DeviceKey::Platform { signer, alias, .. } = &s.signer {
            // Best effort: the account is gone either way; a leftover key signs nothing useful.
            if signer.delete_key(alias).is_err() {
                tracing::warn!(account = id, "the device signer could not delete the key");
            }
        }
        Ok(())
    }
}

fn is_code(body: &[u8], code: &str) -> bool {
    serde_json::from_slice::<ErrorBody>(body).is_ok_and(|e| e.error.code == code)
}

/// Server time minus local time, sampled only from a round trip under 30 s (§7).
fn offset(server_time: u64, local_now: u64, sent: u64) -> i64 {
    if local_now.saturating_sub(sent) > 30 {
        return 0;
    }
    (i128::from(server_time) - i128::from(local_now))
        .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Payloads bound to our request by a nonce echo.
trait Fresh {
    fn nonce(&self) -> &str;
    fn account(&self) -> &str;
    fn server_time(&self) -> u64;
}

macro_rules! fresh {
    ($($t:ty),*) => {$(
        impl Fresh for $t {
            fn nonce(&self) -> &str { &self.request_nonce }
            fn account(&self) -> &str { &self.account_id }
            fn server_time(&self) -> u64 { self.server_time }
        }
    )*};
}
fresh!(
    ChallengeList,
    ChallengeFetch,
    AnswerReceipt,
    Echo,
    DeviceKeyRotated
);

/// `device-key-rotated` (§11.2).
#[derive(serde::Deserialize)]
struct DeviceKeyRotated {
    account_id: String,
    new_kid: String,
    request_nonce: String,
    server_time: u64,
}
