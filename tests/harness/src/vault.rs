//! Vault commands: add, list, codes, next, rename, remove, reorder, group, check, rewrap.

use crate::cli::{Global, KeyStoreChoice};
use crate::oath::{account_json, read_uri};
use anyhow::{Context, Result, bail};
use clap::Args;
use countersign_ffi::{
    AccountCode, AccountEntry, AuthenticatorClient, CodeState, CountersignError, DesktopKeyStore,
};
use std::path::PathBuf;
use std::sync::Arc;

/// `--json` only.
#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// An account id.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// Account id (see `countersign list`).
    id: i64,
}

/// Arguments of `add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// otpauth:// URI, or `-` for standard input.
    #[arg(long, required_unless_present = "qr", conflicts_with = "qr")]
    uri: Option<String>,
    /// A picture (PNG/JPEG) of the account's QR code; every otpauth code in it is added.
    #[arg(long)]
    qr: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `rename`.
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// Account id.
    id: i64,
    /// New issuer (empty to remove).
    #[arg(long)]
    issuer: Option<String>,
    /// New account name.
    #[arg(long)]
    name: String,
}

/// Arguments of `reorder`.
#[derive(Debug, Args)]
pub struct ReorderArgs {
    /// Every account id, in the new order.
    #[arg(required = true)]
    ids: Vec<i64>,
}

/// Arguments of `group`.
#[derive(Debug, Args)]
pub struct GroupArgs {
    /// Account id.
    id: i64,
    /// Group names (none: remove from all groups).
    groups: Vec<String>,
}

/// Arguments of `rewrap`.
#[derive(Debug, Args)]
pub struct RewrapArgs {
    /// Passphrase file for the new passphrase key store.
    #[arg(long)]
    to_passphrase_file: PathBuf,
}

/// The default vault path: `<data dir>/countersign/vault.db`.
pub fn default_vault_path() -> Result<PathBuf> {
    let base = dirs::data_dir().context("no user data directory; pass --vault <path>")?;
    Ok(base.join("countersign").join("vault.db"))
}

/// Opens the vault the global options name.
pub fn open(g: &Global) -> Result<Arc<AuthenticatorClient>> {
    let path = match &g.vault {
        Some(p) => p.clone(),
        None => default_vault_path()?,
    };
    let store = match (g.key_store, &g.passphrase_file) {
        (KeyStoreChoice::Auto | KeyStoreChoice::Passphrase, Some(f)) => {
            DesktopKeyStore::PassphraseFile {
                path: f.display().to_string(),
            }
        }
        (KeyStoreChoice::Passphrase, None) => {
            bail!("--key-store passphrase needs --passphrase-file <file>")
        }
        (KeyStoreChoice::Auto | KeyStoreChoice::Os, _) => DesktopKeyStore::OsKeyring {
            service: "countersign".into(),
        },
        (KeyStoreChoice::Kernel, _) => DesktopKeyStore::KernelKeyring {
            service: "countersign".into(),
        },
    };
    Ok(AuthenticatorClient::open_desktop(
        path.display().to_string(),
        store,
        None,
    )?)
}

fn kind_name(e: &AccountEntry) -> &'static str {
    match e.kind {
        countersign_ffi::AccountKind::Oath => "oath",
        countersign_ffi::AccountKind::PushOpenpush => "push-openpush",
        countersign_ffi::AccountKind::PushPrivacyidea => "push-privacyidea",
    }
}

fn entry_json(e: &AccountEntry) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "kind": kind_name(e),
        "issuer": e.issuer,
        "account": e.name,
        "position": e.position,
        "groups": e.groups,
        "icon": e.icon,
        "created_at": e.created_at,
        "last_used_at": e.last_used_at,
    })
}

fn label(e: &AccountEntry) -> String {
    match &e.issuer {
        Some(i) if !e.name.is_empty() => format!("{i} ({})", e.name),
        Some(i) => i.clone(),
        None => e.name.clone(),
    }
}

