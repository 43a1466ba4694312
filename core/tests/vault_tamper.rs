//! A vault file modified behind the vault's back (with SQLite directly) fails with a typed
//! error, affects only what was modified, and is never rewritten: after every failed open or
//! failed read the file is byte-for-byte what it was, and it still exists.
//!
//! Covered: sealed blobs swapped between rows, single flipped bytes (version, nonce,
//! ciphertext, tag), truncated and emptied blobs, a blob from another vault; the wrong data
//! key; every `meta` record replaced, damaged or deleted; and files that are not a vault at all
//! (garbage, truncated, another program's SQLite database, a newer schema).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use countersign_core::crypto::SecretBytes;
use countersign_core::platform::{KeyStore, KeyStoreError, MemoryKeyStore, PassphraseKeyStore};
use countersign_core::uri::OtpAccount;
use countersign_core::vault::{AccountId, CodeState, Vault, VaultError, schema};
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

const NOW: u64 = 1_700_000_000;

const URIS: &[&str] = &[
    "otpauth://totp/A:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8&issuer=A",
    "otpauth://hotp/B:bob?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&counter=3&issuer=B",
    "otpauth://totp/C:carol?secret=KRUGKIDROVUWG2ZAMJZG653OEBTG66BA&issuer=C",
    "steam://MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U",
    "otpauth://hotp/E:erin?secret=ONSWG4TFOQQGC3TEEBZWK5DJNZTXGIDB&issuer=E",
    "otpauth://totp/F:frank?secret=MZXW6YTBOI======&issuer=F",
    "otpauth://totp/G:grace?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA256&issuer=G",
];

fn memory_store(byte: u8) -> Arc<dyn KeyStore> {
    Arc::new(MemoryKeyStore::from_key(SecretBytes::from_slice(&[byte; 32])).unwrap())
}

/// A closed vault with the accounts of [`URIS`]; returns its path and the account ids in order.
fn make_vault(dir: &Path, name: &str, kek: u8) -> (PathBuf, Vec<AccountId>) {
    let path = dir.join(name);
    let vault = Vault::create(&path, memory_store(kek)).unwrap();
    let ids = URIS
        .iter()
        .map(|u| vault.add_oath(&OtpAccount::parse(u).unwrap(), NOW).unwrap())
        .collect();
    drop(vault);
    (path, ids)
}

fn sha256_file(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .to_vec()
}

/// Changes the file with SQLite directly, then closes it (checkpointing any WAL).
fn tamper(path: &Path, f: impl FnOnce(&Connection)) {
    let conn = Connection::open(path).unwrap();
    f(&conn);
    conn.close().unwrap();
}

fn sealed(conn: &Connection, id: AccountId) -> Vec<u8> {
    conn.query_row("SELECT sealed FROM accounts WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .unwrap()
}

fn set_sealed(conn: &Connection, id: AccountId, blob: &[u8]) {
    assert_eq!(
        conn.execute(
            "UPDATE accounts SET sealed = ?1 WHERE id = ?2",
            params![blob, id]
        )
        .unwrap(),
        1
    );
}

fn meta(conn: &Connection, key: &str) -> Vec<u8> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .unwrap()
}

fn set_meta(conn: &Connection, key: &str, value: &[u8]) {
    assert_eq!(
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = ?2",
            params![value, key]
        )
        .unwrap(),
        1
    );
}

/// Runs `f` (which opens the vault and drops it), then checks the file is what it was.
#[track_caller]
fn unchanged_after<T>(path: &Path, f: impl FnOnce() -> T) -> T {
    let before = sha256_file(path);
    let out = f();
    assert!(path.exists(), "{} was removed", path.display());
    assert_eq!(
        sha256_file(path),
        before,
        "{} was rewritten by a failed open or read",
        path.display()
    );
    out
}

fn state_ids(vault: &Vault, pred: impl Fn(&CodeState) -> bool) -> Vec<AccountId> {
    vault
        .codes(NOW)
        .unwrap()
        .into_iter()
        .filter(|c| pred(&c.state))
        .map(|c| c.account.id)
        .collect()
}

