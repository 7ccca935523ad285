//! The one inbound message type every channel parses into.
//!
//! A webhook handler parses the platform's payload into an [`Inbound`], deduplicates it on
//! (`channel`, `event_id`) (platforms retry webhooks they think went unanswered), and hands it to the conversation.
//! Only the kinds for which [`InboundKind::feeds_dialogue`] is true ever reach the dialogue; the others update
//! bookkeeping (follower status, delivery receipts) or are ignored.

/// How a citizen reaches ykien: the chat platforms this crate speaks, and the server's own web pages and JSON API.
/// One type for every place that names a channel (an [`Inbound`]'s origin, a survey respondent's identity, a stored
/// response); an [`Inbound`] only ever comes from a chat channel (Telegram, Zalo).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Telegram Bot API.
    Telegram,
    /// Zalo Official Account.
    Zalo,
    /// The server's web pages (the default: where a report or response comes from unless said otherwise).
    #[default]
    Web,
    /// The server's JSON API (data-entry apps).
    Api,
    /// A call to the hotline, recorded by the intake desk (bộ phận tiếp nhận).
    Hotline,
    /// A citizen who came in person, recorded by the intake desk.
    WalkIn,
    /// A letter, recorded (and scanned) by the intake desk.
    Letter,
    /// An email to the commune, recorded by the intake desk.
    Email,
}

impl Channel {
    /// A stable lower-case name, for storage and logs: `"telegram"`, `"zalo"`, `"web"`, `"api"`, `"hotline"`,
    /// `"walk_in"`, `"letter"` or `"email"` (also the outbox channel of email).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Zalo => "zalo",
            Self::Web => "web",
            Self::Api => "api",
            Self::Hotline => "hotline",
            Self::WalkIn => "walk_in",
            Self::Letter => "letter",
            Self::Email => "email",
        }
    }

    /// Every channel.
    pub const ALL: [Self; 8] = [
        Self::Telegram,
        Self::Zalo,
        Self::Web,
        Self::Api,
        Self::Hotline,
        Self::WalkIn,
        Self::Letter,
        Self::Email,
    ];

    /// The channels the intake desk records cases from (Decision 31/2021/QĐ-TTg: feedback from every channel is
    /// entered into the one system).
    pub const DESK: [Self; 4] = [Self::Hotline, Self::WalkIn, Self::Letter, Self::Email];

    /// The channel of a stored name (see [`Channel::as_str`]).
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether it is a chat platform: the only channels ykien can write to first, and the only ones whose events
    /// arrive as [`Inbound`]s.
    #[must_use]
    pub fn is_chat(self) -> bool {
        matches!(self, Self::Telegram | Self::Zalo)
    }

    /// The name people know the channel by.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Telegram => "Telegram",
            Self::Zalo => "Zalo",
            Self::Web => "Web",
            Self::Api => "API",
            Self::Hotline => "Đường dây nóng",
            Self::WalkIn => "Trực tiếp tại bộ phận tiếp nhận",
            Self::Letter => "Thư, đơn gửi qua bưu điện",
            Self::Email => "Thư điện tử",
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event received from a chat platform, already parsed and free of platform types.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// Where it came from.
    pub channel: Channel,
    /// The dedupe key within the channel; a retried webhook carries the same one. Zalo: the `msg_id` of a message, or
    /// a stable id built from the event name, user and timestamp for events without one. Telegram: the `update_id`.
    pub event_id: String,
    /// The platform's id of the person this event is about (Zalo: the OA-scoped user id; Telegram: the user id).
    /// For an [`InboundKind::Echo`] it is the person the OA wrote to. Always a string, never a number: Zalo ids do not
    /// fit in a JavaScript number and are sent as strings.
    pub user_id: String,
    /// When the platform says the event happened, in milliseconds since the Unix epoch, if it said.
    pub at_ms: Option<i64>,
    /// What happened.
    pub kind: InboundKind,
}

