//! `countersign import|export|restore|auto-backup` on real vault files, as a QA script runs
//! them: foreign exports made here from their published descriptions (Aegis with real scrypt +
//! AES-GCM, 2FAS with real PBKDF2 + AES-GCM), JSON summaries, exit statuses, and round trips
//! that must give back the same accounts and codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use countersign_core::crypto::{aes256gcm_seal, pbkdf2_sha256, random_bytes, scrypt32};
use data_encoding::{BASE64, HEXLOWER};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SECRET_A: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SECRET_B: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const SECRET_C: &str = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "vault passphrase\n").unwrap();
        std::fs::write(dir.path().join("filepw"), "file password\n").unwrap();
        std::fs::write(dir.path().join("wrongpw"), "not it\n").unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run_in(&self, vault: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_countersign"))
            .arg("--vault")
            .arg(self.path(vault))
            .arg("--passphrase-file")
            .arg(self.path("pw"))
            .args(args)
            .env_remove("COUNTERSIGN_KEY_STORE")
            .output()
            .unwrap()
    }

    fn ok_json(&self, vault: &str, args: &[&str]) -> serde_json::Value {
        let o = self.run_in(vault, args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8(o.stdout).unwrap();
        for s in [SECRET_A, SECRET_B, SECRET_C] {
            assert!(!out.contains(s), "output shows a secret: {out}");
        }
        serde_json::from_str(&out).unwrap()
    }

    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// `codes --json` reduced to (issuer, account, code) at the current time.
    fn codes(&self, vault: &str) -> Vec<(String, String, String)> {
        let v = self.ok_json(vault, &["codes", "--json"]);
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["issuer"].to_string(),
                    c["account"].to_string(),
                    if c["code"].is_null() {
                        format!("counter {}", c["counter"])
                    } else {
                        c["code"].as_str().unwrap().to_string()
                    },
                )
            })
            .collect()
    }
}

fn summary(v: &serde_json::Value) -> (u64, u64, u64) {
    let s = &v["summary"];
    (
        s["imported"].as_u64().unwrap(),
        s["duplicates"].as_u64().unwrap(),
        s["failed"].as_u64().unwrap(),
    )
}

