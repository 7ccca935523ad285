//! Surveys: importing questionnaire versions, creating waves, and taking one respondent through the survey
//! engine on any channel, with the rules around it — one response per person per wave, only open waves, only
//! communes the wave covers, identities kept only as keyed hashes.
//!
//! A respondent's survey state is their session: [`Surveys::progress`] reads it (with the answers so far),
//! [`Surveys::advance`] decides one step from it without writing, and the caller stores the step's
//! [`SessionWrite`] — the web on its own ([`Surveys::answer`] does all three), a chat with its own state in one
//! transaction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;
use ykien_bots::message::Channel;

use super::Error;
use super::units::unit_by_code;
use crate::config::Secret;
use crate::conversation::{Ask, Input, Mode, Step, SurveyEngine, SurveyState};
use crate::domain::Lang;
use crate::domain::Problem;
use crate::domain::calendar::vn_day;
use crate::domain::questionnaire::{Answer, Questionnaire};
use crate::domain::survey::{NewWave, ReportingPeriod, Wave, is_wave_code, plan_periods};
use crate::domain::units::{Unit, UnitLevel};
use crate::storage::{
    NewResponse, QuestionnaireImport, Session, SessionFrom, SessionTo, SessionWrite, SessionWritten, Store, StoreError,
    StoredAnswer,
};

/// Who is answering, as the channel knows them (a web device token, a Telegram or Zalo user id). Never stored:
/// only its keyed hash is.
#[derive(Clone, Debug)]
pub struct Identity {
    pub channel: Channel,
    pub id: String,
}

/// The open survey of one commune.
#[derive(Clone, Debug)]
pub struct SurveyContext {
    pub wave: Wave,
    pub commune: Unit,
    pub questionnaire: Arc<Questionnaire>,
}

impl SurveyContext {
    /// On a split wave, the sentence that tells a respondent the survey is shorter than the introduction of the
    /// whole questionnaire says; shown on the web survey's first page and after the chat's introduction.
    pub fn split_note(&self, lang: Lang) -> Option<String> {
        let k = self.wave.modules_per_respondent?;
        let all = self.questionnaire.subdimensions.len();
        Some(match lang {
            Lang::Vi => format!(
                "Đợt này mỗi người chỉ trả lời phần thông tin chung và {k} trong {all} nhóm câu hỏi, được chọn ngẫu \
                 nhiên, nên nhanh hơn."
            ),
            Lang::En => format!(
                "In this wave each person answers the profile and {k} of the {all} groups of questions, drawn at \
                 random, so it is quicker."
            ),
        })
    }

    /// The dialogue one respondent goes through: the whole questionnaire, or on a split wave the profile and
    /// the sub-dimensions drawn for them ([`Wave::modules_for`]).
    pub fn engine(&self, mode: Mode, respondent: &Progress) -> SurveyEngine<'_> {
        match self.wave.modules_for(&self.questionnaire, &respondent.hash) {
            Some(modules) => SurveyEngine::for_modules(&self.questionnaire, mode, &modules),
            None => SurveyEngine::new(&self.questionnaire, mode),
        }
    }
}

/// What to show a respondent after one input.
#[derive(Clone, Debug)]
pub enum Turn {
    Ask {
        ask: Ask,
        lang: Lang,
        resumed: bool,
    },
    /// The response is complete (now, or already by an earlier identical submission).
    Done,
    /// This identity already completed a response in this wave.
    AlreadyResponded,
}

/// Where one respondent is in the open survey of a commune, as read at the start of a step: their session (the
/// survey state and the answers so far), or whether they already answered.
#[derive(Clone, Debug)]
pub struct Progress {
    hash: String,
    channel: Channel,
    session: Option<OpenSession>,
    responded: bool,
}

#[derive(Clone, Debug)]
struct OpenSession {
    revision: i64,
    state: SurveyState,
    answers: HashMap<String, Answer>,
}

impl Progress {
    /// The screen the respondent is at, while a response is in progress.
    pub fn screen(&self) -> Option<usize> {
        self.session.as_ref().map(|s| s.state.screen)
    }
}

/// One step decided by [`Surveys::advance`]: what to show, and what to store for it (nothing when nothing
/// changed). The turn holds only once the write is stored.
#[derive(Clone, Debug)]
pub struct Advanced {
    pub turn: Turn,
    pub write: Option<SessionWrite>,
}

