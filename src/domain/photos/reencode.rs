//! Photos as stored: decoded, turned upright, scaled down to [`MAX_STORED_SIDE`] on their longest side, and
//! encoded again as a JPEG — so that what a case keeps is bounded whatever was sent (a 10 MB photo becomes a few
//! hundred kilobytes), and nothing of the sender's file but its pixels (and colour profile) survives.
//!
//! Only after [`super::sanitize`] accepted the file: its container is sound and its decoded size, read from the
//! header, is within [`super::MAX_DECODED_BYTES`]; the decoder is held to that same allocation limit. The `image`
//! crate decodes (zune-jpeg, png, image-webp) and encodes; no metadata is carried over but the ICC profile, and the
//! EXIF orientation is applied to the pixels (the EXIF block itself is gone, so a phone photo would otherwise show
//! on its side).

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits};

use super::{MAX_DECODED_BYTES, PhotoError, PhotoKind, corrupt};

/// The longest side of a stored photo, in pixels: enough to read a street sign or a document on a desktop screen.
pub const MAX_STORED_SIDE: u32 = 2048;
/// The JPEG quality of stored photos: visually lossless for photographs at a third of a phone's file size.
const QUALITY: u8 = 85;

/// `bytes`, a sanitised photo of `kind`, decoded and encoded again as a JPEG at most [`MAX_STORED_SIDE`] a side.
pub(super) fn reencode(bytes: &[u8], kind: PhotoKind) -> Result<Vec<u8>, PhotoError> {
    let format = match kind {
        PhotoKind::Jpeg => ImageFormat::Jpeg,
        PhotoKind::Png => ImageFormat::Png,
        PhotoKind::Webp => ImageFormat::WebP,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    // The decoded image, and a little for the decoder's own buffers.
    limits.max_alloc = Some(MAX_DECODED_BYTES + 16 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| corrupt("cannot decode the image"))?;
    let icc = decoder.icc_profile().ok().flatten();
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(|_| corrupt("cannot decode the image"))?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    if image.width().max(image.height()) > MAX_STORED_SIDE {
        // `thumbnail` averages the source pixels under each output pixel in integers, in one pass: `resize`
        // would first build a floating-point copy at the new width and the old height (about 50 MB for a phone
        // photo), which is what a flood of uploads must not multiply.
        image = image.thumbnail(MAX_STORED_SIDE, MAX_STORED_SIDE);
    }
    let rgb = image.to_rgb8();
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, QUALITY);
    if let Some(icc) = icc {
        // A profile the encoder cannot embed only costs colour accuracy.
        let _ = encoder.set_icc_profile(icc);
    }
    encoder
        .write_image(rgb.as_raw(), rgb.width(), rgb.height(), ExtendedColorType::Rgb8)
        .map_err(|_| corrupt("cannot encode the image"))?;
    Ok(out)
}