fn unreadable_in_codes(vault: &Vault) -> Vec<AccountId> {
    state_ids(vault, |s| matches!(s, CodeState::Unreadable))
}

/// Every read path reports exactly `bad` as unreadable, with the typed error, and the other
/// accounts still give correct codes.
#[track_caller]
fn assert_only_unreadable(vault: &Vault, ids: &[AccountId], bad: &[AccountId]) {
    assert_eq!(unreadable_in_codes(vault), bad);
    for id in ids {
        let got = vault.oath_account(*id);
        if bad.contains(id) {
            assert!(
                matches!(got, Err(VaultError::Unreadable(x)) if x == *id),
                "{id}: {got:?}"
            );
            let next = vault.next_hotp(*id, NOW);
            assert!(
                matches!(next, Err(VaultError::Unreadable(x)) if x == *id),
                "{id}: {next:?}"
            );
        } else {
            let account = got.unwrap();
            assert_eq!(
                account.kind(),
                OtpAccount::parse(URIS[position(ids, *id)]).unwrap().kind()
            );
        }
    }
    let report = vault.check().unwrap();
    assert!(report.database_ok, "{report:?}");
    assert_eq!(report.unreadable, bad, "{report:?}");
    assert_eq!(report.accounts_checked, ids.len());
    assert!(!report.is_ok());
    // Account A (RFC 6238, 8 digits), when readable, still has its code.
    if !bad.contains(&ids[0]) {
        let codes = vault.codes(59).unwrap();
        let CodeState::Timed { code, .. } = &codes[0].state else {
            panic!("{:?}", codes[0])
        };
        assert_eq!(code.code.as_str(), "94287082");
    }
}

fn position(ids: &[AccountId], id: AccountId) -> usize {
    ids.iter().position(|x| *x == id).unwrap()
}

// ---------------------------------------------------------------------------------------------
// (a), (b): sealed blobs

#[test]
fn swapped_blobs_are_unreadable_and_nothing_else_is() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ids) = make_vault(dir.path(), "vault.db", 1);
    let (a, b) = (ids[0], ids[1]); // a TOTP and an HOTP
    let (blob_a, blob_b) = {
        let conn = Connection::open(&path).unwrap();
        (sealed(&conn, a), sealed(&conn, b))
    };
    tamper(&path, |c| {
        set_sealed(c, a, &blob_b);
        set_sealed(c, b, &blob_a);
    });
    unchanged_after(&path, || {
        let vault = Vault::open(&path, memory_store(1)).unwrap();
        assert_only_unreadable(&vault, &ids, &[a, b]);
    });
    // The blobs were left alone: swapping them back restores both accounts.
    tamper(&path, |c| {
        set_sealed(c, a, &blob_a);
        set_sealed(c, b, &blob_b);
    });
    let vault = Vault::open(&path, memory_store(1)).unwrap();
    assert!(vault.check().unwrap().is_ok());
    assert_eq!(vault.next_hotp(b, NOW).unwrap().counter, 3);
}

