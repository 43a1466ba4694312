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

/// Packs a row of 0/1 bytes (one per pixel, zero-padded to a multiple of [`WORD`]) into `arr`.
/// Eight bytes at a time: multiplying a little-endian word of 0/1 bytes by this constant gathers
/// byte i's low bit into bit 56 + i (no carries: every partial product lands on its own bit).
fn pack_row(dark: &[u8], arr: &mut BitArray) {
    const GATHER: u64 = 0x0102_0408_1020_4080;
    for (i, chunk) in dark.chunks_exact(WORD).enumerate() {
        let mut word = 0usize;
        for (k, b) in chunk.chunks_exact(8).enumerate() {
            let mut v = [0u8; 8];
            v.copy_from_slice(b);
            let bits = u64::from_le_bytes(v).wrapping_mul(GATHER) >> 56;
            word |= (bits as usize) << (8 * k);
        }
        arr.setBulk(i * WORD, word);
    }
}

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
        2 => downscale2(src),
        3 => downscale_by::<3>(src),
        _ => None,
    }
}

/// 2x2 box average, four output pixels per step: the even and odd bytes of two 8-byte row
/// chunks are summed in 16-bit lanes of one `u64` (at most 4 x 255 + 2 per lane, no overflow).
/// Same result as the generic path (rounded mean).
fn downscale2(src: Plane<'_>) -> Option<OwnedPlane> {
    const LO: u64 = 0x00FF_00FF_00FF_00FF;
    const HALF: u64 = 0x0002_0002_0002_0002;
    let (w, h) = (src.width / 2, src.height / 2);
    if w < 21 || h < 21 {
        return None;
    }
    let word = |c: &[u8]| {
        let mut v = [0u8; 8];
        v.copy_from_slice(c);
        u64::from_le_bytes(v)
    };
    let mut data = vec![0u8; w * h];
    for (oy, out) in data.chunks_exact_mut(w).enumerate() {
        let (r0, r1) = (
            src.row(2 * oy).get(..2 * w)?,
            src.row(2 * oy + 1).get(..2 * w)?,
        );
        let mut quads = out.chunks_exact_mut(4);
        for ((o, a), b) in (&mut quads).zip(r0.chunks_exact(8)).zip(r1.chunks_exact(8)) {
            let (a, b) = (word(a), word(b));
            let s = (a & LO) + ((a >> 8) & LO) + (b & LO) + ((b >> 8) & LO) + HALF;
            let s = (s >> 2) & LO;
            let packed = (s & 0xFF)
                | ((s >> 8) & 0xFF00)
                | ((s >> 16) & 0xFF_0000)
                | ((s >> 24) & 0xFF00_0000);
            o.copy_from_slice(&(packed as u32).to_le_bytes());
        }
        let tail = quads.into_remainder();
        let done = w - tail.len();
        for (i, o) in tail.iter_mut().enumerate() {
            let x = 2 * (done + i);
            let s = [r0.get(x), r0.get(x + 1), r1.get(x), r1.get(x + 1)]
                .into_iter()
                .map(|p| u16::from(p.copied().unwrap_or(0)))
                .sum::<u16>();
            *o = ((s + 2) >> 2) as u8;
        }
    }
    Some(OwnedPlane {
        width: w,
        height: h,
        data,
    })
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
/// dark if `p <= t`. The block thresholds are spread to one byte per pixel once per block row,
/// so the per-pixel compare is a plain element-wise loop (vectorised) before packing.
fn threshold_blocks(plane: Plane<'_>, thr: &[u8], bw: usize) -> Option<BitMatrix> {
    let (w, h) = (plane.width, plane.height);
    let mut m = BitMatrix::new(u32::try_from(w).ok()?, u32::try_from(h).ok()?).ok()?;
    let mut tpx = vec![0u8; w];
    let mut dark = vec![0u8; w.div_ceil(WORD) * WORD];
    let mut arr = BitArray::with_size(w);
    for y in 0..h {
        if y % BLOCK == 0 {
            let trow = thr.get((y / BLOCK) * bw..(y / BLOCK + 1) * bw)?;
            // Whole blocks as one 8-byte store each; a last partial block takes the rest.
            let mut blocks = tpx.chunks_exact_mut(BLOCK);
            for (px, &t) in (&mut blocks).zip(trow) {
                px.copy_from_slice(&[t; BLOCK]);
            }
            if let Some(&t) = trow.get(w / BLOCK) {
                blocks.into_remainder().fill(t);
            }
        }
        let row = plane.row(y);
        if row.len() < w {
            return None;
        }
        for ((d, &p), &t) in dark.iter_mut().zip(row).zip(&tpx) {
            *d = u8::from(p <= t);
        }
        pack_row(&dark, &mut arr);
        m.setRow(y as u32, &arr);
    }
    Some(m)
}

/// Prefix sums of `col` padded with `r` copies of its first and last element:
/// `pre[0] = 0`, `pre[i]` = sum of the first `i` padded values, so the window of `2r + 1`
/// padded values starting at `x` sums to `pre[x + 2r + 1] - pre[x]`. Sums may wrap for very wide
/// frames; window differences stay exact. `pre` must hold `col.len() + 2r + 1` values (else it
/// is left as is); three plain loops, no per-element clamping.
fn padded_prefix(col: &[u32], r: usize, pre: &mut [u32]) {
    let (Some(&first), Some(&last)) = (col.first(), col.last()) else {
        return;
    };
    let Some((head, rest)) = pre.split_first_mut() else {
        return;
    };
    let Some((left, rest)) = rest.split_at_mut_checked(r) else {
        return;
    };
    let Some((mid, right)) = rest.split_at_mut_checked(col.len()) else {
        return;
    };
    *head = 0;
    let mut a = 0u32;
    for o in left {
        a = a.wrapping_add(first);
        *o = a;
    }
    for (o, &v) in mid.iter_mut().zip(col) {
        a = a.wrapping_add(v);
        *o = a;
    }
    for o in right {
        a = a.wrapping_add(last);
        *o = a;
    }
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
    for y in 0..h {
        let row = plane.row(y);
        if row.len() < w {
            return None;
        }
        padded_prefix(&col, r, &mut pre);
        padded_prefix(&col2, r, &mut pre2);
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
        pack_row(&dark, &mut arr);
        m.setRow(y as u32, &arr);
        // Slide the column window down one row (bottom edge replicated).
        add_row(y.saturating_sub(r), &mut col, &mut col2, false);
        add_row((y + r + 1).min(h - 1), &mut col, &mut col2, true);
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random bytes.
    fn noise(n: usize, mut s: u64) -> Vec<u8> {
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn fast_2x_downscale_equals_the_plain_box_average() {
        for (w, h, stride) in [(64, 48, 64), (101, 45, 128), (1923, 43, 1930), (44, 44, 44)] {
            let data = noise(stride * h, (w * h) as u64);
            let p = Plane {
                width: w,
                height: h,
                stride,
                data: &data,
            };
            let fast = downscale2(p).unwrap();
            let plain = downscale_by::<2>(p).unwrap();
            assert_eq!((fast.width, fast.height), (w / 2, h / 2));
            assert_eq!(fast.data, plain.data, "{w}x{h} stride {stride}");
        }
    }

    #[test]
    fn block_threshold_matches_a_per_pixel_reference() {
        for (w, h, stride) in [(64, 16, 64), (77, 21, 80), (200, 40, 256), (8, 8, 8)] {
            let data = noise(stride * h, 7 + w as u64);
            let p = Plane {
                width: w,
                height: h,
                stride,
                data: &data,
            };
            let bw = w.div_ceil(BLOCK);
            let thr = noise(bw * h.div_ceil(BLOCK), 99);
            let m = threshold_blocks(p, &thr, bw).unwrap();
            for y in 0..h {
                for x in 0..w {
                    let t = thr[(y / BLOCK) * bw + x / BLOCK];
                    let dark = data[y * stride + x] <= t;
                    assert_eq!(m.get(x as u32, y as u32), dark, "({x},{y}) in {w}x{h}");
                }
            }
        }
    }

    #[test]
    fn local_mean_matches_a_per_pixel_reference() {
        for (w, h, stride, r) in [
            (40, 30, 40, 6),
            (73, 25, 80, 3),
            (16, 16, 16, 7),
            (130, 20, 130, 1),
        ] {
            let data = noise(stride * h, 3 + w as u64);
            let p = Plane {
                width: w,
                height: h,
                stride,
                data: &data,
            };
            let (k256, min_std) = (10u32, 2u32);
            let m = local_mean(p, r, k256, min_std).unwrap();
            let n = ((2 * r + 1) * (2 * r + 1)) as i64;
            for y in 0..h {
                for x in 0..w {
                    let (mut s, mut s2) = (0i64, 0i64);
                    for dy in -(r as i64)..=r as i64 {
                        for dx in -(r as i64)..=r as i64 {
                            let yy = (y as i64 + dy).clamp(0, h as i64 - 1) as usize;
                            let xx = (x as i64 + dx).clamp(0, w as i64 - 1) as usize;
                            let v = i64::from(data[yy * stride + xx]);
                            s += v;
                            s2 += v * v;
                        }
                    }
                    let pix = i64::from(data[y * stride + x]);
                    let textured = n * s2 - s * s >= i64::from(min_std * min_std) * n * n;
                    let dark = textured && pix * n * 256 < s * i64::from(256 - k256);
                    assert_eq!(m.get(x as u32, y as u32), dark, "({x},{y}) {w}x{h} r={r}");
                }
            }
        }
    }
}
