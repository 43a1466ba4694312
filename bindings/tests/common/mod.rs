//! Fake foreign implementations shared by the integration tests: a `KeyStore` and a `Clock`
//! written in Rust against the exported traits, exactly as a shell implements them in Kotlin or
//! Swift, with switches to make them fail.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use countersign_core::crypto::{SecretBytes, random_bytes};
use countersign_core::platform::{KeyStore as CoreKeyStore, MemoryKeyStore};
use countersign_ffi::{
    AccountCode, AuthenticatorClient, Clock, CodeState, KeyStore, KeyStoreError,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// RFC 6238's seeds (ASCII digits, 20/32/64 bytes) in base32.
pub const SEED_SHA1: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
pub const SEED_SHA256: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";
pub const SEED_SHA512: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA";

/// RFC 6238 appendix B: (time, SHA1, SHA256, SHA512).
pub const RFC6238: [(u64, &str, &str, &str); 6] = [
    (59, "94287082", "46119246", "90693936"),
    (1_111_111_109, "07081804", "68084774", "25091201"),
    (1_111_111_111, "14050471", "67062674", "99943326"),
    (1_234_567_890, "89005924", "91819424", "93441116"),
    (2_000_000_000, "69279037", "90698825", "38618901"),
    (20_000_000_000, "65353130", "77737706", "47863826"),
];

/// RFC 4226 appendix D, counters 0..9.
pub const RFC4226: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

pub fn totp_uri(alg: &str, name: &str) -> String {
    let seed = match alg {
        "SHA1" => SEED_SHA1,
        "SHA256" => SEED_SHA256,
        "SHA512" => SEED_SHA512,
        other => panic!("no RFC seed for {other}"),
    };
    format!("otpauth://totp/ACME:{name}?secret={seed}&issuer=ACME&algorithm={alg}&digits=8")
}

pub fn hotp_uri(counter: u64, name: &str) -> String {
    format!("otpauth://hotp/Bank:{name}?secret={SEED_SHA1}&issuer=Bank&counter={counter}")
}

/// The code of a timed row, or a panic naming what the row holds instead.
pub fn timed(row: &AccountCode) -> String {
    match &row.state {
        CodeState::Timed { code, .. } => code.code.clone(),
        other => panic!("expected a timed code, got {other:?}"),
    }
}

/// A scratch directory removed on drop (the crate has no dev-dependencies to lean on).
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "countersign-ffi-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the fake store does on its next calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Wrap / unwrap for real (AES-256-GCM under the store's key).
    Works,
    Locked,
    Unavailable(String),
    WrongKey,
    Failed(String),
    /// What uniffi hands Rust when the foreign implementation throws something undeclared.
    Unexpected(String),
    /// Return these bytes instead of the real result.
    Garbage(Vec<u8>),
}

impl Behaviour {
    fn outcome(&self) -> Option<Result<Vec<u8>, KeyStoreError>> {
        match self {
            Self::Works => None,
            Self::Locked => Some(Err(KeyStoreError::Locked)),
            Self::Unavailable(m) => Some(Err(KeyStoreError::Unavailable { detail: m.clone() })),
            Self::WrongKey => Some(Err(KeyStoreError::WrongKey)),
            Self::Failed(m) => Some(Err(KeyStoreError::Failed { detail: m.clone() })),
            Self::Unexpected(m) => Some(Err(KeyStoreError::from(
                uniffi::UnexpectedUniFFICallbackError::new(m),
            ))),
            Self::Garbage(bytes) => Some(Ok(bytes.clone())),
        }
    }
}

type Hook = Arc<dyn Fn() + Send + Sync>;

/// A shell's key store, faked: the real work is core's in-memory AES-GCM store under a key the
/// test can hand to a second instance (an app restart).
pub struct FakeKeyStore {
    kind: String,
    kek: Vec<u8>,
    inner: MemoryKeyStore,
    pub wrap_behaviour: Mutex<Behaviour>,
    pub unwrap_behaviour: Mutex<Behaviour>,
    pub wrap_calls: AtomicUsize,
    pub unwrap_calls: AtomicUsize,
    /// Called at the start of every unwrap, outside any lock of the fake (re-entrancy tests).
    pub on_unwrap: Mutex<Option<Hook>>,
}