#[test]
fn damaged_blobs_are_unreadable_with_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ids) = make_vault(dir.path(), "vault.db", 1);
    let (other, other_ids) = make_vault(dir.path(), "other.db", 1);
    let foreign = sealed(&Connection::open(&other).unwrap(), other_ids[2]);
    let flip = |id: AccountId, at: fn(usize) -> usize| {
        move |c: &Connection| {
            let mut blob = sealed(c, id);
            let i = at(blob.len());
            blob[i] ^= 0x01;
            set_sealed(c, id, &blob);
        }
    };
    // One kind of damage per account; ids[6] stays intact.
    tamper(&path, flip(ids[0], |_| 0)); // version byte
    tamper(&path, flip(ids[1], |_| 5)); // nonce
    tamper(&path, flip(ids[2], |n| n / 2)); // ciphertext
    tamper(&path, flip(ids[3], |n| n - 1)); // tag
    tamper(&path, |c| {
        let blob = sealed(c, ids[4]);
        set_sealed(c, ids[4], &blob[..blob.len() - 1]); // truncated
        set_sealed(c, ids[5], &[]); // emptied
    });
    unchanged_after(&path, || {
        let vault = Vault::open(&path, memory_store(1)).unwrap();
        assert_only_unreadable(&vault, &ids, &ids[..6]);
    });
    // A blob from another vault (same key-encryption key, same row id) does not open either.
    let mut bad = ids[..6].to_vec();
    tamper(&path, |c| set_sealed(c, ids[2], &foreign));
    assert_eq!(ids[2], other_ids[2]);
    unchanged_after(&path, || {
        let vault = Vault::open(&path, memory_store(1)).unwrap();
        assert_only_unreadable(&vault, &ids, &bad);
    });
    // A well-formed blob of this vault moved to a new row (a duplicated account) does not open.
    let dup: AccountId = 1000;
    tamper(&path, |c| {
        c.execute(
            "INSERT INTO accounts (id, kind, issuer, name, position, created_at, sealed)
             SELECT ?1, kind, issuer, name, 99, created_at, sealed FROM accounts WHERE id = ?2",
            params![dup, ids[6]],
        )
        .unwrap();
    });
    let mut all = ids.clone();
    all.push(dup);
    bad.push(dup);
    unchanged_after(&path, || {
        let vault = Vault::open(&path, memory_store(1)).unwrap();
        assert_only_unreadable(&vault, &all, &bad);
    });
}

// ---------------------------------------------------------------------------------------------
// (c): the wrong key

#[test]
fn wrong_data_key_is_a_typed_error_and_leaves_the_vault_locked() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ids) = make_vault(dir.path(), "vault.db", 1);
    unchanged_after(&path, || {
        let err = Vault::open(&path, memory_store(2)).unwrap_err();
        assert!(
            matches!(err, VaultError::KeyStore(KeyStoreError::WrongKey)),
            "{err:?}"
        );
        // Opened locked, the list still works; unlocking fails and it stays locked.
        let vault = Vault::open_locked(&path, memory_store(2)).unwrap();
        assert_eq!(vault.list().unwrap().len(), ids.len());
        let err = vault.unlock().unwrap_err();
        assert!(
            matches!(err, VaultError::KeyStore(KeyStoreError::WrongKey)),
            "{err:?}"
        );
        assert!(vault.is_locked());
        assert!(matches!(vault.codes(NOW), Err(VaultError::Locked)));
        assert!(matches!(
            vault.next_hotp(ids[1], NOW),
            Err(VaultError::Locked)
        ));
        assert!(matches!(vault.check(), Err(VaultError::Locked)));
        // Another kind of key store is reported as such.
        let pass: Arc<dyn KeyStore> = Arc::new(
            PassphraseKeyStore::new(Zeroizing::new(b"pw".to_vec()))
                .unwrap()
                .with_test_cost(),
        );
        let err = Vault::open(&path, pass).unwrap_err();
        assert!(
            matches!(&err, VaultError::KeyStoreMismatch { vault, given }
                if vault == "memory" && given == "passphrase-argon2id"),
            "{err:?}"
        );
    });
    // The right key still opens it.
    assert!(
        Vault::open(&path, memory_store(1))
            .unwrap()
            .check()
            .unwrap()
            .is_ok()
    );
}

// ---------------------------------------------------------------------------------------------
// (d): the meta records

