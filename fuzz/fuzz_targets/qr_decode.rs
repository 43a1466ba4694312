//! The QR decoder on arbitrary frames: whatever width / height / stride / buffer combination
//! and pixels the input describes, `LumaFrame::new` must answer Ok or a typed error and
//! `decode_luma` must return without panicking; the same bytes also go through `decode_image`
//! (PNG/JPEG parsing and the size limits).
//!
//! Input layout: byte 0 = mode, bytes 1..3 = width (u16 LE), 3..5 = height, 5..7 = stride
//! padding; the rest is the pixel buffer. Mode bit 0 thresholds pixels to 0/255 (module-like
//! edges reach the finder-pattern and sampling code far more often than raw noise does), bit 1
//! upscales every byte 3x horizontally (blocky structures), bit 2 feeds the whole input to
//! `decode_image` as well.

#![no_main]

use countersign_core::qr::{DecodeOptions, LumaFrame, decode_image, decode_luma};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    if data.len() < 7 {
        return;
    }
    let mode = data[0];
    let width = u32::from(u16::from_le_bytes([data[1], data[2]]));
    let height = u32::from(u16::from_le_bytes([data[3], data[4]]));
    let pad = usize::from(u16::from_le_bytes([data[5], data[6]]));
    let mut pixels: Vec<u8> = data[7..].to_vec();
    if mode & 2 != 0 {
        pixels = pixels.iter().flat_map(|&b| [b, b, b]).collect();
    }
    if mode & 1 != 0 {
        for p in &mut pixels {
            *p = if *p & 0x80 != 0 { 255 } else { 0 };
        }
    }
    let options = DecodeOptions {
        time_budget: Duration::from_millis(20),
        ..DecodeOptions::still_image()
    };
    let stride = (width as usize).saturating_add(pad);
    if let Ok(frame) = LumaFrame::new(width, height, stride, &pixels) {
        let found = decode_luma(&frame, &options).expect("a validated frame decodes");
        for qr in found {
            assert!(
                qr.corners
                    .iter()
                    .all(|(x, y)| x.is_finite() && y.is_finite())
            );
        }
    }
    if mode & 4 != 0 {
        let _ = decode_image(data, &options);
    }
});
