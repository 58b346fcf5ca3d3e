//! OAuth 2.0 as HubSpot runs it, minus HTTP: apps, authorization codes, refresh tokens and
//! short-lived access tokens, and the rules of each grant. The server's token endpoints,
//! its consent page and the `spoke app`/`spoke oauth` commands all go through here.
//!
//! Codes and tokens are shown once and stored as their hash ([`crate::tokens::hash`], as
//! private-app tokens are). An app's client secret is stored hashed (to check it) and
//! sealed ([`crate::sealed`], to sign webhooks with it later); so is its developer API key.
//!
//! Lifetimes: an access token lives [`ACCESS_TOKEN_SECONDS`] (HubSpot's `expires_in`); a
//! refresh token until it is deleted or its app is; an authorization code
//! [`CODE_SECONDS`] and is good for one exchange.

use async_trait::async_trait;
use spoke_core::time::Millis;
use spoke_core::PortalId;

use crate::columns::{join_scopes, Columns};
use crate::sealed::{SealError, SecretKey};
use crate::tokens::hash;
use crate::{StoreError, StoreResult, TokenStore, WebhookStore};

/// HubSpot's access token lifetime (`expires_in`: 1800 since its November change).
pub const ACCESS_TOKEN_SECONDS: i64 = 1800;
/// How long an authorization code may wait for its exchange. HubSpot publishes none ("a
/// short window"); ten minutes is RFC 6749's recommended maximum (docs/compatibility.md).
pub const CODE_SECONDS: i64 = 600;
/// How long an expired access token is kept, so it is answered as expired rather than as
/// unknown; older ones are removed when new ones are issued.
pub const EXPIRED_KEPT_SECONDS: i64 = 7 * 24 * 3600;

/// The purposes sealed secrets are bound to (see [`crate::sealed`]).
pub const CLIENT_SECRET: &str = "client_secret";
pub const DEVELOPER_API_KEY: &str = "developer_api_key";

/// A registered app. Its secrets are here only as hashes and sealed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    pub id: i64,
    pub name: String,
    pub client_id: String,
    pub client_secret_hash: String,
    pub client_secret_sealed: String,
    pub developer_api_key_hash: String,
    pub developer_api_key_sealed: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub optional_scopes: Vec<String>,
    pub created_at: Millis,
}

/// What [`OAuthStore::insert_app`] writes; the store assigns the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApp {
    pub name: String,
    pub client_id: String,
    pub client_secret_hash: String,
    pub client_secret_sealed: String,
    pub developer_api_key_hash: String,
    pub developer_api_key_sealed: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub optional_scopes: Vec<String>,
    pub created_at: Millis,
}

/// How an app is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppLookup {
    Id(i64),
    ClientId(String),
    /// The hash of a developer API key (`?hapikey=`).
    ApiKeyHash(String),
}

/// A grant in flight or in force: an authorization code, a refresh token or an access
/// token, by the hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub hash: String,
    pub app_id: i64,
    pub portal: PortalId,
    pub scopes: Vec<String>,
    pub created_at: Millis,
    /// Codes and access tokens; `None` for refresh tokens.
    pub expires_at: Option<Millis>,
    /// Codes: the redirect URI the code was made for (the exchange must repeat it).
    pub redirect_uri: Option<String>,
    /// Codes: when the code was exchanged.
    pub used_at: Option<Millis>,
}

/// The three kinds of grant, each its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantKind {
    Code,
    Refresh,
    Access,
}

impl GrantKind {
    pub fn table(self) -> &'static str {
        match self {
            Self::Code => "oauth_codes",
            Self::Refresh => "oauth_refresh_tokens",
            Self::Access => "oauth_access_tokens",
        }
    }

    /// The table's columns as [`grant_row`] reads them.
    pub fn columns(self) -> &'static str {
        match self {
            Self::Code => {
                "code_hash, app_id, portal_id, scopes, created_at, expires_at, redirect_uri, used_at"
            }
            // Typed NULLs: PostgreSQL would type a bare NULL as text.
            Self::Refresh => {
                "token_hash, app_id, portal_id, scopes, created_at, CAST(NULL AS BIGINT), \
                 CAST(NULL AS TEXT), CAST(NULL AS BIGINT)"
            }
            Self::Access => {
                "token_hash, app_id, portal_id, scopes, created_at, expires_at, \
                 CAST(NULL AS TEXT), CAST(NULL AS BIGINT)"
            }
        }
    }

    /// The key column.
    pub fn key(self) -> &'static str {
        match self {
            Self::Code => "code_hash",
            Self::Refresh | Self::Access => "token_hash",
        }
    }
}