fn aegis_encrypted(path: &Path, password: &[u8]) {
    let db = serde_json::json!({
        "version": 3,
        "entries": [
            {"type": "totp", "uuid": "1", "name": "alice", "issuer": "Example", "groups": ["g"],
             "info": {"secret": SECRET_A, "algo": "SHA1", "digits": 6, "period": 30}},
            {"type": "hotp", "uuid": "2", "name": "dev", "issuer": "Corp", "groups": [],
             "info": {"secret": SECRET_B, "algo": "SHA1", "digits": 6, "counter": 0}},
            {"type": "yandex", "uuid": "3", "name": "y", "issuer": "Yandex",
             "info": {"secret": SECRET_C, "algo": "SHA256", "digits": 8, "period": 30, "pin": "1234"}}
        ],
        "groups": [{"uuid": "g", "name": "Work"}]
    });
    let master = random_bytes(32).unwrap();
    let salt = random_bytes(32).unwrap();
    let slot_key = scrypt32(password, salt.expose(), 12, 8, 1).unwrap();
    let wrapped = aes256gcm_seal(slot_key.expose(), &[1; 12], &[], master.expose()).unwrap();
    let sealed = aes256gcm_seal(
        master.expose(),
        &[2; 12],
        &[],
        &serde_json::to_vec(&db).unwrap(),
    )
    .unwrap();
    let (ct, tag) = sealed.split_at(sealed.len() - 16);
    let file = serde_json::json!({
        "version": 1,
        "header": {
            "slots": [{"type": 1, "uuid": "s", "key": HEXLOWER.encode(&wrapped[..32]),
                       "key_params": {"nonce": HEXLOWER.encode(&[1; 12]), "tag": HEXLOWER.encode(&wrapped[32..])},
                       "n": 4096, "r": 8, "p": 1, "salt": HEXLOWER.encode(salt.expose())}],
            "params": {"nonce": HEXLOWER.encode(&[2; 12]), "tag": HEXLOWER.encode(tag)}
        },
        "db": BASE64.encode(ct)
    });
    std::fs::write(path, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
}

fn twofas_encrypted(path: &Path, password: &[u8]) {
    let services = serde_json::json!([
        {"name": "Mail", "secret": SECRET_C, "groupId": "G1",
         "otp": {"account": "carol", "issuer": "Mail", "digits": 6, "period": 30,
                 "algorithm": "SHA1", "tokenType": "TOTP"}},
        {"name": "Game", "secret": SECRET_B, "otp": {"account": "gamer", "tokenType": "STEAM"}}
    ]);
    let salt = random_bytes(256).unwrap();
    let key = pbkdf2_sha256(password, salt.expose(), 10_000, 32).unwrap();
    let seal = |iv: [u8; 12], plain: &[u8]| {
        let ct = aes256gcm_seal(key.expose(), &iv, &[], plain).unwrap();
        format!(
            "{}:{}:{}",
            BASE64.encode(&ct),
            BASE64.encode(salt.expose()),
            BASE64.encode(&iv)
        )
    };
    let file = serde_json::json!({
        "services": [], "groups": [{"id": "G1", "name": "Personal"}], "schemaVersion": 4,
        "servicesEncrypted": seal([5; 12], &serde_json::to_vec(&services).unwrap()),
        "reference": seal([6; 12], &[b'x'; 128]),
    });
    std::fs::write(path, serde_json::to_vec(&file).unwrap()).unwrap();
}

#[test]
fn import_each_format_into_a_real_vault() {
    let e = Env::new();
    aegis_encrypted(&e.path("aegis.json"), b"file password");
    twofas_encrypted(&e.path("backup.2fas"), b"file password");
    std::fs::write(
        e.path("uris.txt"),
        format!(
            "# Ente export\n\notpauth://totp/Bank:bob?secret={SECRET_B}&issuer=Bank&digits=8\n\
             otpauth://totp/Broken:x?secret=NOT-BASE32!\n"
        ),
    )
    .unwrap();

    // Encrypted without a password, or with the wrong one: status 11, nothing imported.
    for args in [
        vec!["import", &e.p("aegis.json")[..]],
        vec![
            "import",
            &e.p("aegis.json"),
            "--password-file",
            &e.p("wrongpw"),
        ],
        vec![
            "import",
            &e.p("backup.2fas"),
            "--format",
            "2fas",
            "--password-file",
            &e.p("wrongpw"),
        ],
    ] {
        let o = e.run_in("v.db", &args);
        assert_eq!(
            o.status.code(),
            Some(11),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert_eq!(
        e.ok_json("v.db", &["list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let r = e.ok_json(
        "v.db",
        &[
            "import",
            &e.p("aegis.json"),
            "--password-file",
            &e.p("filepw"),
            "--json",
        ],
    );
    assert_eq!(r["format"], "aegis");
    assert_eq!(summary(&r), (2, 0, 1));
    assert_eq!(r["failed"][0]["index"], 3);
    assert!(
        r["failed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("yandex")
    );
    assert_eq!(r["failed"][0]["label"], "Yandex (y)");

    let r = e.ok_json(
        "v.db",
        &[
            "import",
            &e.p("backup.2fas"),
            "--password-file",
            &e.p("filepw"),
            "--json",
        ],
    );
    assert_eq!(r["format"], "2fas");
    assert_eq!(summary(&r), (2, 0, 0));

    let r = e.ok_json(
        "v.db",
        &["import", &e.p("uris.txt"), "--format", "uris", "--json"],
    );
    assert_eq!(summary(&r), (1, 0, 1));
    assert_eq!(r["failed"][0]["index"], 4, "line number");

    // The same file again: everything is a duplicate.
    let r = e.ok_json("v.db", &["import", &e.p("uris.txt"), "--json"]);
    assert_eq!(summary(&r), (0, 1, 1));
    assert!(r["duplicates"][0]["existing_id"].is_i64());

    let list = e.ok_json("v.db", &["list", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 5);
    assert_eq!(list[0]["groups"], serde_json::json!(["Work"]));
    assert_eq!(list[2]["groups"], serde_json::json!(["Personal"]));

    // Plain-text summary: counts and reasons.
    let o = e.run_in("v.db", &["import", &e.p("uris.txt")]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("uris: imported 0, duplicates 1, failed 1"),
        "{text}"
    );
    assert!(text.contains("failed    #4"), "{text}");

    // Not a known format, or not there: invalid input / failure, never a panic.
    std::fs::write(e.path("junk.bin"), b"\x00\x01 garbage").unwrap();
    assert_eq!(
        e.run_in("v.db", &["import", &e.p("junk.bin")])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        e.run_in("v.db", &["import", &e.p("junk.bin"), "--format", "aegis"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn backup_export_restore_round_trip() {
    let e = Env::new();
    std::fs::write(
        e.path("seed.txt"),
        format!(
            "otpauth://totp/Example:alice?secret={SECRET_A}&issuer=Example\n\
             otpauth://hotp/Corp:dev?secret={SECRET_B}&counter=5\n\
             otpauth://steam/Steam:gamer?secret={SECRET_C}\n"
        ),
    )
    .unwrap();
    e.ok_json("a.db", &["import", &e.p("seed.txt"), "--json"]);
    assert!(e.run_in("a.db", &["group", "1", "Work"]).status.success());

    // A backup needs a password file; plain text needs the confirmation flag.
    assert_eq!(
        e.run_in(
            "a.db",
            &["export", "--format", "backup", "--out", &e.p("b.csbak")]
        )
        .status
        .code(),
        Some(2)
    );
    let o = e.run_in(
        "a.db",
        &["export", "--format", "uris", "--out", &e.p("plain.txt")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--i-understand-plaintext"));
    assert!(!e.path("plain.txt").exists());

    let r = e.ok_json(
        "a.db",
        &[
            "export",
            "--format",
            "backup",
            "--out",
            &e.p("b.csbak"),
            "--password-file",
            &e.p("filepw"),
            "--json",
        ],
    );
    assert_eq!(r["accounts"], 3);
    let bytes = std::fs::read(e.path("b.csbak")).unwrap();
    assert!(bytes.starts_with(b"CSBACKUP"));
    assert!(
        !bytes
            .windows(SECRET_A.len())
            .any(|w| w == SECRET_A.as_bytes())
    );
    // Never overwritten.
    assert_eq!(
        e.run_in(
            "a.db",
            &[
                "export",
                "--format",
                "backup",
                "--out",
                &e.p("b.csbak"),
                "--password-file",
                &e.p("filepw")
            ]
        )
        .status
        .code(),
        Some(2)
    );

    // Wrong password: status 11 and nothing restored.
    let o = e.run_in(
        "b.db",
        &[
            "restore",
            &e.p("b.csbak"),
            "--password-file",
            &e.p("wrongpw"),
        ],
    );
    assert_eq!(o.status.code(), Some(11));
    assert_eq!(
        e.ok_json("b.db", &["list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let r = e.ok_json(
        "b.db",
        &[
            "restore",
            &e.p("b.csbak"),
            "--password-file",
            &e.p("filepw"),
            "--json",
        ],
    );
    assert_eq!(r["format"], "backup");
    assert_eq!(summary(&r), (3, 0, 0));
    assert_eq!(e.codes("b.db"), e.codes("a.db"));
    assert_eq!(
        e.ok_json("b.db", &["list", "--json"])[0]["groups"],
        serde_json::json!(["Work"])
    );
    let r = e.ok_json(
        "b.db",
        &[
            "restore",
            &e.p("b.csbak"),
            "--password-file",
            &e.p("filepw"),
            "--json",
        ],
    );
    assert_eq!(summary(&r), (0, 3, 0), "restoring twice doubles nothing");

    // A truncated backup: invalid input.
    std::fs::write(e.path("short.csbak"), &bytes[..30]).unwrap();
    assert_eq!(
        e.run_in(
            "b.db",
            &[
                "restore",
                &e.p("short.csbak"),
                "--password-file",
                &e.p("filepw")
            ]
        )
        .status
        .code(),
        Some(2)
    );

    // Plain URIs: written owner-only, and they import back to the same codes.
    e.ok_json(
        "a.db",
        &[
            "export",
            "--format",
            "uris",
            "--out",
            &e.p("plain.txt"),
            "--i-understand-plaintext",
            "--json",
        ],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(e.path("plain.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }
    let r = e.ok_json("c.db", &["import", &e.p("plain.txt"), "--json"]);
    assert_eq!(summary(&r), (3, 0, 0));
    assert_eq!(e.codes("c.db"), e.codes("a.db"));

    // Automatic backups: the newest two kept.
    std::fs::create_dir(e.path("auto")).unwrap();
    for _ in 0..3 {
        e.ok_json(
            "a.db",
            &[
                "auto-backup",
                &e.p("auto"),
                "--keep",
                "2",
                "--password-file",
                &e.p("filepw"),
                "--json",
            ],
        );
    }
    assert_eq!(std::fs::read_dir(e.path("auto")).unwrap().count(), 2);
}

#[test]
fn google_qr_export_and_import_of_the_pictures() {
    let e = Env::new();
    let mut lines = String::new();
    for i in 0..11 {
        lines.push_str(&format!(
            "otpauth://totp/Many:user{i}?secret={SECRET_A}&issuer=Many\n"
        ));
    }
    lines.push_str(&format!(
        "otpauth://hotp/Corp:dev?secret={SECRET_B}&counter=7\n"
    ));
    lines.push_str(&format!(
        "otpauth://totp/Slow:s?secret={SECRET_C}&period=60\n"
    ));
    std::fs::write(e.path("seed.txt"), lines).unwrap();
    e.ok_json("a.db", &["import", &e.p("seed.txt"), "--json"]);

    let o = e.run_in(
        "a.db",
        &["export", "--format", "google-qr", "--out", &e.p("qr")],
    );
    assert_eq!(o.status.code(), Some(2), "needs --i-understand-plaintext");
    let r = e.ok_json(
        "a.db",
        &[
            "export",
            "--format",
            "google-qr",
            "--out",
            &e.p("qr"),
            "--i-understand-plaintext",
            "--json",
        ],
    );
    assert_eq!(r["accounts"], 12);
    assert_eq!(
        r["skipped"].as_array().unwrap().len(),
        1,
        "the 60-second account"
    );
    let codes = r["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 2);

    // One picture: the other code is reported missing.
    let r = e.ok_json("b.db", &["import", codes[1].as_str().unwrap(), "--json"]);
    assert_eq!(r["format"], "google");
    assert_eq!(r["missing_batches"][0]["missing"], serde_json::json!([0]));
    let o = e.run_in("b.db", &["import", codes[0].as_str().unwrap()]);
    assert!(o.status.success());
    let a: Vec<_> = e
        .codes("a.db")
        .into_iter()
        .filter(|(i, _, _)| i != "\"Slow\"")
        .collect();
    let mut b = e.codes("b.db");
    // The second picture's accounts were added first; compare as sets.
    let mut a_sorted = a.clone();
    a_sorted.sort();
    b.sort();
    assert_eq!(b, a_sorted);

    // Both pictures in one call: the batch is complete, nothing is missing.
    let r = e.ok_json(
        "c.db",
        &[
            "import",
            codes[1].as_str().unwrap(),
            codes[0].as_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(summary(&r), (12, 0, 0));
    assert_eq!(r["missing_batches"], serde_json::json!([]));
    let mut c = e.codes("c.db");
    c.sort();
    assert_eq!(c, a_sorted);

    // The links file is a Google import too; everything is already there.
    let r = e.ok_json(
        "b.db",
        &[
            "import",
            &e.p("qr/transfer-links.txt"),
            "--format",
            "google",
            "--json",
        ],
    );
    assert_eq!(summary(&r), (0, 12, 0));
}
