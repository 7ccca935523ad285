//! The PAPI quiz in a chat, one question per message: the menu offers the round open for the person's commune;
//! each answer (a button, or typed as the survey takes them: its number, its letter, its text with or without
//! diacritics) gets the verdict, the explanation and its source at once, then the next question; the last gives the
//! score. The round's rules — one entry per person under the keyed hash of their chat identity, open times, the
//! communes it is for — are `reach::quiz`'s, the same the web page uses. The chat's state only says which round it
//! is in; where in it the person is, is their entry's.

use uuid::Uuid;
use ykien_bots::message::{Channel, Outbound};

use super::payloads::{MenuItem, Payload, button};
use super::typed::Word;
use super::{Chats, Conversation, Dialog, Goal};
use crate::domain::Lang;
use crate::domain::folding::fold;
use crate::services::Error;
use crate::services::reach::campaigns::vn_time;
use crate::services::reach::quiz::{self, Question, QuizStep, Verdict};
use crate::storage::QuizRoundRow;

/// The longest answer button label, in characters: the full choices are in the text; Telegram cuts long labels.
const LABEL_CHARS: usize = 40;

/// The letter of the n-th choice (1-based): A, B, C…
fn letter(n: usize) -> char {
    char::from(b'A' + u8::try_from(n.saturating_sub(1) % 26).unwrap_or(0))
}

/// The choice (1-based) a typed answer names: the choice's text (with or without diacritics, with or without its
/// letter in front), its letter, or its number. The text is tried first, so that a choice that is a number ("8")
/// is taken as typed.
pub(super) fn typed_choice(text: &str, choices: &[String]) -> Option<usize> {
    let folded = fold(text);
    if folded.is_empty() {
        return None;
    }
    let by_text = |wanted: &str| choices.iter().position(|c| fold(c) == wanted).map(|i| i + 1);
    if let Some(n) = by_text(&folded) {
        return Some(n);
    }
    if let Ok(n) = folded.parse::<usize>() {
        return (1..=choices.len()).contains(&n).then_some(n);
    }
    let mut words = folded.splitn(2, ' ');
    let first = words.next().unwrap_or_default();
    let named = match first.as_bytes() {
        [b] if b.is_ascii_lowercase() => Some(usize::from(b - b'a') + 1),
        _ => None,
    }
    .filter(|n| (1..=choices.len()).contains(n))?;
    // "b" alone, or "b" followed by that choice's text (as its button reads).
    match words.next() {
        None => Some(named),
        Some(rest) => (by_text(rest) == Some(named)).then_some(named),
    }
}

/// How far an entry is: the answers given so far.
fn answered(answers: &str) -> usize {
    answers.split(',').filter(|a| !a.is_empty()).count()
}

impl Chats {
    fn quiz_identity(&self, c: &Conversation<'_>) -> String {
        quiz::identity_hash(&self.surveys, c.channel.as_str(), &c.row.user_id)
    }

    /// The open round of the person's commune under the menu: a button, or on Zalo when the menu has its five,
    /// the word to type. Not offered once they finished it.
    pub(super) async fn quiz_choice(&self, c: &mut Conversation<'_>, menu: &mut [Outbound]) -> Result<(), Error> {
        let Some(commune) = c.row.commune_code.clone() else {
            return Ok(());
        };
        let Some(message) = menu.first_mut() else {
            return Ok(());
        };
        let Some(round) = quiz::open_round_for(&self.store, &commune, c.now).await? else {
            return Ok(());
        };
        let entry = self.store.quiz_entry(round.id, &self.quiz_identity(c)).await?;
        let label = match &entry {
            Some(e) if e.finished_at.is_some() => return Ok(()),
            Some(e) => {
                let (at, of) = (answered(&e.answers) + 1, quiz::round_questions(&round).len());
                c.t(
                    &format!("🏆 Tiếp tục dự thi (câu {at}/{of})"),
                    &format!("🏆 Continue the quiz (question {at}/{of})"),
                )
            }
            None => c.t("🏆 Dự thi tìm hiểu PAPI", "🏆 PAPI quiz"),
        };
        if c.channel == Channel::Zalo && message.buttons.len() >= ykien_bots::zalo_api::MAX_BUTTONS {
            message.text.push_str(&format!(
                "\n\n{}",
                c.t(
                    &format!("🏆 Cuộc thi «{}» đang mở: gõ «dự thi» để tham gia.", round.title),
                    &format!("🏆 The quiz “{}” is open: type «quiz» to take part.", round.title),
                )
            ));
        } else {
            message.buttons.push(button(label, Payload::QuizStart(round.id)));
        }
        Ok(())
    }

