//! The OAuth consent page, `GET /oauth/authorize` (app.hubspot.com's, §41.1): a small HTML
//! page, self-contained (no script, no external resource), where a person picks the portal
//! to connect, sees the scopes the app asks for, and approves or cancels. Approving posts
//! the form back to `/oauth/authorize`, which redirects to the app's redirect URI with
//! `code` and `state`. Cancelling sends nothing to the app, as on HubSpot.
//!
//! A bad request (unknown client, unregistered redirect URI, scopes the app did not
//! register) is refused on the page itself, never redirected.
//!
//! The form is protected by a double-submit token: the page sets a random cookie
//! (`SameSite=Strict`, `HttpOnly`) and puts the same value in a hidden field; a post whose
//! field does not match its cookie is refused. Another site can make a browser post the
//! form, but cannot read or set the cookie, so it cannot make the two agree.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use spoke_core::PortalId;
use spoke_store::oauth::{self, Authorization, AuthorizeError};

use crate::error::ApiResult;
use crate::AppState;

const CSRF_COOKIE: &str = "spoke_oauth_csrf";

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/oauth/authorize", get(page).post(decide))
}

fn params(raw: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(raw).into_owned().collect()
}

fn param<'a>(p: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    p.get(key).map(String::as_str)
}

/// Text for HTML, attribute values included.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f5f8fa;color:#33475b;margin:0}\
main{max-width:34rem;margin:3rem auto;background:#fff;border:1px solid #cbd6e2;border-radius:6px;padding:2rem}\
h1{font-size:1.3rem;margin-top:0}code{background:#eaf0f6;padding:0 .25rem;border-radius:3px}\
label{display:block;font-weight:600;margin:1rem 0 .3rem}select,input[type=number]{font-size:1rem;padding:.3rem;width:100%}\
ul{padding-left:1.2rem}li{margin:.2rem 0}.actions{margin-top:1.5rem;display:flex;gap:.75rem}\
button{font-size:1rem;padding:.5rem 1.2rem;border-radius:4px;border:1px solid #cbd6e2;background:#fff;cursor:pointer}\
button.primary{background:#ff7a59;border-color:#ff7a59;color:#fff}.note{color:#516f90;font-size:.9rem}";

/// A whole page: `title` as heading, `body` as already-escaped HTML.
fn html(status: StatusCode, title: &str, body: &str, cookie: Option<&str>) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t} · spoke</title><style>{STYLE}</style></head>\
         <body><main><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title)
    );
    let mut res = (status, page).into_response();
    let h = res.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // No `form-action`: browsers apply it to the redirect after the post too, which goes
    // to the app's own (any) origin.
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    if let Some(v) = cookie.and_then(|c| {
        HeaderValue::from_str(&format!(
            "{CSRF_COOKIE}={c}; Path=/oauth; HttpOnly; SameSite=Strict"
        ))
        .ok()
    }) {
        h.insert(SET_COOKIE, v);
    }
    res
}

fn refusal(e: &AuthorizeError) -> Response {
    let message = match e {
        AuthorizeError::MissingParameter(p) => {
            format!("Authorization failed because the <code>{p}</code> parameter is missing.")
        }
        AuthorizeError::UnknownClient(c) => format!(
            "Authorization failed because no app has the client id <code>{}</code>.",
            esc(c)
        ),
        // HubSpot's captured wording.
        AuthorizeError::RedirectMismatch(r) => format!(
            "Authorization failed as the redirect URL '{}' doesn't match the app's registered redirect URL",
            esc(r)
        ),
        AuthorizeError::UnknownScopes(s) => format!(
            "Authorization failed because the app did not register these scopes: {}.",
            code_list(s)
        ),
        AuthorizeError::MissingScopes(s) => format!(
            "Authorization failed because the install URL leaves out scopes the app requires: {}.",
            code_list(s)
        ),
    };
    html(
        StatusCode::BAD_REQUEST,
        "Couldn't connect the app",
        &format!("<p id=\"error\">{message}</p>"),
        None,
    )
}

