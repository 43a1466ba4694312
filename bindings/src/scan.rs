//! QR scanning over the FFI: camera frames (a luma plane with its row stride, as CameraX and
//! AVFoundation deliver it) and image files, each payload classified so the shell knows which
//! screen to open next.

use crate::CountersignError;
use crate::client::{AddedAccount, AuthenticatorClient};
use crate::oath::AccountInfo;
use countersign_core::payload::{self, Payload};
use countersign_core::qr::{self, DecodeOptions, LumaFrame, QrError};

/// What a scanned payload is.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PayloadKind {
    /// An OATH account: offer "Add account".
    Otpauth {
        /// What would be added.
        info: AccountInfo,
    },
    /// A Google Authenticator transfer code: offer import ("code k of n").
    GoogleMigration {
        /// Accounts in this code.
        accounts: u32,
        /// 0-based position in the batch, when stated.
        batch_index: Option<u32>,
        /// Codes in the batch, when stated.
        batch_size: Option<u32>,
    },
    /// A privacyIDEA push enrolment.
    PrivacyideaPush {
        /// Token serial.
        serial: Option<String>,
        /// Server host.
        host: Option<String>,
    },
    /// A Countersign push activation: ask "Add an account at {host}?".
    OpenpushActivation {
        /// Server host.
        host: String,
    },
    /// Microsoft Authenticator's activation: explain it only works with Microsoft's app.
    MicrosoftActivation,
    /// Not something Countersign uses.
    Unknown {
        /// Why.
        reason: String,
        /// A safe, short preview (empty for secret-bearing schemes).
        preview: String,
    },
}

/// A decoded QR code and what it is.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct ScannedPayload {
    /// The payload text, to pass to `add_account_from_uri` or an activation call. It may hold
    /// a secret: do not log or display it.
    pub text: String,
    /// Its classification.
    pub kind: PayloadKind,
    /// Light-on-dark code.
    pub inverted: bool,
}

impl std::fmt::Debug for ScannedPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScannedPayload")
            .field(
                "text",
                &format_args!("<{} bytes redacted>", self.text.len()),
            )
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl From<QrError> for CountersignError {
    fn from(e: QrError) -> Self {
        Self::InvalidInput {
            detail: e.to_string(),
            field: None,
        }
    }
}

fn classify(
    found: Vec<qr::DecodedQr>,
    policy: countersign_core::openpush::UrlPolicy,
) -> Vec<ScannedPayload> {
    found
        .into_iter()
        .map(|d| {
            let kind = match payload::classify(&d.text, policy) {
                Payload::Otpauth(a) => PayloadKind::Otpauth {
                    info: AccountInfo::from(a.as_ref()),
                },
                Payload::GoogleMigration {
                    accounts,
                    batch_index,
                    batch_size,
                    ..
                } => PayloadKind::GoogleMigration {
                    accounts: u32::try_from(accounts).unwrap_or(u32::MAX),
                    batch_index,
                    batch_size,
                },
                Payload::PrivacyideaPush { serial, host } => {
                    PayloadKind::PrivacyideaPush { serial, host }
                }
                Payload::OpenpushActivation { host } => PayloadKind::OpenpushActivation { host },
                Payload::MicrosoftActivation => PayloadKind::MicrosoftActivation,
                Payload::Unknown { reason, preview } => PayloadKind::Unknown { reason, preview },
                _ => PayloadKind::Unknown {
                    reason: "unrecognised".into(),
                    preview: String::new(),
                },
            };
            ScannedPayload {
                text: d.text,
                kind,
                inverted: d.inverted,
            }
        })
        .collect()
}

/// Decodes every QR code in a camera frame's luma (Y) plane without a vault (an "add account"
/// screen before the vault is open, or a QA tool). `allow_loopback` classifies activation
/// payloads that point at loopback servers as usable (tests only); otherwise as in
/// [`AuthenticatorClient::scan_frame`].
#[uniffi::export]
pub fn decode_frame(
    width: u32,
    height: u32,
    row_stride: u32,
    luma: Vec<u8>,
    allow_loopback: bool,
) -> Result<Vec<ScannedPayload>, CountersignError> {
    let frame = LumaFrame::new(width, height, row_stride as usize, &luma)?;
    let found = qr::decode_luma(&frame, &DecodeOptions::camera())?;
    Ok(classify(found, policy(allow_loopback)))
}

/// Decodes every QR code in a PNG or JPEG without a vault; see [`decode_frame`].
#[uniffi::export]
pub fn decode_image(
    image: Vec<u8>,
    allow_loopback: bool,
) -> Result<Vec<ScannedPayload>, CountersignError> {
    let found = qr::decode_image(&image, &DecodeOptions::still_image())?;
    Ok(classify(found, policy(allow_loopback)))
}

fn policy(allow_loopback: bool) -> countersign_core::openpush::UrlPolicy {
    if allow_loopback {
        countersign_core::openpush::UrlPolicy::AllowLoopback
    } else {
        countersign_core::openpush::UrlPolicy::Strict
    }
}

#[uniffi::export]
impl AuthenticatorClient {
    /// Decodes every QR code in a camera frame's luma (Y) plane: `width` × `height` pixels,
    /// `row_stride` bytes per row (≥ width). Tuned for preview frames: fast, time-bounded; an
    /// empty list means "no code in this frame, keep scanning".
    pub fn scan_frame(
        &self,
        width: u32,
        height: u32,
        row_stride: u32,
        luma: Vec<u8>,
    ) -> Result<Vec<ScannedPayload>, CountersignError> {
        let frame = LumaFrame::new(width, height, row_stride as usize, &luma)?;
        let found = qr::decode_luma(&frame, &DecodeOptions::camera())?;
        Ok(classify(found, self.url_policy()))
    }

    /// Decodes every QR code in an image file (PNG or JPEG: a screenshot or photo).
    pub fn scan_image(&self, image: Vec<u8>) -> Result<Vec<ScannedPayload>, CountersignError> {
        let found = qr::decode_image(&image, &DecodeOptions::still_image())?;
        Ok(classify(found, self.url_policy()))
    }

    /// Adds every OATH account found in an image; fails if there is none.
    pub fn add_accounts_from_image(
        &self,
        image: Vec<u8>,
    ) -> Result<Vec<AddedAccount>, CountersignError> {
        let scanned = self.scan_image(image)?;
        let mut added = Vec::new();
        for s in scanned {
            if matches!(s.kind, PayloadKind::Otpauth { .. }) {
                added.push(self.add_account_from_uri(s.text)?);
            }
        }
        if added.is_empty() {
            return Err(CountersignError::InvalidInput {
                detail: "no authenticator QR code (otpauth://) found in the image".into(),
                field: None,
            });
        }
        Ok(added)
    }
}
