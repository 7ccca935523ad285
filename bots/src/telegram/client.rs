//! The Bot API client: sends replies, answers button presses, downloads photos and registers the webhook, within
//! [`Limits`] and retrying 429s.

use super::*;

/// Why a [`TelegramClient`] could not be made from its settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientConfigError {
    /// The bot token is empty or has whitespace or control characters.
    #[error("the Telegram bot token is empty or has whitespace in it")]
    BadToken,
    /// The API URL is not an absolute `http://` or `https://` URL.
    #[error("the Telegram API URL is not an absolute http:// or https:// URL")]
    BadApiUrl,
    /// The HTTP client could not be built (no TLS backend).
    #[error("the HTTP client for Telegram could not be built: {0}")]
    HttpClient(String),
}

/// Why [`TelegramClient::download`] returned no file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DownloadError {
    /// The file is larger than the limit: said by `getFile` (nothing was downloaded) or found while downloading
    /// (the download was stopped).
    #[error("the Telegram file is larger than {max_bytes} bytes")]
    TooLarge {
        /// The limit that was passed.
        max_bytes: usize,
    },
    /// `getFile` or the download failed; [`DeliveryError::Retry`] when trying again later may help.
    #[error("the Telegram file could not be downloaded: {0}")]
    Failed(#[from] DeliveryError),
}

/// Sends messages through the Telegram Bot API as one bot, within [`Limits`].
///
/// Cheap to share behind an `Arc`; every method takes `&self`. 429 answers are waited out (up to
/// [`MAX_RETRY_AFTER`], [`MAX_ATTEMPTS`] tries); every other failure is returned as a [`DeliveryError`] at once:
///
/// | Telegram's answer | error |
/// |---|---|
/// | 429 with `retry_after` > 60 s, or still 429 after 3 tries | [`Retry`](DeliveryError::Retry) |
/// | 403 (bot blocked, user deactivated, bot can't initiate conversation, kicked), 400 chat/user not found | [`Unreachable`](DeliveryError::Unreachable) |
/// | 401 or 404 (the bot token is wrong), other 400s | [`Refused`](DeliveryError::Refused) |
/// | network error, timeout, an answer that is not JSON, 5xx | [`Retry`](DeliveryError::Retry) |
///
/// Error texts never contain the bot token.
pub struct TelegramClient {
    bot: Bot,
    limiter: RateLimiter,
}

