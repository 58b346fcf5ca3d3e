//! OAuth 2.0 (hubspot-behavior-apps.md §41): the consent page and its form, the token
//! endpoints with HubSpot's error bodies, metadata, introspection, revocation, expiry on
//! any API, and portal isolation of OAuth tokens.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use spoke_core::time::now_millis;
use spoke_core::PortalId;
use spoke_store::oauth::{self, AppRecord, AppSecrets, AppSpec, GrantKind, GrantRecord};
use spoke_store::sealed::{SecretKey, KEY_FILE};

use crate::harness::TestApp;

const REDIRECT: &str = "http://localhost:9999/callback";
const CONTACTS_READ: &str = "crm.objects.contacts.read";
const CONTACTS_WRITE: &str = "crm.objects.contacts.write";

pub(crate) struct OAuthApp {
    pub(crate) app: AppRecord,
    pub(crate) secrets: AppSecrets,
}

pub(crate) async fn register(t: &TestApp, name: &str) -> OAuthApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::load_or_create(&dir.path().join(KEY_FILE)).expect("key");
    let spec = AppSpec {
        name: name.into(),
        redirect_uris: vec![REDIRECT.into(), "https://example.test/cb?x=1".into()],
        scopes: vec![CONTACTS_READ.into(), CONTACTS_WRITE.into()],
        optional_scopes: vec!["tickets".into()],
    };
    let (app, secrets) = oauth::create_app(t.store.as_ref(), &key, spec, now_millis())
        .await
        .expect("create_app");
    OAuthApp { app, secrets }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn authorize_query(app: &OAuthApp, state: &str) -> String {
    format!(
        "client_id={}&redirect_uri={}&scope={}%20{}&optional_scope=tickets&state={}",
        enc(&app.app.client_id),
        enc(REDIRECT),
        CONTACTS_READ,
        CONTACTS_WRITE,
        enc(state)
    )
}

