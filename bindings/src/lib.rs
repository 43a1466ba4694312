//! Countersign's foreign-function interface.
//!
//! This is the only crate that knows uniffi. It is deliberately thin: every function converts
//! its arguments into core types, calls `countersign-core`, and converts the answer back. The
//! Kotlin package, Swift module, C# namespace and Python module generated from it are the whole
//! API the phone and desktop shells see; the desktop harness (`countersign`) calls the same
//! Rust functions, so QA exercises exactly what ships.
//!
//! Nothing here may panic across the boundary: errors become [`CountersignError`], whose
//! variants say what the shell should do next.

mod client;
mod error;
mod events;
mod logging;
mod oath;
mod platform;
mod privacyidea;
mod push;
mod scan;
mod transfer;

pub use client::{
    AccountCode, AccountEntry, AccountKind, AddedAccount, AuthenticatorClient, CodeState, HotpCode,
    VaultReport,
};
pub use error::CountersignError;
pub use events::{ChallengesListener, CodesListener, Subscription};
pub use logging::{LogLevel, Logger, set_logger};
pub use oath::{AccountInfo, CodeInfo, OtpType, code_for_uri, parse_account_uri};
pub use platform::{Clock, DesktopKeyStore, DeviceSigner, KeyStore, KeyStoreError};
pub use privacyidea::{
    EnrollmentProgress, EnrollmentStage, PrivacyideaEnrollment, PrivacyideaLink,
};
pub use push::{
    Activation, ChallengeKind, Decision, DeviceDescription, NetworkOptions, Outcome,
    PushAccountStatus, PushChallenge, PushTarget,
};
pub use scan::{PayloadKind, ScannedPayload, decode_frame, decode_image};
pub use transfer::{
    DuplicateAccountEntry, EncryptedBackup, ExportFormat, FailedImportEntry, ImportFormat,
    ImportReport, ImportedAccountEntry, MissingTransferCodes, PlaintextExport, SavedBackup,
    SkippedAccount,
};

uniffi::setup_scaffolding!();