/// What an [`Inbound`] event says.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundKind {
    /// Free text typed by the user.
    Text(String),
    /// A bot command (Telegram `/start commune_12345` → name `start`, payload `commune_12345`). The name has no
    /// leading slash; the payload is the rest of the line, if any.
    Command {
        /// The command without `/` (and without any `@botname`).
        name: String,
        /// The text after the command, if any.
        payload: Option<String>,
    },
    /// A click on one of our buttons, carrying the payload we attached to it (Telegram `callback_data`; Zalo: the
    /// text of a `user_send_text` that starts with [`crate::zalo::BUTTON_PREFIX`], prefix removed).
    Button {
        /// The payload we put on the button.
        payload: String,
        /// Telegram's callback query id, to be answered with `answerCallbackQuery` so the client stops its spinner.
        /// `None` on Zalo, whose button clicks are plain text messages.
        callback_id: Option<String>,
        /// The platform's id of the message that carried the button (Telegram), so that its keyboard can be taken
        /// away once pressed; `None` on Zalo, whose buttons cannot be changed once sent.
        message_id: Option<String>,
    },
    /// One or more images, by reference on the platform's servers, with the accompanying text if there was any.
    Photo {
        /// Where to get the images. Zalo: direct URLs. Telegram: the `file_id` of the largest size of the photo,
        /// to be resolved with `getFile` ([`crate::telegram::TelegramClient::download`]).
        urls: Vec<String>,
        /// Text sent with the images; never `Some("")`.
        caption: Option<String>,
    },
    /// A voice note or an audio file (Telegram `voice` or `audio`, Zalo `user_send_audio`).
    Voice {
        /// Where to get it. Zalo: a direct URL. Telegram: the `file_id`, resolved with `getFile` like a photo's.
        reference: String,
        /// The MIME type the platform gave, if any (Telegram voice notes: `audio/ogg`).
        mime_type: Option<String>,
        /// Its length in seconds, if the platform said.
        duration_secs: Option<u32>,
        /// Its size in bytes, if the platform said.
        size: Option<u64>,
    },
    /// A shared location, in degrees (WGS 84).
    Location {
        /// Latitude, −90 ..= 90.
        lat: f64,
        /// Longitude, −180 ..= 180.
        lon: f64,
    },
    /// Contact details the user agreed to share (Zalo `user_submit_info`, Telegram shared contact). Empty fields are
    /// `None`.
    ContactInfo {
        /// The name the user gave.
        name: Option<String>,
        /// The phone number as the platform sent it (Zalo: `84…` without `+`).
        phone: Option<String>,
        /// The address, as one line.
        address: Option<String>,
    },
    /// The user followed the OA / started the bot: we may now message them.
    Followed,
    /// The user unfollowed the OA / blocked the bot: stop messaging them, they will not receive it.
    Unfollowed,
    /// The platform reports that messages we sent reached the user's device (`seen == false`) or were read
    /// (`seen == true`). Ids are the platform's ids of *our* messages, as returned when we sent them.
    Receipt {
        /// The platform ids of our messages this receipt covers (Zalo's "seen" event covers several at once).
        message_ids: Vec<String>,
        /// `true` for "seen", `false` for "delivered".
        seen: bool,
    },
    /// A copy of a message the OA itself sent (from our API or a human in the OA console). Never fed to the
    /// dialogue: answering it would make the bot talk to itself.
    Echo,
    /// An event this crate does not interpret (sticker, file, reaction, shop events…). Acknowledge and ignore.
    Unsupported {
        /// The platform's name for the event, for logs and metrics.
        event_name: String,
    },
}

impl InboundKind {
    /// Whether this is something the user said or did in the conversation, i.e. whether the dialogue should see it.
    /// False for follow status changes, receipts, echoes and unsupported events.
    #[must_use]
    pub fn feeds_dialogue(&self) -> bool {
        match self {
            Self::Text(_)
            | Self::Command { .. }
            | Self::Button { .. }
            | Self::Photo { .. }
            | Self::Voice { .. }
            | Self::Location { .. }
            | Self::ContactInfo { .. } => true,
            Self::Followed | Self::Unfollowed | Self::Receipt { .. } | Self::Echo | Self::Unsupported { .. } => false,
        }
    }

    /// Whether this is a message the person sent that the dialogue cannot take (a sticker, a video, a file, a GIF,
    /// a link…): it is kept as [`InboundKind::Unsupported`], and the person is told what the bot takes instead of
    /// hearing nothing.
    #[must_use]
    pub fn is_untaken_message(&self) -> bool {
        const MESSAGES: [&str; 17] = [
            // Telegram's message contents (https://core.telegram.org/bots/api#message)
            "sticker",
            "animation",
            "document",
            "video",
            "video_note",
            "dice",
            "poll",
            "game",
            "story",
            "paid_media",
            "checklist",
            // Zalo's user events (https://developers.zalo.me/docs/official-account/webhook/tong-quan)
            "user_send_sticker",
            "user_send_gif",
            "user_send_file",
            "user_send_video",
            "user_send_link",
            "user_send_business_card",
        ];
        matches!(self, Self::Unsupported { event_name } if MESSAGES.contains(&event_name.as_str()))
    }
}

/// One message to send to a chat user, free of platform types. The server's dialogue builds these; each channel's
/// client renders them as well as its platform allows.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Outbound {
    /// The text, plain (no Markdown or HTML: nothing is escaped or interpreted).
    pub text: String,
    /// Choices shown with the text, in order. Telegram: an inline keyboard, one button per row (two per row when
    /// every label is short). Zalo: up to 5 `oa.query.show` buttons; with more than 5, a numbered list appended to the
    /// text ("1. …", "2. …") and no buttons, answered by typing the number, which the dialogue accepts on every
    /// channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    /// Ask the user to share their location, with this label on the button. Telegram: a one-time reply keyboard with
    /// a location-request button. Zalo has no such button: the text itself says how to send one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_location: Option<String>,
    /// Remove a reply keyboard left from an earlier message (Telegram); ignored elsewhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remove_keyboard: bool,
    /// An image to send before the text (PNG or JPEG bytes), e.g. a chart. Not serialized into the outbox.
    #[serde(skip)]
    pub photo: Option<Vec<u8>>,
}

/// A button on an [`Outbound`] message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Button {
    /// What the user sees.
    pub label: String,
    /// What comes back as [`InboundKind::Button`] when it is pressed: at most 64 bytes (Telegram's callback_data
    /// limit) and without the Zalo prefix (the Zalo client adds [`crate::zalo::BUTTON_PREFIX`]).
    pub payload: String,
}

impl Outbound {
    /// A message with text only.
    #[must_use]
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }
}

/// Why a channel client could not deliver a message, in terms the outbox understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later (network error, platform outage, rate limit that outlasted our own waiting).
    #[error("temporary failure: {0}")]
    Retry(String),
    /// The user cannot receive messages now (blocked the bot, unfollowed, silent for too long on Zalo). Do not retry
    /// until they write again.
    #[error("the user cannot be reached: {0}")]
    Unreachable(String),
    /// The request itself is wrong (bad token, malformed message); retrying the same thing will not help.
    #[error("refused: {0}")]
    Refused(String),
}
