//! Push commands: `activate`, `push list|approve|deny|report-fraud|handle`.

use crate::cli::Global;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use countersign_ffi::{
    AuthenticatorClient, ChallengeKind, CountersignError, Decision, DeviceDescription,
    NetworkOptions, Outcome, PushChallenge, PushTarget,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `activate`.
#[derive(Debug, Args)]
pub struct ActivateArgs {
    /// Activation code as shown on the enrolment page (with `--url`).
    #[arg(long, requires = "url", conflicts_with_all = ["uri", "qr"])]
    code: Option<String>,
    /// Server URL as shown on the enrolment page (with `--code`).
    #[arg(long, requires = "code")]
    url: Option<String>,
    /// The QR payload text (`openpush://activate?…`).
    #[arg(long, conflicts_with = "qr")]
    uri: Option<String>,
    /// A picture of the QR code.
    #[arg(long)]
    qr: Option<PathBuf>,
    /// Device name the server shows (default: this machine's host name).
    #[arg(long)]
    device_name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `push` subcommands.
#[derive(Debug, Subcommand)]
pub enum PushCommand {
    /// Poll every push account's server and list what is pending.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve a request (`--number` is required when the request asks for one).
    Approve {
        /// Challenge id (from `push list`).
        id: String,
        /// The number shown on the sign-in page.
        #[arg(long)]
        number: Option<String>,
        /// The option shown on the login page (privacyIDEA presence).
        #[arg(long)]
        answer: Option<String>,
    },
    /// Deny a request.
    Deny {
        /// Challenge id.
        id: String,
    },
    /// Deny a request and report it as fraud.
    ReportFraud {
        /// Challenge id.
        id: String,
    },
    /// Replace an openpush account's device key (signed by the old and the new key).
    RotateKey {
        /// Vault account id (from `list`).
        account: i64,
    },
    /// Handle a received push payload (a JSON object of strings, as FCM delivers it).
    Handle {
        /// File with the payload.
        payload_file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The vault client with network options applied.
pub fn client(g: &Global) -> Result<Arc<AuthenticatorClient>> {
    let c = crate::vault::open(g)?;
    let extra_ca_pem = match &g.ca {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("reading {}", p.display()))?),
        None => None,
    };
    c.set_network_options(NetworkOptions {
        extra_ca_pem,
        allow_insecure_loopback: g.allow_http_loopback,
    })?;
    Ok(c)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn device(name: Option<&str>) -> DeviceDescription {
    let host = name
        .map(str::to_string)
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "countersign harness".into());
    DeviceDescription {
        name: host,
        platform: if cfg!(target_os = "linux") {
            "linux".into()
        } else if cfg!(windows) {
            "windows".into()
        } else if cfg!(target_os = "macos") {
            "macos".into()
        } else {
            "other".into()
        },
        app_version: env!("CARGO_PKG_VERSION").into(),
    }
}

fn poll_only() -> PushTarget {
    PushTarget {
        provider: "none".into(),
        token: String::new(),
    }
}

/// `countersign activate`.
pub fn activate(g: &Global, a: &ActivateArgs) -> Result<()> {
    let c = client(g)?;
    let rt = runtime()?;
    let dev = device(a.device_name.as_deref());
    let act = match (&a.code, &a.url, &a.uri, &a.qr) {
        (Some(code), Some(url), None, None) => {
            rt.block_on(c.activate_with_code(code.clone(), url.clone(), dev, poll_only()))?
        }
        (None, None, Some(uri), None) => {
            let uri = crate::oath::read_uri(uri)?;
            let lower = uri.trim_start().to_ascii_lowercase();
            if lower.starts_with("openpush:") {
                rt.block_on(c.activate_from_payload(uri, dev, poll_only()))?
            } else if lower.starts_with("otpauth://pipush/") || lower.starts_with("pia://pipush/") {
                return enroll_privacyidea(&c, &rt, uri, a.json);
            } else {
                return Err(CountersignError::Unsupported {
                    detail: "not an activation payload (openpush://, otpauth://pipush/ or \
                             pia://pipush/); OATH links go to `countersign add --uri`"
                        .into(),
                }
                .into());
            }
        }
        (None, None, None, Some(path)) => {
            let image =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let payload = c
                .scan_image(image)?
                .into_iter()
                .find(|s| {
                    matches!(
                        s.kind,
                        countersign_ffi::PayloadKind::OpenpushActivation { .. }
                            | countersign_ffi::PayloadKind::PrivacyideaPush { .. }
                    )
                })
                .ok_or_else(|| CountersignError::InvalidInput {
                    detail: "no activation QR code (Countersign or privacyIDEA) in the image"
                        .into(),
                    field: None,
                })?;
            if matches!(
                payload.kind,
                countersign_ffi::PayloadKind::PrivacyideaPush { .. }
            ) {
                return enroll_privacyidea(&c, &rt, payload.text, a.json);
            }
            rt.block_on(c.activate_from_payload(payload.text, dev, poll_only()))?
        }
        _ => bail!("pass --code and --url, or --uri, or --qr"),
    };
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "account_id": act.account_id,
                "host": act.host,
                "issuer": act.issuer,
                "label": act.label,
                "state": "pending",
                "confirm_by": act.confirm_by,
            })
        );
    } else {
        println!(
            "activated {} at {} ({}); press \"Verify Now\" on the web page, then `countersign push list` and approve with the number it shows",
            act.account_id, act.host, act.label
        );
    }
    Ok(())
}

/// Prints enrolment stages on stderr (the RSA key takes a moment).
struct StderrProgress;