fn code_list(scopes: &[String]) -> String {
    scopes
        .iter()
        .map(|s| format!("<code>{}</code>", esc(s)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == CSRF_COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn check(
    state: &AppState,
    p: &HashMap<String, String>,
) -> ApiResult<Result<Authorization, AuthorizeError>> {
    Ok(oauth::check_authorization(
        state.store.as_ref(),
        param(p, "client_id"),
        param(p, "redirect_uri"),
        param(p, "scope"),
        param(p, "optional_scope"),
    )
    .await?)
}

/// `GET /oauth/authorize`.
async fn page(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let p = params(query.unwrap_or_default().as_bytes());
    let grant = match check(&state, &p).await? {
        Ok(g) => g,
        Err(e) => return Ok(refusal(&e)),
    };
    let csrf = cookie_value(&headers).unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let portals = state.store.list_portals().await?;
    let hidden = |name: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            esc(param(&p, name).unwrap_or(""))
        )
    };
    let chooser = if portals.is_empty() {
        "<input type=\"number\" id=\"portal\" name=\"portal\" min=\"1\" required>".to_owned()
    } else {
        let options: String = portals
            .iter()
            .map(|id| format!("<option value=\"{0}\">Account {0}</option>", id.0))
            .collect();
        format!("<select id=\"portal\" name=\"portal\">{options}</select>")
    };
    let optional = oauth::parse_scopes(param(&p, "optional_scope").unwrap_or(""));
    let scopes: String = grant
        .scopes
        .iter()
        .map(|s| {
            let mark = if optional.contains(s) {
                " (optional)"
            } else {
                ""
            };
            format!("<li><code>{}</code>{mark}</li>", esc(s))
        })
        .collect();
    let body = format!(
        "<form method=\"post\" action=\"/oauth/authorize\">\
         {client}{redirect}{scope}{optional}{state}\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"portal\">Choose an account</label>{chooser}\
         <p><b id=\"app\">{app}</b> is requesting access to:</p><ul id=\"scopes\">{scopes}</ul>\
         <p class=\"note\">It will be redirected to <code>{to}</code>.</p>\
         <div class=\"actions\">\
         <button class=\"primary\" type=\"submit\" id=\"approve\" name=\"decision\" value=\"approve\">Connect app</button>\
         <button type=\"submit\" id=\"deny\" name=\"decision\" value=\"deny\">Cancel</button>\
         </div></form>",
        client = hidden("client_id"),
        redirect = hidden("redirect_uri"),
        scope = hidden("scope"),
        optional = hidden("optional_scope"),
        state = hidden("state"),
        app = esc(&grant.app.name),
        to = esc(&grant.redirect_uri),
    );
    Ok(html(
        StatusCode::OK,
        &format!("Connect {}", grant.app.name),
        &body,
        Some(&csrf),
    ))
}

/// `POST /oauth/authorize`: the consent form's answer.
async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let p = params(&body);
    let fresh = cookie_value(&headers).is_some_and(|c| param(&p, "csrf").is_some_and(|f| f == c));
    if !fresh {
        return Ok(html(
            StatusCode::FORBIDDEN,
            "This page has expired",
            "<p id=\"error\">The form could not be verified. Go back to the app and start connecting again.</p>",
            None,
        ));
    }
    let grant = match check(&state, &p).await? {
        Ok(g) => g,
        Err(e) => return Ok(refusal(&e)),
    };
    if param(&p, "decision") != Some("approve") {
        return Ok(html(
            StatusCode::OK,
            "The app was not connected",
            &format!(
                "<p id=\"denied\">You did not connect <b>{}</b>. Nothing was sent to the app; you can close this page.</p>",
                esc(&grant.app.name)
            ),
            None,
        ));
    }
    let Some(portal) = param(&p, "portal")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|id| *id > 0)
    else {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            "Couldn't connect the app",
            "<p id=\"error\">Choose an account (a positive account id).</p>",
            None,
        ));
    };
    let code = oauth::issue_code(
        state.store.as_ref(),
        &grant,
        PortalId(portal),
        state.now(PortalId(portal)),
    )
    .await?;
    let mut location = grant.redirect_uri.clone();
    location.push(if location.contains('?') { '&' } else { '?' });
    location.push_str("code=");
    location.extend(form_urlencoded::byte_serialize(code.as_bytes()));
    if let Some(s) = param(&p, "state") {
        location.push_str("&state=");
        location.extend(form_urlencoded::byte_serialize(s.as_bytes()));
    }
    let mut res = StatusCode::FOUND.into_response();
    // A redirect URI is checked to be an absolute URL without whitespace when the app is
    // registered; one that still is no header value gets a page instead of a redirect.
    match HeaderValue::from_str(&location) {
        Ok(v) => {
            res.headers_mut().insert(LOCATION, v);
            res.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
        Err(_) => Ok(html(
            StatusCode::BAD_REQUEST,
            "Couldn't connect the app",
            "<p id=\"error\">The app's redirect URL cannot be used.</p>",
            None,
        )),
    }
}
