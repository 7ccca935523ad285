//! Campaigns: a message to the news subscribers of some communes, drafted by an official for communes within
//! their scope, approved by a leader or administrator of that scope (never its author), queued into the outbox
//! once per recipient at approval and sent from its schedule within each platform's rules; paused, resumed, or
//! cancelled before it starts; reported per commune.

use chrono::{DateTime, NaiveDateTime, Utc};
use uuid::Uuid;
use ykien_bots::message::{Channel, Outbound};

use crate::domain::calendar::vn_day;
use crate::domain::{Lang, Problem, Text};
use crate::services::Error;
use crate::services::accounts::{Official, Role};
use crate::services::units;
use crate::storage::{CampaignRow, CommuneReport, NewCampaign, RecipientRow, Store};

/// Telegram's longest message, in UTF-16 code units (<https://core.telegram.org/bots/api#sendmessage>).
pub const TELEGRAM_TEXT_LIMIT: usize = 4096;
/// Zalo's longest message, in characters (counted here in UTF-16 units, never fewer than Zalo's count).
pub const ZALO_TEXT_LIMIT: usize = ykien_bots::zalo_api::TEXT_LIMIT;
/// The longest title, in characters (it is only shown in the console).
pub const TITLE_LIMIT: usize = 200;

/// What held messages of a paused campaign are rescheduled to: far enough never to come due.
fn held_until() -> DateTime<Utc> {
    DateTime::from_timestamp(32_503_680_000, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A campaign as typed in the console.
#[derive(Clone, Debug, Default)]
pub struct CampaignForm {
    pub title: String,
    pub text_vi: String,
    pub text_en: String,
    pub link: String,
    /// The uploaded image, if any (any bytes: checked here).
    pub image: Option<Vec<u8>>,
    pub communes: Vec<String>,
    pub channels: Vec<String>,
    /// `YYYY-MM-DDTHH:MM`, Vietnam time (what `<input type="datetime-local">` sends).
    pub scheduled_vn: String,
}

/// A campaign's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CampaignState {
    Draft,
    Approved,
    Paused,
    Cancelled,
}

impl CampaignState {
    pub fn parse(s: &str) -> Self {
        match s {
            "approved" => Self::Approved,
            "paused" => Self::Paused,
            "cancelled" => Self::Cancelled,
            _ => Self::Draft,
        }
    }

    pub fn label(self) -> Text {
        match self {
            Self::Draft => Text::new("Bản nháp, chờ duyệt", "Draft, awaiting approval"),
            Self::Approved => Text::new("Đã duyệt", "Approved"),
            Self::Paused => Text::new("Tạm dừng", "Paused"),
            Self::Cancelled => Text::new("Đã hủy", "Cancelled"),
        }
    }
}

/// Vietnam's offset from UTC (no daylight saving).
const VN_OFFSET_HOURS: i64 = 7;

/// A `YYYY-MM-DDTHH:MM` Vietnam time as an instant.
pub fn parse_vn_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .ok()?;
    Some((local - chrono::Duration::hours(VN_OFFSET_HOURS)).and_utc())
}

