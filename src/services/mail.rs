//! Email: officials' alerts (and case news to reporters who left an address) sent over SMTP with lettre, as an
//! outbox channel (`email`) like the chats: queued with the change, sent at least once, retried with backoff while
//! the SMTP server is down or answers with a temporary error, so nothing is lost and the case never waits on mail.
//! Each message is plain text plus HTML (multipart/alternative), in Vietnamese, UTF-8.

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use super::outbox::{SendError, SendFuture, Sender, SentAs};
use crate::config::mail::MailConfig;

/// The outbox channel of email.
pub const EMAIL_CHANNEL: &str = "email";

/// A queued email: the outbox row's body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailBody {
    pub subject: String,
    pub text: String,
    /// Where the reader stops these messages (case news), shown under the text and sent as `List-Unsubscribe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<String>,
}

impl MailBody {
    /// The HTML part: the text's paragraphs, escaped, links made clickable.
    pub fn html(&self) -> String {
        let mut html = String::from("<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\"></head><body>");
        for line in self.text.lines() {
            html.push_str("<p>");
            for (i, word) in line.split(' ').enumerate() {
                if i > 0 {
                    html.push(' ');
                }
                let escaped = escape(word);
                if word.starts_with("https://") || word.starts_with("http://") {
                    html.push_str(&format!("<a href=\"{escaped}\">{escaped}</a>"));
                } else {
                    html.push_str(&escaped);
                }
            }
            html.push_str("</p>");
        }
        if let Some(link) = &self.unsubscribe {
            let link = escape(link);
            html.push_str(&format!(
                "<p style=\"color:#666\">Không muốn nhận thư này nữa? <a href=\"{link}\">Huỷ nhận thư</a>.</p>"
            ));
        }
        html.push_str("</body></html>");
        html
    }

    /// The plain-text part.
    pub fn plain(&self) -> String {
        match &self.unsubscribe {
            Some(link) => format!(
                "{}\n\n--\nKhông muốn nhận thư này nữa? Huỷ nhận thư: {link}\n",
                self.text
            ),
            None => format!("{}\n", self.text),
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The outbox body of an alert whose chat text is `text`: its first line is the subject.
pub fn alert_body(text: &str) -> String {
    let subject = text.lines().next().unwrap_or("Cảnh báo phản ánh").to_owned();
    let body = MailBody {
        subject: format!("[ykien] {subject}"),
        text: text.to_owned(),
        unsubscribe: None,
    };
    serde_json::to_string(&body).unwrap_or_default()
}

/// Sends the outbox's `email` messages through the configured SMTP server.
pub struct MailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl MailSender {
    /// The sender of a configuration (checked at start-up, so only a broken URL fails here).
    pub fn new(config: &MailConfig) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(config.smtp_url.expose())
            .map_err(|e| format!("YKIEN_SMTP_URL cannot be used: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = config
            .from
            .parse::<Mailbox>()
            .map_err(|e| format!("YKIEN_MAIL_FROM is not an address: {e}"))?;
        Ok(Self { transport, from })
    }

    fn message(&self, to: &str, body: &MailBody, dedupe_key: &str) -> Result<Message, SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Unreachable(format!("the address does not parse: {e}")))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(body.subject.clone());
        // The same id for every attempt: a mail server or client that got it once can drop a repeat.
        let domain = self.from.email.domain().to_owned();
        let id: String = dedupe_key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '.'
                }
            })
            .collect();
        builder = builder.message_id(Some(format!("<{id}@{domain}>")));
        if let Some(link) = &body.unsubscribe {
            builder = builder
                .header(ListUnsubscribe(format!("<{link}>")))
                .header(ListUnsubscribePost);
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(body.plain()))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(body.html())),
            )
            .map_err(|e| SendError::Unreachable(format!("the message cannot be built: {e}")))
    }
}

impl Sender for MailSender {
    fn channel(&self) -> &str {
        EMAIL_CHANNEL
    }

    fn send<'a>(&'a self, recipient: &'a str, body: &'a str, dedupe_key: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let body: MailBody = serde_json::from_str(body)
                .map_err(|e| SendError::Unreachable(format!("a queued email is unreadable: {e}")))?;
            let message = self.message(recipient, &body, dedupe_key)?;
            match self.transport.send(message).await {
                // Email has no sending windows or quota.
                Ok(_) => Ok(SentAs::Direct),
                // 5xx: the server refuses this message for good (no such mailbox…); kept, tried again much later.
                Err(e) if e.is_permanent() => Err(SendError::Unreachable(format!("the SMTP server refused: {e}"))),
                // Connection refused, timeout, 4xx: the server is down or busy; retried with backoff.
                Err(e) => Err(SendError::Retry(format!("SMTP: {e}"))),
            }
        })
    }
}

/// The `List-Unsubscribe` header (RFC 2369), so that mail clients show their own "unsubscribe" button.
#[derive(Clone, Debug)]
struct ListUnsubscribe(String);

impl lettre::message::header::Header for ListUnsubscribe {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): mail clients may unsubscribe with one POST to
/// the `List-Unsubscribe` address, which `/unsubscribe/{token}` answers.
#[derive(Clone, Debug)]
struct ListUnsubscribePost;

impl lettre::message::header::Header for ListUnsubscribePost {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_part_escapes_the_text_and_links_addresses() {
        let body = MailBody {
            subject: "s".into(),
            text: "Phản ánh <b>PA-1</b>\nXem: https://ykien.example.vn/console/cases/PA-1".into(),
            unsubscribe: Some("https://ykien.example.vn/unsubscribe/abc".into()),
        };
        let html = body.html();
        assert!(html.contains("&lt;b&gt;PA-1&lt;/b&gt;"), "{html}");
        assert!(
            html.contains("<a href=\"https://ykien.example.vn/console/cases/PA-1\">"),
            "{html}"
        );
        assert!(
            body.plain()
                .contains("Huỷ nhận thư: https://ykien.example.vn/unsubscribe/abc")
        );
    }
}
