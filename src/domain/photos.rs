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
//! The type is read from the content (its magic bytes), never from the file name or the declared Content-Type,
//! which the sender chooses. Only JPEG, PNG and WebP are accepted, at most [`MAX_PHOTO_BYTES`] each and
//! [`MAX_PHOTOS`] per report (the caller counts). Every read goes through `get()` and checked arithmetic, a
//! length field is never trusted beyond the bytes present, and the only allocation is the output buffer, sized
//! once to the input and never grown: the output is never longer than the input.
//!
//! Colour profiles (JPEG `ICC_PROFILE` APP2, PNG `iCCP`, WebP `ICCP`) are kept so that colours stay right (phones
//! shoot in Display P3); a profile describes a colour space, at most the phone's brand, not the person.

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
                 và 100 triệu điểm ảnh mỗi ảnh."
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
                 and 100 million pixels in all."
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
    let (clean, width, height) = match kind {
        PhotoKind::Jpeg => jpeg::sanitize(bytes)?,
        PhotoKind::Png => png::sanitize(bytes)?,
        PhotoKind::Webp => webp::sanitize(bytes)?,
    };
    check_dimensions(width, height)?;
    let sha256 = Sha256::digest(&clean).iter().map(|b| format!("{b:02x}")).collect();
    Ok(Photo {
        kind,
        bytes: clean,
        sha256,
        width,
        height,
    })
}

