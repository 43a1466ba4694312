//! `countersign`: the desktop QA harness.
//!
//! It drives `countersign-ffi`'s Rust API — the same functions the Android, iOS and Windows
//! shells call through uniffi — so a scripted QA run exercises what ships. Output is meant for
//! both people and scripts: plain text by default, `--json` where a script needs structure.
//! Every failure prints one line on stderr and exits non-zero.

mod cli;
mod demo_ui;
mod oath;
mod push;
mod transfer;
mod vault;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("countersign: {msg}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
