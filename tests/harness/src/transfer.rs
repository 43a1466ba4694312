//! Import, export, restore and automatic backup: `countersign import|export|restore|auto-backup`.
//!
//! Summaries name accounts by issuer and name and say why an entry failed; they never print a
//! secret. Plain-text exports need `--i-understand-plaintext`; backups need a password file.

use crate::cli::Global;
use crate::vault::open;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use countersign_ffi::{CountersignError, ExportFormat, ImportFormat, ImportReport, SkippedAccount};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// `--format` of `import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportChoice {
    /// Detect from the content (images are QR-decoded).
    Auto,
    /// Google Authenticator transfer links or a picture of transfer QR codes.
    Google,
    /// Aegis vault export (plain or encrypted).
    Aegis,
    /// 2FAS backup (plain or encrypted).
    #[value(name = "2fas")]
    TwoFas,
    /// otpauth:// URIs, one a line (Ente, FreeOTP+, …).
    Uris,
    /// Countersign encrypted backup.
    Backup,
}

impl From<ImportChoice> for ImportFormat {
    fn from(c: ImportChoice) -> Self {
        match c {
            ImportChoice::Auto => Self::Auto,
            ImportChoice::Google => Self::Google,
            ImportChoice::Aegis => Self::Aegis,
            ImportChoice::TwoFas => Self::TwoFas,
            ImportChoice::Uris => Self::Uris,
            ImportChoice::Backup => Self::Backup,
        }
    }
}

/// `--format` of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportChoice {
    /// Countersign encrypted backup (needs --password-file).
    Backup,
    /// otpauth:// URIs, one a line (plain text: needs --i-understand-plaintext).
    Uris,
    /// Google Authenticator transfer QR codes as PNGs plus their links (plain text: needs
    /// --i-understand-plaintext).
    GoogleQr,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file: an export, a URI list, transfer links, a backup, or a PNG/JPEG of QR codes.
    /// Several files (pictures of the codes of one Google export, link lists) are read as one,
    /// so a batch split over several pictures is matched up.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Its format.
    #[arg(long, value_enum, default_value = "auto")]
    format: ImportChoice,
    /// File whose first line is the file's password (encrypted exports and backups).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Print the full report as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to write.
    #[arg(long, value_enum)]
    format: ExportChoice,
    /// Output file (backup, uris) or directory (google-qr; created, must be empty). Never
    /// overwritten.
    #[arg(long)]
    out: PathBuf,
    /// File whose first line is the backup password.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Confirms that the output of a plain-text format holds every secret unencrypted.
    #[arg(long)]
    i_understand_plaintext: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file.
    backup: PathBuf,
    /// File whose first line is the backup password.
    #[arg(long)]
    password_file: PathBuf,
    /// Print the full report as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `auto-backup`.
#[derive(Debug, Args)]
pub struct AutoBackupArgs {
    /// An existing directory for the backups.
    dir: PathBuf,
    /// How many automatic backups to keep.
    #[arg(long, default_value_t = 10)]
    keep: u32,
    /// File whose first line is the backup password.
    #[arg(long)]
    password_file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn read_password(path: &Path) -> Result<String> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("reading the password file {}", path.display()))?,
    );
    let first = text.lines().next().unwrap_or("");
    if first.is_empty() {
        return Err(CountersignError::InvalidInput {
            detail: format!("the password file {} is empty", path.display()),
            field: Some("password".into()),
        }
        .into());
    }
    Ok(first.to_string())
}

fn label(issuer: &Option<String>, name: &str) -> String {
    match issuer {
        Some(i) if !name.is_empty() => format!("{i} ({name})"),
        Some(i) => i.clone(),
        None => name.to_string(),
    }
}

fn format_name(f: ImportFormat) -> &'static str {
    match f {
        ImportFormat::Auto => "auto",
        ImportFormat::Google => "google",
        ImportFormat::Aegis => "aegis",
        ImportFormat::TwoFas => "2fas",
        ImportFormat::Uris => "uris",
        ImportFormat::Backup => "backup",
    }
}