fn check_dimensions(width: u32, height: u32) -> Result<(), PhotoError> {
    if width == 0 || height == 0 {
        return Err(corrupt("zero width or height"));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
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

/// JPEG: ITU-T T.81 (ISO/IEC 10918-1) <https://www.w3.org/Graphics/JPEG/itu-t81.pdf>, annex B (syntax);
/// JFIF: ITU-T T.871 <https://www.w3.org/Graphics/JPEG/jfif3.pdf>; Exif: CIPA DC-008 (JEITA CP-3451),
/// section 4.5.4 (APP1) and 4.6.4 (the Orientation tag).
///
/// The marker segments from SOI on are walked one by one. Kept unchanged: the tables and frame (DQT, DHT, DAC,
/// DRI, DNL, SOFn), every SOS with its entropy-coded data, the colour profile (APP2 `ICC_PROFILE`) and Adobe's
/// 12-byte APP14 (it says whether the 3 or 4 components are YCbCr/YCCK or RGB/CMYK: without it some images decode
/// with wrong colours; it holds nothing else). Rewritten: JFIF APP0 without its thumbnail; the EXIF orientation,
/// alone in a new 32-byte EXIF block, so that a photo taken with the phone turned still shows upright. Dropped:
/// APP1 (EXIF with GPS, XMP), other APP2 (MPF: the extra images of HDR and portrait shots), APP3–APP15 (APP13
/// Photoshop IPTC), COM, and anything after EOI. Refused: hierarchical JPEG, reserved markers, a scan before a
/// frame, a missing EOI.
mod jpeg {
    use super::{PhotoError, be16, corrupt};

    const SOI: u8 = 0xD8;
    const EOI: u8 = 0xD9;
    const SOS: u8 = 0xDA;
    const APP0: u8 = 0xE0;
    const APP1: u8 = 0xE1;
    const APP2: u8 = 0xE2;
    const APP14: u8 = 0xEE;
    const COM: u8 = 0xFE;

    /// The JFIF APP0 payload up to its thumbnail: identifier, version, units, densities, thumbnail size.
    const JFIF_LEN: usize = 14;
    /// Adobe's APP14 payload: identifier, version, flags0, flags1, colour transform.
    const ADOBE_LEN: usize = 12;

    pub(super) fn sanitize(input: &[u8]) -> Result<(Vec<u8>, u32, u32), PhotoError> {
        if input.get(..2) != Some(&[0xFF, SOI]) {
            return Err(corrupt("JPEG without SOI"));
        }
        let mut out = Vec::with_capacity(input.len());
        out.extend_from_slice(&[0xFF, SOI]);
        let mut pos = 2;
        let mut frame = None;
        let mut scanned = false;
        let mut jfif = false;
        let mut oriented = false;
        loop {
            let (marker, start) = read_marker(input, pos)?;
            match marker {
                EOI if scanned => {
                    out.extend_from_slice(&[0xFF, EOI]);
                    break;
                }
                EOI => return Err(corrupt("JPEG ends before any scan")),
                // SOI again, TEM, RSTn outside a scan.
                SOI | 0x01 | 0xD0..=0xD7 => return Err(corrupt("JPEG marker out of place")),
                _ => {}
            }
            let length = usize::from(be16(input, start).ok_or(corrupt("truncated JPEG segment"))?);
            if length < 2 {
                return Err(corrupt("JPEG segment shorter than its length field"));
            }
            let end = start.checked_add(length).ok_or(corrupt("JPEG segment too long"))?;
            let segment = input.get(start..end).ok_or(corrupt("truncated JPEG segment"))?;
            let payload = segment.get(2..).unwrap_or_default();
            pos = end;
            let keep = match marker {
                // SOFn: all of 0xC0..=0xCF but DHT (C4), JPG (C8) and DAC (CC).
                0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                    if frame.is_some() || scanned {
                        return Err(corrupt("JPEG with more than one frame"));
                    }
                    frame = Some(frame_dimensions(payload)?);
                    true
                }
                SOS => {
                    if frame.is_none() {
                        return Err(corrupt("JPEG scan before its frame"));
                    }
                    check_scan_header(payload)?;
                    let data_end = entropy_end(input, end)?;
                    out.extend_from_slice(&[0xFF, SOS]);
                    out.extend_from_slice(segment);
                    out.extend_from_slice(input.get(end..data_end).unwrap_or_default());
                    pos = data_end;
                    scanned = true;
                    continue;
                }
                // DHT, DAC, DQT, DNL, DRI.
                0xC4 | 0xCC | 0xDB | 0xDC | 0xDD => true,
                APP0 => {
                    if let Some(head) = payload.get(..JFIF_LEN).filter(|h| h.starts_with(b"JFIF\0") && !jfif) {
                        jfif = true;
                        out.extend_from_slice(&[0xFF, APP0, 0, 16]);
                        out.extend_from_slice(head.get(..JFIF_LEN - 2).unwrap_or_default());
                        out.extend_from_slice(&[0, 0]);
                    }
                    false
                }
                APP1 => {
                    if let Some(orientation) = exif_orientation(payload).filter(|_| !oriented) {
                        oriented = true;
                        out.extend_from_slice(&[0xFF, APP1, 0, 34]);
                        out.extend_from_slice(&minimal_exif(orientation));
                    }
                    false
                }
                APP2 => payload.starts_with(b"ICC_PROFILE\0"),
                APP14 => payload.len() == ADOBE_LEN && payload.starts_with(b"Adobe"),
                0xE3..=0xED | 0xEF | COM => false,
                // DHP, EXP (hierarchical), JPGn, reserved.
                _ => return Err(corrupt("unsupported JPEG marker")),
            };
            if keep {
                out.extend_from_slice(&[0xFF, marker]);
                out.extend_from_slice(segment);
            }
        }
        let (width, height) = frame.ok_or(corrupt("JPEG without frame"))?;
        Ok((out, width, height))
    }

    /// The marker at `pos` and where its segment starts. Any number of 0xFF fill bytes may precede a marker
    /// (T.81 B.1.1.2); they are not copied.
    fn read_marker(input: &[u8], pos: usize) -> Result<(u8, usize), PhotoError> {
        if input.get(pos) != Some(&0xFF) {
            return Err(corrupt("JPEG marker expected"));
        }
        let rest = input.get(pos..).unwrap_or_default();
        let fill = rest.iter().take_while(|&&b| b == 0xFF).count();
        let at = pos.saturating_add(fill);
        match input.get(at) {
            Some(0) => Err(corrupt("JPEG marker expected")),
            Some(&marker) => Ok((marker, at.saturating_add(1))),
            None => Err(corrupt("JPEG ends without EOI")),
        }
    }

    /// Where the entropy-coded data starting at `start` end: at the first marker that is neither a stuffed
    /// zero (FF 00) nor a restart marker (RST0–RST7), T.81 B.1.1.5 and F.1.2.3.
    fn entropy_end(input: &[u8], start: usize) -> Result<usize, PhotoError> {
        let mut at = start;
        loop {
            let rest = input.get(at..).unwrap_or_default();
            let ff = rest
                .iter()
                .position(|&b| b == 0xFF)
                .ok_or(corrupt("JPEG ends inside a scan"))?;
            let marker_at = at.saturating_add(ff);
            let after_fill = input
                .get(marker_at..)
                .unwrap_or_default()
                .iter()
                .position(|&b| b != 0xFF)
                .ok_or(corrupt("JPEG ends inside a scan"))?;
            let code_at = marker_at.saturating_add(after_fill);
            match input.get(code_at) {
                Some(0x00 | 0xD0..=0xD7) => at = code_at.saturating_add(1),
                Some(_) => return Ok(marker_at),
                None => return Err(corrupt("JPEG ends inside a scan")),
            }
        }
    }

    /// Width and height from a SOFn payload: P, Y, X, Nf, then Nf component specifications (T.81 B.2.2).
    fn frame_dimensions(payload: &[u8]) -> Result<(u32, u32), PhotoError> {
        let bad = || corrupt("bad JPEG frame header");
        let height = be16(payload, 1).ok_or_else(bad)?;
        let width = be16(payload, 3).ok_or_else(bad)?;
        let components = usize::from(*payload.get(5).ok_or_else(bad)?);
        if components == 0 || payload.len() != 6 + 3 * components {
            return Err(bad());
        }
        Ok((u32::from(width), u32::from(height)))
    }

    /// An SOS payload: Ns (1–4), Ns component selectors, Ss, Se, Ah/Al (T.81 B.2.3).
    fn check_scan_header(payload: &[u8]) -> Result<(), PhotoError> {
        let components = usize::from(payload.first().copied().unwrap_or_default());
        if !(1..=4).contains(&components) || payload.len() != 1 + 2 * components + 3 {
            return Err(corrupt("bad JPEG scan header"));
        }
        Ok(())
    }

    /// The Orientation tag (0x0112) of IFD0 in an EXIF APP1 payload, when it turns or mirrors the image (2–8).
    /// Read only from a well-formed IFD0 — its entries and next-IFD offset all present — which is never shorter
    /// than the block that replaces it, so the output never outgrows the input.
    fn exif_orientation(payload: &[u8]) -> Option<u16> {
        let tiff = payload.strip_prefix(b"Exif\0\0")?;
        let big_endian = match tiff.get(..4)? {
            b"MM\0\x2A" => true,
            b"II\x2A\0" => false,
            _ => return None,
        };
        let u16_at = |at: usize| {
            super::array(tiff, at).map(|b| {
                if big_endian {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                }
            })
        };
        let u32_at = |at: usize| {
            super::array(tiff, at).map(|b| {
                if big_endian {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                }
            })
        };
        let ifd = usize::try_from(u32_at(4)?).ok()?;
        let count = usize::from(u16_at(ifd)?);
        let entries = ifd.checked_add(2)?;
        let next_ifd = entries.checked_add(count.checked_mul(12)?)?;
        u32_at(next_ifd)?;
        (0..count).find_map(|i| {
            let entry = entries.checked_add(i.checked_mul(12)?)?;
            let (tag, kind, n, value) = (
                u16_at(entry)?,
                u16_at(entry + 2)?,
                u32_at(entry + 4)?,
                u16_at(entry + 8)?,
            );
            (tag == 0x0112 && kind == 3 && n == 1 && (2..=8).contains(&value)).then_some(value)
        })
    }

    /// An EXIF APP1 payload holding the orientation and nothing else: big-endian TIFF header, IFD0 with one
    /// entry (Orientation, SHORT, 1), no next IFD.
    fn minimal_exif(orientation: u16) -> [u8; 32] {
        let [hi, lo] = orientation.to_be_bytes();
        [
            b'E', b'x', b'i', b'f', 0, 0, // identifier
            b'M', b'M', 0, 0x2A, 0, 0, 0, 8, // TIFF header, IFD0 at 8
            0, 1, // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, hi, lo, 0, 0, // Orientation, SHORT, count 1, value
            0, 0, 0, 0, // no next IFD
        ]
    }
}

/// PNG: Portable Network Graphics (Third Edition) <https://www.w3.org/TR/png-3/>, section 5 (datastream and
/// chunk layout, CRC) and 11 (chunk specifications).
///
/// Every chunk's CRC is checked. Kept unchanged, in their order: the critical chunks (IHDR first, PLTE, IDAT,
/// IEND last) and the ancillary chunks that change how the pixels look (tRNS, gAMA, cHRM, sRGB, iCCP, cICP,
/// mDCV, cLLI, pHYs, bKGD, sBIT). Dropped: tEXt, zTXt, iTXt, eXIf, tIME, every other or unknown ancillary chunk
/// (APNG's acTL/fcTL/fdAT too, leaving the still default image), and anything after IEND. An unknown critical
/// chunk is refused: no decoder could draw the image.
mod png {
    use super::{PhotoError, be32, corrupt};

    pub(super) const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

    const KEPT_ANCILLARY: [&[u8; 4]; 11] = [
        b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"mDCV", b"cLLI", b"pHYs", b"bKGD", b"sBIT",
    ];

    pub(super) fn sanitize(input: &[u8]) -> Result<(Vec<u8>, u32, u32), PhotoError> {
        if !input.starts_with(&SIGNATURE) {
            return Err(corrupt("bad PNG signature"));
        }
        let mut out = Vec::with_capacity(input.len());
        out.extend_from_slice(&SIGNATURE);
        let mut pos = SIGNATURE.len();
        let mut header: Option<(u32, u32, u8)> = None;
        let mut palette = false;
        let mut data = false;
        loop {
            let truncated = || corrupt("truncated PNG chunk");
            let length = be32(input, pos).ok_or_else(truncated)?;
            if length > 0x7FFF_FFFF {
                return Err(corrupt("PNG chunk length over 2^31 - 1"));
            }
            let data_start = pos.checked_add(8).ok_or_else(truncated)?;
            let data_end = data_start.checked_add(length as usize).ok_or_else(truncated)?;
            let chunk_end = data_end.checked_add(4).ok_or_else(truncated)?;
            let chunk = input.get(pos..chunk_end).ok_or_else(truncated)?;
            let kind: [u8; 4] = super::array(input, pos + 4).ok_or_else(truncated)?;
            let body = input.get(data_start..data_end).ok_or_else(truncated)?;
            let typed = input.get(pos + 4..data_end).ok_or_else(truncated)?;
            if be32(input, data_end) != Some(crc32(typed)) {
                return Err(corrupt("bad PNG chunk CRC"));
            }
            if !kind.iter().all(u8::is_ascii_alphabetic) {
                return Err(corrupt("bad PNG chunk type"));
            }
            pos = chunk_end;
            if header.is_none() && &kind != b"IHDR" {
                return Err(corrupt("PNG without IHDR first"));
            }
            let keep = match &kind {
                b"IHDR" => {
                    if header.is_some() {
                        return Err(corrupt("PNG with two IHDR"));
                    }
                    header = Some(read_header(body)?);
                    true
                }
                b"PLTE" => {
                    palette = true;
                    true
                }
                b"IDAT" => {
                    data = true;
                    true
                }
                b"IEND" => {
                    if !data {
                        return Err(corrupt("PNG without IDAT"));
                    }
                    out.extend_from_slice(chunk);
                    break;
                }
                other if KEPT_ANCILLARY.contains(&other) => true,
                // Bit 5 of the first byte: 0 (upper case) is critical.
                _ if kind.first().is_some_and(u8::is_ascii_uppercase) => {
                    return Err(corrupt("unknown critical PNG chunk"));
                }
                _ => false,
            };
            if keep {
                out.extend_from_slice(chunk);
            }
        }
        let (width, height, colour_type) = header.ok_or(corrupt("PNG without IHDR"))?;
        if colour_type == 3 && !palette {
            return Err(corrupt("indexed PNG without PLTE"));
        }
        Ok((out, width, height))
    }

    /// Width, height and colour type from IHDR (PNG-3 11.2.1), with the allowed bit depth per colour type.
    fn read_header(body: &[u8]) -> Result<(u32, u32, u8), PhotoError> {
        let bad = || corrupt("bad PNG IHDR");
        let [
            w0,
            w1,
            w2,
            w3,
            h0,
            h1,
            h2,
            h3,
            depth,
            colour,
            compression,
            filter,
            interlace,
        ]: [u8; 13] = body.try_into().map_err(|_| bad())?;
        let depth_ok = match colour {
            0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
            3 => matches!(depth, 1 | 2 | 4 | 8),
            2 | 4 | 6 => matches!(depth, 8 | 16),
            _ => false,
        };
        if !depth_ok || compression != 0 || filter != 0 || interlace > 1 {
            return Err(bad());
        }
        let width = u32::from_be_bytes([w0, w1, w2, w3]);
        let height = u32::from_be_bytes([h0, h1, h2, h3]);
        Ok((width, height, colour))
    }

    /// CRC-32 as PNG computes it (PNG-3 annex D): polynomial 0xEDB88320 (reflected), initial and final
    /// complement, over the chunk type and data.
    pub(super) fn crc32(bytes: &[u8]) -> u32 {
        !bytes.iter().fold(u32::MAX, |crc, &b| {
            let index = usize::from((crc as u8) ^ b);
            CRC_TABLE.get(index).copied().unwrap_or_default() ^ (crc >> 8)
        })
    }

    const CRC_TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };
}