/// What [`OAuthStore::use_code`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    Unknown,
    /// Exchanged before (now or earlier, by another request).
    AlreadyUsed(GrantRecord),
    /// Marked used by this call.
    Fresh(GrantRecord),
}

#[async_trait]
pub trait OAuthStore: Send + Sync {
    async fn insert_app(&self, app: NewApp) -> StoreResult<AppRecord>;
    async fn find_app(&self, lookup: AppLookup) -> StoreResult<Option<AppRecord>>;
    /// Every app, by id.
    async fn list_apps(&self) -> StoreResult<Vec<AppRecord>>;
    /// Removes the app with every code and token issued to it, in one transaction (an
    /// uninstall everywhere). False if there is no such app.
    async fn delete_app(&self, id: i64) -> StoreResult<bool>;
    /// Writes a code or token; an access token write also removes the access tokens of
    /// the same portal that expired before `purge_before` (the portal's time: another
    /// portal's clock may be elsewhere).
    async fn insert_grant(
        &self,
        kind: GrantKind,
        grant: GrantRecord,
        purge_before: Millis,
    ) -> StoreResult<()>;
    async fn find_grant(&self, kind: GrantKind, hash: &str) -> StoreResult<Option<GrantRecord>>;
    /// Deletes a code or token. False if there was none.
    async fn delete_grant(&self, kind: GrantKind, hash: &str) -> StoreResult<bool>;
    /// Marks a code used at `now` unless it already was, atomically: of two exchanges of
    /// one code, at most one sees [`CodeUse::Fresh`].
    async fn use_code(&self, hash: &str, now: Millis) -> StoreResult<CodeUse>;
}

/// `oauth_apps` columns, as [`app_row`] reads them.
pub const APP_COLUMNS: &str = "id, name, client_id, client_secret_hash, client_secret_sealed, \
     developer_api_key_hash, developer_api_key_sealed, redirect_uris, scopes, optional_scopes, \
     created_at";

/// A row of [`APP_COLUMNS`]. A redirect URI list that is not a JSON array of strings reads
/// as empty (no redirect then matches), rather than failing every lookup of the app.
pub fn app_row<C: Columns>(r: &C) -> Result<AppRecord, C::Error> {
    Ok(AppRecord {
        id: r.int(0)?,
        name: r.text(1)?,
        client_id: r.text(2)?,
        client_secret_hash: r.text(3)?,
        client_secret_sealed: r.text(4)?,
        developer_api_key_hash: r.text(5)?,
        developer_api_key_sealed: r.text(6)?,
        redirect_uris: serde_json::from_str(&r.text(7)?).unwrap_or_default(),
        scopes: split(&r.text(8)?),
        optional_scopes: split(&r.text(9)?),
        created_at: r.int(10)?,
    })
}

/// A row of a [`GrantKind::columns`].
pub fn grant_row<C: Columns>(r: &C) -> Result<GrantRecord, C::Error> {
    Ok(GrantRecord {
        hash: r.text(0)?,
        app_id: r.int(1)?,
        portal: PortalId(r.int(2)?),
        scopes: split(&r.text(3)?),
        created_at: r.int(4)?,
        expires_at: r.int_or_null(5)?,
        redirect_uri: r.text_or_null(6)?,
        used_at: r.int_or_null(7)?,
    })
}

fn split(column: &str) -> Vec<String> {
    column.split_whitespace().map(str::to_owned).collect()
}

impl NewApp {
    /// The `redirect_uris` column: a JSON array.
    pub fn redirect_uris_column(&self) -> String {
        serde_json::to_string(&self.redirect_uris).unwrap_or_else(|_| "[]".into())
    }
    pub fn scopes_column(&self) -> String {
        join_scopes(&self.scopes)
    }
    pub fn optional_scopes_column(&self) -> String {
        join_scopes(&self.optional_scopes)
    }
}

