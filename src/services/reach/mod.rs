//! Reaching citizens as a group (issue 18): news subscriptions of the chat users of a commune, Zalo's sending
//! rules (`zalo_rules`, used by every Zalo message: case news, campaigns, the dialogue's replies), campaigns
//! (`campaigns`: drafted, approved, queued once per recipient into the outbox, reported), PAPI quizzes (`quiz`:
//! the sourced question bank, rounds, one entry per person, a draw anyone can recompute; `rounds`: rounds made,
//! closed and drawn from the console, announced by a campaign) and "you said, we did" (`you_said`: a draft campaign
//! per commune when a wave's report period ends, made by its ticker).

pub mod campaigns;
pub mod demo;
pub mod quiz;
pub mod rounds;
pub mod you_said;
pub mod zalo_rules;

use chrono::{DateTime, Utc};

use crate::services::Error;
use crate::storage::Store;

/// What a typed word at the menu asks for news: the words that stop everything (`STOP`, `DỪNG`, `HUỶ`/`HỦY`, as
/// issue 18 lists them; `/stop` is the command), checked on the whole message.
pub fn is_stop_word(text: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    // Composed or decomposed as the keyboard sent it; both places of the accent on "huỷ"/"hủy".
    let t: String = text
        .trim()
        .trim_end_matches(['.', '!'])
        .nfc()
        .collect::<String>()
        .to_lowercase();
    matches!(t.as_str(), "stop" | "dừng" | "huỷ" | "hủy" | "dừng lại")
}

/// Whether a chat user takes their commune's news.
pub async fn subscribed(store: &Store, channel: &str, user_id: &str) -> Result<bool, Error> {
    Ok(store.news_subscribed(channel, user_id).await?)
}

/// Records a chat user's choice about news.
pub async fn set_subscribed(
    store: &Store,
    channel: &str,
    user_id: &str,
    subscribed: bool,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    Ok(store.set_news_subscription(channel, user_id, subscribed, at).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_words_are_read_with_their_accents_and_any_case() {
        for word in ["STOP", "stop", "DỪNG", "Dừng", "HUỶ", "HỦY", "hủy", "huỷ."] {
            assert!(is_stop_word(word), "{word}");
        }
        for word in ["dung", "huy", "stop the noise", "đúng"] {
            assert!(!is_stop_word(word), "{word}");
        }
    }
}
