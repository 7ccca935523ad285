//! `telegram set-webhook` and `zalo connect`: setting up the chat channels.

use super::*;

pub(super) async fn set_telegram_webhook(config: &Config) -> ExitCode {
    let Some(telegram) = &config.telegram else {
        eprintln!("ykien telegram set-webhook: YKIEN_TELEGRAM_TOKEN is not set; the bot is off");
        return ExitCode::from(2);
    };
    let Some(public_url) = &config.public_url else {
        eprintln!(
            "ykien telegram set-webhook: YKIEN_PUBLIC_URL is not set; Telegram needs the https:// address it reaches this service at"
        );
        return ExitCode::from(2);
    };
    let channel = match TelegramChannel::new(telegram) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ykien telegram set-webhook: {e}");
            return ExitCode::from(2);
        }
    };
    let url = format!("{public_url}/webhooks/telegram");
    let bot = match channel.client().get_me_with_retries(3).await {
        Ok(name) => name,
        Err(e) => {
            eprintln!("ykien telegram set-webhook: Telegram did not accept the bot token: {e}");
            return ExitCode::FAILURE;
        }
    };
    match channel
        .client()
        .set_webhook(&url, telegram.webhook_secret.expose())
        .await
    {
        Ok(()) => {
            say!("@{bot}: Telegram now sends updates to {url}");
            if let Ok(link) = ykien_bots::telegram::deep_link(&bot, &crate::services::chat::commune_payload("11953")) {
                say!("a commune's poster links to e.g. {link} (commune 11953)");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ykien telegram set-webhook: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(super) async fn connect_zalo(config: &Config, store: &Store, refresh_token: &str) -> ExitCode {
    let Some(zalo) = &config.zalo else {
        eprintln!(
            "ykien zalo connect: the Zalo OA is not configured; set YKIEN_ZALO_APP_ID, YKIEN_ZALO_APP_SECRET and YKIEN_ZALO_OA_SECRET_KEY"
        );
        return ExitCode::from(2);
    };
    let channel = match ZaloChannel::new(zalo, store.clone()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ykien zalo connect: {e}");
            return ExitCode::from(2);
        }
    };
    match channel.tokens().connect(refresh_token.trim()).await {
        Ok(expires_at) => {
            say!(
                "the Zalo OA is connected; its access token lasts until {} and is refreshed before that",
                expires_at.format("%Y-%m-%d %H:%M UTC")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ykien zalo connect: {e}");
            ExitCode::FAILURE
        }
    }
}
