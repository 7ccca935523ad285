//! What is made public: the publications of scores (a wave's period, per province), the answered cases whose
//! reporters allowed it with the text officials cleared, and the client applications allowed to file through
//! Open311.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::case_changes::insert_audit;
use super::cases::{CASE_COLUMNS, CaseRecord};
use super::{AuditEntry, BeginWrite, Store, StoreError, db, execute, fetch, on_pool};
use crate::domain::cases::{Case, CaseState};
use crate::domain::survey::PlanPeriod;

/// One wave's numbers made public for a province, over the whole wave (`period` `None`) or one report period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publication {
    pub province_code: String,
    pub wave_code: String,
    pub period: Option<PlanPeriod>,
    pub published_by: Uuid,
    pub published_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PublicationRecord {
    province_code: String,
    wave_code: String,
    period: String,
    published_by: Uuid,
    published_at: DateTime<Utc>,
}

/// How a publication's period is stored: `''` for the whole wave.
fn period_text(period: Option<PlanPeriod>) -> String {
    period.map(|p| p.to_string()).unwrap_or_default()
}

impl TryFrom<PublicationRecord> for Publication {
    type Error = StoreError;

    fn try_from(r: PublicationRecord) -> Result<Self, StoreError> {
        let period = match r.period.as_str() {
            "" => None,
            p => Some(
                p.parse::<PlanPeriod>()
                    .map_err(|_| StoreError::Corrupt(format!("publication period '{p}'")))?,
            ),
        };
        Ok(Publication {
            province_code: r.province_code,
            wave_code: r.wave_code,
            period,
            published_by: r.published_by,
            published_at: r.published_at,
        })
    }
}

/// Which public cases to read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PublicCaseFilter {
    /// Only cases of these units (all units when `None`).
    pub unit_ids: Option<Vec<Uuid>>,
    /// Only these categories (all when empty).
    pub categories: Vec<String>,
    /// Only these tracking codes (all when empty).
    pub codes: Vec<String>,
    /// Received at or after.
    pub from: Option<DateTime<Utc>>,
    /// Received before.
    pub until: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// An answered case its reporter let be public, with what is shown beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicCase {
    pub case: Case,
    pub unit_code: String,
    pub unit_name: String,
    /// The newest official answer: what was done, and by which unit.
    pub answer: Option<(String, String)>,
    /// The report's photos (their attachment ids), read only when they may be shown.
    pub photos: Vec<Uuid>,
}

#[derive(sqlx::FromRow)]
struct PublicCaseRecord {
    #[sqlx(flatten)]
    case: CaseRecord,
    unit_code: String,
    unit_name: String,
    answer_text: Option<String>,
    answer_by: Option<String>,
}

