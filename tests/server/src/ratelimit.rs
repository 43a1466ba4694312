//! In-memory sliding-window rate limits (activation attempts per client IP and globally, §5.2).
//! Memory is bounded: windows are pruned on every check and the per-key map is capped.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

const MAX_KEYS: usize = 10_000;

/// Counts events in the last `window` seconds.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    per_ip: Mutex<HashMap<IpAddr, VecDeque<u64>>>,
    global: Mutex<VecDeque<u64>>,
}

fn prune(q: &mut VecDeque<u64>, now: u64, window: u64) {
    while q.front().is_some_and(|t| t + window <= now) {
        q.pop_front();
    }
}

impl RateLimiter {
    /// Records an attempt from `ip`; `Err(retry_after)` if either limit is exceeded.
    pub(crate) fn check(
        &self,
        ip: IpAddr,
        now: u64,
        window: u64,
        per_ip: u32,
        global: u32,
    ) -> Result<(), u64> {
        {
            let mut g = self.global.lock().map_err(|_| 1u64)?;
            prune(&mut g, now, window);
            if g.len() >= global as usize {
                return Err(g.front().map_or(1, |t| t + window - now));
            }
            g.push_back(now);
        }
        let mut m = self.per_ip.lock().map_err(|_| 1u64)?;
        if m.len() > MAX_KEYS {
            m.retain(|_, q| {
                prune(q, now, window);
                !q.is_empty()
            });
        }
        let q = m.entry(ip).or_default();
        prune(q, now, window);
        if q.len() >= per_ip as usize {
            return Err(q.front().map_or(1, |t| t + window - now));
        }
        q.push_back(now);
        Ok(())
    }
}
