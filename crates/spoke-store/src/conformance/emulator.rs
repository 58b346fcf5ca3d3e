//! Checks of [`crate::emulator::EmulatorStore`]: fault rules stored, listed, spent exactly
//! and removed; portal clocks set, advanced, kept by snapshots and dropped by reset.
//!
//! Rules are the installation's, not a portal's, so these checks see other checks' rules
//! (and other runs' on a shared database): they look only at the rules they made, and never
//! clear them all.

use spoke_core::PortalId;

use super::{Store, T0};
use crate::emulator::{Clock, FaultAction, FaultSpec};

fn spec(portal: PortalId, action: FaultAction) -> FaultSpec {
    FaultSpec {
        portal_id: Some(portal.0),
        method: Some("POST".to_owned()),
        path: Some("/crm/v3/objects/contacts*".to_owned()),
        probability: 0.25,
        action,
    }
}

/// Check 251: a rule comes back as written, its count is spent one firing at a time and
/// never below zero, an unlimited rule counts its hits, and deleting is once.
pub(super) async fn fault_rules_are_stored_spent_and_removed(store: &dyn Store, portal: PortalId) {
    let error = spec(
        portal,
        FaultAction::Error {
            status: 503,
            body: Some(serde_json::json!({"message": "down ü"})),
        },
    );
    let limited = store
        .insert_fault_rule(&error, Some(2), T0)
        .await
        .expect("insert");
    assert_eq!(
        (limited.count, limited.remaining, limited.hits),
        (Some(2), Some(2), 0)
    );
    let latency = spec(portal, FaultAction::Latency { latency_ms: 250 });
    let unlimited = store
        .insert_fault_rule(&latency, None, T0 + 1)
        .await
        .expect("insert");
    assert_ne!(limited.id, unlimited.id);

    let listed = store.list_fault_rules().await.expect("list");
    let mine: Vec<_> = listed
        .iter()
        .filter(|r| r.id == limited.id || r.id == unlimited.id)
        .collect();
    assert_eq!(mine.len(), 2);
    assert!(mine[0].id < mine[1].id, "oldest first");
    assert_eq!(mine[0].spec, error);
    assert_eq!(mine[0].created_at, T0);
    assert_eq!(mine[1].spec, latency);

    assert!(store.fire_fault_rule(limited.id).await.expect("fire"));
    assert!(store.fire_fault_rule(limited.id).await.expect("fire"));
    assert!(
        !store.fire_fault_rule(limited.id).await.expect("fire"),
        "spent"
    );
    for _ in 0..3 {
        assert!(store.fire_fault_rule(unlimited.id).await.expect("fire"));
    }
    let listed = store.list_fault_rules().await.expect("list");
    let find = |id| listed.iter().find(|r| r.id == id).expect("listed");
    let l = find(limited.id);
    assert_eq!((l.remaining, l.hits), (Some(0), 2));
    assert!(l.exhausted());
    let u = find(unlimited.id);
    assert_eq!((u.remaining, u.hits), (None, 3));
    assert!(!u.exhausted());

    assert!(store.delete_fault_rule(limited.id).await.expect("delete"));
    assert!(!store.delete_fault_rule(limited.id).await.expect("delete"));
    assert!(
        !store.fire_fault_rule(limited.id).await.expect("fire"),
        "gone"
    );
    assert!(store.delete_fault_rule(unlimited.id).await.expect("delete"));
    let left = store.list_fault_rules().await.expect("list");
    assert!(left
        .iter()
        .all(|r| r.id != limited.id && r.id != unlimited.id));
}

/// Check 252: racing firings of a rule with a count of 5 win exactly 5 times, whichever
/// handle (process) each comes through.
pub async fn a_rules_count_is_spent_exactly_under_racing_firings(
    stores: &[&dyn Store],
    portal: PortalId,
) {
    let rule = stores[0]
        .insert_fault_rule(&spec(portal, FaultAction::Disconnect), Some(5), T0)
        .await
        .expect("insert");
    let tries = (0..24).map(|i| stores[i % stores.len()].fire_fault_rule(rule.id));
    let won = super::concurrency::join_all(tries)
        .await
        .into_iter()
        .map(|r| r.expect("fire"))
        .filter(|w| *w)
        .count();
    assert_eq!(won, 5);
    let listed = stores[0].list_fault_rules().await.expect("list");
    let r = listed.iter().find(|r| r.id == rule.id).expect("listed");
    assert_eq!((r.remaining, r.hits), (Some(0), 5));
    assert!(stores[0].delete_fault_rule(rule.id).await.expect("delete"));
}