impl std::fmt::Debug for TelegramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramClient")
            .field("api_url", &self.bot.api_url().as_str())
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl TelegramClient {
    /// A client for the bot with this token, talking to the Bot API server at `api_url` ([`DEFAULT_API_URL`], or a
    /// fake one in tests): methods are called at `<api_url>/bot<token>/<Method>`, files fetched from
    /// `<api_url>/file/bot<token>/<file_path>`. Makes no request.
    ///
    /// The HTTP client is teloxide's default (5 s to connect, 17 s per request), without teloxide's
    /// `TELOXIDE_PROXY` environment variable.
    ///
    /// # Errors
    /// [`ClientConfigError`] for an empty token, a URL that is not `http(s)://host…`, or no TLS backend.
    pub fn new(token: &str, api_url: &str, limits: Limits) -> Result<Self, ClientConfigError> {
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ClientConfigError::BadToken);
        }
        let url = reqwest::Url::parse(api_url).map_err(|_| ClientConfigError::BadApiUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(ClientConfigError::BadApiUrl);
        }
        let client = teloxide::net::default_reqwest_settings()
            .build()
            .map_err(|e| ClientConfigError::HttpClient(e.to_string()))?;
        Ok(Self {
            bot: Bot::with_client(token, client).set_api_url(url),
            limiter: RateLimiter::new(limits),
        })
    }

    /// Sends one [`Outbound`] to a chat (the [`Inbound::user_id`] of the person) and returns the ids of the messages
    /// Telegram created, in order.
    ///
    /// - `photo` first, as `sendPhoto`; then the text as `sendMessage`, plain (no `parse_mode`), split on line
    ///   boundaries (a longer line on spaces, a word longer than the limit anywhere) into parts of at most
    ///   [`MAX_TEXT_UTF16`]. With a blank text only the photo is sent.
    /// - The last message carries the keyboard: `buttons` as an inline keyboard of callback buttons, one per row, two
    ///   per row when every label has at most 12 characters; or, with `request_location`, a one-time, resized reply
    ///   keyboard with the location-request button first and then one text button per `buttons` label (pressing it
    ///   sends the label as text); or, with `remove_keyboard` alone, a keyboard removal.
    /// - `remove_keyboard` together with `buttons` removes the reply keyboard with the first message: when the text
    ///   would be one message it is sent as two, cut before its last paragraph (a text without a blank line stays one
    ///   message, and its inline keyboard wins).
    ///
    /// Each message waits for its turn under the [`Limits`]. If a later part fails after earlier ones were sent, the
    /// error is returned and a retry of the whole [`Outbound`] repeats the earlier parts.
    ///
    /// # Errors
    /// [`DeliveryError`] as in the table on [`TelegramClient`]; [`DeliveryError::Refused`] without a request when the
    /// chat id is not a number, a button (or the location-request button) has an empty label, a payload is empty or
    /// over 64 bytes, or there is nothing to send.
    pub async fn send(&self, chat_id: &str, message: &Outbound) -> Result<Vec<String>, DeliveryError> {
        let chat = parse_chat_id(chat_id)?;
        check_buttons(&message.buttons)?;
        if message
            .request_location
            .as_deref()
            .is_some_and(|label| label.trim().is_empty())
        {
            return Err(DeliveryError::Refused(
                "the location-request button has an empty label".to_owned(),
            ));
        }

        let final_markup = if let Some(label) = &message.request_location {
            // A message carries one keyboard: with the location request, the other choices are buttons of the same
            // reply keyboard, one per row. Pressing one sends its label as text, which the dialogue reads back as
            // the choice (https://core.telegram.org/bots/api#keyboardbutton).
            let rows = std::iter::once(vec![
                KeyboardButton::new(label.clone()).request(ButtonRequest::Location),
            ])
            .chain(
                message
                    .buttons
                    .iter()
                    .map(|b| vec![KeyboardButton::new(b.label.clone())]),
            );
            Some(ReplyMarkup::Keyboard(
                KeyboardMarkup::new(rows.collect::<Vec<_>>())
                    .one_time_keyboard()
                    .resize_keyboard(),
            ))
        } else if !message.buttons.is_empty() {
            Some(ReplyMarkup::InlineKeyboard(inline_keyboard(&message.buttons)))
        } else if message.remove_keyboard {
            Some(ReplyMarkup::KeyboardRemove(KeyboardRemove::new()))
        } else {
            None
        };
        let early_remove = message.remove_keyboard && matches!(final_markup, Some(ReplyMarkup::InlineKeyboard(_)));

        let mut parts = split_text(&message.text, MAX_TEXT_UTF16);
        // A reply keyboard is removed only by a message that carries the removal, and that message then cannot carry
        // an inline keyboard: a single message that must do both goes as two, cut before its last paragraph.
        if early_remove
            && message.photo.is_none()
            && let [only] = parts.as_slice()
            && let Some((head, tail)) = only.rsplit_once("\n\n")
            && !head.trim().is_empty()
            && !tail.trim().is_empty()
        {
            parts = vec![head.to_owned(), tail.to_owned()];
        }
        let count = parts.len() + usize::from(message.photo.is_some());
        if count == 0 {
            return Err(DeliveryError::Refused(
                "the message has neither text nor photo".to_owned(),
            ));
        }
        let markup_for = |index: usize| -> Option<ReplyMarkup> {
            if index + 1 == count {
                final_markup.clone()
            } else if index == 0 && early_remove {
                Some(ReplyMarkup::KeyboardRemove(KeyboardRemove::new()))
            } else {
                None
            }
        };

        let mut ids = Vec::with_capacity(count);
        if let Some(photo) = &message.photo {
            let bytes = photo.clone();
            let markup = markup_for(0);
            let sent = self
                .call(|| {
                    let (bytes, markup) = (bytes.clone(), markup.clone());
                    async move {
                        self.limiter.acquire(chat_id).await;
                        let file = InputFile::memory(bytes).file_name(photo_file_name(photo));
                        let request = self.bot.send_photo(chat, file);
                        match markup {
                            Some(markup) => request.reply_markup(markup).send().await,
                            None => request.send().await,
                        }
                    }
                })
                .await?;
            ids.push(sent.id.0.to_string());
        }
        for part in parts {
            let markup = markup_for(ids.len());
            let sent = self
                .call(|| {
                    let (part, markup) = (part.clone(), markup.clone());
                    async move {
                        self.limiter.acquire(chat_id).await;
                        let request = self.bot.send_message(chat, part);
                        match markup {
                            Some(markup) => request.reply_markup(markup).send().await,
                            None => request.send().await,
                        }
                    }
                })
                .await?;
            ids.push(sent.id.0.to_string());
        }
        Ok(ids)
    }

    /// Answers a button press (`answerCallbackQuery`), so that the user's client stops its spinner; `text`, if any,
    /// shows as a short notification. Not rate-limited. Telegram accepts an answer only within a few seconds of the
    /// press.
    ///
    /// # Errors
    /// [`DeliveryError`] as in the table on [`TelegramClient`]; a query that is too old is
    /// [`DeliveryError::Refused`].
    pub async fn answer_callback(&self, callback_id: &str, text: Option<&str>) -> Result<(), DeliveryError> {
        self.call(|| {
            let request = self.bot.answer_callback_query(CallbackQueryId(callback_id.to_owned()));
            match text {
                Some(text) => request.text(text.to_owned()).send(),
                None => request.send(),
            }
        })
        .await?;
        Ok(())
    }

    /// Takes the inline keyboard off a message the bot sent, once one of its buttons was pressed, so that an answered
    /// question cannot be answered again: `editMessageReplyMarkup` without a `reply_markup`
    /// (<https://core.telegram.org/bots/api#editmessagereplymarkup>). Waits its turn under the chat's limit like a
    /// message.
    ///
    /// # Errors
    /// [`DeliveryError`] as in the table on [`TelegramClient`]; [`DeliveryError::Refused`] without a request when the
    /// chat or message id is not a number (and from Telegram when the message is too old to edit or has no keyboard).
    pub async fn remove_buttons(&self, chat_id: &str, message_id: &str) -> Result<(), DeliveryError> {
        let chat = parse_chat_id(chat_id)?;
        let message = message_id
            .trim()
            .parse::<i32>()
            .map(MessageId)
            .map_err(|_| DeliveryError::Refused("the Telegram message id is not a number".to_owned()))?;
        self.call(|| async move {
            self.limiter.acquire(chat_id).await;
            self.bot.edit_message_reply_markup(chat, message).send().await
        })
        .await?;
        Ok(())
    }

    /// Downloads a file by its `file_id` (the [`InboundKind::Photo`] `urls`): `getFile`, then a GET of
    /// `<api_url>/file/bot<token>/<file_path>`, refusing files larger than `max_bytes` before downloading when
    /// `getFile` gives the size, and stopping the download as soon as more than `max_bytes` arrived otherwise.
    /// (Telegram's own server serves files of at most 20 MB.)
    ///
    /// # Errors
    /// [`DownloadError::TooLarge`] over the limit; [`DownloadError::Failed`] with [`DeliveryError::Retry`] for network
    /// errors, timeouts and 5xx, [`DeliveryError::Refused`] for an unknown file id or a file that is gone.
    pub async fn download(&self, file_id: &str, max_bytes: usize) -> Result<Vec<u8>, DownloadError> {
        let file = self
            .call(|| self.bot.get_file(FileId(file_id.to_owned())).send())
            .await?;
        // teloxide reads a missing file_size as u32::MAX: unknown, so the download itself is limited.
        if file.meta.size != u32::MAX && usize::try_from(file.meta.size).map_or(true, |size| size > max_bytes) {
            return Err(DownloadError::TooLarge { max_bytes });
        }
        let url = self.file_url(&file.path)?;
        let mut response = self
            .bot
            .client()
            .get(url)
            .send()
            .await
            .map_err(|e| DeliveryError::Retry(format!("downloading a file: {}", e.without_url())))?;
        let status = response.status();
        if !status.is_success() {
            let problem = format!("downloading a file: HTTP {status}");
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                DeliveryError::Retry(problem)
            } else {
                DeliveryError::Refused(problem)
            }
            .into());
        }
        if response
            .content_length()
            .is_some_and(|len| usize::try_from(len).map_or(true, |len| len > max_bytes))
        {
            return Err(DownloadError::TooLarge { max_bytes });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| DeliveryError::Retry(format!("downloading a file: {}", e.without_url())))?
        {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(DownloadError::TooLarge { max_bytes });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// `<api_url>/file/bot<token>/<file_path>`, each segment of the path pushed on its own (teloxide's own download
    /// would send the `/` in `photos/file_1.jpg` as `%2F`).
    pub(super) fn file_url(&self, file_path: &str) -> Result<reqwest::Url, DeliveryError> {
        let unusable = || DeliveryError::Refused("getFile returned an unusable file_path".to_owned());
        if file_path.split('/').any(|segment| matches!(segment, "" | "." | "..")) {
            return Err(unusable());
        }
        let mut url = self.bot.api_url();
        {
            let mut segments = url.path_segments_mut().map_err(|()| unusable())?;
            segments
                .pop_if_empty()
                .push("file")
                .push(&format!("bot{}", self.bot.token()));
            segments.extend(file_path.split('/'));
        }
        Ok(url)
    }

    /// The bot's username (`getMe`), trying up to `attempts` times (at least once) while the failure is worth retrying,
    /// waiting 1, 2, 4… up to 30 seconds in between, so that a Telegram outage at start-up delays the bot instead of
    /// stopping it. Call it before serving the webhook; the username makes [`deep_link`]s.
    ///
    /// # Errors
    /// The last [`DeliveryError::Retry`] when every attempt failed; [`DeliveryError::Refused`] at once for a wrong
    /// token (401/404) or a bot without a username.
    pub async fn get_me_with_retries(&self, attempts: u32) -> Result<String, DeliveryError> {
        let mut delay = Duration::from_secs(1);
        let mut attempt = 1;
        loop {
            match self.call(|| self.bot.get_me().send()).await {
                Ok(me) => {
                    return me
                        .user
                        .username
                        .filter(|name| !name.is_empty())
                        .ok_or_else(|| DeliveryError::Refused("getMe returned a bot without a username".to_owned()));
                }
                Err(DeliveryError::Retry(problem)) if attempt < attempts => {
                    tracing::warn!(attempt, %problem, "Telegram getMe failed, trying again");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Points the bot's webhook at `url` (`setWebhook`), with the secret Telegram will send in
    /// `X-Telegram-Bot-Api-Secret-Token`, asking only for [`ALLOWED_UPDATES`]. Pending updates are kept.
    ///
    /// # Errors
    /// [`DeliveryError::Refused`] without a request when `url` is not an absolute URL or the secret is not 1–256
    /// characters from `A-Z a-z 0-9 _ -` (what Telegram accepts); otherwise as in the table on [`TelegramClient`]
    /// (Telegram refuses a webhook that is not HTTPS on port 443, 80, 88 or 8443).
    pub async fn set_webhook(&self, url: &str, secret_token: &str) -> Result<(), DeliveryError> {
        let url = reqwest::Url::parse(url)
            .map_err(|_| DeliveryError::Refused("the webhook URL is not an absolute URL".to_owned()))?;
        if !(1..=256).contains(&secret_token.len())
            || !secret_token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(DeliveryError::Refused(
                "the webhook secret token is not 1 to 256 characters from A-Z, a-z, 0-9, _ and -".to_owned(),
            ));
        }
        self.call(|| {
            self.bot
                .set_webhook(url.clone())
                .secret_token(secret_token.to_owned())
                .allowed_updates(vec![
                    AllowedUpdate::Message,
                    AllowedUpdate::CallbackQuery,
                    AllowedUpdate::MyChatMember,
                ])
                .send()
        })
        .await?;
        Ok(())
    }

    /// Runs one request, waiting out 429s (at most [`MAX_ATTEMPTS`] tries, each wait at most [`MAX_RETRY_AFTER`]).
    async fn call<T, F, Fut>(&self, mut request: F) -> Result<T, DeliveryError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RequestError>>,
    {
        let mut attempt = 1;
        loop {
            let error = match request().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            match classify(&error) {
                Outcome::WaitAndRetry(wait) if wait <= MAX_RETRY_AFTER && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, wait_secs = wait.as_secs(), "Telegram asked to slow down");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Outcome::WaitAndRetry(wait) => {
                    return Err(DeliveryError::Retry(format!(
                        "Telegram asked to retry after {} s (attempt {attempt})",
                        wait.as_secs()
                    )));
                }
                Outcome::Fail(error) => return Err(error),
            }
        }
    }
}
