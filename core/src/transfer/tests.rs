//! Import, export and backup on real vault files. Every foreign fixture is built here from the
//! published format descriptions (protobuf via prost, Aegis with real scrypt + AES-GCM, 2FAS
//! with real PBKDF2 + AES-GCM); nothing is copied from another project.

use super::google::{MigrationPayload, OtpParameters};
use super::*;
use crate::crypto::{Argon2Cost, aes256gcm_seal, pbkdf2_sha256, scrypt32};
use crate::otp::OtpKind;
use crate::platform::MemoryKeyStore;
use crate::vault::OpenpushSecret;
use data_encoding::{BASE32_NOPAD, BASE64, HEXLOWER};
use std::sync::Arc;

const NOW: u64 = 1_700_000_000;
const SECRET_A: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // "12345678901234567890"
const SECRET_B: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const SECRET_C: &str = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";
const PASSWORD: &[u8] = b"correct horse battery staple";

fn new_vault() -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::create(
        &dir.path().join("vault.db"),
        Arc::new(MemoryKeyStore::generate().unwrap()),
    )
    .unwrap();
    (dir, v)
}

fn add(v: &Vault, uri: &str) -> AccountId {
    v.add_oath(&OtpAccount::parse(uri).unwrap(), NOW).unwrap()
}

fn add_push(v: &Vault) -> AccountId {
    let secret = OpenpushSecret {
        base_url: "https://mfa.example.com".into(),
        allow_loopback: false,
        account_id: "acc-1".into(),
        server_key: "c2VydmVy".into(),
        device_key_pkcs8: Some(Zeroizing::new("a2V5".into())),
        device_public: "cHVi".into(),
        device_key_alias: None,
        seed: Zeroizing::new("PUSHSEEDPUSHSEEDPUSH".into()),
        state: "active".into(),
        confirm_by: 0,
        clock_offset: 0,
        push_provider: "none".into(),
        pending_device_key_pkcs8: None,
        pending_device_public: None,
        pending_device_key_alias: None,
        server_key_checked_at: 0,
    };
    v.add_openpush("Work SSO", "alice", &secret, NOW).unwrap()
}

/// (issuer, name, kind, algorithm, digits, code at `at`) of every OATH account, in list order.
type Row = (Option<String>, String, OtpKind, String, u8, String);

fn rows(v: &Vault, at: u64) -> Vec<Row> {
    v.list()
        .unwrap()
        .into_iter()
        .filter(|s| s.kind == AccountKind::Oath)
        .map(|s| {
            let a = v.oath_account(s.id).unwrap();
            let code = a.code_at(at).unwrap().code.as_str().to_string();
            (
                a.issuer().map(str::to_string),
                a.account_name().to_string(),
                a.kind(),
                a.algorithm().uri_name().to_string(),
                a.digits(),
                code,
            )
        })
        .collect()
}

fn secret_bytes(b32: &str) -> Vec<u8> {
    BASE32_NOPAD.decode(b32.as_bytes()).unwrap()
}

fn code_of(uri: &str, at: u64) -> String {
    OtpAccount::parse(uri)
        .unwrap()
        .code_at(at)
        .unwrap()
        .code
        .as_str()
        .to_string()
}

// ---------------------------------------------------------------- Google transfer codes

fn gparam(secret: &str, issuer: &str, name: &str) -> OtpParameters {
    OtpParameters {
        secret: secret_bytes(secret),
        issuer: issuer.into(),
        name: name.into(),
        ..Default::default()
    }
}

#[test]
fn google_link_imports_totp_hotp_defaults_and_reports_bad_entries() {
    let payload = MigrationPayload {
        otp_parameters: vec![
            // Everything unspecified: SHA1, 6 digits, TOTP; issuer from "Issuer:name".
            gparam(SECRET_A, "", "Example:alice@example.com"),
            OtpParameters {
                algorithm: 2,
                digits: 2,
                r#type: 2,
                ..gparam(SECRET_B, "Bank", "Bank:bob")
            },
            OtpParameters {
                r#type: 1,
                counter: 1,
                ..gparam(SECRET_A, "Corp", "dev")
            },
            OtpParameters {
                algorithm: 4,
                ..gparam(SECRET_C, "Legacy", "md5")
            },
            OtpParameters {
                secret: vec![],
                ..gparam(SECRET_C, "Empty", "none")
            },
        ],
        version: 1,
        batch_size: 1,
        batch_index: 0,
        batch_id: 7,
    };
    let link = google::link_for_test(&payload);
    assert!(link.starts_with("otpauth-migration://offline?data="));
    let (_d, v) = new_vault();
    let report = import(&v, link.as_bytes(), None, None, NOW).unwrap();
    assert_eq!(report.format, ImportFormat::Google);
    assert_eq!(report.imported.len(), 3, "{report:?}");
    assert_eq!(report.failed.len(), 2);
    assert_eq!(report.failed[0].index, 4);
    assert!(
        report.failed[0].reason.contains("MD5"),
        "{:?}",
        report.failed
    );
    assert_eq!(report.failed[0].label.as_deref(), Some("Legacy (md5)"));
    assert_eq!(report.failed[1].index, 5);
    assert!(report.missing_batches.is_empty());

    let at = 59;
    let got = rows(&v, at);
    assert_eq!(got[0].0.as_deref(), Some("Example"));
    assert_eq!(got[0].1, "alice@example.com");
    assert_eq!((got[0].3.as_str(), got[0].4), ("SHA1", 6));
    assert_eq!(
        got[0].5,
        code_of(&format!("otpauth://totp/x?secret={SECRET_A}"), at)
    );
    assert_eq!(got[1].0.as_deref(), Some("Bank"));
    assert_eq!(
        got[1].1, "bob",
        "the Issuer: prefix equal to the issuer is dropped"
    );
    assert_eq!((got[1].3.as_str(), got[1].4), ("SHA256", 8));
    assert_eq!(
        got[1].5,
        code_of(
            &format!("otpauth://totp/x?secret={SECRET_B}&algorithm=SHA256&digits=8"),
            at
        )
    );
    assert_eq!(got[2].2, OtpKind::Hotp { counter: 1 });
    // RFC 4226 test secret, counter 1.
    assert_eq!(got[2].5, "287082");
}

