//! Shared server state handed to every handler: the database, the clock, the server key, the
//! sealing key, the base URL, policy, push sender and rate limiters.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use countersign_core::crypto::{DataKey, Ed25519Signer, SecretBytes};
use countersign_core::openpush::{BaseUrl, Envelope, ServerKey};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::clock::Clock;
use crate::config::Policy;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::push::PushSender;
use crate::ratelimit::RateLimiter;

/// The current server signing key.
pub(crate) struct Keys {
    pub signer: Ed25519Signer,
    pub public: ServerKey,
}

impl Keys {
    pub(crate) fn from_seed(seed: &SecretBytes) -> anyhow::Result<Self> {
        let signer = Ed25519Signer::from_seed(seed)?;
        let public = ServerKey::from_bytes(&signer.public_key())
            .map_err(|e| anyhow::anyhow!("server key: {e}"))?;
        Ok(Self { signer, public })
    }
}

/// Everything the handlers share.
pub(crate) struct AppState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    keys: RwLock<Arc<Keys>>,
    pub seal: DataKey,
    pub base: BaseUrl,
    pub admin_token: Zeroizing<String>,
    pub policy: Policy,
    pub issuer: String,
    pub push: Arc<dyn PushSender>,
    pub limiter: RateLimiter,
    pub data_dir: PathBuf,
}

/// The state as handlers receive it.
pub(crate) type Shared = Arc<AppState>;

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        keys: Keys,
        seal: DataKey,
        base: BaseUrl,
        admin_token: Zeroizing<String>,
        policy: Policy,
        issuer: String,
        push: Arc<dyn PushSender>,
        data_dir: PathBuf,
    ) -> Self {
        Self {
            db,
            clock,
            keys: RwLock::new(Arc::new(keys)),
            seal,
            base,
            admin_token,
            policy,
            issuer,
            push,
            limiter: RateLimiter::default(),
            data_dir,
        }
    }

    /// Server time (§7).
    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// The current signing key.
    pub(crate) fn keys(&self) -> ApiResult<Arc<Keys>> {
        self.keys
            .read()
            .map(|k| Arc::clone(&k))
            .map_err(|_| ApiError::internal("key lock poisoned"))
    }

    /// Replaces the signing key (server key rotation).
    pub(crate) fn set_keys(&self, keys: Keys) -> ApiResult<()> {
        let mut k = self
            .keys
            .write()
            .map_err(|_| ApiError::internal("key lock poisoned"))?;
        *k = Arc::new(keys);
        Ok(())
    }

    /// Serialises `payload` and signs it as `typ` with the current key.
    pub(crate) fn sign<T: Serialize>(&self, typ: &str, payload: &T) -> ApiResult<Envelope> {
        let bytes = serde_json::to_vec(payload)?;
        Ok(Envelope::sign(&self.keys()?.signer, typ, &bytes))
    }

    /// Seals a secret for the database, bound to `purpose` and `id`.
    pub(crate) fn seal(&self, purpose: &str, id: &str, secret: &[u8]) -> ApiResult<Vec<u8>> {
        Ok(self.seal.seal(&aad(purpose, id), secret)?)
    }

    /// Opens a sealed secret.
    pub(crate) fn unseal(&self, purpose: &str, id: &str, sealed: &[u8]) -> ApiResult<SecretBytes> {
        self.seal
            .open(&aad(purpose, id), sealed)
            .map_err(|e| ApiError::internal(format_args!("unsealing {purpose}: {e}")))
    }
}

fn aad(purpose: &str, id: &str) -> Vec<u8> {
    countersign_core::openpush::encoding::labelled(
        "countersign-server sealed",
        &[purpose.as_bytes()],
        id.as_bytes(),
    )
}
