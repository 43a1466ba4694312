#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The exported Rust API with fake foreign implementations of `KeyStore` and `Clock`: failing
//! and lying key stores, a clock that jumps, reopening a vault. Every failure must come back as
//! the matching `CountersignError`, and none may touch the vault file.

mod common;

use common::{
    Behaviour, FakeClock, FakeKeyStore, RFC4226, RFC6238, Scratch, hotp_uri, open, timed, totp_uri,
};
use countersign_ffi::{
    AuthenticatorClient, CodeState, CountersignError, DesktopKeyStore, KeyStore, KeyStoreError,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Whether an error is the one expected.
type Expect = fn(&CountersignError) -> bool;

/// Which CountersignError each way a key store can fail must become.
fn failures() -> Vec<(Behaviour, Expect)> {
    vec![
        (Behaviour::Locked, |e| {
            matches!(e, CountersignError::KeyStoreLocked { .. })
        }),
        (
            Behaviour::Unavailable("no keystore daemon".into()),
            |e| matches!(e, CountersignError::KeyStoreUnavailable { detail } if detail.contains("no keystore daemon")),
        ),
        (Behaviour::WrongKey, |e| {
            matches!(e, CountersignError::KeyStoreUnavailable { .. })
        }),
        (
            Behaviour::Failed("secure element said no".into()),
            |e| matches!(e, CountersignError::KeyStoreUnavailable { detail } if detail.contains("secure element said no")),
        ),
        (
            Behaviour::Unexpected("IllegalStateException: shell bug".into()),
            |e| matches!(e, CountersignError::KeyStoreUnavailable { detail } if detail.contains("shell bug")),
        ),
    ]
}

fn populated(
    scratch: &Scratch,
) -> (
    String,
    Arc<FakeKeyStore>,
    Arc<FakeClock>,
    Arc<AuthenticatorClient>,
) {
    let path = scratch.file("vault.db");
    let store = FakeKeyStore::new("fake-keystore");
    let clock = FakeClock::at(59);
    let client = open(&path, &store, &clock).unwrap();
    client
        .add_account_from_uri(totp_uri("SHA1", "alice"))
        .unwrap();
    client.add_account_from_uri(hotp_uri(0, "bob")).unwrap();
    (path, store, clock, client)
}

#[test]
fn unexpected_callback_error_converts_to_failed() {
    let e = KeyStoreError::from(uniffi::UnexpectedUniFFICallbackError::new("boom"));
    assert!(matches!(e, KeyStoreError::Failed { detail } if detail == "boom"));
}

#[test]
fn failing_unwrap_on_unlock_maps_to_the_matching_error() {
    let scratch = Scratch::new("unlock");
    let (_path, store, _clock, client) = populated(&scratch);
    for (behaviour, expected) in failures() {
        client.lock();
        store.set_unwrap(behaviour.clone());
        let err = client.unlock().unwrap_err();
        assert!(expected(&err), "{behaviour:?} became {err:?}");
        assert!(client.is_locked());
        assert!(matches!(
            client.codes(),
            Err(CountersignError::VaultLocked { .. })
        ));
        // The list still works, and the store recovers.
        assert_eq!(client.list_accounts().unwrap().len(), 2);
        store.set_unwrap(Behaviour::Works);
        client.unlock().unwrap();
        assert_eq!(timed(&client.codes().unwrap()[0]), "94287082");
    }
}

#[test]
fn failing_unwrap_on_open_maps_to_the_matching_error_and_keeps_the_file() {
    let scratch = Scratch::new("open");
    let (path, store, clock, client) = populated(&scratch);
    drop(client);
    let before = std::fs::read(&path).unwrap();
    for (behaviour, expected) in failures() {
        store.set_unwrap(behaviour.clone());
        let err = open(&path, &store, &clock).unwrap_err();
        assert!(expected(&err), "{behaviour:?} became {err:?}");
        assert!(
            std::fs::read(&path).unwrap() == before,
            "{behaviour:?} changed the vault"
        );
    }
    store.set_unwrap(Behaviour::Works);
    assert_eq!(
        open(&path, &store, &clock).unwrap().codes().unwrap().len(),
        2
    );
}

#[test]
fn failing_wrap_on_create_maps_to_the_matching_error_and_creates_nothing() {
    for (behaviour, expected) in failures() {
        let scratch = Scratch::new("create");
        let store = FakeKeyStore::new("fake-keystore");
        store.set_wrap(behaviour.clone());
        let err = open(&scratch.file("vault.db"), &store, &FakeClock::at(0)).unwrap_err();
        assert!(expected(&err), "{behaviour:?} became {err:?}");
        assert_eq!(
            scratch.entries(),
            Vec::<String>::new(),
            "{behaviour:?} left files"
        );
    }
}

#[test]
fn failing_store_on_rewrap_keeps_the_old_store() {
    let scratch = Scratch::new("rewrap");
    let (path, store, clock, client) = populated(&scratch);
    for (behaviour, expected) in failures() {
        let target = FakeKeyStore::new("target");
        target.set_wrap(behaviour.clone());
        let err = client.rewrap(target.clone()).unwrap_err();
        assert!(expected(&err), "wrap {behaviour:?} became {err:?}");
        let target = FakeKeyStore::new("target");
        target.set_unwrap(behaviour.clone());
        let err = client.rewrap(target.clone()).unwrap_err();
        assert!(expected(&err), "unwrap {behaviour:?} became {err:?}");
    }
    assert_eq!(client.check_vault().unwrap().key_store, "fake-keystore");
    drop(client);
    assert_eq!(
        open(&path, &store, &clock).unwrap().codes().unwrap().len(),
        2
    );
}

#[test]
fn garbage_from_unwrap_is_key_store_unavailable() {
    let scratch = Scratch::new("garbage");
    let (path, store, clock, client) = populated(&scratch);
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![0; 31],
        vec![0; 32],
        vec![0xA5; 32],
        vec![0; 33],
        vec![7; 64 * 1024],
    ];
    for bytes in &garbage {
        client.lock();
        store.set_unwrap(Behaviour::Garbage(bytes.clone()));
        let err = client.unlock().unwrap_err();
        assert!(
            matches!(err, CountersignError::KeyStoreUnavailable { .. }),
            "{} garbage bytes became {err:?}",
            bytes.len()
        );
        assert!(client.is_locked());
    }
    drop(client); // closes the connection (and checkpoints the WAL) before the file is compared
    let before = std::fs::read(&path).unwrap();
    for bytes in &garbage {
        store.set_unwrap(Behaviour::Garbage(bytes.clone()));
        let err = open(&path, &store, &clock).unwrap_err();
        assert!(
            matches!(err, CountersignError::KeyStoreUnavailable { .. }),
            "{err:?}"
        );
    }
    assert!(
        std::fs::read(&path).unwrap() == before,
        "a refused open changed the vault file"
    );
    store.set_unwrap(Behaviour::Works);
    assert_eq!(
        open(&path, &store, &clock).unwrap().codes().unwrap().len(),
        2
    );
}

