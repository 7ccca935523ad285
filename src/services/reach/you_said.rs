//! "You said, we did" ("Anh chị đã góp ý, chúng tôi đã làm"): when a wave's report period has ended, a draft
//! campaign per commune tells its subscribers their commune's result in two lines (the total, the strongest and
//! the weakest dimension, the change since the previous wave) with a link: the public scorecard
//! `/scores/{province}/{commune}` of that wave and period when a leader has published it, else the commune's survey
//! page `/s/{commune}`. The drafts wait for a leader's approval like any campaign.
//!
//! [`YouSaidTicker`] makes them by itself (a background loop in `app`, as the alert ticker): each tick looks for
//! report periods of the waves that ended within [`LOOKBACK`] and were not prepared yet. Once per wave, period and
//! commune, across restarts and instances: a draft's origin names the three and is unique in the database
//! (migration 0020), so two instances preparing at once store one; a period done is recorded so that later ticks do
//! not score it again.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use ykien_analysis::{Level, TOTAL_CODE};

use crate::domain::calendar::vn_day;
use crate::domain::survey::PlanPeriod;
use crate::services::Error;
use crate::services::scoreboard::{Scoreboard, Snapshot, SnapshotKey};
use crate::storage::{NewCampaign, Store};

/// How long after a report period ends its drafts are still prepared: a service started (or upgraded) later does
/// not fill the console with drafts about old periods.
pub const LOOKBACK: Duration = Duration::days(30);

/// The origin a prepared draft carries, which makes it once per wave, period and commune.
pub fn origin(wave: &str, period: &str, commune: &str) -> String {
    format!("you_said_we_did:{wave}:{period}:{commune}")
}

/// The two lines a commune's subscribers get.
pub fn two_lines(snapshot: &Snapshot, commune: &str) -> Option<String> {
    let total = snapshot.score(commune, Level::Total, TOTAL_CODE)?;
    let dims: Vec<(&str, f64)> = snapshot
        .codebook
        .dimensions
        .iter()
        .filter_map(|d| {
            snapshot
                .score(commune, Level::Dimension, &d.code)
                .map(|s| (d.name.vi.as_str(), s.score))
        })
        .collect();
    let best = dims.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
    let worst = dims.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let change = snapshot.changes_of(commune).iter().find(|c| c.level == Level::Total);
    let name = snapshot.unit_name(commune);
    let period = snapshot
        .period
        .and_then(|p| p.period())
        .map(|p| p.name)
        .unwrap_or_else(|| format!("đợt {}", snapshot.wave.code));
    let first = format!(
        "{name} — {period}: tổng điểm {:.1}/80; mạnh nhất «{}» ({:.1}/10), yếu nhất «{}» ({:.1}/10).",
        total.score, best.0, best.1, worst.0, worst.1
    );
    let since = match change {
        Some(c) => format!("So với đợt trước: {:+.1} điểm.", c.change),
        None => "Đây là đợt đầu tiên có kết quả.".to_owned(),
    };
    Some(format!("{first}\n{since} Cảm ơn anh/chị đã góp ý."))
}

/// Where a commune's draft links to: its public scorecard of this wave and period when its province published
/// them, else its survey page; nothing when the service does not know its public address.
pub fn link(
    snapshot: &Snapshot,
    commune: &str,
    public_url: Option<&str>,
    published_provinces: &[String],
) -> Option<String> {
    let base = public_url?.trim_end_matches('/');
    let province = snapshot
        .score(commune, Level::Total, TOTAL_CODE)
        .map(|s| s.province_code.clone())?;
    Some(if published_provinces.contains(&province) {
        let period = snapshot.period.map_or_else(|| "all".to_owned(), |p| p.to_string());
        format!(
            "{base}/scores/{province}/{commune}?wave={}&period={period}",
            snapshot.wave.code
        )
    } else {
        format!("{base}/s/{commune}")
    })
}

