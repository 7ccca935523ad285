//! Survey weights by raking (iterative proportional fitting, Deming & Stephan 1940): web and chat respondents
//! choose themselves, so a wave's respondents in a province are weighted until their profile (sex × age group,
//! education, …) matches the province's population margins; scores then use the weights ([`crate::Weights`]).
//!
//! The method, as `docs/weights.md` states it:
//!
//! 1. Every respondent starts with weight 1. A margin is one profile question or a cross of several (`p_sex*p_age`)
//!    with the population of each of its cells. One *sweep* adjusts the margins in the order given: for a margin,
//!    the respondents with a known cell are scaled, cell by cell, so that their weight shares equal the
//!    population shares of the cells that have respondents (a cell without respondents cannot be matched and
//!    is left out of the shares), their total weight unchanged.
//! 2. Respondents with no known cell in a margin (no answer, or an answer the margin does not list, such as "Khác"
//!    when the census publishes men and women only) are kept, not dropped: that margin leaves their weight as it
//!    is, the other margins adjust it.
//! 3. Sweeps repeat until every cell's weight share is within [`RakeOptions::tolerance`] of its population share,
//!    or [`RakeOptions::max_iterations`] sweeps.
//! 4. Weights above [`RakeOptions::cap`] × the mean weight are cut to it (again, until none is above: each cut
//!    lowers the mean) and the respondents raked again, up to [`TRIM_ROUNDS`] times; the last cut keeps the cap
//!    whatever the margins say, so the margins then hold only approximately. Weights are finally scaled to a mean
//!    of 1, so the weighted count equals the number of respondents.
//!
//! The cost in precision is reported as Kish's design effect `n Σw² / (Σw)²` and effective sample size
//! `(Σw)² / Σw²`.

use serde::{Deserialize, Serialize};

/// How many times weights are trimmed and raked again.
pub const TRIM_ROUNDS: usize = 10;

/// How raking stops and how far weights may go.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RakeOptions {
    /// Sweeps at most (per trimming round).
    pub max_iterations: usize,
    /// The largest gap allowed between a cell's weight share and its population share.
    pub tolerance: f64,
    /// The largest weight, as a multiple of the mean weight (`f64::INFINITY`: no trimming).
    pub cap: f64,
}

impl Default for RakeOptions {
    /// 100 sweeps, shares within 10⁻⁶, weights at most 5 times the mean (a common cap in survey practice: it keeps
    /// the design effect of trimming-free raking from exploding on thin cells).
    fn default() -> Self {
        Self {
            max_iterations: 100,
            tolerance: 1e-6,
            cap: 5.0,
        }
    }
}

/// Weights and what they cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Raked {
    /// Per respondent, in the order given, with mean 1.
    pub weights: Vec<f64>,
    /// Sweeps done in the last raking round.
    pub iterations: usize,
    /// Whether the last round met the tolerance before the cap's last cut.
    pub converged: bool,
    /// Respondents whose weight the last cut lowered to the cap.
    pub trimmed: usize,
    /// Kish's design effect, `n Σw² / (Σw)²` (1 without weights).
    pub design_effect: f64,
    /// Kish's effective sample size, `(Σw)² / Σw²`.
    pub effective_n: f64,
}

/// Kish's design effect and effective sample size of a set of weights.
pub fn kish(weights: &[f64]) -> (f64, f64) {
    let sum: f64 = weights.iter().sum();
    let squares: f64 = weights.iter().map(|w| w * w).sum();
    if sum <= 0.0 || squares <= 0.0 {
        return (1.0, 0.0);
    }
    let effective = sum * sum / squares;
    (weights.len() as f64 / effective, effective)
}

/// Rakes respondents to margins.
///
/// `cells[r][m]` is respondent `r`'s cell in margin `m` (`None`: unknown); `populations[m][c]` the population of
/// cell `c` of margin `m` (any unit: shares are taken within each margin).
pub fn rake(cells: &[Vec<Option<usize>>], populations: &[Vec<f64>], options: &RakeOptions) -> Raked {
    let n = cells.len();
    let mut weights = vec![1.0; n];
    let mut iterations = 0;
    let mut converged = n == 0;
    let mut trimmed = 0;
    for round in 0..=TRIM_ROUNDS {
        (iterations, converged) = rake_round(cells, populations, options, &mut weights);
        trimmed = cut(&mut weights, options.cap);
        if trimmed == 0 || round == TRIM_ROUNDS {
            break;
        }
    }
    let mean = weights.iter().sum::<f64>() / n.max(1) as f64;
    if mean > 0.0 {
        weights.iter_mut().for_each(|w| *w /= mean);
    }
    let (design_effect, effective_n) = kish(&weights);
    Raked {
        weights,
        iterations,
        converged,
        trimmed,
        design_effect,
        effective_n,
    }
}