#[test]
fn google_batches_report_missing_codes() {
    let part = |index: i32, secret: &str| {
        google::link_for_test(&MigrationPayload {
            otp_parameters: vec![gparam(secret, "I", &format!("n{index}"))],
            version: 1,
            batch_size: 3,
            batch_index: index,
            batch_id: -99,
        })
    };
    let links = [part(0, SECRET_A), part(2, SECRET_C)];
    let parsed = google::parse_links(&links);
    assert_eq!(parsed.accounts.len(), 2);
    assert_eq!(
        parsed.missing_batches,
        vec![BatchGap {
            batch_id: -99,
            batch_size: 3,
            missing: vec![1]
        }]
    );
    let all = [part(0, SECRET_A), part(1, SECRET_B), part(2, SECRET_C)];
    let parsed = google::parse_links(&all);
    assert_eq!(parsed.accounts.len(), 3);
    assert!(parsed.missing_batches.is_empty());
    // A batch index outside the batch, and a hostile batch size, are per-link failures.
    let bad = google::link_for_test(&MigrationPayload {
        otp_parameters: vec![gparam(SECRET_A, "I", "n")],
        version: 1,
        batch_size: i32::MAX,
        batch_index: 5,
        batch_id: 1,
    });
    let parsed = google::parse_links(&[bad.as_str(), "otpauth-migration://offline?data=%%%"]);
    assert_eq!(parsed.accounts.len(), 0);
    assert_eq!(parsed.failures.len(), 2);
    assert!(parsed.missing_batches.is_empty());
}

#[test]
fn google_link_encodings_and_garbage() {
    let payload = MigrationPayload {
        otp_parameters: vec![gparam(SECRET_A, "I", "n")],
        version: 1,
        ..Default::default()
    };
    let b64 = BASE64.encode(&prost::Message::encode_to_vec(&payload));
    // Unescaped base64 (with `+`, `/`, `=`) as some tools print it.
    let raw = format!("otpauth-migration://offline?data={b64}");
    assert_eq!(google::parse_links(&[raw]).accounts.len(), 1);
    for bad in [
        "otpauth-migration://offline",
        "otpauth-migration://offline?x=1",
        "otpauth-migration://offline?data=AAAA",
        "https://example.com/?data=abc",
    ] {
        let p = google::parse_links(&[bad]);
        assert_eq!((p.accounts.len(), p.failures.len()), (0, 1), "{bad}");
    }
}

#[test]
fn google_export_round_trip_same_accounts_and_codes() {
    let (_d, v) = new_vault();
    add(
        &v,
        &format!("otpauth://totp/Example:alice?secret={SECRET_A}&issuer=Example"),
    );
    add(
        &v,
        &format!("otpauth://totp/Bank:bob?secret={SECRET_B}&issuer=Bank&algorithm=SHA512&digits=8"),
    );
    let hotp = add(
        &v,
        &format!("otpauth://hotp/Corp:dev?secret={SECRET_A}&counter=0"),
    );
    v.next_hotp(hotp, NOW).unwrap();
    v.next_hotp(hotp, NOW).unwrap();
    let steam = add(
        &v,
        &format!("otpauth://steam/Steam:gamer?secret={SECRET_C}"),
    );
    let sixty = add(
        &v,
        &format!("otpauth://totp/Slow:s?secret={SECRET_C}&period=60"),
    );
    let push = add_push(&v);
    // Enough accounts to need two codes.
    for i in 0..12 {
        add(
            &v,
            &format!("otpauth://totp/Many:user{i}?secret={SECRET_C}&issuer=Many"),
        );
    }
    let (accounts, mut skipped) = exportable(&v).unwrap();
    let (links, skipped_google) = google::export(&accounts).unwrap();
    skipped.extend(skipped_google);
    let skipped_ids: Vec<AccountId> = skipped.iter().map(|s| s.id).collect();
    assert!(skipped_ids.contains(&push) && skipped_ids.contains(&steam));
    assert!(skipped_ids.contains(&sixty));
    assert_eq!(skipped.len(), 3);
    assert_eq!(links.len(), 2, "15 accounts in codes of at most 10");

    let (_d2, v2) = new_vault();
    let texts: Vec<&str> = links.iter().map(|l| l.as_str()).collect();
    let report = import(&v2, texts.join("\n").as_bytes(), None, None, NOW).unwrap();
    assert_eq!(report.imported.len(), 15);
    assert!(report.failed.is_empty() && report.missing_batches.is_empty());
    let original: Vec<Row> = rows(&v, NOW)
        .into_iter()
        .filter(|r| !matches!(r.2, OtpKind::Steam { .. } | OtpKind::Totp { period: 60 }))
        .collect();
    assert_eq!(rows(&v2, NOW), original);
    assert!(
        rows(&v2, NOW)
            .iter()
            .any(|r| r.2 == OtpKind::Hotp { counter: 2 }),
        "the HOTP counter travels"
    );
    // Only one code of two: the other is reported missing.
    let (_d3, v3) = new_vault();
    let report = import(&v3, links[1].as_bytes(), None, None, NOW).unwrap();
    assert_eq!(report.missing_batches.len(), 1);
    assert_eq!(report.missing_batches[0].missing, vec![0]);
    assert_eq!(report.missing_batches[0].batch_size, 2);
}