/// The survey service of one process: the store, the key for identities, and parsed questionnaires.
pub struct Surveys {
    store: Store,
    secret: Secret,
    questionnaires: RwLock<HashMap<Uuid, Arc<Questionnaire>>>,
    /// (wave code, commune code) → the checked pair and when it was checked.
    api_targets: RwLock<HashMap<(String, String), ApiTarget>>,
}

type ApiTarget = (Wave, Unit, DateTime<Utc>);

type HmacSha256 = Hmac<Sha256>;

impl Surveys {
    pub fn new(store: Store, secret: Secret) -> Self {
        Self {
            store,
            secret,
            questionnaires: RwLock::new(HashMap::new()),
            api_targets: RwLock::new(HashMap::new()),
        }
    }

    /// HMAC-SHA-256 of `value` under the service secret, for `purpose` (so that the same value hashed for two
    /// purposes gives unrelated results).
    pub fn keyed_hash(&self, purpose: &str, value: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(self.secret.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose.as_bytes());
        mac.update(b"\x00");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub(super) fn identity_hash(&self, identity: &Identity) -> String {
        self.keyed_hash("respondent", &format!("{}:{}", identity.channel.as_str(), identity.id))
    }

    /// A questionnaire version, parsed once per process.
    pub async fn questionnaire(&self, id: Uuid) -> Result<Arc<Questionnaire>, Error> {
        if let Some(q) = self.questionnaires.read().unwrap_or_else(|e| e.into_inner()).get(&id) {
            return Ok(q.clone());
        }
        let stored = self.store.questionnaire(id).await?;
        let parsed = Arc::new(Questionnaire::parse(&stored.source).map_err(|e| {
            Error::Store(StoreError::Corrupt(format!(
                "stored questionnaire {} v{}: {e}",
                stored.code, stored.version
            )))
        })?);
        self.questionnaires
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, parsed.clone());
        Ok(parsed)
    }

    /// The commune with this code today and the newest wave open now that covers it.
    pub async fn survey_for_commune(&self, code: &str, now: DateTime<Utc>) -> Result<SurveyContext, Error> {
        Ok(self.open_survey_of(code, now, None).await?.0)
    }

    /// [`Surveys::survey_for_commune`] and the identity's [`Surveys::progress`] in it, in one read of the database:
    /// what every chat turn of a survey starts from.
    pub async fn survey_with_progress(
        &self,
        code: &str,
        identity: &Identity,
        now: DateTime<Utc>,
    ) -> Result<(SurveyContext, Progress), Error> {
        let hash = self.identity_hash(identity);
        let (ctx, session) = self.open_survey_of(code, now, Some(&hash)).await?;
        let progress = self.progress_from(&ctx, hash, identity.channel, session).await?;
        Ok((ctx, progress))
    }

    /// The survey context of a commune, with the session of `identity_hash` in its wave (none without one).
    async fn open_survey_of(
        &self,
        code: &str,
        now: DateTime<Utc>,
        identity_hash: Option<&str>,
    ) -> Result<(SurveyContext, Option<Session>), Error> {
        let mut versions = self.store.units_with_open_waves(code, now, identity_hash).await?;
        let commune = super::units::commune_of(
            versions.iter().map(|(unit, _)| unit.clone()).collect(),
            code,
            vn_day(now),
        )?;
        let open = versions
            .iter_mut()
            .find(|(unit, _)| unit.id == commune.id)
            .and_then(|(_, waves)| (!waves.is_empty()).then(|| waves.swap_remove(0)))
            .ok_or_else(|| Error::NoOpenWave(commune.name.clone()))?;
        let questionnaire = self.questionnaire(open.wave.questionnaire_id).await?;
        let ctx = SurveyContext {
            wave: open.wave,
            commune,
            questionnaire,
        };
        Ok((ctx, open.session))
    }

    /// Whether this identity already completed a response in the context's wave.
    pub async fn has_responded(&self, ctx: &SurveyContext, identity: &Identity) -> Result<bool, Error> {
        Ok(self
            .store
            .has_responded(ctx.wave.id, &self.identity_hash(identity))
            .await?)
    }

    /// Whether this identity has a response in progress in the context's wave.
    pub async fn has_session(&self, ctx: &SurveyContext, identity: &Identity) -> Result<bool, Error> {
        Ok(self
            .store
            .session(&self.identity_hash(identity), ctx.wave.id)
            .await?
            .is_some())
    }

    /// Reads where this identity is in the context's wave: one read of the session with its answers (and, when
    /// there is none, one of whether they already answered).
    pub async fn progress(&self, ctx: &SurveyContext, identity: &Identity) -> Result<Progress, Error> {
        let hash = self.identity_hash(identity);
        let session = self.store.session(&hash, ctx.wave.id).await?;
        self.progress_from(ctx, hash, identity.channel, session).await
    }

