//! PNG: Portable Network Graphics (Third Edition) <https://www.w3.org/TR/png-3/>, section 5 (datastream and
//! chunk layout, CRC) and 11 (chunk specifications).
//!
//! Every chunk's CRC is checked. Kept unchanged, in their order: the critical chunks (IHDR first, PLTE, IDAT,
//! IEND last) and the ancillary chunks that change how the pixels look (tRNS, gAMA, cHRM, sRGB, iCCP, cICP,
//! mDCV, cLLI, pHYs, bKGD, sBIT). Dropped: tEXt, zTXt, iTXt, eXIf, tIME, every other or unknown ancillary chunk
//! (APNG's acTL/fcTL/fdAT too, leaving the still default image), and anything after IEND. An unknown critical
//! chunk is refused: no decoder could draw the image.

use super::{Frame, PhotoError, be32, corrupt};

pub(super) const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

const KEPT_ANCILLARY: [&[u8; 4]; 11] = [
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"mDCV", b"cLLI", b"pHYs", b"bKGD", b"sBIT",
];

pub(super) fn sanitize(input: &[u8]) -> Result<(Vec<u8>, Frame), PhotoError> {
    if !input.starts_with(&SIGNATURE) {
        return Err(corrupt("bad PNG signature"));
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&SIGNATURE);
    let mut pos = SIGNATURE.len();
    let mut header: Option<(Frame, u8)> = None;
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
    let (frame, colour_type) = header.ok_or(corrupt("PNG without IHDR"))?;
    if colour_type == 3 && !palette {
        return Err(corrupt("indexed PNG without PLTE"));
    }
    Ok((out, frame))
}

/// Width, height, decoded size per pixel and colour type from IHDR (PNG-3 11.2.1), with the allowed bit depth
/// per colour type.
fn read_header(body: &[u8]) -> Result<(Frame, u8), PhotoError> {
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
    // Decoded, a sample takes a byte, or two at depth 16; a palette expands to RGBA (PNG-3 13.12).
    let channels = match colour {
        0 => 1,
        4 => 2,
        2 => 3,
        _ => 4,
    };
    let bytes_per_pixel = if depth == 16 { channels * 2 } else { channels };
    Ok((
        Frame {
            width,
            height,
            bytes_per_pixel,
        },
        colour,
    ))
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