fn report_json(r: &ImportReport) -> serde_json::Value {
    serde_json::json!({
        "format": format_name(r.format),
        "summary": {
            "imported": r.imported.len(),
            "duplicates": r.duplicates.len(),
            "failed": r.failed.len(),
        },
        "imported": r.imported.iter().map(|e| serde_json::json!({
            "index": e.index, "id": e.id, "issuer": e.issuer, "account": e.name,
        })).collect::<Vec<_>>(),
        "duplicates": r.duplicates.iter().map(|d| serde_json::json!({
            "index": d.index, "issuer": d.issuer, "account": d.name, "existing_id": d.existing_id,
        })).collect::<Vec<_>>(),
        "failed": r.failed.iter().map(|f| serde_json::json!({
            "index": f.index, "label": f.label, "reason": f.reason,
        })).collect::<Vec<_>>(),
        "missing_batches": r.missing_batches.iter().map(|b| serde_json::json!({
            "batch_id": b.batch_id, "batch_size": b.batch_size, "missing": b.missing,
        })).collect::<Vec<_>>(),
    })
}

fn print_report(r: &ImportReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&report_json(r))?);
        return Ok(());
    }
    println!(
        "{}: imported {}, duplicates {}, failed {}",
        format_name(r.format),
        r.imported.len(),
        r.duplicates.len(),
        r.failed.len()
    );
    for e in &r.imported {
        println!(
            "  imported  #{:<4} {} -> id {}",
            e.index,
            label(&e.issuer, &e.name),
            e.id
        );
    }
    for d in &r.duplicates {
        let what = match d.existing_id {
            Some(id) => format!("already in the vault as id {id}"),
            None => "repeats an earlier entry of the file".into(),
        };
        println!(
            "  duplicate #{:<4} {}: {what}",
            d.index,
            label(&d.issuer, &d.name)
        );
    }
    for f in &r.failed {
        let who = f
            .label
            .as_deref()
            .map(|l| format!(" {l}"))
            .unwrap_or_default();
        println!("  failed    #{:<4}{who}: {}", f.index, f.reason);
    }
    for b in &r.missing_batches {
        let missing: Vec<String> = b.missing.iter().map(|i| (i + 1).to_string()).collect();
        println!(
            "  missing Google transfer codes {} of {} (scan them and import again)",
            missing.join(", "),
            b.batch_size
        );
    }
    Ok(())
}

fn skipped_json(s: &[SkippedAccount]) -> Vec<serde_json::Value> {
    s.iter()
        .map(|s| serde_json::json!({"id": s.id, "issuer": s.issuer, "account": s.name, "reason": s.reason}))
        .collect()
}

fn print_skipped(s: &[SkippedAccount]) {
    for s in s {
        println!(
            "  skipped id {} {}: {}",
            s.id,
            label(&s.issuer, &s.name),
            s.reason
        );
    }
}

/// `countersign import`.
pub fn import(g: &Global, a: &ImportArgs) -> Result<()> {
    let read = |f: &PathBuf| std::fs::read(f).with_context(|| format!("reading {}", f.display()));
    let password = a.password_file.as_deref().map(read_password).transpose()?;
    let client = open(g)?;
    let data = match a.files.as_slice() {
        [one] => read(one)?,
        several => {
            // Pictures go through the scan path; text files are taken as lines. The result is
            // one list of account and transfer links.
            let mut text = Zeroizing::new(String::new());
            for f in several {
                let bytes = Zeroizing::new(read(f)?);
                if bytes.starts_with(b"\x89PNG") || bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
                    for s in client.scan_image(bytes.to_vec())? {
                        let payload = Zeroizing::new(s.text);
                        text.push_str(payload.trim());
                        text.push('\n');
                    }
                } else {
                    let t = std::str::from_utf8(&bytes).map_err(|_| {
                        CountersignError::InvalidInput {
                            detail: format!(
                                "{}: several files can only be link lists or pictures of QR codes",
                                f.display()
                            ),
                            field: Some("file".into()),
                        }
                    })?;
                    text.push_str(t);
                    text.push('\n');
                }
            }
            text.as_bytes().to_vec()
        }
    };
    let data = Zeroizing::new(data);
    let report = client.import_accounts(data.to_vec(), a.format.into(), password)?;
    print_report(&report, a.json)
}

/// `countersign restore`.
pub fn restore(g: &Global, a: &RestoreArgs) -> Result<()> {
    let data =
        std::fs::read(&a.backup).with_context(|| format!("reading {}", a.backup.display()))?;
    let password = read_password(&a.password_file)?;
    let report = open(g)?.restore_backup(data, password)?;
    print_report(&report, a.json)
}

/// Writes `bytes` to a new owner-only file (never replacing one).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| CountersignError::Storage {
        detail: format!("cannot create {}: {e}", path.display()),
    })?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A QR code of `text` as a PNG: 6 px modules, 4-module quiet zone.
