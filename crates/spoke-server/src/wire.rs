//! Wire details shared by every route (hubspot-behavior.md §0, §8.1): the correlation id
//! header, `application/json;charset=utf-8`, compact JSON, error bodies, request body and
//! query parsing that reject in HubSpot's shape (U+0000 included, anywhere in a body, path or
//! query).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use spoke_types::error::StandardError;

use crate::conn::TlsConnection;
use crate::error::{ApiError, ApiResult, Category};

pub const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";
pub const CORRELATION_HEADER: &str = "x-hubspot-correlation-id";
/// On answers of operations spoke knows but does not serve (their 403 is HubSpot's for a
/// missing scope): which operation, so a test can tell spoke's gap from a real one.
pub const NOT_EMULATED_HEADER: &str = "x-spoke-not-emulated";

/// The request's correlation id, in request extensions for handlers that log.
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

/// The tracing target of the access log: one `debug` event per request (method, host, path,
/// the query's parameter names, status, time, correlation id; for errors HubSpot's message
/// and category). Off by default; `SPOKE_LOG=info,spoke::access=debug` turns it on.
/// Query values are left out: some carry credentials (`hapikey`, OAuth codes).
pub const ACCESS_LOG_TARGET: &str = "spoke::access";

/// Gives every response a correlation id and renders [`ApiError`]s as HubSpot's JSON.
pub async fn middleware(mut req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let access = tracing::enabled!(target: ACCESS_LOG_TARGET, tracing::Level::DEBUG).then(|| {
        let host = req
            .headers()
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let keys = query_keys(req.uri().query());
        (host, keys)
    });
    let id = uuid::Uuid::now_v7().to_string();
    req.extensions_mut().insert(CorrelationId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let tls = req.extensions().get::<TlsConnection>().is_some();
    // Like other malformed requests, a NUL in the URL is refused before anything else runs.
    let mut res = match nul_in_uri(req.uri()) {
        Some(e) => e.into_response(),
        None => next.run(req).await,
    };

    let error = match res.extensions_mut().remove::<ApiError>() {
        Some(e) => Some(e),
        // axum's own rejections for a known path with the wrong method carry no body.
        None if res.status() == StatusCode::METHOD_NOT_ALLOWED => {
            Some(ApiError::method_not_allowed())
        }
        // Any other error the framework produced itself (body too large, a path segment
        // that is not valid UTF-8...) still leaves in HubSpot's envelope.
        None if (res.status().is_client_error() || res.status().is_server_error())
            && !is_json(&res)
            && !is_html(&res) =>
        {
            let status = res.status();
            let message = match status {
                StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large".to_owned(),
                s => s.canonical_reason().unwrap_or("error").to_owned(),
            };
            let category = status
                .is_client_error()
                .then_some(Category::ValidationError);
            Some(ApiError::new(status, category, message))
        }
        None => None,
    };
    let mut failure = None;
    if let Some(mut e) = error {
        failure = access.is_some().then(|| {
            (
                e.message.clone(),
                e.category
                    .map(|c| c.as_str())
                    .or(e.oauth.map(|c| c.status))
                    .unwrap_or(""),
                e.not_emulated.clone(),
            )
        });
        if let Some(cause) = &e.cause {
            // Paths with a token in them (OAuth metadata) are logged without it.
            let path = loggable_path(&path);
            tracing::error!(correlation_id = %id, %method, %path, status = e.status.as_u16(), %cause, "request failed");
        }
        let status = e.status;
        let auth_failure = status == StatusCode::UNAUTHORIZED;
        let not_emulated = e
            .not_emulated
            .as_deref()
            .and_then(|op| HeaderValue::from_str(op).ok());
        let extra = std::mem::take(&mut e.headers);
        if let Some(body) = e.body.take() {
            res = json_response(status, &body);
        } else if let Some(code) = e.oauth {
            let body = spoke_types::oauth::OAuthError {
                error: code.error,
                error_description: e.message.clone(),
                status: code.status,
                message: e.message,
                correlation_id: id.clone(),
            };
            res = json_response(status, &body);
        } else {
            let body = spoke_types::error::Error {
                status: "error",
                message: e.message,
                error_type: e.policy_name.map(|_| "RATE_LIMIT".to_owned()),
                correlation_id: id.clone(),
                policy_name: e.policy_name.map(str::to_owned),
                errors: e.errors,
                context: e.context,
                links: e.links,
                category: e.category.map(|c| c.as_str().to_owned()),
                sub_category: e.sub_category,
            };
            res = json_response(status, &body);
            if auth_failure {
                res.headers_mut()
                    .insert("x-hubspot-auth-failure", HeaderValue::from_static("true"));
            }
            if let Some(op) = not_emulated {
                res.headers_mut().insert(NOT_EMULATED_HEADER, op);
            }
        }
        for (name, value) in extra {
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(name, v);
            }
        }
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(CORRELATION_HEADER, v);
    }
    if let Some((host, query)) = access {
        let path = loggable_path(&path);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let status = res.status().as_u16();
        match failure {
            None => {
                tracing::debug!(target: ACCESS_LOG_TARGET, %method, ?host, %path, ?query, status, ms, tls, correlation_id = %id, "request")
            }
            Some((message, category, not_emulated)) => tracing::debug!(
                target: ACCESS_LOG_TARGET, %method, ?host, %path, ?query, status, ms, tls,
                correlation_id = %id, error = ?message, category, not_emulated = not_emulated.as_deref().unwrap_or(""), "request"
            ),
        }
    }
    res
}

