//! Email settings: the SMTP server (`YKIEN_SMTP_URL`) and the sender (`YKIEN_MAIL_FROM`), both or neither.

use super::{ConfigError, Secret};

/// Where and as whom email is sent.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `smtp://host:25` (plain, or upgraded with `?tls=required`), `smtps://user:password@host:465` (TLS from the
    /// start); may hold a password, so it is never printed.
    pub smtp_url: Secret,
    /// The sender, `Ykien Hưng Yên <ykien@hungyen.gov.vn>` or a bare address.
    pub from: String,
}

impl MailConfig {
    /// The settings from the two values, or the error that names the one to fix.
    pub fn from_settings(smtp_url: Option<&str>, from: Option<&str>) -> Result<Option<Self>, ConfigError> {
        let (url, from) = match (smtp_url, from) {
            (None, None) => return Ok(None),
            (Some(url), Some(from)) => (url, from),
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "YKIEN_MAIL_FROM",
                    "not set while YKIEN_SMTP_URL is; set the sender, e.g. ykien@hungyen.gov.vn",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "YKIEN_SMTP_URL",
                    "not set while YKIEN_MAIL_FROM is; set the SMTP server, e.g. smtp://mail.example.vn:25",
                ));
            }
        };
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(ConfigError::new(
                "YKIEN_SMTP_URL",
                "is not an smtp:// or smtps:// URL; use e.g. smtps://user:password@mail.example.vn:465",
            ));
        }
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::new(
                "YKIEN_MAIL_FROM",
                format!("'{from}' is not an email address; use e.g. ykien@hungyen.gov.vn"),
            ));
        }
        Ok(Some(Self {
            smtp_url: Secret::new(url),
            from: from.to_owned(),
        }))
    }
}
