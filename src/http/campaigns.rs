//! Campaigns in the console (`/console/campaigns`): the list and the form to draft one (text in Vietnamese and
//! optionally English, an image, a link, communes, channels, a schedule in Vietnam time), a campaign's page with
//! its preview per channel, recipient counts per channel and reachability, the approval and the pause, resume and
//! cancel buttons, and its delivery report (page, CSV, XLSX). The rules are `services::reach::campaigns`'.

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use ykien_analysis::{Cell, Table};

use super::AppState;
use super::console::page;
use super::error::{OnPage, PageError};
use super::render::{image_response, redirect};
use super::session::SignedIn;
use crate::domain::calendar::vn_day;
use crate::domain::{Lang, Problem};
use crate::services::Error;
use crate::services::reach::campaigns::{
    self, CampaignForm, CampaignState, ReportLine, TELEGRAM_TEXT_LIMIT, ZALO_TEXT_LIMIT, vn_time,
};
use crate::services::units;

const LANG: Lang = Lang::Vi;
const HOME: &str = "/console/campaigns";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/campaigns/{id}", get(show_campaign))
        .route("/console/campaigns/{id}/image", get(show_image))
        .route("/console/campaigns/{id}/{action}", post(post_action))
        .route("/console/campaigns/{id}/report/{file}", get(download_report))
}

/// The list and the drafting form, which takes an image.
pub(super) fn upload_routes() -> Router<AppState> {
    Router::new().route(HOME, get(show_campaigns).post(post_campaign))
}

fn problems_list(problems: &[Problem]) -> Markup {
    html! {
        @if !problems.is_empty() {
            div.error role="alert" {
                p { strong { "Chưa lưu được đợt gửi tin: " (problems.len()) " chỗ chưa hợp lệ." } }
                ul { @for p in problems { li { (p.message.vi) } } }
            }
        }
    }
}

fn form_page(form: &CampaignForm, problems: &[Problem], csrf: &str) -> Markup {
    let checked = |c: &str| form.channels.is_empty() || form.channels.iter().any(|x| x == c);
    html! {
        h2 { "Soạn đợt gửi tin mới" }
        (problems_list(problems))
        form method="post" action=(HOME) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(csrf);
            p { label { "Tên đợt gửi tin " input type="text" name="title" size="60" value=(form.title); } }
            p { label { "Nội dung (tiếng Việt) " br;
                textarea name="text_vi" rows="6" cols="70" { (form.text_vi) } } }
            p.muted { "Tối đa " (ZALO_TEXT_LIMIT) " ký tự trên Zalo, " (TELEGRAM_TEXT_LIMIT) " đơn vị UTF-16 trên Telegram, kể cả đường dẫn." }
            p { label { "Nội dung tiếng Anh (tùy chọn) " br;
                textarea name="text_en" rows="4" cols="70" { (form.text_en) } } }
            p { label { "Đường dẫn (tùy chọn) " input type="url" name="link" size="60" value=(form.link); } }
            p { label { "Ảnh (JPEG, PNG, WebP; tùy chọn) " input type="file" name="image" accept="image/jpeg,image/png,image/webp"; } }
            p { label { "Mã các xã, phường (cách nhau bởi dấu phẩy) " input type="text" name="communes" size="40" value=(form.communes.join(", ")); } }
            p { "Kênh: "
                label { input type="checkbox" name="channels" value="telegram" checked[checked("telegram")]; " Telegram" } " "
                label { input type="checkbox" name="channels" value="zalo" checked[checked("zalo")]; " Zalo" } }
            p { label { "Gửi lúc (giờ Việt Nam) " input type="datetime-local" name="scheduled_vn" value=(form.scheduled_vn); } }
            button type="submit" { "Lưu bản nháp" }
        }
    }
}

