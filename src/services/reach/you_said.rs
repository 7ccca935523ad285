//! "You said, we did" ("Anh chị đã góp ý, chúng tôi đã làm"): when a wave's report period has ended, a draft
//! campaign per commune tells its subscribers their commune's result in two lines (the total, the strongest and
//! the weakest dimension, the change since the previous wave) with a link to the public scorecard
//! `/scores/{province}/{commune}`. The drafts wait for a leader's approval like any campaign; preparing them twice
//! makes nothing new (one per wave, period and commune).

use chrono::{DateTime, Utc};
use uuid::Uuid;
use ykien_analysis::{Level, TOTAL_CODE};

use crate::services::Error;
use crate::services::scoreboard::Snapshot;
use crate::storage::{NewCampaign, Store};

/// The origin a prepared draft carries, which makes it once per wave, period and commune.
pub fn origin(wave: &str, period: &str, commune: &str) -> String {
    format!("you_said_we_did:{wave}:{period}:{commune}")
}

/// The two lines a commune's subscribers get, and the link.
pub fn two_lines(snapshot: &Snapshot, commune: &str, public_url: &str) -> Option<(String, String)> {
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
    let change = snapshot
        .changes()
        .into_iter()
        .find(|c| c.unit_code == commune && c.level == Level::Total);
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
    let province = &total.province_code;
    let link = format!("{}/scores/{province}/{commune}", public_url.trim_end_matches('/'));
    Some((format!("{first}\n{since} Cảm ơn anh/chị đã góp ý."), link))
}

/// Prepares the drafts of a snapshot's wave and period (its period must have ended); returns how many are new.
pub async fn prepare(store: &Store, snapshot: &Snapshot, public_url: &str, now: DateTime<Utc>) -> Result<usize, Error> {
    if let Some((_, end)) = snapshot.period.and_then(|p| p.instants())
        && end > now
    {
        return Err(Error::Conflict("the report period has not ended yet".into()));
    }
    let period = snapshot.period.map(|p| p.to_string()).unwrap_or_else(|| "all".into());
    let existing: Vec<String> = store.campaigns(100_000).await?.into_iter().map(|c| c.origin).collect();
    let mut made = 0;
    let communes: Vec<String> = snapshot
        .scores
        .rows
        .iter()
        .filter(|r| r.wave == snapshot.wave.code && r.level == Level::Total)
        .map(|r| r.unit_code.clone())
        .collect();
    for commune in communes {
        let origin = origin(&snapshot.wave.code, &period, &commune);
        if existing.contains(&origin) {
            continue;
        }
        let Some((text, link)) = two_lines(snapshot, &commune, public_url) else {
            continue;
        };
        let campaign = NewCampaign {
            id: Uuid::new_v4(),
            title: format!("Kết quả khảo sát — {}", snapshot.unit_name(&commune)),
            text_vi: text,
            text_en: None,
            link: Some(link),
            image: None,
            channels: "telegram,zalo".into(),
            scheduled_at: now,
            origin,
            author_id: None,
            communes: vec![commune],
            created_at: now,
        };
        store.insert_campaign(&campaign).await?;
        made += 1;
    }
    Ok(made)
}