impl GrantRecord {
    pub fn scopes_column(&self) -> String {
        join_scopes(&self.scopes)
    }

    /// Whether it has expired at `now` (refresh tokens never do).
    pub fn expired(&self, now: Millis) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A code or refresh token as HubSpot's current ones look: the data center, then a UUID.
fn hublet_secret() -> String {
    format!("na1-{}", uuid::Uuid::new_v4())
}

/// An access token: HubSpot's are opaque URL-safe strings starting with `C`; 244 random bits.
pub(crate) fn access_secret() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    let b = uuid::Uuid::new_v4().simple();
    format!("C{a}{b}")
}

/// Whether a bearer secret may be an OAuth access token (private-app tokens never are), so
/// the bearer check looks in one table for each.
pub fn is_access_token_shaped(secret: &str) -> bool {
    secret.starts_with('C') && secret.len() <= 300
}

/// An app's secrets in clear form: shown when the app is created and by `spoke app list`.
#[derive(Clone, PartialEq, Eq)]
pub struct AppSecrets {
    pub client_secret: String,
    pub developer_api_key: String,
}

impl std::fmt::Debug for AppSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppSecrets { .. }")
    }
}

/// What an app is registered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub optional_scopes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A redirect URI an app may register: absolute `http`/`https` without a fragment.
/// (HubSpot wants `https` except for localhost; spoke runs locally, so `http` is fine.)
fn check_redirect_uri(uri: &str) -> Result<(), AppError> {
    let ok = (uri.starts_with("https://") || uri.starts_with("http://"))
        && !uri.contains('#')
        && !uri.chars().any(char::is_whitespace)
        && uri
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty());
    if ok {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "redirect URI {uri:?} is not an absolute http(s) URL without a fragment"
        )))
    }
}

/// The app a client id names. A client id no app can have (one holding U+0000, which
/// PostgreSQL cannot even compare) is simply unknown.
pub async fn find_client<S: OAuthStore + ?Sized>(
    store: &S,
    client_id: &str,
) -> StoreResult<Option<AppRecord>> {
    if client_id.contains('\0') {
        return Ok(None);
    }
    store
        .find_app(AppLookup::ClientId(client_id.to_owned()))
        .await
}

/// Registers an app: new client id, client secret and developer API key (UUIDs, as
/// HubSpot's), the secrets sealed under `key`.
pub async fn create_app<S: OAuthStore + ?Sized>(
    store: &S,
    key: &SecretKey,
    spec: AppSpec,
    now: Millis,
) -> Result<(AppRecord, AppSecrets), AppError> {
    let texts = std::iter::once(&spec.name)
        .chain(&spec.redirect_uris)
        .chain(&spec.scopes)
        .chain(&spec.optional_scopes);
    if texts.into_iter().any(|t| t.contains('\0')) {
        return Err(AppError::Invalid("U+0000 cannot be stored".into()));
    }
    if spec.name.trim().is_empty() {
        return Err(AppError::Invalid("an app needs a name".into()));
    }
    if spec.redirect_uris.is_empty() {
        return Err(AppError::Invalid("an app needs a redirect URI".into()));
    }
    for uri in &spec.redirect_uris {
        check_redirect_uri(uri)?;
    }
    if spec.scopes.is_empty() {
        return Err(AppError::Invalid("an app needs at least one scope".into()));
    }
    let secrets = AppSecrets {
        client_secret: uuid(),
        developer_api_key: uuid(),
    };
    let app = NewApp {
        name: spec.name,
        client_id: uuid(),
        client_secret_hash: hash(&secrets.client_secret),
        client_secret_sealed: key.seal(CLIENT_SECRET, &secrets.client_secret)?,
        developer_api_key_hash: hash(&secrets.developer_api_key),
        developer_api_key_sealed: key.seal(DEVELOPER_API_KEY, &secrets.developer_api_key)?,
        redirect_uris: spec.redirect_uris,
        scopes: dedup(spec.scopes),
        optional_scopes: dedup(spec.optional_scopes),
        created_at: now,
    };
    let app = store.insert_app(app).await?;
    Ok((app, secrets))
}

