//! Population margins and the weights they give a wave's respondents (`docs/weights.md`).
//!
//! A margins file is CSV, UTF-8, one row per cell: `province,margin,cell,population`. `margin` names one profile
//! question (`p_education`) or a cross of several joined by `*` (`p_sex*p_age`); `cell` gives the answer codes in
//! the same order, joined by `*` (`male*18_29`); `population` is the number of people in that cell (any unit:
//! shares are taken within each margin and province). Figures must come from a published source (e.g. the 2019
//! Population and Housing Census tables), cited in a comment line (`#`) of the file.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::input::{AnswerRow, Lineage, Unit};
use crate::raking::{RakeOptions, rake};

/// One margin of one province.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Margin {
    /// As written, e.g. `p_sex*p_age`.
    pub name: String,
    /// The profile questions it crosses.
    pub questions: Vec<String>,
    /// Each cell's answer codes (one per question) and population.
    pub cells: Vec<(Vec<String>, f64)>,
}

/// The margins of every province in a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Margins {
    /// By province code, in the file's order.
    pub provinces: BTreeMap<String, Vec<Margin>>,
}

/// What is wrong with a margins file, with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("margins line {line}: {problem}")]
pub struct MarginsError {
    /// 1-based, the header being line 1.
    pub line: usize,
    /// What to fix.
    pub problem: String,
}

impl Margins {
    /// The profile questions the margins name, sorted, each once: what must be read of the answers to rake them.
    pub fn questions(&self) -> Vec<String> {
        let mut questions: Vec<String> = self
            .provinces
            .values()
            .flatten()
            .flat_map(|m| m.questions.iter().cloned())
            .collect();
        questions.sort();
        questions.dedup();
        questions
    }

    /// Reads a margins file; every cell must name as many codes as its margin has questions, populations are
    /// finite and ≥ 0, a cell is listed once.
    pub fn parse_csv(text: &str) -> Result<Self, MarginsError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut provinces: BTreeMap<String, Vec<Margin>> = BTreeMap::new();
        let mut header_seen = false;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let raw = raw.trim();
            if raw.is_empty() || raw.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
            let problem = |problem: String| MarginsError { line, problem };
            if !header_seen {
                if fields != ["province", "margin", "cell", "population"] {
                    return Err(problem("the header must be province,margin,cell,population".into()));
                }
                header_seen = true;
                continue;
            }
            let [province, margin, cell, population] = fields.as_slice() else {
                return Err(problem(format!("4 fields expected, not {}", fields.len())));
            };
            let population: f64 = population
                .parse()
                .ok()
                .filter(|p: &f64| p.is_finite() && *p >= 0.0)
                .ok_or_else(|| problem(format!("population {population:?} is not a number ≥ 0")))?;
            let questions: Vec<String> = margin.split('*').map(|q| q.trim().to_owned()).collect();
            let codes: Vec<String> = cell.split('*').map(|c| c.trim().to_owned()).collect();
            if province.is_empty() || questions.iter().chain(&codes).any(String::is_empty) {
                return Err(problem("province, margin and cell may not be empty".into()));
            }
            if codes.len() != questions.len() {
                return Err(problem(format!(
                    "cell {cell:?} gives {} codes for the {} questions of {margin:?}",
                    codes.len(),
                    questions.len()
                )));
            }
            let list = provinces.entry((*province).to_owned()).or_default();
            let index = match list.iter().position(|m| m.name == *margin) {
                Some(i) => i,
                None => {
                    list.push(Margin {
                        name: (*margin).to_owned(),
                        questions,
                        cells: Vec::new(),
                    });
                    list.len() - 1
                }
            };
            let entry = &mut list[index];
            if entry.cells.iter().any(|(c, _)| *c == codes) {
                return Err(problem(format!("cell {cell:?} of {margin:?} is listed twice")));
            }
            entry.cells.push((codes, population));
        }
        if !header_seen {
            return Err(MarginsError {
                line: 1,
                problem: "the file is empty".into(),
            });
        }
        Ok(Self { provinces })
    }
}

/// How the weights of one province came out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvinceWeights {
    /// The province.
    pub province_code: String,
    /// Respondents weighted.
    pub respondents: usize,
    /// Respondents with no known cell in at least one margin (kept; see [`crate::raking`]).
    pub incomplete_profiles: usize,
    /// Whether raking met the margins.
    pub converged: bool,
    /// Sweeps of the last round.
    pub iterations: usize,
    /// Weights cut to the cap.
    pub trimmed: usize,
    /// Kish's design effect.
    pub design_effect: f64,
    /// Kish's effective sample size.
    pub effective_n: f64,
    /// False when the margins file has no margin for this province: weights are then 1.
    pub has_margins: bool,
}

