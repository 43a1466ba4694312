//! Tests on frames generated here: codes encoded with the `qrcode` crate, rendered at a chosen
//! module size, then placed, rotated, blurred, noised, inverted or compressed, like a camera or
//! a screenshot would.

use super::frame::{MAX_DIMENSION, MIN_DIMENSION};
use super::*;
use std::time::{Duration, Instant};

const URI: &str = "otpauth://totp/ACME%20Corp:alice@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=ACME%20Corp&algorithm=SHA1&digits=6&period=30";

/// The camera preset with a budget no debug build on a busy machine runs out of: the tests check
/// what the cascade reads, not how fast (the benchmark does that).
fn cam() -> DecodeOptions {
    DecodeOptions {
        time_budget: Duration::from_secs(30),
        ..DecodeOptions::camera()
    }
}

/// The still-image preset, same budget.
fn still() -> DecodeOptions {
    DecodeOptions {
        time_budget: Duration::from_secs(30),
        ..DecodeOptions::still_image()
    }
}

/// Deterministic xorshift noise.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Roughly normal, mean 0, std dev 1 (sum of uniforms).
    fn gauss(&mut self) -> f32 {
        (0..6)
            .map(|_| (self.next() % 10_000) as f32 / 10_000.0)
            .sum::<f32>()
            * 1.414
            - 4.243
    }
}

/// Module matrix (true = dark) of `text`, without quiet zone.
fn modules(text: &str) -> (usize, Vec<bool>) {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let n = code.width();
    let v = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    (n, v)
}

/// A `w x h` frame of `bg` with `text`'s code drawn at `(cx, cy)` (centre), `pitch` px per
/// module, rotated by `angle_deg`, quiet zone in `light`, modules in `dark`. Anti-aliased by
/// 4x4 supersampling.
#[allow(clippy::too_many_arguments)]
fn draw(
    img: &mut [f32],
    w: usize,
    h: usize,
    text: &str,
    (cx, cy): (f32, f32),
    pitch: f32,
    angle_deg: f32,
    colors: (f32, f32),
) {
    let (s, c) = angle_deg.to_radians().sin_cos();
    // inverse rotation into code-plane pixels (origin at the code's centre)
    let map = |px: f32, py: f32| Some((c * px + s * py, -s * px + c * py));
    draw_mapped(img, (w, h), text, (cx, cy), pitch, map, colors);
}

/// The map for [`draw_mapped`] of a code turned `tilt_deg` away from a pinhole camera about its
/// vertical axis (focal length `focal` px, the code's centre at that distance): the near edge
/// looks larger, the far edge smaller and closer together, as a phone held at an angle sees it.
fn tilted_view(tilt_deg: f32, focal: f32) -> impl Fn(f32, f32) -> Option<(f32, f32)> {
    let (s, c) = tilt_deg.to_radians().sin_cos();
    // Ray through (px, py, focal) meets the plane z = focal + u sin, x = u cos.
    move |px: f32, py: f32| {
        let den = focal * c - px * s;
        (den > 1.0).then(|| {
            let u = px * focal / den;
            (u, py * (focal + u * s) / focal)
        })
    }
}

/// Draws `text`'s code through `map` (frame offset from `(cx, cy)` to code-plane pixels from the
/// code's centre, `None` outside the plane), 4x4 supersampled, quiet zone in `light`.
fn draw_mapped(
    img: &mut [f32],
    (w, h): (usize, usize),
    text: &str,
    (cx, cy): (f32, f32),
    pitch: f32,
    map: impl Fn(f32, f32) -> Option<(f32, f32)>,
    (dark, light): (f32, f32),
) {
    let (n, m) = modules(text);
    let half = (n as f32 + 8.0) * pitch / 2.0 * 1.5;
    let (x0, x1) = ((cx - half).max(0.0) as usize, ((cx + half) as usize).min(w));
    let (y0, y1) = ((cy - half).max(0.0) as usize, ((cy + half) as usize).min(h));
    for y in y0..y1 {
        for x in x0..x1 {
            let mut acc = 0.0;
            let mut inside = 0;
            for sy in 0..4 {
                for sx in 0..4 {
                    let px = x as f32 + (sx as f32 + 0.5) / 4.0 - cx;
                    let py = y as f32 + (sy as f32 + 0.5) / 4.0 - cy;
                    let Some((pu, pv)) = map(px, py) else {
                        continue;
                    };
                    let u = pu / pitch + n as f32 / 2.0;
                    let v = pv / pitch + n as f32 / 2.0;
                    if u >= -4.0 && v >= -4.0 && u < n as f32 + 4.0 && v < n as f32 + 4.0 {
                        inside += 1;
                        let is_dark = u >= 0.0
                            && v >= 0.0
                            && (u as usize) < n
                            && (v as usize) < n
                            && m[v as usize * n + u as usize];
                        acc += if is_dark { dark } else { light };
                    }
                }
            }
            if inside > 0 {
                let a = inside as f32 / 16.0;
                img[y * w + x] = img[y * w + x] * (1.0 - a) + acc / 16.0;
            }
        }
    }
}

