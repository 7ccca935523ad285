//! ykien's scoring, as pure functions from answers to scores, following the "Scoring method" of DESIGN.md.
//!
//! The server crate `ykien` reads answers from storage and hands them here; this crate never depends on it nor on
//! `ykien-bots`, does no I/O and keeps no state, so every number on a dashboard, export or printed report can be
//! recomputed and tested from plain inputs. It walks the method's steps in order: [`indicator`] turns one answer
//! into a value in [0, 1] (step 1), [`aggregate`] turns values into indicator, sub-dimension, dimension (1–10) and
//! total (8–80) scores and says whether a unit has answers enough to be shown (steps 2–4), and
//! [`quartile`](mod@quartile) places units into PAPI's four groups (step 5). Bootstrap intervals, unit lineage and
//! charts come later.

pub mod aggregate;
pub mod indicator;
pub mod quartile;

pub use aggregate::{
    DIMENSION_COUNT, DIMENSION_MAX, DIMENSION_MIN, MIN_RESPONDENTS_ENOUGH, MIN_RESPONDENTS_SHOWN, ScoreError,
    Sufficiency, TOTAL_MAX, TOTAL_MIN, dimension_score, subdimension_score, sufficiency, total_score, weighted_mean,
};
pub use indicator::{Answer, NO_CODE, RuleError, ValueRule, YES_CODE};
pub use quartile::{Quartile, cut_points, quartile};