/// Weights of every response of some answers, raked per province and wave to the province's margins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComputedWeights {
    /// `(response_id, weight)`, sorted by response id.
    pub weights: Vec<(String, f64)>,
    /// Per wave and province.
    pub provinces: Vec<(String, ProvinceWeights)>,
}

/// Rakes the respondents of `answers` (only the profile answers matter) per wave and province (through `units`
/// and `lineage`; responses of units not listed are left out) to `margins`. Responses of a province without
/// margins get weight 1 and are reported so.
pub fn compute_weights(
    answers: &[AnswerRow],
    units: &[Unit],
    lineage: &Lineage,
    margins: &Margins,
    options: &RakeOptions,
) -> ComputedWeights {
    let province_of: HashMap<&str, &str> = units
        .iter()
        .map(|u| (u.code.as_str(), u.province_code.as_str()))
        .collect();
    // response → (wave, province, profile answers)
    let mut responses: BTreeMap<&str, (&str, &str, HashMap<&str, &str>)> = BTreeMap::new();
    for row in answers {
        let unit = lineage.successor(&row.wave, &row.unit_code);
        let Some(province) = province_of.get(unit) else {
            continue;
        };
        let entry = responses
            .entry(row.response_id.as_str())
            .or_insert_with(|| (row.wave.as_str(), province, HashMap::new()));
        if let Some(answer) = row.answer.as_deref() {
            entry.2.insert(row.question.as_str(), answer);
        }
    }
    let mut groups: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for (id, (wave, province, _)) in &responses {
        groups.entry((wave, province)).or_default().push(id);
    }
    let mut out = ComputedWeights::default();
    for ((wave, province), ids) in groups {
        let list = margins.provinces.get(province);
        let empty = Vec::new();
        let list = list.unwrap_or(&empty);
        let cells: Vec<Vec<Option<usize>>> = ids
            .iter()
            .map(|id| {
                let profile = &responses[id].2;
                list.iter()
                    .map(|m| {
                        let codes: Option<Vec<&str>> =
                            m.questions.iter().map(|q| profile.get(q.as_str()).copied()).collect();
                        let codes = codes?;
                        m.cells
                            .iter()
                            .position(|(cell, _)| cell.iter().map(String::as_str).eq(codes.iter().copied()))
                    })
                    .collect()
            })
            .collect();
        let populations: Vec<Vec<f64>> = list.iter().map(|m| m.cells.iter().map(|(_, p)| *p).collect()).collect();
        let raked = rake(&cells, &populations, options);
        out.weights
            .extend(ids.iter().zip(&raked.weights).map(|(id, w)| ((*id).to_owned(), *w)));
        out.provinces.push((
            (*wave).to_owned(),
            ProvinceWeights {
                province_code: (*province).to_owned(),
                respondents: ids.len(),
                incomplete_profiles: cells.iter().filter(|row| row.iter().any(Option::is_none)).count(),
                converged: raked.converged,
                iterations: raked.iterations,
                trimmed: raked.trimmed,
                design_effect: raked.design_effect,
                effective_n: raked.effective_n,
                has_margins: !list.is_empty(),
            },
        ));
    }
    out.weights.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_margins_file_is_read_with_its_crosses_and_bad_lines_are_named() {
        let text = "\u{feff}# source: a published table\nprovince,margin,cell,population\n\
                    33,p_sex*p_age,male*18_29,10\n33,p_sex*p_age,female*18_29,12\n33,p_education,primary,5\n";
        let margins = Margins::parse_csv(text).expect("valid");
        let hy = &margins.provinces["33"];
        assert_eq!(hy.len(), 2);
        assert_eq!(hy[0].questions, ["p_sex", "p_age"]);
        assert_eq!(hy[0].cells[1], (vec!["female".to_owned(), "18_29".to_owned()], 12.0));
        for (bad, line, says) in [
            ("province,cell\n", 1, "header"),
            (
                "province,margin,cell,population\n33,p_sex*p_age,male,3\n",
                2,
                "gives 1 codes",
            ),
            ("province,margin,cell,population\n33,p_sex,male,-3\n", 2, "not a number"),
            (
                "province,margin,cell,population\n33,p_sex,male,3\n33,p_sex,male,4\n",
                3,
                "twice",
            ),
        ] {
            let e = Margins::parse_csv(bad).expect_err(bad);
            assert_eq!(e.line, line, "{e}");
            assert!(e.to_string().contains(says), "{e}");
        }
    }
}
