//! Survey waves in the database: their units and reporting periods, and the waves open in a commune with a person's
//! session in each, read together for a survey turn.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::surveys::SessionRecord;
use super::units::UnitRecord;
use super::{BeginWrite, Session, Store, StoreError, db, execute, fetch, on_pool};
use crate::domain::survey::{NewWave, ReportingPeriod, Wave};
use crate::domain::units::Unit;

type WaveTuple = (Uuid, String, String, Uuid, DateTime<Utc>, DateTime<Utc>, Option<i64>);

fn wave_from_tuple((id, code, title, questionnaire_id, opens_at, closes_at, modules): WaveTuple) -> Wave {
    Wave {
        id,
        code,
        title,
        questionnaire_id,
        opens_at,
        closes_at,
        modules_per_respondent: modules.and_then(|m| u16::try_from(m).ok()),
    }
}

/// A row of [`Store::units_with_open_waves`]: a unit, one open wave covering it or NULLs, and the identity's session
/// in that wave or NULLs.
#[derive(sqlx::FromRow)]
struct UnitWithWave {
    #[sqlx(flatten)]
    unit: UnitRecord,
    wave_id: Option<Uuid>,
    wave_code: Option<String>,
    wave_title: Option<String>,
    questionnaire_id: Option<Uuid>,
    opens_at: Option<DateTime<Utc>>,
    closes_at: Option<DateTime<Utc>>,
    modules_per_respondent: Option<i64>,
    response_id: Option<Uuid>,
    session_unit_id: Option<Uuid>,
    state: Option<String>,
    answers: Option<String>,
    revision: Option<i64>,
}

/// A wave open now, with the session of the identity asked about in it, if any ([`Store::units_with_open_waves`]).
#[derive(Clone, Debug)]
pub struct OpenWave {
    pub wave: Wave,
    pub session: Option<Session>,
}

const WAVE_COLUMNS: &str =
    "SELECT w.id, w.code, w.title, w.questionnaire_id, w.opens_at, w.closes_at, w.modules_per_respondent FROM waves w ";

