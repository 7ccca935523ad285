use super::*;

const JPEG_GPS: &[u8] = include_bytes!("../../../tests/fixtures/photos/photo_gps.jpg");
const JPEG_ROTATED: &[u8] = include_bytes!("../../../tests/fixtures/photos/photo_rotated.jpg");
const JPEG_PROGRESSIVE: &[u8] = include_bytes!("../../../tests/fixtures/photos/photo_progressive.jpg");
const PNG_META: &[u8] = include_bytes!("../../../tests/fixtures/photos/photo_meta.png");
const WEBP_META: &[u8] = include_bytes!("../../../tests/fixtures/photos/photo_meta.webp");
const WEBP_LOSSLESS: &[u8] = include_bytes!("../../../tests/fixtures/photos/photo_lossless.webp");
const WEBP_SIMPLE: &[u8] = include_bytes!("../../../tests/fixtures/photos/photo_simple.webp");

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
    let wav =
        b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x44\xac\x00\x00\x88\x58\x01\x00\x02\x00\x10\x00";
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
    let png_with = |width: u32, height: u32, depth: u8, colour: u8| {
        let mut header = width.to_be_bytes().to_vec();
        header.extend_from_slice(&height.to_be_bytes());
        header.extend_from_slice(&[depth, colour, 0, 0, 0]);
        [
            &png::SIGNATURE[..],
            &png_chunk(b"IHDR", &header),
            &png_chunk(b"IDAT", &[0]),
            &png_chunk(b"IEND", &[]),
        ]
        .concat()
    };
    let png_of = |width: u32, height: u32| png_with(width, height, 8, 0);
    // Decompression bombs of issue 22, refused from their headers: bit depth and channels count, not pixels only.
    for (width, height, depth, colour) in [(20_000, 5_000, 16, 2), (10_000, 10_000, 8, 2), (8_000, 5_000, 16, 6)] {
        assert_eq!(
            sanitize(&png_with(width, height, depth, colour)),
            Err(PhotoError::TooManyPixels { width, height }),
            "{width} × {height}, {depth} bits, colour type {colour}"
        );
    }
    // A 40-megapixel RGB photo decodes to 120 MB: accepted.
    assert!(sanitize(&png_with(8_000, 5_000, 8, 2)).is_ok());
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
