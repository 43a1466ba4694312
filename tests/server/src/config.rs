//! How a server instance is configured: where it listens, where its data lives, which base URL
//! it announces, TLS or the loopback-only plain-http test mode, and the reference policy values
//! of Appendix A.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::push::PushSender;

/// Transport security of the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tls {
    /// HTTPS with a certificate issued by a CA generated at first start (`<data>/ca.pem`).
    #[default]
    Generated,
    /// Plain HTTP, allowed only on a loopback listen address and only when asked for
    /// explicitly (tests; clients need their `allow_insecure_loopback` flag).
    PlainHttpLoopback,
}

/// Reference policy values (docs/protocol.md Appendix A). Times in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Lifetime of an activation code (≤ 600).
    pub code_ttl: u64,
    /// Time a pending account has to be confirmed (≤ 600).
    pub confirm_window: u64,
    /// Challenge lifetime (30–120).
    pub challenge_ttl: u64,
    /// Digits of the number shown in the browser (2–6).
    pub number_length: u8,
    /// Sign-ins allowed per user per `signin_window`.
    pub signin_budget: u32,
    /// Window of the sign-in budget.
    pub signin_window: u64,
    /// Activation attempts allowed per client IP per minute.
    pub activations_per_ip_per_minute: u32,
    /// Activation attempts allowed in total per minute.
    pub activations_per_minute: u32,
    /// Failed code proofs after which an enrolment becomes `failed`.
    pub max_code_failures: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            code_ttl: 600,
            confirm_window: 600,
            challenge_ttl: 60,
            number_length: 3,
            signin_budget: 5,
            signin_window: 600,
            activations_per_ip_per_minute: 10,
            activations_per_minute: 120,
            max_code_failures: 5,
        }
    }
}

/// Everything [`crate::start`] needs.
#[derive(Clone)]
pub struct ServerConfig {
    /// Address to bind (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Data directory: `server.db`, `server-key`, `seal-key`, `admin-token`, `ca.pem`, `ca-key.pem`.
    pub data_dir: PathBuf,
    /// The base URL `B` announced to devices; defaults to `https://127.0.0.1:<port>` (or
    /// `http://…` in plain mode) for loopback listeners.
    pub public_url: Option<String>,
    /// TLS or the plain-http loopback test mode.
    pub tls: Tls,
    /// Organisation name in activation responses and on the enrolment page (≤ 64 chars).
    pub issuer: String,
    /// Source of time (inject a [`crate::ManualClock`] in tests).
    pub clock: Arc<dyn Clock>,
    /// Push delivery; `None` records wake-ups in the outbox ([`crate::OutboxSender`]).
    pub push: Option<Arc<dyn PushSender>>,
    /// Policy values.
    pub policy: Policy,
}

impl ServerConfig {
    /// A configuration with reference defaults: TLS, system clock, outbox push, Appendix A policy.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            data_dir: data_dir.into(),
            public_url: None,
            tls: Tls::Generated,
            issuer: "Countersign Reference Server".into(),
            clock: Arc::new(SystemClock),
            push: None,
            policy: Policy::default(),
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("tls", &self.tls)
            .field("issuer", &self.issuer)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
