//! Photos citizens attach to a feedback case (phản ánh): checked by content and stripped of metadata before
//! anything stores them.
//!
//! A phone photo tells more than what it shows. Its EXIF block carries the GPS position where it was taken —
//! often the reporter's home — the phone's make, model and software, and the time; XMP, IPTC and PNG text chunks
//! carry author names and editing history; an embedded thumbnail may still show the picture before it was
//! cropped. The reporter's identity is visible only to the intake desk (`shared/DESIGN.md`, "Feedback case"), so
//! none of this may reach officials or the public. [`sanitize`] keeps what is needed to draw the pixels and drops
//! the rest, by walking the container format itself: the compressed pixel data are copied unchanged (no
//! re-encoding, no quality loss), and no image library is involved — the three containers are small, and a parser
//! we own is one we can keep panic-free on hostile input.
//!
//! What is stored is [`prepare`]'s: the sanitised photo decoded and encoded again as a JPEG of at most
//! [`MAX_STORED_SIDE`] pixels a side (`reencode.rs`, with the `image` crate), so that a case's photos stay small
//! whatever was sent; the sanitiser still decides what is accepted, from the container alone, before any decoding
//! — including the decoded size, from the header's dimensions, channels and bit depth ([`MAX_DECODED_BYTES`]).
//!
//! The type is read from the content (its magic bytes), never from the file name or the declared Content-Type,
//! which the sender chooses. Only JPEG, PNG and WebP are accepted, at most [`MAX_PHOTO_BYTES`] each and
//! [`MAX_PHOTOS`] per report (the caller counts). Every read goes through `get()` and checked arithmetic, a
//! length field is never trusted beyond the bytes present, and the only allocation is the output buffer, sized
//! once to the input and never grown: the output is never longer than the input.
//!
//! Colour profiles (JPEG `ICC_PROFILE` APP2, PNG `iCCP`, WebP `ICCP`) are kept so that colours stay right (phones
//! shoot in Display P3); a profile describes a colour space, at most the phone's brand, not the person.
//!
//! One file per container: [`jpeg`], [`png`], [`webp`]. Crates checked before keeping this parser (their docs,
//! December 2026): `img-parts` 0.3 (maintained, widely used) parses the same three containers, but its metadata
//! API reads and replaces only EXIF and ICC: XMP, IPTC (APP13), MPF images, JFIF thumbnails, comments and PNG
//! text chunks would still be dropped by our own segment-by-segment rules on top of it, and it neither checks PNG
//! CRCs nor bounds dimensions, so it would add a dependency without removing the policy code. `metastrip` 0.1 and
//! `web-image-meta` 0.2 strip more but are young crates that pull in image decoders and encoders (`image`,
//! `jpeg-decoder`/`jpeg-encoder`) for a job that needs no decoding; `little_exif` and `kamadak-exif` edit or read
//! EXIF only. None is at least as complete as this module (the tests in `photos/tests.rs` pin what it
//! removes), so the hand-written sanitiser stays.

use std::fmt;

use sha2::{Digest, Sha256};

use super::Lang;

/// The largest photo accepted, in bytes (10 MB).
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// The most photos one report may carry.
pub const MAX_PHOTOS: usize = 5;
/// The largest width or height accepted, in pixels.
pub const MAX_SIDE: u32 = 20_000;
/// The most pixels accepted in one photo (100 megapixels): a flat 20000 × 20000 PNG compresses to a few hundred
/// kilobytes but takes 1.6 GB to draw, on an official's computer.
pub const MAX_PIXELS: u64 = 100_000_000;

/// What a decoder would have to allocate for a photo, per pixel: the channels it decodes to times the bytes of a
/// sample (2 at 16 bits). Read from the header, before anything is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Frame {
    width: u32,
    height: u32,
    bytes_per_pixel: u8,
}

/// The most bytes a photo may take once decoded (128 MiB): 40 megapixels of 8-bit RGB or 16 of 16-bit RGBA.
/// Checked from the header, before decoding: a flat 10000 × 10000 PNG is 97 KB on the wire and 300 MB in
/// memory, a 16-bit 20000 × 5000 one 800 MB (issue 22) — the pixel count alone does not say which.
pub const MAX_DECODED_BYTES: u64 = 128 * 1024 * 1024;

/// The image formats accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhotoKind {
    Jpeg,
    Png,
    Webp,
}

impl PhotoKind {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }

    /// The format these bytes are in, by their magic numbers alone; `None` for anything else (GIF, BMP, HEIC,
    /// PDF, text…). Says nothing about whether the rest of the file is sound: [`sanitize`] checks that.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(&png::SIGNATURE) {
            Some(Self::Png)
        } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            Some(Self::Webp)
        } else {
            None
        }
    }
}

/// A sanitized photo, ready to store and show.
#[derive(Clone, PartialEq, Eq)]
pub struct Photo {
    pub kind: PhotoKind,
    /// The photo without its metadata.
    pub bytes: Vec<u8>,
    /// SHA-256 of [`Photo::bytes`], lower-case hex.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
}

