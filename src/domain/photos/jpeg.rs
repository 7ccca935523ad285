//! JPEG: ITU-T T.81 (ISO/IEC 10918-1) <https://www.w3.org/Graphics/JPEG/itu-t81.pdf>, annex B (syntax);
//! JFIF: ITU-T T.871 <https://www.w3.org/Graphics/JPEG/jfif3.pdf>; Exif: CIPA DC-008 (JEITA CP-3451),
//! section 4.5.4 (APP1) and 4.6.4 (the Orientation tag).
//!
//! The marker segments from SOI on are walked one by one. Kept unchanged: the tables and frame (DQT, DHT, DAC,
//! DRI, DNL, SOFn), every SOS with its entropy-coded data, the colour profile (APP2 `ICC_PROFILE`) and Adobe's
//! 12-byte APP14 (it says whether the 3 or 4 components are YCbCr/YCCK or RGB/CMYK: without it some images decode
//! with wrong colours; it holds nothing else). Rewritten: JFIF APP0 without its thumbnail; the EXIF orientation,
//! alone in a new 32-byte EXIF block, so that a photo taken with the phone turned still shows upright. Dropped:
//! APP1 (EXIF with GPS, XMP), other APP2 (MPF: the extra images of HDR and portrait shots), APP3–APP15 (APP13
//! Photoshop IPTC), COM, and anything after EOI. Refused: hierarchical JPEG, reserved markers, a scan before a
//! frame, a missing EOI.

use super::{Frame, PhotoError, be16, corrupt};

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

pub(super) fn sanitize(input: &[u8]) -> Result<(Vec<u8>, Frame), PhotoError> {
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
    let frame = frame.ok_or(corrupt("JPEG without frame"))?;
    Ok((out, frame))
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

/// Width, height and decoded size per pixel from a SOFn payload: P, Y, X, Nf, then Nf component specifications
/// (T.81 B.2.2). A sample takes a byte at 8-bit precision and two at 12 or 16.
fn frame_dimensions(payload: &[u8]) -> Result<Frame, PhotoError> {
    let bad = || corrupt("bad JPEG frame header");
    let precision = *payload.first().ok_or_else(bad)?;
    let height = be16(payload, 1).ok_or_else(bad)?;
    let width = be16(payload, 3).ok_or_else(bad)?;
    let components = usize::from(*payload.get(5).ok_or_else(bad)?);
    if components == 0 || payload.len() != 6 + 3 * components {
        return Err(bad());
    }
    let sample_bytes = if precision > 8 { 2 } else { 1 };
    Ok(Frame {
        width: u32::from(width),
        height: u32::from(height),
        bytes_per_pixel: u8::try_from(components).unwrap_or(u8::MAX).saturating_mul(sample_bytes),
    })
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
