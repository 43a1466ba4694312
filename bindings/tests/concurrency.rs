#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Concurrent callers of the exported API, and foreign callbacks that call back into the client
//! (the core must not hold a lock while it calls foreign code). Every wait is bounded, so a
//! deadlock fails the test instead of hanging the run.

mod common;

use common::{
    Behaviour, FakeClock, FakeKeyStore, RFC4226, Scratch, hotp_uri, open, timed, totp_uri, within,
};
use countersign_ffi::{AuthenticatorClient, CountersignError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock, mpsc};
use std::time::Duration;

const THREADS: usize = 8;

fn hotp_code(counter: u64) -> String {
    countersign_ffi::code_for_uri(hotp_uri(0, "x"), 0, Some(counter))
        .unwrap()
        .code
}

#[test]
fn codes_and_next_hotp_from_many_threads() {
    within(120, "codes + next_hotp from many threads", || {
        let scratch = Scratch::new("threads");
        let store = FakeKeyStore::new("fake-keystore");
        let clock = FakeClock::at(59);
        let client = open(&scratch.file("vault.db"), &store, &clock).unwrap();
        client.add_account_from_uri(totp_uri("SHA1", "a")).unwrap();
        client
            .add_account_from_uri(totp_uri("SHA512", "b"))
            .unwrap();
        let h = client
            .add_account_from_uri(hotp_uri(0, "h"))
            .unwrap()
            .account
            .id;
        let barrier = Arc::new(Barrier::new(THREADS));
        let per_thread = 30;
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let (client, barrier) = (client.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut issued = Vec::new();
                    for n in 0..per_thread {
                        match (i + n) % 3 {
                            0 => issued.push(client.next_hotp(h).unwrap()),
                            1 => {
                                let rows = client.codes().unwrap();
                                assert_eq!(timed(&rows[0]), "94287082");
                                assert_eq!(timed(&rows[1]), "90693936");
                            }
                            _ => assert_eq!(client.list_accounts().unwrap().len(), 3),
                        }
                    }
                    issued
                })
            })
            .collect();
        let issued: Vec<_> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let mut counters: Vec<u64> = issued.iter().map(|c| c.counter).collect();
        counters.sort_unstable();
        assert_eq!(
            counters,
            (0..issued.len() as u64).collect::<Vec<_>>(),
            "each counter once"
        );
        for c in &issued {
            assert_eq!(c.code, hotp_code(c.counter));
        }
        for c in issued.iter().filter(|c| c.counter < 10) {
            assert_eq!(c.code, RFC4226[c.counter as usize]);
        }
        assert!(client.check_vault().unwrap().database_ok);
    });
}

#[test]
fn two_clients_on_one_file_never_issue_a_counter_twice() {
    within(120, "two clients on one file", || {
        let scratch = Scratch::new("two-clients");
        let path = scratch.file("vault.db");
        let store = FakeKeyStore::new("fake-keystore");
        let clock = FakeClock::at(59);
        let a = open(&path, &store, &clock).unwrap();
        let h = a.add_account_from_uri(hotp_uri(0, "h")).unwrap().account.id;
        let b = open(&path, &store.same_key(), &clock).unwrap();
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let client = if i.is_multiple_of(2) {
                    a.clone()
                } else {
                    b.clone()
                };
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    (0..20)
                        .map(|_| client.next_hotp(h).unwrap().counter)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut counters: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        counters.sort_unstable();
        assert_eq!(counters, (0..(THREADS as u64 * 20)).collect::<Vec<_>>());
    });
}

#[test]
fn lock_and_unlock_racing_with_readers() {
    within(120, "lock/unlock racing with readers", || {
        let scratch = Scratch::new("lock-race");
        let store = FakeKeyStore::new("fake-keystore");
        let clock = FakeClock::at(59);
        let client = open(&scratch.file("vault.db"), &store, &clock).unwrap();
        for n in 0..5 {
            client
                .add_account_from_uri(totp_uri("SHA1", &format!("u{n}")))
                .unwrap();
        }
        let ok = Arc::new(AtomicUsize::new(0));
        let locked = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let (client, barrier) = (client.clone(), barrier.clone());
                let (ok, locked) = (ok.clone(), locked.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..40 {
                        let result = match i % 4 {
                            0 => {
                                client.lock();
                                Ok(())
                            }
                            1 => client.unlock(),
                            _ => client.codes().map(|rows| {
                                assert!(rows.iter().all(|r| timed(r) == "94287082"));
                            }),
                        };
                        match result {
                            Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                            Err(CountersignError::VaultLocked { .. }) => {
                                locked.fetch_add(1, Ordering::Relaxed)
                            }
                            Err(e) => panic!("unexpected {e:?}"),
                        };
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            ok.load(Ordering::Relaxed) + locked.load(Ordering::Relaxed),
            THREADS * 40
        );
        client.unlock().unwrap();
        assert_eq!(client.codes().unwrap().len(), 5);
    });
}

#[test]
fn failing_callbacks_from_many_threads() {
    within(120, "failing callbacks from many threads", || {
        let scratch = Scratch::new("flaky");
        let store = FakeKeyStore::new("fake-keystore");
        let clock = FakeClock::at(59);
        let client = open(&scratch.file("vault.db"), &store, &clock).unwrap();
        client.add_account_from_uri(totp_uri("SHA1", "a")).unwrap();
        client.lock();
        // Every other unwrap fails: the hook flips the behaviour before each call.
        let calls = Arc::new(AtomicUsize::new(0));
        let flip_store = Arc::downgrade(&store);
        let flip_calls = calls.clone();
        *store.on_unwrap.lock().unwrap() = Some(Arc::new(move || {
            let n = flip_calls.fetch_add(1, Ordering::SeqCst);
            if let Some(s) = flip_store.upgrade() {
                s.set_unwrap(if n.is_multiple_of(2) {
                    Behaviour::Locked
                } else {
                    Behaviour::Works
                });
            }
        }));
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (client, barrier) = (client.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut outcomes = (0, 0);
                    for _ in 0..25 {
                        match client.unlock() {
                            Ok(()) => outcomes.0 += 1,
                            Err(CountersignError::KeyStoreLocked { .. }) => outcomes.1 += 1,
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                    }
                    outcomes
                })
            })
            .collect();
        let (ok, locked) = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert_eq!(ok + locked, THREADS * 25);
        assert!(ok > 0 && locked > 0, "ok {ok}, locked {locked}");
        assert_eq!(calls.load(Ordering::SeqCst), THREADS * 25);
    });
}

