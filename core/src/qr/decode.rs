//! One decode attempt: a binarised frame in, decoded symbols out.
//!
//! Detection, sampling and Reed-Solomon decoding are rxing's port of zxing-cpp's QR reader
//! (`rxing::qrcode::cpp_port`): finder patterns are found by scanning rows for 1:1:3:1:1 runs and
//! confirmed as concentric rings, triples are grouped by centre geometry and size, and the grid is
//! sampled through a perspective transform fitted to the finder pattern edges (with the alignment
//! pattern when there is one). When no triple decodes, two fallbacks of ours follow: triples
//! rxing's grouping refuses as too skewed ([`slanted_sets`]), and sampling through a projective
//! model fitted to the finder centres and sizes ([`sample_projected`]); together they read codes
//! tilted 50-60 degrees, where the edge fit fails. Everything here is bounded: at most
//! [`MAX_SETS`] candidate triples per attempt (and a few more for the fallbacks), the deadline is
//! checked between triples, and a panic inside rxing is caught and reported as "nothing found"
//! rather than taking the app down.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use rxing::Point;
use rxing::common::cpp_essentials::ConcentricPattern;
use rxing::common::{BitMatrix, DetectorRXingResult};
use rxing::qrcode::cpp_port::decoder::Decode;
use rxing::qrcode::cpp_port::detector::{FinderPatternSet, GenerateFinderPatternSets, SampleQR};

use super::{DecodedQr, finder};

/// Most candidate finder-pattern triples sampled per attempt (cluttered frames produce dozens).
pub(crate) const MAX_SETS: usize = 48;

/// What one attempt saw and decoded.
#[derive(Debug, Default)]
pub(crate) struct Attempt {
    /// Number of confirmed finder patterns (evidence that a code may be present).
    pub(crate) finders: usize,
    /// Number of candidate finder-pattern triples with plausible geometry.
    pub(crate) triples: usize,
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
    // rxing documents its detector functions as able to panic; the decoder must not.
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
    let mut patterns = finder::find(bits, dense);
    let mut attempt = Attempt {
        finders: patterns.len(),
        triples: 0,
        found: Vec::new(),
    };
    if patterns.len() < 3 {
        return attempt;
    }
    let sets = GenerateFinderPatternSets(&mut patterns);
    attempt.triples = sets.len();
    let mut used: Vec<ConcentricPattern> = Vec::new();
    let mut try_set = |set: &FinderPatternSet, attempt: &mut Attempt| {
        if used.contains(&set.bl) || used.contains(&set.tl) || used.contains(&set.tr) {
            return;
        }
        let Ok(det) = SampleQR(bits, set) else {
            return;
        };
        let Ok(res) = Decode(det.getBits()) else {
            return;
        };
        if !res.isValid() {
            return;
        }
        used.extend([set.bl, set.tl, set.tr]);
        attempt.found.push(DecodedQr {
            text: res.text(),
            bytes: res.content().bytes().to_vec(),
            corners: corners_of(det.getPoints(), scale),
            inverted,
        });
    };
    for set in sets.iter().take(MAX_SETS) {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return attempt;
        }
        try_set(set, &mut attempt);
    }
    if attempt.found.is_empty() {
        for set in slanted_sets(&patterns, &sets) {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            try_set(&set, &mut attempt);
        }
    }
    if attempt.found.is_empty() {
        for set in sets.iter().take(PROJECTED_SETS) {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            if let Some(qr) = sample_projected(bits, set, scale, inverted) {
                attempt.found.push(qr);
                break;
            }
        }
    }
    attempt
}

/// Largest version [`sample_projected`] tries (97 modules; enrolment codes are far smaller, and
/// every extra module row costs a sampling pass on frames with no code).
const MAX_PROJECTED_VERSION: i32 = 20;

/// Candidate triples [`sample_projected`] tries per attempt.
const PROJECTED_SETS: usize = 1;

