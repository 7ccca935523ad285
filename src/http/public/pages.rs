//! The public scorecards: the provinces that published, a province's communes ranked, and a commune's card (total
//! and the eight dimensions with their intervals, rank and group, change since the last published wave, how it
//! answers feedback, and the answered cases its citizens let be public).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};
use ykien_analysis::report::NOT_ENOUGH_VI;
use ykien_analysis::{Level, ScoreRow, Sufficiency, TOTAL_CODE};

use super::super::AppState;
use super::super::error::{OnPage, PageError};
use super::super::pages::{layout, with_lang};
use super::{PublicQuery, Shown, cacheable, num, shown};
use crate::domain::Lang;
use crate::domain::calendar::vn_day;
use crate::services::responsiveness::{MIN_RATINGS_SHOWN, Responsiveness};
use crate::storage::{PublicCase, PublicCaseFilter};

/// How many public cases a commune's card lists.
const CASES_ON_CARD: i64 = 20;

const NOT_ENOUGH_EN: &str = "Not enough answers";

/// `GET /scores`: the provinces that published results.
pub(super) async fn show_provinces(
    State(state): State<AppState>,
    Query(q): Query<PublicQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = q.lang();
    let codes = state.publications.provinces().await.on_page(lang, "/scores")?;
    let mut provinces = Vec::new();
    for code in codes {
        if let Ok(unit) =
            crate::services::units::unit_by_code(&state.store, &code, super::super::today_in_vietnam()).await
        {
            provinces.push(unit);
        }
    }
    let body = html! {
        h1 { (lang.t("Kết quả khảo sát PAPI cấp xã", "Commune-level PAPI results")) }
        p { (lang.t(
            "Điểm của từng xã, phường về tám lĩnh vực quản trị và hành chính công, theo ý kiến của chính người dân, cùng cách chính quyền trả lời phản ánh, kiến nghị. Chỉ những kết quả được lãnh đạo tỉnh công bố mới hiện ở đây.",
            "Each commune's scores on the eight areas of governance and public administration, as its citizens rate them, and how the authorities answer their feedback. Only results a province's leaders published appear here.")) }
        @if provinces.is_empty() {
            p { (lang.t("Chưa có tỉnh, thành phố nào công bố kết quả.", "No province has published results yet.")) }
        } @else {
            ul { @for p in &provinces { li { a href=(with_lang(&format!("/scores/{}", p.code), lang)) { (p.name) } } } }
        }
    };
    let page = layout(lang, "/scores", lang.t("Kết quả công bố", "Published results"), body);
    Ok(cacheable(
        &headers,
        "text/html; charset=utf-8",
        page.into_string().into_bytes(),
    ))
}

/// `GET /scores/{province}`: the province's communes ranked, with how each answers feedback.
pub(super) async fn show_province(
    State(state): State<AppState>,
    Path(province): Path<String>,
    Query(q): Query<PublicQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let path = format!("/scores/{province}");
    let shown = shown(&state, &province, &q, &path).await?;
    let lang = shown.lang;
    let ranked = shown.ranked();
    let keep = shown.keep();
    let body = html! {
        nav.crumbs { a href=(with_lang("/scores", lang)) { (lang.t("Kết quả công bố", "Published results")) } }
        h1 { (shown.province.name) }
        (heading(&shown))
        (choose(&shown, &path))
        h2 { (lang.t("Điểm tổng hợp của các xã, phường", "The communes' total scores")) }
        @if ranked.is_empty() {
            p { (lang.t("Chưa xã, phường nào có từ 10 người trả lời trở lên trong kỳ này.", "No commune had 10 or more respondents in this period.")) }
        } @else {
            table {
                thead { tr {
                    th.num { (lang.t("Hạng", "Rank")) } th { (lang.t("Xã, phường", "Commune")) }
                    th.num { (lang.t("Điểm tổng (8–80)", "Total (8–80)")) } th.num.wide { (lang.t("Khoảng tin cậy 95%", "95% interval")) }
                    th { (lang.t("Nhóm", "Group")) } th.num { (lang.t("Số người trả lời", "Respondents")) }
                } }
                tbody { @for r in &ranked {
                    tr {
                        td.num { (r.rank.filter(|_| r.sufficiency == Sufficiency::Enough).map(|x| x.to_string()).unwrap_or_default()) }
                        td { a href=(format!("/scores/{}/{}?{keep}", shown.province.code, r.unit_code)) { (shown.snapshot.unit_name(&r.unit_code)) } }
                        (score_cells(lang, r))
                        td.num { (r.n) }
                    }
                } }
            }
        }
        h2 { (lang.t("Trả lời phản ánh, kiến nghị", "Answering feedback")) }
        (responsiveness_table(&state, &shown, ranked.iter().map(|r| r.unit_code.as_str()), None))
        (method(lang, shown.snapshot.weighting.as_ref()))
        (open_data(&shown))
    };
    let title = format!("{} · {}", lang.t("Kết quả PAPI", "PAPI results"), shown.province.name);
    let page = layout(lang, &format!("{path}?{keep}"), &title, body);
    Ok(cacheable(
        &headers,
        "text/html; charset=utf-8",
        page.into_string().into_bytes(),
    ))
}