impl Store {
    /// Creates a wave with its units and reporting periods.
    pub async fn insert_wave(&self, wave: &NewWave) -> Result<Wave, StoreError> {
        let writer = self.writer().await;
        let id = Uuid::new_v4();
        let now = Utc::now();
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to create a wave"))?;
            execute!(
                tx: tx,
                "wave",
                "INSERT INTO waves (id, code, title, questionnaire_id, opens_at, closes_at, created_at, \
                 modules_per_respondent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                id,
                &wave.code,
                &wave.title,
                wave.questionnaire_id,
                wave.opens_at,
                wave.closes_at,
                now,
                wave.modules_per_respondent.map(i64::from),
            )?;
            for unit_id in &wave.unit_ids {
                execute!(
                    tx: tx,
                    "adding a unit to a wave",
                    "INSERT INTO wave_units (wave_id, unit_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    id,
                    unit_id,
                )?;
            }
            for period in &wave.periods {
                execute!(
                    tx: tx,
                    "reporting period",
                    "INSERT INTO reporting_periods (wave_id, name, starts_on, ends_on) VALUES ($1, $2, $3, $4)",
                    id,
                    &period.name,
                    period.starts_on,
                    period.ends_on,
                )?;
            }
            tx.commit().await.map_err(db("committing a new wave"))?;
            Ok::<(), StoreError>(())
        })?;
        self.wave_by_code(&wave.code).await
    }

    pub async fn wave_by_code(&self, code: &str) -> Result<Wave, StoreError> {
        let sql = AssertSqlSafe(format!("{WAVE_COLUMNS} WHERE w.code = $1"));
        let row: WaveTuple = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .bind(code)
            .fetch_one(p)
            .await
            .map_err(db("wave"))?);
        Ok(wave_from_tuple(row))
    }

    /// Every wave, newest first.
    pub async fn waves(&self) -> Result<Vec<Wave>, StoreError> {
        let sql = AssertSqlSafe(format!("{WAVE_COLUMNS} ORDER BY w.opens_at DESC, w.code"));
        let rows: Vec<WaveTuple> = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .fetch_all(p)
            .await
            .map_err(db("reading waves"))?);
        Ok(rows.into_iter().map(wave_from_tuple).collect())
    }

    /// The codes of the units a wave names (provinces or communes), in code order.
    pub async fn wave_unit_codes(&self, wave_id: Uuid) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = fetch!(
            &self.pool,
            fetch_all,
            "reading the units of a wave",
            "SELECT u.code FROM wave_units wu JOIN admin_units u ON u.id = wu.unit_id \
             WHERE wu.wave_id = $1 ORDER BY u.code",
            wave_id,
        )?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }

    pub async fn wave_periods(&self, wave_id: Uuid) -> Result<Vec<ReportingPeriod>, StoreError> {
        let rows: Vec<(String, NaiveDate, NaiveDate)> = fetch!(
            &self.pool,
            fetch_all,
            "reading the reporting periods of a wave",
            "SELECT name, starts_on, ends_on FROM reporting_periods WHERE wave_id = $1 ORDER BY ends_on, name",
            wave_id,
        )?;
        Ok(rows
            .into_iter()
            .map(|(name, starts_on, ends_on)| ReportingPeriod {
                name,
                starts_on,
                ends_on,
            })
            .collect())
    }

    /// Whether a wave covers a unit, directly or through its parent.
    pub async fn wave_covers(&self, wave_id: Uuid, unit_id: Uuid, parent_id: Option<Uuid>) -> Result<bool, StoreError> {
        let (n,): (i64,) = fetch!(
            &self.pool,
            fetch_one,
            "checking the units of a wave",
            "SELECT COUNT(*) FROM wave_units WHERE wave_id = $1 AND unit_id IN ($2, $3)",
            wave_id,
            unit_id,
            parent_id.unwrap_or(unit_id),
        )?;
        Ok(n > 0)
    }

    /// Every version of the unit with this code, oldest first, each with the waves open at `now` that cover it
    /// (naming it or its parent), newest first, and the session of `identity_hash` in each (none when `None`): the
    /// commune, its survey and where the person is in it in one read, for a chat turn or a survey page.
    pub async fn units_with_open_waves(
        &self,
        code: &str,
        now: DateTime<Utc>,
        identity_hash: Option<&str>,
    ) -> Result<Vec<(Unit, Vec<OpenWave>)>, StoreError> {
        let rows: Vec<UnitWithWave> = fetch!(
            &self.pool,
            fetch_all,
            "reading a unit and its open waves",
            "SELECT u.id, u.code, u.name, u.level, u.kind, u.parent_id, u.valid_from, u.valid_to, u.lat, u.lon, \
             u.area_km2, w.id AS wave_id, w.code AS wave_code, w.title AS wave_title, w.questionnaire_id, \
             w.opens_at, w.closes_at, w.modules_per_respondent, s.response_id, r.unit_id AS session_unit_id, \
             s.state, s.answers, s.revision \
             FROM admin_units u LEFT JOIN waves w ON w.opens_at <= $2 AND w.closes_at > $2 AND EXISTS \
             (SELECT 1 FROM wave_units wu WHERE wu.wave_id = w.id AND wu.unit_id IN (u.id, COALESCE(u.parent_id, u.id))) \
             LEFT JOIN survey_sessions s ON s.wave_id = w.id AND s.identity_hash = $3 \
             LEFT JOIN responses r ON r.id = s.response_id \
             WHERE u.code = $1 ORDER BY u.valid_from, u.id, w.opens_at DESC",
            code,
            now,
            identity_hash,
        )?;
        let mut units: Vec<(Unit, Vec<OpenWave>)> = Vec::new();
        for row in rows {
            let unit = Unit::try_from(row.unit)?;
            let columns = (
                row.wave_id,
                row.wave_code,
                row.wave_title,
                row.questionnaire_id,
                row.opens_at,
            );
            let wave = match (columns, row.closes_at) {
                ((Some(id), Some(code), Some(title), Some(questionnaire), Some(opens)), Some(closes)) => {
                    let modules = row.modules_per_respondent;
                    let wave = wave_from_tuple((id, code, title, questionnaire, opens, closes, modules));
                    let session = match (row.response_id, row.session_unit_id, row.state, row.revision) {
                        (Some(response_id), Some(session_unit_id), Some(state), Some(revision)) => {
                            let record = SessionRecord {
                                response_id,
                                session_unit_id,
                                state,
                                answers: row.answers,
                                revision,
                            };
                            Some(self.session_from(record).await?)
                        }
                        _ => None,
                    };
                    Some(OpenWave { wave, session })
                }
                _ => None,
            };
            match units.last_mut() {
                Some((last, waves)) if last.id == unit.id => waves.extend(wave),
                _ => units.push((unit, wave.into_iter().collect())),
            }
        }
        Ok(units)
    }
}