fn background(w: usize, h: usize, rng: &mut Rng) -> Vec<f32> {
    // smooth shading plus a few rectangles, like a desk under a lamp
    let mut img: Vec<f32> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32 / w as f32, (i / w) as f32 / h as f32);
            90.0 + 60.0 * x + 40.0 * (y * 3.0).sin()
        })
        .collect();
    for _ in 0..6 {
        let (rx, ry) = (
            (rng.next() % w as u64) as usize,
            (rng.next() % h as u64) as usize,
        );
        let (rw, rh) = (
            (rng.next() % 200) as usize + 20,
            (rng.next() % 200) as usize + 20,
        );
        let v = (rng.next() % 256) as f32;
        for y in ry..(ry + rh).min(h) {
            for x in rx..(rx + rw).min(w) {
                img[y * w + x] = v;
            }
        }
    }
    img
}

fn gaussian_blur(img: &mut [f32], w: usize, h: usize, sigma: f32) {
    let r = (sigma * 3.0).ceil() as isize;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let ks: f32 = k.iter().sum();
    let mut tmp = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut a = 0.0;
            for (j, kv) in k.iter().enumerate() {
                let xx = (x as isize + j as isize - r).clamp(0, w as isize - 1) as usize;
                a += img[y * w + xx] * kv;
            }
            tmp[y * w + x] = a / ks;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut a = 0.0;
            for (j, kv) in k.iter().enumerate() {
                let yy = (y as isize + j as isize - r).clamp(0, h as isize - 1) as usize;
                a += tmp[yy * w + x] * kv;
            }
            img[y * w + x] = a / ks;
        }
    }
}

fn to_u8(img: &[f32]) -> Vec<u8> {
    img.iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect()
}

fn texts(found: &[DecodedQr]) -> Vec<&str> {
    found.iter().map(|q| q.text.as_str()).collect()
}

fn camera_frame(w: usize, h: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    background(w, h, &mut rng)
}

#[test]
fn clean_code_in_a_camera_frame() {
    let (w, h) = (640, 480);
    let mut img = camera_frame(w, h, 1);
    draw(&mut img, w, h, URI, (300.0, 240.0), 5.0, 3.0, (30.0, 220.0));
    let px = to_u8(&img);
    let frame = LumaFrame::packed(w as u32, h as u32, &px).unwrap();
    let found = decode_luma(&frame, &cam()).unwrap();
    assert_eq!(texts(&found), [URI]);
    assert!(!found[0].inverted);
    assert_eq!(found[0].bytes, URI.as_bytes());
    // corners lie around the centre, inside the frame
    for (x, y) in found[0].corners {
        assert!(
            (100.0..500.0).contains(&x) && (40.0..440.0).contains(&y),
            "{x},{y}"
        );
    }
}

#[test]
fn stride_wider_than_width() {
    // Android YUV_420_888: rowStride padded to 64 bytes; the padding holds junk.
    let (w, h) = (630usize, 470usize);
    let stride = 704usize;
    let mut img = camera_frame(w, h, 2);
    draw(
        &mut img,
        w,
        h,
        URI,
        (320.0, 230.0),
        4.5,
        -8.0,
        (25.0, 210.0),
    );
    let packed = to_u8(&img);
    let mut rng = Rng(99);
    let mut data = vec![0u8; (h - 1) * stride + w]; // last row without padding
    for (i, b) in data.iter_mut().enumerate() {
        *b = if i % stride < w {
            packed[(i / stride) * w + i % stride]
        } else {
            rng.next() as u8
        };
    }
    let frame = LumaFrame::new(w as u32, h as u32, stride, &data).unwrap();
    assert_eq!(frame.stride(), stride);
    let found = decode_luma(&frame, &cam()).unwrap();
    assert_eq!(texts(&found), [URI]);
    // One byte short of the last row is refused.
    assert!(LumaFrame::new(w as u32, h as u32, stride, &data[..data.len() - 1]).is_err());
}

