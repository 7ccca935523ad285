//! Villages and residential groups (thôn, tổ dân phố), issue 23: the plans ask each commune to explain its results
//! village by village. A commune's villages come from an imported list; a response carries the village of the
//! link or poster it came through (`/s/{commune}?thon=CODE`); scores by village are computed inside one commune
//! with the same method and the same privacy rule as every other score (under 10 respondents: not shown).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use ykien_analysis::{Codebook, ScoreOptions, Scores, UnitAnswers, UnitScorer};

use super::Error;
use super::survey::{Identity, SurveyContext, Surveys};
use super::units::commune_on;
use crate::domain::calendar::vn_day;
use crate::domain::units::Unit;
use crate::storage::{Store, VillageRow};

/// The header of a villages file.
pub const VILLAGES_CSV_HEADER: &str = "commune_code,village_code,name";

/// What an import stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VillageImport {
    pub communes: usize,
    pub villages: usize,
}

/// A village code: `a–z`, `0–9`, `-`, at most 32 characters (it goes into links and QR codes).
pub fn is_village_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 32
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Imports a villages file (`commune_code,village_code,name`, one village a line): each commune named gets exactly
/// the villages listed for it. Every problem is listed, and nothing is stored when there is one.
pub async fn import_villages_csv(store: &Store, text: &str) -> Result<VillageImport, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut problems = Vec::new();
    match reader.headers() {
        Ok(h) if h.iter().collect::<Vec<_>>().join(",") == VILLAGES_CSV_HEADER => {}
        _ => problems.push(format!("line 1: the header is {VILLAGES_CSV_HEADER}")),
    }
    let day = vn_day(Utc::now());
    let mut by_commune: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) if r.len() == 3 => r,
            Ok(_) => {
                problems.push(format!("line {line}: three fields, {VILLAGES_CSV_HEADER}"));
                continue;
            }
            Err(e) => {
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let (commune, code, name) = (&record[0], &record[1], &record[2]);
        if !is_village_code(code) {
            problems.push(format!(
                "line {line}: village code '{code}' uses a–z, 0–9 and '-' (at most 32)"
            ));
        }
        if name.is_empty() {
            problems.push(format!("line {line}: the village has no name"));
        }
        if !seen.insert((commune.to_owned(), code.to_owned())) {
            problems.push(format!("line {line}: village '{code}' of {commune} is listed twice"));
        }
        by_commune
            .entry(commune.to_owned())
            .or_default()
            .push((code.to_owned(), name.to_owned()));
    }
    let mut communes = Vec::new();
    for code in by_commune.keys() {
        match commune_on(store, code, day).await {
            Ok(unit) => communes.push(unit),
            Err(Error::UnitNotFound(_) | Error::NotACommune(_)) => {
                problems.push(format!("commune '{code}' is not a commune or ward that exists today"))
            }
            Err(e) => return Err(e),
        }
    }
    if !problems.is_empty() {
        return Err(Error::BadRequest(format!(
            "{} problem(s) in the villages file: {}",
            problems.len(),
            problems.join("; ")
        )));
    }
    let mut villages = 0;
    for unit in &communes {
        let list = &by_commune[&unit.code];
        store.replace_villages(unit.id, list).await?;
        villages += list.len();
    }
    Ok(VillageImport {
        communes: communes.len(),
        villages,
    })
}

/// The villages of a commune.
pub async fn villages_of(store: &Store, commune: &Unit) -> Result<Vec<VillageRow>, Error> {
    Ok(store.villages(commune.id).await?)
}

/// The village with this code in the survey's commune, if the commune has one.
pub async fn village_in(store: &Store, ctx: &SurveyContext, code: &str) -> Result<Option<VillageRow>, Error> {
    let code = code.trim();
    if !is_village_code(code) {
        return Ok(None);
    }
    Ok(villages_of(store, &ctx.commune)
        .await?
        .into_iter()
        .find(|v| v.code == code))
}

/// Marks the respondent's response in progress as coming from `village` (a village of the commune, checked by
/// the caller with [`village_in`]).
pub async fn record_village(
    store: &Store,
    surveys: &Surveys,
    ctx: &SurveyContext,
    identity: &Identity,
    village: &VillageRow,
) -> Result<bool, Error> {
    Ok(store
        .set_session_village(&surveys.identity_hash(identity), ctx.wave.id, &village.code)
        .await?)
}

/// A commune's scores village by village in one wave (optionally one reporting period), scored with the wave's
/// codebook: each village is a unit of its own inside the commune, so a village with fewer than 10 respondents
/// is withheld like any other score. Responses without a village are not counted here.
pub async fn village_scores(
    store: &Store,
    wave: &crate::domain::survey::Wave,
    commune: &Unit,
    codebook: &Codebook,
    span: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<(Vec<VillageRow>, Scores), Error> {
    let villages = villages_of(store, commune).await?;
    if villages.is_empty() {
        // Most communes list no villages: nothing to read (the commune page asks on every view).
        return Ok((villages, Scores::default()));
    }
    let answers = store.village_answers(wave.id, commune.id, span).await?;
    let known: BTreeSet<String> = villages.iter().map(|v| v.code.clone()).collect();
    let (wave_code, commune_code) = (wave.code.clone(), commune.code.clone());
    let codebook = codebook.clone();
    // Each village scored as a unit of its own, as the dashboard scores communes (`super::unit_scoring`).
    let scores = tokio::task::spawn_blocking(move || {
        let scorer = UnitScorer::new(&codebook, ScoreOptions::default())?;
        let mut by_village: BTreeMap<String, UnitAnswers> = BTreeMap::new();
        for rows in answers.chunk_by(|a, b| a.0 == b.0) {
            let village = &rows[0].1;
            if !known.contains(village) {
                return Err(ykien_analysis::AnalysisError::UnknownUnits {
                    codes: vec![village.clone()],
                });
            }
            let pairs = rows
                .iter()
                .map(|(_, _, question, code)| (question.as_str(), code.as_deref().unwrap_or_default()));
            scorer.add(by_village.entry(village.clone()).or_default(), 1.0, pairs);
        }
        let mut scored = Vec::with_capacity(by_village.len());
        for (village, answers) in &by_village {
            // Villages are compared within their commune.
            scored.push(scorer.score(&wave_code, village, &commune_code, answers)?);
        }
        Ok(ykien_analysis::assemble(&scored))
    })
    .await
    .map_err(|e| Error::Unavailable(format!("village scoring stopped: {e}")))?
    .map_err(|e| Error::Unavailable(format!("the village scores cannot be computed: {e}")))?;
    Ok((villages, scores))
}