/// Samples the grid through a projective model fitted to the three finder centres *and their
/// sizes*: a finder pattern looks smaller the farther it is, so the size ratios give the
/// perspective terms that three centres alone cannot. Used when rxing's sampler (which fits the
/// finder edges and looks for the alignment pattern) fails on a strongly slanted code. The
/// dimension and the fourth corner are searched around the model's estimate.
fn sample_projected(
    bits: &BitMatrix,
    set: &FinderPatternSet,
    scale: f32,
    inverted: bool,
) -> Option<DecodedQr> {
    use rxing::common::{DefaultGridSampler, GridSampler, Quadrilateral};
    let (tl, tr, bl) = (set.tl, set.tr, set.bl);
    let size = |c: &ConcentricPattern| f64::from(c.size.max(1));
    let pt = |x: f64, y: f64| Point::new(x as f32, y as f32);
    let (tlx, tly) = (f64::from(tl.p.x), f64::from(tl.p.y));
    let (trx, try_) = (f64::from(tr.p.x), f64::from(tr.p.y));
    let (blx, bly) = (f64::from(bl.p.x), f64::from(bl.p.y));
    // Modules between finder centres, from distance over module size (7 modules per finder).
    let module = (size(&tl) + size(&tr) + size(&bl)) / 21.0;
    let span = ((trx - tlx).hypot(try_ - tly) + (blx - tlx).hypot(bly - tly)) / 2.0 / module;
    let est_version = ((span + 7.0 - 17.0) / 4.0).round() as i32;
    if est_version > MAX_PROJECTED_VERSION + 2 {
        return None;
    }
    let mut versions: Vec<i32> = (1..=MAX_PROJECTED_VERSION).collect();
    versions.sort_by_key(|v| (v - est_version).abs());
    for exponent in [1.0, 0.67] {
        let w_tr = (size(&tl) / size(&tr)).powf(exponent);
        let w_bl = (size(&tl) / size(&bl)).powf(exponent);
        let den = w_tr + w_bl - 1.0;
        if den <= 0.1 {
            continue;
        }
        let qx = (trx * w_tr + blx * w_bl - tlx) / den;
        let qy = (try_ * w_tr + bly * w_bl - tly) / den;
        for &v in versions.iter().take(5) {
            let dim = 17 + 4 * v;
            let l = f64::from(dim - 7);
            // One module along each axis near the fourth corner.
            let (ux, uy) = ((qx - blx) / l, (qy - bly) / l);
            let (vx, vy) = ((qx - trx) / l, (qy - try_) / l);
            // Finder centres and the fourth corner in module coordinates.
            let d = dim as f32;
            let grid = Quadrilateral::new(
                Point::new(3.5, 3.5),
                Point::new(d - 3.5, 3.5),
                Point::new(d - 3.5, d - 3.5),
                Point::new(3.5, d - 3.5),
            );
            for (i, j) in [
                (0, 0),
                (-1, 0),
                (1, 0),
                (0, -1),
                (0, 1),
                (-1, -1),
                (1, 1),
                (-1, 1),
                (1, -1),
            ] {
                let (i, j) = (f64::from(i), f64::from(j));
                let q = pt(qx + i * ux + j * vx, qy + i * uy + j * vy);
                let image = Quadrilateral::new(tl.p, tr.p, q, bl.p);
                let Ok((sampled, _)) = DefaultGridSampler
                    .sample_grid_detailed(bits, dim as u32, dim as u32, grid, image)
                else {
                    continue;
                };
                let Ok(res) = Decode(&sampled) else {
                    continue;
                };
                if !res.isValid() {
                    continue;
                }
                // Symbol corners: 3.5 modules out from the finder centres (and the fourth
                // corner's estimate), in frame pixels.
                let corner = |u: f64, w: f64| (u as f32 * scale, w as f32 * scale);
                let (ex, ey) = ((trx - tlx) / l * 3.5, (try_ - tly) / l * 3.5);
                let (fx, fy) = ((blx - tlx) / l * 3.5, (bly - tly) / l * 3.5);
                return Some(DecodedQr {
                    text: res.text(),
                    bytes: res.content().bytes().to_vec(),
                    corners: [
                        corner(tlx - ex - fx, tly - ey - fy),
                        corner(trx + ex - fx, try_ + ey - fy),
                        corner(f64::from(q.x) + ex + fx, f64::from(q.y) + ey + fy),
                        corner(blx - ex + fx, bly - ey + fy),
                    ],
                    inverted,
                });
            }
        }
    }
    None
}

