//! Checks of [`crate::TokenStore`] beyond `mod.rs`'s: portal order, scope lists, and
//! hashes matched exactly.

use spoke_core::PortalId;

use super::{Store, T0};

/// Check 81.
pub(super) async fn portals_ascend_and_token_hashes_match_exactly(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    // Ensured in descending order, listed ascending.
    for p in [other, portal] {
        let ensured = store.ensure_portal(p, T0).await;
        ensured.expect("ensure_portal failed");
    }
    let portals = store.list_portals().await.expect("list_portals failed");
    assert!(
        portals.windows(2).all(|w| w[0] < w[1]),
        "portals are listed once each, ascending"
    );
    let at = |p: PortalId| portals.iter().position(|x| *x == p);
    assert!(at(portal) < at(other) && at(portal).is_some());

    let scopes: Vec<String> = (0..40)
        .map(|i| format!("crm.objects.custom_{i:02}.read"))
        .rev()
        .collect();
    let hash = format!("conformance-hash-{}-exact", portal.0);
    let token = store
        .create_token(portal, &hash, "pat-na1-dddd", &scopes, T0)
        .await
        .expect("create_token failed");
    assert_eq!(token.scopes, scopes, "many scopes round-trip in order");
    let twin = store
        .create_token(other, &format!("{hash}-twin"), "pat-na1-dddd", &[], T0)
        .await
        .expect("create_token failed");
    assert_ne!(token.id, twin.id, "tokens may share a prefix");
    for near in [
        hash.to_uppercase(),
        format!("{hash} "),
        hash[..hash.len() - 1].to_owned(),
        format!("{hash}%"),
    ] {
        assert_eq!(
            store.find_token(&near).await.expect("find_token failed"),
            None,
            "a hash matches only itself: {near:?}"
        );
    }
    assert_eq!(
        store.find_token(&hash).await.expect("find_token failed"),
        Some(token)
    );
}
