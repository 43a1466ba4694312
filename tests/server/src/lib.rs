//! The reference MFA server for openpush/1 (docs/protocol.md): the device API, the enrolment
//! web page and the QA admin API of Appendix A, over rustls (ring) or, for tests only, plain
//! HTTP on loopback; SQLite storage in the data directory.
//!
//! It exists so the Countersign client has a real counterpart to test against, and so QA (and
//! the desktop harness's `countersign demo`) can run the whole flow on one machine. Embed it
//! with [`start`]:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use countersign_server::{ServerConfig, Tls, start};
//! let mut config = ServerConfig::new("127.0.0.1:0".parse()?, "/tmp/cs-data");
//! config.tls = Tls::Generated;
//! let server = start(config).await?;
//! println!("{} (trust {})", server.base_url(), server.ca_pem_path().display());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Everything protocol-shaped (codes, envelopes, signing strings, seed derivation) comes from
//! `countersign_core::openpush`; this crate adds storage, HTTP and policy.

mod activation;
mod admin;
mod apppass;
mod auth;
mod challenge;
mod clock;
mod config;
mod db;
mod device;
mod error;
mod files;
mod listener;
mod otp;
mod page;
mod push;
mod ratelimit;
mod rotation;
mod state;
mod tls;
mod wire;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use countersign_core::crypto::DataKey;
use countersign_core::openpush::{BaseUrl, UrlPolicy};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Policy, ServerConfig, Tls};
pub use error::ApiError;
pub use listener::PeerAddr;
pub use push::{DeliverFuture, OutboxSender, PushError, PushSender, WakeUp};

use state::{AppState, Keys, Shared};

/// A server started by [`start`]. Dropping it stops the server too (without waiting).
pub struct RunningServer {
    addr: SocketAddr,
    base_url: String,
    admin_token: Zeroizing<String>,
    data_dir: PathBuf,
    ca_pem_path: PathBuf,
    fingerprint: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    accept_task: JoinHandle<()>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .field("base_url", &self.base_url)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The bound socket address (the real port when `:0` was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL `B` devices use (`https://127.0.0.1:<port>` by default).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The admin bearer token (also in `<data>/admin-token`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `<data>/ca.pem`: the CA that issued the server's TLS certificate (written in both modes).
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem_path
    }

    /// The CA certificate as PEM text.
    pub fn ca_pem(&self) -> std::io::Result<String> {
        std::fs::read_to_string(&self.ca_pem_path)
    }

    /// The server key fingerprint at start, base64url (the `fp` of QR payloads).
    pub fn server_key_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), and returns.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.accept_task.abort();
        if let Some(task) = self.task.take() {
            match tokio::time::timeout(Duration::from_secs(5), task).await {
                Ok(joined) => joined??,
                Err(_) => tracing::warn!("shutdown timed out; connections dropped"),
            }
        }
        Ok(())
    }

    /// Runs until `signal` resolves, then shuts down (the binary passes Ctrl-C / SIGTERM).
    pub async fn serve_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        signal.await;
        self.shutdown().await
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.accept_task.abort();
    }
}

/// The host the TLS certificate must name besides the loopback names.
fn cert_host(config: &ServerConfig) -> anyhow::Result<Option<String>> {
    match &config.public_url {
        Some(u) => {
            let b = BaseUrl::parse(u, UrlPolicy::AllowLoopback)
                .map_err(|e| anyhow::anyhow!("--public-url: {e}"))?;
            Ok(Some(b.host().to_string()))
        }
        None => Ok(None),
    }
}

/// `B`: the public URL, or the loopback address with the bound port.
fn base_url(config: &ServerConfig, addr: SocketAddr) -> anyhow::Result<BaseUrl> {
    let plain = config.tls == Tls::PlainHttpLoopback;
    let text = match &config.public_url {
        Some(u) => {
            let b = BaseUrl::parse(u, UrlPolicy::AllowLoopback)
                .map_err(|e| anyhow::anyhow!("--public-url: {e}"))?;
            if !plain && b.as_str().starts_with("http://") {
                bail!("--public-url must be https unless --plain-http-loopback is given");
            }
            return Ok(b);
        }
        None => {
            let ip = match addr.ip() {
                IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                ip if ip.is_loopback() => ip,
                _ => bail!("--public-url is required when listening on a non-loopback address"),
            };
            let scheme = if plain { "http" } else { "https" };
            format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
        }
    };
    BaseUrl::parse(&text, UrlPolicy::AllowLoopback).map_err(|e| anyhow::anyhow!("base URL: {e}"))
}

async fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn fallback() -> Response {
    ApiError::not_found("no such route").into_response()
}

fn router(st: Shared) -> Router {
    let prefix = st.base.path_prefix().to_string();
    Router::new()
        .merge(device::routes(&prefix))
        .merge(admin::routes(&prefix, Arc::clone(&st)))
        .merge(page::routes(&prefix))
        .fallback(fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "bad_request",
                "method not allowed",
            )
            .into_response()
        })
        .layer(axum::middleware::map_response(no_store))
        .with_state(st)
}

/// Starts a server: prepares the data directory (admin token, server key, sealing key, CA and
/// `ca.pem`, database) *before* binding, then serves until [`RunningServer::shutdown`].
///
/// Plain HTTP ([`Tls::PlainHttpLoopback`]) is refused unless the listen address is loopback.
pub async fn start(config: ServerConfig) -> anyhow::Result<RunningServer> {
    if config.tls == Tls::PlainHttpLoopback && !config.listen.ip().is_loopback() {
        bail!("plain HTTP is allowed only on a loopback listen address");
    }
    let dir = config.data_dir.clone();
    files::ensure_dir(&dir)?;
    let admin_token = files::admin_token(&dir)?;
    let keys = Keys::from_seed(&files::server_key_seed(&dir)?)?;
    let seal = DataKey::from_secret(files::seal_key(&dir)?)?;
    let db = db::Db::open(&dir.join("server.db")).context("opening server.db")?;
    let cert = tls::server_cert(&dir, cert_host(&config)?.as_deref())?;
    let rustls = match config.tls {
        Tls::Generated => Some(tls::rustls_config(cert)?),
        Tls::PlainHttpLoopback => None,
    };

    let tcp = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = tcp.local_addr()?;
    let base = base_url(&config, addr)?;
    let fingerprint = countersign_core::openpush::encoding::b64(&keys.public.fingerprint());
    let push: Arc<dyn PushSender> = match &config.push {
        Some(p) => Arc::clone(p),
        None => Arc::new(OutboxSender::new(db.clone(), Arc::clone(&config.clock))),
    };
    let st: Shared = Arc::new(AppState::new(
        db,
        Arc::clone(&config.clock),
        keys,
        seal,
        base.clone(),
        admin_token.clone(),
        config.policy,
        config.issuer.chars().take(64).collect(),
        push,
        dir.clone(),
    ));
    let app = router(st);
    let (listener, accept_task) = listener::ConnListener::start(tcp, rustls)?;
    let (tx, rx) = oneshot::channel::<()>();
    let serve = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<PeerAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = rx.await;
    });
    let task = tokio::spawn(async move { serve.await });
    tracing::info!(%addr, base_url = %base, tls = ?config.tls, "countersign-server listening");
    Ok(RunningServer {
        addr,
        base_url: base.as_str().to_string(),
        admin_token,
        ca_pem_path: dir.join("ca.pem"),
        data_dir: dir,
        fingerprint,
        shutdown: Some(tx),
        task: Some(task),
        accept_task,
    })
}