/// An app's secrets, opened with `key`.
pub fn open_secrets(key: &SecretKey, app: &AppRecord) -> Result<AppSecrets, SealError> {
    Ok(AppSecrets {
        client_secret: key.open(CLIENT_SECRET, &app.client_secret_sealed)?,
        developer_api_key: key.open(DEVELOPER_API_KEY, &app.developer_api_key_sealed)?,
    })
}

fn dedup(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for s in list {
        let s = s.trim().to_owned();
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Why an authorization request cannot go on (the consent page shows it; nothing is
/// redirected, as on HubSpot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    MissingParameter(&'static str),
    UnknownClient(String),
    RedirectMismatch(String),
    /// Scopes the app did not register.
    UnknownScopes(Vec<String>),
    /// Required scopes of the app the request left out.
    MissingScopes(Vec<String>),
}

/// An authorization request, checked against its app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub app: AppRecord,
    pub redirect_uri: String,
    /// What approving grants: the requested scopes, then the optional ones (every spoke
    /// portal can grant every scope, so none is dropped).
    pub scopes: Vec<String>,
}

/// Splits a scope parameter: HubSpot's are space-separated (`%20` or `+` in the URL, which
/// the caller has decoded); commas are tolerated.
pub fn parse_scopes(param: &str) -> Vec<String> {
    dedup(
        param
            .split([' ', ','])
            .map(str::to_owned)
            .collect::<Vec<_>>(),
    )
}

/// Checks `GET /oauth/authorize`'s parameters against the app they name. `scope` must
/// include every required scope of the app, and `scope` and `optional_scope` only scopes
/// the app registered.
pub async fn check_authorization<S: OAuthStore + ?Sized>(
    store: &S,
    client_id: Option<&str>,
    redirect_uri: Option<&str>,
    scope: Option<&str>,
    optional_scope: Option<&str>,
) -> StoreResult<Result<Authorization, AuthorizeError>> {
    let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
        return Ok(Err(AuthorizeError::MissingParameter("client_id")));
    };
    let Some(app) = find_client(store, client_id).await? else {
        return Ok(Err(AuthorizeError::UnknownClient(client_id.to_owned())));
    };
    let Some(redirect_uri) = redirect_uri.filter(|r| !r.is_empty()) else {
        return Ok(Err(AuthorizeError::MissingParameter("redirect_uri")));
    };
    if !app.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Ok(Err(AuthorizeError::RedirectMismatch(
            redirect_uri.to_owned(),
        )));
    }
    let requested = parse_scopes(scope.unwrap_or(""));
    if requested.is_empty() {
        return Ok(Err(AuthorizeError::MissingParameter("scope")));
    }
    let optional = parse_scopes(optional_scope.unwrap_or(""));
    Ok(
        grantable(&app, &requested, &optional).map(|scopes| Authorization {
            redirect_uri: redirect_uri.to_owned(),
            scopes,
            app,
        }),
    )
}

/// The scopes a grant of `requested` and `optional` gives, or why the app cannot ask so.
pub fn grantable(
    app: &AppRecord,
    requested: &[String],
    optional: &[String],
) -> Result<Vec<String>, AuthorizeError> {
    let known = |s: &String| app.scopes.contains(s) || app.optional_scopes.contains(s);
    let unknown: Vec<String> = requested
        .iter()
        .chain(optional)
        .filter(|s| !known(s))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(AuthorizeError::UnknownScopes(unknown));
    }
    let missing: Vec<String> = app
        .scopes
        .iter()
        .filter(|s| !requested.contains(s))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(AuthorizeError::MissingScopes(missing));
    }
    // Every HubSpot OAuth token carries `oauth` (the v3 guide's token answer lists it).
    let mut scopes = dedup(requested.iter().chain(optional).cloned().collect());
    if !scopes.iter().any(|s| s == "oauth") {
        scopes.push("oauth".into());
    }
    Ok(scopes)
}

