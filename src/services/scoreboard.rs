//! The numbers behind the leaders' dashboard and the periodic reports: for a wave (and optionally one of the
//! plans' reporting periods) the scores of every commune on every level, with the waves before it for trends, and
//! the feedback KPIs of the same span — computed from stored answers by `ykien-analysis` and kept in memory and in
//! the database.
//!
//! A computation scores one commune at a time from the database and keeps each commune's result
//! ([`super::unit_scoring`]), so memory holds one commune's answers whatever the number of responses, and a refresh
//! rescores only the communes whose responses changed. Snapshots are kept per (wave, period): one younger than the refresh interval
//! is served as it is; an older one is served while a single background task looks for new data: new responses
//! score the waves again, changed cases (new, answered, closed, rated, moved on) only recompute the feedback KPIs
//! beside the kept scores. Each computed scoring is also written to `score_snapshots` (scores, counts, intervals,
//! cut points), so that after a restart, or on a second instance, the first request is served from it at once and
//! the refresh happens in the background; only a (wave, period) never scored is computed while the request waits.
//! Charts drawn from a snapshot are kept with it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ykien_analysis::charts::Format;
use ykien_analysis::{CaseStatus, Change, Codebook, Level, ScoreOptions, ScoreRow, Scores, UnitKpi, WaveScores};

use super::Error;
use super::analysis::{AnalysisFailure, UnitsTable, codebook, units_from_store};
use super::quality::{ChannelShare, channel_shares};
use super::responsiveness::{Responsiveness, responsiveness};
use super::survey::Surveys;
use super::unit_scoring::Scoring;
use crate::domain::calendar::{WorkCalendar, vn_day};
use crate::domain::cases::{CaseState, deadline};
use crate::domain::survey::{PlanPeriod, Wave};
use crate::domain::weights::WaveWeighting;
use crate::storage::{CaseFacts, ScoreSnapshotRow, Store, StoreError};

/// Which numbers: a wave, over all its answers or over one reporting period.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SnapshotKey {
    pub wave: String,
    pub period: Option<PlanPeriod>,
}

/// What a (wave, period) scored to, at one moment.
#[derive(Debug)]
pub struct Snapshot {
    /// The wave asked for.
    pub wave: Wave,
    /// The waves scored, oldest first: the ones of the same questionnaire opened up to this one (for trends and
    /// changes), ending with `wave`.
    pub waves: Vec<Wave>,
    pub period: Option<PlanPeriod>,
    pub codebook: Codebook,
    pub units: UnitsTable,
    /// The scores of `waves`, with `wave`'s rows indexed for the pages' lookups.
    pub scores: WaveScores,
    /// Dimension scores and totals kept from fewer than all their parts under the questionnaire's
    /// `dimension_rule = { at_least = N }` (issue 23).
    pub partial: Vec<ykien_analysis::PartialScore>,
    /// The comparison with the previous wave when it was asked on another questionnaire version.
    pub comparison: Option<CrossVersion>,
    /// This wave's changes since the previous one per unit ([`Snapshot::changes_of`]), computed once: a commune's
    /// page asks for its own on every view.
    changes: HashMap<String, Vec<Change>>,
    /// The wave's stored survey weights, when its scores use them.
    pub weighting: Option<Weighting>,
    /// Feedback KPIs of the cases received in the period (all cases without one), per unit.
    pub kpis: Vec<UnitKpi>,
    /// How each commune answers feedback, overall and per category, over the same cases (public scorecards).
    pub responsiveness: Vec<Responsiveness>,
    pub computed_at: DateTime<Utc>,
    /// When the data was last found unchanged since `computed_at`.
    checked_at: Mutex<DateTime<Utc>>,
    /// What the snapshot was computed from, to notice new data.
    basis: Basis,
    charts: Mutex<ChartCache>,
    /// Each commune's channel shares, counted once per snapshot (a commune page shows them on every view).
    channels: Mutex<HashMap<String, Arc<Vec<ChannelShare>>>>,
}

/// This wave and the previous one, asked on different questionnaire versions, both scored on what the two
/// versions measure alike (the code map's `same` items).
#[derive(Debug)]
pub struct CrossVersion {
    pub plan: super::versions::CrossVersionPlan,
    pub scores: Scores,
}

