//! The chat channels' settings: the Telegram bot and the Zalo Official Account, each on when its keys are set.

use super::{ConfigError, RawConfig, Secret, given};

/// The Telegram bot's settings.
#[derive(Clone, Debug)]
pub struct TelegramConfig {
    /// The bot token from @BotFather.
    pub token: Secret,
    /// What Telegram sends back in `X-Telegram-Bot-Api-Secret-Token`, set with `ykien telegram set-webhook`.
    pub webhook_secret: Secret,
    /// The Bot API server (the official one unless a local Bot API server or a test fake is used).
    pub api_url: String,
    /// Messages per second over all chats (Telegram's limit is about 30).
    pub max_per_second: u32,
    /// Messages per second to one chat, after a burst of three (Telegram asks for about 1).
    pub per_chat_per_second: u32,
}

/// The Zalo Official Account's settings.
#[derive(Clone, Debug)]
pub struct ZaloConfig {
    pub app_id: String,
    pub app_secret: Secret,
    /// The OA secret key that signs webhook events.
    pub oa_secret_key: Secret,
    pub api_url: String,
    pub oauth_url: String,
    /// The OA's public address that citizens open to follow it and chat (`YKIEN_ZALO_OA_LINK`, as the OA's
    /// management page shows it, `https://zalo.me/<OA id>`); printed as a QR code on the commune posters.
    pub oa_link: Option<String>,
}

/// The official Telegram Bot API.
pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";
/// Zalo's OpenAPI and OAuth servers.
pub const DEFAULT_ZALO_API_URL: &str = "https://openapi.zalo.me";
pub const DEFAULT_ZALO_OAUTH_URL: &str = "https://oauth.zaloapp.com";

/// An http(s) base URL without its trailing slash.
fn base_url(setting: &str, value: Option<&str>, default: &str) -> Result<String, ConfigError> {
    let url = value.unwrap_or(default);
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .filter(|r| !r.is_empty() && !r.contains(char::is_whitespace));
    if rest.is_none() {
        return Err(ConfigError::new(
            setting,
            format!("'{url}' is not an http(s) URL; leave it unset for {default}"),
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The Telegram bot is on when a token is set; it then needs the webhook secret too.
pub(super) fn telegram_config(raw: &RawConfig) -> Result<Option<TelegramConfig>, ConfigError> {
    let Some(token) = given(&raw.telegram_token) else {
        return Ok(None);
    };
    // Bot tokens look like 123456789:AAE… ; refusing other shapes catches a pasted username or URL early.
    let shaped = token
        .split_once(':')
        .is_some_and(|(id, rest)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && rest.len() >= 20);
    if !shaped {
        return Err(ConfigError::new(
            "YKIEN_TELEGRAM_TOKEN",
            "not a bot token (123456789:AA…); copy the token @BotFather gave, or unset it to turn the bot off",
        ));
    }
    let webhook_secret = given(&raw.telegram_webhook_secret).ok_or_else(|| {
        ConfigError::new(
            "YKIEN_TELEGRAM_WEBHOOK_SECRET",
            "required when YKIEN_TELEGRAM_TOKEN is set; generate one with: head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d =",
        )
    })?;
    // Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and -.
    if webhook_secret.len() < 16
        || webhook_secret.len() > 256
        || !webhook_secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ConfigError::new(
            "YKIEN_TELEGRAM_WEBHOOK_SECRET",
            "16 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule); generate one with: head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d =",
        ));
    }
    let rate = |setting: &str, value: &Option<String>, default: u32| match given(value) {
        None => Ok(default),
        Some(v) => v.parse().ok().filter(|n| (1..=100_000).contains(n)).ok_or_else(|| {
            ConfigError::new(
                setting,
                format!("'{v}' is not a whole number of messages per second (Telegram's default: {default})"),
            )
        }),
    };
    let max_per_second = rate("YKIEN_TELEGRAM_MAX_PER_SECOND", &raw.telegram_max_per_second, 30)?;
    let per_chat_per_second = rate(
        "YKIEN_TELEGRAM_PER_CHAT_PER_SECOND",
        &raw.telegram_per_chat_per_second,
        1,
    )?;
    Ok(Some(TelegramConfig {
        token: Secret::new(token),
        webhook_secret: Secret::new(webhook_secret),
        api_url: base_url(
            "YKIEN_TELEGRAM_API_URL",
            given(&raw.telegram_api_url),
            DEFAULT_TELEGRAM_API_URL,
        )?,
        max_per_second,
        per_chat_per_second,
    }))
}

/// The Zalo OA is on when its app id, app secret and OA secret key are all set.
pub(super) fn zalo_config(raw: &RawConfig) -> Result<Option<ZaloConfig>, ConfigError> {
    let parts = [
        ("YKIEN_ZALO_APP_ID", given(&raw.zalo_app_id)),
        ("YKIEN_ZALO_APP_SECRET", given(&raw.zalo_app_secret)),
        ("YKIEN_ZALO_OA_SECRET_KEY", given(&raw.zalo_oa_secret_key)),
    ];
    if parts.iter().all(|(_, v)| v.is_none()) {
        if given(&raw.zalo_oa_link).is_some() {
            return Err(ConfigError::new(
                "YKIEN_ZALO_OA_LINK",
                "the OA's link is printed on posters only when ykien answers the OA: set YKIEN_ZALO_APP_ID, \
                 YKIEN_ZALO_APP_SECRET and YKIEN_ZALO_OA_SECRET_KEY too, or unset the link",
            ));
        }
        return Ok(None);
    }
    if let Some((missing, _)) = parts.iter().find(|(_, v)| v.is_none()) {
        return Err(ConfigError::new(
            *missing,
            "the Zalo OA needs YKIEN_ZALO_APP_ID, YKIEN_ZALO_APP_SECRET and YKIEN_ZALO_OA_SECRET_KEY (Zalo for \
             Developers, your app's settings); set all three, or none to turn the channel off",
        ));
    }
    let [(_, Some(app_id)), (_, Some(app_secret)), (_, Some(oa_secret_key))] = parts else {
        return Ok(None);
    };
    if !app_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::new(
            "YKIEN_ZALO_APP_ID",
            format!("'{app_id}' is not a Zalo app id (digits only)"),
        ));
    }
    Ok(Some(ZaloConfig {
        app_id: app_id.to_owned(),
        app_secret: Secret::new(app_secret),
        oa_secret_key: Secret::new(oa_secret_key),
        api_url: base_url("YKIEN_ZALO_API_URL", given(&raw.zalo_api_url), DEFAULT_ZALO_API_URL)?,
        oauth_url: base_url(
            "YKIEN_ZALO_OAUTH_URL",
            given(&raw.zalo_oauth_url),
            DEFAULT_ZALO_OAUTH_URL,
        )?,
        oa_link: given(&raw.zalo_oa_link).map(zalo_oa_link).transpose()?,
    }))
}

/// The OA's public address: Zalo's own `https://zalo.me/…` (its id or the name chosen for it), nothing else, so
/// that a pasted page of another site never reaches a poster.
fn zalo_oa_link(link: &str) -> Result<String, ConfigError> {
    let link = link.trim().trim_end_matches('/');
    match link.strip_prefix("https://zalo.me/") {
        Some(rest) if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) => {
            Ok(link.to_owned())
        }
        _ => Err(ConfigError::new(
            "YKIEN_ZALO_OA_LINK",
            format!("'{link}' is not a Zalo OA address such as https://zalo.me/1234567890123456789"),
        )),
    }
}