/// Makes an authorization code for `portal` (created if needed) and returns it. The
/// user's consent installs the app in the portal (its webhook subscriptions then get the
/// portal's events), as on HubSpot, whether or not the code is exchanged.
pub async fn issue_code<S: OAuthStore + TokenStore + WebhookStore + ?Sized>(
    store: &S,
    grant: &Authorization,
    portal: PortalId,
    now: Millis,
) -> StoreResult<String> {
    store.ensure_portal(portal, now).await?;
    store.install_app(grant.app.id, portal, now).await?;
    let code = hublet_secret();
    let record = GrantRecord {
        hash: hash(&code),
        app_id: grant.app.id,
        portal,
        scopes: grant.scopes.clone(),
        created_at: now,
        expires_at: Some(now + CODE_SECONDS * 1000),
        redirect_uri: Some(grant.redirect_uri.clone()),
        used_at: None,
    };
    store.insert_grant(GrantKind::Code, record, now).await?;
    Ok(code)
}

/// Why a token request fails. The server turns each into HubSpot's error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantError {
    MissingGrantType,
    UnsupportedGrantType,
    BadClientId,
    BadClientSecret,
    BadAuthCode,
    ExpiredAuthCode,
    BadRedirectUri,
    BadRefreshToken,
    /// A refresh token of another app.
    RefreshTokenOfAnotherClient,
}

/// A token answer: the new access token and the refresh token to keep.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub portal: PortalId,
    pub scopes: Vec<String>,
    pub expires_in: i64,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("portal", &self.portal)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// The app a client id and secret belong to.
pub async fn authenticate_client<S: OAuthStore + ?Sized>(
    store: &S,
    client_id: Option<&str>,
    client_secret: Option<&str>,
) -> StoreResult<Result<AppRecord, GrantError>> {
    let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
        return Ok(Err(GrantError::BadClientId));
    };
    let Some(app) = find_client(store, client_id).await? else {
        return Ok(Err(GrantError::BadClientId));
    };
    // Hashes are compared, not secrets, so the comparison's timing says nothing useful.
    match client_secret {
        Some(secret) if hash(secret) == app.client_secret_hash => Ok(Ok(app)),
        _ => Ok(Err(GrantError::BadClientSecret)),
    }
}

async fn issue_access<S: OAuthStore + ?Sized>(
    store: &S,
    app: &AppRecord,
    portal: PortalId,
    scopes: Vec<String>,
    refresh_token: String,
    now: Millis,
) -> StoreResult<Issued> {
    let access_token = access_secret();
    let record = GrantRecord {
        hash: hash(&access_token),
        app_id: app.id,
        portal,
        scopes: scopes.clone(),
        created_at: now,
        expires_at: Some(now + ACCESS_TOKEN_SECONDS * 1000),
        redirect_uri: None,
        used_at: None,
    };
    store
        .insert_grant(GrantKind::Access, record, now - EXPIRED_KEPT_SECONDS * 1000)
        .await?;
    Ok(Issued {
        access_token,
        refresh_token,
        portal,
        scopes,
        expires_in: ACCESS_TOKEN_SECONDS,
    })
}

/// `grant_type=authorization_code`: the code must be the app's, unused, unexpired, and
/// `redirect_uri` the one it was made for. Makes a refresh token and an access token.
pub async fn exchange_code<S: OAuthStore + ?Sized>(
    store: &S,
    app: &AppRecord,
    code: Option<&str>,
    redirect_uri: Option<&str>,
    now: Millis,
) -> StoreResult<Result<Issued, GrantError>> {
    let Some(code) = code.filter(|c| !c.is_empty()) else {
        return Ok(Err(GrantError::BadAuthCode));
    };
    // A code of another app is looked at without being used up, so presenting it to the
    // wrong app does not burn it.
    match store.find_grant(GrantKind::Code, &hash(code)).await? {
        Some(found) if found.app_id == app.id => {}
        _ => return Ok(Err(GrantError::BadAuthCode)),
    }
    let grant = match store.use_code(&hash(code), now).await? {
        CodeUse::Fresh(grant) => grant,
        CodeUse::Unknown | CodeUse::AlreadyUsed(_) => return Ok(Err(GrantError::BadAuthCode)),
    };
    if grant.expired(now) {
        return Ok(Err(GrantError::ExpiredAuthCode));
    }
    if redirect_uri != grant.redirect_uri.as_deref() {
        return Ok(Err(GrantError::BadRedirectUri));
    }
    let refresh_token = hublet_secret();
    let refresh = GrantRecord {
        hash: hash(&refresh_token),
        app_id: app.id,
        portal: grant.portal,
        scopes: grant.scopes.clone(),
        created_at: now,
        expires_at: None,
        redirect_uri: None,
        used_at: None,
    };
    store.insert_grant(GrantKind::Refresh, refresh, now).await?;
    issue_access(store, app, grant.portal, grant.scopes, refresh_token, now)
        .await
        .map(Ok)
}

