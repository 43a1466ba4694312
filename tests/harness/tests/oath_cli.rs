//! `countersign code` and `countersign inspect` as a script sees them: the real binary, its
//! stdout, stderr and exit status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn countersign(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

const RFC_SHA1_URI: &str =
    "otpauth://totp/RFC:6238?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8";

#[test]
fn code_prints_the_rfc_value_alone() {
    let o = countersign(&["code", "--uri", RFC_SHA1_URI, "--at", "1111111109"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "07081804\n");
    assert!(o.stderr.is_empty());
}

#[test]
fn code_hotp_uses_counter_flag_then_uri_counter() {
    let uri = "otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=2";
    assert_eq!(stdout(&countersign(&["code", "--uri", uri])), "359152\n");
    assert_eq!(
        stdout(&countersign(&["code", "--uri", uri, "--counter", "9"])),
        "520489\n"
    );
}

#[test]
fn code_reads_the_uri_from_stdin() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(["code", "--uri", "-", "--at", "59"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(RFC_SHA1_URI.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "94287082\n");
}

#[test]
fn invalid_input_exits_non_zero_with_one_line_reason() {
    for (uri, expect) in [
        ("otpauth://totp/a?secret=ABC1DEFG", "position 4"),
        (
            "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=SHA3",
            "unknown algorithm",
        ),
        (
            "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=0",
            "period",
        ),
        ("https://example.com", "not an otpauth"),
    ] {
        let o = countersign(&["code", "--uri", uri]);
        assert_eq!(o.status.code(), Some(2), "{uri}");
        assert!(o.stdout.is_empty());
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{uri}: {err}");
    }
    let o = countersign(&["code", "--uri", "otpauth://pipush/X?url=https://a"]);
    assert_eq!(o.status.code(), Some(3), "unsupported has its own status");
}

#[test]
fn inspect_json_describes_without_the_secret() {
    let uri = "otpauth://totp/Old:me@x.org?secret=JBSWY3DPEHPK3PXP&issuer=New&algorithm=sha256&digits=8&period=60";
    let o = countersign(&["inspect", "--uri", uri, "--json"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(!text.contains("JBSWY3DPEHPK3PXP"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "totp");
    assert_eq!(v["issuer"], "New");
    assert_eq!(v["account"], "me@x.org");
    assert_eq!(v["algorithm"], "SHA256");
    assert_eq!(v["digits"], 8);
    assert_eq!(v["period"], 60);
    assert_eq!(v["secret_bits"], 80);
    assert_eq!(v["warnings"].as_array().unwrap().len(), 2, "{v}");
}

#[test]
fn inspect_text_shows_counter_for_hotp() {
    let o = countersign(&[
        "inspect",
        "--uri",
        "otpauth://hotp/Corp:dev?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=7",
    ]);
    let text = stdout(&o);
    assert!(text.contains("counter    7"), "{text}");
    assert!(text.contains("type       hotp"), "{text}");
}
