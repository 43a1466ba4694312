//! No OATH secret, key-encryption key or passphrase reaches the vault's files (the database, its
//! `-wal`, `-shm` and `-journal` files, or anything else in its directory), the logs at TRACE
//! level, or the `Debug`/`Display` text of the vault, its accounts and its errors — in any
//! encoding: raw bytes, base32 (upper and lower case, with and without padding), hex (upper and
//! lower case), base64, and the full `otpauth://` URI.
//!
//! The control tests show that the scanner finds a secret that was put where it looks: every
//! encoding in a synthetic haystack, a secret written into a plaintext column (in the WAL while
//! the vault is open, in the main file after it is closed), and a secret in a log line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use countersign_core::crypto::SecretBytes;
use countersign_core::otp::{Algorithm, OtpKind};
use countersign_core::platform::{KeyStore, MemoryKeyStore, PassphraseKeyStore};
use countersign_core::uri::OtpAccount;
use countersign_core::vault::{AccountId, CodeState, Vault, VaultError};
use data_encoding::{BASE32, BASE32_NOPAD, BASE64, BASE64URL_NOPAD, HEXLOWER, HEXUPPER};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;
use zeroize::Zeroizing;

const NOW: u64 = 1_700_000_000;
const KEK: [u8; 32] = *b"scan-test key-encryption key 32b";
const PASSPHRASE: &str = "scan-test passphrase: violet lantern harbour";

// ---------------------------------------------------------------------------------------------
// Log capture

/// Every formatted log line, in memory.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Captures everything logged on this thread at TRACE level and above until the guard drops.
fn capture_logs() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let buf = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_target(true)
        .with_file(true)
        .with_line_number(true)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(buf.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (buf, guard)
}

// ---------------------------------------------------------------------------------------------
// The scanner

/// One form of one secret to look for.
struct Needle {
    what: String,
    bytes: Vec<u8>,
}

/// Every encoding of `secret` we look for, labelled with `label`.
fn needles_for(label: &str, secret: &[u8]) -> Vec<Needle> {
    let mut out = Vec::new();
    let mut push = |form: &str, bytes: Vec<u8>| {
        out.push(Needle {
            what: format!("{label} as {form}"),
            bytes,
        })
    };
    push("raw bytes", secret.to_vec());
    push(
        "base32 upper, no padding",
        BASE32_NOPAD.encode(secret).into_bytes(),
    );
    push("base32 upper, padded", BASE32.encode(secret).into_bytes());
    push(
        "base32 lower, no padding",
        BASE32_NOPAD.encode(secret).to_lowercase().into_bytes(),
    );
    push(
        "base32 lower, padded",
        BASE32.encode(secret).to_lowercase().into_bytes(),
    );
    push("hex upper", HEXUPPER.encode(secret).into_bytes());
    push("hex lower", HEXLOWER.encode(secret).into_bytes());
    push("base64", BASE64.encode(secret).into_bytes());
    push("base64url", BASE64URL_NOPAD.encode(secret).into_bytes());
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Names of the needles found in `haystack`.
fn hits(haystack: &[u8], needles: &[Needle]) -> Vec<String> {
    needles
        .iter()
        .filter(|n| find(haystack, &n.bytes))
        .map(|n| n.what.clone())
        .collect()
}

/// Every regular file in `dir` with its contents.
fn files_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `(file name, needle)` for every needle found in any file of `dir`.
fn scan_dir(dir: &Path, needles: &[Needle]) -> Vec<(String, String)> {
    files_in(dir)
        .into_iter()
        .flat_map(|(p, bytes)| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            hits(&bytes, needles)
                .into_iter()
                .map(move |h| (name.clone(), h))
        })
        .collect()
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn wal_of(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}-wal", db.display()))
}

// ---------------------------------------------------------------------------------------------
// Known accounts

/// Deterministic, distinctive secret bytes.
fn secret_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

struct Known {
    /// How it was given to the vault.
    uri: String,
    secret: Vec<u8>,
    account: OtpAccount,
}