    /// The progress of the identity with this hash, from its session in the context's wave as read.
    async fn progress_from(
        &self,
        ctx: &SurveyContext,
        hash: String,
        channel: Channel,
        session: Option<Session>,
    ) -> Result<Progress, Error> {
        let session = match session {
            Some(session) => {
                let state: SurveyState = serde_json::from_str(&session.state)
                    .map_err(|e| StoreError::Corrupt(format!("survey session state: {e}")))?;
                let answers = session
                    .answers
                    .into_iter()
                    .filter_map(|(code, c, t)| {
                        let answer = ctx
                            .questionnaire
                            .question(&code)?
                            .answer_from_stored(c.as_deref(), t.as_deref())?;
                        Some((code, answer))
                    })
                    .collect();
                Some(OpenSession {
                    revision: session.revision,
                    state,
                    answers,
                })
            }
            None => None,
        };
        let responded = session.is_none() && self.store.has_responded(ctx.wave.id, &hash).await?;
        Ok(Progress {
            hash,
            channel,
            session,
            responded,
        })
    }

    /// Decides one step of a respondent through the survey engine, from their progress and one input. Writes
    /// nothing: the caller stores [`Advanced::write`], and decides again from a fresh [`Progress`] when it comes
    /// back [`SessionWritten::Stale`].
    pub fn advance(
        &self,
        ctx: &SurveyContext,
        progress: &Progress,
        mode: Mode,
        lang: Lang,
        input: Input,
    ) -> Result<Advanced, Error> {
        let engine = ctx.engine(mode, progress);
        let none = HashMap::new();
        let (from, mut state, answers) = match &progress.session {
            Some(session) => (
                SessionFrom::Revision(session.revision),
                session.state.clone(),
                &session.answers,
            ),
            None if progress.responded => {
                // A resubmitted last page lands here after the first one completed the response.
                let turn = if matches!(input, Input::Submit { .. }) {
                    Turn::Done
                } else {
                    Turn::AlreadyResponded
                };
                return Ok(Advanced { turn, write: None });
            }
            None => (
                SessionFrom::New {
                    unit_id: ctx.commune.id,
                    channel: progress.channel.as_str().to_owned(),
                    modules: ctx
                        .wave
                        .modules_for(&ctx.questionnaire, &progress.hash)
                        .map(|m| m.join(",")),
                },
                engine.start(mode, lang),
                &none,
            ),
        };
        state.lang = lang;
        let screen_before = state.screen;
        let resumed = matches!(input, Input::Show) && !answers.is_empty();
        let outcome = engine.handle(state, answers, input);
        let upserts: Vec<StoredAnswer> = outcome
            .upserts
            .iter()
            .map(|(code, a)| a.clone().into_row(code.clone()))
            .collect();
        // The screens gone through: those left behind ("back" pops them) and the one reached.
        let screens = i64::try_from(outcome.state.history.len())
            .unwrap_or(i64::MAX)
            .saturating_add(1);
        let write = |to| SessionWrite {
            identity_hash: progress.hash.clone(),
            wave_id: ctx.wave.id,
            from: from.clone(),
            to,
            upserts: upserts.clone(),
            deletes: outcome.deletes.clone(),
            screens,
            address_hash: None,
        };
        Ok(match outcome.step {
            Step::Done => Advanced {
                turn: Turn::Done,
                write: Some(write(SessionTo::Complete)),
            },
            Step::Ask(ask) => {
                let changed = !outcome.upserts.is_empty() || outcome.state.screen != screen_before;
                let write = if changed || progress.session.is_none() {
                    let mut all: Vec<StoredAnswer> = answers
                        .iter()
                        .filter(|(code, _)| !outcome.upserts.iter().any(|(c, _)| c == *code))
                        .map(|(code, a)| a.clone().into_row(code.clone()))
                        .chain(upserts.iter().cloned())
                        .collect();
                    all.sort();
                    let state = serde_json::to_string(&outcome.state).map_err(|e| Error::BadRequest(e.to_string()))?;
                    Some(write(SessionTo::Open { state, answers: all }))
                } else {
                    None
                };
                Advanced {
                    turn: Turn::Ask { ask, lang, resumed },
                    write,
                }
            }
        })
    }

