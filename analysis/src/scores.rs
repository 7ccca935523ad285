//! The result of scoring: one row per unit, wave, level and code, with ranks, quartile groups and the cut points
//! behind them, and what a leader reads from it (the CSV export, the change since an earlier wave).
//!
//! The privacy rule of the design is enforced here, by construction: a score computed from fewer than
//! [`MIN_RESPONDENTS_SHOWN`] respondents never becomes a [`ScoreRow`]; it is kept only as a [`WithheldRow`], which
//! has a count and no score, so no export, chart or page can show it by mistake. A unit with fewer than 10
//! respondents in all is therefore absent from every export. Rows from 10 to 29 respondents are kept, marked
//! [`Sufficiency::NotEnough`], without rank or quartile group, because their interval is too wide to compare them
//! with their neighbours; rank and quartile groups are computed among the units with at least
//! [`MIN_RESPONDENTS_ENOUGH`] respondents on that score.
//!
//! Residual risk, left to the caller: a composite score (sub-dimension, dimension, total) is shown whenever it has
//! 10 respondents, even when one of its components was withheld, so in principle a withheld component can be
//! recovered from the composite and the other, shown components.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::aggregate::{MIN_RESPONDENTS_ENOUGH, MIN_RESPONDENTS_SHOWN, Sufficiency};
use crate::checks::{IGNORED_CSV_HEADER, IgnoredKind, IgnoredRows};
use crate::quartile::{Quartile, cut_points, quartile};

/// The level of the PAPI tree a score is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The sum of the eight dimensions, 8–80; its code is [`TOTAL_CODE`].
    Total,
    /// A dimension, 1–10.
    Dimension,
    /// A sub-dimension, 0–1.
    Subdimension,
    /// An indicator, 0–1.
    Indicator,
}

/// The `code` of the total's rows.
pub const TOTAL_CODE: &str = "total";

impl Level {
    /// The word the CSV export uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Total => "total",
            Self::Dimension => "dimension",
            Self::Subdimension => "subdimension",
            Self::Indicator => "indicator",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One published score of one unit in one wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRow {
    /// The wave's code.
    pub wave: String,
    /// The unit, after the lineage (a legacy commune's answers appear under its successor).
    pub unit_code: String,
    /// The unit's province, within which it is ranked.
    pub province_code: String,
    /// The level of the tree.
    pub level: Level,
    /// The indicator, sub-dimension or dimension code, or [`TOTAL_CODE`].
    pub code: String,
    /// The score: 0–1 for indicators and sub-dimensions, 1–10 for dimensions, 8–80 for the total.
    pub score: f64,
    /// Respondents with at least one value in this score (and a positive weight).
    pub n: usize,
    /// Lower end of the bootstrap interval, `None` when no interval was drawn.
    pub ci_low: Option<f64>,
    /// Upper end of the bootstrap interval.
    pub ci_high: Option<f64>,
    /// 1 for the best unit of the province on this score (ties share a rank); `None` below 30 respondents.
    pub rank: Option<usize>,
    /// The quartile group within the province; `None` below 30 respondents.
    pub quartile: Option<Quartile>,
    /// [`Sufficiency::Enough`] or [`Sufficiency::NotEnough`]; never hidden (those are [`WithheldRow`]s).
    pub sufficiency: Sufficiency,
}

/// A score with too few respondents to publish: only its count is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithheldRow {
    /// The wave's code.
    pub wave: String,
    /// The unit.
    pub unit_code: String,
    /// The unit's province.
    pub province_code: String,
    /// The level of the tree.
    pub level: Level,
    /// The code at that level.
    pub code: String,
    /// Respondents with a value, below [`MIN_RESPONDENTS_SHOWN`].
    pub n: usize,
}

/// The quartile cut points of one score in one province and wave, to be stored with the wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CutPoints {
    /// The wave's code.
    pub wave: String,
    /// The province.
    pub province_code: String,
    /// The level of the tree.
    pub level: Level,
    /// The code at that level.
    pub code: String,
    /// The 25th, 50th and 75th percentiles (type 7) of the ranked units' scores.
    pub cuts: [f64; 3],
    /// How many units were ranked.
    pub units: usize,
}

/// The change of one score of one unit between two waves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The unit (after the lineage).
    pub unit_code: String,
    /// The level of the tree.
    pub level: Level,
    /// The code at that level.
    pub code: String,
    /// The earlier score.
    pub from: f64,
    /// The later score.
    pub to: f64,
    /// `to − from`.
    pub change: f64,
    /// Whether both intervals exist and do not overlap: a conservative sign that the change is not noise.
    pub clear: bool,
}

