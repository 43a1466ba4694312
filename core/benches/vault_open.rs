//! Cold open of a 1,000-account vault: `Vault::open` (open the file, check the schema, unwrap
//! the data key with a `MemoryKeyStore`, verify the key check) then `codes(at)` for every
//! account, beside the floor: a rusqlite connection to the same file reading the same rows
//! (`id`, `sealed`) and doing 1,000 AES-256-GCM opens with `ring` (same blob layout and
//! associated data) with no other work. "Cold" means a new `Vault` each run; the OS page cache
//! is warm. Prints medians, the ratio, a breakdown and the targets (<= 15 ms, <= 3x the floor);
//! asserts nothing about wall time.
//!
//! Run: `cargo bench -p countersign-core --bench vault_open`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

mod common;

use countersign_core::crypto::SecretBytes;
use countersign_core::platform::{KeyStore, MemoryKeyStore};
use countersign_core::uri::OtpAccount;
use countersign_core::vault::{CodeState, Vault};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use rusqlite::{Connection, OpenFlags};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 1_000;
const RUNS: usize = 41;
const AT: u64 = 1_700_000_000;
const TARGET_MS: f64 = 15.0;
const TARGET_RATIO: f64 = 3.0;

/// A measured step; what it returns is dropped after the clock stops (closing is not part of
/// opening).
type Job<'a> = Box<dyn FnMut() -> Box<dyn std::any::Any> + 'a>;