impl fmt::Debug for Photo {
    /// Without the bytes: a photo in a log line is its size, not ten megabytes of numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Photo")
            .field("kind", &self.kind)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("sha256", &self.sha256)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Why a photo was refused. `Display` is for logs; citizens read [`PhotoError::message_vi`] or
/// [`PhotoError::message_en`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo is empty")]
    Empty,
    #[error("the photo has {bytes} bytes, more than {MAX_PHOTO_BYTES}")]
    TooLarge { bytes: usize },
    #[error("not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("corrupt image: {reason}")]
    Corrupt { reason: &'static str },
    #[error("the photo has {width} × {height} pixels, too many")]
    TooManyPixels { width: u32, height: u32 },
}

impl PhotoError {
    /// What the citizen reads, in Vietnamese.
    pub fn message_vi(&self) -> String {
        match self {
            Self::Empty => "Tệp ảnh trống, không có nội dung.".to_owned(),
            Self::TooLarge { bytes } => {
                format!("Ảnh quá lớn ({} MB); tối đa 10 MB mỗi ảnh.", megabytes(*bytes, ','))
            }
            Self::NotAnImage => "Tệp này không phải ảnh JPEG, PNG hoặc WebP.".to_owned(),
            Self::Corrupt { .. } => "Ảnh bị hỏng hoặc không đọc được.".to_owned(),
            Self::TooManyPixels { width, height } => format!(
                "Ảnh có kích thước quá lớn ({width} × {height} điểm ảnh); tối đa 20.000 điểm ảnh mỗi chiều \
                 và 40 triệu điểm ảnh mỗi ảnh (ảnh chụp từ điện thoại đều nhỏ hơn)."
            ),
        }
    }

    /// What the citizen reads, in English.
    pub fn message_en(&self) -> String {
        match self {
            Self::Empty => "The photo file is empty.".to_owned(),
            Self::TooLarge { bytes } => {
                format!(
                    "The photo is too large ({} MB); at most 10 MB per photo.",
                    megabytes(*bytes, '.')
                )
            }
            Self::NotAnImage => "This file is not a JPEG, PNG or WebP image.".to_owned(),
            Self::Corrupt { .. } => "The photo is damaged or cannot be read.".to_owned(),
            Self::TooManyPixels { width, height } => format!(
                "The photo's dimensions are too large ({width} × {height} pixels); at most 20,000 pixels per side \
                 and 40 million pixels in all (phone photos are smaller)."
            ),
        }
    }

    /// What the citizen reads, in their language.
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::Vi => self.message_vi(),
            Lang::En => self.message_en(),
        }
    }
}

/// Mebibytes with one decimal, rounded up so that a photo just over the limit never reads as "10,0 MB".
fn megabytes(bytes: usize, decimal_mark: char) -> String {
    let tenths = u64::try_from(bytes)
        .unwrap_or(u64::MAX)
        .saturating_mul(10)
        .div_ceil(1024 * 1024);
    format!("{}{decimal_mark}{}", tenths / 10, tenths % 10)
}

fn corrupt(reason: &'static str) -> PhotoError {
    PhotoError::Corrupt { reason }
}

/// Checks a photo by its content and returns it without metadata, with its dimensions and hash.
pub fn sanitize(bytes: &[u8]) -> Result<Photo, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge { bytes: bytes.len() });
    }
    let kind = PhotoKind::sniff(bytes).ok_or(PhotoError::NotAnImage)?;
    let (clean, frame) = match kind {
        PhotoKind::Jpeg => jpeg::sanitize(bytes)?,
        PhotoKind::Png => png::sanitize(bytes)?,
        PhotoKind::Webp => webp::sanitize(bytes)?,
    };
    let Frame { width, height, .. } = frame;
    check_dimensions(frame)?;
    let sha256 = Sha256::digest(&clean).iter().map(|b| format!("{b:02x}")).collect();
    Ok(Photo {
        kind,
        bytes: clean,
        sha256,
        width,
        height,
    })
}

/// A photo as it is stored: checked and stripped by [`sanitize`], then decoded and encoded again as a JPEG of at
/// most [`MAX_STORED_SIDE`] pixels a side ([`reencode`]), so that what is stored stays small whatever was sent.
/// CPU work: call it off the async threads.
pub fn prepare(bytes: &[u8]) -> Result<Photo, PhotoError> {
    let checked = sanitize(bytes)?;
    // The original bytes: the decoder reads the EXIF orientation that sanitizing dropped.
    let jpeg = reencode::reencode(bytes, checked.kind)?;
    sanitize(&jpeg)
}

fn check_dimensions(frame: Frame) -> Result<(), PhotoError> {
    let Frame {
        width,
        height,
        bytes_per_pixel,
    } = frame;
    if width == 0 || height == 0 {
        return Err(corrupt("zero width or height"));
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_SIDE
        || height > MAX_SIDE
        || pixels > MAX_PIXELS
        || pixels.saturating_mul(u64::from(bytes_per_pixel)) > MAX_DECODED_BYTES
    {
        return Err(PhotoError::TooManyPixels { width, height });
    }
    Ok(())
}

/// `N` bytes at `at`, or `None` past the end.
fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    array(bytes, at).map(u16::from_be_bytes)
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    array(bytes, at).map(u32::from_be_bytes)
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    array(bytes, at).map(u16::from_le_bytes)
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    array(bytes, at).map(|[a, b, c]: [u8; 3]| u32::from_le_bytes([a, b, c, 0]))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    array(bytes, at).map(u32::from_le_bytes)
}

mod jpeg;

mod png;

mod webp;

mod reencode;
pub use reencode::MAX_STORED_SIDE;

#[cfg(test)]
mod tests;