/// `grant_type=refresh_token`: a new access token; the refresh token stays the same (HubSpot
/// does not rotate them).
pub async fn refresh<S: OAuthStore + ?Sized>(
    store: &S,
    app: &AppRecord,
    refresh_token: Option<&str>,
    now: Millis,
) -> StoreResult<Result<Issued, GrantError>> {
    let Some(refresh_token) = refresh_token.filter(|c| !c.is_empty()) else {
        return Ok(Err(GrantError::BadRefreshToken));
    };
    let Some(grant) = store
        .find_grant(GrantKind::Refresh, &hash(refresh_token))
        .await?
    else {
        return Ok(Err(GrantError::BadRefreshToken));
    };
    if grant.app_id != app.id {
        return Ok(Err(GrantError::RefreshTokenOfAnotherClient));
    }
    issue_access(
        store,
        app,
        grant.portal,
        grant.scopes,
        refresh_token.to_owned(),
        now,
    )
    .await
    .map(Ok)
}

/// The access token a bearer secret is, expired or not.
pub async fn find_access_token<S: OAuthStore + ?Sized>(
    store: &S,
    secret: &str,
) -> StoreResult<Option<GrantRecord>> {
    if !is_access_token_shaped(secret) {
        return Ok(None);
    }
    store.find_grant(GrantKind::Access, &hash(secret)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(scopes: &[&str], optional: &[&str]) -> AppRecord {
        let owned = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        AppRecord {
            id: 1,
            name: "a".into(),
            client_id: "c".into(),
            client_secret_hash: String::new(),
            client_secret_sealed: String::new(),
            developer_api_key_hash: String::new(),
            developer_api_key_sealed: String::new(),
            redirect_uris: vec![],
            scopes: owned(scopes),
            optional_scopes: owned(optional),
            created_at: 0,
        }
    }

    fn list(s: &str) -> Vec<String> {
        parse_scopes(s)
    }

    #[test]
    fn a_grant_needs_every_required_scope_and_only_registered_ones() {
        let a = app(&["crm.objects.contacts.read", "oauth"], &["tickets"]);
        assert_eq!(
            grantable(
                &a,
                &list("oauth crm.objects.contacts.read"),
                &list("tickets")
            ),
            Ok(list("oauth crm.objects.contacts.read tickets"))
        );
        assert_eq!(
            grantable(&a, &list("oauth"), &[]),
            Err(AuthorizeError::MissingScopes(list(
                "crm.objects.contacts.read"
            )))
        );
        assert_eq!(
            grantable(
                &a,
                &list("oauth crm.objects.contacts.read"),
                &list("e-commerce")
            ),
            Err(AuthorizeError::UnknownScopes(list("e-commerce")))
        );
        let b = app(&["tickets"], &[]);
        assert_eq!(
            grantable(&b, &list("tickets"), &[]),
            Ok(list("tickets oauth"))
        );
    }

    #[test]
    fn scope_parameters_split_on_spaces_and_commas() {
        assert_eq!(parse_scopes(" a  b,c a "), list("a b c"));
        assert!(parse_scopes("").is_empty());
    }

    #[test]
    fn secrets_look_like_hubspot_ones() {
        let code = hublet_secret();
        let uuid = code.strip_prefix("na1-").expect("hublet");
        assert!(uuid::Uuid::parse_str(uuid).is_ok());
        let access = access_secret();
        assert!(is_access_token_shaped(&access), "{access}");
        assert_eq!(access.len(), 65);
        assert!(!is_access_token_shaped(&crate::tokens::new_secret()));
        assert_ne!(access_secret(), access);
    }

    #[test]
    fn redirect_uris_must_be_absolute_http() {
        assert!(check_redirect_uri("http://localhost:3000/cb").is_ok());
        assert!(check_redirect_uri("https://example.com/cb?x=1").is_ok());
        for bad in [
            "",
            "/cb",
            "ftp://x",
            "https://",
            "https://x/#f",
            "https://x y",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad:?}");
        }
    }
}