/// A client application allowed to file cases through Open311.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiClient {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Publishes a wave's period for a province (again: the newer time and publisher), with its audit entry.
    pub async fn publish(&self, p: &Publication, audit: &AuditEntry) -> Result<(), StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |pool| {
            let mut tx = pool.begin_write().await.map_err(db("starting to publish"))?;
            execute!(
                tx: tx,
                "removing an earlier publication",
                "DELETE FROM publications WHERE province_code = $1 AND wave_code = $2 AND period = $3",
                &p.province_code,
                &p.wave_code,
                period_text(p.period),
            )?;
            execute!(
                tx: tx,
                "publishing",
                "INSERT INTO publications (province_code, wave_code, period, published_by, published_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &p.province_code,
                &p.wave_code,
                period_text(p.period),
                p.published_by,
                p.published_at,
            )?;
            insert_audit!(tx, audit, p.published_at);
            tx.commit().await.map_err(db("committing a publication"))
        })
    }

    /// Withdraws a publication, with its audit entry; false when there was none.
    pub async fn withdraw_publication(
        &self,
        province_code: &str,
        wave_code: &str,
        period: Option<PlanPeriod>,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |pool| {
            let mut tx = pool
                .begin_write()
                .await
                .map_err(db("starting to withdraw a publication"))?;
            let removed = execute!(
                tx: tx,
                "withdrawing a publication",
                "DELETE FROM publications WHERE province_code = $1 AND wave_code = $2 AND period = $3",
                province_code,
                wave_code,
                period_text(period),
            )?;
            if removed > 0 {
                insert_audit!(tx, audit, now);
            }
            tx.commit().await.map_err(db("committing a withdrawal"))?;
            Ok(removed > 0)
        })
    }

    /// Every publication, newest first; of one province when given.
    pub async fn publications(&self, province_code: Option<&str>) -> Result<Vec<Publication>, StoreError> {
        let records: Vec<PublicationRecord> = match province_code {
            Some(code) => fetch!(
                &self.pool,
                fetch_all,
                "reading publications",
                "SELECT province_code, wave_code, period, published_by, published_at FROM publications \
                 WHERE province_code = $1 ORDER BY published_at DESC",
                code,
            )?,
            None => fetch!(
                &self.pool,
                fetch_all,
                "reading publications",
                "SELECT province_code, wave_code, period, published_by, published_at FROM publications \
                 ORDER BY published_at DESC",
            )?,
        };
        records.into_iter().map(Publication::try_from).collect()
    }

    /// The public cases matching a filter, most recently answered first.
    pub async fn public_cases(&self, filter: &PublicCaseFilter) -> Result<Vec<PublicCase>, StoreError> {
        if filter.unit_ids.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let mut n = 2;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let marks =
            |count: usize, next: &mut dyn FnMut() -> String| (0..count).map(|_| next()).collect::<Vec<_>>().join(", ");
        let mut sql = format!(
            "SELECT {CASE_COLUMNS}, u.code AS unit_code, u.name AS unit_name, \
             (SELECT a.what_was_done FROM case_answers a WHERE a.case_id = c.id ORDER BY a.at DESC LIMIT 1) AS answer_text, \
             (SELECT a.by_unit FROM case_answers a WHERE a.case_id = c.id ORDER BY a.at DESC LIMIT 1) AS answer_by \
             FROM cases c JOIN admin_units u ON u.id = c.unit_id \
             WHERE c.public_consent = TRUE AND c.state IN ($1, $2)"
        );
        if let Some(units) = &filter.unit_ids {
            sql.push_str(&format!(" AND c.unit_id IN ({})", marks(units.len(), &mut next)));
        }
        if !filter.categories.is_empty() {
            sql.push_str(&format!(
                " AND c.category IN ({})",
                marks(filter.categories.len(), &mut next)
            ));
        }
        if !filter.codes.is_empty() {
            sql.push_str(&format!(" AND c.code IN ({})", marks(filter.codes.len(), &mut next)));
        }
        if filter.from.is_some() {
            sql.push_str(&format!(" AND c.received_at >= {}", next()));
        }
        if filter.until.is_some() {
            sql.push_str(&format!(" AND c.received_at < {}", next()));
        }
        sql.push_str(&format!(" ORDER BY c.answered_at DESC, c.code LIMIT {}", next()));
        // Only placeholders were added to the text; every value is bound below, in the same order.
        let sql = AssertSqlSafe(sql);
        let records: Vec<PublicCaseRecord> = on_pool!(&self.pool, |p| {
            let mut q = sqlx::query_as(sql)
                .bind(CaseState::Answered.as_str())
                .bind(CaseState::Closed.as_str());
            for u in filter.unit_ids.iter().flatten() {
                q = q.bind(*u);
            }
            for c in &filter.categories {
                q = q.bind(c);
            }
            for c in &filter.codes {
                q = q.bind(c);
            }
            if let Some(from) = filter.from {
                q = q.bind(from);
            }
            if let Some(until) = filter.until {
                q = q.bind(until);
            }
            q.bind(filter.limit.max(1))
                .fetch_all(p)
                .await
                .map_err(db("listing public cases"))?
        });
        let mut public = Vec::with_capacity(records.len());
        for r in records {
            let case = Case::try_from(r.case)?;
            let photos = if case.photos_public() {
                self.case_attachments(case.id)
                    .await?
                    .into_iter()
                    // Photos only: a voice note is a person's voice, never public.
                    .filter(|a| a.source == "report" && a.content_type.starts_with("image/"))
                    .map(|a| a.id)
                    .collect()
            } else {
                Vec::new()
            };
            public.push(PublicCase {
                case,
                unit_code: r.unit_code,
                unit_name: r.unit_name,
                answer: r.answer_text.zip(r.answer_by),
                photos,
            });
        }
        Ok(public)
    }

    /// Sets (or with `None` clears) the text of a case cleared for publication, with its audit entry.
    pub async fn clear_public_text(
        &self,
        case_id: Uuid,
        text: Option<&str>,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |pool| {
            let mut tx = pool.begin_write().await.map_err(db("starting to redact a case"))?;
            let changed = execute!(
                tx: tx,
                "redacting a case",
                "UPDATE cases SET public_text = $1 WHERE id = $2",
                text,
                case_id,
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound("the case".to_owned()));
            }
            insert_audit!(tx, audit, now);
            tx.commit().await.map_err(db("committing a redaction"))
        })
    }

    /// Registers a client application by the SHA-256 of its key.
    pub async fn insert_api_client(&self, name: &str, key_hash: &str, now: DateTime<Utc>) -> Result<Uuid, StoreError> {
        let writer = self.writer().await;
        let id = Uuid::new_v4();
        execute!(
            writer.pool,
            "a client application with this name",
            "INSERT INTO api_clients (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)",
            id,
            name,
            key_hash,
            now,
        )?;
        Ok(id)
    }

    /// Revokes a client application's key; false when no such application holds one.
    pub async fn revoke_api_client(&self, name: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let changed = execute!(
            writer.pool,
            "revoking a client application",
            "UPDATE api_clients SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
            now,
            name,
        )?;
        Ok(changed > 0)
    }

    /// Forgets a client application (the demo replaces its own each run).
    pub async fn delete_api_client(&self, name: &str) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "forgetting a client application",
            "DELETE FROM api_clients WHERE name = $1",
            name
        )?;
        Ok(())
    }

    /// The client application holding a key (by its hash), if the key is not revoked.
    pub async fn api_client_by_key(&self, key_hash: &str) -> Result<Option<ApiClient>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading a client application",
            "SELECT id, name, created_at, revoked_at FROM api_clients WHERE key_hash = $1 AND revoked_at IS NULL",
            key_hash,
        )
    }

    /// Every client application, newest first.
    pub async fn api_clients(&self) -> Result<Vec<ApiClient>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading client applications",
            "SELECT id, name, created_at, revoked_at FROM api_clients ORDER BY created_at DESC",
        )
    }
}
