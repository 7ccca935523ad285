//! QR codes for posters at the commune office: `/s/{commune}/qr.svg` and `/s/{commune}/qr.png` encode the
//! address of the commune's mobile survey, `{public base}/s/{code}`, so that a citizen who scans one lands on it.
//! The public base is `YKIEN_PUBLIC_URL` when set, else `http://` and the request's `Host`. Error correction
//! level Q keeps a slightly torn or dirty poster readable; both images carry the 4-module quiet zone scanners
//! need. Only a commune or ward that exists today gets a code; anything else gets the survey's error page.
//! With `?via=telegram` the code opens the Telegram bot on that commune instead (`t.me/<bot>?start=commune_<code>`).

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

use super::AppState;
use super::pages::{error_page, message_page};
use crate::domain::Lang;
use crate::services::units as unit_service;

/// Modules of light border around the code, as the QR standard asks (qrcode's SVG renderer draws the same).
const QUIET_ZONE: usize = 4;
/// Pixels per module in the PNG (and SVG user units per module).
const MODULE_PX: usize = 10;

/// `GET /s/{commune}/qr.svg`: the survey's QR code as a crisp SVG on white, for printing.
/// The QR codes of the surveys, for posters.
pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/s/{commune}/qr.svg", axum::routing::get(show_survey_qr_svg))
        .route("/s/{commune}/qr.png", axum::routing::get(show_survey_qr_png))
}

pub async fn show_survey_qr_svg(
    State(state): State<AppState>,
    Path(commune): Path<String>,
    Query(q): Query<QrQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/s/{commune}/qr.svg");
    let code = match survey_qr(&state, &commune, &headers, &q, &path).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let image = code
        .qr
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(MODULE_PX as u32, MODULE_PX as u32)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    image_response(image.into_bytes(), "image/svg+xml", &code.unit_code, "svg")
}

/// `GET /s/{commune}/qr.png`: the survey's QR code as a black-on-white greyscale PNG.
pub async fn show_survey_qr_png(
    State(state): State<AppState>,
    Path(commune): Path<String>,
    Query(q): Query<QrQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_code(q.lang.as_deref());
    let path = format!("/s/{commune}/qr.png");
    let code = match survey_qr(&state, &commune, &headers, &q, &path).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    match encode_png(&code.qr) {
        Ok(bytes) => image_response(bytes, "image/png", &code.unit_code, "png"),
        Err(e) => {
            tracing::error!(error = %e, "the QR code could not be written as PNG");
            cannot_make(lang, &path)
        }
    }
}

/// What the QR images accept: the page language and where the code leads.
#[derive(Debug, Default, serde::Deserialize)]
pub struct QrQuery {
    pub lang: Option<String>,
    /// `telegram`: the bot's deep link; otherwise the web survey.
    pub via: Option<String>,
    /// A village of the commune (issue 23): the web survey's address carries it, for that village's posters.
    pub thon: Option<String>,
}

/// The QR code of a commune's survey address and the commune's code.
struct SurveyQr {
    qr: QrCode,
    unit_code: String,
}

async fn survey_qr(
    state: &AppState,
    commune: &str,
    headers: &HeaderMap,
    q: &QrQuery,
    path: &str,
) -> Result<SurveyQr, Response> {
    let lang = Lang::from_code(q.lang.as_deref());
    let code = commune.trim();
    let day = super::today_in_vietnam();
    let unit = unit_service::commune_on(&state.store, code, day)
        .await
        .map_err(|e| error_page(lang, path, e))?;
    let url = match q.via.as_deref() {
        Some("telegram") => state
            .channels
            .telegram
            .as_ref()
            .and_then(|t| t.commune_link(&unit.code))
            .ok_or_else(|| {
                message_page(
                    lang,
                    path,
                    StatusCode::NOT_FOUND,
                    lang.t("Chưa có bot Telegram", "No Telegram bot"),
                    lang.t(
                        "Máy chủ này chưa kết nối bot Telegram, nên chưa có mã QR mở bot.",
                        "This server has no Telegram bot connected, so there is no QR code that opens it.",
                    ),
                )
            })?,
        _ => match q.thon.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => format!("{}/s/{}", public_base(state, headers), unit.code),
            Some(thon) => {
                let villages = crate::services::villages::villages_of(&state.store, &unit)
                    .await
                    .map_err(|e| error_page(lang, path, e))?;
                let Some(village) = villages.into_iter().find(|v| v.code == thon) else {
                    return Err(message_page(
                        lang,
                        path,
                        StatusCode::NOT_FOUND,
                        lang.t("Không có thôn, tổ dân phố này", "No such village"),
                        lang.t(
                            "Xã, phường này không có thôn, tổ dân phố mang mã đã nhập; xin kiểm tra danh sách đã nhập vào hệ thống.",
                            "This commune or ward has no village or residential group with that code; check the imported list.",
                        ),
                    ));
                };
                format!("{}/s/{}?thon={}", public_base(state, headers), unit.code, village.code)
            }
        },
    };
    let qr = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::Q).map_err(|e| {
        tracing::error!(error = %e, url, "the survey address does not fit in a QR code");
        cannot_make(lang, path)
    })?;
    Ok(SurveyQr {
        qr,
        unit_code: unit.code,
    })
}

/// Where citizens reach the service: the configured public address, else what the request was sent to.
pub(super) fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = state.config.public_url.as_deref() {
        return url.to_owned();
    }
    // Only a plain host[:port] is trusted into the code; anything else falls back to localhost.
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Any text as a QR code PNG (level M: a screen is not torn), for a page that shows one, such as the
/// `otpauth://` URI of two-factor sign-in's set-up.
pub(super) fn png_of(text: &str) -> Option<Vec<u8>> {
    let qr = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    encode_png(&qr).ok()
}

/// The code as an 8-bit greyscale PNG: `MODULE_PX` pixels per module, with the quiet zone.
fn encode_png(qr: &QrCode) -> Result<Vec<u8>, png::EncodingError> {
    let modules = qr.width();
    let colors = qr.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * MODULE_PX;
    let mut pixels = vec![0xff_u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
        for y in my * MODULE_PX..(my + 1) * MODULE_PX {
            pixels[y * side + mx * MODULE_PX..y * side + (mx + 1) * MODULE_PX].fill(0);
        }
    }
    let side = u32::try_from(side).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

fn image_response(body: Vec<u8>, content_type: &'static str, code: &str, extension: &str) -> Response {
    let disposition = format!("inline; filename=\"ykien-khao-sat-{code}.{extension}\"");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    response
}

fn cannot_make(lang: Lang, path: &str) -> Response {
    message_page(
        lang,
        path,
        StatusCode::INTERNAL_SERVER_ERROR,
        lang.t("Tạm thời gián đoạn", "Temporarily unavailable"),
        lang.t(
            "Không tạo được mã QR cho địa chỉ khảo sát này. Xin báo quản trị viên.",
            "The QR code of this survey address could not be made. Please tell the administrator.",
        ),
    )
}

/// `url` as a QR code in an `<img src>` (a `data:` SVG, which the pages' policy allows), for a printed page such as
/// the intake desk's receipt; `None` if it does not fit in a code.
pub(super) fn data_uri_svg(url: &str) -> Option<String> {
    use base64::Engine as _;
    let qr = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::Q).ok()?;
    let image = qr
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(4, 4)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(image)
    ))
}