fn known_accounts() -> Vec<Known> {
    let mut out = Vec::new();
    let mut from_uri = |secret: Vec<u8>, uri: String| {
        let account = OtpAccount::parse(&uri).unwrap();
        assert_eq!(account.secret().expose(), &secret[..], "{uri}");
        out.push(Known {
            uri,
            secret,
            account,
        });
    };
    // 80-bit TOTP (still common), SHA-1.
    let s = secret_bytes(1, 10);
    from_uri(
        s.clone(),
        format!(
            "otpauth://totp/Acme:alice@example.com?secret={}&issuer=Acme",
            BASE32_NOPAD.encode(&s)
        ),
    );
    // 256-bit TOTP, SHA-256, 8 digits, 60 s, written lower case with padding.
    let s = secret_bytes(2, 32);
    from_uri(
        s.clone(),
        format!(
            "otpauth://totp/Bank:bob?secret={}&algorithm=SHA256&digits=8&period=60&issuer=Bank",
            BASE32.encode(&s).to_lowercase()
        ),
    );
    // 512-bit TOTP, SHA-512.
    let s = secret_bytes(3, 64);
    from_uri(
        s.clone(),
        format!(
            "otpauth://totp/Cloud:carol?secret={}&algorithm=SHA512&issuer=Cloud",
            BASE32_NOPAD.encode(&s)
        ),
    );
    // 160-bit HOTP with a counter.
    let s = secret_bytes(4, 20);
    from_uri(
        s.clone(),
        format!(
            "otpauth://hotp/Corp:dave?secret={}&counter=5&issuer=Corp",
            BASE32_NOPAD.encode(&s)
        ),
    );
    // 128-bit HOTP without a counter (padded base32).
    let s = secret_bytes(5, 16);
    from_uri(
        s.clone(),
        format!("otpauth://hotp/VPN:erin?secret={}", BASE32.encode(&s)),
    );
    // Steam, both spellings.
    let s = secret_bytes(6, 20);
    from_uri(s.clone(), format!("steam://{}", BASE32_NOPAD.encode(&s)));
    let s = secret_bytes(7, 20);
    from_uri(
        s.clone(),
        format!(
            "otpauth://totp/Steam:frank?secret={}&issuer=Steam",
            BASE32_NOPAD.encode(&s)
        ),
    );
    // Built from parts (no raw URI: the vault stores `to_uri()`), 200-bit.
    let s = secret_bytes(8, 25);
    let account = OtpAccount::new(
        OtpKind::Totp { period: 30 },
        Algorithm::Sha1,
        6,
        SecretBytes::from_slice(&s),
        Some("Parts".into()),
        "grace".into(),
    )
    .unwrap();
    let uri = account.to_uri().to_string();
    out.push(Known {
        uri,
        secret: s,
        account,
    });
    out
}

/// Every form of every secret, the URIs, the key-encryption key and the passphrase.
fn all_needles(known: &[Known]) -> Vec<Needle> {
    let mut out = Vec::new();
    for (i, k) in known.iter().enumerate() {
        out.extend(needles_for(&format!("secret #{i}"), &k.secret));
        out.push(Needle {
            what: format!("URI #{i}"),
            bytes: k.uri.clone().into_bytes(),
        });
        let regenerated = k.account.to_uri().to_string();
        if regenerated != k.uri {
            out.push(Needle {
                what: format!("regenerated URI #{i}"),
                bytes: regenerated.into_bytes(),
            });
        }
    }
    out.extend(needles_for("key-encryption key", &KEK));
    out.push(Needle {
        what: "passphrase".into(),
        bytes: PASSPHRASE.as_bytes().to_vec(),
    });
    out
}

fn memory_store() -> Arc<dyn KeyStore> {
    Arc::new(MemoryKeyStore::from_key(SecretBytes::from_slice(&KEK)).unwrap())
}

fn passphrase_store() -> Arc<dyn KeyStore> {
    Arc::new(
        PassphraseKeyStore::new(Zeroizing::new(PASSPHRASE.as_bytes().to_vec()))
            .unwrap()
            .with_test_cost(),
    )
}

/// Records a value's `Debug` text, plain and pretty, for the scan.
fn show(texts: &mut Vec<String>, v: &dyn std::fmt::Debug) {
    texts.push(format!("{v:?}"));
    texts.push(format!("{v:#?}"));
}