/// A query's parameter names, each once, comma-separated (`limit,after,properties`).
fn query_keys(query: Option<&str>) -> String {
    let mut keys: Vec<String> = Vec::new();
    for (k, _) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if !keys.iter().any(|x| *x == *k) {
            keys.push(k.into_owned());
        }
    }
    keys.join(",")
}

/// U+0000 percent-encoded (`%00`) in a path segment or a query parameter (docs/compatibility.md,
/// "Strings"). `%` always starts a three-character escape, so `%2500` (a literal `%00`) does
/// not match.
fn nul_in_uri(uri: &axum::http::Uri) -> Option<ApiError> {
    if let Some(segment) = uri.path().split('/').find(|s| s.contains("%00")) {
        let what = format!("the path segment \"{segment}\"");
        return Some(nul_error(&what));
    }
    let query = uri.query().filter(|q| q.contains("%00"))?;
    let (key, _) = form_urlencoded::parse(query.as_bytes())
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))?;
    let what = if key.contains('\0') {
        "a query parameter name".to_owned()
    } else {
        format!("the query parameter {key}")
    };
    Some(nul_error(&what))
}

fn nul_error(what: &str) -> ApiError {
    ApiError::validation(spoke_core::property::NulError { what }.to_string())
}

/// Where the first U+0000 of a JSON body is (`inputs[0].properties.firstname`), if it has
/// one. Only `\u0000` can carry it: a raw NUL byte is not valid JSON. The scan pairs every
/// backslash with the character it escapes, so `\\u0000` (a backslash, then `u0000`) is
/// not one.
fn nul_in_json(body: &[u8]) -> Option<String> {
    let mut i = 0;
    let mut found = false;
    while let Some(at) = body
        .get(i..)
        .and_then(|rest| rest.iter().position(|b| *b == b'\\'))
    {
        let at = i + at;
        if body.get(at + 1..at + 6) == Some(b"u0000") {
            found = true;
            break;
        }
        i = at + 2;
    }
    if !found {
        return None;
    }
    // Only on this rare path is the body parsed twice, to say where the character is.
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut path = String::new();
    Some(if locate_nul(&value, &mut path) {
        path
    } else {
        "the request body".to_owned()
    })
}

