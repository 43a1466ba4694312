//! Schema upgrades on real files.
//!
//! - A version-1 copy of a populated vault (built with `MIGRATIONS[0]` alone and the rows
//!   version 1 had) opens through the real upgrade path: it reaches `LATEST`, every code is
//!   right, the sealed blobs and key records are untouched, and the schema equals a freshly
//!   created vault's (tables, columns, indexes, foreign keys, SQL).
//! - A version-1 vault written from the documented on-disk formats alone (key check, AAD
//!   layout, sealed JSON payload) opens: the format of existing files is pinned.
//! - A migration that fails leaves the file at its old version with nothing half-applied, and
//!   the open reports a typed error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use countersign_core::crypto::{DataKey, SecretBytes};
use countersign_core::platform::{KeyStore, MemoryKeyStore};
use countersign_core::uri::OtpAccount;
use countersign_core::vault::{AccountCode, CodeState, Vault, VaultError, schema};
use rusqlite::{Connection, params};
use std::path::Path;
use std::sync::Arc;

const NOW: u64 = 1_700_000_000;
const KEK: [u8; 32] = [0x4B; 32];

const RFC_TOTP: &str =
    "otpauth://totp/RFC:6238?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8&issuer=RFC";
const RFC_HOTP: &str =
    "otpauth://hotp/Corp:dev?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0&issuer=Corp";
const STEAM: &str = "otpauth://totp/Steam:gamer?secret=JBSWY3DPEHPK3PXP&issuer=Steam";
const SHA512: &str = "otpauth://totp/Cloud:ops?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBQ&algorithm=SHA512&digits=8&issuer=Cloud";
/// RFC 4226 appendix D: HOTP-SHA1 codes of `12345678901234567890` for counters 0–9.
const RFC4226: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

fn store() -> Arc<dyn KeyStore> {
    Arc::new(MemoryKeyStore::from_key(SecretBytes::from_slice(&KEK)).unwrap())
}

// There is something to migrate.
const _: () = assert!(schema::LATEST >= 2);

const ICON_URI: &str = "otpauth://totp/Icon:me?secret=JBSWY3DPEHPK3PXP&issuer=Icon&image=https%3A%2F%2Fexample.org%2Fi.png";

/// A populated vault at the current version: HOTP advanced to counter 3, an icon, groups and
/// a last-use time.
fn make_current(path: &Path) {
    let v = Vault::create(path, store()).unwrap();
    for uri in [RFC_TOTP, RFC_HOTP, STEAM, SHA512, ICON_URI] {
        v.add_oath(&OtpAccount::parse(uri).unwrap(), NOW).unwrap();
    }
    for _ in 0..3 {
        v.next_hotp(2, NOW).unwrap();
    }
    v.set_groups(1, &["Work".into(), "Personal".into()])
        .unwrap();
    v.set_groups(4, &["Work".into()]).unwrap();
    v.touch(3, NOW + 9).unwrap();
    assert!(v.summary(5).unwrap().icon.is_some());
}

/// A copy of the vault at `src` as schema `version` stored it: `MIGRATIONS[..version]` only,
/// and for every table of that schema the columns it had, copied from `src` (sealed blobs and
/// key records byte for byte). Built like `Vault::create` does (rollback journal), then
/// switched to WAL as every opened vault is.
fn make_old_copy(src: &Path, dst: &Path, version: u32) {
    let mut conn = Connection::open(dst).unwrap();
    conn.execute_batch("PRAGMA journal_mode = DELETE;").unwrap();
    schema::migrate(&mut conn, 0, version).unwrap();
    conn.execute("ATTACH DATABASE ?1 AS src", [src.to_str().unwrap()])
        .unwrap();
    let tables = strings(
        &conn,
        "SELECT name FROM main.sqlite_schema WHERE type = 'table' ORDER BY name",
    );
    // Tables are copied in name order, not dependency order.
    conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN;")
        .unwrap();
    for t in &tables {
        let cols = columns(&conn, t).join(", ");
        conn.execute_batch(&format!(
            "INSERT INTO main.{t} ({cols}) SELECT {cols} FROM src.{t}"
        ))
        .unwrap();
    }
    conn.execute_batch("COMMIT; DETACH DATABASE src;").unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(schema::version(&conn).unwrap(), version);
    conn.close().unwrap();
}

