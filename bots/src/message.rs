//! The one inbound message type every channel parses into.
//!
//! A webhook handler parses the platform's payload into an [`Inbound`], deduplicates it on
//! (`channel`, `event_id`) (platforms retry webhooks they think went unanswered), and hands it to the conversation.
//! Only the kinds for which [`InboundKind::feeds_dialogue`] is true ever reach the dialogue; the others update
//! bookkeeping (follower status, delivery receipts) or are ignored.

/// The chat platform an [`Inbound`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Telegram Bot API.
    Telegram,
    /// Zalo Official Account.
    Zalo,
}

impl Channel {
    /// A stable lower-case name, for storage and logs: `"telegram"` or `"zalo"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Zalo => "zalo",
        }
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
    },
    /// One or more images, by URL on the platform's servers, with the accompanying text if there was any.
    Photo {
        /// Where to download the images (Zalo: direct URLs; Telegram: to be resolved from file ids).
        urls: Vec<String>,
        /// Text sent with the images; never `Some("")`.
        caption: Option<String>,
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
            | Self::Location { .. }
            | Self::ContactInfo { .. } => true,
            Self::Followed | Self::Unfollowed | Self::Receipt { .. } | Self::Echo | Self::Unsupported { .. } => false,
        }
    }
}
