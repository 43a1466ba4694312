//! Finder-pattern search over a bit matrix, with fast row run-lengths.
//!
//! The search is rxing's (`FindFinderPatterns` in its port of zxing-cpp): scan every `skip`-th
//! row for five runs in the ratio 1:1:3:1:1 that pass its plausibility test and `IsPattern`, then
//! confirm each candidate as concentric rings with `LocateConcentricPattern`. What differs is how
//! a row becomes run-lengths: rxing reads the row one bit at a time, which was the largest single
//! cost of a frame with no code (a camera preview's usual frame, three attempts deep). Here the
//! runs come from whole machine words (`trailing_zeros` over the bit transitions), so the cost
//! follows the number of edges instead of the number of pixels. The output is identical to
//! rxing's, which the tests check on random and real frames.

use rxing::Point;
use rxing::common::BitMatrix;
use rxing::common::cpp_essentials::{
    ConcentricPattern, FindLeftGuardBy, FixedPattern, IsPattern, LocateConcentricPattern,
    PatternType, PatternView,
};

/// Bits per word of rxing's bit storage.
const WORD: usize = usize::BITS as usize;

/// The finder pattern's run ratio.
const PATTERN: FixedPattern<5, 7, false> = FixedPattern::new([1, 1, 3, 1, 1]);

/// Modules of the largest symbol the sparse row spacing is chosen for (version 20, as rxing).
const MAX_MODULES_FAST: u32 = 20 * 4 + 17;

/// Appends the run lengths of row `y` to `out` (cleared first) in rxing's `PatternRow` layout:
/// the first run is white (0 if the row starts dark), and a row that ends dark gets a final 0.
pub(crate) fn row_runs(bits: &BitMatrix, y: u32, out: &mut Vec<PatternType>) {
    out.clear();
    let width = bits.getWidth() as usize;
    if width == 0 {
        return;
    }
    let row = bits.getRow(y);
    let mut dark = false;
    let mut start = 0usize;
    for (i, &word) in row.getBitArray().iter().enumerate() {
        let base = i * WORD;
        if base >= width {
            break;
        }
        let valid = (width - base).min(WORD);
        // Bit k is set where pixel k differs from pixel k - 1 (the previous word's last pixel
        // for k = 0).
        let mut edges = word ^ ((word << 1) | usize::from(dark));
        if valid < WORD {
            edges &= (1usize << valid) - 1;
        }
        while edges != 0 {
            let at = base + edges.trailing_zeros() as usize;
            out.push((at - start) as PatternType);
            start = at;
            edges &= edges - 1;
        }
        dark = (word >> (valid - 1)) & 1 == 1;
    }
    out.push((width - start) as PatternType);
    if dark {
        out.push(0);
    }
}

/// The next window of five runs, from `view` on, that looks like a finder pattern's row.
fn next_candidate(view: PatternView<'_>) -> Option<PatternView<'_>> {
    FindLeftGuardBy::<5, _>(view, 5, |w: &PatternView, space: Option<f32>| {
        // rxing's quick plausibility test for 1:1:3:1:1 before the exact one.
        let [a, b, c, d, e]: [PatternType; 5] = [w[0], w[1], w[2], w[3], w[4]];
        if c < 3 || c < 2 * a.max(e) || c < b.max(d) {
            return false;
        }
        IsPattern::<true, 5, 7, false>(w, &PATTERN, space, 0.1, 0.0, 0.0) != 0.0
    })
    .ok()
}

/// Every confirmed finder pattern in `bits`; `dense` scans every third row instead of spacing
/// the rows for version-20 symbols filling a quarter of the height.
pub(crate) fn find(bits: &BitMatrix, dense: bool) -> Vec<ConcentricPattern> {
    let height = bits.getHeight();
    let skip = if dense {
        3
    } else {
        ((3 * height) / (4 * MAX_MODULES_FAST)).max(3)
    };
    let mut found: Vec<ConcentricPattern> = Vec::new();
    let mut runs: Vec<PatternType> = Vec::new();
    let mut y = skip - 1;
    while y < height {
        row_runs(bits, y, &mut runs);
        let mut next = PatternView::from_slice(&runs);
        while let Some(view) = next_candidate(next) {
            next = view;
            if !next.isValid() {
                break;
            }
            let centre = Point::new(
                f32::from(next.pixelsInFront())
                    + f32::from(next[0])
                    + f32::from(next[1])
                    + f32::from(next[2]) / 2.0,
                y as f32 + 0.5,
            );
            // Not inside a pattern already found.
            if !found
                .iter()
                .any(|old| centre.distance(old.p) < old.size as f32 / 2.0)
            {
                let range = i32::from(next.iter().sum::<PatternType>()) * 3;
                if let Some(p) =
                    LocateConcentricPattern::<true, 5, 7>(bits, &PATTERN.into(), centre, range)
                {
                    found.push(p);
                }
            }
            next.skipPair();
            next.skipPair();
            next.extend();
        }
        y += skip;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use rxing::common::cpp_essentials::{GetPatternRowTP, PatternRow};
    use rxing::qrcode::cpp_port::detector::FindFinderPatterns;

    fn random_matrix(w: u32, h: u32, mut s: u64, density: u64) -> BitMatrix {
        let mut m = BitMatrix::new(w, h).unwrap();
        for y in 0..h {
            for x in 0..w {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                if s % 100 < density {
                    m.set(x, y);
                }
            }
        }
        m
    }

    #[test]
    fn row_runs_equal_rxings_bit_by_bit_runs() {
        for (w, seed) in [
            (1, 1),
            (5, 2),
            (63, 3),
            (64, 4),
            (65, 5),
            (200, 6),
            (1923, 7),
        ] {
            for density in [0, 3, 50, 97, 100] {
                let m = random_matrix(w, 4, seed * 31 + density, density);
                let mut ours = Vec::new();
                for y in 0..4 {
                    row_runs(&m, y, &mut ours);
                    let mut theirs = PatternRow::default();
                    GetPatternRowTP(&m, y, &mut theirs, false);
                    let theirs: Vec<PatternType> = theirs.into_iter().collect();
                    assert_eq!(ours, theirs, "width {w} density {density} row {y}");
                }
            }
        }
    }

    /// A matrix with finder-like squares (nested 7/5/3 rings) scattered over noise.
    fn matrix_with_finders(w: u32, h: u32, seed: u64) -> BitMatrix {
        let mut m = random_matrix(w, h, seed, 8);
        let mut s = seed;
        for _ in 0..12 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let module = 2 + (s >> 60) as u32 % 5;
            let (cx, cy) = (
                20 + (s >> 20) as u32 % (w - 40),
                20 + (s >> 40) as u32 % (h - 40),
            );
            for dy in 0..7 * module {
                for dx in 0..7 * module {
                    let (mx, my) = (dx / module, dy / module);
                    let ring = mx.min(my).min(6 - mx).min(6 - my);
                    let (x, y) = (cx + dx - 7 * module / 2, cy + dy - 7 * module / 2);
                    if x < w && y < h {
                        m.set_bool(x, y, ring != 1);
                    }
                }
            }
        }
        m
    }

    #[test]
    fn finds_the_same_patterns_as_rxing() {
        for seed in 1..6 {
            let m = matrix_with_finders(640, 480, seed);
            for dense in [false, true] {
                let ours = find(&m, dense);
                let theirs = FindFinderPatterns(&m, dense, 0);
                assert_eq!(ours, theirs, "seed {seed} dense {dense}");
                assert!(!dense || !ours.is_empty(), "seed {seed}: nothing found");
            }
        }
    }
}
