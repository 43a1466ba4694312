//! The one HTTP client both push protocols use, with the transport rules fixed in code:
//! rustls (ring provider) with Mozilla's roots plus, optionally, one user-approved extra CA;
//! no redirects; connect 10 s / request 30 s timeouts; responses capped at 64 KiB; https only,
//! plain http only to loopback when the caller passed the explicit test flag.

use super::PushError;
use crate::openpush::{ProtocolError, UrlPolicy};
use std::sync::Arc;
use std::time::Duration;

/// Largest response body read (§3.2).
pub const MAX_RESPONSE: usize = 64 * 1024;

/// Transport settings.
#[derive(Clone, Default)]
pub struct TransportConfig {
    /// Extra trust anchor (PEM), e.g. a self-hosted server's CA the user approved.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Allow loopback hosts and plain http to them (tests and QA only).
    pub allow_loopback: bool,
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportConfig")
            .field("extra_ca", &self.extra_ca_pem.is_some())
            .field("allow_loopback", &self.allow_loopback)
            .finish()
    }
}

impl TransportConfig {
    /// The URL policy these settings imply.
    pub fn url_policy(&self) -> UrlPolicy {
        if self.allow_loopback {
            UrlPolicy::AllowLoopback
        } else {
            UrlPolicy::Strict
        }
    }
}

/// A response: status and a bounded body.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Body (≤ 64 KiB).
    pub body: Vec<u8>,
}

/// An HTTP client with the push transport rules.
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: Arc<TransportConfig>,
}

fn tls_config(config: &TransportConfig) -> Result<rustls::ClientConfig, PushError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = &config.extra_ca_pem {
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert =
                cert.map_err(|_| PushError::InvalidInput("the CA file is not valid PEM".into()))?;
            roots
                .add(cert)
                .map_err(|_| PushError::InvalidInput("the CA certificate is not usable".into()))?;
            added += 1;
        }
        if added == 0 {
            return Err(PushError::InvalidInput(
                "the CA file holds no certificate".into(),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PushError::Internal(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl HttpClient {
    /// Builds a client.
    pub fn new(config: TransportConfig) -> Result<Self, PushError> {
        let inner = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(&config)?)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .https_only(!config.allow_loopback)
            .user_agent(concat!("countersign/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PushError::Internal(format!("HTTP client: {e}")))?;
        Ok(Self {
            inner,
            config: Arc::new(config),
        })
    }

    /// The transport settings.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// Sends a request with an optional JSON body to `url` (which must be https, or loopback
    /// http under the flag).
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Response, PushError> {
        self.send_typed(method, url, headers, body.map(|b| ("application/json", b)))
            .await
    }

    /// Sends a request whose body is `application/x-www-form-urlencoded` pairs (privacyIDEA).
    pub async fn send_form(
        &self,
        url: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Response, PushError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.send_typed(
            reqwest::Method::POST,
            url,
            &[],
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
        )
        .await
    }

    /// Sends a request with a body of the given content type.
    pub async fn send_typed(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, String)],
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<Response, PushError> {
        check_url(url, &self.config)?;
        let mut req = self
            .inner
            .request(method, url)
            .header("Accept", "application/json");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if let Some((content_type, b)) = body {
            req = req.header("Content-Type", content_type).body(b);
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| PushError::Network(describe(&e)))?;
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            return Err(PushError::Protocol(ProtocolError::UrlNotAllowed(
                "the server answered with a redirect, which is never followed".into(),
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| PushError::Network(describe(&e)))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE {
                return Err(PushError::Protocol(ProtocolError::invalid(
                    "response",
                    "larger than 64 KiB",
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, body })
    }
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// https always; http only to a loopback host under the test flag.
fn check_url(url: &str, config: &TransportConfig) -> Result<(), PushError> {
    let parsed =
        url::Url::parse(url).map_err(|_| ProtocolError::UrlNotAllowed("not a URL".into()))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback && config.allow_loopback => Ok(()),
        "http" if loopback => Err(ProtocolError::UrlNotAllowed(
            "plain http to loopback needs the explicit test flag".into(),
        )
        .into()),
        _ => Err(ProtocolError::UrlNotAllowed(
            "plain http to a non-loopback host is never allowed".into(),
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        let strict = TransportConfig::default();
        let test = TransportConfig {
            allow_loopback: true,
            ..Default::default()
        };
        assert!(check_url("https://example.org/x", &strict).is_ok());
        assert!(check_url("http://example.org/x", &strict).is_err());
        assert!(check_url("http://example.org/x", &test).is_err());
        assert!(check_url("http://127.0.0.1:8080/x", &strict).is_err());
        assert!(check_url("http://127.0.0.1:8080/x", &test).is_ok());
        assert!(check_url("http://[::1]:8080/x", &test).is_ok());
    }
}
