//! WebP: the RIFF container <https://developers.google.com/speed/webp/docs/riff_container>; the VP8 frame
//! header is RFC 6386 section 9.1, the VP8L header the lossless bitstream specification (RFC 9649 section 3.2).
//!
//! Simple files (one VP8 or VP8L chunk) are reduced to that chunk. Extended files (VP8X) keep VP8X, ICCP, ANIM,
//! ALPH, VP8, VP8L and ANMF (with only its ALPH/VP8/VP8L sub-chunks: unknown chunks may sit inside a frame);
//! EXIF, XMP and unknown chunks are dropped, VP8X's EXIF and XMP flags cleared. The RIFF size is rewritten and
//! anything after the RIFF chunk dropped.

use super::{Frame, PhotoError, corrupt, le16, le24, le32};

const HEADER_LEN: usize = 12;
const FLAG_ANIMATION: u8 = 0x02;
const FLAG_XMP: u8 = 0x04;
const FLAG_EXIF: u8 = 0x08;
/// The 16-byte frame header of ANMF: X, Y, width, height (24 bits each), duration (24), flags (8).
const ANMF_HEADER_LEN: usize = 16;

pub(super) fn sanitize(input: &[u8]) -> Result<(Vec<u8>, Frame), PhotoError> {
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
    // Decoded as RGBA (lossy WebP without alpha decodes to RGB; counted as RGBA to stay on the safe side).
    Ok((
        out,
        Frame {
            width,
            height,
            bytes_per_pixel: 4,
        },
    ))
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