/// `GET /scores/{province}/{commune}`: one commune's card.
pub(super) async fn show_commune(
    State(state): State<AppState>,
    Path((province, commune)): Path<(String, String)>,
    Query(q): Query<PublicQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let path = format!("/scores/{province}/{commune}");
    let shown = shown(&state, &province, &q, &path).await?;
    let lang = shown.lang;
    let in_province = shown
        .snapshot
        .units
        .units
        .iter()
        .find(|u| u.code == commune)
        .is_some_and(|u| u.province_code == shown.province.code);
    let total = shown.score(&commune, Level::Total, TOTAL_CODE);
    let (true, Some(total)) = (in_province, total) else {
        // Under 10 respondents, unknown, or of another province: absent, whichever it is.
        return Err(PageError::message(
            lang,
            &path,
            axum::http::StatusCode::NOT_FOUND,
            lang.t("Không có kết quả công bố", "No published result"),
            lang.t(
                "Không có kết quả được công bố cho xã, phường này trong đợt và kỳ này.",
                "There is no published result for this commune in this wave and period.",
            ),
        ));
    };
    let name = shown.snapshot.unit_name(&commune);
    let keep = shown.keep();
    let changes = changes(&shown, &commune);
    // The commune as the wave knew it, else as it is today; the second read only when the first finds none.
    let unit = match crate::services::units::commune_on(&state.store, &commune, vn_day(shown.published.wave.closes_at))
        .await
    {
        Ok(u) => Ok(u),
        Err(_) => crate::services::units::commune_on(&state.store, &commune, super::super::today_in_vietnam()).await,
    };
    let cases = match &unit {
        Ok(u) => state
            .publications
            .cases(&PublicCaseFilter {
                unit_ids: Some(vec![u.id]),
                limit: CASES_ON_CARD,
                ..PublicCaseFilter::default()
            })
            .await
            .on_page(lang, &path)?,
        Err(_) => Vec::new(),
    };
    let province_href = format!("/scores/{}?{keep}", shown.province.code);
    let body = html! {
        nav.crumbs {
            a href=(with_lang("/scores", lang)) { (lang.t("Kết quả công bố", "Published results")) } " › "
            a href=(province_href) { (shown.province.name) }
        }
        h1 { (name) }
        (heading(&shown))
        @if total.sufficiency == Sufficiency::Enough {
            p.big {
                (lang.t("Điểm tổng: ", "Total: ")) strong { (num(lang, total.score, 2)) } (lang.t(" trên thang 8–80", " on the 8–80 scale"))
                @if let (Some(l), Some(h)) = (total.ci_low, total.ci_high) { " (" (lang.t("khoảng tin cậy 95%: ", "95% interval: ")) (num(lang, l, 2)) " – " (num(lang, h, 2)) ")" }
                @if let Some(rank) = total.rank { ". " (lang.t("Hạng ", "Rank ")) (rank) "/" (shown.ranked().iter().filter(|r| r.sufficiency == Sufficiency::Enough).count()) }
                @if let Some(q) = total.quartile { ", " (lang.t("nhóm ", "group ")) (quartile(lang, q)) }
                "."
            }
        } @else {
            p.big { strong { (not_enough(lang)) } }
        }
        p.muted { (total.n) (lang.t(" người trả lời.", " respondents.")) }
        h2 { (lang.t("Tám lĩnh vực (thang 1–10)", "The eight dimensions (1–10)")) }
        table {
            thead { tr {
                th { (lang.t("Lĩnh vực", "Dimension")) } th.num { (lang.t("Điểm", "Score")) }
                th.num.wide { (lang.t("Khoảng tin cậy 95%", "95% interval")) } th { (lang.t("Nhóm", "Group")) }
                th.num { (lang.t("Thay đổi", "Change")) }
            } }
            tbody { @for d in &shown.snapshot.codebook.dimensions {
                tr {
                    td { (lang.t(&d.name.vi, &d.name.en)) }
                    @match shown.score(&commune, Level::Dimension, &d.code) {
                        Some(r) => { (score_cells(lang, r)) }
                        None => { td.num { "–" } td.num.wide {} td {} }
                    }
                    td.num { (change_text(lang, changes.iter().find(|c| c.level == Level::Dimension && c.code == d.code))) }
                }
            } }
        }
        @if let Some(c) = changes.iter().find(|c| c.level == Level::Total) {
            p { (lang.t("Điểm tổng thay đổi so với đợt công bố trước: ", "Change of the total since the previous published wave: ")) (change_text(lang, Some(c))) }
        }
        h2 { (lang.t("Trả lời phản ánh, kiến nghị", "Answering feedback")) }
        (responsiveness_table(&state, &shown, std::iter::once(commune.as_str()), Some(&commune)))
        h2 { (lang.t("Phản ánh đã được trả lời", "Answered feedback")) }
        @if cases.is_empty() {
            p { (lang.t("Chưa có phản ánh nào được người gửi cho phép công khai.", "No answered feedback was allowed to be shown publicly by its sender.")) }
        } @else {
            @for c in &cases { (public_case(&state, lang, c)) }
        }
        p {
            a.button href=(with_lang(&format!("/f/{commune}"), lang)) { (lang.t("Gửi phản ánh", "Send feedback")) } " "
            a href=(with_lang(&format!("/s/{commune}"), lang)) { (lang.t("Tham gia khảo sát", "Take the survey")) }
        }
        (method(lang, shown.snapshot.weighting.as_ref()))
        (open_data(&shown))
    };
    let page = layout(lang, &format!("{path}?{keep}"), &name, body);
    Ok(cacheable(
        &headers,
        "text/html; charset=utf-8",
        page.into_string().into_bytes(),
    ))
}

