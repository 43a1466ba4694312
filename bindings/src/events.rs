//! Live updates for the shells: the account list's codes as they change, and incoming sign-in
//! requests found by polling. Each watch runs on its own background thread until its
//! [`Subscription`] is cancelled or dropped; listeners are called from that thread.

use crate::CountersignError;
use crate::client::{AccountCode, AuthenticatorClient};
use crate::push::PushChallenge;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Receives the list's codes whenever any of them changes (and once at the start).
#[uniffi::export(with_foreign)]
pub trait CodesListener: Send + Sync {
    /// Every account's current code, in list order.
    fn on_codes(&self, codes: Vec<AccountCode>);
    /// Reading the codes failed (e.g. the vault was locked); the watch keeps trying.
    fn on_error(&self, error: CountersignError);
}

/// Receives pending sign-in requests whenever the set changes.
#[uniffi::export(with_foreign)]
pub trait ChallengesListener: Send + Sync {
    /// Every pending request (both protocols), verified.
    fn on_challenges(&self, challenges: Vec<PushChallenge>);
    /// A poll failed (network, server); the watch keeps polling.
    fn on_error(&self, error: CountersignError);
}

/// A running watch. Cancel it (or drop it) to stop the background thread.
#[derive(uniffi::Object)]
pub struct Subscription {
    stop: Arc<(Mutex<bool>, Condvar)>,
}

#[uniffi::export]
impl Subscription {
    /// Stops the watch; no listener call starts after this returns.
    pub fn cancel(&self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
    }

    /// Whether the watch was cancelled.
    pub fn is_cancelled(&self) -> bool {
        *self.stop.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Waits up to `d`; true if cancelled meanwhile (or before).
fn wait(stop: &(Mutex<bool>, Condvar), d: Duration) -> bool {
    let (lock, cv) = stop;
    let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    let (guard, _) = cv
        .wait_timeout_while(guard, d, |stopped| !*stopped)
        .unwrap_or_else(|p| p.into_inner());
    *guard
}

fn cancelled(stop: &(Mutex<bool>, Condvar)) -> bool {
    *stop.0.lock().unwrap_or_else(|p| p.into_inner())
}

/// A digest of what the listener was last told, so unchanged lists are not sent again. It is
/// taken over the rows' redacted `Debug` text: a code changes only with its validity window or
/// counter, which that text carries, so no code is ever copied here.
fn digest(parts: impl Iterator<Item = String>) -> [u8; 32] {
    let mut all = String::new();
    for p in parts {
        all.push_str(&p);
        all.push('\u{1f}');
    }
    let d = countersign_core::crypto::sha256(all.as_bytes());
    zeroize::Zeroize::zeroize(&mut all);
    d
}

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Result<(), CountersignError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(body)
        .map(|_| ())
        .map_err(|e| CountersignError::Internal {
            detail: format!("cannot start the watch thread: {e}"),
        })
}

#[uniffi::export]
impl AuthenticatorClient {
    /// Calls `listener` with every account's codes now and whenever a code, an account or a
    /// validity window changes (checked every second). Countdown bars are drawn by the shell
    /// from `valid_until`.
    pub fn watch_codes(
        self: Arc<Self>,
        listener: Arc<dyn CodesListener>,
    ) -> Result<Arc<Subscription>, CountersignError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let sub = Arc::new(Subscription { stop: stop.clone() });
        spawn("countersign-codes", move || {
            let mut last: Option<[u8; 32]> = None;
            loop {
                if cancelled(&stop) {
                    break;
                }
                match self.codes() {
                    Ok(codes) => {
                        let d = digest(codes.iter().map(|c| format!("{c:?}")));
                        if last != Some(d) {
                            last = Some(d);
                            listener.on_codes(codes);
                        }
                    }
                    Err(e) => {
                        last = None;
                        listener.on_error(e);
                    }
                }
                if wait(&stop, Duration::from_secs(1)) {
                    break;
                }
            }
        })?;
        Ok(sub)
    }

    /// Polls every push account every `interval_seconds` (clamped to 2–300) and calls
    /// `listener` when the set of pending requests changes (an empty list included, so a
    /// request answered elsewhere disappears). For shells without push delivery, or as a
    /// fallback while the app is in the foreground.
    pub fn watch_challenges(
        self: Arc<Self>,
        listener: Arc<dyn ChallengesListener>,
        interval_seconds: u32,
    ) -> Result<Arc<Subscription>, CountersignError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let sub = Arc::new(Subscription { stop: stop.clone() });
        let interval = Duration::from_secs(u64::from(interval_seconds.clamp(2, 300)));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CountersignError::Internal {
                detail: format!("cannot start the watch runtime: {e}"),
            })?;
        spawn("countersign-challenges", move || {
            let mut last: Option<[u8; 32]> = None;
            loop {
                if cancelled(&stop) {
                    break;
                }
                match rt.block_on(self.pending_challenges()) {
                    Ok(list) => {
                        let d = digest(list.iter().map(|c| {
                            format!("{}:{}:{}", c.account_id, c.challenge_id, c.expires_at)
                        }));
                        if last != Some(d) && !cancelled(&stop) {
                            last = Some(d);
                            listener.on_challenges(list);
                        }
                    }
                    Err(e) => listener.on_error(e),
                }
                if wait(&stop, interval) {
                    break;
                }
            }
        })?;
        Ok(sub)
    }
}
