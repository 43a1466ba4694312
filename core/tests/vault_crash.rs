//! Crash consistency: a process using the vault is killed with SIGKILL at random moments, over
//! and over, and after every kill the vault opens, passes `check()`, holds every account whose
//! addition was acknowledged, and never hands out an HOTP counter twice.
//!
//! The test re-executes its own binary: `crash_child` does the work when
//! `COUNTERSIGN_CRASH_CHILD` names a vault (and nothing otherwise), printing a line only after
//! each call has returned. The parent kills it after a random 5–80 ms (from the moment it is
//! ready, or in one round of five from the moment it was started, so that kills also land in
//! process start-up and in the open itself), reads what was acknowledged, and checks the file.
//!
//! Knobs: `COUNTERSIGN_CRASH_ROUNDS` (default 200), `COUNTERSIGN_CRASH_SEED`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use countersign_core::crypto::SecretBytes;
use countersign_core::otp::OtpKind;
use countersign_core::platform::{KeyStore, MemoryKeyStore};
use countersign_core::uri::OtpAccount;
use countersign_core::vault::{AccountId, CodeState, Vault, schema};
use data_encoding::{BASE32_NOPAD, HEXLOWER};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "COUNTERSIGN_CRASH_CHILD";
const KEY_ENV: &str = "COUNTERSIGN_CRASH_KEY";
const SEED_ENV: &str = "COUNTERSIGN_CRASH_CHILD_SEED";
const ROUND_ENV: &str = "COUNTERSIGN_CRASH_ROUND";
/// Control: the child acknowledges an HOTP code *before* asking the vault for it (the bug the
/// test exists to catch), so the parent must report a counter handed out twice.
const PREMATURE_ENV: &str = "COUNTERSIGN_CRASH_PREMATURE_ACK";
const NOW: u64 = 1_700_000_000;
/// The child stops by itself after this long, in case nobody kills it.
const CHILD_LIFETIME: Duration = Duration::from_secs(20);

/// xorshift64: small, seeded, good enough to pick delays and operations.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// The secret of the account called `name` (so the parent can recompute it).
fn secret_for(name: &str) -> Vec<u8> {
    sha256(name.as_bytes())[..20].to_vec()
}

fn uri_for(name: &str, hotp: bool) -> String {
    let secret = BASE32_NOPAD.encode(&secret_for(name));
    if hotp {
        format!("otpauth://hotp/Crash:{name}?secret={secret}&counter=0&issuer=Crash")
    } else {
        format!("otpauth://totp/Crash:{name}?secret={secret}&issuer=Crash")
    }
}

/// What the child prints for an added account: identifies the URI without revealing it.
fn fingerprint(uri: &str) -> String {
    HEXLOWER.encode(&sha256(uri.as_bytes())[..8])
}

/// RFC 4226 HOTP-SHA1, 6 digits, with ring's HMAC (independent of the core's implementation).
fn reference_hotp(secret: &[u8], counter: u64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = ring::hmac::sign(&key, &counter.to_be_bytes());
    let t = tag.as_ref();
    let off = usize::from(t[19] & 0x0f);
    let v = u32::from_be_bytes([t[off], t[off + 1], t[off + 2], t[off + 3]]) & 0x7fff_ffff;
    format!("{:06}", v % 1_000_000)
}

fn store(key: &[u8]) -> Arc<dyn KeyStore> {
    Arc::new(MemoryKeyStore::from_key(SecretBytes::from_slice(key)).unwrap())
}

/// HOTP accounts and their stored (next) counters.
fn hotp_counters(vault: &Vault) -> BTreeMap<AccountId, u64> {
    vault
        .codes(NOW)
        .unwrap()
        .into_iter()
        .filter_map(|c| match c.state {
            CodeState::CounterBased { counter } => Some((c.account.id, counter)),
            _ => None,
        })
        .collect()
}

