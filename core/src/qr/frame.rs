//! Input validation: camera luma planes (with row stride) and encoded still images.
//!
//! Every size check happens here, before any pixel is read, so the rest of the module can index
//! a validated plane without re-checking: `height` rows of `stride` bytes, the last row only
//! needing `width` bytes (Android's `YUV_420_888` Y plane often ends right after the last pixel).

use super::QrError;

/// Largest accepted width or height, in pixels.
pub const MAX_DIMENSION: u32 = 8192;

/// Largest accepted pixel count (`width * height`): 40 MP, above any phone camera stream and
/// below the 8192 x 8192 = 67 MP that the per-side cap alone would allow.
pub const MAX_PIXELS: u64 = 40_000_000;

/// Smallest accepted width or height: nothing smaller can hold a 21-module QR code.
pub const MIN_DIMENSION: u32 = 21;

/// Largest encoded image accepted by [`super::decode_image`], in bytes (64 MiB).
pub const MAX_ENCODED_BYTES: usize = 64 << 20;

/// A borrowed 8-bit luma (grayscale) plane, as delivered by a camera.
///
/// Android CameraX `ImageAnalysis` gives the Y plane of `YUV_420_888` with `rowStride`; iOS
/// AVFoundation gives the Y plane of `420f`/`420v` with `bytesPerRow`. Pass those values as
/// `stride`. Construct it with [`LumaFrame::new`], which validates every combination of sizes.
#[derive(Debug, Clone, Copy)]
pub struct LumaFrame<'a> {
    width: u32,
    height: u32,
    stride: usize,
    data: &'a [u8],
}

impl<'a> LumaFrame<'a> {
    /// Validates and wraps a luma plane.
    ///
    /// `stride` is the distance in bytes between the starts of two rows (`>= width`). `data`
    /// must hold `(height - 1) * stride + width` bytes at least; extra bytes are ignored.
    ///
    /// # Errors
    /// [`QrError::InvalidFrame`] when a dimension is below [`MIN_DIMENSION`] or above
    /// [`MAX_DIMENSION`], the pixel count exceeds [`MAX_PIXELS`], the stride is smaller than the
    /// width, or `data` is too short.
    pub fn new(width: u32, height: u32, stride: usize, data: &'a [u8]) -> Result<Self, QrError> {
        if width < MIN_DIMENSION || height < MIN_DIMENSION {
            return Err(QrError::InvalidFrame(
                "width and height must be at least 21 pixels",
            ));
        }
        if width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(QrError::InvalidFrame("width or height above 8192 pixels"));
        }
        if u64::from(width) * u64::from(height) > MAX_PIXELS {
            return Err(QrError::InvalidFrame("more than 40 megapixels"));
        }
        let w = width as usize;
        if stride < w {
            return Err(QrError::InvalidFrame("stride smaller than width"));
        }
        let needed = (height as usize - 1)
            .checked_mul(stride)
            .and_then(|n| n.checked_add(w))
            .ok_or(QrError::InvalidFrame("stride too large"))?;
        if data.len() < needed {
            return Err(QrError::InvalidFrame(
                "data shorter than (height - 1) * stride + width",
            ));
        }
        Ok(Self {
            width,
            height,
            stride,
            data,
        })
    }

    /// A tightly packed plane (`stride == width`).
    ///
    /// # Errors
    /// As [`LumaFrame::new`].
    pub fn packed(width: u32, height: u32, data: &'a [u8]) -> Result<Self, QrError> {
        Self::new(width, height, width as usize, data)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Row stride in bytes.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The plane's bytes (at least `(height - 1) * stride + width`).
    pub(crate) fn data(&self) -> &'a [u8] {
        self.data
    }
}

/// An owned, tightly packed luma plane (the result of decoding an encoded image).
#[derive(Debug, Clone)]
pub(crate) struct OwnedLuma {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) data: Vec<u8>,
}

impl OwnedLuma {
    /// Borrows this plane as a validated frame.
    pub(crate) fn as_frame(&self) -> Result<LumaFrame<'_>, QrError> {
        LumaFrame::packed(self.width, self.height, &self.data)
    }
}

/// Decodes PNG or JPEG bytes to an 8-bit luma plane, with size limits applied before the pixel
/// buffer is allocated (a 1 KB PNG can declare a 100k x 100k image).
pub(crate) fn luma_from_encoded(bytes: &[u8]) -> Result<OwnedLuma, QrError> {
    use image::ImageReader;
    use std::io::Cursor;

    if bytes.len() > MAX_ENCODED_BYTES {
        return Err(QrError::InvalidImage(
            "encoded image larger than 64 MiB".into(),
        ));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| QrError::InvalidImage(e.to_string()))?;
    if reader.format().is_none() {
        return Err(QrError::InvalidImage("not a PNG or JPEG image".into()));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    // RGBA16 decode buffer of the largest accepted image, plus the luma copy.
    limits.max_alloc = Some(MAX_PIXELS * 10);
    reader.limits(limits.clone());
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| QrError::InvalidImage(e.to_string()))?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(QrError::InvalidImage("more than 40 megapixels".into()));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| QrError::InvalidImage(e.to_string()))?;
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| QrError::InvalidImage(e.to_string()))?;
    let luma = to_luma_on_white(img);
    let (width, height) = luma.dimensions();
    Ok(OwnedLuma {
        width,
        height,
        data: luma.into_raw(),
    })
}

/// Grayscale conversion. Transparent pixels are composited onto white first: QR codes exported
/// as PNG often have a transparent background (dark modules on alpha = 0), which a plain
/// conversion would turn into black-on-black.
fn to_luma_on_white(img: image::DynamicImage) -> image::GrayImage {
    if !img.color().has_alpha() {
        return img.into_luma8();
    }
    let la = img.into_luma_alpha8();
    let (w, h) = la.dimensions();
    let raw = la.into_raw();
    let data: Vec<u8> = raw
        .chunks_exact(2)
        .map(|p| {
            let (l, a) = (u32::from(p[0]), u32::from(p[1]));
            ((l * a + 255 * (255 - a) + 127) / 255) as u8
        })
        .collect();
    image::GrayImage::from_raw(w, h, data).unwrap_or_else(|| image::GrayImage::new(w, h))
}
