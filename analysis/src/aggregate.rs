//! Steps 2–4 of the scoring method: from respondents' values to a unit's indicator, sub-dimension, dimension and
//! total scores, and whether a unit has answers enough to be shown.
//!
//! Each function takes the level below as plain numbers so the service (and later the polars pipeline) can group
//! rows however it stores them. Inputs outside a level's scale are refused with a [`ScoreError`] rather than
//! passed on, because a score of 11 out of 10 on a leader's dashboard is worse than no score.

use serde::{Deserialize, Serialize};

/// The number of PAPI dimensions since 2018, which fixes the range of the total score.
pub const DIMENSION_COUNT: usize = 8;

/// The lowest dimension score, given to a unit whose every value is 0 (PAPI's scale starts at 1, not 0).
pub const DIMENSION_MIN: f64 = 1.0;

/// The highest dimension score, given to a unit whose every value is 1.
pub const DIMENSION_MAX: f64 = 10.0;

/// The lowest total score: eight dimensions at [`DIMENSION_MIN`].
pub const TOTAL_MIN: f64 = DIMENSION_MIN * DIMENSION_COUNT as f64;

/// The highest total score: eight dimensions at [`DIMENSION_MAX`].
pub const TOTAL_MAX: f64 = DIMENSION_MAX * DIMENSION_COUNT as f64;

/// Below this many respondents a unit is not shown on public pages at all: with so few, a score could point at
/// the individual people who answered.
pub const MIN_RESPONDENTS_SHOWN: usize = 10;

/// Below this many respondents a unit's score is shown marked "not enough answers", because its interval is too
/// wide to compare it with its neighbours.
pub const MIN_RESPONDENTS_ENOUGH: usize = 30;

/// Why a set of numbers cannot be aggregated; the position points at the offending input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// Post-stratification weights count people, so a negative one has no meaning.
    #[error("weight {weight} at position {index} is negative")]
    NegativeWeight {
        /// Position of the pair in the input.
        index: usize,
        /// The weight given.
        weight: f64,
    },
    /// A NaN or infinite weight would make the mean NaN or swallow every other respondent.
    #[error("weight at position {index} is not a finite number: {weight}")]
    NonFiniteWeight {
        /// Position of the pair in the input.
        index: usize,
        /// The weight given.
        weight: f64,
    },
    /// A NaN or infinite value would make the score NaN.
    #[error("value at position {index} is not a finite number: {value}")]
    NonFiniteValue {
        /// Position of the value in the input.
        index: usize,
        /// The value given.
        value: f64,
    },
    /// Finite weights whose sum overflows cannot be divided by.
    #[error("the weights add up to more than a floating-point number can hold")]
    TotalWeightOverflow,
    /// A value outside the scale of its level, which only a bug upstream can produce.
    #[error("value {value} at position {index} is outside the scale [{min}, {max}]")]
    OutOfScale {
        /// Position of the value in the input.
        index: usize,
        /// The value given.
        value: f64,
        /// The bottom of the expected scale.
        min: f64,
        /// The top of the expected scale.
        max: f64,
    },
}

/// Step 2: a unit's indicator score, the weighted mean of `(value, weight)` over respondents who have a value.
///
/// Weights are 1 unless post-stratification weights are loaded. `Ok(None)` means there is nothing to score (no
/// pairs, or every weight 0), which the caller shows as "no answers", not as 0. Negative or non-finite weights and
/// non-finite values are refused with their position, since they come from files an administrator loads.
pub fn weighted_mean(values: &[(f64, f64)]) -> Result<Option<f64>, ScoreError> {
    let mut mean = WeightedMean::default();
    for &(value, weight) in values {
        mean.push(value, weight)?;
    }
    mean.finish()
}

/// [`weighted_mean`] one pair at a time, for callers that meet a unit's respondents one by one and would
/// otherwise collect the pairs first. The same sums in the same order, so the same number to the bit.
#[derive(Debug, Clone, Copy)]
pub struct WeightedMean {
    index: usize,
    total_weight: f64,
    weighted_sum: f64,
    lowest: f64,
    highest: f64,
}