#[test]
fn tampered_key_records_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ids) = make_vault(dir.path(), "vault.db", 1);
    // Another vault under the same key-encryption key: its wrapped key unwraps fine here.
    let (other, _) = make_vault(dir.path(), "other.db", 1);
    let (own, theirs) = {
        let (a, b) = (
            Connection::open(&path).unwrap(),
            Connection::open(&other).unwrap(),
        );
        let read = |c: &Connection| {
            ["vault_id", "wrapped_data_key", "key_check", "key_store"].map(|k| meta(c, k))
        };
        (read(&a), read(&b))
    };
    let restore = |path: &Path| {
        tamper(path, |c| {
            for (k, v) in ["vault_id", "wrapped_data_key", "key_check", "key_store"]
                .iter()
                .zip(&own)
            {
                c.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )
                .unwrap();
            }
        })
    };
    let wrong_key = |e: &VaultError| matches!(e, VaultError::KeyStore(KeyStoreError::WrongKey));
    let corrupt = |e: &VaultError| matches!(e, VaultError::Corrupt(_));
    let mut flipped_wrapped = own[1].clone();
    let last = flipped_wrapped.len() - 1;
    flipped_wrapped[last] ^= 0x80;
    let mut flipped_check = own[2].clone();
    flipped_check[20] ^= 0x01;

    type Case<'a> = (
        &'a str,
        Box<dyn Fn(&Connection) + 'a>,
        fn(&VaultError) -> bool,
    );
    let cases: Vec<Case> = vec![
        (
            "wrapped key of another vault (unwraps, fails the key check)",
            Box::new(|c| set_meta(c, "wrapped_data_key", &theirs[1])),
            wrong_key,
        ),
        (
            "wrapped key with a flipped bit",
            Box::new(|c| set_meta(c, "wrapped_data_key", &flipped_wrapped)),
            wrong_key,
        ),
        (
            "empty wrapped key",
            Box::new(|c| set_meta(c, "wrapped_data_key", &[])),
            wrong_key,
        ),
        (
            "key check of another vault",
            Box::new(|c| set_meta(c, "key_check", &theirs[2])),
            wrong_key,
        ),
        (
            "key check with a flipped bit",
            Box::new(|c| set_meta(c, "key_check", &flipped_check)),
            wrong_key,
        ),
        (
            "vault id of another vault",
            Box::new(|c| set_meta(c, "vault_id", &theirs[0])),
            wrong_key,
        ),
        (
            "wrapped key and key check of another vault",
            Box::new(|c| {
                set_meta(c, "wrapped_data_key", &theirs[1]);
                set_meta(c, "key_check", &theirs[2]);
            }),
            wrong_key,
        ),
        (
            "wrapped key record deleted",
            Box::new(|c| {
                c.execute("DELETE FROM meta WHERE key = 'wrapped_data_key'", [])
                    .unwrap();
            }),
            corrupt,
        ),
        (
            "key check record deleted",
            Box::new(|c| {
                c.execute("DELETE FROM meta WHERE key = 'key_check'", [])
                    .unwrap();
            }),
            corrupt,
        ),
        (
            "vault id record deleted",
            Box::new(|c| {
                c.execute("DELETE FROM meta WHERE key = 'vault_id'", [])
                    .unwrap();
            }),
            corrupt,
        ),
        (
            "key store record deleted",
            Box::new(|c| {
                c.execute("DELETE FROM meta WHERE key = 'key_store'", [])
                    .unwrap();
            }),
            corrupt,
        ),
        (
            "key store kind changed",
            Box::new(|c| set_meta(c, "key_store", b"passphrase-argon2id")),
            |e| matches!(e, VaultError::KeyStoreMismatch { .. }),
        ),
        (
            "meta table dropped",
            Box::new(|c| c.execute_batch("DROP TABLE meta").unwrap()),
            |e| matches!(e, VaultError::Corrupt(_) | VaultError::Storage(_)),
        ),
    ];
    for (what, change, expected) in &cases {
        tamper(&path, |c| change(c));
        unchanged_after(&path, || {
            let err = Vault::open(&path, memory_store(1)).unwrap_err();
            assert!(expected(&err), "{what}: {err:?}");
            // Whatever failed, a locked open either fails the same way or stays locked.
            if let Ok(v) = Vault::open_locked(&path, memory_store(1)) {
                let err = v.unlock().unwrap_err();
                assert!(expected(&err), "{what} (unlock): {err:?}");
                assert!(v.is_locked(), "{what}");
            }
        });
        if what.starts_with("meta table dropped") {
            tamper(&path, |c| {
                c.execute_batch(schema::MIGRATIONS[0].split(";").next().unwrap())
                    .unwrap()
            });
        }
        restore(&path);
        assert!(
            Vault::open(&path, memory_store(1)).is_ok(),
            "{what}: not restorable"
        );
    }

    // All three key records of another vault: the key opens, but no account does.
    tamper(&path, |c| {
        for (k, v) in ["vault_id", "wrapped_data_key", "key_check"]
            .iter()
            .zip(&theirs)
        {
            set_meta(c, k, v);
        }
    });
    unchanged_after(&path, || {
        let vault = Vault::open(&path, memory_store(1)).unwrap();
        assert_only_unreadable(&vault, &ids, &ids);
    });
}

