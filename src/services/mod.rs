//! The rules of ykien: what may happen, decided here; handlers call these, these call `storage`.

pub mod units;

use crate::storage::StoreError;

/// Why a service refused or failed; `http::error` maps each variant to a status in one place.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no administrative unit has code {0}")]
    UnitNotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