/// WebP: the RIFF container <https://developers.google.com/speed/webp/docs/riff_container>; the VP8 frame
/// header is RFC 6386 section 9.1, the VP8L header the lossless bitstream specification (RFC 9649 section 3.2).
///
/// Simple files (one VP8 or VP8L chunk) are reduced to that chunk. Extended files (VP8X) keep VP8X, ICCP, ANIM,
/// ALPH, VP8, VP8L and ANMF (with only its ALPH/VP8/VP8L sub-chunks: unknown chunks may sit inside a frame);
/// EXIF, XMP and unknown chunks are dropped, VP8X's EXIF and XMP flags cleared. The RIFF size is rewritten and
/// anything after the RIFF chunk dropped.
mod webp {
    use super::{PhotoError, corrupt, le16, le24, le32};

    const HEADER_LEN: usize = 12;
    const FLAG_ANIMATION: u8 = 0x02;
    const FLAG_XMP: u8 = 0x04;
    const FLAG_EXIF: u8 = 0x08;
    /// The 16-byte frame header of ANMF: X, Y, width, height (24 bits each), duration (24), flags (8).
    const ANMF_HEADER_LEN: usize = 16;

    pub(super) fn sanitize(input: &[u8]) -> Result<(Vec<u8>, u32, u32), PhotoError> {
        let riff_size = le32(input, 4).ok_or(corrupt("truncated RIFF header"))?;
        let riff_end = usize::try_from(riff_size)
            .ok()
            .and_then(|size| size.checked_add(8))
            .ok_or(corrupt("RIFF size too large"))?;
        if riff_end < HEADER_LEN {
            return Err(corrupt("RIFF size too small"));
        }
        let body = input
            .get(HEADER_LEN..riff_end)
            .ok_or(corrupt("RIFF size beyond the file"))?;
        let mut chunks = Chunks { rest: body };
        let (first, payload) = chunks.next().ok_or(corrupt("WebP without chunks"))??;
        let mut out = Vec::with_capacity(input.len());
        out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
        let (width, height) = match &first {
            b"VP8 " => {
                push_chunk(&mut out, &first, payload)?;
                vp8_dimensions(payload)?
            }
            b"VP8L" => {
                push_chunk(&mut out, &first, payload)?;
                vp8l_dimensions(payload)?
            }
            b"VP8X" => extended(&mut out, payload, chunks)?,
            _ => return Err(corrupt("WebP without VP8, VP8L or VP8X first")),
        };
        let size = u32::try_from(out.len().saturating_sub(8)).map_err(|_| corrupt("WebP too large"))?;
        if let Some(field) = out.get_mut(4..8) {
            field.copy_from_slice(&size.to_le_bytes());
        }
        Ok((out, width, height))
    }