impl Default for WeightedMean {
    fn default() -> Self {
        Self {
            index: 0,
            total_weight: 0.0,
            weighted_sum: 0.0,
            lowest: f64::INFINITY,
            highest: f64::NEG_INFINITY,
        }
    }
}

impl WeightedMean {
    /// Adds the next pair; an error names its position among the pairs pushed so far.
    pub fn push(&mut self, value: f64, weight: f64) -> Result<(), ScoreError> {
        let index = self.index;
        self.index += 1;
        if !value.is_finite() {
            return Err(ScoreError::NonFiniteValue { index, value });
        }
        if !weight.is_finite() {
            return Err(ScoreError::NonFiniteWeight { index, weight });
        }
        if weight < 0.0 {
            return Err(ScoreError::NegativeWeight { index, weight });
        }
        if weight > 0.0 {
            self.total_weight += weight;
            self.weighted_sum += weight * value;
            self.lowest = self.lowest.min(value);
            self.highest = self.highest.max(value);
        }
        Ok(())
    }

    /// The mean of the pairs pushed; `Ok(None)` when there were none or every weight was 0.
    pub fn finish(&self) -> Result<Option<f64>, ScoreError> {
        if !self.total_weight.is_finite() || !self.weighted_sum.is_finite() {
            return Err(ScoreError::TotalWeightOverflow);
        }
        if self.total_weight == 0.0 {
            return Ok(None);
        }
        // A mean lies between its smallest and largest term; clamping only removes rounding noise, so that values
        // in [0, 1] can never produce a score a hair outside it.
        Ok(Some(
            (self.weighted_sum / self.total_weight).clamp(self.lowest, self.highest),
        ))
    }
}

/// Step 3, first half: a sub-dimension score, the plain mean of its indicator scores in [0, 1].
///
/// Indicators are not weighted against each other, as in PAPI. `Ok(None)` when the unit has no indicator score
/// in this sub-dimension.
pub fn subdimension_score(indicator_scores: &[f64]) -> Result<Option<f64>, ScoreError> {
    unit_mean(indicator_scores)
}

/// Step 3, second half: a dimension score on PAPI's 1–10 scale, 1 + 9 × the mean of its sub-dimension scores.
///
/// Keeping PAPI's scale lets leaders set a commune's score beside the province's published PAPI score. `Ok(None)`
/// when the unit has no sub-dimension score in this dimension; sub-dimension scores outside [0, 1] are refused.
pub fn dimension_score(subdimension_scores: &[f64]) -> Result<Option<f64>, ScoreError> {
    Ok(unit_mean(subdimension_scores)?.map(|mean| DIMENSION_MIN + (DIMENSION_MAX - DIMENSION_MIN) * mean))
}

/// Step 3, last: the total, the plain sum of the eight dimension scores, 8–80.
///
/// PAPI labels this total "unweighted" because no dimension counts more than another; ykien keeps both the sum
/// and the label so the two can be compared. Dimension scores outside 1–10 are refused.
pub fn total_score(dimension_scores: &[f64; DIMENSION_COUNT]) -> Result<f64, ScoreError> {
    for (index, &value) in dimension_scores.iter().enumerate() {
        check_scale(index, value, DIMENSION_MIN, DIMENSION_MAX)?;
    }
    Ok(dimension_scores.iter().sum::<f64>().clamp(TOTAL_MIN, TOTAL_MAX))
}

/// Whether a unit has answers enough to be published and compared (step 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sufficiency {
    /// Fewer than [`MIN_RESPONDENTS_SHOWN`] respondents: not shown on public pages at all (privacy).
    Hidden,
    /// Fewer than [`MIN_RESPONDENTS_ENOUGH`] respondents: shown, marked "not enough answers".
    NotEnough,
    /// Enough respondents to show the score without a warning.
    Enough,
}