/// The changes of a commune since the previous wave, when that wave was published for the province too (read
/// from the publications the page already holds).
fn changes<'a>(shown: &'a Shown, commune: &str) -> &'a [ykien_analysis::Change] {
    let published = |wave: &str| shown.all.iter().any(|p| p.wave.code == wave);
    match shown.snapshot.waves.iter().rev().nth(1) {
        Some(previous) if published(&previous.code) => shown.snapshot.changes_of(commune),
        _ => &[],
    }
}

fn change_text(lang: Lang, change: Option<&ykien_analysis::Change>) -> String {
    match change {
        None => "–".to_owned(),
        Some(c) => {
            let sign = if c.change > 0.0 { "+" } else { "" };
            let clear = if c.clear {
                lang.t(" (rõ rệt)", " (clear)")
            } else {
                ""
            };
            format!("{sign}{}{clear}", num(lang, c.change, 2))
        }
    }
}

fn not_enough(lang: Lang) -> &'static str {
    lang.t(NOT_ENOUGH_VI, NOT_ENOUGH_EN)
}

fn quartile(lang: Lang, q: ykien_analysis::Quartile) -> &'static str {
    match lang {
        Lang::Vi => q.label_vi(),
        Lang::En => q.label_en(),
    }
}

/// Score, interval and group cells; "not enough answers" without score or group from 10 to 29 respondents.
fn score_cells(lang: Lang, r: &ScoreRow) -> Markup {
    html! {
        @if r.sufficiency == Sufficiency::Enough {
            td.num { (num(lang, r.score, 2)) }
            td.num.wide { @if let (Some(l), Some(h)) = (r.ci_low, r.ci_high) { (num(lang, l, 2)) " – " (num(lang, h, 2)) } }
            td { (r.quartile.map(|q| quartile(lang, q)).unwrap_or_default()) }
        } @else {
            td.num { (not_enough(lang)) } td.num.wide {} td {}
        }
    }
}

/// What was published, when, and over which data.
fn heading(shown: &Shown) -> Markup {
    let lang = shown.lang;
    let p = &shown.published;
    html! {
        p.muted {
            (p.wave.title) " · " (period_label(lang, p.publication.period))
            ". " (lang.t("Công bố ngày ", "Published on ")) (crate::domain::calendar::to_vietnam(p.publication.published_at).format("%d/%m/%Y"))
            ". " (lang.t("Số liệu tính lúc ", "Computed at ")) (super::super::render::vn_time(shown.snapshot.computed_at)) "."
        }
    }
}

