//! Plain lists of account URIs, one a line: what Ente Auth, FreeOTP+, Aegis, GNOME
//! Authenticator and many others export as "plain text".
//!
//! Blank lines and lines starting with `#` are skipped; every other line must be an
//! `otpauth://` (or `steam://`) URI, parsed with the same lenient parser as a scanned QR code,
//! or a Google transfer link (`otpauth-migration://`), whose accounts are read in place. A line
//! that does not parse is a failure numbered by its line; the others are imported. Ente's
//! non-standard `codeDisplay` parameter is kept like any unknown parameter, and its `tags`
//! become groups.

use super::{EntryFailure, ExportAccount, ImportedAccount, MAX_ENTRIES, Parsed, TransferError};
use crate::uri::OtpAccount;
use zeroize::Zeroizing;

/// Reads UTF-8 bytes as a URI list.
pub fn parse_bytes(data: &[u8]) -> Result<Parsed, TransferError> {
    let text = std::str::from_utf8(data).map_err(|_| TransferError::Malformed {
        format: "URI list",
        reason: "the text is not UTF-8".into(),
    })?;
    parse(text)
}

/// Ente's `codeDisplay` JSON may carry `tags`: they become groups.
fn ente_tags(a: &OtpAccount) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct CodeDisplay {
        #[serde(default)]
        tags: Vec<String>,
    }
    a.extra_parameters()
        .iter()
        .find(|(k, _)| k == "codeDisplay")
        .and_then(|(_, v)| serde_json::from_str::<CodeDisplay>(v).ok())
        .map(|d| d.tags)
        .unwrap_or_default()
}

/// Reads a URI list. Never fails as a whole: every line is an account or a failure.
pub fn parse(text: &str) -> Result<Parsed, TransferError> {
    let mut parsed = Parsed::default();
    let mut migration_links: Vec<(usize, &str)> = Vec::new();
    let mut seen_any = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim().trim_start_matches('\u{FEFF}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        seen_any = true;
        if parsed.accounts.len() + parsed.failures.len() >= MAX_ENTRIES {
            return Err(TransferError::TooLarge(format!(
                "more than {MAX_ENTRIES} entries"
            )));
        }
        let lower: String = line
            .chars()
            .take(20)
            .collect::<String>()
            .to_ascii_lowercase();
        if lower.starts_with("otpauth-migration:") {
            migration_links.push((line_no, line));
            continue;
        }
        match OtpAccount::parse(line) {
            Ok(account) => {
                let groups = ente_tags(&account);
                parsed.accounts.push(ImportedAccount {
                    account,
                    groups,
                    index: line_no,
                });
            }
            Err(e) => parsed.failures.push(EntryFailure {
                index: line_no,
                label: None,
                reason: e.to_string(),
            }),
        }
    }
    if !seen_any {
        return Err(TransferError::Malformed {
            format: "URI list",
            reason: "no account URI found".into(),
        });
    }
    // Transfer links keep their line number for every account they hold.
    if !migration_links.is_empty() {
        let links: Vec<&str> = migration_links.iter().map(|(_, l)| *l).collect();
        let google = super::google::parse_links(&links);
        // parse_links numbers entries 1, 2, … across links; map them back to lines by
        // re-walking the links one at a time.
        let mut per_link = Vec::new();
        for (line_no, link) in &migration_links {
            per_link.push((*line_no, super::google::parse_links(&[*link])));
        }
        for (line_no, p) in per_link {
            for mut a in p.accounts {
                a.index = line_no;
                parsed.accounts.push(a);
            }
            for mut f in p.failures {
                f.index = line_no;
                parsed.failures.push(f);
            }
        }
        parsed.missing_batches = google.missing_batches;
        parsed.accounts.sort_by_key(|a| a.index);
        parsed.failures.sort_by_key(|f| f.index);
    }
    Ok(parsed)
}

/// The accounts as `otpauth://` URIs, one a line, in list order. The text holds every secret
/// in the clear.
pub fn export(accounts: &[ExportAccount]) -> Zeroizing<String> {
    let uris: Vec<Zeroizing<String>> = accounts.iter().map(|e| e.account.to_uri()).collect();
    // Sized once, so no reallocation leaves a partial copy behind unwiped.
    let total = uris.iter().map(|u| u.len() + 1).sum();
    let mut out = Zeroizing::new(String::with_capacity(total));
    for uri in &uris {
        out.push_str(uri);
        out.push('\n');
    }
    out
}
