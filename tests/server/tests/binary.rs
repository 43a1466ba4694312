//! The `countersign-server` binary as QA scripts use it: `--listen 127.0.0.1:0 --data <dir>`
//! writes `ca.pem` and `admin-token` before accepting connections, prints one JSON line, and
//! stops on SIGTERM; plain HTTP is refused on a non-loopback address.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_writes_ca_and_token_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_countersign-server"))
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base = ready["base_url"].as_str().unwrap().to_string();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    assert!(
        !line.contains(
            &std::fs::read_to_string(data.join("admin-token"))
                .unwrap()
                .trim()
                .to_string()
        )
    );
    let ca = std::fs::read(data.join("ca.pem")).unwrap();
    let token = std::fs::read_to_string(data.join("admin-token")).unwrap();
    let client = common::client_for(Some(&ca));
    let r = client
        .get(format!("{base}/admin/info"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let info: serde_json::Value = r.json().await.unwrap();
    assert_eq!(info["base_url"], base.as_str());
    // Without the CA the certificate is not trusted.
    let plain = common::client_for(None);
    assert!(
        plain
            .get(format!("{base}/admin/info"))
            .send()
            .await
            .is_err()
    );

    #[cfg(unix)]
    {
        let _ = Command::new("kill").arg(child.id().to_string()).status();
    }
    #[cfg(not(unix))]
    let _ = child.kill();
    let status = child.wait().unwrap();
    #[cfg(unix)]
    assert!(status.success(), "graceful exit on SIGTERM: {status:?}");
    let _ = status;
}

#[test]
fn binary_refuses_plain_http_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_countersign-server"))
        .args(["--listen", "0.0.0.0:0", "--plain-http-loopback", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
