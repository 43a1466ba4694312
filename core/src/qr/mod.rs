//! QR code decoding for camera frames and still images.
//!
//! Enrolment starts by scanning an `otpauth://` QR code, so the decoder sits in the core: the
//! Android, iOS and desktop shells hand it what they already have, and get the same result
//! everywhere. Two entry points:
//!
//! - [`decode_luma`]: a camera luma plane with its row stride (Android CameraX `ImageAnalysis`:
//!   the Y plane of `YUV_420_888` and its `rowStride`; iOS AVFoundation: the Y plane of `420f`
//!   and its `bytesPerRow`), wrapped in a validated [`LumaFrame`].
//! - [`decode_image`]: PNG or JPEG bytes (screenshots, photos), decoded with the `image` crate.
//!
//! Both return every QR code found, as [`DecodedQr`] (text, raw bytes, corners). Classifying
//! the payload (`otpauth://`, migration, push enrolment) is the caller's business.
//!
//! # Decoder decision (ADR 0002)
//! Detection, sampling and error correction come from rxing (pure Rust): its port of zxing-cpp's
//! QR reader, called on bit matrices this module makes, and its older detector as a last
//! attempt. What this module adds is the part that decides the read rate and the cost: its own
//! local binarisers (8x8-block min/max, 3x3 box blur, small-window local mean), a word-at-a-time
//! finder-pattern row scan, fallbacks for strongly tilted codes (every corner choice of a
//! finder triple, and sampling through a projective model fitted to the finder sizes), an
//! inverted (dark-mode) attempt, a 2x downscaled attempt for noise and low contrast, and extra
//! attempts that run only when an earlier one saw finder patterns, all inside a time budget. On
//! the synthetic benchmark (seed 771) that reads 88.7 % of the frames against zxing-cpp's
//! 81.6 % and plain rqrr's 47.3 %, at least as many as zxing-cpp in every category, at 0.46x
//! zxing-cpp's median time (0.61x on an empty 1080p frame). rqrr, which the design card named,
//! is not used: most of its misses come from its finder-pattern grouping, which no
//! pre-processing fixes, and an empty 1080p frame costs it ~10x zxing-cpp. Figures:
//! `docs/adr/0002-qr-decoder.md`, produced by `tests/qr-bench/run.sh`.
//!
//! # Robustness
//! No input panics: sizes are validated up front ([`frame::MAX_DIMENSION`],
//! [`frame::MAX_PIXELS`]), pixel access goes through slices, and a panic inside rxing is caught
//! and counted as "not found". Time is bounded by [`DecodeOptions::time_budget`]: the first
//! attempt always runs, later ones only while the budget lasts.

mod binarize;
mod decode;
mod finder;
pub mod frame;
mod strategy;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use frame::LumaFrame;

/// Errors of the QR decoder. "No code in the frame" is not an error: it is an empty `Vec`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum QrError {
    /// The width / height / stride / buffer length combination is not a valid frame.
    #[error("invalid luma frame: {0}")]
    InvalidFrame(&'static str),
    /// The encoded image could not be read (unknown format, corrupt, or over the size limits).
    #[error("invalid image: {0}")]
    InvalidImage(String),
}

/// A decoded QR code. The payload may carry a secret (an `otpauth://` URI), so `Debug` shows
/// only its length.
#[derive(Clone, PartialEq)]
pub struct DecodedQr {
    /// The payload as text (byte segments decoded per ECI, UTF-8 or ISO-8859-1 by default).
    pub text: String,
    /// The payload's raw bytes, as encoded in the symbol's segments.
    pub bytes: Vec<u8>,
    /// Symbol corners in frame pixels: top-left, top-right, bottom-right, bottom-left (of the
    /// symbol as printed, so a code photographed upside down has its "top-left" bottom-right).
    pub corners: [(f32, f32); 4],
    /// True if the code was light-on-dark (dark mode).
    pub inverted: bool,
}

impl std::fmt::Debug for DecodedQr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedQr")
            .field(
                "text",
                &format_args!("<{} bytes redacted>", self.text.len()),
            )
            .field("corners", &self.corners)
            .field("inverted", &self.inverted)
            .finish_non_exhaustive()
    }
}

