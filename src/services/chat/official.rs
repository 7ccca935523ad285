//! An official's chat: `/link CODE` links a chat to an account (the code from the console), `/unlink` ends it; a
//! linked chat gets the official's alerts and, for anything typed, a short help, never the citizen dialogue. The
//! official commands from a chat that is not linked get a clear refusal. Everything else goes to the citizen
//! dialogue ([`super::Chats::take_turn`] asks here first).

use chrono::{DateTime, Utc};
use ykien_bots::message::{Inbound, InboundKind, Outbound};

use super::Chats;
use crate::services::Error;
use crate::services::linking::{LINK_CODE_MINUTES, link_chat};
use crate::storage::{AuditEntry, LinkCodeUse, LinkedChatRow};

/// A command addressed to the official side of the bot.
#[derive(Debug, PartialEq, Eq)]
enum OfficialCommand {
    Link(Option<String>),
    Unlink,
}

/// The official command in an event, typed (`/link 1234 5678`, Zalo's way) or as a Telegram bot command.
fn official_command(kind: &InboundKind) -> Option<OfficialCommand> {
    let (name, payload) = match kind {
        InboundKind::Command { name, payload } => (name.to_lowercase(), payload.clone()),
        InboundKind::Text(text) => {
            let rest = text.trim().strip_prefix('/')?;
            let mut parts = rest.splitn(2, char::is_whitespace);
            let name = parts.next().unwrap_or_default().to_lowercase();
            (name, parts.next().map(|p| p.trim().to_owned()))
        }
        _ => return None,
    };
    let payload = payload.filter(|p| !p.is_empty());
    match name.as_str() {
        "link" | "lienket" => Some(OfficialCommand::Link(payload)),
        "unlink" | "huylienket" => Some(OfficialCommand::Unlink),
        _ => None,
    }
}

impl Chats {
    /// The official side of a chat event: the replies when the event is an official command or the chat is linked
    /// to an account; `None` when it is a citizen's event for the dialogue.
    pub(super) async fn official_turn(
        &self,
        inbound: &Inbound,
        linked: Option<LinkedChatRow>,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<Outbound>>, Error> {
        let channel = inbound.channel.as_str();
        let command = official_command(&inbound.kind);
        if command.is_none() && linked.is_none() {
            return Ok(None);
        }
        if linked.is_some() {
            self.store.touch_chat_user(channel, &inbound.user_id, now).await?;
        }
        let reply = match (command, linked) {
            (Some(OfficialCommand::Link(None)), _) => "Xin gõ /link kèm mã liên kết 8 chữ số lấy ở trang «Tài khoản» \
                 của bảng điều khiển cán bộ, ví dụ: /link 12345678."
                .to_owned(),
            (Some(OfficialCommand::Link(Some(code))), _) => {
                match link_chat(&self.store, &self.surveys, &code, (channel, &inbound.user_id), now).await? {
                    LinkCodeUse::Linked { .. } => {
                        let row = self.store.linked_official(channel, &inbound.user_id).await?;
                        let name = row.map(|r| r.display_name).unwrap_or_default();
                        format!(
                            "✅ Đã liên kết chat này với tài khoản cán bộ {name}. Từ nay chat này nhận cảnh báo về \
                             phản ánh (phản ánh mới, được giao, sắp đến hạn, quá hạn, người dân trả lời) và bản tin \
                             buổi sáng. Gõ /unlink để huỷ liên kết."
                        )
                    }
                    LinkCodeUse::Unknown => "❌ Mã liên kết không đúng. Xin kiểm tra lại mã trên trang «Tài khoản» \
                         của bảng điều khiển cán bộ rồi gõ lại: /link kèm 8 chữ số."
                        .to_owned(),
                    LinkCodeUse::Expired => format!(
                        "❌ Mã liên kết này đã hết hạn (mỗi mã dùng được {LINK_CODE_MINUTES} phút). Xin tạo mã mới \
                         trên trang «Tài khoản» của bảng điều khiển cán bộ."
                    ),
                    LinkCodeUse::Used => "❌ Mã liên kết này đã được dùng. Mỗi mã chỉ liên kết được một lần; xin tạo \
                         mã mới trên trang «Tài khoản» của bảng điều khiển cán bộ."
                        .to_owned(),
                }
            }
            (Some(OfficialCommand::Unlink), Some(row)) => {
                let audit = AuditEntry {
                    official_id: Some(row.official_id),
                    action: "unlink_chat".to_owned(),
                    target: format!("{channel} chat"),
                    before_state: Some("linked".to_owned()),
                    after_state: Some("unlinked".to_owned()),
                    detail: Some("from the chat (/unlink)".to_owned()),
                };
                self.store.unlink_chat(row.official_id, channel, &audit).await?;
                format!(
                    "Đã huỷ liên kết chat này với tài khoản {}. Chat này không còn nhận cảnh báo cán bộ. Gõ /start \
                     để dùng như người dân.",
                    row.display_name
                )
            }
            (Some(OfficialCommand::Unlink), None) => not_linked(),
            (None, Some(row)) => linked_help(&row),
            (None, None) => return Ok(None),
        };
        Ok(Some(vec![Outbound::text(reply)]))
    }
}

/// The refusal of an official command from a chat that is not linked.
fn not_linked() -> String {
    "Chat này chưa liên kết với tài khoản cán bộ nào, nên không dùng được lệnh dành cho cán bộ. Cán bộ lấy mã liên \
     kết ở trang «Tài khoản» của bảng điều khiển rồi gõ /link kèm mã. Người dân gõ /start để gửi phản ánh hoặc trả \
     lời khảo sát."
        .to_owned()
}

/// What a linked chat is told when it writes anything else.
fn linked_help(row: &LinkedChatRow) -> String {
    let disabled = if row.disabled {
        "\n⚠️ Tài khoản này đang bị khoá: chat không nhận cảnh báo cho đến khi quản trị viên mở lại."
    } else {
        ""
    };
    format!(
        "Chat này đã liên kết với tài khoản cán bộ {} ({}): nhận cảnh báo về phản ánh và bản tin buổi sáng; xử lý \
         phản ánh trên bảng điều khiển cán bộ (đường dẫn có trong mỗi cảnh báo). Gõ /unlink để huỷ liên kết và dùng \
         chat như người dân.{disabled}",
        row.display_name, row.username
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_and_unlink_are_read_typed_or_as_commands() {
        assert_eq!(
            official_command(&InboundKind::Text(" /link 1234 5678 ".into())),
            Some(OfficialCommand::Link(Some("1234 5678".into())))
        );
        assert_eq!(
            official_command(&InboundKind::Command {
                name: "LINK".into(),
                payload: Some("12345678".into())
            }),
            Some(OfficialCommand::Link(Some("12345678".into())))
        );
        assert_eq!(
            official_command(&InboundKind::Text("/link".into())),
            Some(OfficialCommand::Link(None))
        );
        assert_eq!(
            official_command(&InboundKind::Text("/huylienket".into())),
            Some(OfficialCommand::Unlink)
        );
        assert_eq!(official_command(&InboundKind::Text("/start".into())), None);
        assert_eq!(official_command(&InboundKind::Text("link 123".into())), None);
    }
}