/// Every score of a scoring run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scores {
    /// Published scores, ordered by wave, unit, then total, dimensions, sub-dimensions and indicators in codebook
    /// order.
    pub rows: Vec<ScoreRow>,
    /// Scores withheld for having fewer than 10 respondents.
    pub withheld: Vec<WithheldRow>,
    /// Cut points per wave, province, level and code.
    pub cut_points: Vec<CutPoints>,
    /// Answer rows left out of every score, per wave, question and reason ([`crate::checks`]).
    #[serde(default)]
    pub ignored: Vec<IgnoredRows>,
}

/// The header of [`Scores::write_csv`].
pub const CSV_HEADER: &str = "wave,unit_code,level,code,score,n,ci_low,ci_high,rank,quartile";

/// A score before the privacy rule and ranking are applied. Kept by the server per commune
/// ([`crate::UnitScores`]) with its numbers as their bit patterns: serde_json reads decimal floats back only to
/// about the last bit, and kept scores must equal computed ones exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RawScore {
    pub wave: String,
    pub unit_code: String,
    pub province_code: String,
    pub level: Level,
    pub code: String,
    #[serde(with = "exact")]
    pub score: f64,
    pub n: usize,
    #[serde(with = "exact_interval")]
    pub ci: Option<(f64, f64)>,
}