/// The child: does vault work until killed. A no-op unless started by the parent.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let key = HEXLOWER
        .decode(std::env::var(KEY_ENV).unwrap().as_bytes())
        .unwrap();
    let seed: u64 = std::env::var(SEED_ENV).unwrap().parse().unwrap();
    let round: u64 = std::env::var(ROUND_ENV).unwrap().parse().unwrap();
    let premature = std::env::var_os(PREMATURE_ENV).is_some();
    let mut out = std::io::stdout().lock();
    let vault = Vault::open(Path::new(&path), store(&key)).unwrap();
    let mut hotp: Vec<AccountId> = hotp_counters(&vault).into_keys().collect();
    // libtest has printed `test crash_child ... ` without a newline: start a fresh line.
    writeln!(out, "\nready").unwrap();
    out.flush().unwrap();
    let mut rng = XorShift::new(seed);
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < CHILD_LIFETIME {
        if hotp.is_empty() || rng.below(100) < 15 {
            let is_hotp = rng.below(2) == 0;
            let name = format!("r{round}n{n}");
            n += 1;
            let uri = uri_for(&name, is_hotp);
            let id = vault
                .add_oath(&OtpAccount::parse(&uri).unwrap(), NOW)
                .unwrap();
            if is_hotp {
                hotp.push(id);
            }
            writeln!(out, "added {id} {}", fingerprint(&uri)).unwrap();
        } else {
            let id = hotp[rng.below(hotp.len() as u64) as usize];
            if premature {
                let account = vault.oath_account(id).unwrap();
                let OtpKind::Hotp { counter } = account.kind() else {
                    panic!("{id} is not HOTP")
                };
                let code = account.code_at_counter(counter);
                writeln!(out, "hotp {id} {counter} {}", code.as_str()).unwrap();
                out.flush().unwrap();
                assert_eq!(vault.next_hotp(id, NOW).unwrap().counter, counter);
            } else {
                let issued = vault.next_hotp(id, NOW).unwrap();
                writeln!(out, "hotp {id} {} {}", issued.counter, issued.code.as_str()).unwrap();
            }
        }
        out.flush().unwrap();
    }
}

enum Ack {
    Added {
        id: AccountId,
        fingerprint: String,
    },
    Hotp {
        id: AccountId,
        counter: u64,
        code: String,
    },
}

