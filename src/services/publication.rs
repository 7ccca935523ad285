//! Making results public, "để Nhân dân biết, giám sát": a leader or administrator publishes a wave's numbers (the
//! whole wave or one report period) for their province, and only then do its scorecards, responsiveness and open
//! data appear without a login; answered cases appear when their reporter allowed it, as an official cleared their
//! text; client applications get keys to file through Open311. Every act is in the audit log.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use super::Error;
use super::accounts::{Official, Role};
use super::scoreboard::{Scoreboard, Snapshot, SnapshotKey};
use crate::domain::calendar::vn_day;
use crate::domain::cases::Case;
use crate::domain::survey::{PlanPeriod, Wave};
use crate::domain::units::{Unit, UnitLevel};
use crate::services::{random_hex, sha256_hex};
use crate::storage::{ApiClient, Attachment, PublicCase, PublicCaseFilter, Publication, Store, StoreError};

/// The most public cases one request lists.
pub const MAX_PUBLIC_CASES: i64 = 1000;

/// Publications and what they make public.
pub struct Publications {
    store: Store,
    scoreboard: Arc<Scoreboard>,
    /// Counts the publications, withdrawals and redactions made through this instance, so that what keeps public
    /// answers (`http::public`) knows they changed.
    generation: AtomicU64,
}

/// A published wave's period with its wave.
#[derive(Clone, Debug)]
pub struct Published {
    pub publication: Publication,
    pub wave: Wave,
}

impl Published {
    /// The scores' snapshot it shows.
    pub fn key(&self) -> SnapshotKey {
        SnapshotKey {
            wave: self.wave.code.clone(),
            period: self.publication.period,
        }
    }
}

impl Publications {
    pub fn new(store: Store, scoreboard: Arc<Scoreboard>) -> Self {
        Self {
            store,
            scoreboard,
            generation: AtomicU64::new(0),
        }
    }

    /// Changes with every publication, withdrawal and redaction made through this instance.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Publishes `wave`'s numbers over `period` (the whole wave when `None`) for `province`. Only a leader or an
    /// administrator whose scope holds the province may; the period must overlap the wave. The scores are then
    /// computed in the background, so that the first visitor finds them ready.
    pub async fn publish(
        &self,
        official: &Official,
        province: &str,
        wave: &str,
        period: Option<PlanPeriod>,
        now: DateTime<Utc>,
    ) -> Result<Publication, Error> {
        let (province, wave) = self.check(official, province, wave, period, now).await?;
        let publication = Publication {
            province_code: province.code.clone(),
            wave_code: wave.code.clone(),
            period,
            published_by: official.id,
            published_at: now,
        };
        let mut audit = official.audit("publish", &target(&province.code, &wave.code, period));
        audit.after_state = Some("published".to_owned());
        self.store.publish(&publication, &audit).await?;
        self.changed();
        self.scoreboard.prepare(&SnapshotKey {
            wave: wave.code,
            period,
        })?;
        Ok(publication)
    }

    /// Withdraws a publication: its numbers leave the public pages at once.
    pub async fn withdraw(
        &self,
        official: &Official,
        province: &str,
        wave: &str,
        period: Option<PlanPeriod>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (province, wave) = self.check(official, province, wave, period, now).await?;
        let mut audit = official.audit("withdraw_publication", &target(&province.code, &wave.code, period));
        audit.before_state = Some("published".to_owned());
        if self
            .store
            .withdraw_publication(&province.code, &wave.code, period, &audit, now)
            .await?
        {
            self.changed();
            Ok(())
        } else {
            Err(Error::BadRequest(format!(
                "{} chưa được công bố nên không có gì để thu hồi.",
                target(&province.code, &wave.code, period)
            )))
        }
    }

    /// Who may publish for which province, and that the wave and period fit.
    async fn check(
        &self,
        official: &Official,
        province: &str,
        wave: &str,
        period: Option<PlanPeriod>,
        now: DateTime<Utc>,
    ) -> Result<(Unit, Wave), Error> {
        if !matches!(official.role, Role::Leader | Role::Admin) {
            return Err(Error::Forbidden(
                "chỉ lãnh đạo hoặc quản trị viên được công bố kết quả".to_owned(),
            ));
        }
        let province = crate::services::units::unit_by_code(&self.store, province.trim(), vn_day(now)).await?;
        if province.level != UnitLevel::Province {
            return Err(Error::UnitNotFound(province.code));
        }
        if official.role != Role::Admin && !official.scope.contains(&province.id) {
            return Err(Error::Forbidden(format!(
                "{} nằm ngoài phạm vi của anh/chị",
                province.name
            )));
        }
        let wave = match self.store.wave_by_code(wave.trim()).await {
            Ok(w) => w,
            Err(StoreError::NotFound(_)) => return Err(Error::WaveNotFound(wave.trim().to_owned())),
            Err(e) => return Err(e.into()),
        };
        if let Some(p) = period {
            let (from, until) = p
                .instants()
                .ok_or_else(|| Error::BadRequest(format!("Kỳ báo cáo {p} không hợp lệ.")))?;
            if until <= wave.opens_at || from >= wave.closes_at {
                return Err(Error::BadRequest(format!(
                    "Kỳ báo cáo {p} không trùng với thời gian của đợt khảo sát {}.",
                    wave.code
                )));
            }
        }
        Ok((province, wave))
    }

