//! Two steps after scoring (issue 23), kept apart from the pipeline so that it stays as it is:
//!
//! - the **dimension rule**: a unit whose respondents left a sub-dimension unanswered (nobody there applied for a
//!   land certificate, say) gets its dimension from the other sub-dimensions, which is not comparable with units
//!   measured on all of them. Under [`DimensionRule::All`] such a dimension score is withdrawn, and the total with
//!   it; under [`DimensionRule::AtLeast`] it is kept when enough sub-dimensions have answers and marked partial;
//!   [`DimensionRule::Any`] keeps every score unmarked (papi-2025's behaviour). Ranks and quartile groups are drawn
//!   again over the scores that remain.
//! - **PAPI's scale for sub-dimensions**: PAPI reports a sub-dimension s (0–1) of a dimension with k
//!   sub-dimensions as (1 + 9s) / k, so that a dimension's sub-dimensions add up to its 1–10 score.
//!   [`papi_scale`] gives that number, and [`write_scores_csv_with_papi`] writes `scores.csv` with it.
//!
//! "Has answers" means a respondent gave a value for the sub-dimension: its score is published or withheld for
//! having fewer than 10 respondents; a sub-dimension with no respondent at all has neither.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{self, Write};

use crate::codebook::Codebook;
use crate::scores::{Level, RawScore, ScoreRow, Scores, write_csv_fields};

/// When a dimension score stands although some of its sub-dimensions have no answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DimensionRule {
    /// Always, unmarked.
    Any,
    /// Only with every sub-dimension answered.
    All,
    /// With at least this many sub-dimensions answered; marked partial below all of them.
    AtLeast(usize),
}

/// A dimension score (or total) kept from fewer than all its parts under [`DimensionRule::AtLeast`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartialScore {
    pub wave: String,
    pub unit_code: String,
    pub level: Level,
    pub code: String,
}

/// The number of sub-dimensions of each dimension.
fn subdimension_counts(codebook: &Codebook) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for s in &codebook.subdimensions {
        *counts.entry(s.dimension.as_str()).or_default() += 1;
    }
    counts
}

/// A sub-dimension score on PAPI's scale, (1 + 9s) / k; `None` for rows of other levels. For many rows, build a
/// [`PapiScale`] once.
pub fn papi_scale(codebook: &Codebook, row: &ScoreRow) -> Option<f64> {
    PapiScale::new(codebook).of(row)
}

/// Sub-dimension scores on PAPI's scale, (1 + 9s) / k for a sub-dimension of a dimension of k sub-dimensions, with
/// each sub-dimension's k found once.
pub struct PapiScale<'c> {
    k_of: HashMap<&'c str, usize>,
}

impl<'c> PapiScale<'c> {
    /// The k of every sub-dimension of `codebook`.
    pub fn new(codebook: &'c Codebook) -> Self {
        let counts = subdimension_counts(codebook);
        let k_of = codebook
            .subdimensions
            .iter()
            .filter_map(|s| Some((s.code.as_str(), *counts.get(s.dimension.as_str())?)))
            .collect();
        Self { k_of }
    }

    /// The row's score on PAPI's scale; `None` for rows of other levels than the sub-dimension.
    pub fn of(&self, row: &ScoreRow) -> Option<f64> {
        if row.level != Level::Subdimension {
            return None;
        }
        let k = *self.k_of.get(row.code.as_str())?;
        Some((1.0 + 9.0 * row.score) / k as f64)
    }
}