    /// The chunks after VP8X, copied or dropped; the canvas size.
    fn extended(out: &mut Vec<u8>, header: &[u8], chunks: Chunks<'_>) -> Result<(u32, u32), PhotoError> {
        let bad = || corrupt("bad VP8X chunk");
        if header.len() != 10 {
            return Err(bad());
        }
        let mut header_copy: [u8; 10] = header.try_into().map_err(|_| bad())?;
        let flags = header_copy.first().copied().unwrap_or_default();
        if let Some(f) = header_copy.first_mut() {
            *f = flags & !(FLAG_EXIF | FLAG_XMP);
        }
        let width = le24(header, 4).ok_or_else(bad)?.saturating_add(1);
        let height = le24(header, 7).ok_or_else(bad)?.saturating_add(1);
        push_chunk(out, b"VP8X", &header_copy)?;
        let mut still = None;
        let mut frames = 0usize;
        let mut anim = false;
        for chunk in chunks {
            let (fourcc, payload) = chunk?;
            match &fourcc {
                b"VP8 " | b"VP8L" => {
                    if still.is_some() {
                        return Err(corrupt("WebP with two images"));
                    }
                    still = Some(bitstream_dimensions(&fourcc, payload)?);
                    push_chunk(out, &fourcc, payload)?;
                }
                b"ANMF" => {
                    frames += 1;
                    push_frame(out, payload)?;
                }
                b"ANIM" => {
                    anim = true;
                    push_chunk(out, &fourcc, payload)?;
                }
                b"ICCP" | b"ALPH" => push_chunk(out, &fourcc, payload)?,
                // EXIF, XMP, unknown.
                _ => {}
            }
        }
        if flags & FLAG_ANIMATION != 0 {
            if !anim || frames == 0 || still.is_some() {
                return Err(corrupt("animated WebP without ANIM and frames"));
            }
        } else {
            match still {
                Some(size) if size == (width, height) => {}
                Some(_) => return Err(corrupt("WebP image size differs from its canvas")),
                None => return Err(corrupt("WebP without image")),
            }
        }
        Ok((width, height))
    }

    /// An ANMF chunk with its frame header and only ALPH, VP8 and VP8L inside.
    fn push_frame(out: &mut Vec<u8>, payload: &[u8]) -> Result<(), PhotoError> {
        let bad = || corrupt("bad ANMF chunk");
        let frame_header = payload.get(..ANMF_HEADER_LEN).ok_or_else(bad)?;
        let size_at = out.len().saturating_add(4);
        out.extend_from_slice(b"ANMF\0\0\0\0");
        out.extend_from_slice(frame_header);
        let mut bitstream = false;
        for chunk in (Chunks {
            rest: payload.get(ANMF_HEADER_LEN..).unwrap_or_default(),
        }) {
            let (fourcc, sub) = chunk?;
            match &fourcc {
                b"VP8 " | b"VP8L" if !bitstream => {
                    bitstream = true;
                    bitstream_dimensions(&fourcc, sub)?;
                    push_chunk(out, &fourcc, sub)?;
                }
                b"VP8 " | b"VP8L" => return Err(bad()),
                b"ALPH" => push_chunk(out, &fourcc, sub)?,
                _ => {}
            }
        }
        if !bitstream {
            return Err(bad());
        }
        let size = out.len().saturating_sub(size_at.saturating_add(4));
        let size = u32::try_from(size).map_err(|_| bad())?;
        if let Some(field) = out.get_mut(size_at..size_at.saturating_add(4)) {
            field.copy_from_slice(&size.to_le_bytes());
        }
        Ok(())
    }

    fn bitstream_dimensions(fourcc: &[u8; 4], payload: &[u8]) -> Result<(u32, u32), PhotoError> {
        if fourcc == b"VP8L" {
            vp8l_dimensions(payload)
        } else {
            vp8_dimensions(payload)
        }
    }

    /// A key frame: 3-byte frame tag (bit 0 clear), start code 9D 01 2A, then 14-bit width and height with
    /// 2-bit scales (RFC 6386 9.1).
    fn vp8_dimensions(payload: &[u8]) -> Result<(u32, u32), PhotoError> {
        let bad = || corrupt("bad VP8 frame header");
        let tag = payload.first().ok_or_else(bad)?;
        if tag & 1 != 0 || payload.get(3..6) != Some(&[0x9D, 0x01, 0x2A]) {
            return Err(bad());
        }
        let width = le16(payload, 6).ok_or_else(bad)? & 0x3FFF;
        let height = le16(payload, 8).ok_or_else(bad)? & 0x3FFF;
        Ok((u32::from(width), u32::from(height)))
    }