/// Fails the test with everything that was found.
#[track_caller]
fn assert_clean(stage: &str, dir: &Path, logs: &LogBuffer, texts: &[String], needles: &[Needle]) {
    let mut found: Vec<String> = scan_dir(dir, needles)
        .into_iter()
        .map(|(file, what)| format!("{what} in file {file}"))
        .collect();
    found.extend(
        hits(&logs.bytes(), needles)
            .into_iter()
            .map(|what| format!("{what} in the logs")),
    );
    for (i, t) in texts.iter().enumerate() {
        found.extend(
            hits(t.as_bytes(), needles)
                .into_iter()
                .map(|what| format!("{what} in formatted value #{i}: {t}")),
        );
    }
    assert!(
        found.is_empty(),
        "{stage}: secrets leaked:\n{}",
        found.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------

#[test]
fn no_secret_in_files_logs_or_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let known = known_accounts();
    let needles = all_needles(&known);
    let (logs, _guard) = capture_logs();
    let mut texts: Vec<String> = Vec::new();

    let vault = Vault::create(&path, memory_store()).unwrap();
    let mut ids: Vec<AccountId> = Vec::new();
    for k in &known {
        show(&mut texts, &k.account);
        ids.push(vault.add_oath(&k.account, NOW).unwrap());
    }
    show(&mut texts, &vault);

    // Everything decrypts to the known secrets.
    for (k, id) in known.iter().zip(&ids) {
        let a = vault.oath_account(*id).unwrap();
        assert_eq!(a.secret().expose(), &k.secret[..]);
        show(&mut texts, &a);
        show(&mut texts, &vault.summary(*id).unwrap());
    }
    for at in [NOW, NOW + 31, NOW + 3600] {
        let codes = vault.codes(at).unwrap();
        assert_eq!(codes.len(), known.len());
        assert!(
            codes
                .iter()
                .all(|c| !matches!(c.state, CodeState::Unreadable)),
            "{codes:?}"
        );
        show(&mut texts, &codes);
    }
    let hotp: Vec<AccountId> = ids
        .iter()
        .zip(&known)
        .filter(|(_, k)| matches!(k.account.kind(), OtpKind::Hotp { .. }))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(hotp.len(), 2);
    for id in &hotp {
        for i in 0..3 {
            let issued = vault.next_hotp(*id, NOW + i).unwrap();
            show(&mut texts, &issued);
        }
    }
    vault.rename(ids[0], Some("Acme Corp"), "alice").unwrap();
    vault.rename(ids[1], None, "bob (bank)").unwrap();
    vault.touch(ids[2], NOW + 5).unwrap();
    vault
        .set_groups(ids[3], &["Work".into(), "Hardware tokens".into()])
        .unwrap();
    let mut order = ids.clone();
    order.reverse();
    vault.reorder(&order).unwrap();

    // Errors, with secrets in the arguments where an API takes text.
    let errors: Vec<VaultError> = vec![
        vault.next_hotp(ids[0], NOW).unwrap_err(), // TOTP: WrongKind
        vault.oath_account(9_999).unwrap_err(),
        vault
            .rename(
                ids[0],
                None,
                &format!("{}\u{7}", BASE32_NOPAD.encode(&known[0].secret)),
            )
            .unwrap_err(),
        vault
            .rename(
                ids[0],
                Some(&HEXLOWER.encode(&known[2].secret).repeat(3)),
                "x",
            )
            .unwrap_err(),
        vault
            .set_groups(
                ids[0],
                &[format!("{}\u{1b}[31m", BASE32.encode(&known[1].secret))],
            )
            .unwrap_err(),
        Vault::create(&path, memory_store()).unwrap_err(),
    ];
    vault.lock();
    let locked = vault.codes(NOW).unwrap_err();
    assert!(matches!(locked, VaultError::Locked), "{locked:?}");
    assert_eq!(vault.list().unwrap().len(), known.len());
    show(&mut texts, &vault);
    vault.unlock().unwrap();
    for e in errors.iter().chain([&locked]) {
        show(&mut texts, e);
        texts.push(e.to_string());
    }
    // URI errors for URIs that carry a real secret.
    for k in &known[..5] {
        let b32 = BASE32_NOPAD.encode(&k.secret);
        for bad in [
            format!("otpauth://totp/X:y?secret={b32}&algorithm=MD5"),
            format!("otpauth://totp/X:y?secret={b32}&algorithm=SHA3"),
            format!("otpauth://totp/X:y?secret={b32}&digits=12"),
            format!("otpauth://totp/X:y?secret={b32}&secret={b32}"),
            format!("otpauth://totp/X:y?secret={b32}!"),
            format!("otpauth://totp/X:y?secret={b32}0"),
            format!("otpauth://hotp/X:y?secret={b32}&counter=-1"),
            format!("otpauth://totp/X:y?secret={b32}%ZZ"),
            format!("otpauth://totp/X:y?secret={}", b32.repeat(200)),
        ] {
            let e = OtpAccount::parse(&bad).unwrap_err();
            show(&mut texts, &e);
            texts.push(e.to_string());
            texts.push(countersign_core::Error::from(e).to_string());
        }
    }
    show(&mut texts, &vault.check().unwrap());
    show(&mut texts, &vault.list().unwrap());

    // Stage 1: open vault, WAL in use. Make sure data really is in the files we scan: the
    // plaintext names are there, and the WAL holds frames.
    let wal = wal_of(&path);
    assert!(file_len(&wal) > 0, "the WAL is empty; nothing to scan");
    let in_files = |s: &str| {
        files_in(dir.path())
            .iter()
            .any(|(_, b)| find(b, s.as_bytes()))
    };
    assert!(in_files("bob (bank)"), "the rename did not reach the files");
    assert!(find(&std::fs::read(&wal).unwrap(), b"bob (bank)"));
    assert_clean("open, WAL present", dir.path(), &logs, &texts, &needles);

    // Stage 2: re-wrap under a passphrase, delete an account (checkpoints the WAL), keep
    // working so the WAL fills again.
    vault.rewrap(passphrase_store()).unwrap();
    vault.delete(ids[4]).unwrap();
    for id in &hotp[..1] {
        show(&mut texts, &vault.next_hotp(*id, NOW + 100).unwrap());
    }
    vault
        .rename(ids[5], Some("Steam"), "frank-renamed")
        .unwrap();
    assert!(file_len(&wal) > 0, "the WAL is empty after new writes");
    assert!(in_files("frank-renamed"));
    assert_clean(
        "after rewrap and delete",
        dir.path(),
        &logs,
        &texts,
        &needles,
    );

    // Stage 3: closed. SQLite checkpoints the WAL into the main file on close.
    drop(vault);
    assert_eq!(file_len(&wal), 0, "the WAL was not checkpointed on close");
    assert!(find(&std::fs::read(&path).unwrap(), b"frank-renamed"));
    assert_clean("closed", dir.path(), &logs, &texts, &needles);

    // Stage 4: reopen with the passphrase store, read everything once more, close.
    let vault = Vault::open(&path, passphrase_store()).unwrap();
    assert_eq!(vault.codes(NOW).unwrap().len(), known.len() - 1);
    assert!(vault.check().unwrap().is_ok());
    show(&mut texts, &vault);
    drop(vault);
    assert_clean("reopened and closed", dir.path(), &logs, &texts, &needles);

    // The logs were captured (otherwise "no secret in the logs" means nothing).
    let log_text = logs.text();
    for expected in [
        "created vault",
        "added account",
        "advanced HOTP counter",
        "vault locked",
        "vault unlocked",
        "vault key re-wrapped",
        "deleted account",
    ] {
        assert!(
            log_text.contains(expected),
            "no `{expected}` in logs:\n{log_text}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Controls: the scanner finds secrets where they are.

#[test]
fn control_every_encoding_is_found_in_a_haystack() {
    let secret = secret_bytes(42, 10);
    let needles = needles_for("s", &secret);
    for n in &needles {
        let mut hay = secret_bytes(99, 4096);
        hay.extend_from_slice(&n.bytes);
        hay.extend(secret_bytes(100, 4096));
        assert_eq!(hits(&hay, std::slice::from_ref(n)), vec![n.what.clone()]);
    }
    // And none in noise.
    assert!(hits(&secret_bytes(7, 1 << 16), &needles).is_empty());
}

#[test]
fn control_secret_in_a_plaintext_column_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let known = known_accounts();
    let needles = all_needles(&known);
    let (logs, _guard) = capture_logs();
    let vault = Vault::create(&path, memory_store()).unwrap();
    let id = vault.add_oath(&known[0].account, NOW).unwrap();
    let other = vault.add_oath(&known[3].account, NOW).unwrap();
    assert!(scan_dir(dir.path(), &needles).is_empty());

    // A secret in a plaintext column: found in the WAL while the vault is open ...
    vault
        .rename(
            id,
            None,
            &BASE32_NOPAD.encode(&known[0].secret).to_lowercase(),
        )
        .unwrap();
    vault
        .rename(other, Some(&HEXUPPER.encode(&known[3].secret)), "x")
        .unwrap();
    let found = scan_dir(dir.path(), &needles);
    let wal_name = "vault.db-wal".to_string();
    assert!(
        found.contains(&(
            wal_name.clone(),
            "secret #0 as base32 lower, no padding".into()
        )),
        "{found:?}"
    );
    assert!(
        found.contains(&(wal_name, "secret #3 as hex upper".into())),
        "{found:?}"
    );
    // ... and in the main file once it is closed.
    drop(vault);
    let found = scan_dir(dir.path(), &needles);
    assert!(
        found.contains(&(
            "vault.db".into(),
            "secret #0 as base32 lower, no padding".into()
        )),
        "{found:?}"
    );

    // A full URI in a plaintext column.
    let vault = Vault::open(&path, memory_store()).unwrap();
    vault.rename(other, None, &known[3].uri).unwrap();
    drop(vault);
    let found = scan_dir(dir.path(), &needles);
    assert!(
        found.contains(&("vault.db".into(), "URI #3".into())),
        "{found:?}"
    );

    // Raw bytes in any file of the directory.
    std::fs::write(dir.path().join("vault.db-journal"), &known[1].secret).unwrap();
    let found = scan_dir(dir.path(), &needles);
    assert!(
        found.contains(&("vault.db-journal".into(), "secret #1 as raw bytes".into())),
        "{found:?}"
    );

    // A secret in a log line.
    tracing::trace!(leak = %HEXLOWER.encode(&known[2].secret), "control");
    assert_eq!(
        hits(&logs.bytes(), &needles),
        vec!["secret #2 as hex lower"]
    );
}