// ---------------------------------------------------------------- URI lists

#[test]
fn uri_list_tolerates_comments_and_reports_bad_lines() {
    let text = format!(
        "# exported by some app\n\
         \n\
         otpauth://totp/Example:alice?secret={SECRET_A}&issuer=Example\n\
         otpauth://totp/bad?secret=ABC1\n\
         not a uri at all\n\
         otpauth://hotp/Corp:dev?secret={SECRET_B}&counter=4\n\
         otpauth://totp/Ente:carol?secret={SECRET_C}&issuer=Ente&codeDisplay=%7B%22tags%22%3A%5B%22Work%22%5D%7D\r\n"
    );
    let (_d, v) = new_vault();
    let report = import(&v, text.as_bytes(), None, None, NOW).unwrap();
    assert_eq!(report.format, ImportFormat::Uris);
    assert_eq!(report.imported.len(), 3);
    let lines: Vec<usize> = report.failed.iter().map(|f| f.index).collect();
    assert_eq!(lines, vec![4, 5]);
    assert!(report.failed[0].reason.contains("position 4"));
    let list = v.list().unwrap();
    assert_eq!(
        list[2].groups,
        vec!["Work".to_string()],
        "Ente tags become groups"
    );
    // Nothing printable in the report carries a secret.
    let shown = format!("{report:?}");
    assert!(
        !shown.contains(SECRET_A) && !shown.contains(SECRET_B),
        "{shown}"
    );
}

#[test]
fn uri_export_round_trip_same_accounts_and_codes() {
    let (_d, v) = new_vault();
    add(
        &v,
        &format!("otpauth://totp/Example:alice?secret={SECRET_A}&issuer=Example&period=45"),
    );
    add(
        &v,
        &format!("otpauth://steam/Steam:gamer?secret={SECRET_C}"),
    );
    add(
        &v,
        &format!("otpauth://hotp/Corp:dev?secret={SECRET_B}&counter=9&digits=8"),
    );
    add_push(&v);
    let (accounts, skipped) = exportable(&v).unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].reason, PUSH_NOT_EXPORTABLE);
    let text = uris::export(&accounts);
    assert_eq!(text.lines().count(), 3);
    let (_d2, v2) = new_vault();
    let report = import(&v2, text.as_bytes(), Some(ImportFormat::Uris), None, NOW).unwrap();
    assert_eq!(report.imported.len(), 3);
    for at in [0, 59, NOW, NOW + 31] {
        assert_eq!(rows(&v2, at), rows(&v, at));
    }
}

// ---------------------------------------------------------------- duplicates

#[test]
fn a_refused_entry_repeated_fails_twice_and_is_no_ones_duplicate() {
    let (_d, v) = new_vault();
    let long = "n".repeat(300);
    let line = format!("otpauth://totp/Example:{long}?secret={SECRET_A}&issuer=Example\n");
    let text = format!("{line}{line}otpauth://totp/Other:bob?secret={SECRET_B}&issuer=Other\n");
    let report = import(&v, text.as_bytes(), None, None, NOW).unwrap();
    assert_eq!(report.imported.len(), 1, "{report:?}");
    assert!(report.duplicates.is_empty(), "{:?}", report.duplicates);
    let failed: Vec<usize> = report.failed.iter().map(|f| f.index).collect();
    assert_eq!(failed, vec![1, 2], "line numbers");
    assert!(
        report.failed[0].reason.contains("longer than"),
        "{:?}",
        report.failed[0]
    );
    assert_eq!(v.list().unwrap().len(), 1);
}

#[test]
fn duplicates_against_the_vault_and_within_the_file() {
    let (_d, v) = new_vault();
    let existing = add(
        &v,
        &format!("otpauth://totp/Example:alice?secret={SECRET_A}&issuer=Example"),
    );
    let text = format!(
        "otpauth://totp/Example:alice?secret={SECRET_A}&issuer=Example\n\
         otpauth://totp/Other:bob?secret={SECRET_B}&issuer=Other\n\
         otpauth://totp/Other:bob?secret={SECRET_B}&issuer=Other&digits=8\n\
         otpauth://totp/Example:alice2?secret={SECRET_A}&issuer=Example\n"
    );
    let report = import(&v, text.as_bytes(), None, None, NOW).unwrap();
    assert_eq!(
        report.imported.len(),
        2,
        "bob once, and alice2 (another name)"
    );
    assert_eq!(report.duplicates.len(), 2);
    assert_eq!(report.duplicates[0].index, 1);
    assert_eq!(report.duplicates[0].existing_id, Some(existing));
    assert_eq!(report.duplicates[1].index, 3);
    assert_eq!(report.duplicates[1].existing_id, None, "repeats line 2");
    // Importing the same file again adds nothing.
    let again = import(&v, text.as_bytes(), None, None, NOW).unwrap();
    assert!(again.imported.is_empty());
    assert_eq!(again.duplicates.len(), 4);
    assert_eq!(v.list().unwrap().len(), 3);
}