    /// The publications of a province with their waves, newest wave first (then newest publication).
    pub async fn of_province(&self, province: &str) -> Result<Vec<Published>, Error> {
        let mut published = Vec::new();
        for publication in self.store.publications(Some(province)).await? {
            match self.store.wave_by_code(&publication.wave_code).await {
                Ok(wave) => published.push(Published { publication, wave }),
                // A wave deleted since: nothing to show.
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        published.sort_by(|a, b| {
            (b.wave.opens_at, b.publication.published_at).cmp(&(a.wave.opens_at, a.publication.published_at))
        });
        Ok(published)
    }

    /// The provinces with at least one publication.
    pub async fn provinces(&self) -> Result<Vec<String>, Error> {
        let mut codes: Vec<String> = self
            .store
            .publications(None)
            .await?
            .into_iter()
            .map(|p| p.province_code)
            .collect();
        codes.sort();
        codes.dedup();
        Ok(codes)
    }

    /// The scores of a publication if they are computed; else `None`, and they are being computed.
    pub async fn scores(&self, published: &Published) -> Result<Option<Arc<Snapshot>>, Error> {
        self.scoreboard.ready(&published.key()).await
    }

    /// The newest publication of a province with its scores, computed now if need be (for posters, which may
    /// wait; public pages use [`Publications::scores`]).
    pub async fn latest(&self, province: &str) -> Result<Option<(Published, Arc<Snapshot>)>, Error> {
        let Some(published) = self.of_province(province).await?.into_iter().next() else {
            return Ok(None);
        };
        let snapshot = self.scoreboard.snapshot(&published.key()).await?;
        Ok(Some((published, snapshot)))
    }

    /// The public cases of some communes.
    pub async fn cases(&self, filter: &PublicCaseFilter) -> Result<Vec<PublicCase>, Error> {
        let mut filter = filter.clone();
        filter.limit = filter.limit.clamp(1, MAX_PUBLIC_CASES);
        Ok(self.store.public_cases(&filter).await?)
    }

    /// A photo of a public case whose reporter allowed its photos to be shown; `None` for any other attachment.
    pub async fn public_photo(&self, id: uuid::Uuid) -> Result<Option<Attachment>, Error> {
        let photo = match self.store.attachment(id).await {
            Ok(a) => a,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(case) = self.store.case_by_id(photo.case_id).await? else {
            return Ok(None);
        };
        let is_photo = photo.source == "report" && photo.content_type.starts_with("image/");
        Ok((is_photo && case.photos_public()).then_some(photo))
    }

    /// Sets the text of a case shown publicly (an official's redaction; `None` or blank returns to the text as
    /// written, contacts still masked). The official must see the case; the change is audit logged.
    pub async fn redact(
        &self,
        official: &Official,
        case: &Case,
        text: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        if let Some(t) = text
            && t.chars().count() > crate::services::cases::MAX_TEXT_CHARS
        {
            return Err(Error::BadRequest(format!(
                "Nội dung công khai dài quá {} ký tự.",
                crate::services::cases::MAX_TEXT_CHARS
            )));
        }
        let mut audit = official.audit("redact_public_text", &case.code);
        audit.before_state = case.publicity.cleared_text.clone();
        audit.after_state = text.map(str::to_owned);
        self.store.clear_public_text(case.id, text, &audit, now).await?;
        self.changed();
        Ok(())
    }

    /// The client application holding `key`, if any (revoked keys hold none).
    pub async fn client(&self, key: &str) -> Result<Option<ApiClient>, Error> {
        Ok(self.store.api_client_by_key(&sha256_hex(key.trim())).await?)
    }
}

/// How a publication is named in the audit log: `33/w-2026/2026-6t`, or `33/w-2026/toàn đợt`.
fn target(province: &str, wave: &str, period: Option<PlanPeriod>) -> String {
    let period = period.map_or_else(|| "toàn đợt".to_owned(), |p| p.to_string());
    format!("{province}/{wave}/{period}")
}

/// Registers a client application for Open311 and returns its key, shown this once.
pub async fn add_client(store: &Store, name: &str, now: DateTime<Utc>) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::BadRequest("Tên ứng dụng phải có từ 1 đến 100 ký tự.".to_owned()));
    }
    let key = random_hex::<24>();
    match store.insert_api_client(name, &sha256_hex(&key), now).await {
        Ok(_) => Ok(key),
        Err(StoreError::Conflict(_)) => Err(Error::Conflict(format!("đã có ứng dụng tên {name}"))),
        Err(e) => Err(e.into()),
    }
}

/// Revokes a client application's key.
pub async fn revoke_client(store: &Store, name: &str, now: DateTime<Utc>) -> Result<(), Error> {
    if store.revoke_api_client(name.trim(), now).await? {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "không có ứng dụng nào tên {} còn khoá",
            name.trim()
        )))
    }
}

/// Every client application, newest first.
pub async fn clients(store: &Store) -> Result<Vec<ApiClient>, Error> {
    Ok(store.api_clients().await?)
}
