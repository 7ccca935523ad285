//! The domain types of ykien, free of HTTP and database types: parse at the edges into these.

pub mod alerts;
pub mod calendar;
pub mod cases;
pub mod channel;
pub mod documents;
pub mod folding;
pub mod photos;
pub mod quality;
pub mod questionnaire;
pub mod survey;
pub mod text;
pub mod units;
pub mod voice;
pub mod weights;

pub use channel::Channel;

use serde::{Deserialize, Serialize};

/// The language a citizen, official or leader reads ykien in: Vietnamese first, English second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::Vi => "vi",
            Self::En => "en",
        }
    }

    /// Reads `vi` or `en`; anything else is Vietnamese, the default.
    pub fn from_code(code: Option<&str>) -> Self {
        if code.is_some_and(|c| c.eq_ignore_ascii_case("en")) {
            Self::En
        } else {
            Self::Vi
        }
    }

    /// Picks the text of this language.
    pub fn t<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Vi => vi,
            Self::En => en,
        }
    }
}

/// A problem with one field of a request (a question of a response, a field of a form), in both languages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The question code or form field it is about.
    pub field: String,
    /// A stable machine code, e.g. `missing_answer`.
    pub code: &'static str,
    pub message: Text,
}

impl Problem {
    pub fn new(field: impl Into<String>, code: &'static str, message: Text) -> Self {
        Self {
            field: field.into(),
            code,
            message,
        }
    }
}

/// A text users see, in both languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub vi: String,
    pub en: String,
}

impl Text {
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            vi: vi.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        lang.t(&self.vi, &self.en)
    }
}
