//! `countersign demo`: the whole seed flow on one machine with no configuration.
//!
//! It starts the reference server in-process on loopback (TLS with a certificate it generates),
//! opens a throw-away vault, and then plays both sides: the relying party through the server's
//! admin API, and the phone through `countersign-ffi` (the API the shells use). Steps:
//! enrol a user, activate from the QR payload, confirm with "Verify Now" and number matching,
//! show an offline code the server accepts, then a sign-in approved with the right number, one
//! denied, and one reported as fraud (after which the server refuses further sign-ins).
//!
//! The flow reports [`Step`]s to a renderer: a terminal UI (ratatui) or plain lines.

use crate::admin::AdminClient;
use anyhow::{Context, Result, bail};
use countersign_ffi::{
    AuthenticatorClient, CodeState, Decision, DesktopKeyStore, DeviceDescription, NetworkOptions,
    Outcome, PushChallenge, PushTarget,
};
use std::sync::Arc;

/// One thing the demo did, for display.
#[derive(Debug, Clone)]
pub enum Step {
    /// A heading for a phase.
    Phase(String),
    /// Something that happened, with whether it went as expected.
    Done {
        /// Description.
        text: String,
        /// Expected result reached.
        ok: bool,
    },
    /// What the browser shows.
    Browser(String),
    /// A request as the phone shows it (boxed: much larger than the other steps).
    Phone(Box<PushChallenge>),
}

const USER: &str = "alice";

