//! Luma planes and binarisers: luma in, rxing `BitMatrix` (true = dark module) out.
//!
//! Two thresholds, both local, written for this module:
//!
//! * [`block_minmax`]: the image is cut into 8x8 blocks; a block whose pixels span more than
//!   `min_range` grey levels gets the threshold (min + max) / 2, a flat block gets none. Each
//!   block then uses the mean of the known thresholds in the (2r+1)^2 blocks around it; blocks
//!   with no known neighbour inherit the previous block's threshold. Cheap (one vectorisable pass
//!   over the pixels plus a pass over 1/64 as many blocks) and right for the common case.
//!   `min_range` decides what counts as "flat": 24 ignores sensor noise; 8 reads low-contrast
//!   codes once noise has been averaged down (downscaling or [`box3`]).
//! * [`local_mean`]: every pixel is compared with the mean of a small square window minus a
//!   margin, in textured windows only. It follows the fine structure a blurred code keeps, which
//!   a 40-pixel block neighbourhood averages away.
//!
//! Also here: 2x/3x box downscaling and the 3x3 box blur. Inversion is done on the `BitMatrix`.

use rxing::common::{BitArray, BitMatrix};

/// Word size of rxing's bit storage (`usize`: 64 bits on phones and desktops, 32 on armv7).
const WORD: usize = usize::BITS as usize;

/// A borrowed or owned luma plane with a row stride; all indexing is bounds-checked by slices.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plane<'a> {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) stride: usize,
    pub(crate) data: &'a [u8],
}

impl<'a> Plane<'a> {
    /// Row `y` as exactly `width` bytes, or an empty slice if the plane is shorter than declared
    /// (cannot happen for planes built from a validated frame; callers treat it as "no data").
    #[inline]
    pub(crate) fn row(&self, y: usize) -> &'a [u8] {
        let start = y.saturating_mul(self.stride);
        self.data
            .get(start..start.saturating_add(self.width))
            .unwrap_or(&[])
    }
}

/// An owned, packed plane (downscaled or filtered copy).
#[derive(Debug, Clone)]
pub(crate) struct OwnedPlane {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) data: Vec<u8>,
}

impl OwnedPlane {
    /// Borrows the plane.
    pub(crate) fn view(&self) -> Plane<'_> {
        Plane {
            width: self.width,
            height: self.height,
            stride: self.width,
            data: &self.data,
        }
    }
}

/// Averages `factor x factor` boxes (2 or 3). Returns `None` for other factors or if the
/// result would be smaller than 21 x 21 pixels.
pub(crate) fn downscale(src: Plane<'_>, factor: usize) -> Option<OwnedPlane> {
    match factor {
        2 => downscale_by::<2>(src),
        3 => downscale_by::<3>(src),
        _ => None,
    }
}

fn downscale_by<const F: usize>(src: Plane<'_>) -> Option<OwnedPlane> {
    let (w, h) = (src.width / F, src.height / F);
    if w < 21 || h < 21 {
        return None;
    }
    let mut data = vec![0u8; w * h];
    let mut acc = vec![0u16; w];
    let div = (F * F) as u16;
    for (oy, out_row) in data.chunks_exact_mut(w).enumerate() {
        acc.iter_mut().for_each(|a| *a = div / 2);
        for dy in 0..F {
            let row = src.row(oy * F + dy);
            for (a, chunk) in acc.iter_mut().zip(row.chunks_exact(F)) {
                let mut s = 0u16;
                for &p in chunk {
                    s += u16::from(p);
                }
                *a += s;
            }
        }
        for (o, a) in out_row.iter_mut().zip(&acc) {
            *o = (a / div) as u8;
        }
    }
    Some(OwnedPlane {
        width: w,
        height: h,
        data,
    })
}