#[test]
fn frame_without_a_code_is_empty_and_cheap_to_refuse() {
    let (w, h) = (1920, 1080);
    let mut img = camera_frame(w, h, 3);
    let mut rng = Rng(5);
    for v in &mut img {
        *v += rng.gauss() * 4.0;
    }
    let px = to_u8(&img);
    let frame = LumaFrame::packed(w as u32, h as u32, &px).unwrap();
    let found = decode_luma(&frame, &cam()).unwrap();
    assert!(found.is_empty());
    // A blank wall (shading and mild sensor noise): nothing found, and only the attempts that
    // always run do (no finder-pattern evidence, so every gated attempt is skipped). Heavier
    // noise thresholded at the low 2x range floor can show two finder-like patterns and run
    // them all; the benchmark's dim, noisy empty frames measure that cost.
    let mut rng = Rng(6);
    let wall: Vec<u8> = (0..w * h)
        .map(|i| (120.0 + 40.0 * ((i % w) as f32 / w as f32) + rng.gauss() * 1.5) as u8)
        .collect();
    let frame = LumaFrame::packed(w as u32, h as u32, &wall).unwrap();
    let (found, stats) = decode_luma_with_stats(&frame, &cam()).unwrap();
    assert!(found.is_empty());
    let ungated = strategy::CASCADE.iter().filter(|s| !s.gated).count();
    assert_eq!(stats.attempts, ungated, "{stats:?}");
    // Heavier noise (sigma 3): the 2x attempt's low range floor turns it into two finder-like
    // patterns, so the gated attempts on other binarisations run, but the ones that re-read the
    // full-resolution bits (dense scan) or the blurred bits (older detector) do not: those
    // matrices showed nothing.
    let mut rng = Rng(6);
    let noisy: Vec<u8> = (0..w * h)
        .map(|i| (120.0 + 40.0 * ((i % w) as f32 / w as f32) + rng.gauss() * 3.0) as u8)
        .collect();
    let frame = LumaFrame::packed(w as u32, h as u32, &noisy).unwrap();
    let (found, stats) = decode_luma_with_stats(&frame, &cam()).unwrap();
    assert!(found.is_empty());
    let rereads = strategy::CASCADE
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            s.gated
                && strategy::CASCADE[..*i].iter().any(|e| {
                    (e.scale, e.threshold, e.polarity) == (s.scale, s.threshold, s.polarity)
                })
        })
        .count();
    assert_eq!(
        stats.attempts,
        strategy::CASCADE.len() - rereads,
        "{stats:?}"
    );
}

#[test]
fn dark_mode_code_is_read_inverted() {
    let (w, h) = (640, 480);
    let mut img = vec![24.0; w * h];
    draw(&mut img, w, h, URI, (320.0, 240.0), 5.0, 0.0, (220.0, 24.0));
    let px = to_u8(&img);
    let frame = LumaFrame::packed(w as u32, h as u32, &px).unwrap();
    let found = decode_luma(&frame, &cam()).unwrap();
    assert_eq!(texts(&found), [URI]);
    assert!(found[0].inverted);
}

#[test]
fn rotated_blurred_noisy_code() {
    let (w, h) = (800, 600);
    let mut img = camera_frame(w, h, 4);
    draw(
        &mut img,
        w,
        h,
        URI,
        (400.0, 300.0),
        6.0,
        33.0,
        (35.0, 200.0),
    );
    gaussian_blur(&mut img, w, h, 1.5);
    let mut rng = Rng(11);
    for v in &mut img {
        *v += rng.gauss() * 12.0;
    }
    let px = to_u8(&img);
    let frame = LumaFrame::packed(w as u32, h as u32, &px).unwrap();
    let found = decode_luma(&frame, &cam()).unwrap();
    assert_eq!(texts(&found), [URI]);
}

#[test]
fn code_tilted_sixty_degrees_is_read() {
    // Seen edge-on at 60 degrees: modules are ~2.5 px wide and ~5 px tall, the far finder
    // patterns smaller than the near one. rxing's edge-fitted sampler alone misses this.
    let (w, h) = (900, 600);
    for (tilt, seed) in [(60.0, 21), (-58.0, 22)] {
        let mut img = camera_frame(w, h, seed);
        draw_mapped(
            &mut img,
            (w, h),
            URI,
            (450.0, 300.0),
            5.5,
            tilted_view(tilt, 900.0),
            (30.0, 215.0),
        );
        let mut rng = Rng(seed);
        for v in &mut img {
            *v += rng.gauss() * 3.0;
        }
        let px = to_u8(&img);
        let frame = LumaFrame::packed(w as u32, h as u32, &px).unwrap();
        let found = decode_luma(&frame, &cam()).unwrap();
        assert_eq!(texts(&found), [URI], "tilt {tilt}");
    }
}

