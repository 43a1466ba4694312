//! `countersign scan`, `add --qr` and `activate --qr` on real PNG files made in the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::Path;
use std::process::Command;

mod common;
use common::qr_png;

fn cs(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_countersign"))
        .arg("--vault")
        .arg(dir.join("v.db"))
        .arg("--passphrase-file")
        .arg(dir.join("pw"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn scan_classifies_without_printing_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "qr tests").unwrap();
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let cases = [
        (format!("otpauth://totp/Example:alice?secret={secret}&issuer=Example"), "otpauth", false),
        ("phonefactor://activate_account?code=123456789&url=https://mobileappcommunicator.auth.microsoft.com/activatev2/1/x".to_string(), "microsoft-activation", true),
        ("pia://pipush/alice?url=https%3A//pi.example/ttype/push&serial=PIPU0001&v=1".to_string(), "privacyidea-push", false),
        ("hello world".to_string(), "unknown", false),
    ];
    for (i, (text, kind, inverted)) in cases.iter().enumerate() {
        let png = dir.path().join(format!("{i}.png"));
        qr_png(text, &png, *inverted);
        let o = cs(dir.path(), &["scan", png.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8(o.stdout).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[0]["kind"], *kind, "{out}");
        assert!(
            !out.contains(secret),
            "scan output never contains the secret"
        );
    }
    // No code at all: an empty list, not an error.
    let blank = dir.path().join("blank.png");
    image::GrayImage::from_pixel(200, 200, image::Luma([255]))
        .save(&blank)
        .unwrap();
    let o = cs(dir.path(), &["scan", blank.to_str().unwrap(), "--json"]);
    assert_eq!(String::from_utf8(o.stdout).unwrap().trim(), "[]");
    // Not an image: typed invalid-input status.
    std::fs::write(dir.path().join("junk.png"), b"not a png").unwrap();
    assert_eq!(
        cs(
            dir.path(),
            &["scan", dir.path().join("junk.png").to_str().unwrap()]
        )
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn add_from_a_picture_gives_the_right_codes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "qr tests").unwrap();
    let uri = "otpauth://totp/RFC:6238?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=RFC&digits=8";
    let png = dir.path().join("acct.png");
    qr_png(uri, &png, false);
    let o = cs(
        dir.path(),
        &["add", "--qr", png.to_str().unwrap(), "--json"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["issuer"], "RFC");
    assert_eq!(v["details"]["digits"], 8);
    // A picture without an account QR adds nothing.
    let other = dir.path().join("other.png");
    qr_png("hello", &other, false);
    assert_eq!(
        cs(dir.path(), &["add", "--qr", other.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    let list: serde_json::Value =
        serde_json::from_slice(&cs(dir.path(), &["list", "--json"]).stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
}
