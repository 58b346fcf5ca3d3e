//! Checks of [`crate::OAuthStore`] (checks 151-170): apps and their lookups, grants by
//! hash, single use of codes, purging old access tokens, an app's removal taking its
//! grants with it, and the grant rules of [`crate::oauth`] run on the backend.

use spoke_core::PortalId;

use super::{Store, T0};
use crate::oauth::{self, AppLookup, AppSpec, CodeUse, GrantError, GrantKind, GrantRecord, NewApp};
use crate::sealed::{SecretKey, KEY_FILE};

fn new_app(tag: &str) -> NewApp {
    NewApp {
        name: format!("App {tag} 😀"),
        client_id: format!("client-{tag}"),
        client_secret_hash: format!("secret-hash-{tag}"),
        client_secret_sealed: format!("v1.sealed.{tag}"),
        developer_api_key_hash: format!("key-hash-{tag}"),
        developer_api_key_sealed: format!("v1.key.{tag}"),
        redirect_uris: vec![
            "http://localhost:3000/ü".into(),
            "https://x.test/cb?a=1".into(),
        ],
        scopes: vec!["oauth".into(), "crm.objects.contacts.read".into()],
        optional_scopes: vec!["tickets".into()],
        created_at: T0,
    }
}

fn grant(hash: &str, app_id: i64, portal: PortalId, expires_at: Option<i64>) -> GrantRecord {
    GrantRecord {
        hash: hash.to_owned(),
        app_id,
        portal,
        scopes: vec!["oauth".into(), "tickets".into()],
        created_at: T0,
        expires_at,
        redirect_uri: None,
        used_at: None,
    }
}

/// Check 151.
pub(super) async fn apps_are_found_by_id_client_id_and_key_and_deleted_with_their_grants(
    store: &dyn Store,
    portal: PortalId,
) {
    store
        .ensure_portal(portal, T0)
        .await
        .expect("ensure_portal");
    let tag = format!("{}", portal.0);
    let app = store
        .insert_app(new_app(&tag))
        .await
        .expect("insert_app failed");
    let expected = new_app(&tag);
    assert_eq!(app.name, expected.name);
    assert_eq!(app.redirect_uris, expected.redirect_uris, "in order");
    assert_eq!(app.scopes, expected.scopes, "in order");
    assert_eq!(app.optional_scopes, expected.optional_scopes);
    assert_eq!(app.client_secret_sealed, expected.client_secret_sealed);
    let twin = store
        .insert_app(new_app(&format!("{tag}-twin")))
        .await
        .expect("insert_app failed");
    assert!(twin.id > app.id, "app ids ascend");

    for lookup in [
        AppLookup::Id(app.id),
        AppLookup::ClientId(app.client_id.clone()),
        AppLookup::ApiKeyHash(app.developer_api_key_hash.clone()),
    ] {
        assert_eq!(
            store.find_app(lookup.clone()).await.expect("find_app"),
            Some(app.clone()),
            "{lookup:?}"
        );
    }
    for near in [
        AppLookup::ClientId(app.client_id.to_uppercase()),
        AppLookup::ClientId(format!("{}%", &app.client_id[..3])),
        AppLookup::ApiKeyHash(app.client_secret_hash.clone()),
        AppLookup::Id(-1),
    ] {
        assert_eq!(
            store.find_app(near.clone()).await.expect("find_app"),
            None,
            "{near:?} matches nothing"
        );
    }
    let dup = store.insert_app(new_app(&tag)).await;
    assert!(dup.is_err(), "client ids are unique");

    let listed = store.list_apps().await.expect("list_apps");
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id), "by id");
    assert!(listed.contains(&app) && listed.contains(&twin));

    // Grants of both apps; deleting one app takes its grants only.
    for (kind, app_id, name) in [
        (GrantKind::Code, app.id, "code"),
        (GrantKind::Refresh, app.id, "refresh"),
        (GrantKind::Access, app.id, "access"),
        (GrantKind::Refresh, twin.id, "twin-refresh"),
    ] {
        let mut g = grant(&format!("{tag}-{name}"), app_id, portal, None);
        if kind != GrantKind::Refresh {
            g.expires_at = Some(T0 + 1000);
        }
        if kind == GrantKind::Code {
            g.redirect_uri = Some("http://localhost:3000/ü".into());
        }
        store
            .insert_grant(kind, g.clone(), T0)
            .await
            .expect("insert_grant");
        assert_eq!(
            store.find_grant(kind, &g.hash).await.expect("find_grant"),
            Some(g),
            "{kind:?} round-trips"
        );
    }
    assert!(store.delete_app(app.id).await.expect("delete_app"));
    assert!(!store.delete_app(app.id).await.expect("delete_app"), "once");
    assert_eq!(
        store
            .find_app(AppLookup::Id(app.id))
            .await
            .expect("find_app"),
        None
    );
    for (kind, name) in [
        (GrantKind::Code, "code"),
        (GrantKind::Refresh, "refresh"),
        (GrantKind::Access, "access"),
    ] {
        assert_eq!(
            store
                .find_grant(kind, &format!("{tag}-{name}"))
                .await
                .expect("find_grant"),
            None,
            "the app's {kind:?} goes with it"
        );
    }
    assert!(
        store
            .find_grant(GrantKind::Refresh, &format!("{tag}-twin-refresh"))
            .await
            .expect("find_grant")
            .is_some(),
        "another app's grants stay"
    );
    assert!(store.delete_app(twin.id).await.expect("delete_app"));
}