/// The wave's survey weights (`docs/weights.md`) as the dashboard and the reports show them beside its scores.
#[derive(Debug)]
pub struct Weighting {
    pub summary: WaveWeighting,
    /// The wave's point scores with every respondent counted alike (no intervals), shown beside the weighted ones.
    pub unweighted: WaveScores,
    /// Counted responses without a stored weight (completed after the weights were computed; weighted 1).
    pub late: u64,
}

/// The complete responses of the snapshot's waves, when their weights were computed (-1: not known, for scores
/// read back from the database), and a fingerprint of its cases (their states, answers and ratings): when one
/// changes, the numbers are computed again.
type Basis = (i64, i64, u64);

/// The last of `waves`' changes since the previous wave, per unit ([`Snapshot::changes_of`]).
fn changes(waves: &[Wave], scores: &Scores, comparison: Option<&CrossVersion>) -> HashMap<String, Vec<Change>> {
    let all = match (waves.last(), comparison) {
        (Some(wave), Some(c)) => c.scores.changes(&c.plan.previous.code, &wave.code),
        (Some(wave), None) => match waves.iter().rev().nth(1) {
            Some(previous) => scores.changes(&previous.code, &wave.code),
            None => Vec::new(),
        },
        (None, _) => Vec::new(),
    };
    let mut by_unit: HashMap<String, Vec<Change>> = HashMap::new();
    for change in all {
        by_unit.entry(change.unit_code.clone()).or_default().push(change);
    }
    by_unit
}

/// Drawn charts by (name, format).
type ChartCache = HashMap<(String, Format), Arc<Vec<u8>>>;

impl Snapshot {
    /// A published score of this snapshot's wave.
    pub fn score(&self, unit: &str, level: Level, code: &str) -> Option<&ScoreRow> {
        self.scores.score(unit, level, code)
    }

    /// The published rows of this snapshot's wave on one level and code in one province, best first.
    pub fn ranked(&self, province: &str, level: Level, code: &str) -> Vec<&ScoreRow> {
        self.scores.ranked(province, level, code)
    }

    /// A unit's score on one level and code without the survey weights, when the scores are weighted.
    pub fn unweighted(&self, unit: &str, level: Level, code: &str) -> Option<&ScoreRow> {
        let weighting = self.weighting.as_ref()?;
        weighting.unweighted.score(unit, level, code)
    }

    /// The provinces with at least one published commune in this snapshot's wave.
    pub fn provinces(&self) -> Vec<String> {
        self.scores.provinces()
    }

    /// The name of a unit (or its code if unknown).
    pub fn unit_name(&self, code: &str) -> String {
        self.units
            .units
            .iter()
            .find(|u| u.code == code)
            .map(|u| u.name.clone())
            .or_else(|| self.units.province_names.get(code).cloned())
            .unwrap_or_else(|| code.to_owned())
    }

    /// A unit's changes in this wave since the previous wave: on what both measure when that wave was asked on
    /// another questionnaire version, else since the previous wave of the same questionnaire (none for the first
    /// wave).
    pub fn changes_of(&self, unit: &str) -> &[Change] {
        self.changes.get(unit).map_or(&[], Vec::as_slice)
    }

    /// The KPIs of a unit, if it had cases.
    pub fn kpi(&self, unit: &str) -> Option<&UnitKpi> {
        self.kpis.iter().find(|k| k.unit_code == unit)
    }

    /// A commune's responsiveness: overall first, then per category (nothing when it had no cases).
    pub fn responsiveness_of<'a>(&'a self, unit: &'a str) -> impl Iterator<Item = &'a Responsiveness> {
        self.responsiveness.iter().filter(move |r| r.unit_code == unit)
    }