/// 3x3 box blur (edges replicated): takes sensor noise and JPEG ringing down by ~3x, so a low
/// `min_range` can be used without thresholding noise.
pub(crate) fn box3(src: Plane<'_>) -> Option<OwnedPlane> {
    let (w, h) = (src.width, src.height);
    if w < 3 || h < 3 {
        return None;
    }
    let hsum = |y: usize, out: &mut [u16]| -> Option<()> {
        let r = src.row(y);
        if r.len() < w {
            return None;
        }
        let first = out.first_mut()?;
        *first = 2 * u16::from(r[0]) + u16::from(r[1]);
        for ((o, win), _) in out.iter_mut().skip(1).zip(r.windows(3)).zip(0..w - 2) {
            *o = u16::from(win[0]) + u16::from(win[1]) + u16::from(win[2]);
        }
        let last = out.get_mut(w - 1)?;
        *last = u16::from(r[w - 2]) + 2 * u16::from(r[w - 1]);
        Some(())
    };
    let mut rows = [vec![0u16; w], vec![0u16; w], vec![0u16; w]];
    let mut data = vec![0u8; w * h];
    hsum(0, &mut rows[0])?;
    let [r0, r1, _] = &mut rows;
    r1.copy_from_slice(r0);
    hsum(1, &mut rows[2])?;
    for (y, out) in data.chunks_exact_mut(w).enumerate() {
        // rows = [y-1, y, y+1] (replicated at the edges)
        let [a, b, c] = &rows;
        for (((o, &p), &q), &r) in out.iter_mut().zip(a.iter()).zip(b.iter()).zip(c.iter()) {
            *o = ((p + q + r + 4) / 9) as u8;
        }
        rows.rotate_left(1);
        if y + 2 < h {
            hsum(y + 2, &mut rows[2])?;
        } else {
            let [_, r1, r2] = &mut rows;
            r2.copy_from_slice(r1);
        }
    }
    Some(OwnedPlane {
        width: w,
        height: h,
        data,
    })
}

/// Block size of [`block_minmax`] in pixels.
const BLOCK: usize = 8;

