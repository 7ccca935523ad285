//! Parts of a commune's dashboard page added with papi-2026 (issue 23): its sub-dimensions on PAPI's scale, and
//! what a comparison with a wave on another questionnaire version leaves out.

use super::*;

/// The commune's sub-dimensions: the 0–1 score and PAPI's (1 + 9s)/k, which add up to the dimension's score when
/// every sub-dimension has answers; a dimension kept from fewer sub-dimensions is marked.
pub(super) fn subdimension_table(ctx: &Context, unit: &str) -> Markup {
    let codebook = &ctx.snapshot.codebook;
    let papi = ykien_analysis::PapiScale::new(codebook);
    let partial = |code: &str| {
        ctx.snapshot.partial.iter().any(|p| {
            p.unit_code == unit && p.level == Level::Dimension && p.code == code && p.wave == ctx.snapshot.wave.code
        })
    };
    html! {
        h2 { "Nội dung thành phần theo thang PAPI" }
        p.muted { "PAPI báo cáo mỗi nội dung thành phần theo thang (1 + 9 × điểm 0–1) / k, với k là số nội dung thành phần của lĩnh vực, nên các nội dung thành phần cộng lại bằng điểm lĩnh vực khi lĩnh vực có đủ câu trả lời ở mọi nội dung thành phần." }
        table {
            thead { tr { th { "Nội dung thành phần" } th.num { "Điểm 0–1" } th.num { "Thang PAPI" } th.num { "Số người trả lời" } } }
            tbody { @for d in &codebook.dimensions {
                @let dim = ctx.snapshot.score(unit, Level::Dimension, &d.code);
                tr {
                    th { (d.number) ". " (d.name.vi) @if partial(&d.code) { " (tính từ một phần nội dung thành phần)" } }
                    td.num { }
                    td.num { (dim.map(|r| num(r.score, 2)).unwrap_or_else(|| "–".to_owned())) }
                    td.num { (dim.map(|r| r.n.to_string()).unwrap_or_default()) }
                }
                @for s in codebook.subdimensions.iter().filter(|s| s.dimension == d.code) {
                    @let row = ctx.snapshot.score(unit, Level::Subdimension, &s.code);
                    tr {
                        td { (s.code) " " (s.name.vi) }
                        td.num { (row.map(|r| num(r.score, 2)).unwrap_or_else(|| "–".to_owned())) }
                        td.num { (row.and_then(|r| papi.of(r)).map(|v| num(v, 2)).unwrap_or_else(|| "–".to_owned())) }
                        td.num { (row.map(|r| r.n.to_string()).unwrap_or_default()) }
                    }
                }
            } }
        }
    }
}

/// Says what the "Thay đổi" column compares when the previous wave used another questionnaire version.
pub(super) fn comparison_note(ctx: &Context) -> Markup {
    let Some(c) = &ctx.snapshot.comparison else {
        return html! {};
    };
    html! {
        p.note {
            "Cột “Thay đổi” so sánh với đợt " strong { (c.plan.previous.title) } " (" (c.plan.previous.code) "), dùng bảng hỏi "
            (c.plan.from) ". Hai bảng hỏi khác nhau nên chỉ so sánh trên những gì cả hai cùng đo: "
            (c.plan.compared) " chỉ tiêu giống nhau; lĩnh vực và nội dung thành phần được tính lại trên các chỉ tiêu đó cho cả hai đợt."
            @if !c.plan.subdimensions_left_out.is_empty() {
                " Không so sánh các nội dung thành phần mới hoặc đã bỏ: " (c.plan.subdimensions_left_out.join(", ")) "."
            }
            @if !c.plan.left_out.is_empty() {
                " Các chỉ tiêu mới hoặc đo theo cách khác không được so sánh: " (c.plan.left_out.join(", ")) "."
            }
        }
    }
}

/// The commune's scores by village or residential group (from responses that came through a village's link or
/// poster): total and the eight dimensions where a village has 10 respondents or more; the others are named as
/// hidden, never scored on the page.
pub(super) async fn village_section(state: &AppState, ctx: &Context, commune: &crate::domain::units::Unit) -> Markup {
    let snapshot = &ctx.snapshot;
    let span = snapshot.period.and_then(|p| p.instants());
    let computed =
        crate::services::villages::village_scores(&state.store, &snapshot.wave, commune, &snapshot.codebook, span)
            .await;
    let (villages, mut scores) = match computed {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, commune = %commune.code, "village scores could not be computed");
            return html! { p.err { "Chưa tính được điểm theo thôn, tổ dân phố; xin thử lại sau." } };
        }
    };
    if villages.is_empty() {
        return html! {};
    }
    if let Ok(q) = state.surveys.questionnaire(snapshot.wave.questionnaire_id).await {
        ykien_analysis::apply_dimension_rule(
            &mut scores,
            &snapshot.codebook,
            crate::services::versions::analysis_rule(q.dimension_rule),
        );
    }
    let wave = &snapshot.wave.code;
    let dims = &snapshot.codebook.dimensions;
    html! {
        h2 { "Điểm theo thôn, tổ dân phố" }
        p.muted { "Tính từ các phiếu trả lời qua đường dẫn hoặc áp phích của từng thôn, tổ dân phố, cùng phương pháp với điểm của xã, phường. Thôn, tổ dân phố có dưới 10 người trả lời không được hiển thị điểm." }
        table {
            thead { tr { th { "Thôn, tổ dân phố" } th.num { "Điểm tổng" } @for d in dims { th.num { (d.code.to_uppercase()) } } th.num { "Số người trả lời" } } }
            tbody { @for v in &villages {
                @let total = scores.get(wave, &v.code, Level::Total, TOTAL_CODE);
                @let withheld = scores.withheld.iter().any(|w| w.unit_code == v.code);
                tr {
                    td { (v.name) }
                    @match total {
                        Some(t) => {
                            td.num { (num(t.score, 2)) }
                            @for d in dims { td.num { (scores.get(wave, &v.code, Level::Dimension, &d.code).map(|r| num(r.score, 2)).unwrap_or_else(|| "–".to_owned())) } }
                            td.num { (t.n) }
                        }
                        None => {
                            td colspan=(dims.len() + 2) {
                                @if withheld { "Dưới 10 người trả lời: không hiển thị." } @else { "Chưa có người trả lời." }
                            }
                        }
                    }
                }
            } }
        }
    }
}
