//! The web UI at `/_spoke/ui`: a page and its script and stylesheet, embedded in the binary
//! (`ui/`), which read and drive the admin API from the browser. No external network, no
//! runtime library, no build step.
//!
//! Sign-in: `spoke serve` prints `/_spoke/ui?token=<admin token>`; that visit (or the login
//! form's POST) sets the admin token as an HttpOnly, SameSite=Strict cookie on `/_spoke` and
//! redirects to the bare `/_spoke/ui`, so the token leaves the address bar at once and no
//! script can read it. The admin API accepts that cookie as well as the Bearer header
//! ([`super::Admin`]); a request that changes state by the cookie alone must also carry
//! `X-Spoke-UI: 1`, which a cross-site form cannot send and a cross-site script cannot
//! send without a CORS preflight spoke never answers. Without a valid cookie the page is a
//! 401 login form and the assets a 401 error.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::{is_admin_secret, Admin};
use crate::error::{ApiError, ApiResult};
use crate::wire::{self, QueryParams};
use crate::AppState;

/// The cookie that carries the admin token for the UI.
pub const COOKIE: &str = "spoke_admin";
/// The header a cookie-authenticated request that changes state must carry, as `1`.
pub const CSRF_HEADER: &str = "x-spoke-ui";

const INDEX: &str = include_str!("ui/index.html");
const LOGIN: &str = include_str!("ui/login.html");
/// (file name, content type, content)
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("ui/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("ui/style.css"),
    ),
];

/// The page's only sources are spoke's own files and API; nothing inline runs.
const APP_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";
/// The login page is one file: its style is inline, it runs no script.
const LOGIN_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/_spoke/ui", get(page))
        .route("/_spoke/ui/login", post(login))
        .route("/_spoke/ui/logout", post(logout))
        .route("/_spoke/ui/{asset}", get(asset))
}

/// The UI's address under `origin`; with the admin token, the address that signs in.
pub fn address(origin: &str, secret: Option<&str>) -> String {
    match secret {
        Some(secret) => {
            let token: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            format!("{origin}/_spoke/ui?token={token}")
        }
        None => format!("{origin}/_spoke/ui"),
    }
}

/// The admin token the UI's cookie carries, if the request has one.
pub(crate) fn cookie_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| {
            // Set percent-encoded (`set_cookie`), so any token survives the cookie syntax.
            percent_decode(value)
        })
        .filter(|s| !s.is_empty())
}

fn percent_decode(value: &str) -> String {
    form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub(crate) fn has_csrf_header(headers: &HeaderMap) -> bool {
    headers
        .get(CSRF_HEADER)
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"1")
}

pub(crate) fn csrf_refusal() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        None,
        "A request that changes state with the web UI's cookie must carry the header X-Spoke-UI: 1 (or use Authorization: Bearer <admin token>)",
    )
}

fn html(status: StatusCode, policy: &'static str, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    secure_headers(h);
    res
}

fn secure_headers(h: &mut HeaderMap) {
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The login form, with one of a fixed set of messages (nothing the request said is echoed).
fn login_page(message: &'static str) -> Response {
    html(
        StatusCode::UNAUTHORIZED,
        LOGIN_POLICY,
        LOGIN.replace("<!--message-->", message),
    )
}

const WRONG_TOKEN: &str =
    r#"<p class="error" id="error">That is not this server's admin token.</p>"#;

/// Signed in: the cookie set, and on to the page without the token in its address.
fn signed_in(secret: &str, origin: &str) -> Response {
    let mut value: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    value = format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/_spoke");
    if origin.starts_with("https:") {
        value.push_str("; Secure");
    }
    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    h.insert(LOCATION, HeaderValue::from_static("/_spoke/ui"));
    secure_headers(h);
    match HeaderValue::from_str(&value) {
        Ok(v) => {
            h.insert(SET_COOKIE, v);
            res
        }
        // Percent-encoding leaves only cookie-safe bytes, so this is never reached.
        Err(_) => login_page(WRONG_TOKEN),
    }
}

async fn page(
    admin: Result<Admin, ApiError>,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    wire::Origin(origin): wire::Origin,
) -> ApiResult<Response> {
    let q = QueryParams::parse(query.as_deref());
    if let Some(secret) = q.one("token") {
        return Ok(if is_admin_secret(&state, secret.trim()).await? {
            signed_in(secret.trim(), &origin)
        } else {
            login_page(WRONG_TOKEN)
        });
    }
    Ok(match admin {
        Ok(Admin) => html(StatusCode::OK, APP_POLICY, INDEX.to_owned()),
        Err(e) if e.status == StatusCode::UNAUTHORIZED => login_page(""),
        Err(e) => return Err(e),
    })
}

async fn login(
    State(state): State<AppState>,
    wire::Origin(origin): wire::Origin,
    body: Bytes,
) -> ApiResult<Response> {
    let secret = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    Ok(
        if !secret.is_empty() && is_admin_secret(&state, &secret).await? {
            signed_in(&secret, &origin)
        } else {
            login_page(WRONG_TOKEN)
        },
    )
}

/// The `Set-Cookie` value that forgets [`COOKIE`] (a literal, so it is checked in a test).
const CLEARED: &str = "spoke_admin=; HttpOnly; SameSite=Strict; Path=/_spoke; Max-Age=0";

/// Forgets the cookie. Needs nothing: signing someone out is no harm to guard against.
async fn logout() -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    h.insert(LOCATION, HeaderValue::from_static("/_spoke/ui"));
    h.insert(SET_COOKIE, HeaderValue::from_static(CLEARED));
    secure_headers(h);
    res
}

async fn asset(_: Admin, Path(name): Path<String>) -> ApiResult<Response> {
    let (_, content_type, content) = ASSETS
        .iter()
        .find(|(file, _, _)| *file == name)
        .ok_or_else(ApiError::resource_not_found)?;
    let mut res = (*content).into_response();
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    secure_headers(h);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cleared_cookie_is_the_ui_cookie() {
        assert!(CLEARED.starts_with(&format!("{COOKIE}=;")));
    }

    #[test]
    fn any_token_survives_the_cookie_and_comes_back() {
        for secret in ["spoke-admin-0a", "a b;c=d,e\"f%+", "é"] {
            let res = signed_in(secret, "http://127.0.0.1:1");
            let set = res.headers()[SET_COOKIE].to_str().expect("ascii");
            let pair = set.split(';').next().expect("pair");
            let mut headers = HeaderMap::new();
            headers.insert(
                axum::http::header::COOKIE,
                HeaderValue::from_str(&format!("other=1; {pair}")).expect("header"),
            );
            assert_eq!(cookie_secret(&headers).as_deref(), Some(secret));
        }
    }

    #[test]
    fn over_https_the_cookie_is_secure() {
        let res = signed_in("spoke-admin-0a", "https://api.hubapi.com");
        assert!(res.headers()[SET_COOKIE]
            .to_str()
            .is_ok_and(|v| v.ends_with("; Secure")));
    }
}
