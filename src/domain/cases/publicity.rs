//! What of a case may be shown to everyone: only an answered case whose reporter chose "cho phép công khai", its
//! text as an official cleared it (or as written) with phone numbers, identity numbers and e-mail addresses masked
//! in any case, its place no finer than about a kilometre, and its photos only when the reporter agreed to that too.
//! Never a name, a phone, an e-mail or an exact position.

use super::{Case, CaseState};

/// The reporter's choice and an official's redaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Publicity {
    /// The reporter allowed the answered case to be shown publicly.
    pub consent: bool,
    /// The reporter allowed its photos to be shown too (only with `consent`).
    pub photos: bool,
    /// The report's text as an official cleared it for publication, when they edited it.
    pub cleared_text: Option<String>,
}

impl Publicity {
    /// The reporter's choice as filed: photos only go with the case itself.
    pub fn chosen(consent: bool, photos: bool) -> Self {
        Self {
            consent,
            photos: consent && photos,
            cleared_text: None,
        }
    }
}

/// What replaces a contact or identity number in public text.
pub const MASK: &str = "[đã ẩn]";

/// Decimal places kept of a public position: 0.01° is about 1.1 km, a village rather than a house.
const PUBLIC_POSITION_DECIMALS: i32 = 2;

impl Case {
    /// Whether everyone may see this case now: the reporter agreed and it has its official answer.
    pub fn is_public(&self) -> bool {
        self.publicity.consent && matches!(self.state, CaseState::Answered | CaseState::Closed)
    }

    /// The text shown publicly: the official's cleared version when there is one, contacts masked either way.
    pub fn public_text(&self) -> String {
        mask_contacts(self.publicity.cleared_text.as_deref().unwrap_or(&self.text))
    }

    /// The position shown publicly, rounded to about a kilometre.
    pub fn public_position(&self) -> Option<(f64, f64)> {
        let round = |v: f64| {
            let scale = 10_f64.powi(PUBLIC_POSITION_DECIMALS);
            (v * scale).round() / scale
        };
        Some((round(self.lat?), round(self.lon?)))
    }

    /// Whether its photos may be shown publicly.
    pub fn photos_public(&self) -> bool {
        self.is_public() && self.publicity.photos
    }
}

/// `text` with e-mail addresses and phone or identity numbers replaced by [`MASK`].
///
/// A number is masked when its digits (spaces, dots, dashes and brackets between them ignored) begin with 0 and
/// are at least 9 long (mobile and landline numbers, the 12-digit citizen identity number), or begin with 84 and are
/// at least 11 long (+84…). Sums of money ("1.500.000 đồng") and dates do not look like that. Written by hand: a
/// regex crate would be a new dependency for two patterns.
pub fn mask_contacts(text: &str) -> String {
    let words: Vec<String> = text
        .split_inclusive(char::is_whitespace)
        .map(|w| {
            let bare = w.trim_end();
            let core = bare.trim_matches(|c: char| "()[]<>,;:\"'".contains(c));
            if is_email(core) {
                format!("{}{}", bare.replacen(core, MASK, 1), &w[bare.len()..])
            } else {
                w.to_owned()
            }
        })
        .collect();
    mask_numbers(&words.concat())
}

fn is_email(word: &str) -> bool {
    match word.split_once('@') {
        Some((user, domain)) => !user.is_empty() && domain.contains('.') && !domain.starts_with('.'),
        None => false,
    }
}

fn mask_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts =
            chars[i].is_ascii_digit() || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        if !starts {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The longest run of digits and separators from here, ending on a digit.
        let mut end = i + 1;
        let mut last_digit = i;
        while end < chars.len() && (chars[end].is_ascii_digit() || " .-()".contains(chars[end])) {
            if chars[end].is_ascii_digit() {
                last_digit = end;
            }
            end += 1;
        }
        let run = &chars[i..=last_digit];
        let digits: String = run.iter().filter(|c| c.is_ascii_digit()).collect();
        let personal =
            (digits.starts_with('0') && digits.len() >= 9) || (digits.starts_with("84") && digits.len() >= 11);
        if personal {
            out.push_str(MASK);
        } else {
            out.extend(run);
        }
        i = last_digit + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_identity_numbers_and_emails_are_masked_but_money_and_dates_are_not() {
        let cases = [
            ("Gọi tôi 0912 345 678 nhé", "Gọi tôi [đã ẩn] nhé"),
            ("SĐT: 0912.345.678.", "SĐT: [đã ẩn]."),
            ("(+84) 912-345-678", "([đã ẩn]"),
            ("+84 912 345 678 gọi", "[đã ẩn] gọi"),
            ("CCCD 001203012345 của tôi", "CCCD [đã ẩn] của tôi"),
            ("máy bàn 0221 3862 555", "máy bàn [đã ẩn]"),
            ("thư: an.nguyen@example.vn, cảm ơn", "thư: [đã ẩn], cảm ơn"),
            ("<an@x.vn>", "<[đã ẩn]>"),
            ("Phí 1.500.000 đồng từ 12/03/2026", "Phí 1.500.000 đồng từ 12/03/2026"),
            ("tổ 5, số nhà 12, 3 ngày", "tổ 5, số nhà 12, 3 ngày"),
            ("không có @ ở đây", "không có @ ở đây"),
        ];
        for (text, masked) in cases {
            assert_eq!(mask_contacts(text), masked, "{text}");
        }
    }

    #[test]
    fn photos_go_public_only_with_the_case() {
        assert_eq!(Publicity::chosen(false, true), Publicity::default());
        assert!(Publicity::chosen(true, true).photos);
    }
}
