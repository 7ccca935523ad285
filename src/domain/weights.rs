//! A wave's stored survey weights (issue 16, `docs/weights.md`): how they were made and what they cost in
//! precision. One type for every surface that says whether scores are weighted: `ykien weights show`, the
//! dashboard, the reports.
//!
//! The weights themselves are per response (`Store::response_weights`); a response completed after they were
//! computed has none and counts with [`LATE_RESPONSE_WEIGHT`].

use chrono::{DateTime, Utc};
use uuid::Uuid;
pub use ykien_analysis::ProvinceWeights;

/// The weight of a response that has no stored weight (completed, or restored from review, after the weights
/// were computed): 1, the mean weight, since weights are scaled to a mean of 1 per wave and province. Such a
/// response counts as an average respondent whatever its profile, so the more of them there are the less the
/// weights correct; the surfaces say how many there are, so that a leader knows when to compute them again.
pub const LATE_RESPONSE_WEIGHT: f64 = 1.0;

/// The summary of a wave's stored weights.
#[derive(Clone, Debug, PartialEq)]
pub struct WaveWeighting {
    pub wave_id: Uuid,
    pub computed_at: DateTime<Utc>,
    /// The largest weight allowed, as a multiple of the mean weight.
    pub cap: f64,
    /// The margins file's name, without its folder.
    pub margins_file: String,
    /// The SHA-256 of the margins file's bytes, in lower-case hex: which figures were used, exactly.
    pub margins_sha256: String,
    /// The margins file's comment lines (`#` and spaces removed): the published source of its figures.
    pub sources: Vec<String>,
    /// Complete responses that were weighted.
    pub respondents: u64,
    /// Complete responses left without a weight because their commune is not one valid today and has no
    /// successor in the lineage (they count with [`LATE_RESPONSE_WEIGHT`]).
    pub left_out: u64,
    /// Per province, in province code order.
    pub provinces: Vec<ProvinceWeights>,
}

impl WaveWeighting {
    /// Kish's design effect over the whole wave, from the provinces' own: each province's weights have mean 1,
    /// so its Σw² is `n × deff`, and the wave's `N Σw² / (Σw)²` is `Σ n·deff / N`.
    pub fn design_effect(&self) -> f64 {
        let n: usize = self.provinces.iter().map(|p| p.respondents).sum();
        if n == 0 {
            return 1.0;
        }
        let squares: f64 = self
            .provinces
            .iter()
            .map(|p| p.respondents as f64 * p.design_effect)
            .sum();
        squares / n as f64
    }

    /// Kish's effective sample size over the whole wave, `N / deff`.
    pub fn effective_n(&self) -> f64 {
        let n: usize = self.provinces.iter().map(|p| p.respondents).sum();
        n as f64 / self.design_effect()
    }

    /// Whether every province met its margins (see `docs/weights.md` when not).
    pub fn converged(&self) -> bool {
        self.provinces.iter().all(|p| p.converged || !p.has_margins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn province(code: &str, respondents: usize, design_effect: f64) -> ProvinceWeights {
        ProvinceWeights {
            province_code: code.into(),
            respondents,
            incomplete_profiles: 0,
            converged: true,
            iterations: 3,
            trimmed: 0,
            design_effect,
            effective_n: respondents as f64 / design_effect,
            has_margins: true,
        }
    }

    #[test]
    fn the_waves_design_effect_pools_the_provinces_sums_of_squares() {
        // Province A: weights 0.5, 1.5 (Σw² = 2.5, deff 1.25); province B: 1, 1, 1 (deff 1). The wave's five
        // weights: Σw = 5, Σw² = 5.5, deff = 5 × 5.5 / 25 = 1.1, effective n = 25 / 5.5.
        let (deff_a, _) = ykien_analysis::kish(&[0.5, 1.5]);
        let weighting = WaveWeighting {
            wave_id: Uuid::nil(),
            computed_at: DateTime::UNIX_EPOCH,
            cap: 5.0,
            margins_file: "m.csv".into(),
            margins_sha256: String::new(),
            sources: Vec::new(),
            respondents: 5,
            left_out: 0,
            provinces: vec![province("A", 2, deff_a), province("B", 3, 1.0)],
        };
        assert!((weighting.design_effect() - 1.1).abs() < 1e-12);
        assert!((weighting.effective_n() - 25.0 / 5.5).abs() < 1e-12);
        assert!(weighting.converged());
    }
}