/// The value of an `<input name=NAME value=...>` in a page (values are escaped by spoke;
/// the ones read here hold no escapes).
fn input_value(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &page[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// Walks the consent page as a browser would: GET, then POST the form with its cookie.
/// Returns the redirect's `Location`.
pub(crate) async fn consent(t: &TestApp, app: &OAuthApp, portal: i64, state: &str) -> String {
    let http = no_redirects();
    let page = http
        .get(format!(
            "{}/oauth/authorize?{}",
            t.base,
            authorize_query(app, state)
        ))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    let html = page.text().await.expect("html");
    let mut form: Vec<(String, String)> = [
        "client_id",
        "redirect_uri",
        "scope",
        "optional_scope",
        "state",
        "csrf",
    ]
    .iter()
    .map(|n| ((*n).to_owned(), input_value(&html, n).unwrap_or_default()))
    .collect();
    form.push(("portal".into(), portal.to_string()));
    form.push(("decision".into(), "approve".into()));
    let res = http
        .post(format!("{}/oauth/authorize", t.base))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FOUND, "approval redirects");
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned()
}

pub(crate) fn query_param(url: &str, key: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn post_form(t: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let (status, text) = post_form_text(t, path, form).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn post_form_text(t: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let res = t
        .http
        .post(format!("{}{path}", t.base))
        .form(form)
        .send()
        .await
        .expect("post");
    let status = res.status();
    (status, res.text().await.expect("text"))
}

/// The top-level keys of a JSON object as sent, in order.
fn key_order(text: &str, keys: &[&str]) -> Vec<usize> {
    keys.iter()
        .map(|k| text.find(&format!("\"{k}\":")).unwrap_or(usize::MAX))
        .collect()
}

pub(crate) async fn exchange(t: &TestApp, app: &OAuthApp, code: &str) -> (StatusCode, Value) {
    post_form(
        t,
        "/oauth/v1/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &app.app.client_id),
            ("client_secret", &app.secrets.client_secret),
            ("redirect_uri", REDIRECT),
            ("code", code),
        ],
    )
    .await
}

fn assert_oauth_error(answer: &(StatusCode, Value), status: &str, error: &str, message: &str) {
    assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{:?}", answer.1);
    let body = &answer.1;
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["message"], message, "{body}");
    assert_eq!(body["error_description"], message, "{body}");
    assert!(body["correlationId"]
        .as_str()
        .is_some_and(|c| c.len() == 36));
}

#[tokio::test]
async fn the_consent_flow_gives_tokens_that_work_on_the_crm_of_the_chosen_portal() {
    let t = TestApp::spawn().await;
    let other = t.token(77, &["all"]).await;
    let theirs = t
        .post(
            &other,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "b@x.test"}}),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED);
    let app = register(&t, "Sync <Tool>").await;
    // The portal to connect exists already (made by a token), so the page lists it.
    t.token(76, &[CONTACTS_READ]).await;

    let location = consent(&t, &app, 76, "st ate/1").await;
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=na1-")),
        "{location}"
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("st ate/1"));
    let code = query_param(&location, "code").expect("code");

    let (status, text) = post_form_text(
        &t,
        "/oauth/v1/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &app.app.client_id),
            ("client_secret", &app.secrets.client_secret),
            ("redirect_uri", REDIRECT),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let order = key_order(
        &text,
        &[
            "token_type",
            "refresh_token",
            "access_token",
            "hub_id",
            "scopes",
            "expires_in",
        ],
    );
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "the v3 guide's key order: {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1800);
    assert_eq!(body["hub_id"], 76);
    assert_eq!(
        body["scopes"],
        json!([CONTACTS_READ, CONTACTS_WRITE, "tickets", "oauth"])
    );
    let access = body["access_token"].as_str().expect("access").to_owned();
    let refresh = body["refresh_token"].as_str().expect("refresh").to_owned();

    // The code works once.
    assert_oauth_error(
        &exchange(&t, &app, &code).await,
        "BAD_AUTH_CODE",
        "invalid_grant",
        "missing or unknown auth code",
    );

    // The access token is a bearer token of portal 76 with the granted scopes.
    let created = t
        .post(
            &access,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "a@x.test"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let read = t
        .get(&access, &format!("/crm/v3/objects/contacts/{id}"))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let list = t.get(&access, "/crm/v3/objects/contacts").await;
    assert_eq!(
        list.body["results"].as_array().map(Vec::len),
        Some(1),
        "only portal 76's"
    );
    let foreign = theirs.body["id"].as_str().expect("id");
    let cross = t
        .get(&access, &format!("/crm/v3/objects/contacts/{foreign}"))
        .await;
    assert_eq!(
        cross.status,
        StatusCode::NOT_FOUND,
        "another portal's record does not exist"
    );
    let denied = t.get(&access, "/crm/v3/objects/deals").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.body["category"], "MISSING_SCOPES");

    // Refreshing keeps the refresh token and makes a new access token.
    let (status, body) = post_form(
        &t,
        "/oauth/v1/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &app.app.client_id),
            ("client_secret", &app.secrets.client_secret),
            ("redirect_uri", REDIRECT),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["refresh_token"], refresh.as_str());
    assert_ne!(body["access_token"], access.as_str());

    // Metadata, without an Authorization header.
    let info = t
        .call(
            Method::GET,
            None,
            &format!("/oauth/v1/access-tokens/{access}"),
            None,
        )
        .await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text);
    assert_eq!(info.body["token"], access.as_str());
    assert_eq!(info.body["hub_id"], 76);
    assert_eq!(info.body["app_id"], app.app.id);
    assert_eq!(info.body["token_type"], "access");
    assert_eq!(info.body["user"], "owner@portal76.spoke.test");
    assert_eq!(info.body["hub_domain"], "portal76.spoke.test");
    assert!(info.body["user_id"].as_i64().is_some_and(|u| u > 0));
    let left = info.body["expires_in"].as_i64().expect("expires_in");
    assert!((1790..=1800).contains(&left), "remaining lifetime: {left}");
    assert_eq!(
        info.body["scopes"],
        json!([CONTACTS_READ, CONTACTS_WRITE, "tickets", "oauth"])
    );
    let rinfo = t
        .call(
            Method::GET,
            None,
            &format!("/oauth/v1/refresh-tokens/{refresh}"),
            None,
        )
        .await;
    assert_eq!(rinfo.status, StatusCode::OK, "{}", rinfo.text);
    assert_eq!(rinfo.body["client_id"], app.app.client_id.as_str());
    assert_eq!(rinfo.body["token_type"], "refresh");
    assert_eq!(rinfo.body["hub_id"], 76);

    // Deleting the refresh token: 204, refreshes fail, access tokens keep working.
    let gone = t
        .call(
            Method::DELETE,
            None,
            &format!("/oauth/v1/refresh-tokens/{refresh}"),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let again = t
        .call(
            Method::DELETE,
            None,
            &format!("/oauth/v1/refresh-tokens/{refresh}"),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.body["status"], "BAD_REFRESH_TOKEN");
    assert_oauth_error(
        &post_form(
            &t,
            "/oauth/v1/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &app.app.client_id),
                ("client_secret", &app.secrets.client_secret),
                ("refresh_token", &refresh),
            ],
        )
        .await,
        "BAD_REFRESH_TOKEN",
        "invalid_grant",
        "refresh token is invalid, expired or revoked",
    );
    assert_eq!(
        t.get(&access, "/crm/v3/objects/contacts").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn token_errors_are_hubspots() {
    let t = TestApp::spawn().await;
    let app = register(&t, "A").await;
    let stranger = register(&t, "B").await;
    let (id, secret) = (
        app.app.client_id.as_str(),
        app.secrets.client_secret.as_str(),
    );
    let code = || async {
        let location = consent(&t, &app, 5, "s").await;
        query_param(&location, "code").expect("code")
    };

    // client_credentials is a grant now (the webhooks journal's app tokens, tests in
    // journal.rs); it still needs the client's credentials.
    for form in [vec![], vec![("grant_type", "password")]] {
        assert_oauth_error(
            &post_form(&t, "/oauth/v1/token", &form).await,
            "BAD_GRANT_TYPE",
            "unsupported_grant_type",
            "grant_type must be authorization_code, refresh_token or client_credentials",
        );
    }
    assert_oauth_error(
        &post_form(
            &t,
            "/oauth/v1/token",
            &[("grant_type", "client_credentials"), ("client_id", id)],
        )
        .await,
        "BAD_CLIENT_SECRET",
        "invalid_client",
        "missing or invalid client secret",
    );
    assert_oauth_error(
        &post_form(
            &t,
            "/oauth/v1/token",
            &[("grant_type", "authorization_code"), ("client_id", "nope")],
        )
        .await,
        "BAD_CLIENT_ID",
        "invalid_client",
        "missing or unknown client id",
    );
    assert_oauth_error(
        &post_form(
            &t,
            "/oauth/v1/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", id),
                ("client_secret", &stranger.secrets.client_secret),
            ],
        )
        .await,
        "BAD_CLIENT_SECRET",
        "invalid_client",
        "missing or invalid client secret",
    );
    // Credentials go in the form: HTTP Basic alone is not read.
    let basic = t
        .http
        .post(format!("{}/oauth/v1/token", t.base))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "na1-x")])
        .send()
        .await
        .expect("post");
    assert_eq!(basic.status(), StatusCode::BAD_REQUEST);
    let basic: Value = basic.json().await.expect("json");
    assert_eq!(basic["status"], "BAD_CLIENT_ID");
    assert_oauth_error(
        &exchange(&t, &app, "na1-0000-not-a-code").await,
        "BAD_AUTH_CODE",
        "invalid_grant",
        "missing or unknown auth code",
    );
    // A code presented by another app does not work, and is not used up by trying.
    let c = code().await;
    assert_oauth_error(
        &exchange(&t, &stranger, &c).await,
        "BAD_AUTH_CODE",
        "invalid_grant",
        "missing or unknown auth code",
    );
    let c2 = code().await;
    assert_oauth_error(
        &post_form(
            &t,
            "/oauth/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", id),
                ("client_secret", secret),
                ("redirect_uri", "https://example.test/cb?x=1"),
                ("code", &c2),
            ],
        )
        .await,
        "BAD_REDIRECT_URI",
        "invalid_grant",
        "redirect_uri does not match the redirect_uri the auth code was issued for",
    );
    let (status, _) = exchange(&t, &app, &c).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the code survived the other app's attempt"
    );

    // An expired code.
    let grant = oauth::check_authorization(
        t.store.as_ref(),
        Some(id),
        Some(REDIRECT),
        Some(&format!("{CONTACTS_READ} {CONTACTS_WRITE}")),
        None,
    )
    .await
    .expect("check")
    .expect("valid");
    let old = now_millis() - oauth::CODE_SECONDS * 1000 - 1;
    let stale = oauth::issue_code(t.store.as_ref(), &grant, PortalId(5), old)
        .await
        .expect("code");
    assert_oauth_error(
        &exchange(&t, &app, &stale).await,
        "EXPIRED_AUTH_CODE",
        "invalid_grant",
        "auth code is expired",
    );

    // A refresh token of another app.
    let (_, body) = exchange(&t, &app, &code().await).await;
    let refresh = body["refresh_token"].as_str().expect("refresh").to_owned();
    assert_oauth_error(
        &post_form(
            &t,
            "/oauth/v1/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &stranger.app.client_id),
                ("client_secret", &stranger.secrets.client_secret),
                ("refresh_token", &refresh),
            ],
        )
        .await,
        "BAD_REFRESH_TOKEN",
        "invalid_grant",
        "refresh token was not issued to this client",
    );
    // The v3 and dated paths: same grants, `token_use` added; the legacy query parameters.
    for path in [
        "/oauth/v3/token",
        "/oauth/2026-03/token",
        "/oauth/2026-09/token",
    ] {
        let (status, body) = post_form(
            &t,
            path,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", id),
                ("client_secret", secret),
                ("refresh_token", &refresh),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["token_use"], "access_token");
    }
    let res = t
        .http
        .post(format!(
            "{}/oauth/v1/token?client_secret={}&refresh_token={}",
            t.base,
            enc(secret),
            enc(&refresh)
        ))
        .form(&[("grant_type", "refresh_token"), ("client_id", id)])
        .send()
        .await
        .expect("post");
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "v1 takes the secret in the query too"
    );
}