/// Block-local (min + max) / 2 threshold; see the module documentation.
pub(crate) fn block_minmax(plane: Plane<'_>, min_range: u8, radius: usize) -> Option<BitMatrix> {
    let (w, h) = (plane.width, plane.height);
    if w < BLOCK || h < BLOCK {
        return None;
    }
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    // Per-block min and max, accumulated row by row (cache friendly).
    let mut mins = vec![255u8; bw * bh];
    let mut maxs = vec![0u8; bw * bh];
    // Column-wise min/max over the block's 8 rows (element-wise: vectorises), then a reduction
    // over each 8-pixel run.
    let mut cmin = vec![255u8; w];
    let mut cmax = vec![0u8; w];
    for by in 0..bh {
        let y0 = (by * BLOCK).min(h - BLOCK);
        cmin.iter_mut().for_each(|v| *v = 255);
        cmax.iter_mut().for_each(|v| *v = 0);
        for y in y0..y0 + BLOCK {
            let row = plane.row(y);
            if row.len() < w {
                return None;
            }
            for ((lo, hi), &p) in cmin.iter_mut().zip(cmax.iter_mut()).zip(row) {
                *lo = (*lo).min(p);
                *hi = (*hi).max(p);
            }
        }
        let (bmin, bmax) = (
            mins.get_mut(by * bw..(by + 1) * bw)?,
            maxs.get_mut(by * bw..(by + 1) * bw)?,
        );
        for ((lo, hi), (cl, ch)) in bmin
            .iter_mut()
            .zip(bmax.iter_mut())
            .zip(cmin.chunks_exact(BLOCK).zip(cmax.chunks_exact(BLOCK)))
        {
            *lo = cl.iter().copied().fold(255, u8::min);
            *hi = ch.iter().copied().fold(0, u8::max);
        }
        // A last partial block is aligned to the right edge.
        if w % BLOCK != 0 {
            let (lo, hi) = (bmin.get_mut(bw - 1)?, bmax.get_mut(bw - 1)?);
            *lo = cmin.get(w - BLOCK..)?.iter().copied().fold(255, u8::min);
            *hi = cmax.get(w - BLOCK..)?.iter().copied().fold(0, u8::max);
        }
    }
    // Known thresholds (0 = unknown) and a summed-area table of (sum, count) over the block grid.
    let known: Vec<u16> = mins
        .iter()
        .zip(&maxs)
        .map(|(&lo, &hi)| {
            if hi - lo > min_range {
                (u16::from(lo) + u16::from(hi)) / 2 + 1
            } else {
                0
            }
        })
        .collect();
    let sw = bw + 1;
    let mut sat_sum = vec![0u32; sw * (bh + 1)];
    let mut sat_cnt = vec![0u32; sw * (bh + 1)];
    for by in 0..bh {
        let (mut rs, mut rc) = (0u32, 0u32);
        for bx in 0..bw {
            let k = known[by * bw + bx];
            if k > 0 {
                rs += u32::from(k - 1);
                rc += 1;
            }
            let i = (by + 1) * sw + bx + 1;
            sat_sum[i] = sat_sum[i - sw] + rs;
            sat_cnt[i] = sat_cnt[i - sw] + rc;
        }
    }
    let r = radius;
    let mut thr = vec![0u8; bw * bh];
    // Flat blocks before the first known one (raster order) take the first known threshold.
    let mut last: Option<u8> = known.iter().find(|&&k| k > 0).map(|&k| (k - 1) as u8);
    for by in 0..bh {
        let (y0, y1) = (by.saturating_sub(r), (by + r + 1).min(bh));
        for bx in 0..bw {
            let (x0, x1) = (bx.saturating_sub(r), (bx + r + 1).min(bw));
            let s = sat_sum[y1 * sw + x1] + sat_sum[y0 * sw + x0]
                - sat_sum[y0 * sw + x1]
                - sat_sum[y1 * sw + x0];
            let c = sat_cnt[y1 * sw + x1] + sat_cnt[y0 * sw + x0]
                - sat_cnt[y0 * sw + x1]
                - sat_cnt[y1 * sw + x0];
            // A flat neighbourhood inherits the last known threshold (flat light areas stay
            // light, flat dark areas stay dark); an image with no texture at all is light.
            let t = match s.checked_div(c) {
                Some(t) => {
                    let t = t as u8;
                    last = Some(t);
                    t
                }
                None => last.unwrap_or(0),
            };
            thr[by * bw + bx] = t;
        }
    }
    threshold_blocks(plane, &thr, bw)
}

/// Thresholds every pixel against its 8x8 block's threshold (`thr`, `bw` blocks per row):
/// dark if `p <= t`. Packs 8 pixels at a time.
fn threshold_blocks(plane: Plane<'_>, thr: &[u8], bw: usize) -> Option<BitMatrix> {
    let (w, h) = (plane.width, plane.height);
    let mut m = BitMatrix::new(u32::try_from(w).ok()?, u32::try_from(h).ok()?).ok()?;
    let words = w.div_ceil(WORD);
    let mut bytes = vec![0u8; words * (WORD / 8)];
    let mut arr = BitArray::with_size(w);
    for y in 0..h {
        let row = plane.row(y);
        let trow = thr.get((y / BLOCK) * bw..(y / BLOCK + 1) * bw)?;
        for ((b, px), &t) in bytes.iter_mut().zip(row.chunks(BLOCK)).zip(trow) {
            let mut v = 0u8;
            for (i, &p) in px.iter().enumerate() {
                v |= u8::from(p <= t) << i;
            }
            *b = v;
        }
        for (i, chunk) in bytes.chunks_exact(WORD / 8).enumerate() {
            let mut word = 0usize;
            for (k, &b) in chunk.iter().enumerate() {
                word |= usize::from(b) << (8 * k);
            }
            arr.setBulk(i * WORD, word);
        }
        m.setRow(y as u32, &arr);
    }
    Some(m)
}