/// Check 152.
pub(super) async fn codes_are_used_once_and_grants_are_found_by_exact_hash(
    store: &dyn Store,
    portal: PortalId,
) {
    store
        .ensure_portal(portal, T0)
        .await
        .expect("ensure_portal");
    let tag = format!("{}", portal.0);
    let app = store.insert_app(new_app(&tag)).await.expect("insert_app");
    let mut code = grant(&format!("{tag}-code"), app.id, portal, Some(T0 + 600_000));
    code.redirect_uri = Some("https://x.test/cb?a=1".into());
    store
        .insert_grant(GrantKind::Code, code.clone(), T0)
        .await
        .expect("insert_grant");
    assert_eq!(
        store
            .use_code(&format!("{tag}-nope"), T0)
            .await
            .expect("use_code"),
        CodeUse::Unknown
    );
    assert_eq!(
        store.use_code(&code.hash, T0 + 5).await.expect("use_code"),
        CodeUse::Fresh(code.clone()),
        "the first use sees the code as it was"
    );
    let used = GrantRecord {
        used_at: Some(T0 + 5),
        ..code.clone()
    };
    assert_eq!(
        store.use_code(&code.hash, T0 + 6).await.expect("use_code"),
        CodeUse::AlreadyUsed(used.clone()),
        "the second use sees when it was used"
    );
    assert_eq!(
        store
            .find_grant(GrantKind::Code, &code.hash)
            .await
            .expect("find_grant"),
        Some(used)
    );
    // Exchanges racing for one code: exactly one of them gets it.
    let mut raced = grant(&format!("{tag}-raced"), app.id, portal, Some(T0 + 600_000));
    raced.redirect_uri = Some("https://x.test/cb?a=1".into());
    store
        .insert_grant(GrantKind::Code, raced.clone(), T0)
        .await
        .expect("insert_grant");
    let race = || store.use_code(&raced.hash, T0 + 7);
    let (a, b, c, d) = tokio::join!(race(), race(), race(), race());
    let fresh = [a, b, c, d]
        .into_iter()
        .map(|r| r.expect("use_code"))
        .filter(|u| matches!(u, CodeUse::Fresh(_)))
        .count();
    assert_eq!(fresh, 1, "one code, one exchange");

    // A hash of one kind is not a grant of another, and matches only itself.
    for kind in [GrantKind::Refresh, GrantKind::Access] {
        assert_eq!(
            store
                .find_grant(kind, &code.hash)
                .await
                .expect("find_grant"),
            None
        );
    }
    let refresh = grant(&format!("{tag}-refresh"), app.id, portal, None);
    store
        .insert_grant(GrantKind::Refresh, refresh.clone(), T0)
        .await
        .expect("insert_grant");
    for near in [
        refresh.hash.to_uppercase(),
        format!("{} ", refresh.hash),
        format!("{}%", &refresh.hash[..refresh.hash.len() - 1]),
    ] {
        assert_eq!(
            store
                .find_grant(GrantKind::Refresh, &near)
                .await
                .expect("find_grant"),
            None,
            "{near:?}"
        );
    }
    assert!(store
        .delete_grant(GrantKind::Refresh, &refresh.hash)
        .await
        .expect("delete_grant"));
    assert!(!store
        .delete_grant(GrantKind::Refresh, &refresh.hash)
        .await
        .expect("delete_grant"));

    // An access token write removes access tokens that expired before `purge_before`.
    let old = grant(&format!("{tag}-old"), app.id, portal, Some(T0 + 10));
    let recent = grant(&format!("{tag}-recent"), app.id, portal, Some(T0 + 20));
    for g in [&old, &recent] {
        store
            .insert_grant(GrantKind::Access, g.clone(), 0)
            .await
            .expect("insert_grant");
    }
    let newer = grant(&format!("{tag}-new"), app.id, portal, Some(T0 + 99));
    store
        .insert_grant(GrantKind::Access, newer.clone(), T0 + 15)
        .await
        .expect("insert_grant");
    let find = |h: String| async move {
        store
            .find_grant(GrantKind::Access, &h)
            .await
            .expect("find_grant")
    };
    assert_eq!(
        find(old.hash.clone()).await,
        None,
        "expired long enough ago"
    );
    assert_eq!(find(recent.hash.clone()).await, Some(recent));
    assert_eq!(find(newer.hash.clone()).await, Some(newer));
    assert!(store.delete_app(app.id).await.expect("delete_app"));
}

