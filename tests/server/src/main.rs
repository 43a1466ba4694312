//! `countersign-server`: the reference openpush/1 server as a command (a thin wrapper over
//! [`countersign_server::start`]). Prints one JSON line with the base URL and file paths once
//! it accepts connections; stops on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use countersign_server::{ServerConfig, Tls, start};

/// Reference openpush/1 MFA server (docs/protocol.md).
#[derive(Debug, Parser)]
#[command(name = "countersign-server", version)]
struct Args {
    /// Address to listen on, e.g. 127.0.0.1:8443 (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Data directory (database, keys, admin-token, ca.pem).
    #[arg(long)]
    data: PathBuf,
    /// Base URL announced to devices (default: https://127.0.0.1:<port>).
    #[arg(long)]
    public_url: Option<String>,
    /// Serve plain HTTP (tests only; refused unless --listen is a loopback address).
    #[arg(long)]
    plain_http_loopback: bool,
    /// Organisation name shown in the app and on the enrolment page.
    #[arg(long, default_value = "Countersign Reference Server")]
    issuer: String,
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = ServerConfig::new(args.listen, args.data.clone());
    config.public_url = args.public_url;
    config.issuer = args.issuer;
    if args.plain_http_loopback {
        config.tls = Tls::PlainHttpLoopback;
    }
    let server = start(config).await?;
    println!(
        "{}",
        serde_json::json!({
            "base_url": server.base_url(),
            "addr": server.addr().to_string(),
            "ca_pem": server.ca_pem_path(),
            "admin_token_file": args.data.join("admin-token"),
        })
    );
    server.serve_until(stop_signal()).await
}