    /// The menu with a note above it.
    async fn menu_saying(&self, c: &mut Conversation<'_>, note: &str) -> Result<Vec<Outbound>, Error> {
        let mut replies = self.menu(c, false).await?;
        if let Some(first) = replies.first_mut() {
            first.text = format!("{note}\n\n{}", first.text);
        }
        Ok(replies)
    }

    /// "Dự thi": the round named by the button, or the one open for their commune.
    pub(super) async fn start_quiz(
        &self,
        c: &mut Conversation<'_>,
        round: Option<Uuid>,
    ) -> Result<Vec<Outbound>, Error> {
        let Some(commune) = c.row.commune_code.clone() else {
            return Ok(vec![self.ask_commune(c, Some(Goal::Quiz), None)]);
        };
        let round = match round {
            Some(id) => self.store.quiz_round(id).await?,
            None => quiz::open_round_for(&self.store, &commune, c.now).await?,
        };
        match round {
            Some(round) => self.quiz_step(c, &round, None).await,
            None => {
                let note = c.t(
                    "Hiện không có cuộc thi nào đang mở cho xã, phường của anh/chị. Cảm ơn anh/chị đã quan tâm!",
                    "No quiz is open for your commune now. Thank you for your interest!",
                );
                self.menu_saying(c, &note).await
            }
        }
    }

    /// An answer button: question `index` of `round`, choice `choice`.
    pub(super) async fn quiz_answer(
        &self,
        c: &mut Conversation<'_>,
        round: Uuid,
        index: usize,
        choice: usize,
    ) -> Result<Vec<Outbound>, Error> {
        if c.row.commune_code.is_none() {
            return Ok(vec![self.ask_commune(c, Some(Goal::Quiz), None)]);
        }
        match self.store.quiz_round(round).await? {
            Some(round) => self.quiz_step(c, &round, Some((index, choice))).await,
            None => self.menu(c, false).await,
        }
    }

    /// Text typed during the quiz: "hủy" or "quay lại" leave it for the menu (the entry waits), an answer is taken
    /// as [`typed_choice`] reads it, anything else is refused with the question asked again.
    pub(super) async fn typed_in_quiz(
        &self,
        c: &mut Conversation<'_>,
        round: Uuid,
        text: &str,
        word: Option<Word>,
    ) -> Result<Vec<Outbound>, Error> {
        let Some(round) = self.store.quiz_round(round).await? else {
            return self.menu(c, false).await;
        };
        if matches!(word, Some(Word::Cancel | Word::Back)) {
            let note = c.t(
                "⏸ Đã tạm dừng cuộc thi. Các câu đã trả lời được giữ lại; bấm «Tiếp tục dự thi» để làm tiếp.",
                "⏸ The quiz is paused. Your answers so far are kept; press “Continue the quiz” to go on.",
            );
            return self.menu_saying(c, &note).await;
        }
        let questions = quiz::round_questions(&round);
        let index = match self.store.quiz_entry(round.id, &self.quiz_identity(c)).await? {
            Some(e) => answered(&e.answers),
            None => 0,
        };
        let Some(question) = questions.get(index) else {
            return self.quiz_step(c, &round, None).await;
        };
        if let Some(choice) = typed_choice(text, &question.choices) {
            return self.quiz_step(c, &round, Some((index, choice))).await;
        }
        // A number past the choices picks the button it stands for in Zalo's numbered list (the way to the menu).
        if let Ok(n) = text.trim().trim_end_matches('.').parse::<usize>()
            && let Some(Payload::Menu(item)) = n
                .checked_sub(1)
                .and_then(|i| c.state.choices.get(i))
                .and_then(|p| Payload::parse(p))
        {
            return self.pressed(c, Payload::Menu(item)).await;
        }
        let letters: Vec<String> = (1..=question.choices.len()).map(|n| letter(n).to_string()).collect();
        let note = c.t(
            &format!(
                "⚠️ «{text}» không phải là một lựa chọn của câu này. Xin bấm một nút, hoặc gõ chữ cái ({}), số thứ tự \
                 hay nội dung của lựa chọn.",
                letters.join(", ")
            ),
            &format!(
                "⚠️ “{text}” is not one of this question's choices. Please press a button, or type the letter ({}), \
                 the number or the text of a choice.",
                letters.join(", ")
            ),
        );
        Ok(vec![self.quiz_question(c, &round, &questions, index, &note)])
    }