#[test]
fn rewrap_to_a_store_that_returns_another_key_is_refused() {
    let scratch = Scratch::new("liar");
    let (path, store, clock, client) = populated(&scratch);
    let liar = FakeKeyStore::new("liar");
    liar.set_unwrap(Behaviour::Garbage(vec![0x42; 32]));
    let err = client.rewrap(liar).unwrap_err();
    assert!(
        matches!(err, CountersignError::KeyStoreUnavailable { .. }),
        "{err:?}"
    );
    drop(client);
    assert_eq!(
        open(&path, &store, &clock).unwrap().codes().unwrap().len(),
        2
    );
}

/// Known gap, reported: `Vault::create` keeps whatever `wrap` returned without checking that
/// `unwrap` gives the key back (rewrap does check). A store that cannot read its own blob yields
/// a vault that works until the first lock or restart, then never opens again.
#[test]
fn create_refuses_a_store_that_cannot_unwrap_its_own_blob() {
    let scratch = Scratch::new("create-roundtrip");
    let store = FakeKeyStore::new("fake-keystore");
    store.set_wrap(Behaviour::Garbage(vec![1, 2, 3]));
    let result = open(&scratch.file("vault.db"), &store, &FakeClock::at(0));
    assert!(
        matches!(result, Err(CountersignError::KeyStoreUnavailable { .. })),
        "a vault was created whose key cannot be unwrapped: {:?}",
        result.map(|_| ())
    );
}

/// What happens today in the case above, so the consequence is visible: the data written
/// before the first lock is stranded.
#[test]
fn store_that_cannot_unwrap_its_own_blob_strands_the_vault_after_lock() {
    let scratch = Scratch::new("stranded");
    let store = FakeKeyStore::new("fake-keystore");
    store.set_wrap(Behaviour::Garbage(vec![1, 2, 3]));
    let Ok(client) = open(&scratch.file("vault.db"), &store, &FakeClock::at(59)) else {
        return; // creation verified the round trip: the gap above is fixed
    };
    client
        .add_account_from_uri(totp_uri("SHA1", "alice"))
        .unwrap();
    client.lock();
    assert!(matches!(
        client.unlock(),
        Err(CountersignError::KeyStoreUnavailable { .. })
    ));
}