// ---------------------------------------------------------------------------------------------
// (e): not a vault

/// Opening `path` fails as `expected`, and the file is unchanged and still there.
#[track_caller]
fn refused(path: &Path, expected: fn(&VaultError) -> bool, what: &str) {
    unchanged_after(path, || {
        for result in [
            Vault::open(path, memory_store(1)).map(|_| ()),
            Vault::open_locked(path, memory_store(1)).map(|_| ()),
            Vault::open_or_create(path, memory_store(1)).map(|_| ()),
        ] {
            let err = result.unwrap_err();
            assert!(expected(&err), "{what}: {err:?}");
        }
        assert!(
            matches!(
                Vault::create(path, memory_store(1)),
                Err(VaultError::AlreadyExists(_))
            ),
            "{what}"
        );
    });
}

fn corrupt(e: &VaultError) -> bool {
    matches!(e, VaultError::Corrupt(_))
}

#[test]
fn garbage_file_is_corrupt_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let mut x: u32 = 0x1234_5678;
    let garbage: Vec<u8> = (0..16_384)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    refused(&path, corrupt, "garbage");
    // A text file that happens to start like SQLite's header.
    let mut fake = b"SQLite format 3\0".to_vec();
    fake.extend_from_slice(&garbage[..4080]);
    std::fs::write(&path, &fake).unwrap();
    refused(&path, corrupt, "fake header");
}

#[test]
fn truncated_vault_is_corrupt_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = make_vault(dir.path(), "vault.db", 1);
    let full = std::fs::read(&path).unwrap();
    assert!(full.len() >= 4 * 4096, "{}", full.len());
    for len in [
        50,
        100,
        4096,
        4096 + 1000,
        full.len() / 2,
        full.len() - 4096,
    ] {
        std::fs::write(&path, &full[..len]).unwrap();
        refused(&path, corrupt, &format!("truncated to {len} bytes"));
    }
}

/// Opening `path` fails as `expected` on every entry point, and the file still exists (its
/// bytes are not compared: see the `*_untouched` tests marked as findings).
#[track_caller]
fn refused_typed(path: &Path, expected: fn(&VaultError) -> bool, what: &str) {
    for result in [
        Vault::open(path, memory_store(1)).map(|_| ()),
        Vault::open_locked(path, memory_store(1)).map(|_| ()),
        Vault::open_or_create(path, memory_store(1)).map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert!(expected(&err), "{what}: {err:?}");
    }
    assert!(path.exists(), "{what}: the file was removed");
}

fn write_empty(dir: &Path) -> PathBuf {
    let path = dir.join("vault.db");
    std::fs::write(&path, b"").unwrap();
    path
}

/// Another program's SQLite database (rollback journal, the SQLite default).
fn write_foreign(dir: &Path) -> PathBuf {
    let path = dir.join("notes.db");
    tamper(&path, |c| {
        c.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
             INSERT INTO notes (body) VALUES ('keep me');",
        )
        .unwrap()
    });
    path
}

/// Another program's database that uses `user_version` for its own schema, with a table that
/// happens to be called `accounts`.
fn write_foreign_v1(dir: &Path) -> PathBuf {
    let path = dir.join("app.db");
    tamper(&path, |c| {
        c.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT);
             INSERT INTO accounts (email) VALUES ('someone@example.org');
             PRAGMA user_version = 1;",
        )
        .unwrap()
    });
    path
}

