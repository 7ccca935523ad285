//! What typed words mean in a chat, whatever the step: greetings, the words for skip, no, cancel, back and yes (with
//! or without diacritics), and numbers written with their unit ("30 phút", "2 lần", "1.500.000 đồng").

use std::sync::LazyLock;

use regex::Regex;

use crate::domain::folding::fold;

/// A word that means an action wherever that action exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Word {
    Skip,
    No,
    Cancel,
    Back,
    Yes,
}

impl Word {
    /// The action a short typed message means, if it is one of the words for it.
    pub(super) fn read(text: &str) -> Option<Self> {
        Some(match fold(text).as_str() {
            "bo qua" | "bo qua vi tri" | "bo qua buoc nay" | "qua" | "skip" | "skip location" => Self::Skip,
            "khong" | "ko" | "k" | "kg" | "khg" | "khong co" | "khong co anh" | "khong can" | "no" => Self::No,
            "huy" | "huy bo" | "huy phan anh" | "thoi" | "dung lai" | "cancel" => Self::Cancel,
            "quay lai" | "tro lai" | "lui lai" | "quay ve" | "cau truoc" | "back" | "previous" => Self::Back,
            "co" | "dong y" | "vang" | "u" | "uh" | "ok" | "oke" | "okay" | "yes" | "gui" | "gui di" => Self::Yes,
            _ => return None,
        })
    }
}

/// Whether a message is only a greeting (or thanks), which the menu answers.
pub(super) fn is_greeting(text: &str) -> bool {
    const OPENINGS: [&str; 12] = [
        "xin chao",
        "chao",
        "alo",
        "a lo",
        "hello",
        "hi",
        "hey",
        "cam on",
        "thanks",
        "thank you",
        "good morning",
        "start",
    ];
    let folded = fold(text);
    let words = folded.split(' ').count();
    !folded.is_empty()
        && words <= 5
        && OPENINGS
            .iter()
            .any(|o| folded == *o || folded.starts_with(&format!("{o} ")))
}

/// The number in a typed answer like "30 phút", "2 lần", "khoảng 5", "1.500.000 đồng" or "2,5 triệu": digits with
/// Vietnamese thousands dots (or spaces) and a decimal comma, words around them ignored; "triệu" and "nghìn"/"ngàn"
/// multiply. `None` when there is no number or more than one.
pub(super) fn number_in(text: &str) -> Option<String> {
    // A number with thousands grouped by dots or spaces (and a decimal comma), or a plain one.
    static NUMBER: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"-?\d{1,3}(?:[. ]\d{3})+(?:,\d+)?|-?\d+(?:[.,]\d+)?").ok());
    static GROUPED: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^-?\d{1,3}(?:[. ]\d{3})+(?:,\d+)?$").ok());
    let mut found = NUMBER.as_ref()?.find_iter(text);
    let number = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let digits = number.as_str();
    let plain = if GROUPED.as_ref()?.is_match(digits) {
        digits.replace(['.', ' '], "").replace(',', ".")
    } else {
        digits.replace(',', ".")
    };
    let rest = fold(&text[number.end()..]);
    let factor = match rest.split(' ').next().unwrap_or_default() {
        "trieu" => 1_000_000.0,
        "nghin" | "ngan" | "k" => 1_000.0,
        _ => 1.0,
    };
    let value: f64 = plain.parse().ok()?;
    let value = value * factor;
    Some(if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_words_are_read_with_or_without_diacritics() {
        for (typed, word) in [
            ("bỏ qua", Word::Skip),
            ("Bo qua", Word::Skip),
            ("Bỏ qua vị trí", Word::Skip),
            ("không", Word::No),
            ("khong", Word::No),
            ("Không có ảnh", Word::No),
            ("hủy", Word::Cancel),
            ("HUY", Word::Cancel),
            ("✖ Hủy", Word::Cancel),
            ("quay lại", Word::Back),
            ("quay lai", Word::Back),
            ("có", Word::Yes),
            ("co", Word::Yes),
            ("Đồng ý", Word::Yes),
        ] {
            assert_eq!(Word::read(typed), Some(word), "{typed}");
        }
        assert_eq!(Word::read("Tổ 5, đường Nguyễn Văn Linh"), None);
        assert_eq!(Word::read("không có nước"), None);
    }

    #[test]
    fn greetings_are_short_and_start_with_a_greeting() {
        for greeting in ["Xin chào", "xin chao", "Chào bạn!", "alo", "Hello", "Cảm ơn nhiều"] {
            assert!(is_greeting(greeting), "{greeting}");
        }
        for not in [
            "Nhà tôi ở tổ 5 bị mất nước 3 ngày nay rồi",
            "chào anh, nhà tôi ở tổ 5 bị mất nước 3 ngày nay rồi",
            "chaos",
            "",
        ] {
            assert!(!is_greeting(not), "{not}");
        }
    }

    #[test]
    fn numbers_are_read_with_their_units() {
        assert_eq!(number_in("30 phút").as_deref(), Some("30"));
        assert_eq!(number_in("2 lần").as_deref(), Some("2"));
        assert_eq!(number_in("khoảng 5").as_deref(), Some("5"));
        assert_eq!(number_in("1.500.000 đồng").as_deref(), Some("1500000"));
        assert_eq!(number_in("1 500 000đ").as_deref(), Some("1500000"));
        assert_eq!(number_in("2,5 triệu").as_deref(), Some("2500000"));
        assert_eq!(number_in("500 nghìn").as_deref(), Some("500000"));
        assert_eq!(number_in("-3").as_deref(), Some("-3"));
        assert_eq!(number_in("không nhớ"), None);
        assert_eq!(number_in("từ 2 đến 3 lần"), None);
    }
}
