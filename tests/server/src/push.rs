//! Push delivery (§8.3). A wake-up carries only `{op:"1", aid, cid}`: never a URL, context or
//! the number. The server hands each wake-up to a [`PushSender`]; the default
//! [`OutboxSender`] records it in the `outbox` table, which tests and the desktop harness read
//! through `GET /admin/outbox` to play the push service.
//!
//! Real senders (not implemented here, since they need a publisher's credentials and the
//! network) would implement the same trait:
//!
//! - **FCM** (Android): HTTP v1 API `POST https://fcm.googleapis.com/v1/projects/{project}/messages:send`
//!   with an OAuth2 service-account token; body `{"message":{"token":<token>,"data":<map>,
//!   "android":{"priority":"high"}}}`. The map is [`WakeUp::data`].
//! - **APNs** (iOS): HTTP/2 `POST https://api.push.apple.com/3/device/<token>` with a JWT
//!   (ES256, team and key id), `apns-push-type: alert`, payload `{"aps":{"alert":"Sign-in
//!   request","mutable-content":1}, "op":"1","aid":…,"cid":…}`: the generic alert names nothing.
//! - **WNS** (Windows): `POST` to the channel URI with an OAuth token from the Partner Center app
//!   credentials, `X-WNS-Type: wns/raw`, body = the map as JSON.
//! - **UnifiedPush**: `POST` the map as JSON to the distributor endpoint (the token), which must
//!   be https on a public address (§11.1).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use crate::db::Db;

/// One wake-up to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakeUp {
    /// The account to wake (`aid`).
    pub account_id: String,
    /// The challenge to fetch (`cid`); `None` means "check your list".
    pub challenge_id: Option<String>,
    /// `fcm`, `apns`, `unifiedpush` (never `none`: poll-only devices get no wake-up).
    pub provider: String,
    /// The provider's address for the device (an address, never a credential).
    pub token: String,
}

impl WakeUp {
    /// The §8.3 map: `op`, `aid` and (if any) `cid`.
    pub fn data(&self) -> BTreeMap<&'static str, String> {
        let mut m = BTreeMap::new();
        m.insert("op", "1".to_string());
        m.insert("aid", self.account_id.clone());
        if let Some(c) = &self.challenge_id {
            m.insert("cid", c.clone());
        }
        m
    }
}

/// Why a wake-up was not delivered. Delivery failures never fail the sign-in: the device still
/// finds the challenge by pulling.
#[derive(Debug, thiserror::Error)]
#[error("push delivery failed: {0}")]
pub struct PushError(pub String);

/// A boxed future returned by [`PushSender::deliver`].
pub type DeliverFuture<'a> = Pin<Box<dyn Future<Output = Result<(), PushError>> + Send + 'a>>;

/// Delivers wake-ups to a push service.
pub trait PushSender: Send + Sync + 'static {
    /// Sends one wake-up. Called after the challenge is committed, outside any lock.
    fn deliver<'a>(&'a self, wake: &'a WakeUp) -> DeliverFuture<'a>;
}

/// The default sender: records each wake-up in the `outbox` table (read it with
/// `GET /admin/outbox`).
#[derive(Clone)]
pub struct OutboxSender {
    db: Db,
    clock: std::sync::Arc<dyn crate::Clock>,
}

impl std::fmt::Debug for OutboxSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboxSender")
    }
}

impl OutboxSender {
    pub(crate) fn new(db: Db, clock: std::sync::Arc<dyn crate::Clock>) -> Self {
        Self { db, clock }
    }
}

impl PushSender for OutboxSender {
    fn deliver<'a>(&'a self, wake: &'a WakeUp) -> DeliverFuture<'a> {
        Box::pin(async move {
            let data = serde_json::to_string(&wake.data()).map_err(|e| PushError(e.to_string()))?;
            let conn = self
                .db
                .lock()
                .map_err(|_| PushError("database lock".into()))?;
            conn.execute(
                "INSERT INTO outbox (account_id, challenge_id, provider, token, data, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    wake.account_id,
                    wake.challenge_id,
                    wake.provider,
                    wake.token,
                    data,
                    self.clock.now() as i64
                ],
            )
            .map_err(|e| PushError(e.to_string()))?;
            Ok(())
        })
    }
}
