#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The live-update watches and the logger, driven by fake foreign implementations: codes
//! arrive at the start and again only when they change, cancelling stops the thread, the
//! logger receives the core's events (never a secret) and survives a logger that panics.

mod common;

use common::{FakeClock, FakeKeyStore, SEED_SHA1, Scratch, open, timed, totp_uri};
use countersign_ffi::{
    AccountCode, ChallengesListener, CodesListener, CountersignError, LogLevel, Logger,
    PushChallenge, set_logger,
};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

struct Codes(Mutex<mpsc::Sender<Result<Vec<AccountCode>, CountersignError>>>);

impl CodesListener for Codes {
    fn on_codes(&self, codes: Vec<AccountCode>) {
        let _ = self.0.lock().unwrap().send(Ok(codes));
    }
    fn on_error(&self, error: CountersignError) {
        let _ = self.0.lock().unwrap().send(Err(error));
    }
}

#[test]
fn codes_arrive_at_start_and_when_they_change_then_stop_on_cancel() {
    let dir = Scratch::new("watch");
    let clock = FakeClock::at(59);
    let client = open(&dir.file("v.db"), &FakeKeyStore::new("fake"), &clock).unwrap();
    client.add_account_from_uri(totp_uri("SHA1", "a")).unwrap();
    let (tx, rx) = mpsc::channel();
    let sub = client
        .clone()
        .watch_codes(Arc::new(Codes(Mutex::new(tx))))
        .unwrap();
    let first = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(timed(&first[0]), "94287082"); // RFC 6238 at t = 59
    // Same time step: nothing new within two ticks.
    assert!(rx.recv_timeout(Duration::from_millis(2500)).is_err());
    // The clock moves into the next step: the new code arrives.
    clock.now.store(1_111_111_109, Ordering::SeqCst);
    let next = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(timed(&next[0]), "07081804");
    // A locked vault is reported, and codes come back after unlocking.
    client.lock();
    assert!(matches!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        Err(CountersignError::VaultLocked { .. })
    ));
    client.unlock().unwrap();
    let again = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(timed(&again[0]), "07081804");
    sub.cancel();
    assert!(sub.is_cancelled());
    clock.now.store(2_000_000_000, Ordering::SeqCst);
    // Cancelled: the thread ends and drops its sender, so the channel closes.
    loop {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(_) => continue, // at most one delivery already in flight
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("the watch kept running"),
        }
    }
}

#[test]
fn dropping_the_subscription_stops_the_watch() {
    let dir = Scratch::new("watch-drop");
    let clock = FakeClock::at(59);
    let client = open(&dir.file("v.db"), &FakeKeyStore::new("fake"), &clock).unwrap();
    let (tx, rx) = mpsc::channel();
    drop(
        client
            .clone()
            .watch_codes(Arc::new(Codes(Mutex::new(tx))))
            .unwrap(),
    );
    loop {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(_) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("the watch kept running"),
        }
    }
}

struct Challenges(Mutex<mpsc::Sender<Result<Vec<PushChallenge>, CountersignError>>>);

impl ChallengesListener for Challenges {
    fn on_challenges(&self, c: Vec<PushChallenge>) {
        let _ = self.0.lock().unwrap().send(Ok(c));
    }
    fn on_error(&self, error: CountersignError) {
        let _ = self.0.lock().unwrap().send(Err(error));
    }
}

#[test]
fn challenge_watch_reports_the_empty_list_once() {
    let dir = Scratch::new("watch-push");
    let clock = FakeClock::at(1_700_000_000);
    let client = open(&dir.file("v.db"), &FakeKeyStore::new("fake"), &clock).unwrap();
    let (tx, rx) = mpsc::channel();
    let sub = client
        .clone()
        .watch_challenges(Arc::new(Challenges(Mutex::new(tx))), 2)
        .unwrap();
    assert!(
        rx.recv_timeout(Duration::from_secs(5))
            .unwrap()
            .unwrap()
            .is_empty()
    );
    // Unchanged after the next poll: not sent again.
    assert!(rx.recv_timeout(Duration::from_millis(2500)).is_err());
    sub.cancel();
}

struct Lines(Mutex<Vec<(LogLevel, String, String)>>);

impl Logger for Lines {
    fn log(&self, level: LogLevel, target: String, message: String) {
        self.0.lock().unwrap().push((level, target, message));
    }
}

struct Panicking;

impl Logger for Panicking {
    fn log(&self, _: LogLevel, _: String, _: String) {
        panic!("a broken logger");
    }
}

#[test]
fn the_logger_gets_core_events_without_secrets_and_survives_a_broken_logger() {
    let lines = Arc::new(Lines(Mutex::new(Vec::new())));
    set_logger(Some(lines.clone()), LogLevel::Trace).unwrap();
    let dir = Scratch::new("logger");
    let clock = FakeClock::at(59);
    let client = open(&dir.file("v.db"), &FakeKeyStore::new("fake"), &clock).unwrap();
    let added = client.add_account_from_uri(totp_uri("SHA1", "a")).unwrap();
    client.codes().unwrap();
    let got = lines.0.lock().unwrap().clone();
    assert!(
        got.iter()
            .any(|(_, t, m)| t.starts_with("countersign_core") && m.contains("added account")),
        "{got:?}"
    );
    for (_, _, m) in &got {
        assert!(
            !m.contains(SEED_SHA1) && !m.contains("94287082"),
            "leaked: {m}"
        );
    }
    // Levels above the maximum are not sent.
    set_logger(Some(lines.clone()), LogLevel::Warn).unwrap();
    lines.0.lock().unwrap().clear();
    client
        .rename_account(added.account.id, None, "b".into())
        .unwrap();
    assert!(
        lines
            .0
            .lock()
            .unwrap()
            .iter()
            .all(|(l, _, _)| *l <= LogLevel::Warn)
    );
    // A logger that panics does not take the caller down.
    set_logger(Some(Arc::new(Panicking)), LogLevel::Trace).unwrap();
    client
        .add_account_from_uri(totp_uri("SHA256", "c"))
        .unwrap();
    set_logger(None, LogLevel::Trace).unwrap();
    assert_eq!(client.list_accounts().unwrap().len(), 2);
}
