//! Behaviour of the vault API on a real SQLite file.

use super::*;
use crate::platform::{KeyStoreError, MemoryKeyStore};

const RFC: &str =
    "otpauth://totp/RFC:6238?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8&issuer=RFC";
const HOTP: &str = "otpauth://hotp/Corp:dev?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0";

fn store() -> Arc<dyn KeyStore> {
    Arc::new(MemoryKeyStore::generate().unwrap())
}

fn new_vault() -> (tempfile::TempDir, Vault, Arc<dyn KeyStore>) {
    let dir = tempfile::tempdir().unwrap();
    let ks = store();
    let v = Vault::create(&dir.path().join("vault.db"), ks.clone()).unwrap();
    (dir, v, ks)
}

fn add(v: &Vault, uri: &str) -> AccountId {
    v.add_oath(&OtpAccount::parse(uri).unwrap(), 1_700_000_000)
        .unwrap()
}

#[test]
fn add_list_codes() {
    let (_d, v, _) = new_vault();
    let id = add(&v, RFC);
    let list = v.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, id);
    assert_eq!(list[0].issuer.as_deref(), Some("RFC"));
    assert_eq!(list[0].name, "6238");
    let codes = v.codes(59).unwrap();
    match &codes[0].state {
        CodeState::Timed { code, .. } => {
            assert_eq!(code.code.as_str(), "94287082");
            assert_eq!(code.valid_until, 60);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn survives_reopen_and_lock_cycle() {
    let (dir, v, ks) = new_vault();
    add(&v, RFC);
    v.lock();
    assert!(matches!(v.codes(59), Err(VaultError::Locked)));
    assert_eq!(v.list().unwrap().len(), 1, "the list works while locked");
    v.unlock().unwrap();
    assert_eq!(v.codes(59).unwrap().len(), 1);
    drop(v);
    let v = Vault::open(&dir.path().join("vault.db"), ks).unwrap();
    assert_eq!(v.codes(59).unwrap().len(), 1);
}

#[test]
fn hotp_next_persists_before_returning() {
    let (dir, v, ks) = new_vault();
    let id = add(&v, HOTP);
    assert!(matches!(
        v.codes(0).unwrap()[0].state,
        CodeState::CounterBased { counter: 0 }
    ));
    let a = v.next_hotp(id, 1).unwrap();
    let b = v.next_hotp(id, 2).unwrap();
    assert_eq!((a.code.as_str(), a.counter), ("755224", 0));
    assert_eq!((b.code.as_str(), b.counter), ("287082", 1));
    drop(v);
    let v = Vault::open(&dir.path().join("vault.db"), ks).unwrap();
    assert_eq!(v.next_hotp(id, 3).unwrap().code.as_str(), "359152");
    let totp = add(&v, RFC);
    assert!(matches!(
        v.next_hotp(totp, 4),
        Err(VaultError::WrongKind { .. })
    ));
    assert!(matches!(
        v.next_hotp(999, 4),
        Err(VaultError::NoSuchAccount(999))
    ));
}

#[test]
fn rename_reorder_groups_delete() {
    let (_d, v, _) = new_vault();
    let a = add(&v, RFC);
    let b = add(&v, HOTP);
    v.rename(a, Some("Renamed"), "me@example.org").unwrap();
    assert_eq!(v.summary(a).unwrap().issuer.as_deref(), Some("Renamed"));
    // The code does not change with the name.
    let CodeState::Timed { code, .. } = &v.codes(59).unwrap()[0].state else {
        panic!()
    };
    assert_eq!(code.code.as_str(), "94287082");
    v.reorder(&[b, a]).unwrap();
    assert_eq!(
        v.list().unwrap().iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![b, a]
    );
    assert!(matches!(v.reorder(&[a]), Err(VaultError::InvalidInput(_))));
    assert!(matches!(
        v.reorder(&[a, a]),
        Err(VaultError::InvalidInput(_))
    ));
    v.set_groups(a, &["Work".into(), "Banking".into()]).unwrap();
    assert_eq!(v.summary(a).unwrap().groups, vec!["Work", "Banking"]);
    v.set_groups(a, &["Work".into()]).unwrap();
    assert_eq!(v.summary(a).unwrap().groups, vec!["Work"]);
    assert!(matches!(
        v.set_groups(a, &["".into()]),
        Err(VaultError::InvalidInput(_))
    ));
    assert!(matches!(
        v.rename(a, None, "bad\u{7}name"),
        Err(VaultError::InvalidInput(_))
    ));
    v.delete(a).unwrap();
    assert!(matches!(v.delete(a), Err(VaultError::NoSuchAccount(_))));
    assert_eq!(v.list().unwrap().len(), 1);
    assert!(v.check().unwrap().is_ok());
}

#[test]
fn create_refuses_existing_file_and_open_refuses_missing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.db");
    std::fs::write(&p, b"precious").unwrap();
    assert!(matches!(
        Vault::create(&p, store()),
        Err(VaultError::AlreadyExists(_))
    ));
    assert_eq!(std::fs::read(&p).unwrap(), b"precious");
    assert!(matches!(
        Vault::open(&p, store()),
        Err(VaultError::Corrupt(_))
    ));
    assert_eq!(std::fs::read(&p).unwrap(), b"precious", "never rewritten");
    assert!(matches!(
        Vault::open(&dir.path().join("none.db"), store()),
        Err(VaultError::NotFound(_))
    ));
}

#[test]
fn wrong_key_store_is_typed() {
    let (dir, v, _) = new_vault();
    drop(v);
    let err = Vault::open(&dir.path().join("vault.db"), store()).unwrap_err();
    assert!(
        matches!(err, VaultError::KeyStore(KeyStoreError::WrongKey)),
        "{err:?}"
    );
}

#[test]
fn rewrap_moves_to_a_new_store() {
    let (dir, v, _) = new_vault();
    add(&v, RFC);
    let next = store();
    v.rewrap(next.clone()).unwrap();
    drop(v);
    let v = Vault::open(&dir.path().join("vault.db"), next).unwrap();
    assert_eq!(v.codes(59).unwrap().len(), 1);
}

#[cfg(unix)]
#[test]
fn file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, _v, _) = new_vault();
    let mode = std::fs::metadata(dir.path().join("vault.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn batch_add_keeps_good_entries_and_reports_bad_ones() {
    let (_d, v, _) = new_vault();
    let first = add(&v, HOTP);
    let good = OtpAccount::parse(RFC).unwrap();
    let mut bad_name = OtpAccount::parse(RFC).unwrap();
    bad_name.set_names(Some("Bank".into()), "bad\u{7}name".into());
    let mut third = OtpAccount::parse(HOTP).unwrap();
    third.set_names(Some("Corp".into()), "ops".into());
    let work = vec!["Work".to_string(), "Banking".to_string()];
    let empty_group = vec![String::new()];
    let entries = [
        BatchEntry {
            account: &good,
            groups: &work,
        },
        BatchEntry {
            account: &bad_name,
            groups: &[],
        },
        BatchEntry {
            account: &third,
            groups: &empty_group,
        },
    ];
    let out = v.add_oath_batch(&entries, 1_700_000_000).unwrap();
    assert_eq!(out.len(), 3);
    let BatchOutcome::Added {
        id: a,
        groups_refused: None,
    } = out[0]
    else {
        panic!("{:?}", out[0]);
    };
    assert!(
        matches!(&out[1], BatchOutcome::Refused(r) if r.contains("control")),
        "{:?}",
        out[1]
    );
    let BatchOutcome::Added {
        id: c,
        groups_refused: Some(ref why),
    } = out[2]
    else {
        panic!("{:?}", out[2]);
    };
    assert!(why.contains("empty"), "{why}");
    // In list order after the account that was there, with their groups and working codes.
    let ids: Vec<AccountId> = v.list().unwrap().iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![first, a, c]);
    assert_eq!(v.summary(a).unwrap().groups, vec!["Work", "Banking"]);
    assert!(v.summary(c).unwrap().groups.is_empty());
    assert_eq!(
        v.oath_account(a).unwrap().secret().expose(),
        good.secret().expose()
    );
    assert!(v.check().unwrap().is_ok());
}

