//! Voice notes sent with a report (Telegram voice notes and audio files, Zalo voice messages): recognised by their
//! content, never by a name or a type a client claims, within the size limit of photos. They are stored as they
//! came: audio formats carry no location or camera metadata to strip, unlike photos.

use sha2::{Digest, Sha256};

use super::Text;
use super::photos::MAX_PHOTO_BYTES;

/// The largest voice note taken: the photos' limit (Telegram voice notes are about 2 KB a second, so an hour).
pub const MAX_VOICE_BYTES: usize = MAX_PHOTO_BYTES;

/// The most voice notes one report takes.
pub const MAX_VOICE_NOTES: usize = 3;

/// A voice note's format, read from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoiceFormat {
    /// Ogg (Opus or Vorbis): Telegram's voice notes.
    Ogg,
    /// MP3.
    Mpeg,
    /// MPEG-4 audio (M4A), what phones record to.
    Mp4,
    /// AAC in ADTS frames, what Zalo's voice messages are.
    Aac,
    /// WAVE.
    Wav,
    /// AMR, what older phones record to (browsers cannot play it; officials download it).
    Amr,
}

impl VoiceFormat {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Ogg => "audio/ogg",
            Self::Mpeg => "audio/mpeg",
            Self::Mp4 => "audio/mp4",
            Self::Aac => "audio/aac",
            Self::Wav => "audio/wav",
            Self::Amr => "audio/amr",
        }
    }

    /// Every MIME type a stored voice note may have: what files may be served as.
    pub const MIME_TYPES: [&'static str; 6] = [
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/wav",
        "audio/amr",
    ];

    /// The format of `bytes`, if they are audio this module knows.
    pub fn of(bytes: &[u8]) -> Option<Self> {
        let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
        if at(0, b"OggS") {
            Some(Self::Ogg)
        } else if at(0, b"ID3") || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE6 == 0xE2) {
            // An ID3 tag, or an MPEG audio layer III frame header (sync bits, layer 01).
            Some(Self::Mpeg)
        } else if bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xF6 == 0xF0 {
            // An ADTS header: sync bits, layer 00.
            Some(Self::Aac)
        } else if at(4, b"ftyp") {
            Some(Self::Mp4)
        } else if at(0, b"RIFF") && at(8, b"WAVE") {
            Some(Self::Wav)
        } else if at(0, b"#!AMR") {
            Some(Self::Amr)
        } else {
            None
        }
    }
}

/// A voice note ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoiceNote {
    pub format: VoiceFormat,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// Why a voice note was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VoiceError {
    #[error("the voice note is larger than the limit")]
    TooLarge,
    #[error("the file is not audio in a known format")]
    NotAudio,
}

impl VoiceError {
    pub fn message(self) -> Text {
        match self {
            Self::TooLarge => Text::new(
                format!(
                    "Tin nhắn thoại quá lớn (tối đa {} MB).",
                    MAX_VOICE_BYTES / (1024 * 1024)
                ),
                format!(
                    "The voice note is too large (at most {} MB).",
                    MAX_VOICE_BYTES / (1024 * 1024)
                ),
            ),
            Self::NotAudio => Text::new(
                "Tệp này không phải tin nhắn thoại mà hệ thống đọc được.",
                "This file is not a voice note the system can read.",
            ),
        }
    }
}

/// Checks a voice note by its content and size.
pub fn check(bytes: &[u8]) -> Result<VoiceNote, VoiceError> {
    if bytes.len() > MAX_VOICE_BYTES {
        return Err(VoiceError::TooLarge);
    }
    let format = VoiceFormat::of(bytes).ok_or(VoiceError::NotAudio)?;
    Ok(VoiceNote {
        format,
        sha256: Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect(),
        bytes: bytes.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voice_notes_are_known_by_their_first_bytes() {
        assert_eq!(VoiceFormat::of(b"OggS\0\x02rest"), Some(VoiceFormat::Ogg));
        assert_eq!(VoiceFormat::of(b"ID3\x04rest"), Some(VoiceFormat::Mpeg));
        assert_eq!(VoiceFormat::of(&[0xFF, 0xFB, 0x90, 0x00]), Some(VoiceFormat::Mpeg));
        assert_eq!(VoiceFormat::of(&[0xFF, 0xF1, 0x50, 0x80]), Some(VoiceFormat::Aac));
        assert_eq!(VoiceFormat::of(b"\0\0\0\x20ftypM4A "), Some(VoiceFormat::Mp4));
        assert_eq!(VoiceFormat::of(b"RIFF\x24\0\0\0WAVEfmt "), Some(VoiceFormat::Wav));
        assert_eq!(VoiceFormat::of(b"#!AMR\n"), Some(VoiceFormat::Amr));
        assert_eq!(VoiceFormat::of(b"\xFF\xD8\xFF\xE0 a JPEG"), None);
        assert_eq!(VoiceFormat::of(b"%PDF-1.4"), None);
        assert_eq!(VoiceFormat::of(b""), None);
        for format in [VoiceFormat::Ogg, VoiceFormat::Aac, VoiceFormat::Amr] {
            assert!(VoiceFormat::MIME_TYPES.contains(&format.mime()));
        }
    }

    #[test]
    fn a_voice_note_over_the_limit_or_not_audio_is_refused() {
        assert_eq!(check(b"%PDF-1.4").unwrap_err(), VoiceError::NotAudio);
        let mut big = b"OggS".to_vec();
        big.resize(MAX_VOICE_BYTES + 1, 0);
        assert_eq!(check(&big).unwrap_err(), VoiceError::TooLarge);
        let ok = check(b"OggS\0\x02voice").unwrap();
        assert_eq!(ok.format.mime(), "audio/ogg");
        assert_eq!(ok.sha256.len(), 64);
    }
}