async fn list_page(
    state: &AppState,
    session: &SignedIn,
    form: &CampaignForm,
    problems: &[Problem],
) -> Result<Response, PageError> {
    let list = state.store.campaigns(200).await.on_page(LANG, HOME)?;
    let body = html! {
        h1 { "Đợt gửi tin" }
        p.muted { "Cán bộ soạn bản nháp cho xã, phường trong phạm vi của mình; lãnh đạo hoặc quản trị của phạm vi đó duyệt (không tự duyệt bản mình soạn)." }
        table {
            thead { tr { th { "Tên" } th { "Trạng thái" } th { "Gửi lúc" } th { "Kênh" } } }
            tbody { @for c in &list { tr {
                td { a href=(format!("{HOME}/{}", c.id)) { (c.title) } }
                td { (CampaignState::parse(&c.state).label().vi) }
                td { (vn_time(c.scheduled_at)) }
                td { (c.channels) }
            } } }
        }
        (form_page(form, problems, &session.csrf(state)))
    };
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        Html(page("Đợt gửi tin", Some((&session.official, &session.csrf(state))), body).into_string()),
    )
        .into_response())
}

/// `GET /console/campaigns`.
async fn show_campaigns(State(state): State<AppState>, session: SignedIn) -> Result<Response, PageError> {
    let form = CampaignForm {
        scheduled_vn: (Utc::now() + chrono::Duration::hours(8))
            .format("%Y-%m-%dT%H:00")
            .to_string(),
        ..CampaignForm::default()
    };
    list_page(&state, &session, &form, &[]).await
}

/// `POST /console/campaigns`: a draft; on problems the form again with what was typed.
async fn post_campaign(
    State(state): State<AppState>,
    session: SignedIn,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let mut fields: HashMap<String, Vec<String>> = HashMap::new();
    let mut image = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "image" {
            if let Ok(bytes) = field.bytes().await
                && !bytes.is_empty()
            {
                image = Some(bytes.to_vec());
            }
        } else if let Ok(text) = field.text().await {
            fields.entry(name).or_default().push(text);
        }
    }
    let one = |k: &str| fields.get(k).and_then(|v| v.first()).cloned().unwrap_or_default();
    session.check_csrf(&state, Some(&one("csrf")))?;
    let form = CampaignForm {
        title: one("title"),
        text_vi: one("text_vi"),
        text_en: one("text_en"),
        link: one("link"),
        image,
        communes: one("communes")
            .split([',', ' ', ';'])
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        channels: fields.get("channels").cloned().unwrap_or_default(),
        scheduled_vn: one("scheduled_vn"),
    };
    match campaigns::draft(&state.store, &session.official, &form, Utc::now()).await {
        Ok(id) => Ok(redirect(&format!("{HOME}/{id}"))),
        Err(Error::Invalid(problems)) => list_page(&state, &session, &form, &problems).await,
        Err(e) => Err(PageError::new(LANG, HOME, e)),
    }
}

/// What a wrong id in the path shows.
const NO_SUCH: &str = "Không có đợt gửi tin này";

async fn names(state: &AppState, codes: &[String]) -> HashMap<String, String> {
    let day = vn_day(Utc::now());
    let mut out = HashMap::new();
    for code in codes {
        let name = units::commune_on(&state.store, code, day)
            .await
            .map(|u| u.name)
            .unwrap_or_else(|_| code.clone());
        out.insert(code.clone(), name);
    }
    out
}

fn report_table(lines: &[ReportLine], names: &HashMap<String, String>) -> Table {
    let mut t = Table::new(
        "Báo cáo gửi tin",
        &[
            "Mã xã",
            "Xã, phường",
            "Kênh",
            "Đối tượng",
            "Đã gửi (phản hồi)",
            "Đã gửi (chủ động)",
            "Đã gửi (Telegram)",
            "Thất bại",
            "Từ chối nhận tin",
            "Không liên lạc được",
            "Đang chờ",
            "Lý do",
        ],
    );
    for l in lines {
        let reasons = l
            .reasons
            .iter()
            .map(|(r, n)| format!("{r} ({n})"))
            .collect::<Vec<_>>()
            .join("; ");
        let n = |v: i64| Cell::Number(v as f64);
        t.push(vec![
            l.commune_code.clone().into(),
            names.get(&l.commune_code).cloned().unwrap_or_default().into(),
            l.channel.clone().into(),
            n(l.targeted),
            n(l.sent_reply),
            n(l.sent_proactive),
            n(l.sent_direct),
            n(l.failed),
            n(l.opted_out),
            n(l.unreachable),
            n(l.waiting),
            reasons.into(),
        ]);
    }
    t
}