#[test]
fn reopen_with_the_same_fake_store_keeps_everything() {
    let scratch = Scratch::new("reopen");
    let path = scratch.file("vault.db");
    let store = FakeKeyStore::new("fake-keystore");
    let clock = FakeClock::at(59);
    let client = open(&path, &store, &clock).unwrap();
    let a = client
        .add_account_from_uri(totp_uri("SHA256", "alice"))
        .unwrap()
        .account
        .id;
    let h = client
        .add_account_from_uri(hotp_uri(0, "bob"))
        .unwrap()
        .account
        .id;
    for want in &RFC4226[..3] {
        assert_eq!(client.next_hotp(h).unwrap().code, *want);
    }
    client.set_account_groups(a, vec!["Work".into()]).unwrap();
    client
        .rename_account(a, Some("Renamed".into()), "al".into())
        .unwrap();
    client.reorder_accounts(vec![h, a]).unwrap();
    let listed = client.list_accounts().unwrap();
    assert_eq!(store.wrap_calls.load(Ordering::SeqCst), 1);
    drop(client);

    let again_store = store.same_key();
    let again = open(&path, &again_store, &FakeClock::at(59)).unwrap();
    assert_eq!(again_store.unwrap_calls.load(Ordering::SeqCst), 1);
    assert_eq!(again_store.wrap_calls.load(Ordering::SeqCst), 0);
    assert_eq!(again.list_accounts().unwrap(), listed);
    let codes = again.codes().unwrap();
    assert_eq!(codes[0].state, CodeState::CounterBased { counter: 3 });
    assert_eq!(timed(&codes[1]), "46119246");
    assert_eq!(again.next_hotp(h).unwrap().code, RFC4226[3]);
    let report = again.check_vault().unwrap();
    assert!(report.database_ok);
    assert_eq!(report.accounts_checked, 2);
    assert_eq!(report.key_store, "fake-keystore");
    assert_eq!(again.vault_path(), path);
}