fn make_v1_copy(src: &Path, dst: &Path) {
    make_old_copy(src, dst, 1);
    let conn = Connection::open(dst).unwrap();
    assert!(!columns(&conn, "accounts").contains(&"icon".to_string()));
}

fn columns(conn: &Connection, table: &str) -> Vec<String> {
    conn.prepare(&format!("PRAGMA table_info({table})"))
        .unwrap()
        .query_map([], |r| r.get::<_, String>(1))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn strings(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                r.get_ref(i).map(|v| match v {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                    rusqlite::types::ValueRef::Real(f) => f.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(b) => format!("{b:?}"),
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map(|v| v.join(" | "))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Everything about a file's schema: objects and their SQL, every table's columns (with types,
/// constraints, defaults, hidden columns), indexes and their columns, foreign keys, version
/// and journal mode.
fn schema_of(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut out = strings(
        &conn,
        "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name",
    );
    let tables = strings(
        &conn,
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
    );
    for t in &tables {
        out.extend(
            strings(&conn, &format!("PRAGMA table_xinfo({t})"))
                .into_iter()
                .map(|c| format!("{t} column: {c}")),
        );
        out.extend(
            strings(&conn, &format!("PRAGMA index_list({t})"))
                .into_iter()
                .map(|c| format!("{t} index: {c}")),
        );
        out.extend(
            strings(&conn, &format!("PRAGMA foreign_key_list({t})"))
                .into_iter()
                .map(|c| format!("{t} foreign key: {c}")),
        );
        let strict_or_rowid = strings(
            &conn,
            &format!("SELECT strict, wr FROM pragma_table_list WHERE name = '{t}'"),
        );
        out.extend(
            strict_or_rowid
                .into_iter()
                .map(|c| format!("{t} strict, without rowid: {c}")),
        );
    }
    for i in strings(
        &conn,
        "SELECT name FROM sqlite_schema WHERE type = 'index' ORDER BY name",
    ) {
        out.extend(
            strings(&conn, &format!("PRAGMA index_xinfo({i})"))
                .into_iter()
                .map(|c| format!("{i} key: {c}")),
        );
    }
    out.push(format!("user_version {}", schema::version(&conn).unwrap()));
    out.extend(strings(&conn, "PRAGMA journal_mode"));
    out
}

fn hash(path: &Path) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, &std::fs::read(path).unwrap())
        .as_ref()
        .to_vec()
}

/// `codes()` with the fields a file at `version` cannot have left out (icon, last use and
/// groups arrived in version 2).
fn comparable(codes: Vec<AccountCode>, version: u32) -> Vec<AccountCode> {
    codes
        .into_iter()
        .map(|mut c| {
            if version < 2 {
                c.account.last_used_at = None;
                c.account.icon = None;
                c.account.groups.clear();
            }
            c
        })
        .collect()
}

fn timed_code(codes: &[AccountCode], i: usize) -> String {
    match &codes[i].state {
        CodeState::Timed { code, .. } => code.code.as_str().to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_older_version_upgrades_with_data_intact_and_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("current.db");
    make_current(&current);
    let fresh = dir.path().join("fresh.db");
    drop(Vault::create(&fresh, store()).unwrap());
    let fresh_schema = schema_of(&fresh);
    assert!(
        fresh_schema
            .iter()
            .any(|l| l.starts_with("accounts column:") && l.contains("| icon |")),
        "{fresh_schema:#?}"
    );
    assert_eq!(schema_of(&current), fresh_schema);
    let reference = Vault::open(&current, store()).unwrap();
    for version in 1..schema::LATEST {
        let old = dir.path().join(format!("v{version}.db"));
        make_old_copy(&current, &old, version);
        upgrades_intact(&old, version, &reference, &fresh_schema);
    }
}

/// Opens the copy at `version` and checks it against the vault it was copied from.
fn upgrades_intact(old: &Path, version: u32, reference: &Vault, fresh_schema: &[String]) {
    let rows = |p: &Path| {
        let c = Connection::open(p).unwrap();
        (
            strings(&c, "SELECT id, sealed FROM accounts ORDER BY id"),
            strings(&c, "SELECT key, value FROM meta ORDER BY key"),
        )
    };
    let before = rows(old);

    let v = Vault::open(old, store()).unwrap();
    let report = v.check().unwrap();
    assert!(report.is_ok(), "v{version}: {report:?}");
    assert_eq!(report.schema_version, schema::LATEST);
    assert_eq!(report.accounts_checked, 5);

    // Same accounts, same order, same codes (and at version >= 2, same groups and icons).
    let got = v.codes(59).unwrap();
    assert_eq!(
        comparable(got.clone(), version),
        comparable(reference.codes(59).unwrap(), version),
        "v{version}"
    );
    assert_eq!(timed_code(&got, 0), "94287082"); // RFC 6238, SHA-1, t = 59
    assert!(matches!(
        got[1].state,
        CodeState::CounterBased { counter: 3 }
    ));
    if version < 2 {
        assert!(
            got.iter()
                .all(|c| c.account.groups.is_empty() && c.account.icon.is_none())
        );
    } else {
        assert_eq!(got[0].account.groups, ["Work", "Personal"]);
    }
    for id in 1..=5 {
        assert_eq!(
            v.oath_account(id).unwrap().secret(),
            reference.oath_account(id).unwrap().secret()
        );
    }
    drop(v);

    // Migration only added schema: blobs and key records are byte for byte the same.
    assert_eq!(rows(old), before, "v{version}");
    // The upgraded schema is exactly a new vault's.
    assert_eq!(schema_of(old), fresh_schema, "v{version}");

    // And it works as one: HOTP continues where it was, the newer features work.
    let v = Vault::open(old, store()).unwrap();
    let h = v.next_hotp(2, NOW).unwrap();
    assert_eq!((h.counter, h.code.as_str()), (3, RFC4226[3]));
    v.set_groups(3, &["Games".into()]).unwrap();
    v.touch(3, NOW + 1).unwrap();
    let s = v.summary(3).unwrap();
    assert_eq!(
        (s.groups, s.last_used_at),
        (vec!["Games".to_string()], Some(NOW + 1))
    );
    drop(v);
    // Reopening does not migrate again.
    let h = hash(old);
    drop(Vault::open(old, store()).unwrap());
    assert_eq!(hash(old), h, "v{version}");
}

#[test]
fn open_locked_migrates_too() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("current.db");
    let old = dir.path().join("v1.db");
    make_current(&current);
    make_v1_copy(&current, &old);
    let v = Vault::open_locked(&old, store()).unwrap();
    assert!(v.is_locked());
    assert_eq!(v.list().unwrap().len(), 5);
    assert_eq!(
        schema::version(&Connection::open(&old).unwrap()).unwrap(),
        schema::LATEST
    );
    v.unlock().unwrap();
    assert_eq!(timed_code(&v.codes(59).unwrap(), 0), "94287082");
}

// ---------------------------------------------------------------------------------------------
// A version-1 vault from the documented formats alone.

/// `"countersign/vault/v1" ‖ 0 ‖ vault id ‖ 0 ‖ purpose ‖ 0 ‖ row (i64 BE)` (vault/payload.rs).
fn aad(vault_id: &[u8], purpose: &str, row: i64) -> Vec<u8> {
    let mut a = b"countersign/vault/v1".to_vec();
    a.push(0);
    a.extend_from_slice(vault_id);
    a.push(0);
    a.extend_from_slice(purpose.as_bytes());
    a.push(0);
    a.extend_from_slice(&row.to_be_bytes());
    a
}

#[test]
fn hand_built_version_1_vault_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let vault_id = *b"0123456789abcdef";
    let data_key = DataKey::from_secret(SecretBytes::from_slice(&[0x7D; 32])).unwrap();
    let wrapped = store().wrap(data_key.expose()).unwrap();
    let key_check = data_key
        .seal(
            &aad(&vault_id, "key-check", 0),
            b"countersign vault key check",
        )
        .unwrap();
    {
        let mut conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = DELETE;").unwrap();
        schema::migrate(&mut conn, 0, 1).unwrap();
        for (k, v) in [
            ("vault_id", vault_id.to_vec()),
            ("key_store", b"memory".to_vec()),
            ("wrapped_data_key", wrapped),
            ("key_check", key_check),
        ] {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )
            .unwrap();
        }
        /// (id, issuer, name, position, uri, sealed counter)
        type Row<'a> = (i64, &'a str, &'a str, i64, &'a str, Option<u64>);
        let rows: [Row; 3] = [
            (1, "RFC", "6238", 0, RFC_TOTP, None),
            // The sealed counter is authoritative over the URI's `counter=0`.
            (2, "Corp", "dev", 1, RFC_HOTP, Some(7)),
            (5, "Steam", "gamer", 2, STEAM, None),
        ];
        for (id, issuer, name, position, uri, counter) in rows {
            let payload =
                serde_json::json!({"v": 1, "body": {"oath": {"uri": uri, "counter": counter}}});
            let sealed = data_key
                .seal(
                    &aad(&vault_id, "account-secret", id),
                    payload.to_string().as_bytes(),
                )
                .unwrap();
            conn.execute(
                "INSERT INTO accounts (id, kind, issuer, name, position, created_at, sealed)
                 VALUES (?1, 'oath', ?2, ?3, ?4, ?5, ?6)",
                params![id, issuer, name, position, NOW as i64, sealed],
            )
            .unwrap();
        }
        let _: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
    }

    let v = Vault::open(&path, store()).unwrap();
    let report = v.check().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.schema_version, schema::LATEST);
    let codes = v.codes(59).unwrap();
    assert_eq!(
        codes.iter().map(|c| c.account.id).collect::<Vec<_>>(),
        [1, 2, 5]
    );
    assert_eq!(timed_code(&codes, 0), "94287082");
    assert!(matches!(
        codes[1].state,
        CodeState::CounterBased { counter: 7 }
    ));
    assert_eq!(timed_code(&codes, 2).len(), 5);
    let h = v.next_hotp(2, NOW).unwrap();
    assert_eq!((h.counter, h.code.as_str()), (7, RFC4226[7]));
    assert_eq!(v.summary(2).unwrap().created_at, NOW);
}