    /// Takes a step of the round for this person (answering, if `answer`) and says what follows.
    async fn quiz_step(
        &self,
        c: &mut Conversation<'_>,
        round: &QuizRoundRow,
        answer: Option<(usize, usize)>,
    ) -> Result<Vec<Outbound>, Error> {
        let Some(commune) = c.row.commune_code.clone() else {
            return Ok(vec![self.ask_commune(c, Some(Goal::Quiz), None)]);
        };
        let identity = self.quiz_identity(c);
        let step = quiz::step(
            &self.store,
            round,
            &identity,
            c.channel.as_str(),
            &commune,
            answer,
            c.now,
        )
        .await?;
        let questions = quiz::round_questions(round);
        let lang = c.lang;
        let answered_question = answer.and_then(|(i, _)| questions.get(i));
        let verdict = |last: &Option<Verdict>| match (last, answered_question) {
            (Some(v), Some(q)) => verdict_text(lang, v, q),
            _ => String::new(),
        };
        match step {
            QuizStep::Ask { index, last } => {
                let mut note = verdict(&last);
                if answer.is_some() && last.is_none() {
                    // A button of a question already answered: nothing changes.
                    note = c.t(
                        "Câu đó đã trả lời. Xin trả lời câu dưới đây.",
                        "That question was already answered. Please answer the one below.",
                    );
                }
                Ok(vec![self.quiz_question(c, round, &questions, index, &note)])
            }
            QuizStep::Done { score, of, last } => {
                let mut note = verdict(&last);
                if !note.is_empty() {
                    note.push_str("\n\n");
                }
                note.push_str(&c.t(
                    &format!(
                        "🏁 Hoàn thành cuộc thi «{}»! Điểm của anh/chị: {score}/{of}.",
                        round.title
                    ),
                    &format!("🏁 You finished the quiz “{}”! Your score: {score}/{of}.", round.title),
                ));
                note.push_str(&self.results_line(c, round));
                self.menu_saying(c, &note).await
            }
            QuizStep::AlreadyEntered { score, of } => {
                let mut note = c.t(
                    &format!(
                        "Anh/chị đã tham gia cuộc thi «{}» rồi; mỗi người chỉ dự thi một lần. Điểm của anh/chị: \
                         {score}/{of}.",
                        round.title
                    ),
                    &format!(
                        "You already took part in the quiz “{}”; one entry per person. Your score: {score}/{of}.",
                        round.title
                    ),
                );
                note.push_str(&self.results_line(c, round));
                self.menu_saying(c, &note).await
            }
            QuizStep::Closed => {
                let note = c.t(
                    &format!(
                        "Cuộc thi «{}» không mở vào lúc này (mở từ {} đến {}, giờ Việt Nam).",
                        round.title,
                        vn_time(round.opens_at),
                        vn_time(round.closes_at)
                    ),
                    &format!(
                        "The quiz “{}” is not open now (it runs from {} to {}, Vietnam time).",
                        round.title,
                        vn_time(round.opens_at),
                        vn_time(round.closes_at)
                    ),
                );
                self.menu_saying(c, &note).await
            }
            QuizStep::NotHere => {
                let note = c.t(
                    &format!("Cuộc thi «{}» không dành cho xã, phường của anh/chị.", round.title),
                    &format!("The quiz “{}” is not for your commune.", round.title),
                );
                self.menu_saying(c, &note).await
            }
        }
    }

    /// Where the round's results and draw are published, when the service knows its address.
    fn results_line(&self, c: &Conversation<'_>, round: &QuizRoundRow) -> String {
        match &self.public_url {
            Some(url) => format!(
                "\n{} {}/quiz/{}/results",
                c.t("Kết quả và bốc thăm:", "Results and draw:"),
                url.trim_end_matches('/'),
                round.id
            ),
            None => String::new(),
        }
    }