fn period_label(lang: Lang, period: Option<crate::domain::survey::PlanPeriod>) -> String {
    match period.and_then(crate::domain::survey::PlanPeriod::period) {
        Some(r) => format!(
            "{} ({} – {})",
            r.name,
            r.starts_on.format("%d/%m/%Y"),
            r.ends_on.format("%d/%m/%Y")
        ),
        None => lang.t("Toàn bộ đợt khảo sát", "The whole wave").to_owned(),
    }
}

/// Links to the other publications of the province.
fn choose(shown: &Shown, path: &str) -> Markup {
    let lang = shown.lang;
    html! {
        @if shown.all.len() > 1 {
            details {
                summary { (lang.t("Các đợt, kỳ đã công bố", "Other published waves and periods")) }
                ul { @for p in &shown.all {
                    @let period = p.publication.period.map_or_else(|| "all".to_owned(), |x| x.to_string());
                    li { a href=(with_lang(&format!("{path}?wave={}&period={period}", p.wave.code), lang)) { (p.wave.title) " · " (period_label(lang, p.publication.period)) } }
                } }
            }
        }
    }
}

/// Responsiveness rows: per commune (province page), or overall then per category (commune page).
fn responsiveness_table<'a>(
    state: &AppState,
    shown: &Shown,
    units: impl Iterator<Item = &'a str>,
    by_category_of: Option<&str>,
) -> Markup {
    let lang = shown.lang;
    let rows: Vec<&Responsiveness> = match by_category_of {
        Some(unit) => shown.snapshot.responsiveness_of(unit).collect(),
        None => units
            .filter_map(|u| shown.snapshot.responsiveness_of(u).find(|r| r.category.is_none()))
            .collect(),
    };
    let label = |r: &Responsiveness| match (&r.category, by_category_of) {
        (None, Some(_)) => lang.t("Tất cả phản ánh", "All feedback").to_owned(),
        (None, None) => shown.snapshot.unit_name(&r.unit_code),
        (Some(c), _) => state
            .cases
            .category(c)
            .map_or_else(|| c.clone(), |cat| cat.name().get(lang).to_owned()),
    };
    html! {
        @if rows.is_empty() {
            p { (lang.t("Chưa có phản ánh nào trong kỳ này.", "No feedback in this period.")) }
        } @else {
            table {
                thead { tr {
                    th { (if by_category_of.is_some() { lang.t("Loại phản ánh", "Category") } else { lang.t("Xã, phường", "Commune") }) }
                    th.num { (lang.t("Nhận", "Received")) } th.num { (lang.t("Đã trả lời", "Answered")) }
                    th.num { (lang.t("Đúng hạn", "On time")) } th.num.wide { (lang.t("Trung vị giờ làm việc đến khi trả lời", "Median working hours to the answer")) }
                    th.num.wide { (lang.t("Mở lại", "Reopened")) } th.num { (lang.t("Hài lòng (1–5)", "Rating (1–5)")) }
                } }
                tbody { @for r in &rows {
                    tr {
                        td { (label(r)) }
                        td.num { (r.received) } td.num { (r.answered) }
                        td.num { (r.on_time_rate.map(|v| format!("{}%", num(lang, v * 100.0, 0))).unwrap_or_else(|| "–".to_owned())) }
                        td.num.wide { (r.median_working_hours.map(|h| num(lang, h, 1)).unwrap_or_else(|| "–".to_owned())) }
                        td.num.wide { (r.reopened) }
                        td.num { (r.mean_rating.map(|m| num(lang, m, 1)).unwrap_or_else(|| "–".to_owned())) }
                    }
                } }
            }
            p.muted { (lang.t(
                "Đúng hạn: phản ánh trả lời trong thời hạn, trên tổng số đã trả lời và số đang quá hạn. Thời gian tính theo giờ làm việc. Điểm hài lòng chỉ hiện khi có từ ",
                "On time: answered within the deadline, over those answered plus those overdue. Time in working hours. The rating shows from ")) (MIN_RATINGS_SHOWN) (lang.t(" lượt đánh giá.", " ratings.")) }
        }
    }
}