fn parse_ack(line: &str) -> Option<Ack> {
    let parts: Vec<&str> = line.split_whitespace().collect();
    match parts.as_slice() {
        ["added", id, fp] => Some(Ack::Added {
            id: id.parse().unwrap(),
            fingerprint: fp.to_string(),
        }),
        ["hotp", id, counter, code] => Some(Ack::Hotp {
            id: id.parse().unwrap(),
            counter: counter.parse().unwrap(),
            code: code.to_string(),
        }),
        _ => None,
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Fails the round with a message (the control test expects some of these).
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Runs `rounds` start–kill–check rounds against a fresh vault; `Err` names the first
/// inconsistency found, `Ok` summarises what was exercised.
#[cfg(unix)]
fn run_rounds(rounds: u64, seed: u64, premature_ack: bool) -> Result<String, String> {
    use std::os::unix::process::ExitStatusExt;

    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let key: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();

    // A vault with a few HOTP accounts (so counters advance from the first round) and a TOTP.
    {
        let vault = Vault::create(&path, store(&key)).unwrap();
        for (name, hotp) in [
            ("seed-a", true),
            ("seed-b", true),
            ("seed-c", true),
            ("seed-t", false),
        ] {
            vault
                .add_oath(&OtpAccount::parse(&uri_for(name, hotp)).unwrap(), NOW)
                .unwrap();
        }
    }

    let exe = std::env::current_exe().unwrap();
    let mut rng = XorShift::new(seed);
    // Everything acknowledged so far, across rounds.
    let mut added: BTreeMap<AccountId, String> = BTreeMap::new();
    let mut issued: BTreeMap<AccountId, BTreeMap<u64, String>> = BTreeMap::new();
    // What the file held after the previous round.
    let (mut prev_ids, mut prev_counters) = {
        let v = Vault::open(&path, store(&key)).unwrap();
        let ids: BTreeSet<AccountId> = v.list().unwrap().iter().map(|s| s.id).collect();
        (ids, hotp_counters(&v))
    };
    let (mut acked_ops, mut busy_rounds, mut from_start_rounds, mut unacked_effects) =
        (0usize, 0usize, 0usize, 0usize);

    for round in 0..rounds {
        let stderr_path = dir.path().join("child-stderr.txt");
        let mut cmd = Command::new(&exe);
        cmd.args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .env(KEY_ENV, HEXLOWER.encode(&key))
            .env(SEED_ENV, rng.next().to_string())
            .env(ROUND_ENV, round.to_string())
            .env_remove(PREMATURE_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        if premature_ack {
            cmd.env(PREMATURE_ENV, "1");
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    // Only complete lines count: a line cut by the kill was not acknowledged.
                    Ok(n) if n > 0 && buf.ends_with(b"\n") => {
                        let _ = tx.send(String::from_utf8_lossy(&buf).trim_end().to_string());
                    }
                    _ => break,
                }
            }
        });

        let delay = Duration::from_millis(5 + rng.below(76));
        let mut lines = Vec::new();
        if rng.below(5) == 0 {
            from_start_rounds += 1;
        } else {
            // Wait until the child has opened the vault.
            loop {
                match rx.recv_timeout(Duration::from_secs(30)) {
                    Ok(l) if l == "ready" => break,
                    Ok(l) => lines.push(l),
                    Err(e) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!(
                            "round {round}: the child never became ready ({e}); stderr:\n{}",
                            std::fs::read_to_string(&stderr_path).unwrap_or_default()
                        );
                    }
                }
            }
        }
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        assert_eq!(
            status.signal(),
            Some(9),
            "round {round}: the child ended on its own ({status}); stderr:\n{}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );

        // Record what was acknowledged; no (account, counter) twice, ever.
        let mut round_added: Vec<(AccountId, String)> = Vec::new();
        let mut round_issued: BTreeMap<AccountId, u64> = BTreeMap::new();
        let mut round_codes: Vec<(AccountId, u64, String)> = Vec::new();
        for ack in lines.iter().filter_map(|l| parse_ack(l)) {
            match ack {
                Ack::Added { id, fingerprint } => {
                    let old = added.insert(id, fingerprint.clone());
                    ensure!(
                        old.is_none(),
                        "round {round}: id {id} acknowledged twice ({old:?}, then \
                         {fingerprint}): an acknowledged account was lost"
                    );
                    round_added.push((id, fingerprint));
                }
                Ack::Hotp { id, counter, code } => {
                    let old = issued.entry(id).or_default().insert(counter, code.clone());
                    ensure!(
                        old.is_none(),
                        "round {round}: account {id} counter {counter} handed out twice \
                         (codes {old:?} and {code})"
                    );
                    *round_issued.entry(id).or_default() += 1;
                    round_codes.push((id, counter, code));
                }
            }
        }
        let n_acked = round_added.len() + round_codes.len();
        acked_ops += n_acked;
        if n_acked > 0 {
            busy_rounds += 1;
        }

        // The vault opens, is consistent, and holds everything acknowledged.
        let vault = Vault::open(&path, store(&key))
            .map_err(|e| format!("round {round}: the vault does not open: {e:?}"))?;
        let report = vault.check().unwrap();
        ensure!(report.is_ok(), "round {round}: {report:?}");
        ensure!(
            report.schema_version == schema::LATEST,
            "round {round}: {report:?}"
        );
        let ids: BTreeSet<AccountId> = vault.list().unwrap().iter().map(|s| s.id).collect();
        for id in added.keys() {
            ensure!(
                ids.contains(id),
                "round {round}: acknowledged account {id} is gone"
            );
        }
        ensure!(
            prev_ids.is_subset(&ids),
            "round {round}: an account disappeared"
        );
        for (id, fp) in &round_added {
            let summary = vault.summary(*id).unwrap();
            let account = vault.oath_account(*id).unwrap();
            let is_hotp = matches!(account.kind(), OtpKind::Hotp { .. });
            ensure!(
                &fingerprint(&uri_for(&summary.name, is_hotp)) == fp,
                "round {round}: account {id} is not the one acknowledged"
            );
            ensure!(
                account.secret().expose() == &secret_for(&summary.name)[..],
                "round {round}: account {id} has the wrong secret"
            );
        }
        for (id, counter, code) in &round_codes {
            let secret = vault.oath_account(*id).unwrap().secret().expose().to_vec();
            ensure!(
                code == &reference_hotp(&secret, *counter),
                "round {round}: wrong code for account {id} counter {counter}"
            );
        }
        let counters = hotp_counters(&vault);
        for (id, by_counter) in &issued {
            let stored = counters[id];
            let highest = *by_counter.keys().next_back().unwrap();
            ensure!(
                stored > highest,
                "round {round}: account {id} stores next counter {stored} but {highest} was \
                 already handed out"
            );
        }
        // Exactly what was acknowledged happened, plus at most the one call in flight.
        ensure!(
            ids.len() >= prev_ids.len() + round_added.len(),
            "round {round}: fewer accounts than acknowledged"
        );
        let mut surplus = ids.len() - prev_ids.len() - round_added.len();
        for (id, stored) in &counters {
            let before = prev_counters.get(id).copied().unwrap_or(0);
            let acked = round_issued.get(id).copied().unwrap_or(0);
            ensure!(
                *stored >= before + acked,
                "round {round}: account {id} counter went from {before} to {stored} with \
                 {acked} acknowledged advances"
            );
            surplus += (*stored - before - acked) as usize;
        }
        ensure!(
            surplus <= 1,
            "round {round}: {surplus} unacknowledged changes from one single-threaded child"
        );
        unacked_effects += surplus;
        prev_ids = ids;
        prev_counters = counters;
        drop(vault);
    }

    let total_issued: usize = issued.values().map(BTreeMap::len).sum();
    // The kills landed while the child was working, not only before or after.
    ensure!(
        busy_rounds * 2 >= rounds as usize && total_issued > 0 && !added.is_empty(),
        "only {busy_rounds} of {rounds} rounds acknowledged anything"
    );
    Ok(format!(
        "{rounds} SIGKILL rounds in {:.1} s ({from_start_rounds} timed from process start); \
         {acked_ops} acknowledged operations ({} adds, {total_issued} HOTP codes) in \
         {busy_rounds} rounds; {unacked_effects} calls committed but killed before \
         acknowledging; {} accounts at the end",
        started.elapsed().as_secs_f64(),
        added.len(),
        prev_ids.len()
    ))
}

#[cfg(unix)]
#[test]
fn killed_at_random_moments_loses_nothing_acknowledged() {
    let rounds = env_u64("COUNTERSIGN_CRASH_ROUNDS", 200);
    let seed = env_u64("COUNTERSIGN_CRASH_SEED", 0x00C0_FFEE);
    match run_rounds(rounds, seed, false) {
        Ok(summary) => println!("vault_crash: {summary}"),
        Err(e) => panic!("{e}"),
    }
}

/// Control: a child that acknowledges an HOTP code before the vault has committed the counter
/// is caught (a kill between the two makes the next round hand the same counter out again).
#[cfg(unix)]
#[test]
fn control_acknowledging_before_commit_is_caught() {
    let seed = env_u64("COUNTERSIGN_CRASH_SEED", 0x00C0_FFEE);
    match run_rounds(60, seed ^ 0x5A5A, true) {
        Ok(summary) => panic!("a premature acknowledgement went unnoticed: {summary}"),
        Err(e) => {
            println!("vault_crash control: caught: {e}");
            assert!(
                e.contains("handed out twice") || e.contains("already handed out"),
                "{e}"
            );
        }
    }
}
