//! A typed client for the reference server's admin API (docs/protocol.md Appendix A), used by
//! the demo and the end-to-end tests. It talks only to a loopback server whose CA it is given.

use anyhow::{Context, Result, bail};
use countersign_core::push::http::{HttpClient, TransportConfig};
use reqwest::Method;
use serde_json::{Value, json};

/// Admin API client.
#[derive(Clone, Debug)]
pub struct AdminClient {
    http: HttpClient,
    base: String,
    token: String,
}

/// An enrolment as the admin API returns it.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// Id.
    pub id: String,
    /// Code in display form.
    pub code: String,
    /// Base URL `B`.
    pub url: String,
    /// QR payload.
    pub qr_payload: String,
    /// Enrolment page.
    pub page_url: String,
}

/// A sign-in started by the relying party.
#[derive(Debug, Clone)]
pub struct Signin {
    /// Id.
    pub id: String,
    /// The number the browser shows.
    pub number: String,
}

impl AdminClient {
    /// A client for the server at `base` (its `B`), trusting `ca_pem`, with `token`.
    pub fn new(base: &str, ca_pem: Option<Vec<u8>>, token: &str) -> Result<Self> {
        let http = HttpClient::new(TransportConfig {
            extra_ca_pem: ca_pem,
            allow_loopback: true,
        })?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    /// Sends a request; returns status and JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let url = format!("{}{path}", self.base);
        let body = body.map(|b| serde_json::to_vec(&b)).transpose()?;
        let resp = self
            .http
            .send(
                method,
                &url,
                &[("Authorization", format!("Bearer {}", self.token))],
                body,
            )
            .await
            .with_context(|| format!("calling {path}"))?;
        let v = if resp.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&resp.body).with_context(|| format!("JSON from {path}"))?
        };
        Ok((resp.status, v))
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        let (status, v) = self.call(method, path, body).await?;
        if !(200..300).contains(&status) {
            bail!("{path}: HTTP {status}: {v}");
        }
        Ok(v)
    }

    fn s(v: &Value, k: &str) -> Result<String> {
        v[k].as_str()
            .map(str::to_string)
            .with_context(|| format!("`{k}` missing in {v}"))
    }

    /// `POST /admin/users`.
    pub async fn create_user(&self, user: &str) -> Result<()> {
        self.ok(Method::POST, "/admin/users", Some(json!({ "user": user })))
            .await?;
        Ok(())
    }

    /// `POST /admin/enrollments`.
    pub async fn enroll(&self, user: &str) -> Result<Enrollment> {
        let v = self
            .ok(
                Method::POST,
                "/admin/enrollments",
                Some(json!({ "user": user })),
            )
            .await?;
        Ok(Enrollment {
            id: Self::s(&v, "enrollment_id")?,
            code: Self::s(&v, "code")?,
            url: Self::s(&v, "url")?,
            qr_payload: Self::s(&v, "qr_payload")?,
            page_url: Self::s(&v, "page_url")?,
        })
    }

    /// `GET /admin/enrollments/{id}` → status.
    pub async fn enrollment_status(&self, id: &str) -> Result<String> {
        let v = self
            .ok(Method::GET, &format!("/admin/enrollments/{id}"), None)
            .await?;
        Self::s(&v, "status")
    }

    /// `POST /admin/enrollments/{id}/verify` ("Verify Now") → the number to type.
    pub async fn verify_now(&self, id: &str) -> Result<String> {
        let v = self
            .ok(
                Method::POST,
                &format!("/admin/enrollments/{id}/verify"),
                None,
            )
            .await?;
        Self::s(&v, "number")
    }

    /// `POST /admin/signins`.
    pub async fn signin(
        &self,
        user: &str,
        app: &str,
        ip: &str,
        location: &str,
        client: &str,
    ) -> Result<Signin> {
        let v = self
            .ok(
                Method::POST,
                "/admin/signins",
                Some(json!({ "user": user, "app": app, "ip": ip, "location": location, "client": client })),
            )
            .await?;
        Ok(Signin {
            id: Self::s(&v, "signin_id")?,
            number: Self::s(&v, "number")?,
        })
    }

    /// `GET /admin/signins/{id}` → state.
    pub async fn signin_state(&self, id: &str) -> Result<String> {
        let v = self
            .ok(Method::GET, &format!("/admin/signins/{id}"), None)
            .await?;
        Self::s(&v, "state")
    }

    /// `POST /admin/otp/verify`.
    pub async fn otp_valid(&self, user: &str, code: &str) -> Result<bool> {
        let v = self
            .ok(
                Method::POST,
                "/admin/otp/verify",
                Some(json!({ "user": user, "code": code })),
            )
            .await?;
        v["valid"].as_bool().context("`valid` missing")
    }

    /// `GET /admin/users/{user}` → fraud-blocked?
    pub async fn fraud_blocked(&self, user: &str) -> Result<bool> {
        let v = self
            .ok(Method::GET, &format!("/admin/users/{user}"), None)
            .await?;
        v["fraud_blocked"]
            .as_bool()
            .context("`fraud_blocked` missing")
    }
}