// ---------------------------------------------------------------- Aegis

fn aegis_db_v3() -> serde_json::Value {
    serde_json::json!({
        "version": 3,
        "entries": [
            {"type": "totp", "uuid": "e1", "name": "alice", "issuer": "Example", "note": "",
             "icon": null, "favorite": false, "groups": ["g1", "g2", "unknown"],
             "info": {"secret": SECRET_A, "algo": "SHA1", "digits": 6, "period": 30}},
            {"type": "hotp", "uuid": "e2", "name": "dev", "issuer": "Corp", "groups": [],
             "info": {"secret": SECRET_B, "algo": "SHA256", "digits": 8, "counter": 3}},
            {"type": "steam", "uuid": "e3", "name": "gamer", "issuer": "Steam", "groups": ["g1"],
             "info": {"secret": SECRET_C, "algo": "SHA1", "digits": 5, "period": 30}},
            {"type": "motp", "uuid": "e4", "name": "m", "issuer": "Old",
             "info": {"secret": "ABCDEF", "algo": "MD5", "digits": 6, "period": 10, "pin": "1234"}},
            {"type": "totp", "uuid": "e5", "name": "broken", "issuer": "Bad",
             "info": {"secret": "not base32!", "algo": "SHA1", "digits": 6, "period": 30}},
            {"type": "totp", "uuid": "e6", "name": "sixty", "issuer": "Slow",
             "info": {"secret": SECRET_C, "algo": "SHA512", "digits": 7, "period": 60}},
        ],
        "groups": [{"uuid": "g1", "name": "Work"}, {"uuid": "g2", "name": "Personal"}]
    })
}

fn aegis_plain(db: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "version": 1,
        "header": {"slots": null, "params": null},
        "db": db
    }))
    .unwrap()
}

/// An encrypted Aegis vault as docs/vault.md describes it: random master key; db sealed with
/// AES-256-GCM (nonce and tag in hex in header.params); a password slot with the master key
/// wrapped under scrypt(password, salt, n, r, p).
fn aegis_encrypted(db: &serde_json::Value, password: &[u8], log_n: u8, r: u32) -> Vec<u8> {
    let master = crate::crypto::random_bytes(32).unwrap();
    let salt = crate::crypto::random_bytes(32).unwrap();
    let slot_key = scrypt32(password, salt.expose(), log_n, r, 1).unwrap();
    let (knonce, dnonce) = ([3u8; 12], [4u8; 12]);
    let wrapped = aes256gcm_seal(slot_key.expose(), &knonce, &[], master.expose()).unwrap();
    let plain = serde_json::to_vec(db).unwrap();
    let sealed = aes256gcm_seal(master.expose(), &dnonce, &[], &plain).unwrap();
    let (ct, tag) = sealed.split_at(sealed.len() - 16);
    let (wk, wtag) = wrapped.split_at(wrapped.len() - 16);
    serde_json::to_vec(&serde_json::json!({
        "version": 1,
        "header": {
            "slots": [
                {"type": 2, "uuid": "bio", "key": HEXLOWER.encode(&[0u8; 32]),
                 "key_params": {"nonce": HEXLOWER.encode(&[0u8; 12]), "tag": HEXLOWER.encode(&[0u8; 16])}},
                {"type": 1, "uuid": "pw", "key": HEXLOWER.encode(wk),
                 "key_params": {"nonce": HEXLOWER.encode(&knonce), "tag": HEXLOWER.encode(wtag)},
                 "n": 1u64 << log_n, "r": r, "p": 1, "salt": HEXLOWER.encode(salt.expose()),
                 "repaired": true, "is_backup": false}
            ],
            "params": {"nonce": HEXLOWER.encode(&dnonce), "tag": HEXLOWER.encode(tag)}
        },
        "db": BASE64.encode(ct)
    }))
    .unwrap()
}

fn check_aegis_import(v: &Vault, report: &ImportReport) {
    assert_eq!(report.format, ImportFormat::Aegis);
    assert_eq!(report.imported.len(), 4, "{report:?}");
    let failed: Vec<usize> = report.failed.iter().map(|f| f.index).collect();
    assert_eq!(failed, vec![4, 5]);
    assert!(report.failed[0].reason.contains("motp"));
    let list = v.list().unwrap();
    assert_eq!(
        list[0].groups,
        vec!["Work".to_string(), "Personal".to_string()]
    );
    assert_eq!(list[2].groups, vec!["Work".to_string()]);
    let at = NOW;
    let got = rows(v, at);
    assert_eq!(
        got[0].5,
        code_of(&format!("otpauth://totp/x?secret={SECRET_A}"), at)
    );
    assert_eq!(got[1].2, OtpKind::Hotp { counter: 3 });
    assert_eq!(
        got[1].5,
        code_of(
            &format!("otpauth://hotp/x?secret={SECRET_B}&algorithm=SHA256&digits=8&counter=3"),
            at
        )
    );
    assert_eq!(got[2].2, OtpKind::Steam { period: 30 });
    assert_eq!(
        got[2].5,
        code_of(&format!("otpauth://steam/x?secret={SECRET_C}"), at)
    );
    assert_eq!(got[3].2, OtpKind::Totp { period: 60 });
    assert_eq!((got[3].3.as_str(), got[3].4), ("SHA512", 7));
}