/// Check 153: the grant rules of [`oauth`], on this backend.
pub(super) async fn the_authorization_code_flow_runs_on_the_backend(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    let dir = std::env::temp_dir().join(format!("spoke-conformance-{}", uuid::Uuid::new_v4()));
    let key = SecretKey::load_or_create(&dir.join(KEY_FILE)).expect("key");
    let spec = AppSpec {
        name: "Flow".into(),
        redirect_uris: vec!["http://localhost:9/cb".into()],
        scopes: vec!["crm.objects.contacts.read".into()],
        optional_scopes: vec!["tickets".into()],
    };
    let (app, secrets) = oauth::create_app(store, &key, spec.clone(), T0)
        .await
        .expect("create_app");
    let (stranger, stranger_secrets) = oauth::create_app(store, &key, spec, T0)
        .await
        .expect("create_app");
    assert_eq!(
        oauth::open_secrets(&key, &app).expect("open"),
        secrets,
        "sealed secrets open with the key"
    );
    assert!(!app.client_secret_sealed.contains(&secrets.client_secret));

    let authorized = oauth::check_authorization(
        store,
        Some(&app.client_id),
        Some("http://localhost:9/cb"),
        Some("crm.objects.contacts.read"),
        Some("tickets"),
    )
    .await
    .expect("check_authorization")
    .expect("a valid request");
    let code = oauth::issue_code(store, &authorized, portal, T0)
        .await
        .expect("issue_code");
    assert!(store
        .list_portals()
        .await
        .expect("list_portals")
        .contains(&portal));
    assert!(
        store
            .installed_apps(portal)
            .await
            .expect("installed_apps")
            .contains(&authorized.app.id),
        "consent installs the app"
    );

    let client = |id: &str, secret: &str| {
        let (id, secret) = (id.to_owned(), secret.to_owned());
        async move {
            oauth::authenticate_client(store, Some(&id), Some(&secret))
                .await
                .expect("authenticate_client")
        }
    };
    assert_eq!(
        client(&app.client_id, &stranger_secrets.client_secret).await,
        Err(GrantError::BadClientSecret)
    );
    assert_eq!(
        client("no-such-client", &secrets.client_secret).await,
        Err(GrantError::BadClientId)
    );
    let me = client(&app.client_id, &secrets.client_secret)
        .await
        .expect("the app");
    let them = client(&stranger.client_id, &stranger_secrets.client_secret)
        .await
        .expect("the other app");

    let redirect = Some("http://localhost:9/cb");
    let exchange = |app, code: &str, at| {
        let code = code.to_owned();
        async move {
            oauth::exchange_code(store, app, Some(&code), redirect, at)
                .await
                .expect("exchange_code")
        }
    };
    assert_eq!(
        exchange(&them, &code, T0 + 1).await.map(|_| ()),
        Err(GrantError::BadAuthCode),
        "another app cannot use the code"
    );
    let issued = exchange(&me, &code, T0 + 1).await.expect("the code works");
    assert_eq!(issued.portal, portal);
    assert_eq!(
        issued.scopes,
        ["crm.objects.contacts.read", "tickets", "oauth"]
    );
    assert_eq!(issued.expires_in, 1800);
    assert_eq!(
        exchange(&me, &code, T0 + 2).await.map(|_| ()),
        Err(GrantError::BadAuthCode),
        "a code works once"
    );

    let late = oauth::issue_code(store, &authorized, other, T0)
        .await
        .expect("issue_code");
    assert_eq!(
        exchange(&me, &late, T0 + oauth::CODE_SECONDS * 1000)
            .await
            .map(|_| ()),
        Err(GrantError::ExpiredAuthCode)
    );
    let wrong_uri = oauth::issue_code(store, &authorized, other, T0)
        .await
        .expect("issue_code");
    assert_eq!(
        oauth::exchange_code(
            store,
            &me,
            Some(&wrong_uri),
            Some("http://localhost:9/other"),
            T0
        )
        .await
        .expect("exchange_code")
        .map(|_| ()),
        Err(GrantError::BadRedirectUri)
    );

    let access = oauth::find_access_token(store, &issued.access_token)
        .await
        .expect("find_access_token")
        .expect("the access token");
    assert_eq!((access.portal, access.app_id), (portal, app.id));
    assert_eq!(access.expires_at, Some(T0 + 1 + 1_800_000));

    let refreshed = oauth::refresh(store, &me, Some(&issued.refresh_token), T0 + 10)
        .await
        .expect("refresh")
        .expect("the refresh token works");
    assert_eq!(refreshed.refresh_token, issued.refresh_token, "not rotated");
    assert_ne!(refreshed.access_token, issued.access_token);
    assert_eq!(
        oauth::refresh(store, &them, Some(&issued.refresh_token), T0 + 10)
            .await
            .expect("refresh")
            .map(|_| ()),
        Err(GrantError::RefreshTokenOfAnotherClient)
    );
    assert!(store
        .delete_grant(
            GrantKind::Refresh,
            &crate::tokens::hash(&issued.refresh_token)
        )
        .await
        .expect("delete_grant"));
    assert_eq!(
        oauth::refresh(store, &me, Some(&issued.refresh_token), T0 + 20)
            .await
            .expect("refresh")
            .map(|_| ()),
        Err(GrantError::BadRefreshToken),
        "a deleted refresh token is dead"
    );
    assert!(
        oauth::find_access_token(store, &refreshed.access_token)
            .await
            .expect("find_access_token")
            .is_some(),
        "access tokens outlive their refresh token's deletion"
    );
    for id in [app.id, stranger.id] {
        assert!(store.delete_app(id).await.expect("delete_app"));
    }
    assert_eq!(
        oauth::find_access_token(store, &refreshed.access_token)
            .await
            .expect("find_access_token"),
        None,
        "deleting the app ends its tokens"
    );
    let _ = std::fs::remove_dir_all(dir);
}