#[tokio::test]
async fn introspection_and_revocation() {
    let t = TestApp::spawn().await;
    let app = register(&t, "A").await;
    let stranger = register(&t, "B").await;
    let location = consent(&t, &app, 9, "s").await;
    let (_, tokens) = exchange(&t, &app, &query_param(&location, "code").expect("code")).await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let (id, secret) = (
        app.app.client_id.as_str(),
        app.secrets.client_secret.as_str(),
    );

    let (status, body) = post_form(
        &t,
        "/oauth/v3/token/introspect",
        &[
            ("client_id", id),
            ("client_secret", secret),
            ("token", &access),
            ("token_type_hint", "access_token"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(body["token_use"], "access_token");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["hub_id"], 9);
    assert_eq!(body["app_id"], app.app.id);
    assert!(body["expires_in"].as_i64().is_some());
    let (_, body) = post_form(
        &t,
        "/oauth/2026-03/token/introspect",
        &[
            ("client_id", id),
            ("client_secret", secret),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(body["token_use"], "refresh_token");
    assert!(body.get("expires_in").is_none(), "{body}");
    // Another app's client learns nothing about the token.
    let (_, body) = post_form(
        &t,
        "/oauth/v3/token/introspect",
        &[
            ("client_id", &stranger.app.client_id),
            ("client_secret", &stranger.secrets.client_secret),
            ("token", &access),
        ],
    )
    .await;
    assert_eq!(body, json!({"active": false}));
    assert_oauth_error(
        &post_form(
            &t,
            "/oauth/v3/token/introspect",
            &[("client_id", id), ("client_secret", secret)],
        )
        .await,
        "BAD_REQUEST",
        "invalid_request",
        "missing token",
    );
    assert_oauth_error(
        &post_form(
            &t,
            "/oauth/v3/token/introspect",
            &[("client_id", id), ("token", &access)],
        )
        .await,
        "BAD_CLIENT_SECRET",
        "invalid_client",
        "missing or invalid client secret",
    );

    // Revocation: another app's revocation does nothing; the app's own ends the token.
    for (cid, csecret) in [
        (
            stranger.app.client_id.as_str(),
            stranger.secrets.client_secret.as_str(),
        ),
        (id, secret),
    ] {
        let (status, body) = post_form(
            &t,
            "/oauth/v3/token/revoke",
            &[
                ("client_id", cid),
                ("client_secret", csecret),
                ("token", &refresh),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
        assert_eq!((status, body), (StatusCode::OK, Value::Null));
        let info = t
            .call(
                Method::GET,
                None,
                &format!("/oauth/v1/refresh-tokens/{refresh}"),
                None,
            )
            .await;
        let alive = cid != id;
        assert_eq!(info.status == StatusCode::OK, alive, "{}", info.text);
    }
    let (status, _) = post_form(
        &t,
        "/oauth/v3/token/revoke",
        &[
            ("client_id", id),
            ("client_secret", secret),
            ("token", &access),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let after = t.get(&access, "/crm/v3/objects/contacts").await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "a revoked access token"
    );
    assert_eq!(after.body["category"], "INVALID_AUTHENTICATION");
}

#[tokio::test]
async fn an_expired_access_token_gets_expired_authentication_on_any_api() {
    let t = TestApp::spawn().await;
    let app = register(&t, "A").await;
    let now = now_millis();
    let secret = "CEXPIREDTOKENFORTHETEST0123456789abcdef";
    let expired_at = now - 3 * 3600 * 1000 - 5000;
    t.store
        .ensure_portal(PortalId(3), now)
        .await
        .expect("portal");
    t.store
        .insert_grant(
            GrantKind::Access,
            GrantRecord {
                hash: spoke_store::tokens::hash(secret),
                app_id: app.app.id,
                portal: PortalId(3),
                scopes: vec![CONTACTS_READ.into(), "oauth".into()],
                created_at: expired_at - 1_800_000,
                expires_at: Some(expired_at),
                redirect_uri: None,
                used_at: None,
            },
            0,
        )
        .await
        .expect("insert");
    for path in [
        "/crm/v3/objects/contacts",
        "/crm/v3/owners",
        "/account-info/v3/details",
        "/crm/v3/lists",
    ] {
        let a = t.get(secret, path).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(a.body["status"], "error");
        assert_eq!(
            a.body["category"], "EXPIRED_AUTHENTICATION",
            "{path}: {}",
            a.text
        );
        assert_eq!(
            a.body["message"],
            "The OAuth token used to make this call expired 3 hour(s) ago."
        );
        assert_eq!(
            a.body["context"]["expire time"],
            json!([spoke_core::time::format_iso(expired_at)])
        );
    }
    let info = t
        .call(
            Method::GET,
            None,
            &format!("/oauth/v1/access-tokens/{secret}"),
            None,
        )
        .await;
    assert_eq!(info.status, StatusCode::BAD_REQUEST);
    assert_eq!(info.body["status"], "BAD_ACCESS_TOKEN");
}

#[tokio::test]
async fn the_consent_page_refuses_bad_requests_and_forged_posts() {
    let t = TestApp::spawn().await;
    let app = register(&t, "A").await;
    let http = no_redirects();
    let page = |query: String| {
        let http = http.clone();
        let url = format!("{}/oauth/authorize?{query}", t.base);
        async move {
            let res = http.get(url).send().await.expect("page");
            let status = res.status();
            let ct = res.headers().get("content-type").cloned();
            (status, ct, res.text().await.expect("text"))
        }
    };
    let cid = enc(&app.app.client_id);
    let cases = [
        (String::new(), "<code>client_id</code> parameter is missing"),
        ("client_id=nope&redirect_uri=x&scope=a".to_owned(), "no app has the client id <code>nope</code>"),
        (
            format!("client_id={cid}&redirect_uri={}&scope={CONTACTS_READ}", enc("http://localhost:1/<x>")),
            "Authorization failed as the redirect URL 'http://localhost:1/&lt;x&gt;' doesn't match the app's registered redirect URL",
        ),
        (format!("client_id={cid}&redirect_uri={}", enc(REDIRECT)), "<code>scope</code> parameter is missing"),
        (
            format!("client_id={cid}&redirect_uri={}&scope={CONTACTS_READ}", enc(REDIRECT)),
            "leaves out scopes the app requires: <code>crm.objects.contacts.write</code>",
        ),
        (
            format!("client_id={cid}&redirect_uri={}&scope={CONTACTS_READ}+{CONTACTS_WRITE}&optional_scope=e-commerce", enc(REDIRECT)),
            "did not register these scopes: <code>e-commerce</code>",
        ),
    ];
    for (query, says) in cases {
        let (status, ct, text) = page(query.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(ct.is_some_and(|c| c.to_str().is_ok_and(|c| c.starts_with("text/html"))));
        assert!(text.contains(says), "{query}: {text}");
    }
    // `+` and `%20` both separate scopes.
    let (status, _, text) = page(format!(
        "client_id={cid}&redirect_uri={}&scope={CONTACTS_READ}+{CONTACTS_WRITE}&state=%3Cb%3E",
        enc(REDIRECT)
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("value=\"&lt;b&gt;\""), "state is escaped");
    assert!(!text.contains("<script"), "no script on the page");

    // A post without the page's cookie, or with another value, is refused.
    let form = [
        ("client_id", app.app.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        (
            "scope",
            "crm.objects.contacts.read crm.objects.contacts.write",
        ),
        ("portal", "5"),
        ("decision", "approve"),
        ("csrf", "0123456789abcdef0123456789abcdef"),
    ];
    for cookie in [
        None,
        Some("spoke_oauth_csrf=fedcba9876543210fedcba9876543210"),
    ] {
        let mut req = http.post(format!("{}/oauth/authorize", t.base)).form(&form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let res = req.send().await.expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{cookie:?}");
        assert!(res.headers().get("location").is_none());
    }
    // Cancelling sends nothing to the app.
    let deny = [
        ("client_id", app.app.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        (
            "scope",
            "crm.objects.contacts.read crm.objects.contacts.write",
        ),
        ("portal", "5"),
        ("decision", "deny"),
        ("csrf", "0123456789abcdef0123456789abcdef"),
    ];
    let res = http
        .post(format!("{}/oauth/authorize", t.base))
        .header(
            "cookie",
            "spoke_oauth_csrf=0123456789abcdef0123456789abcdef",
        )
        .form(&deny)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("location").is_none());
    assert!(res.text().await.expect("text").contains("id=\"denied\""));
}

/// Bad input to every OAuth endpoint gets an answer, never a 5xx: junk forms, junk paths,
/// wrong methods.
#[tokio::test]
async fn bad_input_to_every_oauth_endpoint_is_refused_without_a_server_error() {
    let t = TestApp::spawn().await;
    let app = register(&t, "A").await;
    let posts = [
        "/oauth/v1/token",
        "/oauth/v3/token",
        "/oauth/2026-03/token",
        "/oauth/v3/token/introspect",
        "/oauth/2026-09/token/introspect",
        "/oauth/v3/token/revoke",
        "/oauth/2026-03/token/revoke",
        "/oauth/authorize",
    ];
    let bodies: [&[u8]; 8] = [
        b"",
        b"{\"grant_type\":\"refresh_token\"}",
        b"grant_type=%ZZ&client_id=%00",
        b"\xff\xfe\x00garbage=\xc3",
        b"grant_type=authorization_code&grant_type=refresh_token&client_id=",
        b"token=&token_type_hint=refresh_token&client_id=x&client_secret=y",
        b"decision=approve&portal=-1&csrf=",
        b"a=b&&&==&c",
    ];
    let cid = app.app.client_id.clone();
    for path in posts {
        for body in bodies {
            for extra in [
                "",
                "?client_id=%ff",
                &format!("?client_id={cid}&client_secret=x"),
            ] {
                let res = t
                    .http
                    .post(format!("{}{path}{extra}", t.base))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.to_vec())
                    .send()
                    .await
                    .expect("post");
                let status = res.status();
                assert!(status.is_client_error(), "{path}{extra} {body:?}: {status}");
            }
        }
    }
    for token in [
        "x",
        "%ff%fe",
        "C",
        &"C".repeat(400),
        "pat-na1-x",
        "na1-0000",
    ] {
        for path in ["/oauth/v1/access-tokens/", "/oauth/v1/refresh-tokens/"] {
            for method in [Method::GET, Method::DELETE, Method::PUT] {
                let res = t
                    .http
                    .request(method.clone(), format!("{}{path}{token}", t.base))
                    .send()
                    .await
                    .expect("send");
                assert!(
                    res.status().is_client_error(),
                    "{method} {path}{token}: {}",
                    res.status()
                );
            }
        }
    }
    for query in [
        "%ff=%fe",
        "client_id=%00",
        "scope=&scope=",
        "client_id=a&client_id=b",
    ] {
        let res = t
            .http
            .get(format!("{}/oauth/authorize?{query}", t.base))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
    }
}

/// Every operation of HubSpot's OAuth specs is served (with an unknown token or client: its
/// OAuth error, not the 404 of a path spoke does not have).
#[tokio::test]
async fn every_operation_of_hubspots_oauth_specs_is_served() {
    let dir = match std::env::var("SPOKE_HUBSPOT_SPEC_DIR") {
        Ok(d) if !d.is_empty() => std::path::PathBuf::from(d),
        _ => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/hubspot-openapi"),
    };
    if !dir.is_dir() {
        eprintln!("SKIPPED OAuth routes vs specs: no spec directory (SPOKE_HUBSPOT_SPEC_DIR)");
        return;
    }
    let t = TestApp::spawn().await;
    let mut seen = 0;
    for file in ["oauth-v1.json", "oauth-v3.json", "oauth-2026-03.json"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("spec file");
        let spec: Value = serde_json::from_str(&text).expect("spec JSON");
        for (path, item) in spec["paths"].as_object().expect("paths") {
            for method in ["get", "post", "delete"] {
                if item.get(method).is_none() {
                    continue;
                }
                seen += 1;
                let concrete = path.replace("{token}", "na1-0000");
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                let res = t
                    .http
                    .request(method.clone(), format!("{}{concrete}", t.base))
                    .form(&[("grant_type", "refresh_token"), ("client_id", "nope")])
                    .send()
                    .await
                    .expect("send");
                let status = res.status();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {body}");
                assert!(
                    body["error"].is_string() && body["status"].is_string(),
                    "{method} {path}: {body}"
                );
            }
        }
    }
    assert_eq!(seen, 10, "the OAuth specs' operations");
}
