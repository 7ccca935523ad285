//! A simulated citizen answering the survey in a chat, whatever carries the turns (a platform's webhook or the
//! dialogue called in-process): `/start commune_<code>`, "answer the survey" in the menu, then every question —
//! a random answer button (or, on Zalo when there are more than five, the number of a random answer typed), the
//! smallest number where a number is asked, a short text where a text is asked — until the thanks. Then the next
//! citizen (a new chat id) starts in the same task.

use std::time::Instant;

/// The bot's complete answer to one update, as the citizen sees it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    /// The payloads of its buttons, in order, without any platform prefix.
    pub payloads: Vec<String>,
    /// On Zalo, when the choices came as a numbered list: how many of them are answers (1..=numbered).
    pub numbered: usize,
    /// How many messages the bot sent for it.
    pub messages: usize,
    /// When it reached the fake platform (or, in-process, when the dialogue returned it).
    pub at: Instant,
}

/// What the citizen does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `/start commune_<code>` (Telegram: a bot command; Zalo: typed text).
    Start(String),
    /// A button press with this payload.
    Press(String),
    /// Typed text.
    Say(String),
}

/// Why the citizen acts: to count the survey answers among all updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Start,
    OpenSurvey,
    Answer,
}

pub enum Next {
    Act(Action, Purpose),
    /// The survey is complete (or was already answered): the next citizen takes over.
    Finished,
    /// Something the walk does not expect; the citizen gives up and the next one starts.
    Lost(String),
}

/// The text typed where a text answer is asked.
pub const TYPED_TEXT: &str = "Đèn đường ở đầu ngõ bị hỏng";

/// A small deterministic generator (splitmix64), one per citizen task.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The smallest number a "Gõ một số từ N đến M" question accepts.
fn number_asked(text: &str) -> Option<i64> {
    let (_, rest) = text.split_once("Gõ một số từ ")?;
    let digits: String = rest
        .chars()
        .enumerate()
        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-'))
        .map(|(_, c)| c)
        .collect();
    digits.parse().ok()
}

/// The next step after `reply`.
pub fn decide(reply: &Reply, rng: &mut Rng) -> Next {
    let text = &reply.text;
    if text.contains("hoàn thành khảo sát") || text.contains("đã trả lời khảo sát đợt này rồi") {
        return Next::Finished;
    }
    // A question carries its progress, "[12% · page]".
    if !text.contains("% · ") {
        if reply.payloads.iter().any(|p| p == "m:survey") {
            return Next::Act(Action::Press("m:survey".to_owned()), Purpose::OpenSurvey);
        }
        return Next::Lost(format!("not a question nor the menu: {}", first_line(text)));
    }
    let act = |action| Next::Act(action, Purpose::Answer);
    if let Some(min) = number_asked(text) {
        return act(Action::Say(min.to_string()));
    }
    if text.contains("Gõ câu trả lời") {
        return act(Action::Say(TYPED_TEXT.to_owned()));
    }
    let answers: Vec<&String> = reply
        .payloads
        .iter()
        .filter(|p| p.starts_with("s:") && *p != "s:back" && *p != "s:pause")
        .collect();
    if !answers.is_empty() {
        return act(Action::Press(answers[rng.below(answers.len())].clone()));
    }
    if reply.numbered > 0 {
        return act(Action::Say((rng.below(reply.numbered) + 1).to_string()));
    }
    Next::Lost(format!("a question without answers: {}", first_line(text)))
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| l.contains("% · ") || !l.trim().is_empty())
        .unwrap_or_default()
        .chars()
        .take(120)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str, payloads: &[&str], numbered: usize) -> Reply {
        Reply {
            text: text.to_owned(),
            payloads: payloads.iter().map(|p| p.to_string()).collect(),
            numbered,
            messages: 1,
            at: Instant::now(),
        }
    }

    #[test]
    fn walks_menu_questions_and_the_end() {
        let mut rng = Rng::new(1);
        let menu = reply("Xin chào!\n\nAnh/chị muốn làm gì?", &["m:survey", "m:feedback"], 0);
        assert!(matches!(decide(&menu, &mut rng), Next::Act(Action::Press(p), Purpose::OpenSurvey) if p == "m:survey"));
        let number = reply(
            "[5% · A]\nNăm sinh?\n\nGõ một số từ 1920 đến 2010.",
            &["s:back", "m:home"],
            0,
        );
        assert!(matches!(decide(&number, &mut rng), Next::Act(Action::Say(n), Purpose::Answer) if n == "1920"));
        let choice = reply("[9% · A]\nCó không?", &["s:3:1", "s:3:2", "s:back", "s:pause"], 0);
        assert!(
            matches!(decide(&choice, &mut rng), Next::Act(Action::Press(p), Purpose::Answer) if p == "s:3:1" || p == "s:3:2")
        );
        let listed = reply("[9% · A]\nCó không?\n\n1. Có\n2. Không\nGõ số để chọn.", &[], 2);
        assert!(
            matches!(decide(&listed, &mut rng), Next::Act(Action::Say(n), Purpose::Answer) if n == "1" || n == "2")
        );
        let done = reply("✅ Cảm ơn anh/chị đã hoàn thành khảo sát!", &["m:survey"], 0);
        assert!(matches!(decide(&done, &mut rng), Next::Finished));
    }
}
