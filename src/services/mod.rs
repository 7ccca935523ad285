//! The rules of ykien: what may happen, decided here; handlers call these, these call `storage`.

pub mod account_admin;
pub mod accounts;
pub mod alerts;
pub mod analysis;
pub mod cases;
pub mod channels;
pub mod chat;
pub mod demo;
pub mod demo_reach;
pub mod event_log;
pub mod linking;
pub mod mail;
pub mod outbox;
pub mod password_reset;
pub mod posters;
pub mod publication;
pub mod quality;
pub mod reach;
pub mod responsiveness;
pub mod scoreboard;
pub mod survey;
pub mod two_factor;
pub mod unit_scoring;
pub mod units;
pub mod uploads;
pub mod versions;
pub mod villages;
pub mod weights;

use sha2::{Digest, Sha256};

use crate::domain::Problem;
use crate::domain::questionnaire::QuestionnaireErrors;
use crate::storage::StoreError;

/// Why a service refused or failed; `http::error` maps each variant to a status in one place.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no administrative unit has code {0}")]
    UnitNotFound(String),
    #[error("{0} is not a commune or ward that exists today")]
    NotACommune(String),
    #[error("no survey wave is open for {0}")]
    NoOpenWave(String),
    #[error("no survey wave has code {0}")]
    WaveNotFound(String),
    #[error("survey wave {0} is not open")]
    WaveClosed(String),
    #[error("the response has {} problem(s)", .0.len())]
    InvalidResponse(Vec<Problem>),
    #[error(transparent)]
    InvalidQuestionnaire(QuestionnaireErrors),
    #[error("the wave cannot be created: {}", .0.join("; "))]
    InvalidWave(Vec<String>),
    #[error("the case has {} problem(s)", .0.len())]
    InvalidCase(Vec<Problem>),
    /// A form other than a case's (a campaign, a quiz file) with its problems, each with its place.
    #[error("{} problem(s)", .0.len())]
    Invalid(Vec<Problem>),
    #[error("no feedback case has tracking code {0}")]
    CaseNotFound(String),
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("case {0} was changed by someone else meanwhile")]
    Stale(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    /// Work that takes a while is under way; ask again shortly.
    #[error("{0}")]
    Busy(String),
    /// Scores, charts or tables could not be computed (the details go to the log, not to the page).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The SHA-256 of `text` in lower-case hex: what is stored of a token, a key or a seed (never the thing itself).
pub(crate) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `N` random bytes in lower-case hex: a link's token, a reporter's key, a draw's seed.
pub(crate) fn random_hex<const N: usize>() -> String {
    hex::encode(rand::random::<[u8; N]>())
}
