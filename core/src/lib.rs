//! Countersign's authenticator core.
//!
//! Everything an authenticator app does that is not user interface lives here, in pure Rust, so
//! that the Android, iOS and Windows shells and the desktop QA harness all run the same tested
//! code. The crate is organised by what each module owns:
//!
//! - [`otp`]: HOTP, TOTP and Steam Guard code generation, pure functions of secret and time.
//! - [`uri`]: the `otpauth://` Key URI format, parsed and written back without loss.
//! - [`crypto`]: every cryptographic primitive; secrets are zeroizing newtypes.
//! - [`platform`]: traits the shells implement (key store), with desktop implementations.
//! - [`vault`]: the encrypted SQLite store of accounts.
//! - [`qr`]: QR codes from camera frames (luma planes with a row stride) and image files.
//! - [`payload`]: classifies a scanned or pasted payload and says where it goes.
//! - [`openpush`]: the pure parts of the openpush/1 push protocol (docs/protocol.md).
//! - [`pipush`]: the pure parts of privacyIDEA's push-token protocol.
//! - [`push`]: both push clients over the network, sharing one challenge/decision model.
//! - [`transfer`]: import (Google, Aegis, 2FAS, URI lists), export and encrypted backup.
//!
//! Errors are one rich [`Error`] type; bindings map it onto the few cases a shell acts on.

pub mod crypto;
pub mod error;
pub mod openpush;
pub mod otp;
pub mod payload;
pub mod pipush;
pub mod platform;
pub mod push;
pub mod qr;
pub mod transfer;
pub mod uri;
pub mod vault;

pub use error::{Error, Result};
