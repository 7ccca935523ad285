//! Vietnamese text folded for comparing what people type with names and keywords: lower case, without diacritics
//! (đ → d), punctuation and emoji as spaces, spaces collapsed. Citizens type with and without diacritics (phones
//! without a Vietnamese keyboard, Telex left off), so "mất nước", "mat nuoc" and "MẤT NƯỚC!" must read the same.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// `text` folded: lower case, no diacritics, only letters and digits separated by single spaces.
pub fn fold(text: &str) -> String {
    let bare: String = text
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect::<String>()
        .to_lowercase();
    bare.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the folded `phrase` occurs in the folded `text` as whole words.
pub fn has_phrase(folded_text: &str, folded_phrase: &str) -> bool {
    !folded_phrase.is_empty() && format!(" {folded_text} ").contains(&format!(" {folded_phrase} "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_diacritics_case_and_punctuation() {
        assert_eq!(fold("  Phố   Hiến "), "pho hien");
        assert_eq!(fold("Đông Hưng"), "dong hung");
        assert_eq!(fold("ĐỨC HỢP"), "duc hop");
        assert_eq!(fold("✖ Hủy!"), "huy");
        assert_eq!(fold("Bỏ qua vị trí…"), "bo qua vi tri");
        assert_eq!(fold("1.500.000 đồng"), "1 500 000 dong");
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let text = fold("Nhà tôi ở tổ 5 bị mất nước 3 ngày nay rồi");
        assert!(has_phrase(&text, "mat nuoc"));
        assert!(has_phrase(&text, &fold("mất nước")));
        assert!(!has_phrase(&text, "nuo"));
        assert!(!has_phrase(&text, ""));
    }
}