/// `countersign add`.
pub fn add(g: &Global, a: &AddArgs) -> Result<()> {
    let client = open(g)?;
    let added = match (&a.uri, &a.qr) {
        (Some(uri), _) => vec![client.add_account_from_uri(read_uri(uri)?)?],
        (None, Some(path)) => client.add_accounts_from_image(
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )?,
        (None, None) => bail!("pass --uri or --qr"),
    };
    if a.json {
        let v: Vec<_> = added
            .iter()
            .map(|x| {
                let mut v = entry_json(&x.account);
                v["details"] = account_json(&x.info);
                v
            })
            .collect();
        // One account: the object itself (stable for scripts); several: an array.
        let out = if v.len() == 1 {
            v[0].clone()
        } else {
            serde_json::Value::Array(v)
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for x in &added {
            println!("added {} {}", x.account.id, label(&x.account));
            for w in &x.info.warnings {
                eprintln!("warning: {w}");
            }
        }
    }
    Ok(())
}

/// `countersign list`.
pub fn list(g: &Global, a: &JsonArgs) -> Result<()> {
    let accounts = open(g)?.list_accounts()?;
    if a.json {
        let v: Vec<_> = accounts.iter().map(entry_json).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for e in &accounts {
            let groups = if e.groups.is_empty() {
                String::new()
            } else {
                format!("  [{}]", e.groups.join(", "))
            };
            println!("{:>4}  {:<16} {}{groups}", e.id, kind_name(e), label(e));
        }
    }
    Ok(())
}

fn code_json(c: &AccountCode) -> serde_json::Value {
    let e = &c.account;
    let mut v = serde_json::json!({
        "id": e.id,
        "kind": kind_name(e),
        "issuer": e.issuer,
        "account": e.name,
    });
    match &c.state {
        CodeState::Timed {
            otp_type,
            period,
            code,
        } => {
            v["type"] = format!("{otp_type:?}").to_lowercase().into();
            v["code"] = code.code.clone().into();
            v["valid_from"] = code.valid_from.into();
            v["valid_until"] = code.valid_until.into();
            v["period"] = (*period).into();
            v["next_code"] = code.next_code.clone().into();
        }
        CodeState::CounterBased { counter } => {
            v["type"] = "hotp".into();
            v["code"] = serde_json::Value::Null;
            v["valid_until"] = serde_json::Value::Null;
            v["counter"] = (*counter).into();
        }
        CodeState::NoCode => {
            v["code"] = serde_json::Value::Null;
            v["valid_until"] = serde_json::Value::Null;
        }
        CodeState::Unreadable => {
            v["code"] = serde_json::Value::Null;
            v["valid_until"] = serde_json::Value::Null;
            v["error"] = "unreadable".into();
        }
    }
    v
}

/// `countersign codes`.
pub fn codes(g: &Global, a: &JsonArgs) -> Result<()> {
    let client = open(g)?;
    let codes = client.codes()?;
    if a.json {
        let v: Vec<_> = codes.iter().map(code_json).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let now = crate::oath::now();
    for c in &codes {
        let shown = match &c.state {
            CodeState::Timed { code, .. } => format!(
                "{:<10} {:>3}s",
                code.code,
                code.valid_until.saturating_sub(now)
            ),
            CodeState::CounterBased { counter } => format!(
                "(hotp, next counter {counter}: use `countersign next {}`)",
                c.account.id
            ),
            CodeState::NoCode => "(push only)".into(),
            CodeState::Unreadable => "(UNREADABLE: run `countersign check`)".into(),
        };
        println!("{:>4}  {:<40} {shown}", c.account.id, label(&c.account));
    }
    Ok(())
}

/// `countersign next`.
pub fn next(g: &Global, a: &IdArgs) -> Result<()> {
    let issued = open(g)?.next_hotp(a.id)?;
    println!("{}", issued.code);
    Ok(())
}

/// `countersign rename`.
pub fn rename(g: &Global, a: &RenameArgs) -> Result<()> {
    open(g)?.rename_account(a.id, a.issuer.clone(), a.name.clone())?;
    Ok(())
}

/// `countersign remove`.
pub fn remove(g: &Global, a: &IdArgs) -> Result<()> {
    open(g)?.delete_account(a.id)?;
    println!("removed {}", a.id);
    Ok(())
}

/// `countersign reorder`.
pub fn reorder(g: &Global, a: &ReorderArgs) -> Result<()> {
    open(g)?.reorder_accounts(a.ids.clone())?;
    Ok(())
}

/// `countersign group`.
pub fn group(g: &Global, a: &GroupArgs) -> Result<()> {
    open(g)?.set_account_groups(a.id, a.groups.clone())?;
    Ok(())
}

/// `countersign check`.
pub fn check(g: &Global, a: &JsonArgs) -> Result<()> {
    let r = open(g)?.check_vault()?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": r.database_ok && r.unreadable.is_empty(),
                "database_ok": r.database_ok,
                "database_messages": r.database_messages,
                "accounts_checked": r.accounts_checked,
                "unreadable": r.unreadable,
                "schema_version": r.schema_version,
                "key_store": r.key_store,
            }))?
        );
    } else {
        println!(
            "database {}; {} accounts checked; {} unreadable; schema {}; key store {}",
            if r.database_ok { "ok" } else { "DAMAGED" },
            r.accounts_checked,
            r.unreadable.len(),
            r.schema_version,
            r.key_store
        );
    }
    if !(r.database_ok && r.unreadable.is_empty()) {
        return Err(CountersignError::StorageCorrupt {
            detail: format!(
                "vault check failed (unreadable accounts: {:?})",
                r.unreadable
            ),
            account_id: r.unreadable.first().copied(),
        }
        .into());
    }
    Ok(())
}

/// `countersign rewrap`.
pub fn rewrap(g: &Global, a: &RewrapArgs) -> Result<()> {
    open(g)?.rewrap_desktop(DesktopKeyStore::PassphraseFile {
        path: a.to_passphrase_file.display().to_string(),
    })?;
    println!(
        "re-wrapped the vault key under the passphrase in {}",
        a.to_passphrase_file.display()
    );
    Ok(())
}