// ---------------------------------------------------------------------------------------------
// A failing migration.

fn user_version(path: &Path) -> u32 {
    schema::version(&Connection::open(path).unwrap()).unwrap()
}

/// Opening fails with a typed error and leaves the file exactly as it was, at version 1.
#[track_caller]
fn migration_fails_cleanly(path: &Path) {
    let before = hash(path);
    let schema_before = schema_of(path);
    for result in [
        Vault::open(path, store()).map(|_| ()),
        Vault::open_locked(path, store()).map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(err, VaultError::Storage(_) | VaultError::Corrupt(_)),
            "{err:?}"
        );
    }
    assert_eq!(user_version(path), 1);
    assert_eq!(schema_of(path), schema_before);
    let conn = Connection::open(path).unwrap();
    assert!(!columns(&conn, "accounts").contains(&"icon".to_string()));
    assert!(!columns(&conn, "accounts").contains(&"last_used_at".to_string()));
    drop(conn);
    assert_eq!(hash(path), before, "the failed migration changed the file");
}

#[test]
fn failed_migration_leaves_the_old_version() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("current.db");
    make_current(&current);

    // The first statements succeed, then `CREATE TABLE groups` collides.
    let old = dir.path().join("v1-groups.db");
    make_v1_copy(&current, &old);
    Connection::open(&old)
        .unwrap()
        .execute_batch("CREATE TABLE groups (something_else TEXT);")
        .unwrap();
    migration_fails_cleanly(&old);

    // Every statement of migration 2 but its last succeeds: the index name is taken.
    let old2 = dir.path().join("v1-index.db");
    make_v1_copy(&current, &old2);
    Connection::open(&old2)
        .unwrap()
        .execute_batch(
            "CREATE TABLE unrelated (x INTEGER);
             CREATE INDEX account_groups_by_group ON unrelated(x);",
        )
        .unwrap();
    migration_fails_cleanly(&old2);
    {
        let c = Connection::open(&old2).unwrap();
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name IN ('groups', 'account_groups')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "tables of the failed migration were left behind");
    }

    // Once the obstacle is gone, the same file upgrades and nothing was lost.
    for (path, obstacle) in [
        (&old, "DROP TABLE groups;"),
        (&old2, "DROP TABLE unrelated;"),
    ] {
        Connection::open(path)
            .unwrap()
            .execute_batch(obstacle)
            .unwrap();
        let v = Vault::open(path, store()).unwrap();
        assert!(v.check().unwrap().is_ok());
        let codes = v.codes(59).unwrap();
        assert_eq!(timed_code(&codes, 0), "94287082");
        assert!(matches!(
            codes[1].state,
            CodeState::CounterBased { counter: 3 }
        ));
        drop(v);
        assert_eq!(user_version(path), schema::LATEST);
    }
}