impl Sufficiency {
    /// Public pages ask this rather than matching on the variants, so the privacy rule lives in one place.
    pub fn is_public(self) -> bool {
        self != Self::Hidden
    }

    /// The mark shown next to a score, in Vietnamese; `None` when the score needs no mark.
    pub fn label_vi(self) -> Option<&'static str> {
        match self {
            Self::Hidden => Some("Chưa đủ câu trả lời để công bố"),
            Self::NotEnough => Some("Chưa đủ câu trả lời"),
            Self::Enough => None,
        }
    }

    /// The mark shown next to a score, in English; `None` when the score needs no mark.
    pub fn label_en(self) -> Option<&'static str> {
        match self {
            Self::Hidden => Some("Too few answers to publish"),
            Self::NotEnough => Some("Not enough answers"),
            Self::Enough => None,
        }
    }
}

/// How far a unit's `respondents` (in one dimension) let it be shown, by the thresholds of the design.
pub fn sufficiency(respondents: usize) -> Sufficiency {
    if respondents < MIN_RESPONDENTS_SHOWN {
        Sufficiency::Hidden
    } else if respondents < MIN_RESPONDENTS_ENOUGH {
        Sufficiency::NotEnough
    } else {
        Sufficiency::Enough
    }
}

/// The mean of scores that must lie in [0, 1].
fn unit_mean(scores: &[f64]) -> Result<Option<f64>, ScoreError> {
    for (index, &value) in scores.iter().enumerate() {
        check_scale(index, value, 0.0, 1.0)?;
    }
    if scores.is_empty() {
        return Ok(None);
    }
    // The count converts exactly below 2^53 scores.
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    Ok(Some(mean.clamp(0.0, 1.0)))
}