#[test]
fn low_contrast_code() {
    // a dim exposure: the code spans 14 grey levels
    let (w, h) = (640, 480);
    let mut img = vec![0.0; w * h];
    draw(&mut img, w, h, URI, (320.0, 240.0), 5.0, 4.0, (8.0, 22.0));
    gaussian_blur(&mut img, w, h, 0.6);
    let mut rng = Rng(12);
    for v in &mut img {
        *v += rng.gauss() * 1.5;
    }
    let px = to_u8(&img);
    let frame = LumaFrame::packed(w as u32, h as u32, &px).unwrap();
    let found = decode_luma(&frame, &cam()).unwrap();
    assert_eq!(texts(&found), [URI]);
}

#[test]
fn two_codes_are_both_returned() {
    let other = "otpauth://hotp/Example:bob@example.com?secret=GEZDGNBVGY3TQOJQ&counter=7";
    let (w, h) = (1000, 500);
    let mut img = vec![235.0; w * h];
    draw(&mut img, w, h, URI, (260.0, 250.0), 4.0, 0.0, (20.0, 235.0));
    draw(
        &mut img,
        w,
        h,
        other,
        (740.0, 250.0),
        5.0,
        10.0,
        (20.0, 235.0),
    );
    let px = to_u8(&img);
    let frame = LumaFrame::packed(w as u32, h as u32, &px).unwrap();
    let mut found = texts(&decode_luma(&frame, &still()).unwrap())
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    found.sort();
    let mut want = vec![URI.to_owned(), other.to_owned()];
    want.sort();
    assert_eq!(found, want);
}

