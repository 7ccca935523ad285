//! The channels a citizen reaches ykien through: one type, defined beside the chat platforms' messages in
//! `ykien-bots` (the server depends on that crate, never the other way), named here for the domain.

pub use ykien_bots::message::Channel;