/// An instant as Vietnam time, `YYYY-MM-DD HH:MM`.
pub fn vn_time(at: DateTime<Utc>) -> String {
    (at + chrono::Duration::hours(VN_OFFSET_HOURS))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The text one recipient gets: the campaign's text in their language (Vietnamese when it has no English), then
/// the link on its own line.
pub fn message_text(text_vi: &str, text_en: Option<&str>, link: Option<&str>, lang: Lang) -> String {
    let text = match (lang, text_en) {
        (Lang::En, Some(en)) if !en.trim().is_empty() => en,
        _ => text_vi,
    };
    match link {
        Some(link) if !link.is_empty() => format!("{}\n\n{link}", text.trim_end()),
        _ => text.trim_end().to_owned(),
    }
}

/// The problems of a campaign form, each naming its field; the checked campaign when there are none.
pub async fn check_form(
    store: &Store,
    official: &Official,
    form: &CampaignForm,
    now: DateTime<Utc>,
) -> Result<(NewCampaign, Vec<Problem>), Error> {
    let mut problems = Vec::new();
    let title = checked_title(&form.title, ("đợt gửi tin", "the campaign"), &mut problems);
    let channels: Vec<Channel> = form
        .channels
        .iter()
        .filter_map(|c| Channel::parse(c.trim()))
        .filter(|c| c.is_chat())
        .collect();
    if channels.is_empty() {
        problems.push(Problem::new(
            "channels",
            "empty",
            Text::new(
                "Xin chọn ít nhất một kênh (Telegram, Zalo).",
                "Please pick at least one channel (Telegram, Zalo).",
            ),
        ));
    }
    let link = form.link.trim().to_owned();
    let is_link = link.starts_with("https://") || link.starts_with("http://");
    if !(link.is_empty() || is_link) {
        problems.push(Problem::new(
            "link",
            "not_a_link",
            Text::new(
                "Đường dẫn phải bắt đầu bằng https:// hoặc http://.",
                "The link must start with https:// or http://.",
            ),
        ));
    }
    let link = (!link.is_empty()).then_some(link);
    let text_en = (!form.text_en.trim().is_empty()).then(|| form.text_en.trim().to_owned());
    for (field, text) in [("text_vi", Some(form.text_vi.trim())), ("text_en", text_en.as_deref())] {
        let Some(text) = text else { continue };
        if text.is_empty() {
            problems.push(Problem::new(
                field,
                "empty",
                Text::new("Nội dung tin nhắn đang trống.", "The message text is empty."),
            ));
            continue;
        }
        let full = message_text(text, None, link.as_deref(), Lang::Vi);
        let units = utf16_len(&full);
        if channels.contains(&Channel::Telegram) && units > TELEGRAM_TEXT_LIMIT {
            problems.push(Problem::new(
                field,
                "too_long_telegram",
                Text::new(
                    format!(
                        "Tin nhắn (kể cả đường dẫn) dài {units} đơn vị UTF-16; Telegram nhận tối đa {TELEGRAM_TEXT_LIMIT}."
                    ),
                    format!("The message (with its link) is {units} UTF-16 units; Telegram takes at most {TELEGRAM_TEXT_LIMIT}."),
                ),
            ));
        }
        if channels.contains(&Channel::Zalo) && units > ZALO_TEXT_LIMIT {
            problems.push(Problem::new(
                field,
                "too_long_zalo",
                Text::new(
                    format!("Tin nhắn (kể cả đường dẫn) dài {units} ký tự; Zalo nhận tối đa {ZALO_TEXT_LIMIT} ký tự."),
                    format!("The message (with its link) is {units} characters; Zalo takes at most {ZALO_TEXT_LIMIT}."),
                ),
            ));
        }
    }
    let image = match &form.image {
        Some(bytes) if !bytes.is_empty() => {
            let bytes = bytes.clone();
            let prepared = tokio::task::spawn_blocking(move || crate::domain::photos::prepare(&bytes))
                .await
                .map_err(|e| Error::Unavailable(e.to_string()))?;
            match prepared {
                Ok(photo) => Some((photo.kind.mime().to_owned(), photo.bytes)),
                Err(e) => {
                    problems.push(Problem::new(
                        "image",
                        "not_an_image",
                        Text::new(
                            format!("Ảnh không dùng được: {}", e.message_vi()),
                            format!("The image cannot be used: {}", e.message_en()),
                        ),
                    ));
                    None
                }
            }
        }
        _ => None,
    };
    let scheduled_at = match parse_vn_time(&form.scheduled_vn) {
        None => {
            problems.push(Problem::new(
                "scheduled_vn",
                "not_a_time",
                Text::new(
                    "Xin nhập thời điểm gửi (giờ Việt Nam), dạng 2026-12-24 08:00.",
                    "Please enter when to send (Vietnam time), like 2026-12-24 08:00.",
                ),
            ));
            now
        }
        Some(at) if at < now - chrono::Duration::minutes(1) => {
            problems.push(Problem::new(
                "scheduled_vn",
                "in_the_past",
                Text::new(
                    format!("Thời điểm gửi {} đã qua; bây giờ là {}.", vn_time(at), vn_time(now)),
                    format!("{} is in the past; it is now {}.", vn_time(at), vn_time(now)),
                ),
            ));
            at
        }
        Some(at) => at,
    };
    let communes = checked_communes(store, official, &form.communes, now, &mut problems).await?;
    let campaign = NewCampaign {
        id: Uuid::new_v4(),
        title,
        text_vi: form.text_vi.trim().to_owned(),
        text_en,
        link,
        image,
        channels: channels.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
        scheduled_at,
        origin: "official".to_owned(),
        author_id: Some(official.id),
        communes,
        created_at: now,
    };
    Ok((campaign, problems))
}

/// The trimmed title of a campaign or a quiz round (`what`: its name in Vietnamese and English), with a problem when
/// it is empty or longer than [`TITLE_LIMIT`].
pub fn checked_title(typed: &str, what: (&str, &str), problems: &mut Vec<Problem>) -> String {
    let title = typed.trim().to_owned();
    if title.is_empty() {
        problems.push(Problem::new(
            "title",
            "empty",
            Text::new(
                format!("Xin đặt tên cho {}.", what.0),
                format!("Please give {} a title.", what.1),
            ),
        ));
    } else if title.chars().count() > TITLE_LIMIT {
        problems.push(Problem::new(
            "title",
            "too_long",
            Text::new(
                format!("Tên {} dài quá {TITLE_LIMIT} ký tự.", what.0),
                format!("The title is longer than {TITLE_LIMIT} characters."),
            ),
        ));
    }
    title
}

/// The communes typed (codes) that exist today and are within `official`'s scope; a problem (field `communes`) for
/// each that is not, and for none at all. Campaigns and quiz rounds target communes alike.
pub async fn checked_communes(
    store: &Store,
    official: &Official,
    codes: &[String],
    now: DateTime<Utc>,
    problems: &mut Vec<Problem>,
) -> Result<Vec<String>, Error> {
    let mut communes: Vec<String> = Vec::new();
    for code in codes.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        match units::commune_on(store, code, vn_day(now)).await {
            Ok(unit) if official.covers(&unit) => {
                if !communes.contains(&unit.code) {
                    communes.push(unit.code);
                }
            }
            Ok(unit) => problems.push(Problem::new(
                "communes",
                "out_of_scope",
                Text::new(
                    format!("{} ({}) nằm ngoài phạm vi tài khoản của anh/chị.", unit.name, unit.code),
                    format!("{} ({}) is outside your account's scope.", unit.name, unit.code),
                ),
            )),
            Err(Error::UnitNotFound(_) | Error::NotACommune(_)) => problems.push(Problem::new(
                "communes",
                "unknown",
                Text::new(
                    format!("Mã {code} không phải là một xã, phường hiện nay."),
                    format!("{code} is not a commune or ward that exists today."),
                ),
            )),
            Err(e) => return Err(e),
        }
    }
    if communes.is_empty() && !problems.iter().any(|p| p.field == "communes") {
        problems.push(Problem::new(
            "communes",
            "empty",
            Text::new("Xin chọn ít nhất một xã, phường.", "Please pick at least one commune."),
        ));
    }
    Ok(communes)
}

