//! Following one's reports in a chat: the list of the cases this person sent through this channel, one case with
//! its state and answer, and rating the answer.

use ykien_bots::message::Outbound;

use super::payloads::{MenuItem, Payload, button, rating_buttons};
use super::{Chats, Conversation, Dialog};
use crate::domain::calendar::{to_vietnam, vn_day};
use crate::domain::cases::CaseState;
use crate::services::Error;

/// How many reports "my reports" lists (the newest first).
const MAX_LISTED: usize = 8;
/// How much of a report's first line, and of an answer, the list shows.
const FIRST_LINE_CHARS: usize = 80;
const ANSWER_CHARS: usize = 160;

/// The first line of a text, cut at `max` characters with "…".
fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    if line.chars().count() <= max && line.len() == text.trim().len() {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(max).collect();
    cut.push('…');
    cut
}

impl Chats {
    pub(super) async fn my_cases(&self, c: &mut Conversation<'_>) -> Result<Vec<Outbound>, Error> {
        c.state.dialog = Dialog::Menu;
        let cases = self.cases.reported_in_chat(c.channel, &c.row.user_id).await?;
        if cases.is_empty() {
            let mut replies = self.menu(c, false).await?;
            if let Some(first) = replies.first_mut() {
                first.text = format!(
                    "{}\n\n{}",
                    c.t(
                        "Anh/chị chưa gửi phản ánh nào qua kênh này.",
                        "You have not sent any report through this channel."
                    ),
                    first.text
                );
            }
            return Ok(replies);
        }
        let mut text = c.t("Phản ánh của anh/chị:", "Your reports:");
        let mut buttons = Vec::new();
        for case in cases.iter().take(MAX_LISTED) {
            let category = self
                .cases
                .category(&case.category)
                .map(|k| k.name().get(c.lang).to_owned())
                .unwrap_or_default();
            text.push_str(&format!(
                "\n\n• {} · {category}\n«{}»\n{}: {} ({})",
                case.code,
                first_line(&case.text, FIRST_LINE_CHARS),
                c.t("Trạng thái", "State"),
                case.state.label().get(c.lang),
                vn_day(case.received_at).format("%d/%m/%Y")
            ));
            if let Some(due) = case.due_now() {
                text.push_str(&format!(
                    " · {} {}",
                    c.t("hạn", "due"),
                    to_vietnam(due).format("%H:%M %d/%m/%Y")
                ));
            }
            if matches!(case.state, CaseState::Answered | CaseState::Closed)
                && let Some(answer) = self.store.case_answers(case.id).await?.pop()
            {
                text.push_str(&format!(
                    "\n{} ({}): {}",
                    c.t("Trả lời", "Answer"),
                    answer.by_unit,
                    first_line(&answer.what_was_done, ANSWER_CHARS)
                ));
            }
            buttons.push(button(case.code.clone(), Payload::Case(case.code.clone())));
        }
        buttons.push(button(c.t("↩ Về menu", "↩ Menu"), Payload::Menu(MenuItem::Home)));
        Ok(vec![Outbound {
            text,
            buttons,
            ..Outbound::default()
        }])
    }

    pub(super) async fn show_case(&self, c: &mut Conversation<'_>, code: &str) -> Result<Vec<Outbound>, Error> {
        let Some(view) = self.cases.view_for_chat(c.channel, &c.row.user_id, code).await? else {
            return self.my_cases(c).await;
        };
        let case = &view.case;
        let mut text = format!(
            "{} {}\n{}: {}",
            c.t("Phản ánh", "Report"),
            case.code,
            c.t("Trạng thái", "State"),
            case.state.label().get(c.lang)
        );
        // The deadline that runs now: acceptance while the case waits to be accepted, then the answer.
        if let Some(due) = case.due_now() {
            text.push_str(&format!(
                "\n{}: {}",
                c.t("Hạn xử lý", "Due"),
                to_vietnam(due).format("%H:%M %d/%m/%Y")
            ));
        }
        if let Some(answer) = view.answers.last() {
            text.push_str(&format!(
                "\n\n{} ({}):\n{}",
                c.t("Trả lời", "Answer"),
                answer.by_unit,
                answer.what_was_done
            ));
        }
        if let Some(url) = &self.public_url {
            text.push_str(&format!("\n\n{} {url}/t/{}", c.t("Chi tiết:", "Details:"), case.code));
        }
        let mut buttons = Vec::new();
        if matches!(case.state, CaseState::Answered | CaseState::Closed) && view.rating.is_none() {
            text.push_str(&format!(
                "\n\n{}",
                c.t("Anh/chị đánh giá câu trả lời thế nào?", "How do you rate the answer?")
            ));
            buttons.extend(rating_buttons(&case.code));
        }
        buttons.push(button(c.t("↩ Về menu", "↩ Menu"), Payload::Menu(MenuItem::Home)));
        Ok(vec![Outbound {
            text,
            buttons,
            ..Outbound::default()
        }])
    }

    pub(super) async fn rate(&self, c: &mut Conversation<'_>, code: &str, stars: i64) -> Result<Vec<Outbound>, Error> {
        // Only the ownership is needed here, not the whole view.
        let Some(case) = self.cases.reported_from(c.channel, &c.row.user_id, code).await? else {
            return self.my_cases(c).await;
        };
        let note = match self.cases.rate(&case, stars, None, c.now).await {
            Ok(()) => c.t(
                &format!("Cảm ơn anh/chị đã đánh giá {stars}/5 cho trả lời phản ánh {code}."),
                &format!("Thank you for rating the answer to {code} {stars}/5."),
            ),
            Err(Error::Conflict(_)) => c.t(
                &format!("Phản ánh {code} chưa có trả lời để đánh giá."),
                &format!("Report {code} has no answer to rate yet."),
            ),
            Err(Error::InvalidCase(problems)) => problems
                .first()
                .map(|p| p.message.get(c.lang).to_owned())
                .unwrap_or_default(),
            Err(e) => return Err(e),
        };
        let mut replies = self.menu(c, false).await?;
        if let Some(first) = replies.first_mut() {
            first.text = format!("{note}\n\n{}", first.text);
        }
        Ok(replies)
    }
}