fn journal_mode(path: &Path) -> String {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn empty_file_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_empty(dir.path());
    refused_typed(&path, corrupt, "empty file");
}

/// FINDING 2: `Vault::open` on a zero-length file writes a 4 KiB SQLite header into it
/// (`configure()` sets WAL mode before the schema is checked), yet reports `Corrupt("... the
/// file was left untouched")`.
#[test]
fn empty_file_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_empty(dir.path());
    refused(&path, corrupt, "empty file");
}

#[test]
fn foreign_sqlite_database_is_corrupt_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_foreign(dir.path());
    refused_typed(&path, corrupt, "foreign database");
    let body: String = Connection::open(&path)
        .unwrap()
        .query_row("SELECT body FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(body, "keep me");
}

/// FINDING 1: `Vault::open` on another program's SQLite database switches it to WAL mode
/// (header bytes 18, 19, 27 and 95 change, permanently) before noticing it is not a vault,
/// and then reports `Corrupt("... the file was left untouched")`.
#[test]
fn foreign_sqlite_database_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_foreign(dir.path());
    assert_eq!(journal_mode(&path), "delete");
    refused(&path, corrupt, "foreign database");
    assert_eq!(journal_mode(&path), "delete");
}

/// The same, in WAL mode: nothing to convert, so the file is untouched.
#[test]
fn foreign_wal_database_is_corrupt_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    tamper(&path, |c| {
        c.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
             INSERT INTO notes (body) VALUES ('keep me');",
        )
        .unwrap()
    });
    refused(&path, corrupt, "foreign WAL database");
}

#[test]
fn foreign_database_with_a_user_version_is_refused_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_foreign_v1(dir.path());
    refused_typed(
        &path,
        |e| matches!(e, VaultError::Corrupt(_) | VaultError::Storage(_)),
        "foreign database at user_version 1",
    );
    let email: String = Connection::open(&path)
        .unwrap()
        .query_row("SELECT email FROM accounts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(email, "someone@example.org");
}

/// FINDING 3: a file is recognised as a vault by `user_version` alone. Another program's
/// database at `user_version = 1` with an `accounts` table is *migrated* (columns `icon` and
/// `last_used_at` added to its table, `groups`/`account_groups` created, `user_version` set to
/// 2) and only then refused, as `Storage("no such table: meta")` rather than `Corrupt`.
#[test]
fn foreign_database_with_a_user_version_is_not_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_foreign_v1(dir.path());
    refused(&path, corrupt, "foreign database at user_version 1");
    let conn = Connection::open(&path).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), 1);
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('groups', 'account_groups')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0);
}

#[test]
fn newer_schema_is_newer_format_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = make_vault(dir.path(), "vault.db", 1);
    tamper(&path, |c| {
        c.pragma_update(None, "user_version", schema::LATEST + 1)
            .unwrap()
    });
    refused(
        &path,
        |e| {
            matches!(e, VaultError::NewerFormat { found, supported }
                if *found == schema::LATEST + 1 && *supported == schema::LATEST)
        },
        "newer schema",
    );
    // Far newer, too.
    tamper(&path, |c| {
        c.pragma_update(None, "user_version", 9_999).unwrap()
    });
    refused(
        &path,
        |e| matches!(e, VaultError::NewerFormat { found: 9_999, .. }),
        "much newer schema",
    );
    // And the data is intact once the version is put back.
    tamper(&path, |c| {
        c.pragma_update(None, "user_version", schema::LATEST)
            .unwrap()
    });
    let v = Vault::open(&path, memory_store(1)).unwrap();
    assert!(v.check().unwrap().is_ok());
    let CodeState::Timed { code, .. } = &v.codes(59).unwrap()[0].state else {
        panic!()
    };
    assert_eq!(code.code.as_str(), "94287082");
}
