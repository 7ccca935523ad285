//! ykien's chat channels, kept apart from the service.
//!
//! Each channel (Zalo Official Account now, Telegram) turns the raw bytes of a webhook request into one
//! channel-neutral [`message::Inbound`], and checks that the request really came from the platform (for Zalo,
//! [`zalo::verify_signature`]). What to answer is decided elsewhere: the server crate (`ykien`) feeds `Inbound`s to its
//! conversation module and sends the replies. This crate depends on neither the server nor `ykien-analysis`; it only
//! knows the platforms' wire formats.

pub mod message;
pub mod telegram;
pub mod zalo;
pub mod zalo_api;