/// The key store's unwrap is foreign code that may block (a biometric prompt). While it waits,
/// the rest of the client must stay usable: nothing may hold the vault's locks across the call.
#[test]
fn a_blocking_unwrap_does_not_block_other_callers() {
    let scratch = Scratch::new("blocking-unwrap");
    let store = FakeKeyStore::new("fake-keystore");
    let clock = FakeClock::at(59);
    let client = open(&scratch.file("vault.db"), &store, &clock).unwrap();
    let h = client
        .add_account_from_uri(hotp_uri(0, "h"))
        .unwrap()
        .account
        .id;
    client.add_account_from_uri(totp_uri("SHA1", "a")).unwrap();
    client.lock();

    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let entered_tx = Mutex::new(entered_tx);
    let release_rx = Mutex::new(release_rx);
    *store.on_unwrap.lock().unwrap() = Some(Arc::new(move || {
        entered_tx.lock().unwrap().send(()).unwrap();
        // Bounded, so a broken test cannot hang forever.
        let _ = release_rx
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(30));
    }));

    let unlocking = {
        let client = client.clone();
        std::thread::spawn(move || client.unlock())
    };
    entered_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    // The prompt is "on screen": other calls answer promptly.
    let c = client.clone();
    let (listed, codes, renamed) = within(10, "calls while unwrap blocks", move || {
        (
            c.list_accounts(),
            c.codes(),
            c.rename_account(h, None, "renamed".into()),
        )
    });
    assert_eq!(listed.unwrap().len(), 2);
    assert!(matches!(codes, Err(CountersignError::VaultLocked { .. })));
    renamed.unwrap();
    release_tx.send(()).unwrap();
    unlocking.join().unwrap().unwrap();
    assert_eq!(client.codes().unwrap().len(), 2);
}

/// Foreign callbacks may call back into the same client (a Kotlin clock that logs through the
/// client, a key store that reads the account list). That must not deadlock.
#[test]
fn callbacks_may_reenter_the_client() {
    within(60, "re-entrant callbacks", || {
        let scratch = Scratch::new("reentrant");
        let store = FakeKeyStore::new("fake-keystore");
        let clock = FakeClock::at(59);
        let client = open(&scratch.file("vault.db"), &store, &clock).unwrap();
        let h = client
            .add_account_from_uri(hotp_uri(0, "h"))
            .unwrap()
            .account
            .id;
        client.add_account_from_uri(totp_uri("SHA1", "a")).unwrap();

        let slot: Arc<OnceLock<Arc<AuthenticatorClient>>> = Arc::new(OnceLock::new());
        let seen = Arc::new(AtomicUsize::new(0));
        let hook = {
            let (slot, seen) = (slot.clone(), seen.clone());
            Arc::new(move || {
                if let Some(c) = slot.get() {
                    // Reads while the outer call is in progress.
                    seen.fetch_add(c.list_accounts().unwrap().len(), Ordering::SeqCst);
                    let _ = c.is_locked();
                    let _ = c.vault_path();
                }
            })
        };
        *clock.on_now.lock().unwrap() = Some(hook.clone());
        *store.on_unwrap.lock().unwrap() = Some(hook);
        slot.set(client.clone()).unwrap();

        assert_eq!(timed(&client.codes().unwrap()[1]), "94287082");
        assert_eq!(client.next_hotp(h).unwrap().code, RFC4226[0]);
        client.mark_used(h).unwrap();
        client
            .add_account_from_uri(totp_uri("SHA256", "b"))
            .unwrap();
        client.lock();
        client.unlock().unwrap();
        assert!(seen.load(Ordering::SeqCst) >= 5 * 2);
        // Break the cycle client -> clock -> hook -> client.
        *clock.on_now.lock().unwrap() = None;
        *store.on_unwrap.lock().unwrap() = None;
    });
}

#[test]
fn many_vaults_opened_in_parallel() {
    within(120, "many vaults in parallel", || {
        let scratch = Arc::new(Scratch::new("parallel"));
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let scratch = scratch.clone();
                std::thread::spawn(move || {
                    let store = FakeKeyStore::new("fake-keystore");
                    let clock = FakeClock::at(59);
                    let client = open(&scratch.file(&format!("v{i}.db")), &store, &clock).unwrap();
                    client.add_account_from_uri(totp_uri("SHA1", "a")).unwrap();
                    let h = client
                        .add_account_from_uri(hotp_uri(0, "h"))
                        .unwrap()
                        .account
                        .id;
                    let codes: Vec<String> =
                        (0..3).map(|_| client.next_hotp(h).unwrap().code).collect();
                    (timed(&client.codes().unwrap()[0]), codes)
                })
            })
            .collect();
        for h in handles {
            let (totp, hotp) = h.join().unwrap();
            assert_eq!(totp, "94287082");
            assert_eq!(hotp, RFC4226[..3]);
        }
    });
}