    /// Signature 0x2F, then 14 bits width − 1, 14 bits height − 1, 1 bit alpha, 3 bits version 0, least
    /// significant bit first.
    fn vp8l_dimensions(payload: &[u8]) -> Result<(u32, u32), PhotoError> {
        let bad = || corrupt("bad VP8L header");
        let bits = le32(payload, 1).ok_or_else(bad)?;
        if payload.first() != Some(&0x2F) || bits >> 29 != 0 {
            return Err(bad());
        }
        Ok(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
    }

    /// Writes a chunk with its size and, after an odd size, the padding byte.
    fn push_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], payload: &[u8]) -> Result<(), PhotoError> {
        let size = u32::try_from(payload.len()).map_err(|_| corrupt("WebP chunk too large"))?;
        out.extend_from_slice(fourcc);
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            out.push(0);
        }
        Ok(())
    }

    /// RIFF chunks: FourCC, little-endian size, payload, a padding byte after an odd size (required: without it
    /// the next chunk would start in the wrong place).
    struct Chunks<'a> {
        rest: &'a [u8],
    }

    impl<'a> Iterator for Chunks<'a> {
        type Item = Result<([u8; 4], &'a [u8]), PhotoError>;

        fn next(&mut self) -> Option<Self::Item> {
            if self.rest.is_empty() {
                return None;
            }
            let rest = std::mem::take(&mut self.rest);
            Some((|| {
                let truncated = || corrupt("truncated WebP chunk");
                let fourcc: [u8; 4] = super::array(rest, 0).ok_or_else(truncated)?;
                let size = usize::try_from(le32(rest, 4).ok_or_else(truncated)?).map_err(|_| truncated())?;
                let end = size.checked_add(8).ok_or_else(truncated)?;
                let payload = rest.get(8..end).ok_or_else(truncated)?;
                let padded = end.checked_add(size % 2).ok_or_else(truncated)?;
                self.rest = rest.get(padded..).ok_or_else(truncated)?;
                Ok((fourcc, payload))
            })())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG_GPS: &[u8] = include_bytes!("../../tests/fixtures/photos/photo_gps.jpg");
    const JPEG_ROTATED: &[u8] = include_bytes!("../../tests/fixtures/photos/photo_rotated.jpg");
    const JPEG_PROGRESSIVE: &[u8] = include_bytes!("../../tests/fixtures/photos/photo_progressive.jpg");
    const PNG_META: &[u8] = include_bytes!("../../tests/fixtures/photos/photo_meta.png");
    const WEBP_META: &[u8] = include_bytes!("../../tests/fixtures/photos/photo_meta.webp");
    const WEBP_LOSSLESS: &[u8] = include_bytes!("../../tests/fixtures/photos/photo_lossless.webp");
    const WEBP_SIMPLE: &[u8] = include_bytes!("../../tests/fixtures/photos/photo_simple.webp");

    const FIXTURES: [&[u8]; 7] = [
        JPEG_GPS,
        JPEG_ROTATED,
        JPEG_PROGRESSIVE,
        PNG_META,
        WEBP_META,
        WEBP_LOSSLESS,
        WEBP_SIMPLE,
    ];

    /// What the fixtures' EXIF holds and must not survive: the phone model, the GPS datum string, and the
    /// GPS IFD pointer entry of IFD0 (tag 0x8825, LONG, count 1; big-endian as Pillow writes it).
    const LEAKS: [&[u8]; 4] = [
        b"Exif\0\0",
        b"YkienPhoneModel",
        b"WGS-84",
        b"\x88\x25\x00\x04\x00\x00\x00\x01",
    ];

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// The markers before the first SOS, the SOF dimensions, and the offset of the first SOS: an independent
    /// walk, strict (no fill bytes), to check the output from outside.
    fn jpeg_layout(bytes: &[u8]) -> (Vec<u8>, (u16, u16), usize) {
        assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
        let mut markers = Vec::new();
        let mut dims = None;
        let mut pos = 2;
        loop {
            assert_eq!(bytes[pos], 0xFF, "a marker at {pos}");
            let marker = bytes[pos + 1];
            if marker == 0xDA {
                return (markers, dims.expect("a SOF before SOS"), pos);
            }
            let len = usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
            if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
                let p = pos + 4;
                dims = Some((
                    u16::from_be_bytes([bytes[p + 3], bytes[p + 4]]),
                    u16::from_be_bytes([bytes[p + 1], bytes[p + 2]]),
                ));
            }
            markers.push(marker);
            pos += 2 + len;
        }
    }

    fn png_chunks(bytes: &[u8]) -> Vec<(String, Vec<u8>, u32)> {
        assert_eq!(&bytes[..8], &png::SIGNATURE);
        let mut chunks = Vec::new();
        let mut pos = 8;
        while pos < bytes.len() {
            let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
            let kind = String::from_utf8(bytes[pos + 4..pos + 8].to_vec()).unwrap();
            let data = bytes[pos + 8..pos + 8 + len].to_vec();
            let crc = u32::from_be_bytes(bytes[pos + 8 + len..pos + 12 + len].try_into().unwrap());
            chunks.push((kind, data, crc));
            pos += 12 + len;
        }
        chunks
    }

    fn riff_chunks(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut chunks = Vec::new();
        let mut pos = 12;
        while pos < bytes.len() {
            let kind = String::from_utf8(bytes[pos..pos + 4].to_vec()).unwrap();
            let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
            chunks.push((kind, bytes[pos + 8..pos + 8 + len].to_vec()));
            pos += 8 + len + len % 2;
        }
        chunks
    }

    fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        for (fourcc, payload) in chunks {
            body.extend_from_slice(*fourcc);
            body.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            body.extend_from_slice(payload);
            if payload.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend_from_slice(&body);
        file
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(kind);
        chunk.extend_from_slice(data);
        let crc = png::crc32(&chunk[4..]);
        chunk.extend_from_slice(&crc.to_be_bytes());
        chunk
    }

    #[test]
    fn jpeg_exif_with_gps_is_removed_and_the_image_still_decodes() {
        for leak in LEAKS {
            assert!(contains(JPEG_GPS, leak), "the fixture holds {leak:?}");
        }
        let photo = sanitize(JPEG_GPS).unwrap();
        let more: [&[u8]; 3] = [b"http://ns.adobe.com/xap/1.0/", b"Nguyen Van A", b"Photoshop 3.0"];
        for leak in LEAKS.iter().chain(&more) {
            assert!(!contains(&photo.bytes, leak), "{leak:?} is gone");
        }
        assert!(photo.bytes.starts_with(&[0xFF, 0xD8]));
        assert!(photo.bytes.ends_with(&[0xFF, 0xD9]));
        let (before, dims_before, sos_before) = jpeg_layout(JPEG_GPS);
        let (after, dims_after, sos_after) = jpeg_layout(&photo.bytes);
        assert_eq!(
            before,
            [
                0xE0, 0xED, 0xE1, 0xE1, 0xE2, 0xFE, 0xDB, 0xDB, 0xC0, 0xC4, 0xC4, 0xC4, 0xC4
            ]
        );
        assert_eq!(after, [0xE0, 0xE2, 0xDB, 0xDB, 0xC0, 0xC4, 0xC4, 0xC4, 0xC4]);
        assert_eq!(dims_after, dims_before);
        assert_eq!(dims_after, (48, 32));
        assert_eq!((photo.width, photo.height), (48, 32));
        // The scan and everything after it are byte for byte the input's.
        assert_eq!(photo.bytes[sos_after..], JPEG_GPS[sos_before..]);
        assert!(contains(&photo.bytes, b"ICC_PROFILE\0"), "the colour profile stays");
        assert_eq!(photo.kind, PhotoKind::Jpeg);
        assert_eq!(
            sanitize(&photo.bytes).unwrap(),
            photo,
            "sanitizing twice changes nothing"
        );
    }

    #[test]
    fn a_rotated_jpeg_keeps_only_its_orientation() {
        let photo = sanitize(JPEG_ROTATED).unwrap();
        let exif: &[u8] = b"\xFF\xE1\x00\x22Exif\0\0MM\x00\x2A\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00";
        assert!(contains(&photo.bytes, exif), "a 32-byte EXIF with Orientation 6");
        assert_eq!(photo.bytes.windows(6).filter(|w| w == b"Exif\0\0").count(), 1);
        for leak in &LEAKS[1..] {
            assert!(
                contains(JPEG_ROTATED, leak) && !contains(&photo.bytes, leak),
                "{leak:?} is gone"
            );
        }
        // Its restart markers (RST0–RST7 inside the scan) do not end the scan: it is copied whole.
        assert!((0xD0..=0xD7).any(|rst| contains(JPEG_ROTATED, &[0xFF, rst])));
        let (_, _, sos_before) = jpeg_layout(JPEG_ROTATED);
        let (_, _, sos_after) = jpeg_layout(&photo.bytes);
        assert_eq!(photo.bytes[sos_after..], JPEG_ROTATED[sos_before..]);
        assert_eq!(sanitize(&photo.bytes).unwrap(), photo);
    }

    #[test]
    fn jpeg_fill_bytes_thumbnails_and_trailing_data_are_handled() {
        let clean = sanitize(JPEG_GPS).unwrap().bytes;
        let (_, _, sos) = jpeg_layout(JPEG_GPS);
        // Fill bytes before the SOS marker and before EOI; a second image (like MPF's) after EOI.
        let mut filled = JPEG_GPS[..sos].to_vec();
        filled.extend_from_slice(&[0xFF, 0xFF, 0xFF]);
        filled.extend_from_slice(&JPEG_GPS[sos..JPEG_GPS.len() - 2]);
        filled.extend_from_slice(&[0xFF, 0xFF, 0xD9]);
        filled.extend_from_slice(JPEG_ROTATED);
        assert_eq!(sanitize(&filled).unwrap().bytes, clean);
        // A JFIF thumbnail (2 × 1 RGB pixels) is cut, the rest of APP0 kept.
        let mut thumb = JPEG_GPS[..2].to_vec();
        thumb.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x16]);
        thumb.extend_from_slice(&JPEG_GPS[6..6 + 12]);
        thumb.extend_from_slice(&[2, 1, 9, 9, 9, 8, 8, 8]);
        thumb.extend_from_slice(&JPEG_GPS[6 + 14..]);
        assert_eq!(sanitize(&thumb).unwrap().bytes, clean);
        // An APP2 that is not a colour profile (MPF, pointing at a second image) goes like the EXIF.
        let mut mpf = JPEG_GPS[..sos].to_vec();
        mpf.extend_from_slice(b"\xFF\xE2\x00\x0AMPF\0MM\0\x2A");
        mpf.extend_from_slice(&JPEG_GPS[sos..]);
        assert_eq!(sanitize(&mpf).unwrap().bytes, clean);
        // Adobe's APP14 (colour transform flag, nothing else) stays where it was.
        let adobe: &[u8] = b"\xFF\xEE\x00\x0EAdobe\x00\x64\x00\x00\x00\x00\x01";
        let with_adobe = [&JPEG_GPS[..sos], adobe, &JPEG_GPS[sos..]].concat();
        let (_, _, clean_sos) = jpeg_layout(&clean);
        assert_eq!(
            sanitize(&with_adobe).unwrap().bytes,
            [&clean[..clean_sos], adobe, &clean[clean_sos..]].concat()
        );
        // Garbage between segments is not a marker.
        let mut garbage = JPEG_GPS[..sos].to_vec();
        garbage.push(0x00);
        garbage.extend_from_slice(&JPEG_GPS[sos..]);
        assert!(matches!(sanitize(&garbage), Err(PhotoError::Corrupt { .. })));
    }

    #[test]
    fn png_text_and_exif_chunks_are_removed_and_crcs_stay_valid() {
        // The CRC itself, against the value every PNG's IEND carries.
        assert_eq!(png::crc32(b"IEND"), 0xAE42_6082);
        let kinds = |chunks: &[(String, Vec<u8>, u32)]| chunks.iter().map(|c| c.0.clone()).collect::<Vec<_>>();
        let before = png_chunks(PNG_META);
        assert_eq!(
            kinds(&before),
            [
                "IHDR", "iCCP", "tEXt", "zTXt", "iTXt", "tIME", "pHYs", "eXIf", "IDAT", "IEND"
            ]
        );
        let photo = sanitize(PNG_META).unwrap();
        let after = png_chunks(&photo.bytes);
        assert_eq!(kinds(&after), ["IHDR", "iCCP", "pHYs", "IDAT", "IEND"]);
        for (kind, data, crc) in &after {
            let mut typed = kind.as_bytes().to_vec();
            typed.extend_from_slice(data);
            assert_eq!(png::crc32(&typed), *crc, "{kind} CRC");
            assert!(
                before.iter().any(|b| &b.0 == kind && &b.1 == data),
                "{kind} is unchanged"
            );
        }
        for leak in [&b"Nguyen Van A"[..], b"YkienPhoneModel", b"WGS-84"] {
            assert!(contains(PNG_META, leak), "the fixture holds {leak:?}");
            assert!(!contains(&photo.bytes, leak), "{leak:?} is gone");
        }
        // A chunk with a bad CRC is refused, not copied.
        let mut bad = PNG_META.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            sanitize(&bad),
            Err(PhotoError::Corrupt {
                reason: "bad PNG chunk CRC"
            })
        );
        // The existing `png` decoder (CRCs checked) reads the same pixels from both.
        let pixels = |bytes: &[u8]| {
            let mut reader = ::png::Decoder::new(std::io::Cursor::new(bytes.to_vec()))
                .read_info()
                .unwrap();
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut buf).unwrap();
            buf.truncate(info.buffer_size());
            (info.width, info.height, buf)
        };
        assert_eq!(pixels(&photo.bytes), pixels(PNG_META));
    }

    #[test]
    fn png_order_and_critical_chunks_are_enforced() {
        let ihdr = png_chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
        // A 1 × 1 grey pixel: zlib stream of the filter byte 0 and value 0.
        let idat = png_chunk(b"IDAT", &[0x78, 0x01, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]);
        let iend = png_chunk(b"IEND", &[]);
        let file = |chunks: &[&[u8]]| {
            [&png::SIGNATURE[..]]
                .iter()
                .chain(chunks)
                .flat_map(|c| c.iter().copied())
                .collect::<Vec<u8>>()
        };
        let good = file(&[&ihdr, &idat, &iend]);
        assert_eq!(sanitize(&good).unwrap().bytes, good);
        let with_tail = file(&[&ihdr, &idat, &iend, b"trailing secret"]);
        assert_eq!(sanitize(&with_tail).unwrap().bytes, good);
        let text = png_chunk(b"tEXt", b"GPS\x0021.02,105.85");
        assert_eq!(
            sanitize(&file(&[&text, &ihdr, &idat, &iend])),
            Err(PhotoError::Corrupt {
                reason: "PNG without IHDR first"
            })
        );
        assert_eq!(
            sanitize(&file(&[&ihdr, &idat])),
            Err(PhotoError::Corrupt {
                reason: "truncated PNG chunk"
            })
        );
        let unknown_critical = png_chunk(b"ZZZZ", b"?");
        assert_eq!(
            sanitize(&file(&[&ihdr, &unknown_critical, &idat, &iend])),
            Err(PhotoError::Corrupt {
                reason: "unknown critical PNG chunk"
            })
        );
        let unknown_ancillary = png_chunk(b"prVt", b"private");
        assert_eq!(
            sanitize(&file(&[&ihdr, &unknown_ancillary, &idat, &iend]))
                .unwrap()
                .bytes,
            good
        );
    }

    #[test]
    fn webp_exif_and_xmp_chunks_are_removed_and_flags_cleared() {
        let kinds = |chunks: &[(String, Vec<u8>)]| chunks.iter().map(|c| c.0.clone()).collect::<Vec<_>>();
        let before = riff_chunks(WEBP_META);
        assert_eq!(kinds(&before), ["VP8X", "ICCP", "VP8 ", "EXIF", "XMP "]);
        assert_eq!(before[0].1[0] & 0x0C, 0x0C, "the fixture declares EXIF and XMP");
        let photo = sanitize(WEBP_META).unwrap();
        let after = riff_chunks(&photo.bytes);
        assert_eq!(kinds(&after), ["VP8X", "ICCP", "VP8 "]);
        assert_eq!(
            after[0].1[0],
            before[0].1[0] & !0x0C,
            "EXIF and XMP flags cleared, the others kept"
        );
        assert_eq!(after[0].1[1..], before[0].1[1..]);
        assert_eq!(after[1], before[1]);
        assert_eq!(after[2], before[2]);
        let riff_size = u32::from_le_bytes(photo.bytes[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff_size, photo.bytes.len() - 8);
        let more: [&[u8]; 1] = [b"adobe:ns:meta"];
        for leak in LEAKS.iter().chain(&more) {
            assert!(!contains(&photo.bytes, leak), "{leak:?} is gone");
        }
        assert_eq!((photo.kind, photo.width, photo.height), (PhotoKind::Webp, 48, 32));
        assert_eq!(sanitize(&photo.bytes).unwrap(), photo);
    }

    #[test]
    fn unknown_chunks_inside_an_animation_frame_are_dropped() {
        let vp8l = &riff_chunks(WEBP_LOSSLESS)[0].1;
        // VP8X: animation flag, canvas 20 × 12 (stored minus one).
        let vp8x = [0x02 | 0x08, 0, 0, 0, 19, 0, 0, 11, 0, 0];
        let anim = [0, 0, 0, 0, 0, 0];
        let mut frame = vec![0, 0, 0, 0, 0, 0, 19, 0, 0, 11, 0, 0, 100, 0, 0, 0];
        let mut inner = riff(&[(b"META", b"GPS 21.02,105.85"), (b"VP8L", vp8l)])[12..].to_vec();
        frame.append(&mut inner);
        let file = riff(&[
            (b"VP8X", &vp8x),
            (b"ANIM", &anim),
            (b"ANMF", &frame),
            (b"EXIF", b"Exif\0\0MM"),
        ]);
        let photo = sanitize(&file).unwrap();
        let expected_frame = [&frame[..16], &riff(&[(b"VP8L", vp8l)])[12..]].concat();
        let expected = riff(&[
            (b"VP8X", &[0x02, 0, 0, 0, 19, 0, 0, 11, 0, 0]),
            (b"ANIM", &anim),
            (b"ANMF", &expected_frame),
        ]);
        assert_eq!(photo.bytes, expected);
        assert_eq!((photo.width, photo.height), (20, 12));
        assert_eq!(sanitize(&photo.bytes).unwrap(), photo);
    }

    #[test]
    fn simple_webp_files_keep_only_their_bitstream() {
        let mut with_tail = WEBP_SIMPLE.to_vec();
        with_tail.extend_from_slice(b"EXIF\x08\x00\x00\x00Exif\0\0MM");
        let size = (with_tail.len() - 8) as u32;
        with_tail[4..8].copy_from_slice(&size.to_le_bytes());
        assert_eq!(sanitize(&with_tail).unwrap().bytes, WEBP_SIMPLE);
        assert_eq!(sanitize(WEBP_LOSSLESS).unwrap().bytes, WEBP_LOSSLESS);
    }

    #[test]
    fn a_renamed_text_file_is_not_an_image() {
        let text = "Kính gửi UBND xã: đường bị ngập.\n".as_bytes();
        assert_eq!(sanitize(text), Err(PhotoError::NotAnImage));
        assert_eq!(
            PhotoError::NotAnImage.message_vi(),
            "Tệp này không phải ảnh JPEG, PNG hoặc WebP."
        );
        assert_eq!(
            PhotoError::NotAnImage.message(Lang::En),
            "This file is not a JPEG, PNG or WebP image."
        );
        assert_eq!(sanitize(b""), Err(PhotoError::Empty));
        // An HTML page that an attacker would like an official's browser to render.
        assert_eq!(
            sanitize(b"<html><script>alert(1)</script>"),
            Err(PhotoError::NotAnImage)
        );
    }

    #[test]
    fn a_gif_or_bmp_is_refused() {
        let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
        let mut bmp = b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x18\x00".to_vec();
        bmp.resize(0x3a, 0);
        let wav = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x44\xac\x00\x00\x88\x58\x01\x00\x02\x00\x10\x00";
        for bytes in [&gif[..], &bmp, &wav[..]] {
            assert_eq!(sanitize(bytes), Err(PhotoError::NotAnImage));
            assert_eq!(PhotoKind::sniff(bytes), None);
        }
        assert_eq!(PhotoKind::sniff(JPEG_GPS), Some(PhotoKind::Jpeg));
        assert_eq!(PhotoKind::sniff(PNG_META), Some(PhotoKind::Png));
        assert_eq!(PhotoKind::sniff(WEBP_META), Some(PhotoKind::Webp));
    }

    #[test]
    fn an_eleven_megabyte_photo_is_refused_with_its_size_in_vietnamese() {
        let mut big = JPEG_GPS.to_vec();
        big.resize(11 * 1024 * 1024, 0);
        let error = sanitize(&big).unwrap_err();
        assert_eq!(
            error,
            PhotoError::TooLarge {
                bytes: 11 * 1024 * 1024
            }
        );
        assert_eq!(error.message_vi(), "Ảnh quá lớn (11,0 MB); tối đa 10 MB mỗi ảnh.");
        assert_eq!(
            error.message_en(),
            "The photo is too large (11.0 MB); at most 10 MB per photo."
        );
        let just_over = PhotoError::TooLarge {
            bytes: MAX_PHOTO_BYTES + 1,
        };
        assert_eq!(just_over.message_vi(), "Ảnh quá lớn (10,1 MB); tối đa 10 MB mỗi ảnh.");
        let example = PhotoError::TooLarge {
            bytes: 12 * 1024 * 1024 + 300_000,
        };
        assert_eq!(example.message_vi(), "Ảnh quá lớn (12,3 MB); tối đa 10 MB mỗi ảnh.");
        // Exactly 10 MB is not too large: it gets parsed (and the zero padding after EOI dropped).
        big.truncate(MAX_PHOTO_BYTES);
        assert_eq!(sanitize(&big).unwrap().bytes, sanitize(JPEG_GPS).unwrap().bytes);
    }

    /// A deterministic linear congruential generator (Knuth's MMIX constants).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn check_invariants(input: &[u8]) {
        if let Ok(photo) = sanitize(input) {
            assert!(photo.bytes.len() <= input.len(), "the output never outgrows the input");
            assert!(
                photo.bytes.capacity() <= input.len(),
                "the output buffer was never grown"
            );
            assert!(photo.width >= 1 && photo.width <= MAX_SIDE && photo.height >= 1 && photo.height <= MAX_SIDE);
            let hex: String = Sha256::digest(&photo.bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(photo.sha256, hex);
            assert_eq!(sanitize(&photo.bytes).as_ref(), Ok(&photo), "sanitizing is idempotent");
        }
    }

    #[test]
    fn truncated_and_corrupted_images_are_errors_not_panics() {
        for fixture in FIXTURES {
            check_invariants(fixture);
            for len in (0..fixture.len()).step_by(7) {
                assert!(
                    sanitize(&fixture[..len]).is_err(),
                    "a fixture cut at {len} of {} is refused",
                    fixture.len()
                );
            }
        }
        let mut rng = Lcg(0x0079_6B69_656E);
        let mut accepted = 0;
        for _ in 0..4000 {
            let mut bytes = FIXTURES[rng.below(FIXTURES.len())].to_vec();
            for _ in 0..=rng.below(3) {
                let at = rng.below(bytes.len());
                match rng.below(4) {
                    // A run of 0xFF: huge length fields, fill bytes, stray markers.
                    0 => bytes[at..].iter_mut().take(4).for_each(|b| *b = 0xFF),
                    1 => bytes[at] = 0,
                    _ => bytes[at] ^= 1 << rng.below(8),
                }
            }
            check_invariants(&bytes);
            accepted += usize::from(sanitize(&bytes).is_ok());
        }
        // Flips in JPEG entropy data or in chunks that get dropped leave a readable file; most others don't.
        assert!(
            accepted > 0 && accepted < 4000,
            "{accepted} of 4000 damaged files accepted"
        );
        // Length fields that point far past the end.
        let mut png = PNG_META.to_vec();
        png[8..12].copy_from_slice(&[0x7F, 0xFF, 0xFF, 0xFF]);
        assert!(sanitize(&png).is_err());
        let mut webp = WEBP_META.to_vec();
        webp[4..8].copy_from_slice(&[0xFF; 4]);
        assert_eq!(
            sanitize(&webp),
            Err(PhotoError::Corrupt {
                reason: "RIFF size beyond the file"
            })
        );
        let mut jpeg = JPEG_GPS.to_vec();
        jpeg[4..6].copy_from_slice(&[0xFF, 0xFF]);
        assert!(sanitize(&jpeg).is_err());
    }

    #[test]
    fn dimensions_are_read() {
        let cases = [
            (JPEG_GPS, PhotoKind::Jpeg, 48, 32),
            (JPEG_ROTATED, PhotoKind::Jpeg, 32, 24),
            (JPEG_PROGRESSIVE, PhotoKind::Jpeg, 40, 24),
            (PNG_META, PhotoKind::Png, 30, 20),
            (WEBP_META, PhotoKind::Webp, 48, 32),
            (WEBP_LOSSLESS, PhotoKind::Webp, 20, 12),
            (WEBP_SIMPLE, PhotoKind::Webp, 22, 14),
        ];
        for (bytes, kind, width, height) in cases {
            let photo = sanitize(bytes).unwrap();
            assert_eq!((photo.kind, photo.width, photo.height), (kind, width, height));
        }
        assert_eq!(
            (PhotoKind::Jpeg.mime(), PhotoKind::Jpeg.extension()),
            ("image/jpeg", "jpg")
        );
        assert_eq!(
            (PhotoKind::Png.mime(), PhotoKind::Png.extension()),
            ("image/png", "png")
        );
        assert_eq!(
            (PhotoKind::Webp.mime(), PhotoKind::Webp.extension()),
            ("image/webp", "webp")
        );
        // The progressive JPEG's ten scans, with their DHT in between, all stay.
        let progressive = sanitize(JPEG_PROGRESSIVE).unwrap().bytes;
        assert_eq!(
            contains_count(&progressive, &[0xFF, 0xDA]),
            contains_count(JPEG_PROGRESSIVE, &[0xFF, 0xDA])
        );
        assert_eq!(contains_count(JPEG_PROGRESSIVE, &[0xFF, 0xDA]), 10);
        // Too wide, too many pixels, and none at all.
        let png_of = |width: u32, height: u32| {
            let mut header = width.to_be_bytes().to_vec();
            header.extend_from_slice(&height.to_be_bytes());
            header.extend_from_slice(&[8, 0, 0, 0, 0]);
            [
                &png::SIGNATURE[..],
                &png_chunk(b"IHDR", &header),
                &png_chunk(b"IDAT", &[0]),
                &png_chunk(b"IEND", &[]),
            ]
            .concat()
        };
        assert_eq!(
            sanitize(&png_of(20_001, 10)),
            Err(PhotoError::TooManyPixels {
                width: 20_001,
                height: 10
            })
        );
        assert_eq!(
            sanitize(&png_of(20_000, 20_000)),
            Err(PhotoError::TooManyPixels {
                width: 20_000,
                height: 20_000
            })
        );
        assert_eq!(
            sanitize(&png_of(20_000, 5_000)).map(|p| (p.width, p.height)),
            Ok((20_000, 5_000))
        );
        assert_eq!(
            sanitize(&png_of(0, 10)),
            Err(PhotoError::Corrupt {
                reason: "zero width or height"
            })
        );
        let error = PhotoError::TooManyPixels {
            width: 20_001,
            height: 10,
        };
        assert!(
            error
                .message_vi()
                .starts_with("Ảnh có kích thước quá lớn (20001 × 10 điểm ảnh)")
        );
    }

    fn contains_count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack.windows(needle.len()).filter(|w| *w == needle).count()
    }
}