impl countersign_ffi::EnrollmentProgress for StderrProgress {
    fn on_stage(&self, stage: countersign_ffi::EnrollmentStage) {
        use countersign_ffi::EnrollmentStage as S;
        eprintln!(
            "{}",
            match stage {
                S::GeneratingKey => "making the device key (RSA-4096)…",
                S::Registering => "registering with the server…",
                S::Done => "registered",
            }
        );
    }
}

fn enroll_privacyidea(
    c: &AuthenticatorClient,
    rt: &tokio::runtime::Runtime,
    link: String,
    json: bool,
) -> Result<()> {
    let info = c.privacyidea_link(link.clone())?;
    if info.server_disables_tls_check {
        eprintln!(
            "note: the server asks not to check its TLS certificate (sslverify=0); Countersign \
             checks it anyway (add a self-hosted CA with --ca)"
        );
    }
    let e = rt.block_on(c.enroll_privacyidea(link, None, None, Some(Arc::new(StderrProgress))))?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "account_id": e.account_id,
                "protocol": "privacyidea",
                "host": e.host,
                "issuer": e.issuer,
                "label": e.label,
                "serial": e.serial,
                "state": "active",
            })
        );
    } else {
        println!(
            "enrolled privacyIDEA token {} as account {} at {} ({}); sign-in requests appear in `countersign push list`",
            e.serial, e.account_id, e.host, e.label
        );
    }
    Ok(())
}

fn challenge_json(c: &PushChallenge) -> serde_json::Value {
    serde_json::json!({
        "id": c.challenge_id,
        "account_id": c.account_id,
        "protocol": c.protocol,
        "kind": match c.kind { ChallengeKind::Signin => "signin", ChallengeKind::Activation => "activation" },
        "app": c.app,
        "message": c.message,
        "ip": c.ip,
        "location": c.location,
        "client": c.client,
        "time": c.time,
        "expires_at": c.expires_at,
        "number_length": c.number_length,
        "options": c.options,
        "display_code": c.display_code,
        "fraud_report": c.fraud_report,
    })
}

fn print_challenges(list: &[PushChallenge], json: bool) -> Result<()> {
    if json {
        let v: Vec<_> = list.iter().map(challenge_json).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("no pending requests");
    }
    for c in list {
        println!(
            "{}  account {}  {}  from {} ({}) via {}{}",
            c.challenge_id,
            c.account_id,
            c.app,
            c.location.as_deref().unwrap_or("unknown place"),
            c.ip.as_deref().unwrap_or("unknown IP"),
            c.client.as_deref().unwrap_or("unknown client"),
            c.number_length
                .map(|n| format!("  [type the {n}-digit number]"))
                .or_else(|| (!c.options.is_empty()).then(|| format!(
                    "  [pick the option the login page shows: {}]",
                    c.options.join(", ")
                )))
                .unwrap_or_default()
        );
        if let Some(m) = &c.message {
            println!("    {m}");
        }
    }
    Ok(())
}

/// `countersign push …`.
pub fn push(g: &Global, cmd: &PushCommand) -> Result<()> {
    let c = client(g)?;
    let rt = runtime()?;
    match cmd {
        PushCommand::List { json } => {
            let list = rt.block_on(c.pending_challenges())?;
            print_challenges(&list, *json)
        }
        PushCommand::Handle { payload_file, json } => {
            let text = std::fs::read_to_string(payload_file)
                .with_context(|| format!("reading {}", payload_file.display()))?;
            let data: HashMap<String, String> =
                serde_json::from_str(&text).map_err(|e| CountersignError::InvalidInput {
                    detail: format!("the payload is not a JSON object of strings: {e}"),
                    field: None,
                })?;
            let list = rt.block_on(c.handle_push(data))?;
            print_challenges(&list, *json)
        }
        PushCommand::Approve { id, number, answer } => answer_cmd(
            &c,
            &rt,
            id,
            Decision::Approve {
                number: number.clone(),
                option: answer.clone(),
            },
        ),
        PushCommand::RotateKey { account } => {
            rt.block_on(c.rotate_device_key(*account))?;
            println!("device key of account {account} rotated");
            Ok(())
        }
        PushCommand::Deny { id } => answer_cmd(&c, &rt, id, Decision::Deny),
        PushCommand::ReportFraud { id } => answer_cmd(&c, &rt, id, Decision::ReportFraud),
    }
}

fn answer_cmd(
    c: &AuthenticatorClient,
    rt: &tokio::runtime::Runtime,
    id: &str,
    decision: Decision,
) -> Result<()> {
    let account = match c.account_for_challenge(id.to_string())? {
        Some(a) => a,
        None => {
            // Not seen yet on this device: poll, then look again.
            rt.block_on(c.pending_challenges())?;
            c.account_for_challenge(id.to_string())?
                .ok_or_else(|| CountersignError::NotFound {
                    detail: format!("no pending request with id {id}"),
                })?
        }
    };
    let outcome = rt.block_on(c.answer_challenge(account, id.to_string(), decision))?;
    match outcome {
        Outcome::Approved => println!("approved"),
        Outcome::ApprovedWithCode { code, instruction } => println!(
            "approved; {}: {code}",
            instruction
                .as_deref()
                .unwrap_or("enter this code on the sign-in page")
        ),
        Outcome::Denied { reason: Some(r) } if r == "wrong_number" => {
            println!("denied: the number did not match, so the sign-in was refused")
        }
        Outcome::Denied { reason } => println!(
            "denied{}",
            reason.map(|r| format!(" ({r})")).unwrap_or_default()
        ),
        Outcome::Fraud => println!("denied and reported as fraud"),
    }
    Ok(())
}