/// Depth-first search for a string (value or key) holding U+0000; `path` ends up naming it.
fn locate_nul(v: &serde_json::Value, path: &mut String) -> bool {
    match v {
        serde_json::Value::String(s) => {
            let found = s.contains('\0');
            if found {
                *path = format!("the string at {}", display_path(path));
            }
            found
        }
        serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = locate_nul(item, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        serde_json::Value::Object(map) => map.iter().any(|(k, item)| {
            if k.contains('\0') {
                *path = format!("a key in {}", display_path(path));
                return true;
            }
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            let found = locate_nul(item, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        _ => false,
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "the top level"
    } else {
        path
    }
}

/// A page for people (the OAuth consent page and its errors), left as it is.
fn is_html(res: &Response) -> bool {
    res.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// A request path fit for logs: the OAuth paths that carry a token in the path
/// (`/oauth/v1/access-tokens/{token}`, `/oauth/v1/refresh-tokens/{token}`) lose the token.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for marker in ["/access-tokens/", "/refresh-tokens/"] {
        if let Some(at) = path.find(marker) {
            return format!("{}{marker}…", &path[..at]).into();
        }
    }
    path.into()
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Serializes `body` compactly with HubSpot's exact content type.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    json_response_sized(status, body, 1024)
}

/// [`json_response`] into a buffer of `capacity` bytes: a batch answer of 100 records is
/// about 60 KB, which a default-sized buffer reaches only after ten reallocations and copies.
pub fn json_response_sized<T: Serialize>(
    status: StatusCode,
    body: &T,
    capacity: usize,
) -> Response {
    let mut bytes = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => {
            let mut res = Response::new(axum::body::Body::from(bytes));
            *res.status_mut() = status;
            res.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
            res
        }
        Err(e) => ApiError::internal(format!("serializing response: {e}")).into_response(),
    }
}

/// When a request was authorized, on its portal's clock (a batch answer's `startedAt`).
#[derive(Debug, Clone, Copy)]
pub struct Started {
    pub at: spoke_core::time::Millis,
    since: std::time::Instant,
}

impl Started {
    pub fn new(at: spoke_core::time::Millis) -> Self {
        Self {
            at,
            since: std::time::Instant::now(),
        }
    }

    /// Now on the same clock: `at` plus the real time since. A frozen portal clock still
    /// shows the request's own duration, as HubSpot's spans do.
    pub fn completed(self) -> spoke_core::time::Millis {
        self.at
            .saturating_add(i64::try_from(self.since.elapsed().as_millis()).unwrap_or(i64::MAX))
    }
}

/// A batch answer's statuses: without errors, and with them.
pub type BatchStatus = (StatusCode, StatusCode);
/// Reads and updates: 200, 207 with errors.
pub const BATCH_OK: BatchStatus = (StatusCode::OK, StatusCode::MULTI_STATUS);
/// Creates: 201, 207 with errors.
pub const BATCH_CREATED: BatchStatus = (StatusCode::CREATED, StatusCode::MULTI_STATUS);
/// Endpoints whose spec defines only 200: errors ride along in `errors`.
pub const BATCH_ALWAYS_OK: BatchStatus = (StatusCode::OK, StatusCode::OK);

/// A batch answer in HubSpot's envelope (§1.2), with `statuses`' first status when there
/// are no errors and its second with them. Each error is rendered by [`item_error`].
pub fn batch_response<T: Serialize>(
    (ok, partial): BatchStatus,
    started: Started,
    results: Vec<T>,
    errors: Vec<ApiError>,
) -> Response {
    let status = if errors.is_empty() { ok } else { partial };
    let errors: Vec<StandardError> = errors.into_iter().map(item_error).collect();
    let body = spoke_types::objects::BatchResponse {
        status: "COMPLETE",
        results,
        num_errors: (!errors.is_empty()).then_some(errors.len()),
        errors,
        started_at: spoke_core::time::format_iso(started.at),
        completed_at: spoke_core::time::format_iso(started.completed()),
    };
    json_response_sized(status, &body, 1024 + body.results.len() * 768)
}

/// One error of a batch answer: the same values as a whole error answer, without what only
/// a whole answer carries (status code, correlation id, `errors`, `links`). A batch item
/// always has a category; errors without one (a bare 404) are listed as validation errors.
fn item_error(e: ApiError) -> StandardError {
    StandardError {
        status: "error",
        category: e
            .category
            .map_or("VALIDATION_ERROR", Category::as_str)
            .to_owned(),
        sub_category: e.sub_category,
        message: e.message,
        context: e.context,
    }
}

/// A JSON answer with a status code.
pub struct Json<T>(pub StatusCode, pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        json_response(self.0, &self.1)
    }
}

/// A JSON request body, parsed by [`parse_body`]. axum runs a handler's body extractor
/// after all the others, so [`Authorized`](crate::catalogue::Authorized) and the path have
/// answered (401, 400 for the type, 403) before the body is read (invariant 4).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        // axum's own rejections (a body over the limit, a connection that broke) are
        // rendered by the middleware, as they were when handlers took the bytes.
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        parse_body(&bytes)
            .map(Self)
            .map_err(IntoResponse::into_response)
    }
}