#[test]
fn reopen_with_another_store_is_key_store_unavailable() {
    let scratch = Scratch::new("other-store");
    let (path, _store, clock, client) = populated(&scratch);
    drop(client);
    let before = std::fs::read(&path).unwrap();

    // Same kind, another key: the unwrap fails authentication.
    let err = open(&path, &FakeKeyStore::new("fake-keystore"), &clock).unwrap_err();
    assert!(
        matches!(err, CountersignError::KeyStoreUnavailable { .. }),
        "{err:?}"
    );

    // Another kind: refused before the store is asked anything, both kinds named.
    let other = FakeKeyStore::new("android-keystore");
    let err = open(&path, &other, &clock).unwrap_err();
    match &err {
        CountersignError::KeyStoreUnavailable { detail } => {
            assert!(
                detail.contains("fake-keystore") && detail.contains("android-keystore"),
                "{detail}"
            );
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(other.unwrap_calls.load(Ordering::SeqCst), 0);

    // A built-in store.
    let err = AuthenticatorClient::open_desktop(path.clone(), DesktopKeyStore::Ephemeral, None)
        .unwrap_err();
    assert!(
        matches!(err, CountersignError::KeyStoreUnavailable { .. }),
        "{err:?}"
    );
    assert!(
        std::fs::read(&path).unwrap() == before,
        "a refused open changed the vault file"
    );
}

#[test]
fn clock_jumping_backwards_and_forwards_moves_the_codes() {
    let scratch = Scratch::new("clock");
    let store = FakeKeyStore::new("fake-keystore");
    let clock = FakeClock::at(RFC6238[0].0);
    let client = open(&scratch.file("vault.db"), &store, &clock).unwrap();
    for (alg, name) in [("SHA1", "a"), ("SHA256", "b"), ("SHA512", "c")] {
        client.add_account_from_uri(totp_uri(alg, name)).unwrap();
    }
    let h = client
        .add_account_from_uri(hotp_uri(0, "h"))
        .unwrap()
        .account
        .id;

    // Forwards through the RFC table, then backwards through it, then jumps.
    let forwards = RFC6238.iter();
    let backwards = RFC6238.iter().rev();
    let mut issued = Vec::new();
    for (t, sha1, sha256, sha512) in forwards.chain(backwards) {
        clock.set(*t);
        let rows = client.codes().unwrap();
        let got: Vec<String> = rows[..3].iter().map(timed).collect();
        assert_eq!(got, [*sha1, *sha256, *sha512], "codes at {t}");
        for row in &rows[..3] {
            let CodeState::Timed { code, period, .. } = &row.state else {
                unreachable!()
            };
            assert_eq!(*period, 30);
            assert_eq!(code.valid_from, t - t % 30);
            assert_eq!(code.valid_until, code.valid_from + 30);
        }
        // HOTP does not care about the clock: counters only go up.
        issued.push(client.next_hotp(h).unwrap().counter);
        client.mark_used(h).unwrap();
        let entry = client
            .list_accounts()
            .unwrap()
            .into_iter()
            .find(|e| e.id == h)
            .unwrap();
        assert_eq!(
            entry.last_used_at,
            Some(*t),
            "last use follows the clock, even backwards"
        );
    }
    assert_eq!(issued, (0..12).collect::<Vec<u64>>());

    // The edges of time: no panic, a code or a typed error.
    for t in [
        0,
        1,
        29,
        30,
        u64::from(u32::MAX),
        i64::MAX as u64,
        u64::MAX - 1,
        u64::MAX,
    ] {
        clock.set(t);
        match client.codes() {
            Ok(rows) => assert!(rows.len() >= 4),
            Err(e) => assert!(
                matches!(
                    e,
                    CountersignError::InvalidInput { .. } | CountersignError::Unsupported { .. }
                ),
                "at {t}: {e:?}"
            ),
        }
        client
            .add_account_from_uri(totp_uri("SHA1", &format!("t{t}")))
            .map(|_| ())
            .unwrap();
    }
    clock.set(59);
    assert_eq!(timed(&client.codes().unwrap()[0]), "94287082");
    assert!(clock.calls.load(Ordering::SeqCst) > 24);
}

#[test]
fn created_at_comes_from_the_injected_clock() {
    let scratch = Scratch::new("created");
    let store = FakeKeyStore::new("fake-keystore");
    let clock = FakeClock::at(1_700_000_000);
    let client = open(&scratch.file("vault.db"), &store, &clock).unwrap();
    let added = client.add_account_from_uri(totp_uri("SHA1", "a")).unwrap();
    assert_eq!(added.account.created_at, 1_700_000_000);
    clock.set(1_000);
    let older = client.add_account_from_uri(totp_uri("SHA1", "b")).unwrap();
    assert_eq!(older.account.created_at, 1_000);
}

#[test]
fn the_system_clock_is_the_default() {
    let scratch = Scratch::new("system-clock");
    let store: Arc<dyn KeyStore> = FakeKeyStore::new("fake-keystore");
    let client = AuthenticatorClient::open(scratch.file("vault.db"), store, None).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let added = client.add_account_from_uri(totp_uri("SHA1", "a")).unwrap();
    assert!(added.account.created_at.abs_diff(now) <= 5);
}

#[test]
fn desktop_passphrase_file_round_trip() {
    let scratch = Scratch::new("passphrase");
    let pass = scratch.file("passphrase");
    std::fs::write(&pass, "rust passphrase\n").unwrap();
    let path = scratch.file("vault.db");
    let store = DesktopKeyStore::PassphraseFile { path: pass.clone() };
    let clock: Arc<dyn countersign_ffi::Clock> = FakeClock::at(59);
    let client =
        AuthenticatorClient::open_desktop(path.clone(), store.clone(), Some(clock.clone()))
            .unwrap();
    client.add_account_from_uri(totp_uri("SHA1", "a")).unwrap();
    assert_eq!(
        client.check_vault().unwrap().key_store,
        "passphrase-argon2id"
    );
    drop(client);
    let again =
        AuthenticatorClient::open_desktop(path.clone(), store, Some(clock.clone())).unwrap();
    assert_eq!(timed(&again.codes().unwrap()[0]), "94287082");
    drop(again);
    std::fs::write(&pass, "another passphrase\n").unwrap();
    let err = AuthenticatorClient::open_desktop(
        path,
        DesktopKeyStore::PassphraseFile { path: pass },
        Some(clock),
    )
    .unwrap_err();
    assert!(
        matches!(err, CountersignError::KeyStoreUnavailable { .. }),
        "{err:?}"
    );
}