/// Local-mean threshold over a `(2r+1)^2` window (edges replicated), `r` in 1..=7: dark if
/// `p < mean * (1 - k256 / 256)` and the window's standard deviation is at least `min_std`.
/// Small windows follow the fine structure that blur leaves, which block min/max thresholds
/// average away. Column sums are updated incrementally, so the cost does not depend on `r`;
/// with `r <= 7` every intermediate fits in `u32`.
pub(crate) fn local_mean(
    plane: Plane<'_>,
    radius: usize,
    k256: u32,
    min_std: u32,
) -> Option<BitMatrix> {
    let (w, h) = (plane.width, plane.height);
    let r = radius.clamp(1, 7);
    if w <= 2 * r + 1 || h <= 2 * r + 1 {
        return None;
    }
    let n = ((2 * r + 1) * (2 * r + 1)) as u32;
    let min_var_n2 = (min_std * min_std).saturating_mul(n * n);
    let mul = 256 - k256.min(255);
    let mut col = vec![0u32; w];
    let mut col2 = vec![0u32; w];
    let add_row = |y: usize, col: &mut [u32], col2: &mut [u32], sign: bool| {
        for ((c, c2), &p) in col.iter_mut().zip(col2.iter_mut()).zip(plane.row(y)) {
            let p = u32::from(p);
            if sign {
                *c += p;
                *c2 += p * p;
            } else {
                *c -= p;
                *c2 -= p * p;
            }
        }
    };
    for dy in 0..=2 * r {
        add_row(dy.saturating_sub(r), &mut col, &mut col2, true);
    }
    let mut m = BitMatrix::new(u32::try_from(w).ok()?, u32::try_from(h).ok()?).ok()?;
    let mut hs = vec![0u32; w];
    let mut hs2 = vec![0u32; w];
    // Prefix sums of the edge-padded column sums: window sum at x = pre[x + 2r + 1] - pre[x].
    let mut pre = vec![0u32; w + 2 * r + 1];
    let mut pre2 = vec![0u32; w + 2 * r + 1];
    let mut dark = vec![0u8; w.div_ceil(WORD) * WORD];
    let mut arr = BitArray::with_size(w);
    let last = w - 1;
    for y in 0..h {
        let row = plane.row(y);
        if row.len() < w {
            return None;
        }
        let (mut a, mut a2) = (0u32, 0u32);
        for (i, (o, o2)) in pre.iter_mut().zip(pre2.iter_mut()).skip(1).enumerate() {
            let xx = i.saturating_sub(r).min(last);
            // Prefix sums may wrap for very wide frames; window differences stay exact.
            a = a.wrapping_add(col.get(xx).copied().unwrap_or(0));
            a2 = a2.wrapping_add(col2.get(xx).copied().unwrap_or(0));
            *o = a;
            *o2 = a2;
        }
        for (((o, o2), (lo, hi)), (lo2, hi2)) in hs
            .iter_mut()
            .zip(hs2.iter_mut())
            .zip(pre.iter().zip(&pre[2 * r + 1..]))
            .zip(pre2.iter().zip(&pre2[2 * r + 1..]))
        {
            *o = hi.wrapping_sub(*lo);
            *o2 = hi2.wrapping_sub(*lo2);
        }
        // n^2 var = n * s2 - s^2 (exact in u32 for r <= 7).
        for (((d, &p), &s), &s2) in dark.iter_mut().zip(row).zip(&hs).zip(&hs2) {
            let textured = s2.wrapping_mul(n).saturating_sub(s.wrapping_mul(s)) >= min_var_n2;
            *d = u8::from(textured) & u8::from(u32::from(p) * n * 256 < s * mul);
        }
        for (i, chunk) in dark.chunks_exact(WORD).enumerate() {
            let mut word = 0usize;
            for (k, &b) in chunk.iter().enumerate() {
                word |= usize::from(b) << k;
            }
            arr.setBulk(i * WORD, word);
        }
        m.setRow(y as u32, &arr);
        // Slide the column window down one row (bottom edge replicated).
        add_row(y.saturating_sub(r), &mut col, &mut col2, false);
        add_row((y + r + 1).min(h - 1), &mut col, &mut col2, true);
    }
    Some(m)
}