#[test]
fn batch_add_failing_midway_adds_nothing() {
    let (_d, v, _) = new_vault();
    // A storage failure on the third insert, planted through a second connection to the file.
    let other = Connection::open(v.path()).unwrap();
    other
        .execute_batch(
            "CREATE TRIGGER fail_third BEFORE INSERT ON accounts
             WHEN (SELECT COUNT(*) FROM accounts) >= 2
             BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END;",
        )
        .unwrap();
    let accounts: Vec<OtpAccount> = (0..3)
        .map(|i| {
            let mut a = OtpAccount::parse(RFC).unwrap();
            a.set_names(Some("RFC".into()), format!("user{i}"));
            a
        })
        .collect();
    let entries: Vec<BatchEntry<'_>> = accounts
        .iter()
        .map(|a| BatchEntry {
            account: a,
            groups: &[],
        })
        .collect();
    assert!(matches!(
        v.add_oath_batch(&entries, 1),
        Err(VaultError::Storage(_))
    ));
    assert!(
        v.list().unwrap().is_empty(),
        "a failed batch leaves nothing behind"
    );
    other.execute_batch("DROP TRIGGER fail_third").unwrap();
    assert_eq!(v.add_oath_batch(&entries, 1).unwrap().len(), 3);
    assert_eq!(v.list().unwrap().len(), 3);
}

#[test]
fn batch_add_on_a_locked_vault_adds_nothing() {
    let (_d, v, _) = new_vault();
    let good = OtpAccount::parse(RFC).unwrap();
    v.lock();
    let entries = [BatchEntry {
        account: &good,
        groups: &[],
    }];
    assert!(matches!(
        v.add_oath_batch(&entries, 1),
        Err(VaultError::Locked)
    ));
    v.unlock().unwrap();
    assert!(v.list().unwrap().is_empty());
}
