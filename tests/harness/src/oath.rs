//! `code` and `inspect`: offline codes straight from a URI.

use anyhow::{Context, Result};
use clap::Args;
use countersign_ffi::{AccountInfo, code_for_uri, parse_account_uri};
use std::io::Read;

/// Arguments of `countersign code`.
#[derive(Debug, Args)]
pub struct CodeArgs {
    /// The otpauth:// URI, or `-` to read it from standard input (keeps the secret out of
    /// the process list and shell history).
    #[arg(long)]
    uri: String,
    /// Unix time in seconds (default: now).
    #[arg(long)]
    at: Option<u64>,
    /// HOTP counter (default: the URI's `counter`).
    #[arg(long)]
    counter: Option<u64>,
}

/// Arguments of `countersign inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The otpauth:// URI, or `-` for standard input.
    #[arg(long)]
    uri: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Reads the URI argument, from stdin when it is `-`.
pub fn read_uri(arg: &str) -> Result<String> {
    if arg != "-" {
        return Ok(arg.to_string());
    }
    let mut s = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut s)
        .context("reading the URI from standard input")?;
    Ok(s.trim().to_string())
}

/// Current Unix time in seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `countersign code`.
pub fn code(a: &CodeArgs) -> Result<()> {
    let uri = read_uri(&a.uri)?;
    let code = code_for_uri(uri, a.at.unwrap_or_else(now), a.counter)?;
    println!("{}", code.code);
    Ok(())
}

/// `countersign inspect`.
pub fn inspect(a: &InspectArgs) -> Result<()> {
    let info = parse_account_uri(read_uri(&a.uri)?)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&account_json(&info))?);
    } else {
        print!("{}", account_text(&info));
    }
    Ok(())
}

/// The JSON shape of an account description (stable for scripts).
pub fn account_json(info: &AccountInfo) -> serde_json::Value {
    serde_json::json!({
        "type": format!("{:?}", info.otp_type).to_lowercase(),
        "issuer": info.issuer,
        "account": info.account_name,
        "algorithm": info.algorithm,
        "digits": info.digits,
        "period": info.period,
        "counter": info.counter,
        "secret_bits": info.secret_bits,
        "image": info.image,
        "warnings": info.warnings,
    })
}

fn account_text(info: &AccountInfo) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: &str| out.push_str(&format!("{k:<10} {v}\n"));
    line("type", &format!("{:?}", info.otp_type).to_lowercase());
    line("issuer", info.issuer.as_deref().unwrap_or("-"));
    line("account", &info.account_name);
    line("algorithm", &info.algorithm);
    line("digits", &info.digits.to_string());
    if let Some(p) = info.period {
        line("period", &format!("{p} s"));
    }
    if let Some(c) = info.counter {
        line("counter", &c.to_string());
    }
    line("secret", &format!("{} bits", info.secret_bits));
    for w in &info.warnings {
        line("warning", w);
    }
    out
}

/// Arguments of `scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// A PNG or JPEG image.
    image: std::path::PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `countersign scan`: every QR code in an image and what it is. Secret-bearing payloads are
/// described, never printed.
pub fn scan(g: &crate::cli::Global, a: &ScanArgs) -> Result<()> {
    use countersign_ffi::PayloadKind;
    let bytes =
        std::fs::read(&a.image).with_context(|| format!("reading {}", a.image.display()))?;
    // Scanning needs no vault.
    let found = countersign_ffi::decode_image(bytes, g.allow_http_loopback)?;
    let rows: Vec<serde_json::Value> = found
        .iter()
        .map(|s| match &s.kind {
            PayloadKind::Otpauth { info } => serde_json::json!({"kind": "otpauth", "account": account_json(info)}),
            PayloadKind::GoogleMigration { accounts, batch_index, batch_size } => serde_json::json!({
                "kind": "google-migration", "accounts": accounts, "batch_index": batch_index, "batch_size": batch_size}),
            PayloadKind::PrivacyideaPush { serial, host } => serde_json::json!({"kind": "privacyidea-push", "serial": serial, "host": host}),
            PayloadKind::OpenpushActivation { host } => serde_json::json!({"kind": "openpush-activation", "host": host}),
            PayloadKind::MicrosoftActivation => serde_json::json!({"kind": "microsoft-activation",
                "message": "this activates Microsoft Authenticator for Microsoft's service; ask your administrator for an authenticator-app QR code"}),
            PayloadKind::Unknown { reason, preview } => serde_json::json!({"kind": "unknown", "reason": reason, "preview": preview}),
        })
        .collect();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        println!("no QR code found");
    } else {
        for r in &rows {
            println!("{r}");
        }
    }
    Ok(())
}