    /// Question `index` of a round as a message: the note above (a verdict, a problem), the question, its choices
    /// lettered in full, and a button per choice.
    fn quiz_question(
        &self,
        c: &mut Conversation<'_>,
        round: &QuizRoundRow,
        questions: &[Question],
        index: usize,
        note: &str,
    ) -> Outbound {
        c.state.dialog = Dialog::Quiz { round: round.id };
        let Some(q) = questions.get(index) else {
            return Outbound::text(note.to_owned());
        };
        let mut text = String::new();
        if !note.is_empty() {
            text.push_str(note);
            text.push_str("\n\n");
        }
        let asked = match (c.lang, &q.text_en) {
            (Lang::En, Some(en)) => en.as_str(),
            _ => q.text.as_str(),
        };
        text.push_str(&format!(
            "🏆 {} — {} {}/{}\n{asked}\n",
            round.title,
            c.t("câu", "question"),
            index + 1,
            questions.len()
        ));
        for (i, choice) in q.choices.iter().enumerate() {
            text.push_str(&format!("\n{}. {choice}", letter(i + 1)));
        }
        let mut buttons: Vec<_> = q
            .choices
            .iter()
            .enumerate()
            .map(|(i, choice)| {
                let mut label = format!("{}. {choice}", letter(i + 1));
                if label.chars().count() > LABEL_CHARS {
                    label = label.chars().take(LABEL_CHARS - 1).collect::<String>() + "…";
                }
                button(
                    label,
                    Payload::QuizAnswer {
                        round: round.id,
                        index,
                        choice: i + 1,
                    },
                )
            })
            .collect();
        buttons.push(button(c.t("↩ Về menu", "↩ Menu"), Payload::Menu(MenuItem::Home)));
        Outbound {
            text,
            buttons,
            remove_keyboard: true,
            ..Outbound::default()
        }
    }
}

/// Right or not, the right answer when not, the explanation and its source.
fn verdict_text(lang: Lang, v: &Verdict, q: &Question) -> String {
    let mut text = if v.right {
        lang.t("✅ Đúng!", "✅ Right!").to_owned()
    } else {
        format!(
            "{} {}. {}",
            lang.t("❌ Chưa đúng. Đáp án đúng:", "❌ Not quite. The right answer:"),
            letter(v.correct),
            q.choices.get(v.correct - 1).cloned().unwrap_or_default()
        )
    };
    text.push_str(&format!(
        "\n{}\n({} {})",
        v.explanation,
        lang.t("Nguồn:", "Source:"),
        v.source
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_answer_is_read_by_its_text_letter_or_number_with_or_without_diacritics() {
        let choices: Vec<String> = [
            "Hiệu quả quản trị và hành chính công cấp tỉnh",
            "Năng lực cạnh tranh",
            "Chỉ số giá tiêu dùng",
        ]
        .map(String::from)
        .to_vec();
        for (typed, choice) in [
            ("1", 1),
            ("2.", 2),
            ("a", 1),
            ("B", 2),
            ("c)", 3),
            ("Năng lực cạnh tranh", 2),
            ("nang luc canh tranh", 2),
            ("CHỈ SỐ GIÁ TIÊU DÙNG", 3),
            ("B. Năng lực cạnh tranh", 2),
        ] {
            assert_eq!(typed_choice(typed, &choices), Some(choice), "{typed}");
        }
        for typed in [
            "4",
            "0",
            "d",
            "x",
            "năng lực",
            "B. Chỉ số giá tiêu dùng",
            "",
            "không biết",
        ] {
            assert_eq!(typed_choice(typed, &choices), None, "{typed}");
        }
    }

    #[test]
    fn a_choice_that_is_a_number_is_taken_as_typed() {
        let choices: Vec<String> = ["6", "8", "10", "12"].map(String::from).to_vec();
        assert_eq!(typed_choice("8", &choices), Some(2));
        assert_eq!(typed_choice("3", &choices), Some(3));
        assert_eq!(typed_choice("b", &choices), Some(2));
    }
}