/// Prepares the drafts of a snapshot's wave and period (its period must have ended); returns how many are new.
pub async fn prepare(
    store: &Store,
    snapshot: &Snapshot,
    public_url: Option<&str>,
    published_provinces: &[String],
    now: DateTime<Utc>,
) -> Result<usize, Error> {
    if let Some((_, end)) = snapshot.period.and_then(|p| p.instants())
        && end > now
    {
        return Err(Error::Conflict("the report period has not ended yet".into()));
    }
    let period = snapshot.period.map(|p| p.to_string()).unwrap_or_else(|| "all".into());
    let mut made = 0;
    let communes: Vec<String> = snapshot
        .scores
        .rows
        .iter()
        .filter(|r| r.wave == snapshot.wave.code && r.level == Level::Total)
        .map(|r| r.unit_code.clone())
        .collect();
    for commune in communes {
        let Some(text) = two_lines(snapshot, &commune) else {
            continue;
        };
        let campaign = NewCampaign {
            id: Uuid::new_v4(),
            title: format!("Kết quả khảo sát — {}", snapshot.unit_name(&commune)),
            text_vi: text,
            text_en: None,
            link: link(snapshot, &commune, public_url, published_provinces),
            image: None,
            channels: "telegram,zalo".into(),
            scheduled_at: now,
            origin: origin(&snapshot.wave.code, &period, &commune),
            author_id: None,
            communes: vec![commune],
            created_at: now,
        };
        // False when this instance or another prepared it already.
        if store.insert_campaign(&campaign).await? {
            made += 1;
        }
    }
    Ok(made)
}

/// The background step that prepares the drafts when report periods end.
pub struct YouSaidTicker {
    store: Store,
    scoreboard: Arc<Scoreboard>,
    /// `YKIEN_PUBLIC_URL`, for the drafts' links.
    public_url: Option<String>,
}

impl YouSaidTicker {
    pub fn new(store: Store, scoreboard: Arc<Scoreboard>, public_url: Option<String>) -> Self {
        Self {
            store,
            scoreboard,
            public_url,
        }
    }

    /// One tick as if it were `now`: prepares the drafts of every report period of a wave that ended within
    /// [`LOOKBACK`] and was not prepared yet; returns how many drafts are new. A wave whose scores are still being
    /// computed, or cannot be, is left for the next tick.
    pub async fn tick_at(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let mut made = 0;
        for wave in self.store.waves().await? {
            if wave.opens_at > now {
                continue;
            }
            for period in PlanPeriod::spanning(vn_day(wave.opens_at), vn_day(wave.closes_at)) {
                let Some((_, end)) = period.instants() else {
                    continue;
                };
                let name = period.to_string();
                if end > now || now - end > LOOKBACK || self.store.you_said_prepared(&wave.code, &name).await? {
                    continue;
                }
                let key = SnapshotKey {
                    wave: wave.code.clone(),
                    period: Some(period),
                };
                // A wave that cannot be scored (yet) does not hold up the others; it is tried again next tick.
                let snapshot = match self.scoreboard.snapshot(&key).await {
                    Ok(snapshot) => snapshot,
                    Err(Error::Busy(_)) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, wave = %wave.code, period = %name, "the period's scores could not be computed for its 'you said, we did' drafts");
                        continue;
                    }
                };
                let published: Vec<String> = self
                    .store
                    .publications(None)
                    .await?
                    .into_iter()
                    .filter(|p| p.wave_code == wave.code && p.period == Some(period))
                    .map(|p| p.province_code)
                    .collect();
                let new = prepare(&self.store, &snapshot, self.public_url.as_deref(), &published, now).await?;
                self.store
                    .mark_you_said_prepared(&wave.code, &name, i64::try_from(new).unwrap_or(i64::MAX), now)
                    .await?;
                if new > 0 {
                    tracing::info!(wave = %wave.code, period = %name, drafts = new, "'you said, we did' drafts prepared");
                }
                made += new;
            }
        }
        Ok(made)
    }
}