#[test]
fn aegis_plain_v3_with_groups() {
    let (_d, v) = new_vault();
    let report = import(&v, &aegis_plain(aegis_db_v3()), None, None, NOW).unwrap();
    check_aegis_import(&v, &report);
}

#[test]
fn aegis_old_per_entry_group_string() {
    let db = serde_json::json!({"version": 2, "entries": [
        {"type": "totp", "name": "a", "issuer": "X", "group": "Finance",
         "info": {"secret": SECRET_A, "algo": "SHA1", "digits": 6, "period": 30}}]});
    let (_d, v) = new_vault();
    let report = import(&v, &aegis_plain(db), Some(ImportFormat::Aegis), None, NOW).unwrap();
    assert_eq!(report.imported.len(), 1);
    assert_eq!(v.list().unwrap()[0].groups, vec!["Finance".to_string()]);
}

#[test]
fn aegis_encrypted_with_aegis_default_scrypt_cost() {
    // n = 2^15, r = 8, p = 1: what Aegis writes.
    let file = aegis_encrypted(&aegis_db_v3(), PASSWORD, 15, 8);
    let (_d, v) = new_vault();
    let report = import(&v, &file, None, Some(PASSWORD), NOW).unwrap();
    check_aegis_import(&v, &report);
}

/// An encrypted file without a password, and with a wrong one: typed errors.
fn assert_password_is_needed(v: &Vault, file: &[u8]) {
    assert!(matches!(
        import(v, file, None, None, NOW),
        Err(TransferError::PasswordRequired)
    ));
    assert!(matches!(
        import(v, file, None, Some(b"wrong"), NOW),
        Err(TransferError::WrongPassword)
    ));
}

#[test]
fn aegis_encrypted_failures_are_typed_and_import_nothing() {
    let file = aegis_encrypted(&aegis_db_v3(), PASSWORD, 10, 8);
    let (_d, v) = new_vault();
    assert_password_is_needed(&v, &file);
    // Flip one byte of the db ciphertext: the slot opens, the db does not.
    let mut json: serde_json::Value = serde_json::from_slice(&file).unwrap();
    let db = json["db"].as_str().unwrap().to_string();
    let mut ct = BASE64.decode(db.as_bytes()).unwrap();
    ct[0] ^= 1;
    json["db"] = BASE64.encode(&ct).into();
    let tampered = serde_json::to_vec(&json).unwrap();
    assert!(matches!(
        import(&v, &tampered, None, Some(PASSWORD), NOW),
        Err(TransferError::Tampered)
    ));
    // Truncated anywhere: malformed, never a panic.
    for cut in [0, 1, 10, file.len() / 2, file.len() - 1] {
        assert!(
            aegis::parse(&file[..cut], Some(PASSWORD)).is_err(),
            "cut at {cut}"
        );
    }
    // Hostile scrypt parameters are refused before anything runs.
    for (n, r, p) in [
        (1u64 << 30, 8u64, 1u64),
        (1 << 15, 1 << 20, 1),
        (1 << 10, 8, 1000),
        (1000, 8, 1),
    ] {
        let mut j = json.clone();
        j["header"]["slots"][1]["n"] = n.into();
        j["header"]["slots"][1]["r"] = r.into();
        j["header"]["slots"][1]["p"] = p.into();
        let hostile = serde_json::to_vec(&j).unwrap();
        assert!(
            matches!(
                aegis::parse(&hostile, Some(PASSWORD)),
                Err(TransferError::KdfOutOfBounds(_))
            ),
            "n={n} r={r} p={p}"
        );
    }
    let mut j = json.clone();
    j["version"] = 2.into();
    assert!(matches!(
        aegis::parse(&serde_json::to_vec(&j).unwrap(), Some(PASSWORD)),
        Err(TransferError::UnsupportedVersion { .. })
    ));
    assert!(v.list().unwrap().is_empty(), "nothing was imported");
}

// ---------------------------------------------------------------- 2FAS

fn twofas_services() -> serde_json::Value {
    serde_json::json!([
        {"name": "Example", "secret": SECRET_A, "updatedAt": 1, "type": "ManuallyAdded",
         "otp": {"label": "Example:alice", "account": "alice", "issuer": "Example", "digits": 6,
                 "period": 30, "algorithm": "SHA1", "tokenType": "TOTP", "source": "Link"},
         "order": {"position": 0}, "groupId": "grp-1"},
        {"name": "Corp", "secret": SECRET_B,
         "otp": {"account": "dev", "digits": 8, "algorithm": "SHA512", "tokenType": "HOTP",
                 "counter": 11, "source": "Manual"}},
        {"name": "Steam", "secret": SECRET_C,
         "otp": {"account": "gamer", "tokenType": "STEAM", "digits": 5, "period": 30}},
        {"name": "Odd", "secret": SECRET_C, "otp": {"account": "x", "algorithm": "SHA224"}},
        {"name": "NoSecret", "otp": {"account": "y"}}
    ])
}

fn twofas_plain(version: i64, services: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "services": services,
        "groups": [{"id": "grp-1", "name": "Work", "isExpanded": true}],
        "updatedAt": 1, "schemaVersion": version, "appVersionCode": 1, "appOrigin": "android"
    }))
    .unwrap()
}