/// Most finder patterns (largest first) [`slanted_sets`] combines.
const SLANTED_PATTERNS: usize = 12;

/// Most triples [`slanted_sets`] offers to the sampler.
const SLANTED_SETS: usize = 8;

/// Triples of finder patterns that rxing's grouping refuses but a code tilted 50-60 degrees away
/// from the camera produces: the two legs from the corner pattern may differ up to 3x in length
/// (rxing: 2x) and meet at 35-145 degrees (rxing: 60-120). Triples rxing already offered are
/// skipped; the rest are ordered like rxing's (short, equal legs first) and capped.
fn slanted_sets(
    patterns: &[ConcentricPattern],
    strict: &[FinderPatternSet],
) -> Vec<FinderPatternSet> {
    let p = patterns
        .get(..patterns.len().min(SLANTED_PATTERNS))
        .unwrap_or(&[]);
    let cos_max = 35f64.to_radians().cos();
    let dist = |a: &ConcentricPattern, b: &ConcentricPattern| {
        f64::from(a.p.x - b.p.x).hypot(f64::from(a.p.y - b.p.y))
    };
    let same = |s: &FinderPatternSet, t: [&ConcentricPattern; 2]| {
        t.iter().all(|x| [s.bl, s.tr].contains(x))
    };
    let mut out: Vec<(f64, FinderPatternSet)> = Vec::new();
    for (i, a) in p.iter().enumerate() {
        for (j, b) in p.iter().enumerate().skip(i + 1) {
            for c in p.iter().skip(j + 1) {
                let sizes = [a.size, b.size, c.size];
                let (lo, hi) = (sizes.iter().min(), sizes.iter().max());
                let (Some(&lo), Some(&hi)) = (lo, hi) else {
                    continue;
                };
                if lo <= 0 || hi > 3 * lo {
                    continue;
                }
                let mean_module = f64::from(a.size + b.size + c.size) / 21.0;
                // Every pattern in turn as the corner: under strong perspective the side
                // opposite the true corner need not be the longest, so rxing's choice (and its
                // labelling) can be wrong even when the triple is right.
                for (x, corner, y) in [(a, b, c), (b, a, c), (a, c, b)] {
                    let (d1, d2, d3) = (dist(x, corner), dist(corner, y), dist(x, y));
                    if d1 <= 0.0 || d2 <= 0.0 || d1 > 3.0 * d2 || d2 > 3.0 * d1 {
                        continue;
                    }
                    let modules = (d1 + d2) / (2.0 * mean_module) + 7.0;
                    if !(21.0 * 0.9..=177.0 * 1.5).contains(&modules) {
                        continue;
                    }
                    let cos = (d1 * d1 + d2 * d2 - d3 * d3) / (2.0 * d1 * d2);
                    if cos.is_nan()
                        || cos.abs() > cos_max
                        || strict.iter().any(|s| s.tl == *corner && same(s, [x, y]))
                    {
                        continue;
                    }
                    let (mut bl, tl, mut tr) = (*x, *corner, *y);
                    if (tr - tl).cross(bl - tl) < 0.0 {
                        std::mem::swap(&mut bl, &mut tr);
                    }
                    out.push((d1 + d2 + (d1 - d2).abs(), FinderPatternSet { bl, tl, tr }));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out.into_iter().take(SLANTED_SETS).map(|(_, s)| s).collect()
}

/// The older ZXing detector (rxing's port of the Java `Detector`): it estimates the grid from
/// the three finder centres and the alignment pattern instead of fitting the finder pattern
/// edges, a different model that reads a few noisy frames the default one misses. Reads one
/// code per attempt; its corners are extrapolated from the finder-pattern centres.
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
        attempt.triples = 1;
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
