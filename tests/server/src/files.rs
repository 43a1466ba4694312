//! The data directory's secret files: created once with mode 0600 (written to a temporary file
//! and renamed, so a crash never leaves half a key), read back on every later start.
//!
//! - `admin-token`: bearer token for `/admin/*` (QA scripts read it).
//! - `server-key`: the Ed25519 server key seed, base64url.
//! - `seal-key`: the AES-256-GCM key that seals OATH seeds and activation codes in the database.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use countersign_core::crypto::{SecretBytes, random_bytes};
use countersign_core::openpush::encoding::{b64, unb64};
use zeroize::Zeroizing;

/// Creates the data directory (mode 0700 on Unix) if missing.
pub(crate) fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir)?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Writes `contents` to `path` atomically with mode 0600 (or `mode`).
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    write_with_mode(path, contents, 0o600)
}

/// Writes `contents` to `path` atomically with the given Unix mode.
pub(crate) fn write_with_mode(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(contents)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Reads a base64url secret file, or creates it with `len` random bytes.
fn secret_file(path: &Path, len: usize) -> anyhow::Result<SecretBytes> {
    if path.exists() {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        );
        let bytes = unb64(text.trim(), "secret file")
            .map_err(|_| anyhow::anyhow!("{} is not base64url", path.display()))?;
        if bytes.len() != len {
            anyhow::bail!("{} must hold {len} bytes", path.display());
        }
        return Ok(SecretBytes::new(bytes));
    }
    let bytes = random_bytes(len)?;
    let text = Zeroizing::new(format!("{}\n", b64(bytes.expose())));
    write_private(path, text.as_bytes())?;
    Ok(bytes)
}

/// The admin bearer token (`<data>/admin-token`), created at first start.
pub(crate) fn admin_token(dir: &Path) -> anyhow::Result<Zeroizing<String>> {
    let bytes = secret_file(&dir.join("admin-token"), 32)?;
    Ok(Zeroizing::new(b64(bytes.expose())))
}

/// The Ed25519 server key seed (`<data>/server-key`), created at first start.
pub(crate) fn server_key_seed(dir: &Path) -> anyhow::Result<SecretBytes> {
    secret_file(&dir.join("server-key"), 32)
}

/// Replaces the server key seed (rotation).
pub(crate) fn replace_server_key_seed(dir: &Path, seed: &SecretBytes) -> anyhow::Result<()> {
    let text = Zeroizing::new(format!("{}\n", b64(seed.expose())));
    write_private(&dir.join("server-key"), text.as_bytes())
}

/// The sealing key (`<data>/seal-key`), created at first start.
pub(crate) fn seal_key(dir: &Path) -> anyhow::Result<SecretBytes> {
    secret_file(&dir.join("seal-key"), 32)
}