impl FakeKeyStore {
    pub fn new(kind: &str) -> Arc<Self> {
        Self::with_key(kind, random_bytes(32).unwrap().expose().to_vec())
    }

    pub fn with_key(kind: &str, kek: Vec<u8>) -> Arc<Self> {
        let inner = MemoryKeyStore::from_key(SecretBytes::from_slice(&kek)).unwrap();
        Arc::new(Self {
            kind: kind.to_string(),
            kek,
            inner,
            wrap_behaviour: Mutex::new(Behaviour::Works),
            unwrap_behaviour: Mutex::new(Behaviour::Works),
            wrap_calls: AtomicUsize::new(0),
            unwrap_calls: AtomicUsize::new(0),
            on_unwrap: Mutex::new(None),
        })
    }

    /// Another store object holding the same key, as after an app restart.
    pub fn same_key(&self) -> Arc<Self> {
        Self::with_key(&self.kind, self.kek.clone())
    }

    pub fn set_unwrap(&self, b: Behaviour) {
        *self.unwrap_behaviour.lock().unwrap() = b;
    }

    pub fn set_wrap(&self, b: Behaviour) {
        *self.wrap_behaviour.lock().unwrap() = b;
    }
}

impl KeyStore for FakeKeyStore {
    fn kind(&self) -> String {
        self.kind.clone()
    }

    fn wrap(&self, data_key: Vec<u8>) -> Result<Vec<u8>, KeyStoreError> {
        self.wrap_calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            data_key.len(),
            32,
            "the vault hands over a 32-byte data key"
        );
        let behaviour = self.wrap_behaviour.lock().unwrap().clone();
        if let Some(outcome) = behaviour.outcome() {
            return outcome;
        }
        self.inner
            .wrap(&SecretBytes::new(data_key))
            .map_err(|e| KeyStoreError::Failed {
                detail: e.to_string(),
            })
    }

    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreError> {
        self.unwrap_calls.fetch_add(1, Ordering::SeqCst);
        let hook = self.on_unwrap.lock().unwrap().clone();
        if let Some(hook) = hook {
            hook();
        }
        let behaviour = self.unwrap_behaviour.lock().unwrap().clone();
        if let Some(outcome) = behaviour.outcome() {
            return outcome;
        }
        self.inner
            .unwrap(&wrapped)
            .map(|k| k.expose().to_vec())
            .map_err(|_| KeyStoreError::WrongKey)
    }
}

/// A clock the test moves, in both directions.
pub struct FakeClock {
    pub now: AtomicU64,
    pub calls: AtomicUsize,
    pub on_now: Mutex<Option<Hook>>,
}

impl FakeClock {
    pub fn at(now: u64) -> Arc<Self> {
        Arc::new(Self {
            now: AtomicU64::new(now),
            calls: AtomicUsize::new(0),
            on_now: Mutex::new(None),
        })
    }

    pub fn set(&self, now: u64) {
        self.now.store(now, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_unix_seconds(&self) -> u64 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let hook = self.on_now.lock().unwrap().clone();
        if let Some(hook) = hook {
            hook();
        }
        self.now.load(Ordering::SeqCst)
    }
}

pub fn open(
    path: &str,
    store: &Arc<FakeKeyStore>,
    clock: &Arc<FakeClock>,
) -> Result<Arc<AuthenticatorClient>, countersign_ffi::CountersignError> {
    let store: Arc<dyn KeyStore> = store.clone();
    let clock: Arc<dyn Clock> = clock.clone();
    AuthenticatorClient::open(path.to_string(), store, Some(clock))
}

/// Runs `f` on another thread and fails the test if it does not finish within `secs`: a
/// deadlock becomes a failure instead of a hung test run.
pub fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{what} did not finish within {secs} s (deadlock?)"))
}
