//! Vault commands as a QA script uses them: a real vault file, a passphrase key store, the
//! real binary, JSON output and exit statuses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::Path;
use std::process::{Command, Output};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "correct horse battery staple\n").unwrap();
        Self { dir }
    }

    fn vault(&self) -> std::path::PathBuf {
        self.dir.path().join("vault.db")
    }

    fn run_with(&self, pw: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_countersign"))
            .arg("--vault")
            .arg(self.vault())
            .arg("--passphrase-file")
            .arg(pw)
            .args(args)
            .env_remove("COUNTERSIGN_KEY_STORE")
            .output()
            .unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(&self.dir.path().join("pw"), args)
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

const TOTP: &str = "otpauth://totp/RFC:6238?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=RFC";
const HOTP: &str = "otpauth://hotp/Corp:dev?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0";

#[test]
fn add_list_codes_next_and_manage() {
    let e = Env::new();
    let added = e.json(&["add", "--uri", TOTP, "--json"]);
    let totp_id = added["id"].as_i64().unwrap();
    assert_eq!(added["details"]["type"], "totp");
    let hotp_id = e.json(&["add", "--uri", HOTP, "--json"])["id"]
        .as_i64()
        .unwrap();

    let codes = e.json(&["codes", "--json"]);
    let arr = codes.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    let t = &arr[0];
    assert_eq!(t["id"], totp_id);
    assert_eq!(t["issuer"], "RFC");
    assert_eq!(t["account"], "6238");
    let code = t["code"].as_str().unwrap();
    assert_eq!(code.len(), 6);
    let until = t["valid_until"].as_u64().unwrap();
    // The code is the RFC 6238 SHA-1 secret's code for the window it names.
    let expect = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(["code", "--uri", TOTP, "--at", &(until - 1).to_string()])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(expect.stdout).unwrap().trim(), code);
    assert_eq!(arr[1]["code"], serde_json::Value::Null);
    assert_eq!(arr[1]["counter"], 0);

    // HOTP: RFC 4226 values, counter persisted between processes.
    for want in ["755224", "287082", "359152"] {
        let o = e.run(&["next", &hotp_id.to_string()]);
        assert_eq!(String::from_utf8(o.stdout).unwrap().trim(), want);
    }

    assert!(
        e.run(&[
            "rename",
            &totp_id.to_string(),
            "--issuer",
            "Example",
            "--name",
            "alice"
        ])
        .status
        .success()
    );
    assert!(
        e.run(&["group", &totp_id.to_string(), "Work", "Banking"])
            .status
            .success()
    );
    assert!(
        e.run(&["reorder", &hotp_id.to_string(), &totp_id.to_string()])
            .status
            .success()
    );
    let list = e.json(&["list", "--json"]);
    assert_eq!(list[0]["id"], hotp_id);
    assert_eq!(list[1]["issuer"], "Example");
    assert_eq!(list[1]["account"], "alice");
    assert_eq!(list[1]["groups"], serde_json::json!(["Work", "Banking"]));

    let check = e.json(&["check", "--json"]);
    assert_eq!(check["ok"], true);
    assert_eq!(check["accounts_checked"], 2);
    assert_eq!(check["key_store"], "passphrase-argon2id");

    assert!(e.run(&["remove", &hotp_id.to_string()]).status.success());
    assert_eq!(
        e.run(&["remove", &hotp_id.to_string()]).status.code(),
        Some(4),
        "not found"
    );
    assert_eq!(e.json(&["list", "--json"]).as_array().unwrap().len(), 1);
}

#[test]
fn wrong_passphrase_is_refused_and_the_vault_kept() {
    let e = Env::new();
    assert!(e.run(&["add", "--uri", TOTP]).status.success());
    let before = std::fs::read(e.vault()).unwrap();
    let wrong = e.dir.path().join("wrong");
    std::fs::write(&wrong, "not the passphrase").unwrap();
    let o = e.run_with(&wrong, &["codes"]);
    assert_eq!(o.status.code(), Some(5));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("wrong passphrase"), "{err}");
    assert_eq!(std::fs::read(e.vault()).unwrap(), before, "file untouched");
    assert!(
        e.run(&["codes"]).status.success(),
        "still opens with the right one"
    );
}

#[test]
fn invalid_uri_adds_nothing() {
    let e = Env::new();
    let o = e.run(&["add", "--uri", "otpauth://totp/x?secret=ABC1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8(o.stderr).unwrap().contains("position 4"));
    assert_eq!(e.json(&["list", "--json"]).as_array().unwrap().len(), 0);
}

#[test]
fn no_key_store_is_a_clear_error_never_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.db");
    // No passphrase file and no Secret Service session bus: refuse, create nothing.
    let o = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .arg("--vault")
        .arg(&vault)
        .args(["add", "--uri", TOTP])
        .env_remove("COUNTERSIGN_PASSPHRASE_FILE")
        .env_remove("COUNTERSIGN_KEY_STORE")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("--passphrase-file"),
        "says how to proceed: {err}"
    );
    assert!(!vault.exists(), "no vault without a key store");
}