fn qr_png(text: &str) -> Result<Vec<u8>> {
    let code =
        qrcode::QrCode::new(text.as_bytes()).context("the payload does not fit a QR code")?;
    let n = code.width();
    let colors = code.to_colors();
    let (scale, quiet) = (6usize, 4usize);
    let size = u32::try_from((n + 2 * quiet) * scale).context("QR code too large")?;
    let img = image::GrayImage::from_fn(size, size, |x, y| {
        let (mx, my) = (
            (x as usize / scale).wrapping_sub(quiet),
            (y as usize / scale).wrapping_sub(quiet),
        );
        let dark = mx < n && my < n && colors[my * n + mx] == qrcode::Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .context("encoding a PNG")?;
    Ok(png)
}

/// `countersign export`.
pub fn export(g: &Global, a: &ExportArgs) -> Result<()> {
    let plaintext = matches!(a.format, ExportChoice::Uris | ExportChoice::GoogleQr);
    if plaintext && !a.i_understand_plaintext {
        return Err(CountersignError::InvalidInput {
            detail: "this format writes every secret unencrypted; pass --i-understand-plaintext \
                     to confirm, or use --format backup"
                .into(),
            field: Some("i-understand-plaintext".into()),
        }
        .into());
    }
    if a.out.exists() {
        return Err(CountersignError::InvalidInput {
            detail: format!("{} exists; choose a new path", a.out.display()),
            field: Some("out".into()),
        }
        .into());
    }
    match a.format {
        ExportChoice::Backup => {
            let Some(pw) = &a.password_file else {
                bail!(CountersignError::InvalidInput {
                    detail: "--format backup needs --password-file <file>".into(),
                    field: Some("password-file".into()),
                });
            };
            let password = read_password(pw)?;
            let saved = open(g)?.save_backup(a.out.display().to_string(), password)?;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "path": saved.path, "accounts": saved.accounts, "skipped": skipped_json(&saved.skipped)
                    }))?
                );
            } else {
                println!(
                    "wrote an encrypted backup of {} accounts to {} (skipped {})",
                    saved.accounts,
                    saved.path,
                    saved.skipped.len()
                );
                print_skipped(&saved.skipped);
            }
        }
        ExportChoice::Uris => {
            let e = open(g)?.export_plaintext(ExportFormat::Uris, true)?;
            let text = Zeroizing::new(e.payloads.concat());
            write_private(&a.out, text.as_bytes())?;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "path": a.out.display().to_string(), "accounts": e.exported, "skipped": skipped_json(&e.skipped)
                    }))?
                );
            } else {
                println!(
                    "wrote {} accounts as plain-text URIs to {} (skipped {}); it holds every secret unencrypted",
                    e.exported,
                    a.out.display(),
                    e.skipped.len()
                );
                print_skipped(&e.skipped);
            }
        }
        ExportChoice::GoogleQr => {
            let e = open(g)?.export_plaintext(ExportFormat::GoogleQr, true)?;
            std::fs::create_dir_all(&a.out)
                .with_context(|| format!("creating {}", a.out.display()))?;
            let n = e.payloads.len();
            let mut files = Vec::new();
            for (i, link) in e.payloads.iter().enumerate() {
                let path = a.out.join(format!("transfer-{}-of-{n}.png", i + 1));
                write_private(&path, &qr_png(link)?)?;
                files.push(path.display().to_string());
            }
            let links = Zeroizing::new(e.payloads.join("\n") + "\n");
            write_private(&a.out.join("transfer-links.txt"), links.as_bytes())?;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "dir": a.out.display().to_string(), "codes": files, "accounts": e.exported,
                        "skipped": skipped_json(&e.skipped)
                    }))?
                );
            } else {
                println!(
                    "wrote {} accounts in {n} Google transfer QR codes to {} (skipped {}); they hold every secret unencrypted",
                    e.exported,
                    a.out.display(),
                    e.skipped.len()
                );
                print_skipped(&e.skipped);
            }
        }
    }
    Ok(())
}

/// `countersign auto-backup`.
pub fn auto_backup(g: &Global, a: &AutoBackupArgs) -> Result<()> {
    let password = read_password(&a.password_file)?;
    let saved = open(g)?.auto_backup(a.dir.display().to_string(), password, a.keep)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "path": saved.path, "accounts": saved.accounts, "removed": saved.removed,
                "skipped": skipped_json(&saved.skipped)
            }))?
        );
    } else {
        println!(
            "wrote {} ({} accounts); removed {} older backups",
            saved.path,
            saved.accounts,
            saved.removed.len()
        );
        print_skipped(&saved.skipped);
    }
    Ok(())
}