/// One public case: what was reported (as cleared, contacts masked), the dates and the official answer.
fn public_case(state: &AppState, lang: Lang, c: &PublicCase) -> Markup {
    let category = state
        .cases
        .category(&c.case.category)
        .map_or_else(|| c.case.category.clone(), |cat| cat.name().get(lang).to_owned());
    let day = |t: chrono::DateTime<chrono::Utc>| vn_day(t).format("%d/%m/%Y").to_string();
    html! {
        article.case {
            h3 { (category) }
            p.muted {
                (lang.t("Nhận ngày ", "Received ")) (day(c.case.received_at))
                @if let Some(a) = c.case.answered_at { " · " (lang.t("trả lời ngày ", "answered ")) (day(a)) }
            }
            p { (c.case.public_text()) }
            @if let Some((answer, by)) = &c.answer {
                blockquote { p { (answer) } footer.muted { "— " (by) } }
            }
            @for id in &c.photos {
                a href=(format!("/public/photos/{id}")) { (lang.t("Ảnh", "Photo")) } " "
            }
        }
    }
}

/// The method in plain words, and what the survey weights do when the scores use them.
fn method(lang: Lang, weighting: Option<&crate::services::scoreboard::Weighting>) -> Markup {
    html! {
        details {
            summary { (lang.t("Cách tính điểm", "How the scores are made")) }
            p { (lang.t(
                "Người dân trả lời bảng hỏi theo chỉ số PAPI trên điện thoại. Mỗi câu trả lời được quy về thang 0–1; các câu hỏi hợp thành nội dung thành phần, các nội dung thành phần hợp thành tám lĩnh vực trên thang 1–10, và điểm tổng là tổng tám lĩnh vực (8–80). Khoảng tin cậy 95% cho biết điểm có thể dao động bao nhiêu do chỉ một phần người dân trả lời. Xã, phường dưới 10 người trả lời không được công bố; từ 10 đến 29 người được ghi “Chưa đủ câu trả lời” và không xếp hạng. Nhóm: Cao (¼ số xã có điểm cao nhất trong tỉnh), Trung bình cao, Trung bình thấp, Thấp. Người trả lời tự tham gia, không phải mẫu chọn ngẫu nhiên như khảo sát PAPI toàn quốc.",
                "Citizens answer a PAPI-style questionnaire on their phones. Each answer becomes a value from 0 to 1; questions make up sub-dimensions, sub-dimensions make up eight dimensions on a 1–10 scale, and the total is the sum of the eight (8–80). The 95% interval shows how much a score could move because only some citizens answered. Communes under 10 respondents are not published; from 10 to 29 they are marked “Not enough answers” and not ranked. Groups: Best (the quarter of the province's communes with the highest scores), High average, Low average, Low. Respondents chose to take part; they are not a random sample as in the national PAPI survey.")) }
            @if let Some(w) = weighting {
                @let (n_eff, n) = (num(lang, w.summary.effective_n(), 0), w.summary.respondents);
                p { (lang.t(
                    &format!("Điểm được gia quyền: mỗi người trả lời được tính theo trọng số để cơ cấu người trả lời (giới tính, độ tuổi, học vấn) khớp với cơ cấu dân số của tỉnh, giảm độ lệch do người tự tham gia. Gia quyền làm khoảng tin cậy rộng hơn: {n} người trả lời chính xác tương đương {n_eff} người không gia quyền."),
                    &format!("Scores are weighted: each respondent counts with a weight that makes the respondents' mix (sex, age, education) match the province's population, reducing the bias of self-selection. Weighting widens the intervals: {n} respondents are as precise as {n_eff} unweighted ones."),
                )) }
            }
        }
    }
}

/// Links to the open data of the shown publication.
fn open_data(shown: &Shown) -> Markup {
    let lang = shown.lang;
    let base = format!("/scores/{}/data", shown.province.code);
    let keep = shown.keep();
    html! {
        p.muted {
            (lang.t("Dữ liệu mở (giấy phép CC BY 4.0): ", "Open data (CC BY 4.0 licence): "))
            @for (i, (file, label)) in [
                ("scores.csv", lang.t("điểm (CSV)", "scores (CSV)")),
                ("scores.json", lang.t("điểm (JSON)", "scores (JSON)")),
                ("responsiveness.csv", lang.t("trả lời phản ánh (CSV)", "responsiveness (CSV)")),
                ("responsiveness.json", lang.t("trả lời phản ánh (JSON)", "responsiveness (JSON)")),
                ("cases.csv", lang.t("phản ánh công khai (CSV)", "public cases (CSV)")),
                ("cases.json", lang.t("phản ánh công khai (JSON)", "public cases (JSON)")),
            ].into_iter().enumerate() {
                @if i > 0 { " · " }
                a href=(format!("{base}/{file}?{keep}")) { (label) }
            }
        }
    }
}