/// `b64(ciphertext ‖ tag):b64(salt):b64(iv)` with PBKDF2-SHA256 (10,000) + AES-256-GCM.
fn twofas_seal(password: &[u8], salt: &[u8], iv: [u8; 12], plain: &[u8]) -> String {
    let key = pbkdf2_sha256(password, salt, 10_000, 32).unwrap();
    let ct = aes256gcm_seal(key.expose(), &iv, &[], plain).unwrap();
    format!(
        "{}:{}:{}",
        BASE64.encode(&ct),
        BASE64.encode(salt),
        BASE64.encode(&iv)
    )
}

fn twofas_encrypted(password: &[u8]) -> Vec<u8> {
    let salt = crate::crypto::random_bytes(256).unwrap();
    let services = serde_json::to_vec(&twofas_services()).unwrap();
    serde_json::to_vec(&serde_json::json!({
        "services": [],
        "groups": [{"id": "grp-1", "name": "Work"}],
        "schemaVersion": 4,
        "servicesEncrypted": twofas_seal(password, salt.expose(), [9; 12], &services),
        "reference": twofas_seal(password, salt.expose(), [8; 12], &[b'R'; 128]),
    }))
    .unwrap()
}

fn check_twofas_import(v: &Vault, report: &ImportReport) {
    assert_eq!(report.format, ImportFormat::TwoFas);
    assert_eq!(report.imported.len(), 3, "{report:?}");
    let failed: Vec<usize> = report.failed.iter().map(|f| f.index).collect();
    assert_eq!(failed, vec![4, 5]);
    assert!(report.failed[0].reason.contains("SHA224"));
    let list = v.list().unwrap();
    assert_eq!(list[0].groups, vec!["Work".to_string()]);
    assert_eq!(
        list[1].issuer.as_deref(),
        Some("Corp"),
        "service name as issuer"
    );
    let got = rows(v, NOW);
    assert_eq!(
        got[0].5,
        code_of(&format!("otpauth://totp/x?secret={SECRET_A}"), NOW)
    );
    assert_eq!(got[1].2, OtpKind::Hotp { counter: 11 });
    assert_eq!((got[1].3.as_str(), got[1].4), ("SHA512", 8));
    assert_eq!(
        got[2].5,
        code_of(&format!("otpauth://steam/x?secret={SECRET_C}"), NOW)
    );
}

#[test]
fn twofas_plain_versions_1_to_4() {
    for version in 1..=4 {
        let (_d, v) = new_vault();
        let file = twofas_plain(version, twofas_services());
        let report = import(&v, &file, None, None, NOW).unwrap();
        check_twofas_import(&v, &report);
    }
    // Schema 1 style: no tokenType, algorithm, digits or period (defaults apply).
    let (_d, v) = new_vault();
    let old = serde_json::json!([{"name": "Old", "secret": SECRET_A, "otp": {"account": "me"}}]);
    let report = import(&v, &twofas_plain(1, old), None, None, NOW).unwrap();
    assert_eq!(report.imported.len(), 1);
    assert_eq!(
        rows(&v, NOW)[0].5,
        code_of(&format!("otpauth://totp/x?secret={SECRET_A}"), NOW)
    );
    let future = twofas_plain(5, twofas_services());
    assert!(matches!(
        import(&v, &future, None, None, NOW),
        Err(TransferError::UnsupportedVersion { found: 5, .. })
    ));
}

#[test]
fn twofas_encrypted_and_its_failures() {
    let file = twofas_encrypted(PASSWORD);
    let (_d, v) = new_vault();
    assert_password_is_needed(&v, &file);
    let mut json: serde_json::Value = serde_json::from_slice(&file).unwrap();
    let enc = json["servicesEncrypted"].as_str().unwrap().to_string();
    let (ct, rest) = enc.split_once(':').unwrap();
    let mut bytes = BASE64.decode(ct.as_bytes()).unwrap();
    bytes[3] ^= 0x40;
    json["servicesEncrypted"] = format!("{}:{rest}", BASE64.encode(&bytes)).into();
    assert!(matches!(
        import(
            &v,
            &serde_json::to_vec(&json).unwrap(),
            None,
            Some(PASSWORD),
            NOW
        ),
        Err(TransferError::Tampered)
    ));
    json["servicesEncrypted"] = "abc".into();
    assert!(matches!(
        twofas::parse(&serde_json::to_vec(&json).unwrap(), Some(PASSWORD)),
        Err(TransferError::Malformed { .. })
    ));
    for cut in [0, 5, file.len() / 2, file.len() - 2] {
        assert!(twofas::parse(&file[..cut], Some(PASSWORD)).is_err());
    }
    assert!(v.list().unwrap().is_empty(), "nothing was imported");

    let report = import(&v, &file, None, Some(PASSWORD), NOW).unwrap();
    check_twofas_import(&v, &report);
}

// ---------------------------------------------------------------- Countersign backup

fn cheap() -> Argon2Cost {
    Argon2Cost::MINIMUM
}