fn check_scale(index: usize, value: f64, min: f64, max: f64) -> Result<(), ScoreError> {
    if !value.is_finite() {
        Err(ScoreError::NonFiniteValue { index, value })
    } else if !(min..=max).contains(&value) {
        Err(ScoreError::OutOfScale { index, value, min, max })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn weighted_mean_ignores_nothing_and_weights_count() {
        // Every respondent with a value counts, zeros included.
        let unweighted = weighted_mean(&[(1.0, 1.0), (0.0, 1.0), (0.0, 1.0), (1.0, 1.0)])
            .expect("valid input")
            .expect("a mean");
        assert!(close(unweighted, 0.5), "{unweighted}");

        // A respondent who stands for three people counts three times.
        let weighted = weighted_mean(&[(1.0, 3.0), (0.0, 1.0)])
            .expect("valid input")
            .expect("a mean");
        assert!(close(weighted, 0.75), "{weighted}");

        // A zero weight drops a respondent without changing the others.
        let with_zero = weighted_mean(&[(1.0, 3.0), (0.0, 1.0), (0.0, 0.0)])
            .expect("valid input")
            .expect("a mean");
        assert!(close(with_zero, 0.75), "{with_zero}");
    }

    #[test]
    fn weighted_mean_of_nothing_is_no_score_rather_than_zero() {
        assert_eq!(weighted_mean(&[]), Ok(None));
        assert_eq!(weighted_mean(&[(1.0, 0.0), (0.5, 0.0)]), Ok(None));
    }

    #[test]
    fn weighted_mean_refuses_bad_weights_and_values_with_their_position() {
        assert_eq!(
            weighted_mean(&[(1.0, 1.0), (0.5, -2.0)]),
            Err(ScoreError::NegativeWeight { index: 1, weight: -2.0 })
        );
        assert!(matches!(
            weighted_mean(&[(1.0, f64::NAN)]),
            Err(ScoreError::NonFiniteWeight { index: 0, .. })
        ));
        assert_eq!(
            weighted_mean(&[(1.0, 1.0), (1.0, 1.0), (0.0, f64::INFINITY)]),
            Err(ScoreError::NonFiniteWeight {
                index: 2,
                weight: f64::INFINITY
            })
        );
        assert!(matches!(
            weighted_mean(&[(f64::NAN, 1.0)]),
            Err(ScoreError::NonFiniteValue { index: 0, .. })
        ));
        assert_eq!(
            weighted_mean(&[(1.0, f64::MAX), (1.0, f64::MAX)]),
            Err(ScoreError::TotalWeightOverflow)
        );
        let message = weighted_mean(&[(0.5, -1.0)]).expect_err("negative weight").to_string();
        assert!(message.contains("negative"), "{message}");
    }

    #[test]
    fn subdimension_score_is_the_plain_mean_of_its_indicators() {
        assert_eq!(subdimension_score(&[1.0, 0.5, 0.0]), Ok(Some(0.5)));
        assert_eq!(subdimension_score(&[]), Ok(None));
    }

    #[test]
    fn dimension_score_spans_one_to_ten() {
        assert_eq!(dimension_score(&[0.0, 0.0, 0.0]), Ok(Some(1.0)));
        assert_eq!(dimension_score(&[1.0, 1.0]), Ok(Some(10.0)));
        assert_eq!(dimension_score(&[0.5]), Ok(Some(5.5)));
        let mixed = dimension_score(&[1.0, 0.0, 0.5, 0.5])
            .expect("valid input")
            .expect("a score");
        assert!(close(mixed, 5.5), "{mixed}");
        assert_eq!(dimension_score(&[]), Ok(None));
    }

    #[test]
    fn dimension_score_refuses_sub_dimension_scores_off_the_unit_scale() {
        assert_eq!(
            dimension_score(&[0.5, 1.2]),
            Err(ScoreError::OutOfScale {
                index: 1,
                value: 1.2,
                min: 0.0,
                max: 1.0
            })
        );
        assert!(matches!(
            dimension_score(&[f64::NAN]),
            Err(ScoreError::NonFiniteValue { index: 0, .. })
        ));
        assert!(dimension_score(&[-0.01]).is_err());
    }

    #[test]
    fn total_of_eight_perfect_dimensions_is_eighty() {
        assert_eq!(total_score(&[10.0; 8]), Ok(80.0));
        assert_eq!(total_score(&[1.0; 8]), Ok(8.0));
        assert_eq!(total_score(&[5.0, 6.0, 4.5, 7.0, 6.5, 7.5, 3.5, 2.0]), Ok(42.0));
    }

    #[test]
    fn total_refuses_dimension_scores_off_the_one_to_ten_scale() {
        let mut scores = [5.0; 8];
        scores[3] = 0.5; // a [0, 1] value passed where a 1–10 score was expected
        assert_eq!(
            total_score(&scores),
            Err(ScoreError::OutOfScale {
                index: 3,
                value: 0.5,
                min: 1.0,
                max: 10.0
            })
        );
    }

    #[test]
    fn sufficiency_thresholds_match_design() {
        assert_eq!(MIN_RESPONDENTS_SHOWN, 10);
        assert_eq!(MIN_RESPONDENTS_ENOUGH, 30);
        assert_eq!(sufficiency(0), Sufficiency::Hidden);
        assert_eq!(sufficiency(9), Sufficiency::Hidden);
        assert_eq!(sufficiency(10), Sufficiency::NotEnough);
        assert_eq!(sufficiency(29), Sufficiency::NotEnough);
        assert_eq!(sufficiency(30), Sufficiency::Enough);
        assert_eq!(sufficiency(5_000), Sufficiency::Enough);
    }

    #[test]
    fn only_hidden_units_stay_off_public_pages() {
        assert!(!Sufficiency::Hidden.is_public());
        assert!(Sufficiency::NotEnough.is_public());
        assert!(Sufficiency::Enough.is_public());
        assert_eq!(Sufficiency::NotEnough.label_vi(), Some("Chưa đủ câu trả lời"));
        assert_eq!(Sufficiency::NotEnough.label_en(), Some("Not enough answers"));
        assert_eq!(Sufficiency::Enough.label_vi(), None);
    }
}