/// Decoder settings. Start from [`DecodeOptions::camera`] or [`DecodeOptions::still_image`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Time after which no further attempt is started. The first attempt always runs to the end;
    /// a budget of zero therefore means "one attempt".
    pub time_budget: Duration,
    /// Run the attempts meant for hard frames (low contrast, glare, dense scan) even when no
    /// earlier attempt saw a finder pattern.
    pub try_harder: bool,
    /// End after the first attempt that decodes something (the camera preview wants one code,
    /// fast; a still image may hold several codes that different attempts read).
    pub stop_at_first: bool,
    /// Stop once this many distinct codes are found.
    pub max_codes: usize,
}

impl DecodeOptions {
    /// Camera preview: 50 ms budget, no extra attempts without finder-pattern evidence, stop at
    /// the first decode. An empty 1080p frame costs a few milliseconds.
    pub fn camera() -> Self {
        Self {
            time_budget: Duration::from_millis(50),
            try_harder: false,
            stop_at_first: true,
            max_codes: 16,
        }
    }

    /// Still image (screenshot, photo, file): 1 s budget, every attempt, all codes merged.
    pub fn still_image() -> Self {
        Self {
            time_budget: Duration::from_millis(1000),
            try_harder: true,
            stop_at_first: false,
            max_codes: 64,
        }
    }
}

impl Default for DecodeOptions {
    /// [`DecodeOptions::camera`].
    fn default() -> Self {
        Self::camera()
    }
}

/// Decodes every QR code in a camera luma plane.
///
/// # Errors
/// None beyond those of [`LumaFrame::new`] (already checked when the frame was built); the
/// `Result` leaves room for cancellation. No code in view is `Ok(vec![])`.
pub fn decode_luma(
    frame: &LumaFrame<'_>,
    options: &DecodeOptions,
) -> Result<Vec<DecodedQr>, QrError> {
    Ok(run_cascade(frame, options).found)
}

/// Decodes every QR code in a PNG or JPEG image.
///
/// # Errors
/// [`QrError::InvalidImage`] if the bytes are not a readable PNG/JPEG or exceed the limits
/// ([`frame::MAX_ENCODED_BYTES`], [`frame::MAX_DIMENSION`], [`frame::MAX_PIXELS`]);
/// [`QrError::InvalidFrame`] if the image is smaller than 21 x 21 pixels.
pub fn decode_image(bytes: &[u8], options: &DecodeOptions) -> Result<Vec<DecodedQr>, QrError> {
    let luma = frame::luma_from_encoded(bytes)?;
    let frame = luma.as_frame()?;
    decode_luma(&frame, options)
}

/// The frame as the binarisers' plane view.
fn plane_of<'a>(frame: &LumaFrame<'a>) -> binarize::Plane<'a> {
    binarize::Plane {
        width: frame.width() as usize,
        height: frame.height() as usize,
        stride: frame.stride(),
        data: frame.data(),
    }
}

/// Runs the cascade and keeps its statistics (used by the benchmark through `decode_stats`).
fn run_cascade(frame: &LumaFrame<'_>, options: &DecodeOptions) -> strategy::Outcome {
    strategy::run(plane_of(frame), strategy::CASCADE, options)
}

/// Per-call statistics, for benchmarks and diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Index of the cascade attempt that first decoded something, if any.
    pub first_hit: Option<usize>,
    /// Number of attempts that ran.
    pub attempts: usize,
}

/// [`decode_luma`], also returning which attempt succeeded and how many ran.
///
/// # Errors
/// As [`decode_luma`].
pub fn decode_luma_with_stats(
    frame: &LumaFrame<'_>,
    options: &DecodeOptions,
) -> Result<(Vec<DecodedQr>, DecodeStats), QrError> {
    let o = run_cascade(frame, options);
    Ok((
        o.found,
        DecodeStats {
            first_hit: o.first_hit,
            attempts: o.steps_run,
        },
    ))
}

pub use strategy::StepProfile;

/// Runs every attempt of the camera cascade on `frame` alone (no gating, budget or early stop)
/// and reports each one's cost, finder patterns and texts. For the benchmark's cascade replay
/// (`tests/qr-bench/cascade.py`); not for apps.
#[doc(hidden)]
pub fn profile_cascade(frame: &LumaFrame<'_>) -> Vec<StepProfile> {
    strategy::profile(plane_of(frame), strategy::CASCADE)
}