/// Check 253: a clock is set, read, advanced by its mode and set back to real time; a
/// portal that does not exist has none; another portal's clock is untouched.
pub(super) async fn clocks_are_set_advanced_and_per_portal(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    let missing = PortalId(portal.0 + 50);
    store.ensure_portal(portal, T0).await.expect("portal");
    store.ensure_portal(other, T0).await.expect("portal");
    assert_eq!(
        store.read_clock(portal).await.expect("read"),
        Some(Clock::Real)
    );
    assert_eq!(store.read_clock(missing).await.expect("read"), None);
    assert_eq!(
        store
            .set_clock(missing, Clock::Frozen(T0))
            .await
            .expect("set"),
        None
    );
    assert_eq!(
        store.advance_clock(missing, 5).await.expect("advance"),
        None
    );

    let frozen = Clock::Frozen(T0);
    assert_eq!(
        store.set_clock(portal, frozen).await.expect("set"),
        Some(frozen)
    );
    assert_eq!(store.read_clock(portal).await.expect("read"), Some(frozen));
    assert_eq!(
        store
            .advance_clock(portal, 1_800_001)
            .await
            .expect("advance"),
        Some(Clock::Frozen(T0 + 1_800_001))
    );
    assert_eq!(
        store
            .set_clock(portal, Clock::Offset(-7))
            .await
            .expect("set"),
        Some(Clock::Offset(-7))
    );
    assert_eq!(
        store.advance_clock(portal, 10).await.expect("advance"),
        Some(Clock::Offset(3))
    );
    let listed = store.list_clocks().await.expect("list");
    assert!(listed.contains(&(portal, Clock::Offset(3))));
    assert!(listed.iter().all(|(p, _)| *p != other), "{listed:?}");
    assert_eq!(
        store.read_clock(other).await.expect("read"),
        Some(Clock::Real)
    );

    assert_eq!(
        store.set_clock(portal, Clock::Real).await.expect("set"),
        Some(Clock::Real)
    );
    assert!(store
        .list_clocks()
        .await
        .expect("list")
        .iter()
        .all(|(p, _)| *p != portal));
    // From real time, an advance runs the clock ahead.
    assert_eq!(
        store.advance_clock(portal, 60_000).await.expect("advance"),
        Some(Clock::Offset(60_000))
    );
}

/// Check 254: a clock is portal data: a snapshot keeps it, a restore brings it back, a
/// reset returns the portal to real time, deleting the portal removes it.
pub(super) async fn a_clock_is_portal_data(store: &dyn Store, portal: PortalId) {
    store.ensure_portal(portal, T0).await.expect("portal");
    let frozen = Clock::Frozen(T0 + 42);
    store.set_clock(portal, frozen).await.expect("set");
    store
        .create_snapshot(portal, "frozen", T0)
        .await
        .expect("snapshot")
        .expect("taken");
    store
        .set_clock(portal, Clock::Offset(9))
        .await
        .expect("set");
    assert!(store
        .restore_snapshot(portal, "frozen")
        .await
        .expect("restore"));
    assert_eq!(store.read_clock(portal).await.expect("read"), Some(frozen));
    assert!(store.reset_portal(portal, T0).await.expect("reset"));
    assert_eq!(
        store.read_clock(portal).await.expect("read"),
        Some(Clock::Real)
    );
    store.set_clock(portal, frozen).await.expect("set");
    assert!(store.delete_portal(portal).await.expect("delete"));
    assert!(store
        .list_clocks()
        .await
        .expect("list")
        .iter()
        .all(|(p, _)| *p != portal));
}