/// Lowers the weights above `cap` × the mean weight to it, again until none is above (each cut lowers the mean);
/// returns how many were lowered.
fn cut(weights: &mut [f64], cap: f64) -> usize {
    if !cap.is_finite() || weights.is_empty() {
        return 0;
    }
    let mut lowered = vec![false; weights.len()];
    for _ in 0..1000 {
        let limit = cap * weights.iter().sum::<f64>() / weights.len() as f64;
        let mut any = false;
        for (w, low) in weights.iter_mut().zip(lowered.iter_mut()) {
            if *w > limit * (1.0 + 1e-12) {
                *w = limit;
                *low = true;
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    lowered.iter().filter(|l| **l).count()
}

/// Sweeps until the margins are met or the sweeps run out; returns (sweeps, met).
fn rake_round(
    cells: &[Vec<Option<usize>>],
    populations: &[Vec<f64>],
    options: &RakeOptions,
    weights: &mut [f64],
) -> (usize, bool) {
    for sweep in 1..=options.max_iterations {
        for (m, population) in populations.iter().enumerate() {
            let (sums, total) = cell_sums(cells, m, population.len(), weights);
            let Some(shares) = shares(population, &sums) else {
                continue;
            };
            let factors: Vec<f64> = sums
                .iter()
                .zip(&shares)
                .map(|(&s, &p)| if s > 0.0 { p * total / s } else { 1.0 })
                .collect();
            for (w, row) in weights.iter_mut().zip(cells) {
                if let Some(c) = row.get(m).copied().flatten()
                    && let Some(f) = factors.get(c)
                {
                    *w *= f;
                }
            }
        }
        if largest_gap(cells, populations, weights) <= options.tolerance {
            return (sweep, true);
        }
    }
    (options.max_iterations, false)
}

/// Per cell of margin `m`, the weight of its respondents, and their total.
fn cell_sums(cells: &[Vec<Option<usize>>], m: usize, width: usize, weights: &[f64]) -> (Vec<f64>, f64) {
    let mut sums = vec![0.0; width];
    for (row, &w) in cells.iter().zip(weights) {
        if let Some(slot) = row.get(m).copied().flatten().and_then(|c| sums.get_mut(c)) {
            *slot += w;
        }
    }
    let total = sums.iter().sum();
    (sums, total)
}

/// The population shares of the cells that have respondents (0 for the others); `None` when no cell has both.
fn shares(population: &[f64], sums: &[f64]) -> Option<Vec<f64>> {
    let present: f64 = population
        .iter()
        .zip(sums)
        .filter(|(_, s)| **s > 0.0)
        .map(|(p, _)| p.max(0.0))
        .sum();
    (present > 0.0).then(|| {
        population
            .iter()
            .zip(sums)
            .map(|(p, s)| if *s > 0.0 { p.max(0.0) / present } else { 0.0 })
            .collect()
    })
}

/// The largest gap between a cell's weight share and its population share, over every margin.
fn largest_gap(cells: &[Vec<Option<usize>>], populations: &[Vec<f64>], weights: &[f64]) -> f64 {
    let mut gap: f64 = 0.0;
    for (m, population) in populations.iter().enumerate() {
        let (sums, total) = cell_sums(cells, m, population.len(), weights);
        let Some(shares) = shares(population, &sums) else {
            continue;
        };
        if total <= 0.0 {
            continue;
        }
        for (s, p) in sums.iter().zip(&shares) {
            gap = gap.max((s / total - p).abs());
        }
    }
    gap
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Six respondents: three young men, an old man, a young woman, an old woman; the population is half men,
    /// 30% young. Worked by hand, in fractions:
    ///
    /// - sweep 1, sex: men weigh 4 for a target of 3 (× 3/4), women 2 for 3 (× 3/2): 3/4, 3/4, 3/2, 3/2;
    ///   age: the young weigh 3 × 3/4 + 3/2 = 15/4 for 1.8 (× 12/25), the old 9/4 for 4.2 (× 28/15):
    ///   young man 9/25, old man 7/5, young woman 18/25, old woman 14/5;
    /// - sweep 2: 198/485, 462/265, 279/485, 651/265; sweep 3: 3771/9175, 8799/4985, 5202/9175, 12138/4985.
    #[test]
    fn two_margins_raked_three_sweeps_by_hand() {
        let (m, f, y, o) = (0, 1, 0, 1);
        let people = [(m, y), (m, y), (m, y), (m, o), (f, y), (f, o)];
        let cells: Vec<Vec<Option<usize>>> = people.iter().map(|&(s, a)| vec![Some(s), Some(a)]).collect();
        let populations = vec![vec![50.0, 50.0], vec![30.0, 70.0]];
        let expected = [
            [9.0 / 25.0, 7.0 / 5.0, 18.0 / 25.0, 14.0 / 5.0],
            [198.0 / 485.0, 462.0 / 265.0, 279.0 / 485.0, 651.0 / 265.0],
            [3771.0 / 9175.0, 8799.0 / 4985.0, 5202.0 / 9175.0, 12138.0 / 4985.0],
        ];
        for (sweeps, want) in expected.iter().enumerate() {
            let options = RakeOptions {
                max_iterations: sweeps + 1,
                tolerance: 0.0,
                cap: f64::INFINITY,
            };
            let raked = rake(&cells, &populations, &options);
            // The total weight stays 6, so the mean-1 scaling changes nothing.
            let got = [raked.weights[0], raked.weights[3], raked.weights[4], raked.weights[5]];
            assert!(
                got.iter().zip(want).all(|(a, b)| close(*a, *b)),
                "sweep {}: {got:?}",
                sweeps + 1
            );
            assert!(close(raked.weights[1], raked.weights[0]));
            assert!(!raked.converged);
        }
    }

    #[test]
    fn unknown_cells_keep_their_weight_in_that_margin_and_empty_cells_are_left_out() {
        // The third respondent's sex is unknown; nobody is old, so age has one cell with respondents.
        let cells = vec![vec![Some(0), Some(0)], vec![Some(1), Some(0)], vec![None, Some(0)]];
        let raked = rake(&cells, &[vec![3.0, 1.0], vec![1.0, 9.0]], &RakeOptions::default());
        assert!(raked.converged);
        // Men carry 3/4 of the known-sex weight; the third respondent is untouched by sex and by age.
        let w = &raked.weights;
        assert!(close(w[0] / (w[0] + w[1]), 0.75), "{w:?}");
        assert!(close(w[2] * 3.0 / w.iter().sum::<f64>(), 1.0), "{w:?}");
    }

    #[test]
    fn weights_are_cut_at_the_cap_and_kish_measures_their_cost() {
        // One woman among nine men, for a population half women: she would weigh 9 times a man.
        let mut cells = vec![vec![Some(0)]; 9];
        cells.push(vec![Some(1)]);
        let free = rake(
            &cells,
            &[vec![1.0, 1.0]],
            &RakeOptions {
                cap: f64::INFINITY,
                ..RakeOptions::default()
            },
        );
        assert!(close(free.weights[9] / free.weights[0], 9.0));
        let capped = rake(
            &cells,
            &[vec![1.0, 1.0]],
            &RakeOptions {
                cap: 3.0,
                ..RakeOptions::default()
            },
        );
        assert_eq!(capped.trimmed, 1);
        assert!((capped.weights[9] - 3.0).abs() < 1e-9, "{:?}", capped.weights);
        assert!(close(capped.weights.iter().sum::<f64>(), 10.0));
        let (deff, effective) = kish(&free.weights);
        // Σw = 10, Σw² = 9 × (5/9)² + 5² = 250/9: deff = 10 × (250/9) / 100, effective n = 100 / (250/9).
        assert!(close(deff, 25.0 / 9.0) && close(effective, 3.6), "{deff} {effective}");
        assert!(close(free.design_effect, deff));
        assert_eq!(kish(&[1.0; 4]), (1.0, 4.0));
    }
}
