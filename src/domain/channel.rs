//! The channels a citizen reaches ykien through: one type for survey identities, cases and their news.

use std::fmt;

/// Where a response or a case came from, and where its news can go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The mobile web form (the default: where a report comes from unless said otherwise).
    #[default]
    Web,
    /// An app or script through the JSON API.
    Api,
    /// The Telegram bot.
    Telegram,
    /// The Zalo Official Account.
    Zalo,
}

impl Channel {
    pub const ALL: [Self; 4] = [Self::Web, Self::Api, Self::Telegram, Self::Zalo];

    /// The stable lower-case name kept in the database and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Api => "api",
            Self::Telegram => "telegram",
            Self::Zalo => "zalo",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The chat platform, for the channels that are chats (the only ones ykien can write to first).
    pub fn chat(self) -> Option<ykien_bots::message::Channel> {
        match self {
            Self::Telegram => Some(ykien_bots::message::Channel::Telegram),
            Self::Zalo => Some(ykien_bots::message::Channel::Zalo),
            Self::Web | Self::Api => None,
        }
    }

    /// The name people know the channel by.
    pub fn label(self) -> &'static str {
        match self {
            Self::Web => "Web",
            Self::Api => "API",
            Self::Telegram => "Telegram",
            Self::Zalo => "Zalo",
        }
    }
}

impl From<ykien_bots::message::Channel> for Channel {
    fn from(chat: ykien_bots::message::Channel) -> Self {
        match chat {
            ykien_bots::message::Channel::Telegram => Self::Telegram,
            ykien_bots::message::Channel::Zalo => Self::Zalo,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
