//! Command-line grammar. Command and option names are an interface QA scripts rely on: add,
//! don't rename.

use anyhow::Result;
use clap::{Parser, Subcommand};
use countersign_ffi::CountersignError;

/// Countersign desktop QA tool.
#[derive(Debug, Parser)]
#[command(name = "countersign", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the one-time code of an otpauth:// URI, alone on one line.
    Code(crate::oath::CodeArgs),
    /// Describe the account in an otpauth:// URI (never its secret).
    Inspect(crate::oath::InspectArgs),
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(&self) -> Result<()> {
        match &self.command {
            Command::Code(a) => crate::oath::code(a),
            Command::Inspect(a) => crate::oath::inspect(a),
        }
    }
}

/// Exit status by failure class: 2 bad input, 3 unsupported, 1 anything else.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<CountersignError>() {
        Some(CountersignError::InvalidInput { .. }) => 2,
        Some(CountersignError::Unsupported { .. }) => 3,
        _ => 1,
    }
}
