//! One vault shared by several threads: readers list codes in a loop while a writer adds
//! accounts and other threads hand out HOTP codes. Every call succeeds, every list a reader sees
//! is consistent (list order, names, correct codes for the secrets at the time asked, HOTP
//! counters that never go back), and no HOTP counter is handed out twice or skipped.
//!
//! Codes are checked against an independent RFC 4226/6238 implementation on `ring`'s HMAC.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use countersign_core::platform::{KeyStore, MemoryKeyStore};
use countersign_core::uri::OtpAccount;
use countersign_core::vault::{AccountCode, AccountId, CodeState, Vault, VaultError};
use data_encoding::BASE32_NOPAD;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const T0: u64 = 1_700_000_000;
const ACCOUNTS: usize = 48;
const READERS: usize = 3;
const HOTP_THREADS: usize = 2;
/// Codes each HOTP thread hands out at least.
const HOTP_PER_THREAD: usize = 60;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Totp {
        alg: &'static str,
        digits: u32,
        period: u64,
    },
    Hotp {
        start: u64,
    },
    Steam,
}

#[derive(Debug)]
struct Spec {
    name: String,
    uri: String,
    secret: Vec<u8>,
    kind: Kind,
}

fn specs() -> Vec<Spec> {
    (0..ACCOUNTS)
        .map(|i| {
            let name = format!("acct-{i:02}");
            let digest = ring::digest::digest(&ring::digest::SHA512, name.as_bytes());
            let secret = digest.as_ref()[..10 + (i % 4) * 10].to_vec(); // 80 to 240 bits
            let b32 = BASE32_NOPAD.encode(&secret);
            let kind = match i % 6 {
                0 | 3 => Kind::Hotp {
                    start: (i as u64) * 3,
                },
                1 => Kind::Totp {
                    alg: "SHA1",
                    digits: 6,
                    period: 30,
                },
                2 => Kind::Totp {
                    alg: "SHA256",
                    digits: 8,
                    period: 60,
                },
                4 => Kind::Totp {
                    alg: "SHA512",
                    digits: 7,
                    period: 15,
                },
                _ => Kind::Steam,
            };
            let uri = match kind {
                Kind::Totp {
                    alg,
                    digits,
                    period,
                } => format!(
                    "otpauth://totp/Conc:{name}?secret={b32}&algorithm={alg}&digits={digits}\
                     &period={period}&issuer=Conc"
                ),
                Kind::Hotp { start } => {
                    format!("otpauth://hotp/Conc:{name}?secret={b32}&counter={start}&issuer=Conc")
                }
                Kind::Steam => format!("otpauth://totp/Steam:{name}?secret={b32}&issuer=Steam"),
            };
            Spec {
                name,
                uri,
                secret,
                kind,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Reference OATH codes (ring HMAC, not the core's RustCrypto HMAC).

fn truncated(alg: &str, secret: &[u8], counter: u64) -> u32 {
    let alg = match alg {
        "SHA1" => ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        "SHA256" => ring::hmac::HMAC_SHA256,
        "SHA512" => ring::hmac::HMAC_SHA512,
        other => panic!("{other}"),
    };
    let tag = ring::hmac::sign(&ring::hmac::Key::new(alg, secret), &counter.to_be_bytes());
    let t = tag.as_ref();
    let off = usize::from(t[t.len() - 1] & 0x0f);
    u32::from_be_bytes([t[off], t[off + 1], t[off + 2], t[off + 3]]) & 0x7fff_ffff
}

fn decimal(v: u32, digits: u32) -> String {
    format!("{:0width$}", v % 10u32.pow(digits), width = digits as usize)
}

fn steam(v: u32) -> String {
    const ALPHABET: &[u8] = b"23456789BCDFGHJKMNPQRTVWXY";
    let mut rest = v;
    (0..5)
        .map(|_| {
            let c = ALPHABET[(rest % 26) as usize] as char;
            rest /= 26;
            c
        })
        .collect()
}

/// The expected code and window of a time-based account at `at`.
fn expected_timed(spec: &Spec, at: u64) -> (String, u64, u64) {
    let (period, code) = match spec.kind {
        Kind::Totp {
            alg,
            digits,
            period,
        } => (
            period,
            decimal(truncated(alg, &spec.secret, at / period), digits),
        ),
        Kind::Steam => (30, steam(truncated("SHA1", &spec.secret, at / 30))),
        Kind::Hotp { .. } => panic!("{} is HOTP", spec.name),
    };
    let from = at / period * period;
    (code, from, from + period)
}

fn expected_hotp(spec: &Spec, counter: u64) -> String {
    decimal(truncated("SHA1", &spec.secret, counter), 6)
}

// ---------------------------------------------------------------------------------------------

fn store() -> Arc<dyn KeyStore> {
    Arc::new(MemoryKeyStore::generate().unwrap())
}

fn by_name(specs: &[Spec]) -> HashMap<String, usize> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect()
}

/// Checks one `codes(at)` result; `last_counter` carries the HOTP counters this reader saw
/// before, which must never go back.
fn check_list(
    codes: &[AccountCode],
    at: u64,
    specs: &[Spec],
    index: &HashMap<String, usize>,
    last_counter: &mut HashMap<AccountId, u64>,
) -> Result<(), String> {
    for pair in codes.windows(2) {
        if pair[0].account.id >= pair[1].account.id {
            return Err(format!(
                "list order: id {} before id {}",
                pair[0].account.id, pair[1].account.id
            ));
        }
        if pair[0].account.position >= pair[1].account.position {
            return Err(format!("positions not increasing: {:?}", pair));
        }
    }
    for c in codes {
        let spec = &specs[*index
            .get(&c.account.name)
            .ok_or_else(|| format!("unknown account {:?}", c.account))?];
        match (&c.state, spec.kind) {
            (CodeState::Timed { code, .. }, Kind::Totp { .. } | Kind::Steam) => {
                let (want, from, until) = expected_timed(spec, at);
                if code.code.as_str() != want
                    || code.valid_from != from
                    || code.valid_until != until
                {
                    return Err(format!(
                        "{} at {at}: got {} [{}, {}), want {want} [{from}, {until})",
                        spec.name,
                        code.code.as_str(),
                        code.valid_from,
                        code.valid_until
                    ));
                }
            }
            (CodeState::CounterBased { counter }, Kind::Hotp { start }) => {
                let last = last_counter.entry(c.account.id).or_insert(start);
                if *counter < *last {
                    return Err(format!(
                        "{}: counter went back from {last} to {counter}",
                        spec.name
                    ));
                }
                *last = *counter;
            }
            (state, kind) => return Err(format!("{}: {state:?} for {kind:?}", spec.name)),
        }
    }
    Ok(())
}

/// A handed-out HOTP code.
type Issued = (AccountId, u64, String);

#[test]
fn readers_writer_and_hotp_threads_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Arc::new(Vault::create(&dir.path().join("vault.db"), store()).unwrap());
    let specs = Arc::new(specs());
    let index = Arc::new(by_name(&specs));
    // A few accounts before the threads start, so everyone has work from the first moment.
    for s in &specs[..6] {
        vault
            .add_oath(&OtpAccount::parse(&s.uri).unwrap(), T0)
            .unwrap();
    }
    let writer_done = Arc::new(AtomicBool::new(false));
    let issued: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let started = Instant::now();

    let hand_out = |vault: &Vault, id: AccountId, issued: &Mutex<Vec<Issued>>| {
        let h = vault
            .next_hotp(id, T0)
            .map_err(|e| format!("next_hotp({id}): {e:?}"))?;
        issued
            .lock()
            .unwrap()
            .push((id, h.counter, h.code.as_str().to_string()));
        Ok::<(), String>(())
    };
    let hotp_ids = |vault: &Vault| -> Result<Vec<AccountId>, String> {
        Ok(vault
            .list()
            .map_err(|e| format!("list: {e:?}"))?
            .into_iter()
            .filter(|s| matches!(specs[index[&s.name]].kind, Kind::Hotp { .. }))
            .map(|s| s.id)
            .collect())
    };

    let reads = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let result = (|| {
                for (n, s) in specs[6..].iter().enumerate() {
                    vault
                        .add_oath(&OtpAccount::parse(&s.uri).unwrap(), T0)
                        .map_err(|e| format!("add {}: {e:?}", s.name))?;
                    if n % 3 == 0 {
                        let ids = hotp_ids(&vault)?;
                        hand_out(&vault, ids[n % ids.len()], &issued)?;
                    }
                }
                Ok::<(), String>(())
            })();
            writer_done.store(true, Ordering::SeqCst);
            result
        });
        let hotp_threads: Vec<_> = (0..HOTP_THREADS)
            .map(|t| {
                let (vault, issued, writer_done) = (&vault, &issued, &writer_done);
                scope.spawn(move || {
                    let mut n = 0usize;
                    while n < HOTP_PER_THREAD || !writer_done.load(Ordering::SeqCst) {
                        let ids = hotp_ids(vault)?;
                        // Both threads mostly hit the same few accounts, to contend.
                        hand_out(vault, ids[(n + t) % ids.len().min(3)], issued)?;
                        n += 1;
                    }
                    Ok::<usize, String>(n)
                })
            })
            .collect();
        let readers: Vec<_> = (0..READERS)
            .map(|r| {
                let (vault, specs, index, writer_done) = (&vault, &specs, &index, &writer_done);
                scope.spawn(move || {
                    let mut last_counter = HashMap::new();
                    let mut last_len = 0;
                    let mut reads = 0usize;
                    let mut at = T0 + r as u64 * 1_000;
                    while !writer_done.load(Ordering::SeqCst) || reads < 20 {
                        at += 7;
                        let codes = vault.codes(at).map_err(|e| format!("codes: {e:?}"))?;
                        if codes.len() < last_len {
                            return Err(format!("list shrank from {last_len} to {}", codes.len()));
                        }
                        last_len = codes.len();
                        check_list(&codes, at, specs, index, &mut last_counter)
                            .map_err(|e| format!("reader {r}, read {reads}: {e}"))?;
                        reads += 1;
                    }
                    Ok::<usize, String>(reads)
                })
            })
            .collect();
        writer.join().unwrap().unwrap();
        for h in hotp_threads {
            h.join().unwrap().unwrap();
        }
        readers
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect::<Vec<usize>>()
    });

    // Every HOTP code handed out: unique per (account, counter), no gaps, correct, and the
    // stored counter is the next one.
    let issued = issued.lock().unwrap().clone();
    let mut per_account: BTreeMap<AccountId, Vec<(u64, String)>> = BTreeMap::new();
    for (id, counter, code) in &issued {
        per_account
            .entry(*id)
            .or_default()
            .push((*counter, code.clone()));
    }
    let final_codes = vault.codes(T0).unwrap();
    assert_eq!(final_codes.len(), ACCOUNTS);
    check_list(&final_codes, T0, &specs, &index, &mut HashMap::new()).unwrap();
    for (id, mut got) in per_account {
        let summary = vault.summary(id).unwrap();
        let spec = &specs[index[&summary.name]];
        let Kind::Hotp { start } = spec.kind else {
            panic!()
        };
        got.sort();
        let counters: Vec<u64> = got.iter().map(|(c, _)| *c).collect();
        let want: Vec<u64> = (start..start + got.len() as u64).collect();
        assert_eq!(counters, want, "{}: counters handed out", spec.name);
        for (counter, code) in &got {
            assert_eq!(
                code,
                &expected_hotp(spec, *counter),
                "{} #{counter}",
                spec.name
            );
        }
        let stored = final_codes
            .iter()
            .find(|c| c.account.id == id)
            .map(|c| c.state.clone());
        assert_eq!(
            stored,
            Some(CodeState::CounterBased {
                counter: start + got.len() as u64
            })
        );
    }
    assert!(vault.check().unwrap().is_ok());
    println!(
        "vault_concurrency: {} HOTP codes, {ACCOUNTS} accounts, reads per reader {reads:?}, \
         {:.2} s",
        issued.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(issued.len() >= HOTP_THREADS * HOTP_PER_THREAD);
}