/// Parses a request body, rejecting as HubSpot's Jackson-based API does (§2.3).
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::validation(
            "Invalid JSON input: a request body was expected, but none found",
        ));
    }
    if let Some(what) = nul_in_json(body) {
        return Err(ApiError::validation(format!(
            "Invalid input JSON: {}",
            spoke_core::property::NulError { what: &what }
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = e.to_string();
        // serde_json appends " at line L column C"; HubSpot leads with the position.
        let detail = what
            .rsplit_once(" at line ")
            .map(|(d, _)| d.to_owned())
            .unwrap_or(what);
        ApiError::validation(format!(
            "Invalid input JSON on line {}, column {}: {detail}",
            e.line(),
            e.column()
        ))
    })
}

/// Query parameters as HubSpot's clients send them: arrays repeated
/// (`?properties=a&properties=b`) or comma-separated (`?properties=a,b`), booleans in any case.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

/// `paging.next.link`: the request's own URL on the host the client called, with every
/// query parameter it sent (as sent) but `after`, then the next `after`. Connectors that
/// page by this link alone (dlt) keep their properties, associations, limit and archived.
/// `host` is a bare host (`localhost:8080`, linked over `http`) or an origin with its
/// scheme, as [`origin`] gives it.
pub fn next_link(host: &str, path: &str, raw_query: Option<&str>, after: &str) -> String {
    let mut link = if host.contains("://") {
        format!("{host}{path}?")
    } else {
        format!("http://{host}{path}?")
    };
    for pair in raw_query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let key = pair.split('=').next().unwrap_or("");
        let is_after = form_urlencoded::parse(key.as_bytes())
            .next()
            .is_some_and(|(k, _)| k == "after");
        if !is_after {
            link.push_str(pair);
            link.push('&');
        }
    }
    link.push_str("after=");
    link.extend(form_urlencoded::byte_serialize(after.as_bytes()));
    link
}

/// The origin (`https://api.hubapi.com`) the client called, for links back to spoke. When
/// spoke sits behind a proxy (serving `api.hubapi.com` to connectors with a fixed base URL),
/// the client's scheme and host are in the proxy's `Forwarded` (RFC 7239; its first element)
/// or `X-Forwarded-Proto` / `X-Forwarded-Host` headers; otherwise the scheme is the
/// connection's own (`https` on `--https-listen`, where the accept loop marks every request
/// with [`TlsConnection`]) and the host the request's `Host` (on TLS without one, the name
/// the client asked for in the handshake).
pub fn origin(headers: &HeaderMap, tls: Option<&TlsConnection>) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    // `Forwarded: for=192.0.2.1;proto=https;host=api.hubapi.com, for=…`: the first hop
    // is the client's.
    let forwarded = |key: &str| {
        let first = header("forwarded")?.split(',').next()?;
        first.split(';').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(key)
                .then(|| v.trim().trim_matches('"').to_owned())
                .filter(|v| !v.is_empty())
        })
    };
    // A list of hops (`https, http`): the first is the client's.
    let first_hop = |v: &str| v.split(',').next().unwrap_or("").trim().to_owned();
    let scheme = forwarded("proto")
        .or_else(|| header("x-forwarded-proto").map(first_hop))
        .filter(|s| s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("http"))
        .map_or_else(
            || if tls.is_some() { "https" } else { "http" }.to_owned(),
            |s| s.to_ascii_lowercase(),
        );
    let host = forwarded("host")
        .or_else(|| header("x-forwarded-host").map(first_hop))
        .or_else(|| header("host").map(str::to_owned))
        .or_else(|| tls.and_then(|t| t.server_name.as_deref().map(str::to_owned)))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{scheme}://{host}")
}

