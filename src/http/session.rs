//! The officials' session: a random token in the `yk_session` cookie (HttpOnly, SameSite=Strict, Secure behind
//! HTTPS, limited to `/console`), stored only as its SHA-256; the CSRF token derived from it; and the extractors
//! that open every console and dashboard handler — [`SignedIn`], [`Leader`], [`Admin`] — checked before the
//! request's body is read, so a stranger is sent to the login page whatever they post.

use axum::extract::FromRequestParts;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::Utc;
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::PageError;
use crate::domain::Lang;
use crate::services::Error;
use crate::services::accounts::{self, Official, Role};
use crate::services::two_factor;

const SESSION_COOKIE: &str = "yk_session";
/// The console speaks Vietnamese.
const LANG: Lang = Lang::Vi;

/// The session token from the request's cookies, if any.
pub(super) fn session_token(headers: &HeaderMap) -> Option<String> {
    super::token_cookie(headers, SESSION_COOKIE)
}

/// Sets the session cookie of a fresh login on `response`.
pub(super) fn set_session_cookie(state: &AppState, response: &mut Response, token: &str) {
    let secure = state.secure_cookie();
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/console; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        accounts::SESSION_HOURS * 3600
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, v);
    }
}

/// Clears the session cookie on `response`.
pub(super) fn clear_session_cookie(response: &mut Response) {
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("yk_session=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict"),
    );
}

/// A signed-in official and their session token.
pub struct SignedIn {
    pub official: Official,
    pub token: String,
}

impl SignedIn {
    /// The CSRF token every console form carries, derived from the session.
    pub fn csrf(&self, state: &AppState) -> String {
        state.surveys.keyed_hash("console-csrf", &self.token)[..32].to_owned()
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, state: &AppState, given: Option<&str>) -> Result<(), PageError> {
        if given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(self.csrf(state).as_bytes()))) {
            Ok(())
        } else {
            Err(PageError::message(
                LANG,
                "/console",
                StatusCode::FORBIDDEN,
                "Phiên làm việc không hợp lệ",
                "Biểu mẫu đã hết hạn. Xin tải lại trang và thực hiện lại.",
            ))
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let login = || PageError::from(super::render::redirect("/console/login"));
        let token = session_token(&parts.headers).ok_or_else(login)?;
        match accounts::session_official(&state.store, &token, Utc::now()).await {
            Ok(Some(official)) => {
                // With YKIEN_REQUIRE_2FA, an administrator without two-factor sign-in sets it up before anything.
                if state.config.require_2fa
                    && official.role == Role::Admin
                    && !super::two_factor::open_before_setup(parts.uri.path())
                {
                    match two_factor::is_on(&state.store, official.id).await {
                        Ok(true) => {}
                        Ok(false) => {
                            return Err(PageError::from(super::render::redirect(super::two_factor::SETUP_PATH)));
                        }
                        Err(e) => return Err(PageError::new(LANG, "/console", e)),
                    }
                }
                Ok(Self { official, token })
            }
            Ok(None) => Err(login()),
            Err(e) => Err(PageError::new(LANG, "/console", e)),
        }
    }
}

/// A signed-in leader or administrator: the dashboard's readers.
pub struct Leader(pub SignedIn);

impl FromRequestParts<AppState> for Leader {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        if matches!(signed_in.official.role, Role::Leader | Role::Admin) {
            Ok(Self(signed_in))
        } else {
            Err(PageError::message(
                LANG,
                "/console/dashboard",
                StatusCode::FORBIDDEN,
                "Không có quyền xem",
                "Bảng điểm dành cho lãnh đạo và quản trị viên. Xin dùng hộp thư phản ánh.",
            ))
        }
    }
}

/// A signed-in administrator.
pub struct Admin(pub SignedIn);

impl FromRequestParts<AppState> for Admin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        if signed_in.official.role == Role::Admin {
            Ok(Self(signed_in))
        } else {
            let path = parts.uri.path().to_owned();
            Err(PageError::new(
                LANG,
                &path,
                Error::Forbidden("this page is for administrators".into()),
            ))
        }
    }
}

/// A console form that carries nothing but its CSRF token (a button that acts on what its address names).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}
