#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Import, export and backup through the exported API, as a shell calls them: plain-text
//! exports refused without the acknowledgement, round trips between two vaults with the same
//! codes, wrong and missing passwords as `WrongPassword`, nothing imported on failure.

mod common;

use common::{RFC4226, SEED_SHA1, Scratch, hotp_uri, totp_uri};
use countersign_ffi::{
    AuthenticatorClient, CodeState, CountersignError, DesktopKeyStore, ExportFormat, ImportFormat,
};
use std::sync::Arc;

fn client(s: &Scratch, name: &str) -> Arc<AuthenticatorClient> {
    AuthenticatorClient::open_desktop(s.file(name), DesktopKeyStore::Ephemeral, None).unwrap()
}

fn codes(c: &AuthenticatorClient, at: u64) -> Vec<(Option<String>, String, String)> {
    c.codes_at(at)
        .unwrap()
        .into_iter()
        .map(|row| {
            let code = match row.state {
                CodeState::Timed { code, .. } => code.code,
                CodeState::CounterBased { counter } => format!("counter {counter}"),
                other => format!("{other:?}"),
            };
            (row.account.issuer, row.account.name, code)
        })
        .collect()
}

fn populated(s: &Scratch) -> Arc<AuthenticatorClient> {
    let c = client(s, "a.db");
    c.add_account_from_uri(totp_uri("SHA1", "alice")).unwrap();
    c.add_account_from_uri(totp_uri("SHA512", "bob")).unwrap();
    let h = c.add_account_from_uri(hotp_uri(0, "dev")).unwrap();
    assert_eq!(c.next_hotp(h.account.id).unwrap().code, RFC4226[0]);
    c.add_account_from_uri(format!("otpauth://steam/Steam:g?secret={SEED_SHA1}"))
        .unwrap();
    c
}

#[test]
fn plaintext_export_needs_the_acknowledgement() {
    let s = Scratch::new("ack");
    let c = populated(&s);
    for format in [ExportFormat::Uris, ExportFormat::GoogleQr] {
        match c.export_plaintext(format, false) {
            Err(CountersignError::InvalidInput { field, .. }) => {
                assert_eq!(field.as_deref(), Some("acknowledge_plaintext"))
            }
            other => panic!("{other:?}"),
        }
    }
    let e = c.export_plaintext(ExportFormat::Uris, true).unwrap();
    assert!(!format!("{e:?}").contains(SEED_SHA1), "Debug is redacted");
}

#[test]
fn uri_and_google_exports_round_trip() {
    let s = Scratch::new("plain");
    let a = populated(&s);
    let uris = a.export_plaintext(ExportFormat::Uris, true).unwrap();
    assert_eq!((uris.exported, uris.payloads.len()), (4, 1));
    let b = client(&s, "b.db");
    let r = b
        .import_accounts(
            uris.payloads[0].clone().into_bytes(),
            ImportFormat::Auto,
            None,
        )
        .unwrap();
    assert_eq!(r.format, ImportFormat::Uris);
    assert_eq!(r.imported.len(), 4);
    for at in [59, 1_234_567_890] {
        assert_eq!(codes(&b, at), codes(&a, at));
    }

    let google = a.export_plaintext(ExportFormat::GoogleQr, true).unwrap();
    assert_eq!(google.exported, 3);
    assert_eq!(google.skipped.len(), 1, "Steam cannot be expressed");
    let c = client(&s, "c.db");
    let r = c.import_transfer_links(google.payloads.clone()).unwrap();
    assert_eq!(r.imported.len(), 3);
    assert!(r.missing_batches.is_empty());
    let without_steam: Vec<_> = codes(&a, 59)
        .into_iter()
        .filter(|(i, _, _)| i.as_deref() != Some("Steam"))
        .collect();
    assert_eq!(codes(&c, 59), without_steam);
    // Importing again: all duplicates, of accounts already in the vault.
    let again = c.import_transfer_links(google.payloads).unwrap();
    assert!(again.imported.is_empty());
    assert_eq!(again.duplicates.len(), 3);
    assert!(again.duplicates.iter().all(|d| d.existing_id.is_some()));
}

#[test]
fn backup_restore_and_password_errors() {
    let s = Scratch::new("backup");
    let a = populated(&s);
    let backup = a.create_backup("pass phrase".into()).unwrap();
    assert_eq!(backup.accounts, 4);
    assert!(format!("{backup:?}").contains("bytes"));
    let b = client(&s, "b.db");
    match b.restore_backup(backup.data.clone(), "nope".into()) {
        Err(CountersignError::WrongPassword { missing: false, .. }) => {}
        other => panic!("{other:?}"),
    }
    match b.import_accounts(backup.data.clone(), ImportFormat::Auto, None) {
        Err(CountersignError::WrongPassword { missing: true, .. }) => {}
        other => panic!("{other:?}"),
    }
    match b.create_backup(String::new()) {
        Err(CountersignError::InvalidInput { field, .. }) => {
            assert_eq!(field.as_deref(), Some("password"))
        }
        other => panic!("{other:?}"),
    }
    let mut truncated = backup.data.clone();
    truncated.truncate(20);
    assert!(matches!(
        b.restore_backup(truncated, "pass phrase".into()),
        Err(CountersignError::InvalidInput { .. })
    ));
    assert!(b.list_accounts().unwrap().is_empty(), "nothing imported");
    let r = b
        .import_accounts(
            backup.data,
            ImportFormat::Backup,
            Some("pass phrase".into()),
        )
        .unwrap();
    assert_eq!(r.imported.len(), 4);
    assert_eq!(codes(&b, 59), codes(&a, 59));
}

#[test]
fn saved_and_automatic_backups() {
    let s = Scratch::new("auto");
    let a = populated(&s);
    let path = s.file("one.csbak");
    let saved = a.save_backup(path.clone(), "pw".into()).unwrap();
    assert_eq!(saved.accounts, 4);
    assert!(matches!(
        a.save_backup(path.clone(), "pw".into()),
        Err(CountersignError::Storage { .. })
    ));
    let dir = s.file("auto");
    std::fs::create_dir(&dir).unwrap();
    let first = a.auto_backup(dir.clone(), "pw".into(), 1).unwrap();
    assert!(first.removed.is_empty());
    let second = a.auto_backup(dir.clone(), "pw".into(), 1).unwrap();
    assert_eq!(second.removed, vec![first.path.clone()]);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let b = client(&s, "b.db");
    let r = b
        .restore_backup(std::fs::read(&second.path).unwrap(), "pw".into())
        .unwrap();
    assert_eq!(r.imported.len(), 4);
    assert!(matches!(
        a.auto_backup(s.file("missing"), "pw".into(), 3),
        Err(CountersignError::Storage { .. })
    ));
}
