//! ykien's chat channels, kept apart from the service.
//!
//! Each channel (Telegram, Zalo Official Account) turns the raw bytes of a webhook request into one
//! channel-neutral [`message::Inbound`], and checks that the request really came from the platform (for Zalo,
//! [`zalo::verify_signature`]), and sends [`message::Outbound`] messages with each platform's client
//! ([`telegram::TelegramClient`], [`zalo_api::ZaloClient`]). What to answer is decided elsewhere: the server crate
//! (`ykien`) feeds `Inbound`s to its chat dialogue and hands the replies to these clients. This crate depends on
//! neither the server nor `ykien-analysis`; it only knows the platforms' wire formats.

pub mod message;
pub mod telegram;
pub mod zalo;
pub mod zalo_api;
