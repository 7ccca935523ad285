//! Text typed by citizens (reports, contact fields, replies, free-text answers), made safe to store and show
//! before anything keeps it.
//!
//! - Control characters go: NUL (which PostgreSQL refuses in `TEXT` and which cuts strings short in C tools),
//!   the other C0 and C1 controls except tab and line feed, and carriage returns (a line break is stored as
//!   `\n` alone).
//! - Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) go: they reorder what an
//!   official reads ("Trojan source" text: a U+202E makes `gpj.exe` look like `exe.jpg`). Vietnamese never needs
//!   them; the implicit marks U+200E/U+200F, which cannot reorder text, stay.
//! - Everything is stored in Unicode normalisation form C: phones and keyboards (Telex on some systems,
//!   copy-paste from PDFs) send decomposed Vietnamese — `e` + U+0302 + U+0301 for `ế` —, which looks the same
//!   but compares, searches and counts differently.
//!
//! `unicode-normalization` (already in the tree) does the normalising; the character classes are the standard's.

use unicode_normalization::UnicodeNormalization;

/// Whether `c` is a bidirectional embedding, override or isolate.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` is removed from citizen text: controls other than tab and line feed, and bidi controls.
fn is_removed(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// `text` without control and bidi-control characters, in NFC.
pub fn clean(text: &str) -> String {
    // Removed first, so that a mark a control character separated from its letter still composes with it.
    text.chars().filter(|c| !is_removed(*c)).nfc().collect()
}

/// [`clean`], trimmed; `None` when nothing is left.
pub fn clean_optional(text: Option<&str>) -> Option<String> {
    text.map(clean).map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_other_controls_and_bidi_overrides_are_removed() {
        assert_eq!(clean("Rác\u{0}\u{0} ở ngõ 5"), "Rác ở ngõ 5");
        assert_eq!(clean("ảnh\u{202E}gpj.exe\u{202C}"), "ảnhgpj.exe");
        assert_eq!(clean("a\u{2066}b\u{2069}c\u{7}d\u{9B}e"), "abcde");
        assert_eq!(clean("dòng 1\r\ndòng 2\tcột"), "dòng 1\ndòng 2\tcột");
        assert_eq!(clean("ltr\u{200E}mark"), "ltr\u{200E}mark", "implicit marks stay");
    }

    #[test]
    fn decomposed_vietnamese_is_stored_composed() {
        let decomposed = "Nguye\u{0302}\u{0303}n Va\u{0306}n Tie\u{0302}\u{0301}n";
        let cleaned = clean(decomposed);
        assert_eq!(cleaned, "Nguyễn Văn Tiến");
        assert_eq!(cleaned.chars().count(), 15);
        assert_eq!(clean_optional(Some("  \u{0}  ")), None);
    }
}
