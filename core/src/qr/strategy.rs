//! The cascade of decode attempts and its time budget.
//!
//! A camera preview spends most frames with no code in view, and most frames with a code decode
//! on the first attempt, so the cascade is ordered by (success per millisecond) as measured on
//! the synthetic benchmark set (`tests/qr-bench`, numbers in `docs/adr/0002-qr-decoder.md`):
//!
//! 1. full resolution, block min/max threshold, dark-on-light (reads ~72 % of the frames alone);
//! 2. the same bits inverted (dark-mode screens: light-on-dark);
//! 3. 2x box-downscaled with a low block-range floor (averages sensor noise and JPEG blocking
//!    away, reads low-contrast frames);
//! 4. *only if an earlier attempt of the same polarity saw [`EVIDENCE`] finder patterns* (of the
//!    same bit matrix, for an attempt that re-reads one; or with `try_harder`): 3x3 box blur + low range floor (noise, low contrast), a small-window local
//!    mean (blur), a dense row scan (small codes in big frames), and rxing's older detector on
//!    the blurred bits (a different grid model; reads a few noisy frames the others miss).
//!
//! Every attempt also tries slanted finder-pattern triples and a size-aware projective sampling
//! when nothing else decodes ([`decode::detect`]); that is what reads codes tilted 50-60 degrees.
//! Which attempts earn their place is measured by replaying per-attempt profiles
//! (`tests/qr-bench/cascade.py`), not by wall time.
//!
//! The first attempt always runs; every later one starts only while the budget lasts. With
//! `stop_at_first` the cascade ends after the first attempt that decodes something (the camera
//! preset); otherwise all attempts run and results are merged (the still-image preset).

use std::time::Instant;

use rxing::common::BitMatrix;

use super::binarize::{self, OwnedPlane, Plane};
use super::decode::{self, Attempt};
use super::{DecodeOptions, DecodedQr};

/// How one attempt binarises its plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threshold {
    /// [`binarize::block_minmax`]: minimum block range, smoothing radius in blocks.
    Block(u8, usize),
    /// [`binarize::box3`] then [`binarize::block_minmax`] (noise, low contrast).
    Box3Block(u8, usize),
    /// [`binarize::local_mean`]: window radius in pixels, margin k/256, minimum local std dev.
    Mean(usize, u32, u32),
}

/// Which polarities an attempt reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Polarity {
    /// Dark modules on a light background.
    Normal,
    /// Light modules on a dark background.
    Inverted,
}

/// One decode attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// Box-downscale factor (1 = full resolution).
    pub(crate) scale: usize,
    /// Binariser.
    pub(crate) threshold: Threshold,
    /// Polarity.
    pub(crate) polarity: Polarity,
    /// Scan every third row for finder patterns (slower, finds small codes in big frames).
    pub(crate) dense: bool,
    /// Use the older ZXing detector ([`decode::detect_legacy`]) instead of the default one.
    pub(crate) legacy: bool,
    /// Run only when an earlier attempt of the same polarity saw at least [`EVIDENCE`] finder
    /// patterns (an earlier attempt on the same bit matrix, if there was one), unless
    /// `try_harder`.
    pub(crate) gated: bool,
}

/// Finder patterns an earlier attempt must have seen for a gated attempt to run.
pub(crate) const EVIDENCE: usize = 2;

const fn step(
    scale: usize,
    threshold: Threshold,
    polarity: Polarity,
    dense: bool,
    gated: bool,
) -> Step {
    Step {
        scale,
        threshold,
        polarity,
        dense,
        gated,
        legacy: false,
    }
}

const fn legacy(scale: usize, threshold: Threshold, polarity: Polarity) -> Step {
    Step {
        scale,
        threshold,
        polarity,
        dense: false,
        gated: true,
        legacy: true,
    }
}

use Polarity::{Inverted, Normal};
use Threshold::{Block, Box3Block, Mean};

/// The default cascade (see the module documentation; measured in ADR 0002).
pub(crate) const CASCADE: &[Step] = &[
    step(1, Block(24, 2), Normal, false, false),
    step(1, Block(24, 2), Inverted, false, false),
    step(2, Block(8, 2), Normal, false, false),
    step(1, Box3Block(8, 2), Normal, false, true),
    step(1, Mean(6, 10, 2), Normal, false, true),
    step(1, Block(24, 2), Normal, true, true),
    legacy(1, Box3Block(8, 2), Normal),
];

/// Caches downscaled planes and binarised matrices across steps.
struct Cache<'a> {
    full: Plane<'a>,
    scaled: Vec<(usize, Option<OwnedPlane>)>,
    matrices: Vec<((usize, Threshold), Option<BitMatrix>)>,
}

impl<'a> Cache<'a> {
    fn new(full: Plane<'a>) -> Self {
        Cache {
            full,
            scaled: Vec::new(),
            matrices: Vec::new(),
        }
    }

    fn plane(&mut self, scale: usize) -> Option<Plane<'_>> {
        if scale <= 1 {
            return Some(self.full);
        }
        if !self.scaled.iter().any(|(s, _)| *s == scale) {
            self.scaled
                .push((scale, binarize::downscale(self.full, scale)));
        }
        self.scaled
            .iter()
            .find(|(s, _)| *s == scale)
            .and_then(|(_, p)| p.as_ref())
            .map(OwnedPlane::view)
    }

    fn matrix(&mut self, scale: usize, threshold: Threshold) -> Option<&BitMatrix> {
        let key = (scale, threshold);
        if !self.matrices.iter().any(|(k, _)| *k == key) {
            let m = self.plane(scale).and_then(|p| match threshold {
                Block(range, r) => binarize::block_minmax(p, range, r),
                Box3Block(range, r) => {
                    binarize::box3(p).and_then(|b| binarize::block_minmax(b.view(), range, r))
                }
                Mean(radius, k, s) => binarize::local_mean(p, radius, k, s),
            });
            self.matrices.push((key, m));
        }
        self.matrices
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, m)| m.as_ref())
    }
}