    /// A chart's bytes, drawn once per snapshot by `draw`.
    pub fn chart(
        &self,
        name: &str,
        format: Format,
        draw: impl FnOnce() -> Result<Vec<u8>, ykien_analysis::charts::ChartError>,
    ) -> Result<Arc<Vec<u8>>, Error> {
        let key = (name.to_owned(), format);
        if let Some(bytes) = self.charts.lock().map_err(poisoned)?.get(&key) {
            return Ok(bytes.clone());
        }
        let bytes = Arc::new(draw().map_err(|e| Error::Unavailable(format!("the chart {name} cannot be drawn: {e}")))?);
        self.charts.lock().map_err(poisoned)?.insert(key, bytes.clone());
        Ok(bytes)
    }
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> Error {
    Error::Unavailable("a snapshot's cache was left inconsistent by a failed request".to_owned())
}

/// How long a request waits for scores that are not computed yet before it says they are on their way.
const FIRST_WAIT: Duration = Duration::from_secs(15);

/// The dashboard's scores, per (wave, period), computed on demand and refreshed in the background.
pub struct Scoreboard {
    store: Store,
    surveys: Arc<Surveys>,
    /// The working-time calendar the responsiveness is measured in.
    calendar: WorkCalendar,
    /// How long a snapshot is served without checking for new data.
    refresh: Duration,
    snapshots: Mutex<HashMap<SnapshotKey, Arc<Snapshot>>>,
    /// One computation at a time: scoring is CPU work that would only slow itself down when run twice.
    computing: tokio::sync::Mutex<()>,
    /// A background refresh is under way.
    refreshing: AtomicBool,
    /// Snapshots being computed for [`Scoreboard::ready`], so that many public requests start one computation.
    pending: Mutex<std::collections::HashSet<SnapshotKey>>,
}

impl Scoreboard {
    pub fn new(store: Store, surveys: Arc<Surveys>, calendar: WorkCalendar, refresh: Duration) -> Self {
        Self {
            store,
            surveys,
            calendar,
            refresh,
            snapshots: Mutex::new(HashMap::new()),
            computing: tokio::sync::Mutex::new(()),
            refreshing: AtomicBool::new(false),
            pending: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// The waves that have a questionnaire, newest first: what the dashboard offers to choose from.
    pub async fn waves(&self) -> Result<Vec<Wave>, Error> {
        Ok(self.store.waves().await?)
    }

    /// The wave to show when none is asked for: the newest one with complete responses, else the newest.
    pub async fn default_wave(&self) -> Result<Option<Wave>, Error> {
        let waves = self.store.waves().await?;
        for w in &waves {
            if self.store.has_complete_responses(w.id).await? {
                return Ok(Some(w.clone()));
            }
        }
        Ok(waves.into_iter().next())
    }

    /// The snapshot for `key`: the kept one if it is fresh or nothing changed, else a new one. A stale snapshot
    /// is returned at once while another task recomputes it.
    pub async fn snapshot(self: &Arc<Self>, key: &SnapshotKey) -> Result<Arc<Snapshot>, Error> {
        let kept = self.snapshots.lock().map_err(poisoned)?.get(key).cloned();
        let Some(kept) = kept else {
            // Computed in its own task: a request that gives up (a timeout, a closed tab) does not waste it.
            let this = self.clone();
            let key = key.clone();
            let computing = tokio::spawn(async move { this.recompute(&key, None).await });
            return match tokio::time::timeout(FIRST_WAIT, computing).await {
                Ok(done) => done.map_err(|e| Error::Unavailable(format!("the scores' computation stopped: {e}")))?,
                // Still computing (a large wave): say so; the task goes on and the next request finds it done.
                Err(_) => Err(Error::Busy("the scores are being computed".to_owned())),
            };
        };
        let checked_at = *kept.checked_at.lock().map_err(poisoned)?;
        if Utc::now() - checked_at < chrono::Duration::from_std(self.refresh).unwrap_or_default() {
            return Ok(kept);
        }
        // Stale: serve it, and look for new data in the background unless a refresh already runs.
        if self
            .refreshing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let this = self.clone();
            let key = key.clone();
            let basis = kept.basis;
            tokio::spawn(async move {
                if let Err(e) = this.recompute(&key, Some(basis)).await {
                    tracing::warn!(error = %e, wave = %key.wave, "the dashboard's scores could not be refreshed");
                }
                this.refreshing.store(false, Ordering::Release);
            });
        }
        Ok(kept)
    }

    /// A commune's channel shares among the complete responses of `snapshot`'s wave, counted on its first view
    /// and kept with the snapshot: as fresh as its scores, which are computed again when a response completes.
    pub async fn channel_shares(&self, snapshot: &Snapshot, unit_code: &str) -> Result<Arc<Vec<ChannelShare>>, Error> {
        if let Some(kept) = snapshot.channels.lock().map_err(poisoned)?.get(unit_code) {
            return Ok(kept.clone());
        }
        let shares = Arc::new(channel_shares(&self.store, snapshot.wave.id, unit_code).await?);
        snapshot
            .channels
            .lock()
            .map_err(poisoned)?
            .insert(unit_code.to_owned(), shares.clone());
        Ok(shares)
    }

    /// The snapshot for `key` if one was computed (refreshed in the background as [`Scoreboard::snapshot`] does);
    /// otherwise `None` at once, with its computation started in the background. Public pages use this: a request
    /// never waits for scores to be computed.
    pub async fn ready(self: &Arc<Self>, key: &SnapshotKey) -> Result<Option<Arc<Snapshot>>, Error> {
        if self.snapshots.lock().map_err(poisoned)?.contains_key(key) {
            return self.snapshot(key).await.map(Some);
        }
        self.prepare(key)?;
        Ok(None)
    }

    /// Starts computing the snapshot of `key` in the background unless it is kept or already being computed.
    pub fn prepare(self: &Arc<Self>, key: &SnapshotKey) -> Result<(), Error> {
        if self.snapshots.lock().map_err(poisoned)?.contains_key(key)
            || !self.pending.lock().map_err(poisoned)?.insert(key.clone())
        {
            return Ok(());
        }
        let this = self.clone();
        let key = key.clone();
        tokio::spawn(async move {
            if let Err(e) = this.recompute(&key, None).await {
                tracing::warn!(error = %e, wave = %key.wave, "scores for the public pages could not be computed");
            }
            if let Ok(mut pending) = this.pending.lock() {
                pending.remove(&key);
            }
        });
        Ok(())
    }

    /// Computes the snapshot of `key` (one computation at a time). With `unless_basis`, keeps the current one
    /// — only marking it fresh — when the responses and cases it counted are still all there are.
    async fn recompute(&self, key: &SnapshotKey, unless_basis: Option<Basis>) -> Result<Arc<Snapshot>, Error> {
        let _computing = self.computing.lock().await;
        if unless_basis.is_none()
            && let Some(done) = self.snapshots.lock().map_err(poisoned)?.get(key).cloned()
        {
            // Another request computed it while this one waited.
            return Ok(done);
        }
        let wave = match self.store.wave_by_code(&key.wave).await {
            Ok(w) => w,
            Err(StoreError::NotFound(_)) => return Err(Error::WaveNotFound(key.wave.clone())),
            Err(e) => return Err(e.into()),
        };
        let questionnaire = self.surveys.questionnaire(wave.questionnaire_id).await?;
        let waves = self.trend_waves(&wave, &questionnaire.code).await?;
        let span = match key.period {
            Some(p) => Some(
                p.instants()
                    .ok_or_else(|| Error::BadRequest(format!("kỳ báo cáo {p}")))?,
            ),
            None => None,
        };
        let mut responses = 0;
        for w in &waves {
            responses += self.store.count_responses(w.id).await?.0;
        }
        let (from, until) = span.unwrap_or((DateTime::UNIX_EPOCH, DateTime::from_timestamp_nanos(i64::MAX)));
        let cases = self.store.case_facts(from, until).await?;
        let mut weights_stamp = 0;
        for w in &waves {
            if let Some(weighting) = self.store.wave_weighting(w.id).await? {
                weights_stamp ^= weighting.computed_at.timestamp_micros();
            }
        }
        let basis = (responses, weights_stamp, fingerprint(&cases));
        if unless_basis == Some(basis)
            && let Some(kept) = self.snapshots.lock().map_err(poisoned)?.get(key).cloned()
        {
            // Nothing new: the same numbers, good for another interval.
            *kept.checked_at.lock().map_err(poisoned)? = Utc::now();
            return Ok(kept);
        }
        let codebook = codebook(&questionnaire).map_err(failure)?;
        let units = units_from_store(&self.store, vn_day(Utc::now()))
            .await
            .map_err(failure)?;
        let kept = self.snapshots.lock().map_err(poisoned)?.get(key).cloned();
        let period = key.period.map(|p| p.to_string()).unwrap_or_default();
        let (mut scores, computed_at, checked_at, counted) = match kept {
            // Only cases changed: the feedback numbers are computed again, the scores kept.
            Some(kept) if (kept.basis.0, kept.basis.1) == (responses, weights_stamp) => {
                (Scores::clone(&kept.scores), kept.computed_at, Utc::now(), basis)
            }
            Some(_) => {
                self.score_and_keep(key, &period, &waves, span, &codebook, &units, basis)
                    .await?
            }
            None => match self.persisted(key, &period).await? {
                // Computed before a restart or by another instance: served at once, and looked at again (in the
                // background, by the next request) as soon as it is asked for.
                Some((scores, computed_at, counted)) => {
                    (scores, computed_at, DateTime::UNIX_EPOCH, (counted, -1, basis.2))
                }
                None => {
                    self.score_and_keep(key, &period, &waves, span, &codebook, &units, basis)
                        .await?
                }
            },
        };
        // The questionnaire's dimension rule, on fresh and kept scores alike (it only withdraws and marks, so a
        // second application changes nothing).
        let partial = ykien_analysis::apply_dimension_rule(
            &mut scores,
            &codebook,
            super::versions::analysis_rule(questionnaire.dimension_rule),
        );
        let comparison =
            match super::versions::cross_version_plan(&self.store, &self.surveys, &wave, &questionnaire).await? {
                Some(plan) => {
                    let pair = [plan.previous.clone(), wave.clone()];
                    let scores = self
                        .score(&pair, span, &period, &plan.codebook, &units, Weighed::Weighted)
                        .await?;
                    Some(CrossVersion { plan, scores })
                }
                None => None,
            };
        let weighting = match self.store.wave_weighting(wave.id).await? {
            Some(summary) => {
                let one = std::slice::from_ref(&wave);
                let mut unweighted = self
                    .score(one, span, &period, &codebook, &units, Weighed::Unweighted)
                    .await?;
                let rule = super::versions::analysis_rule(questionnaire.dimension_rule);
                ykien_analysis::apply_dimension_rule(&mut unweighted, &codebook, rule);
                let late = self.store.unweighted_responses(wave.id).await?;
                Some(Weighting {
                    summary,
                    unweighted: WaveScores::new(unweighted, &wave.code),
                    late,
                })
            }
            None => None,
        };
        let now = Utc::now();
        let responsiveness = responsiveness(&cases, &self.calendar, now);
        let facts: Vec<ykien_analysis::CaseFacts> = cases.into_iter().map(case_facts).collect();
        let kpis = ykien_analysis::kpis(&facts, now);
        let changes = changes(&waves, &scores, comparison.as_ref());
        let scores = WaveScores::new(scores, &wave.code);
        let snapshot = Arc::new(Snapshot {
            wave,
            waves,
            period: key.period,
            codebook,
            units,
            scores,
            partial,
            comparison,
            changes,
            weighting,
            kpis,
            responsiveness,
            computed_at,
            checked_at: Mutex::new(checked_at),
            basis: counted,
            charts: Mutex::new(HashMap::new()),
            channels: Mutex::new(HashMap::new()),
        });
        self.snapshots
            .lock()
            .map_err(poisoned)?
            .insert(key.clone(), snapshot.clone());
        tracing::info!(wave = %key.wave, period = ?key.period.map(|p| p.to_string()), responses, "dashboard scores ready");
        Ok(snapshot)
    }

    /// Scores the waves and keeps the result in the database; returns the scores, when they were computed, when
    /// they were last checked and what they count.
    #[allow(clippy::too_many_arguments)]
    async fn score_and_keep(
        &self,
        key: &SnapshotKey,
        period: &str,
        waves: &[Wave],
        span: Option<(DateTime<Utc>, DateTime<Utc>)>,
        codebook: &Codebook,
        units: &UnitsTable,
        basis: Basis,
    ) -> Result<(Scores, DateTime<Utc>, DateTime<Utc>, Basis), Error> {
        let scores = self
            .score(waves, span, period, codebook, units, Weighed::Weighted)
            .await?;
        let now = Utc::now();
        let (scores, json) = tokio::task::spawn_blocking(move || {
            let json = serde_json::to_string(&scores);
            (scores, json)
        })
        .await
        .map_err(|e| Error::Unavailable(format!("the scores could not be written down: {e}")))?;
        match json {
            Ok(json) => {
                let row = ScoreSnapshotRow {
                    wave_code: key.wave.clone(),
                    period: period.to_owned(),
                    computed_at: now,
                    responses: basis.0,
                    scores: json,
                };
                // Served from memory either way: a failed write only costs a recomputation after a restart.
                if let Err(e) = self.store.save_score_snapshot(&row).await {
                    tracing::warn!(error = %e, wave = %key.wave, "the computed scores could not be kept");
                }
            }
            Err(e) => tracing::warn!(error = %e, wave = %key.wave, "the computed scores could not be serialised"),
        }
        Ok((scores, now, now, basis))
    }

    /// The snapshot kept in the database for `key`, if there is one that still reads.
    async fn persisted(&self, key: &SnapshotKey, period: &str) -> Result<Option<(Scores, DateTime<Utc>, i64)>, Error> {
        let Some(row) = self.store.score_snapshot(&key.wave, period).await? else {
            return Ok(None);
        };
        let (computed_at, responses) = (row.computed_at, row.responses);
        let parsed = tokio::task::spawn_blocking(move || serde_json::from_str::<Scores>(&row.scores))
            .await
            .map_err(|e| Error::Unavailable(format!("the kept scores could not be read: {e}")))?;
        match parsed {
            Ok(scores) => Ok(Some((scores, computed_at, responses))),
            Err(e) => {
                // Written by an older version: computed again instead.
                tracing::warn!(error = %e, wave = %key.wave, "the kept scores do not read; computing them again");
                Ok(None)
            }
        }
    }

    /// The waves of the same questionnaire opened no later than `wave`, oldest first, ending with `wave`.
    async fn trend_waves(&self, wave: &Wave, questionnaire_code: &str) -> Result<Vec<Wave>, Error> {
        let mut waves = Vec::new();
        for w in self.store.waves().await? {
            if w.id == wave.id {
                continue;
            }
            if w.opens_at <= wave.opens_at
                && self.surveys.questionnaire(w.questionnaire_id).await?.code == questionnaire_code
            {
                waves.push(w);
            }
        }
        waves.sort_by_key(|w| (w.opens_at, w.code.clone()));
        waves.push(wave.clone());
        Ok(waves)
    }

    /// Scores the waves commune by commune, reusing the communes whose responses did not change.
    async fn score(
        &self,
        waves: &[Wave],
        span: Option<(DateTime<Utc>, DateTime<Utc>)>,
        period: &str,
        codebook: &Codebook,
        units: &UnitsTable,
        how: Weighed,
    ) -> Result<Scores, Error> {
        let scoring = Scoring {
            store: &self.store,
            waves,
            span,
            period,
            codebook,
            units,
            options: match how {
                Weighed::Weighted => ScoreOptions::default(),
                // Shown beside the weighted scores as points: no intervals.
                Weighed::Unweighted => ScoreOptions {
                    replicates: 0,
                    ..ScoreOptions::default()
                },
            },
            weighted: how == Weighed::Weighted,
        };
        let (scores, work) = scoring.run().await?;
        tracing::info!(scored = work.scored, reused = work.reused, "communes' scores ready");
        Ok(scores)
    }
}

/// Whether scores use the waves' stored survey weights (a wave without any is scored alike either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Weighed {
    Weighted,
    Unweighted,
}

/// A hash of every case fact: changes when a case is filed, answered, closed, rated or moves on.
fn fingerprint(cases: &[CaseFacts]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for c in cases {
        let state = c.state.as_str();
        (&c.unit_code, state, c.received_at, c.accept_due_at).hash(&mut hasher);
        (c.answer_due_at, c.answered_at, c.rating, c.reopens).hash(&mut hasher);
    }
    cases.len().hash(&mut hasher);
    hasher.finish()
}

fn failure(e: AnalysisFailure) -> Error {
    match e {
        AnalysisFailure::Store(s) => Error::Store(s),
        AnalysisFailure::WaveNotFound(w) => Error::WaveNotFound(w),
        other => Error::Unavailable(format!("the scores cannot be computed: {other}")),
    }
}

/// A stored case as the KPIs count it.
fn case_facts(row: CaseFacts) -> ykien_analysis::CaseFacts {
    let status = match row.state {
        CaseState::Received | CaseState::Accepted | CaseState::Assigned => CaseStatus::Open,
        CaseState::Answered | CaseState::Closed => CaseStatus::Closed,
        CaseState::Rejected | CaseState::Duplicate | CaseState::WaitingForCitizen => CaseStatus::NotCounted,
    };
    ykien_analysis::CaseFacts {
        due_at: deadline(row.state, row.accept_due_at, row.answer_due_at),
        unit_code: row.unit_code,
        received_at: row.received_at,
        answered_at: row.answered_at,
        status,
        rating: row.rating.and_then(|r| u8::try_from(r).ok()),
    }
}