fn job<'a, T: 'static>(mut f: impl FnMut() -> T + 'a) -> Job<'a> {
    Box::new(move || Box::new(f()) as Box<dyn std::any::Any>)
}

/// Median wall time of each job over [`RUNS`] runs after one warm-up. The jobs take turns
/// (run 1 of each, then run 2 of each, …) so that load from elsewhere on the machine falls on
/// all of them alike and the ratios stay meaningful.
fn medians(jobs: &mut [Job]) -> Vec<Duration> {
    for j in jobs.iter_mut() {
        drop(j());
    }
    let mut times = vec![Vec::with_capacity(RUNS); jobs.len()];
    for _ in 0..RUNS {
        for (j, t) in jobs.iter_mut().zip(&mut times) {
            let start = Instant::now();
            let out = black_box(j());
            t.push(start.elapsed());
            drop(out);
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[RUNS / 2]
        })
        .collect()
}

/// The vault's associated data, replicated from `vault/payload.rs`:
/// `"countersign/vault/v1" ‖ 0 ‖ vault id ‖ 0 ‖ "account-secret" ‖ 0 ‖ row id (i64 BE)`.
fn aad(vault_id: &[u8], row: i64) -> Vec<u8> {
    let mut a = Vec::with_capacity(64);
    a.extend_from_slice(b"countersign/vault/v1");
    a.push(0);
    a.extend_from_slice(vault_id);
    a.push(0);
    a.extend_from_slice(b"account-secret");
    a.push(0);
    a.extend_from_slice(&row.to_be_bytes());
    a
}

/// The floor: connection, the same rows, 1,000 GCM opens (`version ‖ nonce ‖ ct ‖ tag`).
/// Returns the total plaintext length (and the connection, closed after the clock stops).
fn floor(path: &Path, key: &LessSafeKey) -> (usize, Connection) {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap();
    let vault_id: Vec<u8> = conn
        .query_row("SELECT value FROM meta WHERE key = 'vault_id'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut total = 0;
    {
        let mut stmt = conn
            .prepare("SELECT id, sealed FROM accounts ORDER BY position, id")
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let id: i64 = row.get(0).unwrap();
            let blob = row.get_ref(1).unwrap().as_blob().unwrap();
            assert_eq!(blob[0], 1, "blob version");
            let nonce = Nonce::try_assume_unique_for_key(&blob[1..1 + NONCE_LEN]).unwrap();
            let mut buf = blob[1 + NONCE_LEN..].to_vec();
            let plain = key
                .open_in_place(nonce, Aad::from(aad(&vault_id, id)), &mut buf)
                .unwrap();
            total += plain.len();
        }
    }
    (total, conn)
}

/// The URI inside a sealed OATH payload (vault/payload.rs, binary layout): a 23-byte header
/// whose last two bytes are the secret's length, the secret, then the URI to the end.
fn uri_of(plain: &[u8]) -> &str {
    assert_eq!(plain[0], 2, "binary OATH layout");
    let secret_len = usize::from(u16::from_be_bytes([plain[21], plain[22]]));
    std::str::from_utf8(&plain[23 + secret_len..]).unwrap()
}

/// The floor plus what the vault must do per account on top of decrypting: parse the payload
/// and the URI (which prepares the HMAC key) and compute the code. No summary columns, no
/// groups. Shows where the time between the floor and the vault goes.
fn floor_and_codes(path: &Path, key: &LessSafeKey) -> (Vec<String>, Connection) {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap();
    let vault_id: Vec<u8> = conn
        .query_row("SELECT value FROM meta WHERE key = 'vault_id'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut codes = Vec::with_capacity(ACCOUNTS);
    {
        let mut stmt = conn
            .prepare("SELECT id, sealed FROM accounts ORDER BY position, id")
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let id: i64 = row.get(0).unwrap();
            let blob = row.get_ref(1).unwrap().as_blob().unwrap();
            let nonce = Nonce::try_assume_unique_for_key(&blob[1..1 + NONCE_LEN]).unwrap();
            let mut buf = blob[1 + NONCE_LEN..].to_vec();
            let plain = key
                .open_in_place(nonce, Aad::from(aad(&vault_id, id)), &mut buf)
                .unwrap();
            let account = OtpAccount::parse(uri_of(plain)).unwrap();
            codes.push(
                account
                    .current_code_at(AT)
                    .unwrap()
                    .code
                    .as_str()
                    .to_string(),
            );
        }
    }
    (codes, conn)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let kek = [0x42u8; 32];
    let store: Arc<dyn KeyStore> =
        Arc::new(MemoryKeyStore::from_key(SecretBytes::from_slice(&kek)).unwrap());

    let accounts = common::accounts(ACCOUNTS);
    let setup = Instant::now();
    {
        let vault = Vault::create(&path, store.clone()).unwrap();
        for a in &accounts {
            vault.add_oath(a, AT).unwrap();
        }
    }
    let setup = setup.elapsed();

    // The data key, unwrapped once: the floor does no key-store work.
    let data_key = {
        let conn = Connection::open(&path).unwrap();
        let wrapped: Vec<u8> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'wrapped_data_key'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let raw = store.unwrap(&wrapped).unwrap();
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, raw.expose()).unwrap())
    };

    // Both sides do the same work, or the comparison means nothing.
    {
        let vault = Vault::open(&path, store.clone()).unwrap();
        let codes = vault.codes(AT).unwrap();
        assert_eq!(codes.len(), ACCOUNTS);
        let expected = OtpAccount::current_codes(&accounts, AT);
        for (c, e) in codes.iter().zip(&expected) {
            let CodeState::Timed { code, .. } = &c.state else {
                panic!("{:?}", c.state)
            };
            assert_eq!(code.code.as_str(), e.as_ref().unwrap().code.as_str());
        }
        let (plain, _) = floor(&path, &data_key);
        assert!(plain > ACCOUNTS * 50, "{plain} plaintext bytes");
        let (floor_codes, _) = floor_and_codes(&path, &data_key);
        for (c, f) in codes.iter().zip(&floor_codes) {
            let CodeState::Timed { code, .. } = &c.state else {
                panic!()
            };
            assert_eq!(code.code.as_str(), f);
        }
    }

    // Cold: a new connection each run, and no other connection to the file open.
    let cold = medians(&mut [
        job(|| {
            let v = Vault::open(&path, store.clone()).unwrap();
            let codes = v.codes(AT).unwrap();
            (codes, v)
        }),
        job(|| floor(&path, &data_key)),
        job(|| floor_and_codes(&path, &data_key)),
        job(|| Vault::open_locked(&path, store.clone()).unwrap()),
        job(|| Vault::open(&path, store.clone()).unwrap()),
    ]);
    let [t_vault, t_floor, t_floor_codes, t_open_locked, t_open] = cold[..] else {
        unreachable!()
    };
    // Warm: calls on an open vault, and the URI parser alone.
    let uris: Vec<String> = accounts.iter().map(|a| a.to_uri().to_string()).collect();
    let open = Vault::open(&path, store.clone()).unwrap();
    let warm = medians(&mut [
        job(|| open.codes(AT).unwrap()),
        job(|| open.list().unwrap()),
        job(|| {
            uris.iter()
                .map(|u| OtpAccount::parse(u).unwrap())
                .collect::<Vec<_>>()
        }),
    ]);
    let [t_codes, t_list, t_parse] = warm[..] else {
        unreachable!()
    };
    drop(open);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let per = |d: Duration| d.as_nanos() as f64 / ACCOUNTS as f64 / 1e3;
    println!(
        "vault_open: {ACCOUNTS} TOTP accounts, median of {RUNS} interleaved runs (setup: {:.1} s, \
         file {} KiB)",
        setup.as_secs_f64(),
        std::fs::metadata(&path).unwrap().len() / 1024
    );
    // Other work on the machine moves these figures; say how busy it was.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!(
            "  load average {} ({} CPUs)",
            load.join(" "),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }
    println!("  {:<46} {:>9} {:>12}", "", "ms", "us/account");
    for (name, t) in [
        ("Vault::open + codes(at)", t_vault),
        ("floor: connection + rows + 1,000 GCM opens", t_floor),
        ("  floor + payload + URI parse + code", t_floor_codes),
        ("  OtpAccount::parse alone", t_parse),
        ("  Vault::open_locked", t_open_locked),
        ("  Vault::open (open_locked + unlock)", t_open),
        ("  codes(at) on an open vault", t_codes),
        ("  list() on an open vault", t_list),
    ] {
        println!("  {name:<46} {:>9.3} {:>12.2}", ms(t), per(t));
    }
    let ratio = ms(t_vault) / ms(t_floor);
    println!("  ratio vault / floor = {ratio:.2}x");
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "  target <= {TARGET_MS} ms for {ACCOUNTS}: {}",
        verdict(ms(t_vault) <= TARGET_MS)
    );
    println!(
        "  target <= {TARGET_RATIO}x the floor: {}",
        verdict(ratio <= TARGET_RATIO)
    );
}