/// Stores a draft; its problems, if any, as [`Error::Invalid`] (nothing stored).
pub async fn draft(store: &Store, official: &Official, form: &CampaignForm, now: DateTime<Utc>) -> Result<Uuid, Error> {
    if !matches!(
        official.role,
        Role::Admin | Role::Leader | Role::CommuneOfficer | Role::DepartmentOfficer
    ) {
        return Err(Error::Forbidden(
            "only officers, leaders and administrators draft campaigns".into(),
        ));
    }
    let (campaign, problems) = check_form(store, official, form, now).await?;
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    store.insert_campaign(&campaign).await?;
    store
        .audit(&official.audit("campaign.draft", &campaign.id.to_string()))
        .await?;
    Ok(campaign.id)
}

/// Whether `official` may approve, pause or cancel this campaign: a leader or administrator whose scope covers
/// every commune it targets.
async fn check_manager(store: &Store, official: &Official, id: Uuid, now: DateTime<Utc>) -> Result<CampaignRow, Error> {
    let campaign = store
        .campaign(id)
        .await?
        .ok_or_else(|| Error::BadRequest(format!("no campaign {id}")))?;
    if !matches!(official.role, Role::Admin | Role::Leader) {
        return Err(Error::Forbidden(
            "only a leader or an administrator approves and manages campaigns".into(),
        ));
    }
    for code in store.campaign_communes(id).await? {
        let unit = units::commune_on(store, &code, vn_day(now)).await?;
        if !official.covers(&unit) {
            return Err(Error::Forbidden(format!("commune {code} is outside your scope")));
        }
    }
    Ok(campaign)
}