/// `GET /console/campaigns/{id}`.
async fn show_campaign(
    State(state): State<AppState>,
    session: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = PageError::path_id(&id, LANG, HOME, NO_SUCH)?;
    let path = format!("{HOME}/{id}");
    let campaign = state
        .store
        .campaign(id)
        .await
        .on_page(LANG, &path)?
        .ok_or_else(|| PageError::no_such(LANG, HOME, NO_SUCH))?;
    let communes = state.store.campaign_communes(id).await.on_page(LANG, &path)?;
    let names = names(&state, &communes).await;
    let campaign_state = CampaignState::parse(&campaign.state);
    let audience = campaigns::audience(&state.store, &campaign)
        .await
        .on_page(LANG, &path)?;
    let counts = campaigns::counts(&audience);
    let lines = campaigns::report(&state.store, id).await.on_page(LANG, &path)?;
    let preview_vi = campaigns::outbound_for(&campaign, Lang::Vi).text;
    let preview_en = campaign
        .text_en
        .as_ref()
        .map(|_| campaigns::outbound_for(&campaign, Lang::En).text);
    let csrf = session.csrf(&state);
    let action = |name: &str, label: &str| {
        html! {
            form method="post" action=(format!("{path}/{name}")) style="display:inline" {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { (label) } " "
            }
        }
    };
    let body = html! {
        h1 { (campaign.title) }
        p { "Trạng thái: " strong { (campaign_state.label().vi) } " · Gửi lúc " (vn_time(campaign.scheduled_at)) " (giờ Việt Nam) · Kênh: " (campaign.channels) }
        p { "Xã, phường: " (communes.iter().map(|c| format!("{} ({c})", names.get(c).cloned().unwrap_or_default())).collect::<Vec<_>>().join(", ")) }
        @if campaign.origin.starts_with("you_said_we_did") { p.muted { "Bản nháp «Anh chị đã góp ý, chúng tôi đã làm» do hệ thống chuẩn bị khi kỳ báo cáo kết thúc." } }
        h2 { "Xem trước theo kênh" }
        @for channel in campaign.channels.split(',') {
            h3 { (if channel == "zalo" { "Zalo" } else { "Telegram" }) }
            @if campaign.image_type.is_some() { p { img src=(format!("{path}/image")) alt="Ảnh của đợt gửi tin" style="max-width:240px"; } }
            pre style="white-space:pre-wrap;border:1px solid #ccc;padding:.5em;max-width:40em" { (preview_vi) }
            @if let Some(en) = &preview_en { p.muted { "Người dùng chọn tiếng Anh nhận:" } pre style="white-space:pre-wrap;border:1px dashed #ccc;padding:.5em;max-width:40em" { (en) } }
            @if channel == "zalo" {
                p.muted { "Zalo: gửi như tin phản hồi (trích tin nhắn cuối của người dân) khi còn trong 48 giờ và chưa dùng hết 8 tin; nếu không, là tin chủ động tính vào hạn mức tháng; hết hạn mức thì chờ." }
            }
        }
        h2 { "Người nhận" }
        table {
            thead { tr { th { "Kênh" } th { "Sẽ nhận" } th { "Đã dừng mọi tin (/stop)" } th { "Đã dừng nhận tin" } th { "Không liên lạc được" } } }
            tbody { @for (channel, will, opted, unsub, unreach) in &counts { tr {
                td { (channel) } td { (will) } td { (opted) } td { (unsub) } td { (unreach) } } } }
        }
        h2 { "Thao tác" }
        p {
            @match campaign_state {
                CampaignState::Draft => { (action("approve", "Duyệt và xếp lịch gửi")) (action("cancel", "Hủy")) }
                CampaignState::Approved => {
                    (action("pause", "Tạm dừng"))
                    @if campaign.scheduled_at > Utc::now() { (action("cancel", "Hủy (chưa bắt đầu)")) }
                }
                CampaignState::Paused => { (action("resume", "Tiếp tục gửi")) }
                CampaignState::Cancelled => { "Đợt gửi tin đã hủy." }
            }
        }
        h2 { "Báo cáo gửi tin" }
        p { a href=(format!("{path}/report/report.csv")) { "Tải CSV" } " · " a href=(format!("{path}/report/report.xlsx")) { "Tải XLSX" } }
        table {
            thead { tr { th { "Xã, phường" } th { "Kênh" } th { "Đối tượng" } th { "Phản hồi" } th { "Chủ động" } th { "Telegram" } th { "Thất bại" } th { "Từ chối" } th { "Không liên lạc được" } th { "Đang chờ" } th.wide { "Lý do" } } }
            tbody { @for l in &lines { tr {
                td { (names.get(&l.commune_code).cloned().unwrap_or_else(|| l.commune_code.clone())) }
                td { (l.channel) } td { (l.targeted) } td { (l.sent_reply) } td { (l.sent_proactive) } td { (l.sent_direct) }
                td { (l.failed) } td { (l.opted_out) } td { (l.unreachable) } td { (l.waiting) }
                td { (l.reasons.iter().map(|(r, n)| format!("{r} ({n})")).collect::<Vec<_>>().join("; ")) }
            } } }
        }
        p { a href=(HOME) { "← Các đợt gửi tin" } }
    };
    Ok(Html(page(&campaign.title, Some((&session.official, &csrf)), body).into_string()).into_response())
}

