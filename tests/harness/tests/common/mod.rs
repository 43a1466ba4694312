//! Helpers shared by the harness's integration tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

/// Renders `text` as a QR code PNG: 6 px modules, 4-module quiet zone, optional dark mode.
pub fn qr_png(text: &str, path: &Path, inverted: bool) {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let n = code.width();
    let colors = code.to_colors();
    let (scale, quiet) = (6, 4);
    let size = ((n + 2 * quiet) * scale) as u32;
    let img = image::GrayImage::from_fn(size, size, |x, y| {
        let (mx, my) = (
            (x as usize / scale).wrapping_sub(quiet),
            (y as usize / scale).wrapping_sub(quiet),
        );
        let dark = mx < n && my < n && colors[my * n + mx] == qrcode::Color::Dark;
        image::Luma([if dark != inverted { 0 } else { 255 }])
    });
    img.save(path).unwrap();
}