/// Locking and unlocking while others read: a call either sees the vault unlocked and returns
/// a complete, correct list, or fails with `Locked` — nothing else, nothing partial.
#[test]
fn lock_and_unlock_while_reading() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::create(&dir.path().join("vault.db"), store()).unwrap();
    let specs = specs();
    let index = by_name(&specs);
    for s in &specs[..12] {
        vault
            .add_oath(&OtpAccount::parse(&s.uri).unwrap(), T0)
            .unwrap();
    }
    let stop = AtomicBool::new(false);
    let (ok, locked) = std::thread::scope(|scope| {
        let readers: Vec<_> = (0..2)
            .map(|r| {
                let (vault, specs, index, stop) = (&vault, &specs, &index, &stop);
                scope.spawn(move || {
                    let (mut ok, mut locked) = (0usize, 0usize);
                    let mut at = T0 + r;
                    while !stop.load(Ordering::SeqCst) {
                        at += 13;
                        match vault.codes(at) {
                            Ok(codes) => {
                                assert_eq!(codes.len(), 12);
                                check_list(&codes, at, specs, index, &mut HashMap::new()).unwrap();
                                ok += 1;
                            }
                            Err(VaultError::Locked) => locked += 1,
                            Err(e) => panic!("{e:?}"),
                        }
                        match vault.list() {
                            Ok(l) => assert_eq!(l.len(), 12),
                            Err(e) => panic!("list while locking: {e:?}"),
                        }
                    }
                    (ok, locked)
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_millis(1_500);
        let mut cycles = 0;
        while Instant::now() < deadline || cycles < 50 {
            vault.lock();
            std::thread::sleep(Duration::from_micros(300));
            vault.unlock().unwrap();
            std::thread::sleep(Duration::from_micros(300));
            cycles += 1;
        }
        stop.store(true, Ordering::SeqCst);
        readers
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    });
    println!("lock_and_unlock_while_reading: {ok} full lists, {locked} Locked");
    assert!(ok > 0 && locked > 0, "ok {ok}, locked {locked}");
}