/// [`origin`] as an extractor, for handlers that write absolute links.
pub struct Origin(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(origin(&parts.headers, parts.extensions.get())))
    }
}

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(
            raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default(),
        )
    }

    pub fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All values of an array parameter; `None` when the key is absent.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        let mut found = false;
        let mut out = Vec::new();
        for (_, v) in self.0.iter().filter(|(k, _)| k == key) {
            found = true;
            out.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
        }
        found.then_some(out)
    }

    pub fn bool(&self, key: &str) -> ApiResult<bool> {
        match self.one(key) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") || v.is_empty() => Ok(false),
            Some(v) => Err(ApiError::validation(format!(
                "Invalid value for query parameter {key}: {v} is not a boolean"
            ))),
        }
    }

    pub fn usize(&self, key: &str) -> ApiResult<Option<usize>> {
        match self.one(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::validation(format!(
                    "Invalid value for query parameter {key}: {v} is not a valid integer"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_repeated_or_comma_separated() {
        let q = QueryParams::parse(Some("properties=a,b&properties=c&archived=False"));
        assert_eq!(
            q.list("properties"),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(q.list("missing"), None);
        assert_eq!(q.bool("archived").ok(), Some(false));
        assert!(QueryParams::parse(Some("archived=TRUE"))
            .bool("archived")
            .is_ok_and(|b| b));
        assert!(QueryParams::parse(Some("archived=maybe"))
            .bool("archived")
            .is_err());
    }

    #[test]
    fn nul_escapes_are_found_and_placed() {
        let at = |body: &str| nul_in_json(body.as_bytes());
        assert_eq!(
            at(r#"{"inputs":[{"properties":{"a":"x","firstname":"a\u0000b"}}]}"#).as_deref(),
            Some("the string at inputs[0].properties.firstname")
        );
        assert_eq!(at(r#"{"a":"\\u0000"}"#), None);
        assert_eq!(
            at(r#"{"a":"\\\u0000"}"#).as_deref(),
            Some("the string at a")
        );
        assert_eq!(at(r#"{"a":"\u00001"}"#).as_deref(), Some("the string at a"));
        assert_eq!(at(r#"{"a":"\u0001"}"#), None);
        assert_eq!(at(r#"{"p":{"x\u0000":1}}"#).as_deref(), Some("a key in p"));
        assert_eq!(at(r#"["\u0000"]"#).as_deref(), Some("the string at [0]"));
        assert!(parse_body::<serde_json::Value>(br#"{"a":"\u0000"}"#).is_err());
    }

    #[test]
    fn nul_in_the_url_is_refused() {
        let uri = |s: &str| s.parse::<axum::http::Uri>().unwrap();
        assert!(nul_in_uri(&uri("/crm/v3/objects/contacts/1%00")).is_some());
        assert!(nul_in_uri(&uri("/crm/v3/objects/contacts/1?idProperty=a%00")).is_some());
        assert!(nul_in_uri(&uri("/crm/v3/objects/contacts/1%2500?x=%2500")).is_none());
        assert!(nul_in_uri(&uri("/crm/v3/objects/contacts?properties=a,b")).is_none());
    }

    #[test]
    fn links_go_back_to_the_origin_the_client_called() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.append(*k, HeaderValue::from_static(v));
            }
            h
        };
        assert_eq!(
            origin(&headers(&[("host", "localhost:8080")]), None),
            "http://localhost:8080"
        );
        assert_eq!(origin(&headers(&[]), None), "http://localhost");
        let proxied = headers(&[
            ("host", "10.0.0.5:8080"),
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-host", "api.hubapi.com"),
        ]);
        assert_eq!(origin(&proxied, None), "https://api.hubapi.com");
        let rfc = headers(&[
            ("host", "10.0.0.5:8080"),
            (
                "forwarded",
                "for=192.0.2.1;Proto=HTTPS;host=\"api.hubapi.com\", proto=http",
            ),
            ("x-forwarded-proto", "http"),
        ]);
        assert_eq!(origin(&rfc, None), "https://api.hubapi.com");
        let only_proto = headers(&[("host", "api.hubapi.com"), ("x-forwarded-proto", "https")]);
        assert_eq!(origin(&only_proto, None), "https://api.hubapi.com");
        // A scheme that is no web scheme is not taken.
        let odd = headers(&[("host", "h"), ("x-forwarded-proto", "javascript")]);
        assert_eq!(origin(&odd, None), "http://h");
        // On spoke's own TLS listener the scheme is the connection's; a proxy's headers
        // still describe the client's hop.
        let tls = TlsConnection {
            server_name: Some("api.hubapi.com".into()),
        };
        let direct = headers(&[("host", "api.hubapi.com")]);
        assert_eq!(origin(&direct, Some(&tls)), "https://api.hubapi.com");
        assert_eq!(origin(&headers(&[]), Some(&tls)), "https://api.hubapi.com");
        assert_eq!(origin(&proxied, Some(&tls)), "https://api.hubapi.com");
        let downgraded = headers(&[("host", "h:1"), ("x-forwarded-proto", "http")]);
        assert_eq!(origin(&downgraded, Some(&tls)), "http://h:1");
        assert_eq!(
            next_link(
                "https://api.hubapi.com",
                "/crm/v3/objects/contacts",
                Some("limit=2&after=5"),
                "9"
            ),
            "https://api.hubapi.com/crm/v3/objects/contacts?limit=2&after=9"
        );
        assert_eq!(
            next_link("localhost:1", "/p", None, "9"),
            "http://localhost:1/p?after=9"
        );
    }

    #[test]
    fn bad_json_names_its_position() {
        let e = parse_body::<serde_json::Value>(b"{\"a\": }").err();
        assert!(e.is_some_and(|e| e
            .message
            .starts_with("Invalid input JSON on line 1, column 7")));
    }
}