/// An `f64` as its bits.
mod exact {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(x.to_bits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

/// An optional interval as the bits of its ends.
mod exact_interval {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(ci: &Option<(f64, f64)>, s: S) -> Result<S::Ok, S::Error> {
        ci.map(|(low, high)| (low.to_bits(), high.to_bits())).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<(f64, f64)>, D::Error> {
        let bits = Option::<(u64, u64)>::deserialize(d)?;
        Ok(bits.map(|(low, high)| (f64::from_bits(low), f64::from_bits(high))))
    }
}

impl Scores {
    /// Applies the privacy rule, then ranks and groups each (wave, province, level, code) among its units with
    /// enough answers. `raw` must already be in the published order.
    pub(crate) fn from_raw(raw: Vec<RawScore>) -> Self {
        let mut rows = Vec::with_capacity(raw.len());
        let mut withheld = Vec::new();
        for r in raw {
            if r.n < MIN_RESPONDENTS_SHOWN {
                withheld.push(WithheldRow {
                    wave: r.wave,
                    unit_code: r.unit_code,
                    province_code: r.province_code,
                    level: r.level,
                    code: r.code,
                    n: r.n,
                });
                continue;
            }
            rows.push(ScoreRow {
                wave: r.wave,
                unit_code: r.unit_code,
                province_code: r.province_code,
                level: r.level,
                code: r.code,
                score: r.score,
                n: r.n,
                ci_low: r.ci.map(|c| c.0),
                ci_high: r.ci.map(|c| c.1),
                rank: None,
                quartile: None,
                sufficiency: crate::aggregate::sufficiency(r.n),
            });
        }

        // Row indexes of the rankable rows, per comparison group, the groups in key order (as they are listed in
        // `cut_points`) and each one's rows in row order.
        let mut by_key: FxHashMap<(&str, &str, Level, &str), Vec<usize>> = FxHashMap::default();
        for (i, row) in rows.iter().enumerate() {
            if row.n >= MIN_RESPONDENTS_ENOUGH {
                by_key
                    .entry((&row.wave, &row.province_code, row.level, &row.code))
                    .or_default()
                    .push(i);
            }
        }
        let mut groups: Vec<_> = by_key.into_iter().collect();
        groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        // Each group on its own (a national run has thousands): its cut points, and each member's rank (1 + the
        // number of scores above it, found in the scores sorted from the highest) and quartile.
        let per_group: Vec<(Vec<Ranked>, CutPoints)> = groups
            .par_iter()
            .filter_map(|((wave, province, level, code), members)| {
                let scores: Vec<f64> = members.iter().map(|&i| rows[i].score).collect();
                let cuts = cut_points(&scores)?;
                let mut highest_first = scores.clone();
                highest_first.sort_unstable_by(|a, b| b.total_cmp(a));
                let ranked = members
                    .iter()
                    .zip(&scores)
                    .map(|(&i, &score)| {
                        let above = highest_first.partition_point(|&other| other > score);
                        (i, 1 + above, quartile(score, &cuts))
                    })
                    .collect();
                let cuts = CutPoints {
                    wave: (*wave).to_owned(),
                    province_code: (*province).to_owned(),
                    level: *level,
                    code: (*code).to_owned(),
                    cuts,
                    units: members.len(),
                };
                Some((ranked, cuts))
            })
            .collect();
        let mut cuts_out = Vec::with_capacity(per_group.len());
        for (members, cuts) in per_group {
            for (i, rank, group) in members {
                rows[i].rank = Some(rank);
                rows[i].quartile = Some(group);
            }
            cuts_out.push(cuts);
        }
        Self {
            rows,
            withheld,
            cut_points: cuts_out,
            ignored: Vec::new(),
        }
    }

    /// The published row of one score, if there is one.
    pub fn get(&self, wave: &str, unit_code: &str, level: Level, code: &str) -> Option<&ScoreRow> {
        self.rows
            .iter()
            .find(|r| r.wave == wave && r.unit_code == unit_code && r.level == level && r.code == code)
    }

    /// The plain mean of the published scores of a province's units, the reference line of the dimension chart.
    pub fn province_mean(&self, wave: &str, province_code: &str, level: Level, code: &str) -> Option<f64> {
        let scores: Vec<f64> = self
            .rows
            .iter()
            .filter(|r| r.wave == wave && r.province_code == province_code && r.level == level && r.code == code)
            .map(|r| r.score)
            .collect();
        (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
    }

    /// The change of every score published in both waves, per unit. Score both waves in one run (with the
    /// lineage) so that a legacy commune's earlier answers appear under its successor's code; or
    /// [`Scores::extend`] one run with another scored with the same lineage.
    pub fn changes(&self, from_wave: &str, to_wave: &str) -> Vec<Change> {
        let earlier: BTreeMap<(&str, Level, &str), &ScoreRow> = self
            .rows
            .iter()
            .filter(|r| r.wave == from_wave)
            .map(|r| ((r.unit_code.as_str(), r.level, r.code.as_str()), r))
            .collect();
        self.rows
            .iter()
            .filter(|r| r.wave == to_wave)
            .filter_map(|later| {
                let before = earlier.get(&(later.unit_code.as_str(), later.level, later.code.as_str()))?;
                let clear = match (before.ci_low, before.ci_high, later.ci_low, later.ci_high) {
                    (Some(bl), Some(bh), Some(ll), Some(lh)) => bh < ll || lh < bl,
                    _ => false,
                };
                Some(Change {
                    unit_code: later.unit_code.clone(),
                    level: later.level,
                    code: later.code.clone(),
                    from: before.score,
                    to: later.score,
                    change: later.score - before.score,
                    clear,
                })
            })
            .collect()
    }

    /// Adds the rows of another run (e.g. an earlier wave scored before), for [`Scores::changes`].
    pub fn extend(&mut self, other: Scores) {
        self.rows.extend(other.rows);
        self.withheld.extend(other.withheld);
        self.cut_points.extend(other.cut_points);
        self.ignored.extend(other.ignored);
    }

    /// Writes the published rows as CSV with the header [`CSV_HEADER`]: UTF-8 without byte-order mark, numbers
    /// at full precision (the shortest text that reads back as the same f64: a machine-readable file is never
    /// rounded; pages and charts round for people), empty cells where there is no interval, rank or group, the
    /// quartile group by its Vietnamese name. Withheld scores (fewer than 10 respondents) are not written at all; rows with 10 to 29
    /// respondents are written without rank and group.
    pub fn write_csv<W: Write>(&self, mut out: W) -> io::Result<()> {
        writeln!(out, "{CSV_HEADER}")?;
        for r in &self.rows {
            write_csv_fields(&mut out, r)?;
            writeln!(out)?;
        }
        out.flush()
    }
}

/// One row's fields of [`CSV_HEADER`], without the line's end.
pub(crate) fn write_csv_fields<W: Write>(out: &mut W, r: &ScoreRow) -> io::Result<()> {
    write!(
        out,
        "{},{},{},{},{},{},",
        csv_field(&r.wave),
        csv_field(&r.unit_code),
        r.level.as_str(),
        csv_field(&r.code),
        r.score,
        r.n,
    )?;
    // Empty fields are written as nothing, without formatting an `Option` first.
    if let Some(v) = r.ci_low {
        write!(out, "{v}")?;
    }
    out.write_all(b",")?;
    if let Some(v) = r.ci_high {
        write!(out, "{v}")?;
    }
    out.write_all(b",")?;
    if let Some(v) = r.rank {
        write!(out, "{v}")?;
    }
    out.write_all(b",")?;
    if let Some(q) = r.quartile {
        out.write_all(q.label_vi().as_bytes())?;
    }
    Ok(())
}

/// A row's index with its rank and quartile within its group.
type Ranked = (usize, usize, Quartile);

impl Scores {
    /// The number of answer rows left out of every score.
    pub fn ignored_rows(&self) -> u64 {
        self.ignored.iter().map(|r| r.rows).sum()
    }

    /// The ignored rows per reason, in the order rows are checked, leaving out reasons with none.
    pub fn ignored_by_kind(&self) -> Vec<(IgnoredKind, u64)> {
        IgnoredKind::ALL
            .into_iter()
            .map(|kind| {
                (
                    kind,
                    self.ignored.iter().filter(|r| r.kind == kind).map(|r| r.rows).sum(),
                )
            })
            .filter(|(_, rows)| *rows > 0)
            .collect()
    }

    /// Writes `ignored.csv`: the header [`IGNORED_CSV_HEADER`], then one row per wave, question and reason.
    pub fn write_ignored_csv<W: Write>(&self, mut out: W) -> io::Result<()> {
        writeln!(out, "{IGNORED_CSV_HEADER}")?;
        for r in &self.ignored {
            writeln!(
                out,
                "{},{},{},{}",
                csv_field(&r.wave),
                csv_field(&r.question),
                r.kind.as_str(),
                r.rows
            )?;
        }
        out.flush()
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(value: &str) -> std::borrow::Cow<'_, str> {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\"")).into()
    } else {
        value.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(unit: &str, province: &str, score: f64, n: usize) -> RawScore {
        RawScore {
            wave: "2025".into(),
            unit_code: unit.into(),
            province_code: province.into(),
            level: Level::Dimension,
            code: "d1".into(),
            score,
            n,
            ci: Some((score - 0.5, score + 0.5)),
        }
    }

    #[test]
    fn units_are_ranked_within_their_province_and_ties_share_a_rank() {
        let scores = Scores::from_raw(vec![
            raw("a", "33", 6.0, 40),
            raw("b", "33", 7.0, 40),
            raw("c", "33", 6.0, 40),
            raw("d", "33", 5.0, 40),
            raw("x", "34", 2.0, 40),
        ]);
        let rank = |u: &str| scores.get("2025", u, Level::Dimension, "d1").and_then(|r| r.rank);
        assert_eq!(
            [rank("a"), rank("b"), rank("c"), rank("d")],
            [Some(2), Some(1), Some(2), Some(4)]
        );
        assert_eq!(rank("x"), Some(1));
        assert_eq!(scores.cut_points.len(), 2);
        let cuts = &scores.cut_points[0];
        assert_eq!((cuts.province_code.as_str(), cuts.units), ("33", 4));
        assert_eq!(cuts.cuts, [5.75, 6.0, 6.25]);
    }

    #[test]
    fn few_answers_are_withheld_or_left_unranked() {
        let scores = Scores::from_raw(vec![
            raw("a", "33", 6.0, 9),
            raw("b", "33", 7.0, 10),
            raw("c", "33", 5.0, 30),
        ]);
        assert!(scores.get("2025", "a", Level::Dimension, "d1").is_none());
        assert_eq!(scores.withheld.len(), 1);
        assert_eq!(scores.withheld[0].n, 9);
        let b = scores.get("2025", "b", Level::Dimension, "d1").expect("shown");
        assert_eq!(
            (b.sufficiency, b.rank, b.quartile),
            (Sufficiency::NotEnough, None, None)
        );
        let c = scores.get("2025", "c", Level::Dimension, "d1").expect("shown");
        assert_eq!((c.sufficiency, c.rank), (Sufficiency::Enough, Some(1)));

        let mut csv = Vec::new();
        scores.write_csv(&mut csv).expect("written");
        let csv = String::from_utf8(csv).expect("utf-8");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines[1], "2025,b,dimension,d1,7,10,6.5,7.5,,");
        assert_eq!(lines[2], "2025,c,dimension,d1,5,30,4.5,5.5,1,Cao");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn changes_pair_the_same_unit_and_score_across_waves() {
        let mut earlier = raw("a", "33", 5.0, 40);
        earlier.wave = "2024".into();
        let scores = Scores::from_raw(vec![earlier, raw("a", "33", 6.5, 40), raw("b", "33", 6.0, 40)]);
        let changes = scores.changes("2024", "2025");
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].from, changes[0].to, changes[0].change), (5.0, 6.5, 1.5));
        assert!(changes[0].clear);
    }

    #[test]
    fn csv_fields_with_commas_are_quoted() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("11953"), "11953");
    }
}