async fn one_pending(client: &AuthenticatorClient) -> Result<PushChallenge> {
    for _ in 0..20 {
        let list = client.pending_challenges().await?;
        if let Some(c) = list.into_iter().next() {
            return Ok(c);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bail!("no request arrived")
}

/// Runs the demo, reporting each step to `report` (which may pause between steps).
pub async fn run(report: &mut (dyn FnMut(Step) + Send)) -> Result<()> {
    let dir = tempfile::tempdir()?;
    report(Step::Phase(
        "Starting the reference server (loopback, generated TLS certificate)".into(),
    ));
    let mut config =
        countersign_server::ServerConfig::new("127.0.0.1:0".parse()?, dir.path().join("server"));
    config.tls = countersign_server::Tls::Generated;
    config.issuer = "Example Corp".into();
    let server = countersign_server::start(config).await?;
    let ca = server.ca_pem()?.into_bytes();
    let admin = AdminClient::new(server.base_url(), Some(ca.clone()), server.admin_token())?;
    report(Step::Done {
        text: format!("server at {}", server.base_url()),
        ok: true,
    });

    let vault = dir.path().join("vault.db").display().to_string();
    let phone = AuthenticatorClient::open_desktop(vault, DesktopKeyStore::Ephemeral, None)?;
    phone.set_network_options(NetworkOptions {
        extra_ca_pem: Some(ca),
        allow_insecure_loopback: true,
    })?;
    let result = flow(&admin, &phone, report).await;
    server.shutdown().await?;
    result
}

async fn flow(
    admin: &AdminClient,
    phone: &Arc<AuthenticatorClient>,
    report: &mut (dyn FnMut(Step) + Send),
) -> Result<()> {
    report(Step::Phase(
        "Enrolment: the sign-in page shows a QR code".into(),
    ));
    admin.create_user(USER).await?;
    let e = admin.enroll(USER).await?;
    report(Step::Browser(format!(
        "Scan the QR code, or enter code {} and URL {}",
        e.code, e.url
    )));
    let host = phone.activation_host(e.qr_payload.clone())?;
    report(Step::Done {
        text: format!("phone: \"Add an account at {host}?\" → yes"),
        ok: true,
    });
    let act = phone
        .activate_from_payload(
            e.qr_payload.clone(),
            DeviceDescription {
                name: "Demo phone".into(),
                platform: "linux".into(),
                app_version: env!("CARGO_PKG_VERSION").into(),
            },
            PushTarget {
                provider: "none".into(),
                token: String::new(),
            },
        )
        .await?;
    let status = admin.enrollment_status(&e.id).await?;
    report(Step::Done {
        text: format!(
            "activated {} ({}); the page's status check says: {status}",
            act.issuer, act.label
        ),
        ok: status == "pending",
    });

    report(Step::Phase(
        "Confirmation: \"Verify Now\" and number matching".into(),
    ));
    let number = admin.verify_now(&e.id).await?;
    report(Step::Browser(format!("Type {number} in the app")));
    let c = one_pending(phone).await?;
    report(Step::Phone(Box::new(c.clone())));
    let out = phone
        .answer_challenge(
            c.account_id,
            c.challenge_id.clone(),
            Decision::Approve {
                number: Some(number),
                option: None,
            },
        )
        .await?;
    let status = admin.enrollment_status(&e.id).await?;
    report(Step::Done {
        text: format!("approved with the number → {out:?}; status check: {status}"),
        ok: out == Outcome::Approved && status == "active",
    });

    report(Step::Phase(
        "Offline code (derived on both sides, never sent)".into(),
    ));
    let codes = phone.codes()?;
    let (code, next) = codes
        .iter()
        .find_map(|c| match &c.state {
            CodeState::Timed { code, .. } => Some((code.code.clone(), code.next_code.clone())),
            _ => None,
        })
        .context("the push account shows no code")?;
    // The confirmation just used this time step's code, and the server accepts each step
    // once: the same code again is refused (replay protection), the following one is not.
    if admin.otp_valid(USER, &code).await? {
        // A new time step began since the confirmation: the current code is fresh.
        report(Step::Done {
            text: format!("the app shows {code}; the server accepts it"),
            ok: true,
        });
    } else {
        report(Step::Done {
            text: format!(
                "the app shows {code}; the confirmation already used it, so the server refuses it again"
            ),
            ok: true,
        });
        let next = next.context("no next code")?;
        let valid = admin.otp_valid(USER, &next).await?;
        report(Step::Done {
            text: format!("the app's next code {next} is accepted: {valid}"),
            ok: valid,
        });
    }

    for (label, decision) in [
        ("approve with the right number", "approve"),
        ("deny", "deny"),
        ("deny and report fraud", "fraud"),
    ] {
        report(Step::Phase(format!("Sign-in to Payroll: {label}")));
        let s = admin
            .signin(
                USER,
                "Payroll",
                "203.0.113.7",
                "Berlin, DE",
                "Firefox on Linux",
            )
            .await?;
        report(Step::Browser(format!(
            "Payroll sign-in: type {} in Countersign",
            s.number
        )));
        let c = one_pending(phone).await?;
        report(Step::Phone(Box::new(c.clone())));
        let d = match decision {
            "approve" => Decision::Approve {
                number: Some(s.number.clone()),
                option: None,
            },
            "deny" => Decision::Deny,
            _ => Decision::ReportFraud,
        };
        let out = phone
            .answer_challenge(c.account_id, c.challenge_id.clone(), d)
            .await?;
        let state = admin.signin_state(&s.id).await?;
        let expected = match decision {
            "approve" => "approved",
            "deny" => "denied",
            _ => "fraud",
        };
        report(Step::Done {
            text: format!("phone answered → {out:?}; the sign-in page sees: {state}"),
            ok: state == expected,
        });
    }

    report(Step::Phase("After the fraud report".into()));
    let blocked = admin.fraud_blocked(USER).await?;
    let refused = admin
        .signin(
            USER,
            "Payroll",
            "203.0.113.7",
            "Berlin, DE",
            "Firefox on Linux",
        )
        .await
        .is_err();
    report(Step::Done {
        text: format!("user blocked: {blocked}; a new sign-in is refused: {refused}"),
        ok: blocked && refused,
    });
    Ok(())
}