/// Runs one step on its bit matrix (inverting a copy for the inverted polarity).
fn attempt(st: &Step, m: &BitMatrix, deadline: Option<Instant>) -> Attempt {
    let run_one = |bits: &BitMatrix, inverted: bool| {
        if st.legacy {
            decode::detect_legacy(bits, st.scale as f32, inverted)
        } else {
            decode::detect(bits, st.dense, st.scale as f32, inverted, deadline)
        }
    };
    match st.polarity {
        Normal => run_one(m, false),
        Inverted => {
            let mut inv = m.clone();
            inv.flip_self();
            run_one(&inv, true)
        }
    }
}

/// Outcome of a cascade run (the steps' statistics are for the benchmark and the tests).
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) found: Vec<DecodedQr>,
    /// Index into the cascade of the step that first decoded something.
    pub(crate) first_hit: Option<usize>,
    /// Steps that ran.
    pub(crate) steps_run: usize,
}

/// Runs `steps` over `full` under `options`' budget.
pub(crate) fn run(full: Plane<'_>, steps: &[Step], options: &DecodeOptions) -> Outcome {
    let start = Instant::now();
    let deadline = start.checked_add(options.time_budget);
    let mut cache = Cache::new(full);
    let mut out = Outcome::default();
    // Most finder patterns seen so far on each (bit matrix, polarity) read.
    let mut ev_matrix: Vec<((usize, Threshold, Polarity), usize)> = Vec::new();
    for (i, st) in steps.iter().enumerate() {
        if i > 0 {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            if options.stop_at_first && !out.found.is_empty() {
                break;
            }
            // A step that re-reads a bit matrix an earlier step read (the dense scan, the older
            // detector) needs evidence from that matrix: finder-like noise in another
            // binarisation says nothing about these bits. Other steps take any of the polarity.
            let key = (st.scale, st.threshold, st.polarity);
            let evidence = match ev_matrix.iter().find(|(k, _)| *k == key) {
                Some(&(_, n)) => n,
                None => ev_matrix
                    .iter()
                    .filter(|((_, _, p), _)| *p == st.polarity)
                    .map(|&(_, n)| n)
                    .max()
                    .unwrap_or(0),
            };
            if st.gated && evidence < EVIDENCE && !options.try_harder {
                continue;
            }
        }
        let scale = st.scale;
        let Some(m) = cache.matrix(scale, st.threshold) else {
            continue;
        };
        out.steps_run += 1;
        // The first attempt runs to the end whatever the budget; later ones also stop between
        // candidate triples once it is spent.
        let attempt = attempt(st, m, if i == 0 { None } else { deadline });
        let key = (st.scale, st.threshold, st.polarity);
        match ev_matrix.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n = (*n).max(attempt.finders),
            None => ev_matrix.push((key, attempt.finders)),
        }
        if !attempt.found.is_empty() && out.first_hit.is_none() {
            out.first_hit = Some(i);
        }
        for qr in attempt.found {
            if !out.found.iter().any(|f| f.bytes == qr.bytes) {
                out.found.push(qr);
            }
        }
        if out.found.len() >= options.max_codes {
            break;
        }
    }
    out
}

/// One cascade step run alone (see [`profile`]).
#[derive(Debug, Clone, Default)]
pub struct StepProfile {
    /// Index of the step in the cascade.
    pub step: usize,
    /// Time to produce the step's bit matrix (0 when an earlier step already made it).
    pub binarize_ms: f64,
    /// Time of detection, sampling and decoding.
    pub detect_ms: f64,
    /// The bit matrix the step reads (scale and binariser), shared by steps with the same one.
    pub matrix: String,
    /// Reads light-on-dark.
    pub inverted: bool,
    /// Runs only with finder-pattern evidence from an earlier step of the same polarity.
    pub gated: bool,
    /// Finder patterns confirmed.
    pub finders: usize,
    /// Candidate triples with plausible geometry.
    pub triples: usize,
    /// Decoded texts.
    pub texts: Vec<String>,
}

/// Runs every step of `steps` on `full` with no gating, budget or early stop, and reports what
/// each saw and cost: the data behind the cascade order (`tests/qr-bench/cascade.py` replays it).
pub(crate) fn profile(full: Plane<'_>, steps: &[Step]) -> Vec<StepProfile> {
    let mut cache = Cache::new(full);
    let mut out = Vec::with_capacity(steps.len());
    for (i, st) in steps.iter().enumerate() {
        let t = Instant::now();
        let Some(m) = cache.matrix(st.scale, st.threshold) else {
            continue;
        };
        let binarize_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let attempt = attempt(st, m, None);
        out.push(StepProfile {
            step: i,
            matrix: format!("{}x {:?}", st.scale, st.threshold),
            inverted: st.polarity == Inverted,
            gated: st.gated,
            binarize_ms,
            detect_ms: t.elapsed().as_secs_f64() * 1e3,
            finders: attempt.finders,
            triples: attempt.triples,
            texts: attempt.found.into_iter().map(|q| q.text).collect(),
        });
    }
    out
}