/// Who gets a campaign, and who does not and why, as things stand.
pub struct Audience {
    pub queued: Vec<RecipientRow>,
    pub skipped: Vec<(RecipientRow, &'static str)>,
}

/// The campaign's audience: subscribers of its communes on its channels, sorted into those it will be sent to and
/// those it will not (opted out of everything, unsubscribed from news, unreachable).
pub async fn audience(store: &Store, campaign: &CampaignRow) -> Result<Audience, Error> {
    let channels: Vec<&str> = campaign.channels.split(',').collect();
    let mut queued = Vec::new();
    let mut skipped = Vec::new();
    for person in store.campaign_audience(campaign.id).await? {
        if !channels.contains(&person.channel.as_str()) {
            continue;
        }
        let why = if person.opted_out {
            Some("opted_out")
        } else if person.subscribed == Some(false) {
            Some("unsubscribed")
        } else if !person.reachable {
            Some("unreachable")
        } else {
            None
        };
        match why {
            Some(why) => skipped.push((person, why)),
            None => queued.push(person),
        }
    }
    Ok(Audience { queued, skipped })
}

/// The message a recipient gets (its body in the outbox: the text in their language; the image rides apart).
pub fn outbound_for(campaign: &CampaignRow, lang: Lang) -> Outbound {
    Outbound::text(message_text(
        &campaign.text_vi,
        campaign.text_en.as_deref(),
        campaign.link.as_deref(),
        lang,
    ))
}

/// Approves a draft and queues it for everyone it reaches; returns how many messages were queued.
pub async fn approve(store: &Store, official: &Official, id: Uuid, now: DateTime<Utc>) -> Result<usize, Error> {
    let campaign = check_manager(store, official, id, now).await?;
    if campaign.author_id == Some(official.id) {
        return Err(Error::Forbidden(
            "a campaign is approved by someone other than its author".into(),
        ));
    }
    if CampaignState::parse(&campaign.state) != CampaignState::Draft {
        return Err(Error::Conflict("only a draft can be approved".into()));
    }
    let Audience { queued, skipped } = audience(store, &campaign).await?;
    let messages: Vec<(RecipientRow, Uuid, String)> = queued
        .into_iter()
        .map(|r| {
            let body =
                serde_json::to_string(&outbound_for(&campaign, Lang::from_code(Some(&r.lang)))).unwrap_or_default();
            (r, Uuid::new_v4(), body)
        })
        .collect();
    let count = messages.len();
    let scheduled_at = campaign.scheduled_at.max(now);
    if !store
        .approve_and_queue_campaign(id, official.id, now, scheduled_at, &messages, &skipped)
        .await?
    {
        return Err(Error::Conflict(
            "the campaign was approved or cancelled meanwhile".into(),
        ));
    }
    store
        .audit(&official.audit("campaign.approve", &id.to_string()))
        .await?;
    Ok(count)
}

/// Pauses a campaign that is sending: its unsent messages are held.
pub async fn pause(store: &Store, official: &Official, id: Uuid, now: DateTime<Utc>) -> Result<(), Error> {
    check_manager(store, official, id, now).await?;
    if !store.set_campaign_state(id, &["approved"], "paused").await? {
        return Err(Error::Conflict("only an approved campaign can be paused".into()));
    }
    store.reschedule_campaign_messages(id, held_until()).await?;
    store.audit(&official.audit("campaign.pause", &id.to_string())).await?;
    Ok(())
}

/// Resumes a paused campaign: its held messages are due again (not before its schedule).
pub async fn resume(store: &Store, official: &Official, id: Uuid, now: DateTime<Utc>) -> Result<(), Error> {
    let campaign = check_manager(store, official, id, now).await?;
    if !store.set_campaign_state(id, &["paused"], "approved").await? {
        return Err(Error::Conflict("only a paused campaign can be resumed".into()));
    }
    store
        .reschedule_campaign_messages(id, campaign.scheduled_at.max(now))
        .await?;
    store.audit(&official.audit("campaign.resume", &id.to_string())).await?;
    Ok(())
}

/// Cancels a draft, or an approved campaign before its schedule: its messages are dropped.
pub async fn cancel(store: &Store, official: &Official, id: Uuid, now: DateTime<Utc>) -> Result<(), Error> {
    let campaign = store
        .campaign(id)
        .await?
        .ok_or_else(|| Error::BadRequest(format!("no campaign {id}")))?;
    let is_author = campaign.author_id == Some(official.id);
    if !is_author {
        check_manager(store, official, id, now).await?;
    }
    let state = CampaignState::parse(&campaign.state);
    let started = state != CampaignState::Draft && campaign.scheduled_at <= now;
    if started || state == CampaignState::Cancelled {
        return Err(Error::Conflict(
            "a campaign that has started sending can be paused, not cancelled".into(),
        ));
    }
    if !store
        .set_campaign_state(id, &["draft", "approved"], "cancelled")
        .await?
    {
        return Err(Error::Conflict("the campaign changed meanwhile".into()));
    }
    store.drop_campaign_messages(id).await?;
    store.audit(&official.audit("campaign.cancel", &id.to_string())).await?;
    Ok(())
}

/// One commune's line of a delivery report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportLine {
    pub commune_code: String,
    pub channel: String,
    pub targeted: i64,
    pub sent_reply: i64,
    pub sent_proactive: i64,
    pub sent_direct: i64,
    pub failed: i64,
    pub opted_out: i64,
    pub unreachable: i64,
    pub waiting: i64,
    /// The reasons of failures and waits, with how many each.
    pub reasons: Vec<(String, i64)>,
}