/// Applies `rule` to `scores` (scored with `codebook`): withdraws the dimension scores and totals the rule does not
/// allow, ranks again, and returns the scores it kept as partial.
pub fn apply_dimension_rule(scores: &mut Scores, codebook: &Codebook, rule: DimensionRule) -> Vec<PartialScore> {
    if rule == DimensionRule::Any {
        return Vec::new();
    }
    let counts = subdimension_counts(codebook);
    let dimension_of: BTreeMap<&str, &str> = codebook
        .subdimensions
        .iter()
        .map(|s| (s.code.as_str(), s.dimension.as_str()))
        .collect();
    // (wave, unit, dimension) → sub-dimensions with answers.
    let mut answered: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let published = scores
        .rows
        .iter()
        .filter(|r| r.level == Level::Subdimension)
        .map(|r| (&r.wave, &r.unit_code, &r.code));
    let withheld = scores
        .withheld
        .iter()
        .filter(|r| r.level == Level::Subdimension)
        .map(|r| (&r.wave, &r.unit_code, &r.code));
    for (wave, unit, sub) in published.chain(withheld) {
        if let Some(dimension) = dimension_of.get(sub.as_str()) {
            *answered
                .entry((wave.clone(), unit.clone(), (*dimension).to_owned()))
                .or_default() += 1;
        }
    }
    let allowed = |k: usize, have: usize| match rule {
        DimensionRule::Any => true,
        DimensionRule::All => have >= k,
        DimensionRule::AtLeast(n) => have >= n.min(k),
    };
    // Per (wave, unit): whether any answered dimension fails the rule (no total then), and whether any is kept
    // from fewer than all its sub-dimensions (a partial total).
    let mut failing: BTreeSet<(String, String)> = BTreeSet::new();
    let mut partial_units: BTreeSet<(String, String)> = BTreeSet::new();
    for ((wave, unit, dimension), &have) in &answered {
        let k = counts.get(dimension.as_str()).copied().unwrap_or(0);
        if !allowed(k, have) {
            failing.insert((wave.clone(), unit.clone()));
        } else if have < k && matches!(rule, DimensionRule::AtLeast(_)) {
            partial_units.insert((wave.clone(), unit.clone()));
        }
    }
    let mut partial: Vec<PartialScore> = Vec::new();
    let mut drop: HashSet<usize> = HashSet::new();
    for (i, row) in scores.rows.iter().enumerate() {
        let key = (row.wave.clone(), row.unit_code.clone());
        let (fails, short) = match row.level {
            Level::Dimension => {
                let k = counts.get(row.code.as_str()).copied().unwrap_or(0);
                let have = answered
                    .get(&(row.wave.clone(), row.unit_code.clone(), row.code.clone()))
                    .copied()
                    .unwrap_or(0);
                (!allowed(k, have), have < k)
            }
            Level::Total => (failing.contains(&key), partial_units.contains(&key)),
            Level::Subdimension | Level::Indicator => continue,
        };
        if fails {
            drop.insert(i);
        } else if short && matches!(rule, DimensionRule::AtLeast(_)) {
            partial.push(PartialScore {
                wave: row.wave.clone(),
                unit_code: row.unit_code.clone(),
                level: row.level,
                code: row.code.clone(),
            });
        }
    }
    if !drop.is_empty() {
        let raw: Vec<RawScore> = std::mem::take(&mut scores.rows)
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, r)| RawScore {
                wave: r.wave,
                unit_code: r.unit_code,
                province_code: r.province_code,
                level: r.level,
                code: r.code,
                score: r.score,
                n: r.n,
                ci: r.ci_low.zip(r.ci_high),
            })
            .collect();
        let ranked = Scores::from_raw(raw);
        scores.rows = ranked.rows;
        scores.cut_points = ranked.cut_points;
    }
    partial.sort();
    partial
}

/// The header of [`write_scores_csv_with_papi`]: [`crate::CSV_HEADER`] and two columns more.
pub const PAPI_CSV_HEADER: &str = "wave,unit_code,level,code,score,n,ci_low,ci_high,rank,quartile,papi_scale,partial";

/// Writes `scores.csv` as [`Scores::write_csv`] does, with two columns added at the end: `papi_scale`, a
/// sub-dimension's score on PAPI's (1 + 9s) / k (empty on other levels), and `partial`, `1` on a dimension score or
/// total kept from fewer than all its parts (see [`apply_dimension_rule`]).
pub fn write_scores_csv_with_papi<W: Write>(
    scores: &Scores,
    codebook: &Codebook,
    partial: &[PartialScore],
    mut out: W,
) -> io::Result<()> {
    let is_partial: HashSet<(&str, &str, Level, &str)> = partial
        .iter()
        .map(|p| (p.wave.as_str(), p.unit_code.as_str(), p.level, p.code.as_str()))
        .collect();
    let papi = PapiScale::new(codebook);
    writeln!(out, "{PAPI_CSV_HEADER}")?;
    for row in &scores.rows {
        write_csv_fields(&mut out, row)?;
        out.write_all(b",")?;
        if let Some(value) = papi.of(row) {
            write!(out, "{value}")?;
        }
        let key = (row.wave.as_str(), row.unit_code.as_str(), row.level, row.code.as_str());
        let flag = !is_partial.is_empty() && is_partial.contains(&key);
        out.write_all(if flag { b",1\n" } else { b",\n" })?;
    }
    out.flush()
}