    /// Takes one input of one respondent through the survey and stores the step on its own (the web form);
    /// `address` is the web client's address, counted when the response completes.
    pub async fn answer(
        &self,
        ctx: &SurveyContext,
        identity: &Identity,
        address: Option<&str>,
        (mode, lang): (Mode, Lang),
        input: Input,
    ) -> Result<Turn, Error> {
        // Two tries: a concurrent submission of the same respondent may move the session between read and write.
        for _ in 0..2 {
            let progress = self.progress(ctx, identity).await?;
            let Advanced { turn, write } = self.advance(ctx, &progress, mode, lang, input.clone())?;
            let Some(mut write) = write else {
                return Ok(turn);
            };
            write.address_hash = address.map(|a| self.address_hash(a));
            match self.store.write_session(&write).await? {
                SessionWritten::Written => return Ok(turn),
                SessionWritten::AlreadyResponded => return Ok(Turn::AlreadyResponded),
                SessionWritten::Stale => continue,
            }
        }
        // Still moving after two tries: show where the respondent is now.
        Box::pin(self.answer(ctx, identity, address, (mode, lang), Input::Show)).await
    }

    /// The keyed hash a client address is counted under (never stored in clear, never beside a response).
    fn address_hash(&self, address: &str) -> String {
        self.keyed_hash("address", address)
    }

    /// How many responses of this survey's wave and commune were completed from `address` on the web.
    pub async fn responses_from_address(&self, ctx: &SurveyContext, address: &str) -> Result<i64, Error> {
        Ok(self
            .store
            .address_responses(ctx.wave.id, ctx.commune.id, &self.address_hash(address))
            .await?)
    }

    /// The wave and commune an API response names, checked (the commune exists today and the wave covers it),
    /// remembered for a minute: data-entry apps post many responses for the same few pairs.
    async fn api_target(&self, wave_code: &str, commune_code: &str, now: DateTime<Utc>) -> Result<(Wave, Unit), Error> {
        let key = (wave_code.to_owned(), commune_code.to_owned());
        if let Some((wave, unit, at)) = self.api_targets.read().unwrap_or_else(|e| e.into_inner()).get(&key)
            && now - *at < chrono::Duration::seconds(60)
        {
            return Ok((wave.clone(), unit.clone()));
        }
        let wave = wave_by_code(&self.store, wave_code).await?;
        let commune = match super::units::commune_on(&self.store, commune_code, vn_day(now)).await {
            Ok(u) => u,
            Err(Error::UnitNotFound(_) | Error::NotACommune(_)) => {
                return Err(Error::InvalidResponse(vec![commune_problem(
                    commune_code,
                    "Không có xã, phường nào mang mã này.",
                    "No commune or ward has this code.",
                )]));
            }
            Err(e) => return Err(e),
        };
        if !self.store.wave_covers(wave.id, commune.id, commune.parent_id).await? {
            return Err(Error::InvalidResponse(vec![commune_problem(
                commune_code,
                "Đợt khảo sát này không bao gồm xã, phường này.",
                "This wave does not cover this commune or ward.",
            )]));
        }
        let mut cache = self.api_targets.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(key, (wave.clone(), commune.clone(), now));
        Ok((wave, commune))
    }

