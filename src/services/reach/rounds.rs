//! Quiz rounds from the console: an official makes a round (a title, questions of the bundled bank, the communes
//! within their scope it is for, opening and closing times in Vietnam time, how many winners), optionally with the
//! draft campaign that announces it (the round's link, to its communes, from its opening; approved like any
//! campaign); closes it early; draws its winners once it is closed. Each action is audit logged. The round's rules
//! (entries, the draw itself) are `quiz`'s.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::campaigns::{self, CampaignForm, checked_communes, checked_title, parse_vn_time, vn_time};
use super::quiz::{self, new_round, revealed_seed, round_problems};
use crate::domain::calendar::vn_day;
use crate::domain::{Problem, Text};
use crate::services::Error;
use crate::services::accounts::{Official, Role};
use crate::services::units;
use crate::storage::{QuizRoundRow, Store};

/// The most winners a round draws.
pub const MAX_WINNERS: i64 = 100;

/// A round as typed in the console.
#[derive(Clone, Debug, Default)]
pub struct RoundForm {
    pub title: String,
    /// Ids of questions of the bundled bank, in the order asked.
    pub question_ids: Vec<String>,
    pub communes: Vec<String>,
    /// `YYYY-MM-DDTHH:MM`, Vietnam time.
    pub opens_vn: String,
    pub closes_vn: String,
    pub winners: String,
    /// Also draft the campaign that announces the round.
    pub announce: bool,
}

fn may_make_rounds(official: &Official) -> bool {
    matches!(
        official.role,
        Role::Admin | Role::Leader | Role::CommuneOfficer | Role::DepartmentOfficer
    )
}

/// The campaign that announces a round: its title, times and link, to its communes, from its opening.
fn announcement(
    round: &QuizRoundRow,
    communes: &[String],
    public_url: Option<&str>,
    now: DateTime<Utc>,
) -> CampaignForm {
    let link = public_url
        .map(|u| format!("{}/quiz/{}", u.trim_end_matches('/'), round.id))
        .unwrap_or_default();
    CampaignForm {
        title: format!("Thông báo cuộc thi: {}", round.title),
        text_vi: format!(
            "🏆 Cuộc thi «{}» mở từ {} đến {} (giờ Việt Nam). Mời anh/chị tham gia: bấm «🏆 Dự thi» trong menu của \
             kênh này để trả lời từng câu ngay tại đây, hoặc trả lời trên trang web. Mỗi người dự thi một lần; sau \
             mỗi câu có giải thích và nguồn.",
            round.title,
            vn_time(round.opens_at),
            vn_time(round.closes_at)
        ),
        text_en: format!(
            "🏆 The quiz “{}” is open from {} to {} (Vietnam time). Take part: press “🏆 Quiz” in this channel's menu to \
             answer one question at a time right here, or answer on the web. One entry per person; each answer is \
             explained, with its source.",
            round.title,
            vn_time(round.opens_at),
            vn_time(round.closes_at)
        ),
        link,
        image: None,
        communes: communes.to_vec(),
        channels: vec!["telegram".into(), "zalo".into()],
        scheduled_vn: vn_time(round.opens_at.max(now)).replace(' ', "T"),
    }
}

