//! One decode attempt: a binarised frame in, decoded symbols out.
//!
//! Detection, sampling and Reed-Solomon decoding are rxing's port of zxing-cpp's QR reader
//! (`rxing::qrcode::cpp_port`): finder patterns are found by scanning rows for 1:1:3:1:1 runs and
//! confirmed as concentric rings, triples are grouped by centre geometry and size, and the grid is
//! sampled through a perspective transform fitted to the finder pattern edges (with the alignment
//! pattern when there is one). Everything here is bounded: at most [`MAX_SETS`] candidate triples
//! per attempt, the deadline is checked between triples, and a panic inside rxing is caught and
//! reported as "nothing found" rather than taking the app down.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use rxing::Point;
use rxing::common::cpp_essentials::ConcentricPattern;
use rxing::common::{BitMatrix, DetectorRXingResult};
use rxing::qrcode::cpp_port::decoder::Decode;
use rxing::qrcode::cpp_port::detector::{FindFinderPatterns, GenerateFinderPatternSets, SampleQR};

use super::DecodedQr;

/// Most candidate finder-pattern triples sampled per attempt (cluttered frames produce dozens).
pub(crate) const MAX_SETS: usize = 48;

/// What one attempt saw and decoded.
#[derive(Debug, Default)]
pub(crate) struct Attempt {
    /// Number of confirmed finder patterns (evidence that a code may be present).
    pub(crate) finders: usize,
    /// Decoded symbols, corners in the attempt's own pixel coordinates.
    pub(crate) found: Vec<DecodedQr>,
}

/// Finds and decodes every QR code in `bits`. `scale` maps the attempt's coordinates back to
/// the frame's (a 2x downscaled attempt has scale 2). `dense` scans every third row for finder
/// patterns instead of skipping rows by the largest supported version's module size.
pub(crate) fn detect(
    bits: &BitMatrix,
    dense: bool,
    scale: f32,
    inverted: bool,
    deadline: Option<Instant>,
) -> Attempt {
    // rxing documents FindFinderPatterns as able to panic; the decoder must not.
    catch_unwind(AssertUnwindSafe(|| {
        detect_inner(bits, dense, scale, inverted, deadline)
    }))
    .unwrap_or_default()
}

fn detect_inner(
    bits: &BitMatrix,
    dense: bool,
    scale: f32,
    inverted: bool,
    deadline: Option<Instant>,
) -> Attempt {
    let mut patterns = FindFinderPatterns(bits, dense, 0);
    let mut attempt = Attempt {
        finders: patterns.len(),
        found: Vec::new(),
    };
    if patterns.len() < 3 {
        return attempt;
    }
    let sets = GenerateFinderPatternSets(&mut patterns);
    let mut used: Vec<ConcentricPattern> = Vec::new();
    for set in sets.iter().take(MAX_SETS) {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if used.contains(&set.bl) || used.contains(&set.tl) || used.contains(&set.tr) {
            continue;
        }
        let Ok(det) = SampleQR(bits, set) else {
            continue;
        };
        let Ok(res) = Decode(det.getBits()) else {
            continue;
        };
        if !res.isValid() {
            continue;
        }
        used.extend([set.bl, set.tl, set.tr]);
        let corners = corners_of(det.getPoints(), scale);
        attempt.found.push(DecodedQr {
            text: res.text(),
            bytes: res.content().bytes().to_vec(),
            corners,
            inverted,
        });
    }
    attempt
}

/// The older ZXing detector (rxing's port of the Java `Detector`): it estimates the grid from
/// the three finder centres and the alignment pattern instead of fitting the finder pattern
/// edges, which survives strong perspective (50-60 degrees of tilt) where the edge fit fails.
/// Reads one code per attempt; its corners are extrapolated from the finder-pattern centres.
pub(crate) fn detect_legacy(bits: &BitMatrix, scale: f32, inverted: bool) -> Attempt {
    catch_unwind(AssertUnwindSafe(|| {
        let hints = rxing::DecodeHints {
            TryHarder: Some(true),
            ..Default::default()
        };
        let mut attempt = Attempt::default();
        let Ok(det) = rxing::qrcode::detector::Detector::new(bits).detect_with_hints(&hints) else {
            return attempt;
        };
        attempt.finders = 3;
        let Ok(res) = rxing::qrcode::decoder::qrcode_decoder::decode_bitmatrix(det.getBits())
        else {
            return attempt;
        };
        let text = res.getText().to_owned();
        // Points: bottom-left, top-left, top-right finder centres (then the alignment pattern).
        let p = det.getPoints();
        let corners = match (p.first(), p.get(1), p.get(2)) {
            (Some(bl), Some(tl), Some(tr)) => [
                (tl.x * scale, tl.y * scale),
                (tr.x * scale, tr.y * scale),
                ((tr.x + bl.x - tl.x) * scale, (tr.y + bl.y - tl.y) * scale),
                (bl.x * scale, bl.y * scale),
            ],
            _ => [(0.0, 0.0); 4],
        };
        attempt.found.push(DecodedQr {
            bytes: text.as_bytes().to_vec(),
            text,
            corners,
            inverted,
        });
        attempt
    }))
    .unwrap_or_default()
}

/// Symbol corners (top-left, top-right, bottom-right, bottom-left) in frame pixels.
fn corners_of(points: &[Point], scale: f32) -> [(f32, f32); 4] {
    let mut c = [(0.0, 0.0); 4];
    for (dst, p) in c.iter_mut().zip(points) {
        *dst = (p.x * scale, p.y * scale);
    }
    c
}