    /// Stores a complete response given at once (the JSON API). The same client token in the same wave
    /// returns the earlier response's id with `false`.
    pub async fn submit_complete(
        &self,
        wave_code: &str,
        commune_code: &str,
        client_token: Option<&str>,
        raw: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<(Uuid, bool), Error> {
        let (wave, commune) = self.api_target(wave_code, commune_code, now).await?;
        if !wave.is_open_at(now) {
            return Err(Error::WaveClosed(wave.code));
        }
        let questionnaire = self.questionnaire(wave.questionnaire_id).await?;
        let answers = crate::conversation::validate_complete(&questionnaire, raw).map_err(Error::InvalidResponse)?;
        let response = NewResponse {
            wave_id: wave.id,
            unit_id: commune.id,
            channel: Channel::Api.as_str().to_owned(),
            client_token: client_token.map(str::to_owned),
            answers: answers.into_iter().map(|(code, a)| a.into_row(code)).collect(),
            at: now,
        };
        let stored = self
            .store
            .insert_complete_responses(std::slice::from_ref(&response))
            .await?;
        stored
            .into_iter()
            .next()
            .ok_or_else(|| Error::BadRequest("nothing stored".into()))
    }
}

fn commune_problem(code: &str, vi: &str, en: &str) -> Problem {
    Problem {
        field: "commune".to_owned(),
        code: "invalid_commune",
        message: crate::domain::Text::new(format!("{vi} ({code})"), format!("{en} ({code})")),
    }
}

/// A wave by its code, or `WaveNotFound`.
pub async fn wave_by_code(store: &Store, code: &str) -> Result<Wave, Error> {
    match store.wave_by_code(code).await {
        Err(StoreError::NotFound(_)) => Err(Error::WaveNotFound(code.to_owned())),
        other => Ok(other?),
    }
}

/// Parses and stores a questionnaire version (without a code map: see [`super::versions::import_questionnaire`]).
pub async fn import_questionnaire(store: &Store, text: &str) -> Result<(Questionnaire, QuestionnaireImport), Error> {
    super::versions::import_questionnaire(store, text, None).await
}

/// A wave as an administrator describes it.
#[derive(Clone, Debug)]
pub struct WaveRequest {
    pub code: String,
    pub title: String,
    pub questionnaire: String,
    pub questionnaire_version: Option<i64>,
    pub unit_codes: Vec<String>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// The plans' six-month and annual periods are used when none are given.
    pub periods: Vec<ReportingPeriod>,
    /// A split questionnaire: how many sub-dimensions each respondent is asked besides the profile (`None`: all).
    pub modules_per_respondent: Option<u16>,
}

/// Creates a wave after checking every part of the request; all problems are listed at once.
pub async fn create_wave(store: &Store, request: WaveRequest) -> Result<Wave, Error> {
    let mut problems = Vec::new();
    if !is_wave_code(&request.code) {
        problems.push(format!(
            "code '{}': use a–z, 0–9 and '-', at most 64 characters",
            request.code
        ));
    }
    if request.title.trim().is_empty() {
        problems.push("title: the wave needs a title".to_owned());
    }
    if request.opens_at >= request.closes_at {
        problems.push(format!(
            "closes_at {} is not after opens_at {}",
            request.closes_at, request.opens_at
        ));
    }
    if request.unit_codes.is_empty() {
        problems.push("units: name at least one province or commune".to_owned());
    }
    for p in &request.periods {
        if p.starts_on > p.ends_on || p.name.trim().is_empty() {
            problems.push(format!("period '{}': needs a name and a start before its end", p.name));
        }
    }
    let questionnaire = match store
        .questionnaire_by_code(&request.questionnaire, request.questionnaire_version)
        .await
    {
        Ok(q) => Some(q),
        Err(StoreError::NotFound(_)) => {
            problems.push(format!(
                "questionnaire '{}'{} is not imported; run ykien questionnaire import FILE",
                request.questionnaire,
                request
                    .questionnaire_version
                    .map(|v| format!(" version {v}"))
                    .unwrap_or_default()
            ));
            None
        }
        Err(e) => return Err(e.into()),
    };
    let day = vn_day(request.opens_at);
    let mut unit_ids = Vec::new();
    let mut seen = HashSet::new();
    for code in &request.unit_codes {
        match unit_by_code(store, code.trim(), day).await {
            Ok(u) if u.is_valid_on(day) && u.level != UnitLevel::District => {
                if seen.insert(u.id) {
                    unit_ids.push(u.id);
                }
            }
            Ok(u) => problems.push(format!(
                "unit {code} ({}) does not exist as a province or commune on {day}",
                u.name
            )),
            Err(Error::UnitNotFound(_)) => problems.push(format!("unit {code} is not known")),
            Err(e) => return Err(e),
        }
    }
    if let (Some(k), Some(stored)) = (request.modules_per_respondent, &questionnaire) {
        let all = Questionnaire::parse(&stored.source).map_or(0, |q| q.subdimensions.len());
        if k == 0 || usize::from(k) >= all {
            problems.push(format!(
                "modules_per_respondent {k}: a split questionnaire asks each respondent from 1 to {} of its {all} \
                 sub-dimensions; leave it out to ask everything",
                all.saturating_sub(1)
            ));
        }
    }
    let Some(questionnaire) = questionnaire.filter(|_| problems.is_empty()) else {
        return Err(Error::InvalidWave(problems));
    };
    let periods = if request.periods.is_empty() {
        plan_periods(day)
    } else {
        request.periods
    };
    let new = NewWave {
        modules_per_respondent: request.modules_per_respondent,
        code: request.code.clone(),
        title: request.title.trim().to_owned(),
        questionnaire_id: questionnaire.id,
        opens_at: request.opens_at,
        closes_at: request.closes_at,
        unit_ids,
        periods,
    };
    match store.insert_wave(&new).await {
        Err(StoreError::Conflict(_)) => Err(Error::Conflict(format!(
            "a wave with code {} already exists",
            request.code
        ))),
        other => Ok(other?),
    }
}