fn encode(px: &[u8], w: u32, h: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::GrayImage::from_raw(w, h, px.to_vec()).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

#[test]
fn png_screenshot_and_jpeg_photo() {
    let (w, h) = (600usize, 400usize);
    let mut img = vec![255.0; w * h];
    draw(&mut img, w, h, URI, (300.0, 200.0), 4.0, 0.0, (0.0, 255.0));
    let px = to_u8(&img);
    let png = encode(&px, w as u32, h as u32, image::ImageFormat::Png);
    assert_eq!(texts(&decode_image(&png, &still()).unwrap()), [URI]);

    let mut photo = camera_frame(w, h, 6);
    draw(
        &mut photo,
        w,
        h,
        URI,
        (300.0, 200.0),
        4.5,
        -12.0,
        (30.0, 210.0),
    );
    gaussian_blur(&mut photo, w, h, 0.8);
    let jpeg = encode(&to_u8(&photo), w as u32, h as u32, image::ImageFormat::Jpeg);
    assert_eq!(texts(&decode_image(&jpeg, &still()).unwrap()), [URI]);
}

#[test]
fn transparent_png_is_composited_on_white() {
    // dark modules on a fully transparent background, as QR exports often are
    let (n, m) = modules(URI);
    let p = 4usize;
    let side = (n + 8) * p;
    let mut rgba = image::RgbaImage::new(side as u32, side as u32);
    for (x, y, px) in rgba.enumerate_pixels_mut() {
        let (u, v) = (x as usize / p, y as usize / p);
        let dark = (4..n + 4).contains(&u) && (4..n + 4).contains(&v) && m[(v - 4) * n + u - 4];
        *px = if dark {
            image::Rgba([0, 0, 0, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        };
    }
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(rgba)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    let found = decode_image(&out.into_inner(), &still()).unwrap();
    assert_eq!(texts(&found), [URI]);
}

#[test]
fn hostile_frame_sizes_are_typed_errors() {
    let buf = vec![0u8; 4096];
    let bad: &[(u32, u32, usize, usize)] = &[
        (0, 0, 0, 0),
        (0, 100, 100, 4096),
        (100, 0, 100, 4096),
        (MIN_DIMENSION - 1, 64, 64, 4096),
        (64, 64, 63, 4096),        // stride < width
        (64, 64, 64, 64 * 64 - 1), // one byte short
        (MAX_DIMENSION + 1, 64, 9000, 4096),
        (64, MAX_DIMENSION + 1, 64, 4096),
        (8000, 8000, 8000, 4096),        // over the pixel cap
        (64, 64, usize::MAX, 4096),      // (h - 1) * stride overflows
        (64, 64, usize::MAX / 32, 4096), // huge but not overflowing
        (u32::MAX, u32::MAX, usize::MAX, 4096),
    ];
    for &(w, h, stride, len) in bad {
        let len = len.min(buf.len());
        let r = LumaFrame::new(w, h, stride, &buf[..len]);
        assert!(
            matches!(r, Err(QrError::InvalidFrame(_))),
            "{w}x{h} stride {stride} len {len}"
        );
    }
    assert!(LumaFrame::new(64, 64, 64, &buf).is_ok());
}

#[test]
fn bad_encoded_images_are_typed_errors() {
    let opts = still();
    assert!(matches!(
        decode_image(b"", &opts),
        Err(QrError::InvalidImage(_))
    ));
    assert!(matches!(
        decode_image(b"not an image at all", &opts),
        Err(QrError::InvalidImage(_))
    ));
    let px = vec![200u8; 64 * 64];
    let png = encode(&px, 64, 64, image::ImageFormat::Png);
    assert!(matches!(
        decode_image(&png[..png.len() / 2], &opts),
        Err(QrError::InvalidImage(_))
    ));
    // valid but too small to hold a code
    let tiny = encode(&px[..100], 10, 10, image::ImageFormat::Png);
    assert!(matches!(
        decode_image(&tiny, &opts),
        Err(QrError::InvalidFrame(_))
    ));
    // a PNG header declaring 100000 x 100000 pixels is refused before allocation
    let mut huge = png.clone();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    assert!(decode_image(&huge, &opts).is_err());
    // a valid empty image decodes to nothing
    assert!(decode_image(&png, &opts).unwrap().is_empty());
}

#[test]
fn zero_budget_runs_one_attempt_only() {
    let (w, h) = (1280, 720);
    let mut img = camera_frame(w, h, 7);
    draw(&mut img, w, h, URI, (640.0, 360.0), 5.0, 0.0, (30.0, 220.0));
    let px = to_u8(&img);
    let frame = LumaFrame::packed(w as u32, h as u32, &px).unwrap();
    let opts = DecodeOptions {
        time_budget: Duration::ZERO,
        ..DecodeOptions::still_image()
    };
    let (found, stats) = decode_luma_with_stats(&frame, &opts).unwrap();
    assert_eq!(stats.attempts, 1);
    assert_eq!(texts(&found), [URI]);
}

#[test]
fn budget_bounds_a_hostile_frame() {
    // Dense checkerboard + finder-like squares everywhere: many candidates, no code.
    let (w, h) = (1920usize, 1080usize);
    let mut px = vec![0u8; w * h];
    for (i, p) in px.iter_mut().enumerate() {
        let (x, y) = (i % w, i / w);
        *p = if ((x / 3) + (y / 3)) % 2 == 0 {
            20
        } else {
            230
        };
        let (cx, cy) = (x % 60, y % 60);
        let ring = cx.abs_diff(30).max(cy.abs_diff(30));
        if ring < 21 {
            *p = if ring < 9 || (15..21).contains(&ring) {
                10
            } else {
                240
            };
        }
    }
    let frame = LumaFrame::packed(w as u32, h as u32, &px).unwrap();
    let opts = DecodeOptions {
        time_budget: Duration::from_millis(30),
        ..DecodeOptions::still_image()
    };
    let t = Instant::now();
    let found = decode_luma(&frame, &opts).unwrap();
    assert!(found.is_empty());
    // generous bound: debug build on a shared CI machine
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

#[test]
fn arbitrary_small_frames_never_panic() {
    let mut rng = Rng(0x1234_5678);
    for _ in 0..200 {
        let w = 21 + (rng.next() % 80) as u32;
        let h = 21 + (rng.next() % 80) as u32;
        let stride = w as usize + (rng.next() % 9) as usize;
        let len = (h as usize - 1) * stride + w as usize + (rng.next() % 3) as usize;
        let kind = rng.next() % 3;
        let data: Vec<u8> = (0..len)
            .map(|i| match kind {
                0 => rng.next() as u8,
                1 => {
                    if (i / 3) % 2 == 0 {
                        0
                    } else {
                        255
                    }
                }
                _ => (i % 256) as u8,
            })
            .collect();
        let frame = LumaFrame::new(w, h, stride, &data).unwrap();
        let _ = decode_luma(&frame, &still()).unwrap();
    }
}