/// A campaign's delivery report, one line per commune and channel.
pub async fn report(store: &Store, id: Uuid) -> Result<Vec<ReportLine>, Error> {
    let rows = store.campaign_report(id).await?;
    Ok(fold_report(&rows))
}

/// Sorts stored outcomes into the report's columns.
pub fn fold_report(rows: &[CommuneReport]) -> Vec<ReportLine> {
    let mut lines: Vec<ReportLine> = Vec::new();
    for row in rows {
        let line = match lines
            .iter_mut()
            .position(|l| l.commune_code == row.commune_code && l.channel == row.channel)
        {
            Some(i) => &mut lines[i],
            None => {
                lines.push(ReportLine {
                    commune_code: row.commune_code.clone(),
                    channel: row.channel.clone(),
                    ..ReportLine::default()
                });
                let last = lines.len() - 1;
                &mut lines[last]
            }
        };
        let n = row.count;
        line.targeted += n;
        let mut reason = None;
        match (row.outcome.as_str(), row.sent, row.sent_as.as_deref()) {
            ("opted_out" | "unsubscribed", _, _) => line.opted_out += n,
            ("unreachable", _, _) => line.unreachable += n,
            (_, true, Some("reply")) => line.sent_reply += n,
            (_, true, Some("proactive")) => line.sent_proactive += n,
            (_, true, Some("opted_out" | "unsubscribed")) => line.opted_out += n,
            (_, true, _) => line.sent_direct += n,
            (_, false, _) => match row.last_error.as_deref() {
                Some(e) if e.starts_with(crate::services::outbox::WAITING_PREFIX) => {
                    line.waiting += n;
                    reason = Some(e.trim_start_matches(crate::services::outbox::WAITING_PREFIX).to_owned());
                }
                Some(e) => {
                    line.failed += n;
                    reason = Some(e.to_owned());
                }
                None => line.waiting += n,
            },
        }
        if let Some(reason) = reason {
            match line.reasons.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, c)) => *c += n,
                None => line.reasons.push((reason, n)),
            }
        }
    }
    lines
}

/// Recipient counts before sending, per channel and situation: (channel, will get it, opted out, unsubscribed,
/// unreachable).
pub fn counts(audience: &Audience) -> Vec<(String, usize, usize, usize, usize)> {
    let mut out: Vec<(String, usize, usize, usize, usize)> = Vec::new();
    let mut entry = |channel: &str| -> usize {
        match out.iter().position(|(c, ..)| c == channel) {
            Some(i) => i,
            None => {
                out.push((channel.to_owned(), 0, 0, 0, 0));
                out.len() - 1
            }
        }
    };
    let mut rows: Vec<(String, Option<&str>)> = audience.queued.iter().map(|r| (r.channel.clone(), None)).collect();
    rows.extend(audience.skipped.iter().map(|(r, why)| (r.channel.clone(), Some(*why))));
    let mut tallies: Vec<(usize, Option<&str>)> = Vec::new();
    for (channel, why) in &rows {
        tallies.push((entry(channel), *why));
    }
    for (i, why) in tallies {
        match why {
            None => out[i].1 += 1,
            Some("opted_out") => out[i].2 += 1,
            Some("unsubscribed") => out[i].3 += 1,
            Some(_) => out[i].4 += 1,
        }
    }
    out
}