fn sample_vault() -> (tempfile::TempDir, Vault) {
    let (d, v) = new_vault();
    let a = add(
        &v,
        &format!("otpauth://totp/Example:alice?secret={SECRET_A}&issuer=Example"),
    );
    v.set_groups(a, &["Work".into(), "Personal".into()])
        .unwrap();
    add(
        &v,
        &format!("otpauth://steam/Steam:gamer?secret={SECRET_C}"),
    );
    let h = add(
        &v,
        &format!("otpauth://hotp/Corp:dev?secret={SECRET_B}&counter=0&algorithm=SHA256"),
    );
    v.next_hotp(h, NOW).unwrap();
    add(
        &v,
        &format!("otpauth://totp/Slow:s?secret={SECRET_C}&period=60&digits=10&algorithm=SHA512"),
    );
    add_push(&v);
    (d, v)
}

#[test]
fn backup_round_trip_with_the_default_strong_cost() {
    let (_d, v) = sample_vault();
    let backup = backup::create(&v, PASSWORD, NOW).unwrap();
    assert_eq!(backup.accounts, 4);
    assert_eq!(backup.skipped.len(), 1);
    assert_eq!(backup.skipped[0].reason, PUSH_NOT_EXPORTABLE);
    let header = backup::read_header(&backup.bytes).unwrap();
    assert_eq!(header.cost, Argon2Cost::DEFAULT);
    assert_eq!(header.salt.len(), backup::SALT_LEN);
    assert_eq!(sniff(&backup.bytes).unwrap(), ImportFormat::Backup);

    let (_d2, v2) = new_vault();
    let report = backup::restore(&v2, &backup.bytes, PASSWORD, NOW).unwrap();
    assert_eq!(report.imported.len(), 4);
    for at in [0, NOW, NOW + 61] {
        assert_eq!(rows(&v2, at), rows(&v, at));
    }
    let groups: Vec<Vec<String>> = v2.list().unwrap().into_iter().map(|s| s.groups).collect();
    assert_eq!(groups[0], vec!["Work".to_string(), "Personal".to_string()]);
    // Restoring again: every account is a duplicate.
    let again = backup::restore(&v2, &backup.bytes, PASSWORD, NOW).unwrap();
    assert!(again.imported.is_empty());
    assert_eq!(again.duplicates.len(), 4);
    assert!(again.duplicates.iter().all(|d| d.existing_id.is_some()));
}

#[test]
fn backup_holds_no_secret_in_the_clear_and_fails_closed() {
    let (_d, v) = sample_vault();
    let bytes = backup::create_with_cost(&v, PASSWORD, cheap(), NOW)
        .unwrap()
        .bytes;
    for needle in [
        SECRET_A.as_bytes().to_vec(),
        secret_bytes(SECRET_A),
        HEXLOWER.encode(&secret_bytes(SECRET_A)).into_bytes(),
        b"Example".to_vec(),
        PASSWORD.to_vec(),
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
            "found {needle:?}"
        );
    }
    let (_d2, v2) = new_vault();
    assert!(matches!(
        backup::restore(&v2, &bytes, b"wrong password", NOW),
        Err(TransferError::WrongPassword)
    ));
    assert!(matches!(
        import(&v2, &bytes, None, None, NOW),
        Err(TransferError::PasswordRequired)
    ));
    // Every byte of the header is authenticated: change the salt, the nonce or the cost (within
    // bounds) and the file no longer opens.
    let salt_at = 23;
    let nonce_at = salt_at + backup::SALT_LEN;
    for at in [
        salt_at, nonce_at, 17, /* low byte of iterations: 3 → 2 */
    ] {
        let mut t = bytes.clone();
        t[at] ^= 1;
        assert!(
            matches!(
                backup::restore(&v2, &t, PASSWORD, NOW),
                Err(TransferError::WrongPassword)
            ),
            "byte {at}"
        );
    }
    let mut t = bytes.clone();
    let last = t.len() - 1;
    t[last] ^= 0x80;
    assert!(matches!(
        backup::restore(&v2, &t, PASSWORD, NOW),
        Err(TransferError::WrongPassword)
    ));
    // Hostile costs are refused before the KDF runs.
    for (at, value) in [
        (10usize, 0x0040_0000u32 /* 4 GiB */),
        (14, 1_000_000),
        (18, 255),
        (10, 8),
    ] {
        let mut t = bytes.clone();
        t[at..at + 4].copy_from_slice(&value.to_be_bytes());
        assert!(
            matches!(
                backup::read_header(&t),
                Err(TransferError::KdfOutOfBounds(_))
            ),
            "offset {at} = {value}"
        );
    }
    let mut t = bytes.clone();
    t[8] = 2;
    assert!(matches!(
        backup::read_header(&t),
        Err(TransferError::UnsupportedVersion { found: 2, .. })
    ));
    for cut in [0, 7, 9, 22, 30, 50, 60] {
        assert!(
            matches!(
                backup::open(&bytes[..cut], PASSWORD),
                Err(TransferError::Malformed { .. })
            ),
            "cut at {cut}"
        );
    }
    assert!(matches!(
        backup::open(&bytes[..bytes.len() - 1], PASSWORD),
        Err(TransferError::WrongPassword)
    ));
    assert!(v2.list().unwrap().is_empty(), "nothing was restored");
    // The cost we write is never below the floor, nor above the read bounds.
    for bad in [
        Argon2Cost {
            memory_kib: 1024,
            iterations: 3,
            parallelism: 1,
        },
        Argon2Cost {
            memory_kib: 64 * 1024,
            iterations: 1,
            parallelism: 1,
        },
        Argon2Cost {
            memory_kib: 1024 * 1024,
            iterations: 3,
            parallelism: 1,
        },
    ] {
        assert!(backup::create_with_cost(&v, PASSWORD, bad, NOW).is_err());
    }
}

