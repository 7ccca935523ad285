//! The menu, the commune a person lives in (from a poster's link, a code or a name), and the way from the menu
//! into the survey or a report.

use ykien_bots::message::Outbound;

use super::payloads::{MenuItem, Payload, button};
use super::report::Draft;
use super::survey::SurveyMove;
use super::{Chats, Conversation, Dialog, Goal};
use crate::domain::calendar::vn_day;
use crate::domain::folding::fold;
use crate::domain::units::UnitLevel;
use crate::services::Error;
use crate::services::units;

/// The commune code in a `/start` payload: `commune_11953`, `c11953` or `11953`.
pub(super) fn commune_in_payload(payload: &str) -> Option<&str> {
    let code = payload
        .strip_prefix("commune_")
        .or_else(|| payload.strip_prefix('c'))
        .unwrap_or(payload);
    (!code.is_empty() && code.len() <= 10 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The deep-link payload naming a commune, as printed on posters.
pub fn commune_payload(code: &str) -> String {
    format!("commune_{code}")
}
impl Chats {
    pub(super) async fn menu(&self, c: &mut Conversation<'_>, greet: bool) -> Result<Vec<Outbound>, Error> {
        c.state.dialog = Dialog::Menu;
        let mut text = String::new();
        if greet {
            text.push_str(&c.t(
                "Xin chào! Đây là kênh lắng nghe ý kiến người dân của chính quyền địa phương: trả lời khảo sát về \
                 chất lượng quản trị (ẩn danh), gửi phản ánh, kiến nghị và nhận trả lời ngay tại đây.",
                "Hello! This is your local government's channel for hearing citizens: answer the governance survey \
                 (anonymously), send feedback, and get the answers right here.",
            ));
            text.push_str("\n\n");
        }
        if let Some(code) = &c.row.commune_code {
            match units::commune_on(&self.store, code, vn_day(c.now)).await {
                Ok(unit) => {
                    text.push_str(&format!(
                        "{} {}.\n",
                        c.t("Xã, phường của anh/chị:", "Your commune:"),
                        unit.name
                    ));
                }
                Err(_) => c.row.commune_code = None,
            }
        }
        text.push_str(&c.t("Anh/chị muốn làm gì?", "What would you like to do?"));
        // The survey as the last survey turn left it: begun (with how far), answered (no longer offered), or not yet.
        let mark = c
            .state
            .survey_mark
            .as_ref()
            .filter(|m| Some(&m.commune) == c.row.commune_code.as_ref() && c.now < m.until);
        let survey = match mark.map(|m| m.percent) {
            Some(Some(percent)) => Some(c.t(
                &format!("📋 Tiếp tục khảo sát ({percent}%)"),
                &format!("📋 Continue the survey ({percent}%)"),
            )),
            Some(None) => None,
            None => Some(c.t("📋 Trả lời khảo sát", "📋 Answer the survey")),
        };
        let mut menu = vec![Outbound {
            text,
            buttons: survey
                .map(|label| button(label, Payload::Menu(MenuItem::Survey)))
                .into_iter()
                .chain([
                    button(
                        c.t("📝 Gửi phản ánh", "📝 Send feedback"),
                        Payload::Menu(MenuItem::Feedback),
                    ),
                    button(
                        c.t("🔎 Theo dõi phản ánh", "🔎 My reports"),
                        Payload::Menu(MenuItem::Follow),
                    ),
                    button(
                        c.t("📍 Đổi xã, phường", "📍 Change commune"),
                        Payload::Menu(MenuItem::Commune),
                    ),
                    button(c.t("🌐 English", "🌐 Tiếng Việt"), Payload::Menu(MenuItem::Language)),
                ])
                .collect(),
            remove_keyboard: true,
            ..Outbound::default()
        }];
        self.quiz_choice(c, &mut menu).await?;
        self.news_choice(c, &mut menu).await?;
        Ok(menu)
    }

    /// "Nhận tin / Dừng nhận tin" under the menu: a button where the platform has room for one more (Zalo shows five
    /// at most, and more turn the menu into a numbered list), otherwise the words to type.
    async fn news_choice(&self, c: &mut Conversation<'_>, menu: &mut [Outbound]) -> Result<(), Error> {
        let Some(message) = menu.first_mut() else {
            return Ok(());
        };
        if c.row.commune_code.is_none() {
            return Ok(());
        }
        let subscribed = crate::services::reach::subscribed(&self.store, &c.row.channel, &c.row.user_id).await?;
        let (label, item, typed) = if subscribed {
            (
                c.t("🔕 Dừng nhận tin", "🔕 Stop news"),
                MenuItem::NewsOff,
                c.t(
                    "Anh/chị đang nhận tin của xã, phường. Gõ «dừng nhận tin» để thôi nhận.",
                    "You get your commune's news. Type «stop news» to stop them.",
                ),
            )
        } else {
            (
                c.t("🔔 Nhận tin", "🔔 Get news"),
                MenuItem::NewsOn,
                c.t(
                    "Anh/chị đang không nhận tin của xã, phường. Gõ «nhận tin» để nhận lại.",
                    "You do not get your commune's news. Type «get news» to get them again.",
                ),
            )
        };
        if c.channel == ykien_bots::message::Channel::Zalo && message.buttons.len() >= 5 {
            message.text.push_str(&format!("\n\n{typed}"));
        } else {
            message.buttons.push(button(label, Payload::Menu(item)));
        }
        Ok(())
    }

    /// Turns the commune's news on or off for this person, and says how to change it back.
    pub(super) async fn set_news(&self, c: &mut Conversation<'_>, on: bool) -> Result<Vec<Outbound>, Error> {
        crate::services::reach::set_subscribed(&self.store, &c.row.channel, &c.row.user_id, on, c.now).await?;
        let said = if on {
            c.t(
                "Đã bật nhận tin của xã, phường. Gõ «dừng nhận tin» (hoặc bấm nút trong menu) khi muốn thôi.",
                "Your commune's news are on. Type «stop news» (or use the menu) to stop them.",
            )
        } else {
            c.t(
                "Đã dừng nhận tin của xã, phường. Tin về phản ánh của anh/chị vẫn đến. Gõ «nhận tin» (hoặc bấm nút \
                 trong menu) để nhận lại.",
                "Your commune's news are off. News of your reports still come. Type «get news» (or use the menu) to \
                 get them again.",
            )
        };
        let mut replies = self.menu(c, false).await?;
        if let Some(first) = replies.first_mut() {
            first.text = format!("{said}\n\n{}", first.text);
        }
        Ok(replies)
    }

    /// Asks for the commune, then goes on to `then`; a report already typed waits meanwhile.
    pub(super) fn ask_commune(&self, c: &mut Conversation<'_>, then: Option<Goal>, problem: Option<&str>) -> Outbound {
        let draft = match &c.state.dialog {
            Dialog::Commune { draft, .. } => draft.clone(),
            Dialog::Report(draft) if draft.text.is_some() => Some(draft.clone()),
            _ => None,
        };
        c.state.dialog = Dialog::Commune { then, draft };
        let mut text = problem.map(|p| format!("{p}\n\n")).unwrap_or_default();
        text.push_str(&c.t(
            "Anh/chị ở xã, phường nào? Gõ tên (ví dụ: Phố Hiến) hoặc mã số 5 chữ số in trên áp phích.",
            "Which commune or ward do you live in? Type its name (e.g. Phố Hiến) or the 5-digit code printed on the poster.",
        ));
        Outbound {
            text,
            buttons: vec![button(c.t("↩ Về menu", "↩ Menu"), Payload::Menu(MenuItem::Home))],
            ..Outbound::default()
        }
    }
    pub(super) async fn goal(&self, c: &mut Conversation<'_>, goal: Goal) -> Result<Vec<Outbound>, Error> {
        if c.row.commune_code.is_none() {
            return Ok(vec![self.ask_commune(c, Some(goal), None)]);
        }
        match goal {
            Goal::Survey => self.survey(c, SurveyMove::Show).await,
            Goal::Quiz => self.start_quiz(c, None).await,
            Goal::Feedback => {
                // A report typed before the commune was known goes on where it was.
                let draft = match &c.state.dialog {
                    Dialog::Commune { draft: Some(draft), .. } => draft.clone().kept(),
                    _ => {
                        self.store.clear_draft_files(&c.row.channel, &c.row.user_id).await?;
                        Draft::default()
                    }
                };
                c.state.dialog = Dialog::Report(draft);
                Ok(vec![self.report_prompt(c).await?])
            }
        }
    }

    /// The commune chosen (by a button, a code or a name). Someone half-way through the survey of another commune is
    /// asked first: the survey's questions are about the commune it is for.
    pub(super) async fn choose_commune(
        &self,
        c: &mut Conversation<'_>,
        code: &str,
        confirmed: bool,
    ) -> Result<Vec<Outbound>, Error> {
        let then = match &c.state.dialog {
            Dialog::Commune { then, .. } => *then,
            _ => None,
        };
        match units::commune_on(&self.store, code, vn_day(c.now)).await {
            Ok(unit) => {
                if !confirmed
                    && let Some(current) = c.row.commune_code.clone()
                    && current != unit.code
                    && self.survey_in_progress(c, &current).await?
                {
                    let current_name = units::commune_on(&self.store, &current, vn_day(c.now))
                        .await
                        .map(|u| u.name)
                        .unwrap_or(current);
                    return Ok(vec![Outbound {
                        text: c.t(
                            &format!(
                                "Anh/chị đang trả lời dở khảo sát của {current_name}. Đổi sang {}? Các câu hỏi khảo \
                                 sát sẽ là về nơi mới.",
                                unit.name
                            ),
                            &format!(
                                "You are half-way through the survey of {current_name}. Change to {}? The survey's \
                                 questions will then be about the new place.",
                                unit.name
                            ),
                        ),
                        buttons: vec![
                            button(
                                c.t(
                                    &format!("✅ Đổi sang {}", unit.name),
                                    &format!("✅ Change to {}", unit.name),
                                ),
                                Payload::SwitchCommune(unit.code.clone()),
                            ),
                            button(
                                c.t(&format!("↩ Giữ {current_name}"), &format!("↩ Keep {current_name}")),
                                Payload::Menu(MenuItem::Home),
                            ),
                        ],
                        ..Outbound::default()
                    }]);
                }
                c.row.commune_code = Some(unit.code);
                match then {
                    Some(goal) => self.goal(c, goal).await,
                    None => self.menu(c, false).await,
                }
            }
            Err(Error::UnitNotFound(_) | Error::NotACommune(_)) => {
                let problem = c.t(
                    &format!("Không có xã, phường nào mang mã {code}."),
                    &format!("No commune or ward has code {code}."),
                );
                Ok(vec![self.ask_commune(c, then, Some(&problem))])
            }
            Err(e) => Err(e),
        }
    }

    /// A commune typed by code or by name (without diacritics, in part): chosen when one matches, a list otherwise.
    pub(super) async fn find_commune(
        &self,
        c: &mut Conversation<'_>,
        then: Option<Goal>,
        text: &str,
    ) -> Result<Vec<Outbound>, Error> {
        if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
            return self.choose_commune(c, text, false).await;
        }
        let wanted = fold(text);
        if wanted.chars().count() < 2 {
            let problem = c.t("Tên quá ngắn.", "That name is too short.");
            return Ok(vec![self.ask_commune(c, then, Some(&problem))]);
        }
        let communes = self.store.units_at_level(UnitLevel::Commune, vn_day(c.now)).await?;
        let mut found: Vec<_> = communes.iter().filter(|u| fold(&u.name).contains(&wanted)).collect();
        // "Phố Hiến" should find the ward named exactly so before "Phường Phố Hiến Mới".
        found.sort_by_key(|u| (fold(&u.name) != wanted, u.name.len()));
        match found.len() {
            0 => {
                let problem = c.t(
                    &format!("Không tìm thấy xã, phường nào tên «{text}». Xin kiểm tra lại chính tả."),
                    &format!("No commune or ward is named “{text}”. Please check the spelling."),
                );
                Ok(vec![self.ask_commune(c, then, Some(&problem))])
            }
            1 => {
                let code = found[0].code.clone();
                self.choose_commune(c, &code, false).await
            }
            n => {
                let mut reply = self.ask_commune(c, then, None);
                reply.text = if n > 8 {
                    c.t(
                        &format!("Có {n} xã, phường khớp với «{text}». Đây là 8 nơi đầu; gõ tên đầy đủ hơn nếu chưa thấy."),
                        &format!("{n} communes match “{text}”. Here are the first 8; type more of the name if yours is not there."),
                    )
                } else {
                    c.t("Anh/chị ở nơi nào dưới đây?", "Which of these is yours?")
                };
                reply.buttons = found
                    .iter()
                    .take(8)
                    .map(|u| button(format!("{} ({})", u.name, u.code), Payload::Commune(u.code.clone())))
                    .chain(reply.buttons)
                    .collect();
                Ok(vec![reply])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_payloads_name_communes() {
        assert_eq!(commune_in_payload("commune_11953"), Some("11953"));
        assert_eq!(commune_in_payload("c11953"), Some("11953"));
        assert_eq!(commune_in_payload("11953"), Some("11953"));
        assert_eq!(commune_in_payload("commune_"), None);
        assert_eq!(commune_in_payload("hello"), None);
        assert_eq!(commune_payload("11953"), "commune_11953");
    }
}
