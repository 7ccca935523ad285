//! One wave's scores with their rows found by unit and by (province, level, code).
//!
//! A province-wide scoring holds about 80 rows per commune (total, dimensions, sub-dimensions, indicators): some
//! 270,000 rows for the country's 3,321 communes. A commune page asks for a hundred of them (its own scores, the
//! province's means and best communes per dimension and sub-dimension). Scanning every row for each made the page
//! take 150 ms of CPU at 100,000 responses; scanning the province's rows for each (8,000 in a province of 104
//! communes) still took 40% of the server's CPU under 20 leaders. Built once per scoring, the index answers each
//! question from the commune's rows, or from one score's rows in one province, already ranked.

use std::collections::{BTreeSet, HashMap};
use std::ops::Deref;

use crate::scores::{Level, ScoreRow, Scores};

/// The scores of a scoring run, with the rows of one wave indexed. Reads as [`Scores`] everywhere else.
#[derive(Debug, Clone, Default)]
pub struct WaveScores {
    scores: Scores,
    by_unit: HashMap<String, Vec<usize>>,
    /// Per level, score code and province: that score's rows in the province, best first, and their mean.
    by_score: HashMap<Level, HashMap<String, HashMap<String, Ranked>>>,
    /// The provinces with a row in the wave, by code (the overview lists them on every view).
    provinces: Vec<String>,
}

/// One score's rows in one province.
#[derive(Debug, Clone, Default)]
struct Ranked {
    /// Best first, ties by unit code.
    rows: Vec<usize>,
    /// The plain mean of their scores.
    mean: f64,
}

impl WaveScores {
    /// Indexes the rows of `wave` (rows of other waves stay in [`Scores::rows`], for trends).
    pub fn new(scores: Scores, wave: &str) -> Self {
        let mut by_unit: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_score: HashMap<Level, HashMap<String, HashMap<String, Ranked>>> = HashMap::new();
        let mut provinces = BTreeSet::new();
        for (i, row) in scores.rows.iter().enumerate().filter(|(_, r)| r.wave == wave) {
            by_unit.entry(row.unit_code.clone()).or_default().push(i);
            if !provinces.contains(&row.province_code) {
                provinces.insert(row.province_code.clone());
            }
            let ranked = by_score
                .entry(row.level)
                .or_default()
                .entry(row.code.clone())
                .or_default()
                .entry(row.province_code.clone())
                .or_default();
            ranked.rows.push(i);
        }
        let rows = &scores.rows;
        for ranked in by_score
            .values_mut()
            .flat_map(HashMap::values_mut)
            .flat_map(HashMap::values_mut)
        {
            // Summed in the order of `rows`, as [`Scores::province_mean`] sums them.
            ranked.mean = ranked.rows.iter().map(|&i| rows[i].score).sum::<f64>() / ranked.rows.len() as f64;
            ranked.rows.sort_by(|&a, &b| {
                let (a, b) = (&rows[a], &rows[b]);
                b.score.total_cmp(&a.score).then_with(|| a.unit_code.cmp(&b.unit_code))
            });
        }
        Self {
            scores,
            by_unit,
            by_score,
            provinces: provinces.into_iter().collect(),
        }
    }

    /// The published rows of one unit in the wave, in the order of [`Scores::rows`].
    pub fn unit_rows(&self, unit: &str) -> impl Iterator<Item = &ScoreRow> + '_ {
        self.by_unit
            .get(unit)
            .into_iter()
            .flatten()
            .map(|&i| &self.scores.rows[i])
    }

    /// The published row of one score of one unit in the wave.
    pub fn score(&self, unit: &str, level: Level, code: &str) -> Option<&ScoreRow> {
        self.unit_rows(unit).find(|r| r.level == level && r.code == code)
    }

    /// The published rows of one score in one province, best first (ties by unit code).
    pub fn ranked(&self, province: &str, level: Level, code: &str) -> Vec<&ScoreRow> {
        self.in_province(province, level, code)
            .map(|r| r.rows.iter().map(|&i| &self.scores.rows[i]).collect())
            .unwrap_or_default()
    }

    /// The plain mean of one score over a province's published units, as [`Scores::province_mean`].
    pub fn province_mean(&self, province: &str, level: Level, code: &str) -> Option<f64> {
        self.in_province(province, level, code).map(|r| r.mean)
    }

    /// The provinces with at least one published row in the wave, by code.
    pub fn provinces(&self) -> Vec<String> {
        self.provinces.clone()
    }

    fn in_province(&self, province: &str, level: Level, code: &str) -> Option<&Ranked> {
        self.by_score.get(&level)?.get(code)?.get(province)
    }
}

impl Deref for WaveScores {
    type Target = Scores;

    fn deref(&self) -> &Scores {
        &self.scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Sufficiency;

    fn row(wave: &str, province: &str, unit: &str, level: Level, code: &str, score: f64) -> ScoreRow {
        ScoreRow {
            wave: wave.to_owned(),
            province_code: province.to_owned(),
            unit_code: unit.to_owned(),
            level,
            code: code.to_owned(),
            score,
            n: 40,
            ci_low: None,
            ci_high: None,
            sufficiency: Sufficiency::Enough,
            rank: None,
            quartile: None,
        }
    }

    /// Every lookup equals the scan over all rows it replaces, and other waves' rows are never answered.
    #[test]
    fn lookups_equal_a_scan_of_every_row() {
        let mut rows = Vec::new();
        for (wave, shift) in [("2025", 0.0), ("2026", 1.0)] {
            for (p, province) in ["01", "33"].iter().enumerate() {
                for u in 0..4 {
                    let unit = format!("{province}{u:03}");
                    rows.push(row(
                        wave,
                        province,
                        &unit,
                        Level::Total,
                        "total",
                        30.0 + shift + (u * 7 % 4) as f64,
                    ));
                    for d in ["D1", "D2"] {
                        rows.push(row(
                            wave,
                            province,
                            &unit,
                            Level::Dimension,
                            d,
                            5.0 + shift + p as f64 + u as f64,
                        ));
                    }
                }
            }
        }
        let scores = Scores {
            rows,
            ..Scores::default()
        };
        let indexed = WaveScores::new(scores.clone(), "2026");
        assert_eq!(indexed.provinces(), vec!["01".to_owned(), "33".to_owned()]);
        for province in ["01", "33", "99"] {
            for (level, code) in [
                (Level::Total, "total"),
                (Level::Dimension, "D1"),
                (Level::Dimension, "D3"),
            ] {
                let mut scanned: Vec<&ScoreRow> = scores
                    .rows
                    .iter()
                    .filter(|r| r.wave == "2026" && r.province_code == province && r.level == level && r.code == code)
                    .collect();
                scanned.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.unit_code.cmp(&b.unit_code)));
                assert_eq!(indexed.ranked(province, level, code), scanned);
                assert_eq!(
                    indexed.province_mean(province, level, code),
                    scores.province_mean("2026", province, level, code)
                );
                for unit in (0..5).map(|u| format!("{province}{u:03}")) {
                    assert_eq!(
                        indexed.score(&unit, level, code),
                        scores.get("2026", &unit, level, code)
                    );
                }
            }
        }
        assert_eq!(indexed.unit_rows("01000").count(), 3);
        assert!(indexed.unit_rows("01000").all(|r| r.wave == "2026"));
        assert_eq!(*indexed, scores);
    }
}