#[test]
fn auto_backup_keeps_the_newest_and_touches_nothing_else() {
    let (_d, v) = sample_vault();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    std::fs::write(
        dir.path().join("countersign-backup-manual.csbak"),
        "mine too",
    )
    .unwrap();
    let mut made = Vec::new();
    for (i, now) in [NOW, NOW + 10, NOW + 10, NOW + 20].into_iter().enumerate() {
        let r = backup::auto_backup_with_cost(&v, dir.path(), PASSWORD, 2, cheap(), now).unwrap();
        assert_eq!(r.accounts, 4);
        assert_eq!(r.skipped.len(), 1);
        made.push(r.path.clone());
        if i >= 2 {
            assert_eq!(r.removed.len(), 1, "round {i}");
        }
    }
    // Same second twice: a second sequence number, not an overwrite.
    assert_ne!(made[1], made[2]);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "countersign-backup-001700000010-01.csbak".to_string(),
            "countersign-backup-001700000020-00.csbak".to_string(),
            "countersign-backup-manual.csbak".to_string(),
            "notes.txt".to_string(),
        ],
        "newest two kept, other files untouched, no temporary file left"
    );
    for name in &names[..2] {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        assert!(
            !bytes
                .windows(SECRET_A.len())
                .any(|w| w == SECRET_A.as_bytes())
        );
        let (_d2, v2) = new_vault();
        assert_eq!(
            backup::restore(&v2, &bytes, PASSWORD, NOW)
                .unwrap()
                .imported
                .len(),
            4
        );
    }
    assert!(matches!(
        backup::auto_backup_with_cost(&v, dir.path(), PASSWORD, 0, cheap(), NOW),
        Err(TransferError::InvalidInput(_))
    ));
    assert!(matches!(
        backup::auto_backup_with_cost(&v, &dir.path().join("missing"), PASSWORD, 3, cheap(), NOW),
        Err(TransferError::Io { .. })
    ));
}

#[test]
fn write_new_file_never_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.bin");
    write_new_file(&p, b"one").unwrap();
    assert!(matches!(
        write_new_file(&p, b"two"),
        Err(TransferError::Io { .. })
    ));
    assert_eq!(std::fs::read(&p).unwrap(), b"one");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner-only");
    }
}

// ---------------------------------------------------------------- detection, limits, redaction

#[test]
fn sniffing() {
    assert_eq!(
        sniff(&aegis_plain(aegis_db_v3())).unwrap(),
        ImportFormat::Aegis
    );
    assert_eq!(
        sniff(&twofas_plain(4, twofas_services())).unwrap(),
        ImportFormat::TwoFas
    );
    assert_eq!(
        sniff(&twofas_encrypted(b"pw")).unwrap(),
        ImportFormat::TwoFas
    );
    assert_eq!(
        sniff(b"\xEF\xBB\xBF# c\n\n otpauth://totp/a?secret=GEZDGNBV").unwrap(),
        ImportFormat::Uris
    );
    assert_eq!(
        sniff(b"OTPAUTH-MIGRATION://offline?data=x").unwrap(),
        ImportFormat::Google
    );
    for bad in [&b""[..], b"{}", b"{\"x\":1}", b"hello", b"\xff\xfe", b"{"] {
        assert!(sniff(bad).is_err(), "{bad:?}");
    }
    let (_d, v) = new_vault();
    let big = vec![b'#'; MAX_IMPORT_BYTES + 1];
    assert!(matches!(
        import(&v, &big, None, None, NOW),
        Err(TransferError::TooLarge(_))
    ));
}

#[test]
fn debug_output_never_shows_secrets() {
    let parsed = uris::parse(&format!("otpauth://totp/A:b?secret={SECRET_A}")).unwrap();
    let shown = format!("{parsed:?}");
    assert!(!shown.contains(SECRET_A), "{shown}");
    let p = gparam(SECRET_A, "I", "n");
    assert!(!format!("{p:?}").contains("49, 50, 51"), "{p:?}");
    let (_d, v) = sample_vault();
    let b = backup::create_with_cost(&v, PASSWORD, cheap(), NOW).unwrap();
    assert!(format!("{b:?}").len() < 400);
}

#[test]
fn images_of_transfer_codes_are_read() {
    let payload = MigrationPayload {
        otp_parameters: vec![gparam(SECRET_A, "Example", "alice")],
        version: 1,
        batch_size: 2,
        batch_index: 1,
        batch_id: 5,
    };
    let link = google::link_for_test(&payload);
    let code = qrcode::QrCode::new(link.as_bytes()).unwrap();
    let n = code.width();
    let colors = code.to_colors();
    let (scale, quiet) = (4usize, 4usize);
    let size = ((n + 2 * quiet) * scale) as u32;
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
        .unwrap();
    let (_d, v) = new_vault();
    let report = import(&v, &png, None, None, NOW).unwrap();
    assert_eq!(report.format, ImportFormat::Google);
    assert_eq!(report.imported.len(), 1);
    assert_eq!(report.missing_batches[0].missing, vec![0]);
    assert!(matches!(
        import(&v, &png, Some(ImportFormat::Aegis), None, NOW),
        Err(TransferError::Malformed { .. })
    ));
}