/// Makes a round from the console form (and its announcing draft campaign if asked); every problem as
/// [`Error::Invalid`], with nothing stored.
pub async fn create(
    store: &Store,
    official: &Official,
    form: &RoundForm,
    public_url: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Uuid, Error> {
    if !may_make_rounds(official) {
        return Err(Error::Forbidden(
            "only officers, leaders and administrators make quiz rounds".into(),
        ));
    }
    let mut problems = Vec::new();
    let title = checked_title(&form.title, ("vòng thi", "the round"), &mut problems);
    let communes = checked_communes(store, official, &form.communes, now, &mut problems).await?;
    let time = |field: &'static str, typed: &str, problems: &mut Vec<Problem>| {
        let at = parse_vn_time(typed);
        if at.is_none() {
            problems.push(Problem::new(
                field,
                "not_a_time",
                Text::new(
                    "Xin nhập thời điểm (giờ Việt Nam), dạng 2026-12-24 08:00.",
                    "Please enter a time (Vietnam time), like 2026-12-24 08:00.",
                ),
            ));
        }
        at
    };
    let opens_at = time("opens_vn", &form.opens_vn, &mut problems);
    let closes_at = time("closes_vn", &form.closes_vn, &mut problems);
    let winners = match form.winners.trim().parse::<i64>() {
        Ok(n) if (1..=MAX_WINNERS).contains(&n) => n,
        _ => {
            problems.push(Problem::new(
                "winners",
                "not_a_count",
                Text::new(
                    format!("Số người thắng phải là một số từ 1 đến {MAX_WINNERS}."),
                    format!("The number of winners must be from 1 to {MAX_WINNERS}."),
                ),
            ));
            1
        }
    };
    let (opens_at, closes_at) = match (opens_at, closes_at) {
        (Some(opens_at), Some(closes_at)) => {
            problems.extend(round_problems(&form.question_ids, opens_at, closes_at));
            if closes_at <= now && closes_at > opens_at {
                problems.push(Problem::new(
                    "closes_vn",
                    "in_the_past",
                    Text::new(
                        format!(
                            "Thời điểm đóng {} đã qua; bây giờ là {}.",
                            vn_time(closes_at),
                            vn_time(now)
                        ),
                        format!("{} is in the past; it is now {}.", vn_time(closes_at), vn_time(now)),
                    ),
                ));
            }
            (opens_at, closes_at)
        }
        // The times are already reported; the questions still are.
        _ => {
            let later = now + chrono::Duration::seconds(1);
            problems.extend(round_problems(&form.question_ids, now, later));
            (now, later)
        }
    };
    let mut round = new_round(&title, &form.question_ids, opens_at, closes_at, winners, now);
    round.communes = communes.join(",");
    round.created_by = Some(official.id);
    // The announcement is checked with the round, so that a problem of either stores neither.
    let campaign = if form.announce {
        let (campaign, campaign_problems) =
            campaigns::check_form(store, official, &announcement(&round, &communes, public_url, now), now).await?;
        if problems.is_empty() {
            problems.extend(campaign_problems.into_iter().map(|p| {
                Problem::new(
                    "announce",
                    p.code,
                    Text::new(
                        format!("Đợt gửi tin thông báo: {}", p.message.vi),
                        format!("The announcing campaign: {}", p.message.en),
                    ),
                )
            }));
        }
        Some(campaign)
    } else {
        None
    };
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    if let Some(campaign) = &campaign {
        store.insert_campaign(campaign).await?;
        store
            .audit(&official.audit("campaign.draft", &campaign.id.to_string()))
            .await?;
        round.campaign_id = Some(campaign.id);
    }
    if let Err(e) = store.insert_quiz_round(&round).await {
        // Not half-stored: the announcement of a round that is not there is withdrawn.
        if let Some(campaign) = &campaign {
            store.set_campaign_state(campaign.id, &["draft"], "cancelled").await?;
        }
        return Err(e.into());
    }
    let mut entry = official.audit("quiz.create", &round.id.to_string());
    entry.detail = Some(format!("seed_hash={}", round.seed_hash));
    store.audit(&entry).await?;
    Ok(round.id)
}

/// A round that `official` manages: its maker, or a leader or administrator whose scope covers all its communes (a
/// round for every commune: administrators only).
async fn check_manager(
    store: &Store,
    official: &Official,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<QuizRoundRow, Error> {
    let round = store
        .quiz_round(id)
        .await?
        .ok_or_else(|| Error::BadRequest(format!("no quiz round {id}")))?;
    if official.role == Role::Admin || round.created_by == Some(official.id) {
        return Ok(round);
    }
    let communes = quiz::round_communes(&round);
    if official.role != Role::Leader || communes.is_empty() {
        return Err(Error::Forbidden(
            "a round is managed by its maker, a leader of its communes or an administrator".into(),
        ));
    }
    for code in communes {
        let unit = units::commune_on(store, code, vn_day(now)).await?;
        if !official.covers(&unit) {
            return Err(Error::Forbidden(format!("commune {code} is outside your scope")));
        }
    }
    Ok(round)
}

/// Closes an open round now (its seed becomes public, and the draw can be made).
pub async fn close(store: &Store, official: &Official, id: Uuid, now: DateTime<Utc>) -> Result<(), Error> {
    check_manager(store, official, id, now).await?;
    if !store.close_quiz_round(id, now).await? {
        return Err(Error::Conflict("the round is already closed".into()));
    }
    store.audit(&official.audit("quiz.close", &id.to_string())).await?;
    Ok(())
}

/// The winners of a closed round (entry ids, as anyone recomputes them from the seed and the export), recorded in
/// the audit log.
pub async fn draw(store: &Store, official: &Official, id: Uuid, now: DateTime<Utc>) -> Result<Vec<Uuid>, Error> {
    let round = check_manager(store, official, id, now).await?;
    let Some(seed) = revealed_seed(&round, now) else {
        return Err(Error::Conflict("the draw is made once the round has closed".into()));
    };
    let entries = store.quiz_entries(id).await?;
    let scored: Vec<(Uuid, i64)> = entries.iter().map(|e| (e.entry_id, e.score)).collect();
    let winners = quiz::draw(seed, &scored, usize::try_from(round.winners).unwrap_or(1));
    let mut entry = official.audit("quiz.draw", &id.to_string());
    entry.detail = Some(format!(
        "seed={seed}; winners={}",
        winners.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",")
    ));
    store.audit(&entry).await?;
    Ok(winners)
}
