//! Command-line grammar. Command and option names are an interface QA scripts rely on: add,
//! don't rename.

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use countersign_ffi::CountersignError;
use std::path::PathBuf;

/// Countersign desktop QA tool.
#[derive(Debug, Parser)]
#[command(name = "countersign", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every vault command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Vault file (default: `countersign/vault.db` in the user's data directory).
    #[arg(long, global = true, env = "COUNTERSIGN_VAULT")]
    pub vault: Option<PathBuf>,
    /// Which key store wraps the vault's data key.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "COUNTERSIGN_KEY_STORE",
        default_value = "auto"
    )]
    pub key_store: KeyStoreChoice,
    /// Passphrase file for `--key-store passphrase` (first line is the passphrase).
    #[arg(long, global = true, env = "COUNTERSIGN_PASSPHRASE_FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Trust this extra CA (PEM) for push servers, e.g. a self-hosted server's.
    #[arg(long, global = true, env = "COUNTERSIGN_CA")]
    pub ca: Option<PathBuf>,
    /// Allow loopback push servers and plain http to them (QA only).
    #[arg(long, global = true)]
    pub allow_http_loopback: bool,
}

/// Key store choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyStoreChoice {
    /// A passphrase file if one is given, else the OS key store.
    Auto,
    /// Argon2id from `--passphrase-file` (headless machines, CI).
    Passphrase,
    /// The OS key store (Secret Service, macOS Keychain, Windows Credential Manager).
    Os,
    /// The Linux kernel keyring (session keyring; keys vanish at logout/reboot: QA only).
    Kernel,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the one-time code of an otpauth:// URI, alone on one line.
    Code(crate::oath::CodeArgs),
    /// Describe the account in an otpauth:// URI (never its secret).
    Inspect(crate::oath::InspectArgs),
    /// Decode every QR code in an image and say what each one is.
    Scan(crate::oath::ScanArgs),
    /// Add an account to the vault.
    Add(crate::vault::AddArgs),
    /// List the vault's accounts (works without unlocking secrets).
    List(crate::vault::JsonArgs),
    /// Print every account's current code.
    Codes(crate::vault::JsonArgs),
    /// Hand out the next code of an HOTP account (the counter is saved first).
    Next(crate::vault::IdArgs),
    /// Rename an account.
    Rename(crate::vault::RenameArgs),
    /// Delete an account.
    Remove(crate::vault::IdArgs),
    /// Set the order of the list.
    Reorder(crate::vault::ReorderArgs),
    /// Put an account in groups.
    Group(crate::vault::GroupArgs),
    /// Check the vault's database and every account's encrypted data.
    Check(crate::vault::JsonArgs),
    /// Move the vault's data key to another key store.
    Rewrap(crate::vault::RewrapArgs),
    /// Activate a push account (QR payload, or code + URL typed from the enrolment page).
    Activate(crate::push::ActivateArgs),
    /// Pending sign-in requests and answers.
    #[command(subcommand)]
    Push(crate::push::PushCommand),
    /// Import accounts from an export (Aegis, 2FAS, Google transfer, URI list, backup) or a
    /// picture of QR codes; prints imported / duplicates / failed with reasons.
    Import(crate::transfer::ImportArgs),
    /// Export every OATH account: an encrypted backup, or plain-text URIs or Google transfer
    /// QR codes (with --i-understand-plaintext).
    Export(crate::transfer::ExportArgs),
    /// Restore a Countersign backup into the vault (duplicates are reported, not doubled).
    Restore(crate::transfer::RestoreArgs),
    /// Write an encrypted backup into a directory, keeping the newest N.
    AutoBackup(crate::transfer::AutoBackupArgs),
    /// Walk through activation, number matching, approve, deny and fraud against an
    /// in-process reference server with a throw-away vault (no configuration).
    Demo(crate::demo_ui::DemoArgs),
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(&self) -> Result<()> {
        use crate::vault as v;
        let g = &self.global;
        match &self.command {
            Command::Code(a) => crate::oath::code(a),
            Command::Inspect(a) => crate::oath::inspect(a),
            Command::Scan(a) => crate::oath::scan(g, a),
            Command::Add(a) => v::add(g, a),
            Command::List(a) => v::list(g, a),
            Command::Codes(a) => v::codes(g, a),
            Command::Next(a) => v::next(g, a),
            Command::Rename(a) => v::rename(g, a),
            Command::Remove(a) => v::remove(g, a),
            Command::Reorder(a) => v::reorder(g, a),
            Command::Group(a) => v::group(g, a),
            Command::Check(a) => v::check(g, a),
            Command::Rewrap(a) => v::rewrap(g, a),
            Command::Activate(a) => crate::push::activate(g, a),
            Command::Push(c) => crate::push::push(g, c),
            Command::Import(a) => crate::transfer::import(g, a),
            Command::Export(a) => crate::transfer::export(g, a),
            Command::Restore(a) => crate::transfer::restore(g, a),
            Command::AutoBackup(a) => crate::transfer::auto_backup(g, a),
            Command::Demo(a) => crate::demo_ui::demo(a),
        }
    }
}

/// Exit status by failure class: 2 bad input, 3 unsupported, 4 not found, 5 key store or
/// vault locked/unavailable, 6 damaged storage, 7 network, 8 server refused, 9 request
/// closed or expired, 10 security check failed, 11 wrong or missing password, 1 anything else.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<CountersignError>() {
        Some(CountersignError::InvalidInput { .. }) => 2,
        Some(CountersignError::Unsupported { .. }) => 3,
        Some(CountersignError::NotFound { .. }) => 4,
        Some(
            CountersignError::KeyStoreLocked { .. }
            | CountersignError::KeyStoreUnavailable { .. }
            | CountersignError::VaultLocked { .. },
        ) => 5,
        Some(CountersignError::StorageCorrupt { .. }) => 6,
        Some(CountersignError::Network { .. }) => 7,
        Some(CountersignError::ServerRejected { .. }) => 8,
        Some(CountersignError::ChallengeClosed { .. }) => 9,
        Some(CountersignError::SecurityCheckFailed { .. }) => 10,
        Some(CountersignError::WrongPassword { .. }) => 11,
        _ => 1,
    }
}
