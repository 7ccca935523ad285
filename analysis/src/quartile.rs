//! Step 5 of the scoring method: the four quartile groups leaders read units by, and the cut points between them.
//!
//! Cut points are computed once per wave from the scores of the units being compared (a province's communes, on
//! one dimension or on the total) and stored with the wave, so that a unit's group does not shift when a later
//! wave is scored and the printed reports stay true.

use serde::{Deserialize, Serialize};

/// A unit's quartile group within its province, named as PAPI's reports name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quartile {
    /// At or above the 75th percentile.
    Cao,
    /// From the median up to the 75th percentile.
    TrungBinhCao,
    /// From the 25th percentile up to the median.
    TrungBinhThap,
    /// Below the 25th percentile.
    Thap,
}

impl Quartile {
    /// The groups from best to poorest, the order legends and tables list them in.
    pub const ALL: [Self; 4] = [Self::Cao, Self::TrungBinhCao, Self::TrungBinhThap, Self::Thap];

    /// The group's name on Vietnamese pages and reports, the default language.
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Cao => "Cao",
            Self::TrungBinhCao => "Trung bình cao",
            Self::TrungBinhThap => "Trung bình thấp",
            Self::Thap => "Thấp",
        }
    }

    /// The group's name behind the English switch, worded as PAPI's English reports word it.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Cao => "Best",
            Self::TrungBinhCao => "High average",
            Self::TrungBinhThap => "Low average",
            Self::Thap => "Poor",
        }
    }
}

/// The 25th, 50th and 75th percentiles of `scores`, the cut points between the four groups.
///
/// Method: sort the n scores as x₀ ≤ … ≤ xₙ₋₁; the p-th percentile sits at rank h = (n − 1)·p and is
/// x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋₊₁ − x⌊h⌋), linear interpolation between the two closest ranks. This is Hyndman and Fan's
/// type 7, the default of R's `quantile`, NumPy's `percentile` and Excel's `PERCENTILE.INC`, so anyone can check a
/// report's cut points with the tool at hand. The order of `scores` does not matter.
///
/// `None` when there are no scores or one of them is not a finite number (a bug upstream: scores are finite by
/// construction), because no cut is better than a NaN cut.
pub fn cut_points(scores: &[f64]) -> Option<[f64; 3]> {
    if scores.is_empty() || scores.iter().any(|score| !score.is_finite()) {
        return None;
    }
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some([
        percentile(&sorted, 0.25),
        percentile(&sorted, 0.50),
        percentile(&sorted, 0.75),
    ])
}

/// The group of `score` given the wave's `cuts` from [`cut_points`].
///
/// A score exactly on a cut joins the better group, so that the unit at the 75th percentile counts among the best,
/// and equal scores always land in the same group.
pub fn quartile(score: f64, cuts: &[f64; 3]) -> Quartile {
    let [lower, median, upper] = *cuts;
    if score >= upper {
        Quartile::Cao
    } else if score >= median {
        Quartile::TrungBinhCao
    } else if score >= lower {
        Quartile::TrungBinhThap
    } else {
        Quartile::Thap
    }
}

/// Type-7 percentile of non-empty sorted finite data.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let last = sorted.len().saturating_sub(1);
    // The rank converts exactly below 2^53 units.
    let rank = last as f64 * p;
    let below = rank.floor();
    // Within 0..=last because 0 ≤ p ≤ 1.
    let index = below as usize;
    let fraction = rank - below;
    match (sorted.get(index), sorted.get(index + 1)) {
        (Some(&low), Some(&high)) => low + fraction * (high - low),
        (Some(&low), None) => low,
        // Unreachable for non-empty data; NaN would be caught by any caller comparing against it.
        (None, _) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_cuts(actual: Option<[f64; 3]>, expected: [f64; 3]) {
        let actual = actual.expect("cut points");
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-9, "cuts {actual:?}, expected {expected:?}");
        }
    }

    #[test]
    fn quartile_cut_points_on_known_data() {
        // Six commune totals, given out of order. By hand, h = 5p:
        // p = .25 → h = 1.25 → 32 + 0.25 × (35 − 32) = 32.75
        // p = .50 → h = 2.5  → 35 + 0.5  × (36 − 35) = 35.5
        // p = .75 → h = 3.75 → 36 + 0.75 × (40 − 36) = 39
        assert_cuts(cut_points(&[40.0, 30.0, 44.0, 35.0, 32.0, 36.0]), [32.75, 35.5, 39.0]);
        // 1..=10, h = 9p: 3.25, 5.5, 7.75 (as R's quantile(1:10) prints).
        let one_to_ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_cuts(cut_points(&one_to_ten), [3.25, 5.5, 7.75]);
        // Five scores fall exactly on ranks 1, 2, 3.
        assert_cuts(cut_points(&[45.1, 38.2, 44.7, 41.5, 43.0]), [41.5, 43.0, 44.7]);
    }

    #[test]
    fn a_single_unit_is_its_own_cut_points() {
        assert_cuts(cut_points(&[42.0]), [42.0, 42.0, 42.0]);
        assert_eq!(quartile(42.0, &[42.0, 42.0, 42.0]), Quartile::Cao);
    }

    #[test]
    fn no_scores_or_a_non_finite_score_give_no_cut_points() {
        assert_eq!(cut_points(&[]), None);
        assert_eq!(cut_points(&[1.0, f64::NAN, 3.0]), None);
        assert_eq!(cut_points(&[1.0, f64::INFINITY]), None);
    }

    #[test]
    fn scores_fall_into_the_group_between_their_cuts_and_ties_go_up() {
        let cuts = [32.75, 35.5, 39.0];
        assert_eq!(quartile(44.0, &cuts), Quartile::Cao);
        assert_eq!(quartile(39.0, &cuts), Quartile::Cao);
        assert_eq!(quartile(38.9, &cuts), Quartile::TrungBinhCao);
        assert_eq!(quartile(35.5, &cuts), Quartile::TrungBinhCao);
        assert_eq!(quartile(35.0, &cuts), Quartile::TrungBinhThap);
        assert_eq!(quartile(32.75, &cuts), Quartile::TrungBinhThap);
        assert_eq!(quartile(32.0, &cuts), Quartile::Thap);
    }

    #[test]
    fn each_quarter_of_evenly_spread_units_gets_its_own_group() {
        let scores: Vec<f64> = (1..=8).map(f64::from).collect();
        let cuts = cut_points(&scores).expect("cut points");
        let groups: Vec<Quartile> = scores.iter().map(|&s| quartile(s, &cuts)).collect();
        use Quartile::*;
        assert_eq!(
            groups,
            [
                Thap,
                Thap,
                TrungBinhThap,
                TrungBinhThap,
                TrungBinhCao,
                TrungBinhCao,
                Cao,
                Cao
            ]
        );
    }

    #[test]
    fn groups_have_vietnamese_and_english_labels_best_first() {
        let vi: Vec<&str> = Quartile::ALL.iter().map(|q| q.label_vi()).collect();
        let en: Vec<&str> = Quartile::ALL.iter().map(|q| q.label_en()).collect();
        assert_eq!(vi, ["Cao", "Trung bình cao", "Trung bình thấp", "Thấp"]);
        assert_eq!(en, ["Best", "High average", "Low average", "Poor"]);
    }
}