/// `GET /console/campaigns/{id}/image`.
async fn show_image(
    State(state): State<AppState>,
    _session: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = PageError::path_id(&id, LANG, HOME, NO_SUCH)?;
    match state.store.campaign_image(id).await.on_page(LANG, HOME)? {
        Some((content_type, bytes)) => Ok(image_response(content_type, bytes)),
        None => Err(PageError::no_such(LANG, HOME, NO_SUCH)),
    }
}

#[derive(Deserialize)]
struct ActionForm {
    csrf: String,
}

/// `POST /console/campaigns/{id}/{approve|pause|resume|cancel}`.
async fn post_action(
    State(state): State<AppState>,
    session: SignedIn,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    let id = PageError::path_id(&id, LANG, HOME, NO_SUCH)?;
    let path = format!("{HOME}/{id}");
    let now = Utc::now();
    let official = &session.official;
    let done = match action.as_str() {
        "approve" => campaigns::approve(&state.store, official, id, now).await.map(drop),
        "pause" => campaigns::pause(&state.store, official, id, now).await,
        "resume" => campaigns::resume(&state.store, official, id, now).await,
        "cancel" => campaigns::cancel(&state.store, official, id, now).await,
        _ => return Err(PageError::no_such(LANG, HOME, NO_SUCH)),
    };
    done.on_page(LANG, &path)?;
    // The outbox worker looks again: an approved campaign due now starts at once.
    state.outbox.notify_one();
    Ok(redirect(&path))
}

/// `GET /console/campaigns/{id}/report/report.{csv|xlsx}`.
async fn download_report(
    State(state): State<AppState>,
    _session: SignedIn,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = PageError::path_id(&id, LANG, HOME, NO_SUCH)?;
    let xlsx = match file.as_str() {
        "report.csv" => false,
        "report.xlsx" => true,
        _ => return Err(PageError::no_such(LANG, HOME, NO_SUCH)),
    };
    let lines = campaigns::report(&state.store, id).await.on_page(LANG, HOME)?;
    let codes: Vec<String> = lines.iter().map(|l| l.commune_code.clone()).collect();
    let names = names(&state, &codes).await;
    super::dashboard::table_response(
        vec![report_table(&lines, &names)],
        format!("bao-cao-gui-tin-{id}"),
        xlsx,
    )
    .await
}
