//! Checks of [`crate::admin::AdminStore`]: new portals, reset, snapshots and their
//! restore, deleting a portal, the admin token. A portal's rows are compared table by
//! table through [`crate::TransferStore::export_rows`], so a table added to the
//! declarations is held to these checks without a line here.

use std::collections::{BTreeMap, BTreeSet};

use spoke_core::PortalId;

use super::{ctx, new, ok, patch, Store, COMPANIES, CONTACTS, T0};
use crate::admin::{portal_tables, SnapshotRefusal};
use crate::transfer::{Chunks, Value};
use crate::{tokens, AssociationWrite, Table};

/// Every row of the portal, by table, in key order.
async fn portal_rows(
    store: &dyn Store,
    portal: PortalId,
) -> BTreeMap<&'static str, Vec<Vec<Value>>> {
    let mut out = BTreeMap::new();
    let mut records = BTreeSet::new();
    // Objects before history: history rows belong to the portal's records.
    let mut tables: Vec<Table> = portal_tables().collect();
    tables.sort_by_key(|t| *t != Table::Objects);
    for table in tables {
        let portal_col = table.columns().iter().position(|c| c.name == "portal_id");
        let mut mine = Vec::new();
        let mut chunks = Chunks::new(store, table, 1000);
        while let Some(rows) = chunks.next().await.expect("export_rows") {
            for row in rows.iter() {
                let keep = match portal_col {
                    Some(i) => row[i] == Value::Int(portal.0),
                    None => matches!(&row[0], Value::Int(id) if records.contains(id)),
                };
                if keep {
                    mine.push(row.to_vec());
                }
            }
        }
        if table == Table::Objects {
            for row in &mine {
                if let Value::Int(id) = row[0] {
                    records.insert(id);
                }
            }
        }
        out.insert(table.name(), mine);
    }
    out
}

fn count(rows: &BTreeMap<&'static str, Vec<Vec<Value>>>, table: Table) -> usize {
    rows.get(table.name()).map_or(0, Vec::len)
}

/// Records with history, a unique value, a custom property and an association.
async fn fill(store: &dyn Store, portal: PortalId, tag: &str) -> (i64, i64) {
    let c = ctx(portal, CONTACTS, T0);
    let email = format!("{tag}@example.com");
    let contacts = store
        .create_objects(
            &c,
            vec![new(&[("email", &email)]), new(&[("firstname", tag)])],
        )
        .await
        .expect("create contacts");
    let contact = ok(&contacts[0], "contact").id;
    let company = ok(
        &store
            .create_objects(&ctx(portal, COMPANIES, T0), vec![new(&[("name", tag)])])
            .await
            .expect("create company")[0],
        "company",
    )
    .id;
    store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 1),
            vec![patch(contact, &[("firstname", "again")])],
        )
        .await
        .expect("update");
    let link = AssociationWrite {
        from_type: CONTACTS.to_owned(),
        from_id: contact,
        to_type: COMPANIES.to_owned(),
        to_id: company,
        types: vec![super::associations::unlabeled()],
    };
    store
        .put_associations(portal, vec![link])
        .await
        .expect("link");
    (contact, company)
}

/// Check 171: a restored snapshot is the portal exactly as it was, row for row, whatever
/// was written, archived or deleted in between; tokens are untouched.
pub(super) async fn restore_puts_back_every_row(store: &dyn Store, portal: PortalId) {
    store.ensure_portal(portal, T0).await.expect("portal");
    let secret = tokens::issue(store, portal, &["crm.objects.contacts.read".to_owned()], T0)
        .await
        .expect("token");
    let (contact, _) = fill(store, portal, "snap").await;
    let before = portal_rows(store, portal).await;
    assert!(count(&before, Table::PropertyHistory) > 0 && count(&before, Table::Associations) > 0);
    let info = store
        .create_snapshot(portal, "before", T0 + 5)
        .await
        .expect("snapshot")
        .expect("taken");
    assert_eq!(info.records, 3, "two contacts and a company");
    assert_eq!(info.created_at, T0 + 5);

    fill(store, portal, "after").await;
    store
        .archive_objects(portal, CONTACTS, vec![contact], T0 + 9)
        .await
        .expect("archive");
    assert_ne!(portal_rows(store, portal).await, before);

    assert!(store
        .restore_snapshot(portal, "before")
        .await
        .expect("restore"));
    assert_eq!(
        portal_rows(store, portal).await,
        before,
        "restored row for row"
    );
    assert!(
        tokens::authenticate(store, &secret)
            .await
            .expect("auth")
            .is_some(),
        "a restore keeps the portal's tokens"
    );
    // A snapshot can be restored again; new records after it get new ids.
    let (again, _) = fill(store, portal, "third").await;
    assert!(again > contact, "ids never go back");
    assert!(store
        .restore_snapshot(portal, "before")
        .await
        .expect("restore twice"));
    assert_eq!(portal_rows(store, portal).await, before);
}

/// Check 172: reset leaves the portal as a new one (seeded directory and pipelines), its
/// tokens and snapshots kept; another portal is untouched.
pub(super) async fn reset_empties_and_seeds_again(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    store.ensure_portal(portal, T0).await.expect("portal");
    store.ensure_portal(other, T0).await.expect("other");
    let fresh = portal_rows(store, portal).await;
    let secret = tokens::issue(store, portal, &[], T0).await.expect("token");
    fill(store, portal, "reset").await;
    fill(store, other, "bystander").await;
    let other_rows = portal_rows(store, other).await;
    store
        .create_snapshot(portal, "kept", T0)
        .await
        .expect("snapshot")
        .expect("taken");

    assert!(store.reset_portal(portal, T0 + 1).await.expect("reset"));
    let after = portal_rows(store, portal).await;
    for table in [
        Table::Objects,
        Table::PropertyHistory,
        Table::Associations,
        Table::UniqueValues,
    ] {
        assert_eq!(count(&after, table), 0, "{table} emptied");
    }
    for table in [
        Table::DirectoryUsers,
        Table::DirectoryTeams,
        Table::Pipelines,
        Table::PipelineStages,
    ] {
        assert_eq!(
            count(&after, table),
            count(&fresh, table),
            "{table} seeded as new"
        );
    }
    assert!(tokens::authenticate(store, &secret)
        .await
        .expect("auth")
        .is_some());
    let snaps = store
        .list_snapshots(portal)
        .await
        .expect("list")
        .expect("portal");
    assert_eq!(snaps.len(), 1, "reset keeps snapshots");
    assert_eq!(
        portal_rows(store, other).await,
        other_rows,
        "another portal untouched"
    );
    // The seed's owner ids are new, and restoring the snapshot brings the old ones back.
    assert!(store
        .restore_snapshot(portal, "kept")
        .await
        .expect("restore"));
    assert_eq!(count(&portal_rows(store, portal).await, Table::Objects), 3);
    assert!(!store
        .reset_portal(PortalId(-portal.0), T0)
        .await
        .expect("unknown"));
}

/// Check 173: new portals take ids above every portal, come seeded, and deleting one
/// removes every row it had, tokens and snapshots included.
pub(super) async fn create_and_delete_portals(store: &dyn Store, anchor: PortalId) {
    store.ensure_portal(anchor, T0).await.expect("anchor");
    let a = store.create_portal(T0).await.expect("create");
    let b = store.create_portal(T0).await.expect("create");
    assert!(a.0 > anchor.0 && b.0 > a.0, "{a:?} {b:?} above {anchor:?}");
    let portals = store.list_portals().await.expect("list");
    assert!(portals.contains(&a) && portals.contains(&b));
    let rows = portal_rows(store, a).await;
    assert_eq!(count(&rows, Table::DirectoryUsers), 1, "seeded owner");
    assert!(count(&rows, Table::Pipelines) >= 2, "seeded pipelines");

    let secret = tokens::issue(store, a, &[], T0).await.expect("token");
    fill(store, a, "gone").await;
    store
        .create_snapshot(a, "s", T0)
        .await
        .expect("snap")
        .expect("taken");
    let b_rows = portal_rows(store, b).await;
    assert!(store.delete_portal(a).await.expect("delete"));
    assert!(
        portal_rows(store, a).await.values().all(Vec::is_empty),
        "no row left"
    );
    assert!(tokens::authenticate(store, &secret)
        .await
        .expect("auth")
        .is_none());
    assert!(!store.list_portals().await.expect("list").contains(&a));
    assert_eq!(store.list_snapshots(a).await.expect("list"), None);
    assert!(
        !store.delete_portal(a).await.expect("again"),
        "already gone"
    );
    assert_eq!(
        portal_rows(store, b).await,
        b_rows,
        "the other portal untouched"
    );
    // Nothing of the deleted portal's snapshot stays behind for a later portal of its id.
    store.ensure_portal(a, T0).await.expect("recreate");
    assert_eq!(store.list_snapshots(a).await.expect("list"), Some(vec![]));
    assert!(store.delete_portal(b).await.expect("delete b"));
    assert!(store.delete_portal(a).await.expect("delete a"));
}

/// Check 174: snapshot names are per portal and unique in it; unknown ones are refused.
pub(super) async fn snapshot_names_are_per_portal(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    let missing = PortalId(-portal.0);
    assert_eq!(
        store.create_snapshot(missing, "x", T0).await.expect("call"),
        Err(SnapshotRefusal::NoSuchPortal)
    );
    assert_eq!(store.list_snapshots(missing).await.expect("list"), None);
    store.ensure_portal(portal, T0).await.expect("portal");
    store.ensure_portal(other, T0).await.expect("other");
    for name in ["b", "a", "B"] {
        store
            .create_snapshot(portal, name, T0)
            .await
            .expect("snap")
            .expect("taken");
    }
    assert_eq!(
        store.create_snapshot(portal, "a", T0).await.expect("call"),
        Err(SnapshotRefusal::Exists)
    );
    store
        .create_snapshot(other, "a", T0)
        .await
        .expect("snap")
        .expect("same name elsewhere");
    let names: Vec<String> = store
        .list_snapshots(portal)
        .await
        .expect("list")
        .expect("portal")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["B", "a", "b"], "bytewise by name");
    assert!(!store.restore_snapshot(portal, "zz").await.expect("unknown"));
    assert!(!store
        .restore_snapshot(missing, "a")
        .await
        .expect("unknown portal"));
    assert!(store.delete_snapshot(portal, "a").await.expect("delete"));
    assert!(!store.delete_snapshot(portal, "a").await.expect("again"));
    assert_eq!(
        store
            .list_snapshots(other)
            .await
            .expect("list")
            .expect("other")
            .len(),
        1
    );
    assert!(store
        .restore_snapshot(other, "a")
        .await
        .expect("other's stays"));
}

/// Check 175: the admin token's hash is made once and replaced only when asked.
pub(super) async fn the_admin_token_is_made_once(store: &dyn Store) {
    let previous = store.admin_token_hash().await.expect("read");
    assert!(store
        .put_admin_token_hash("h1", true, T0)
        .await
        .expect("put"));
    assert_eq!(
        store.admin_token_hash().await.expect("read").as_deref(),
        Some("h1")
    );
    assert!(!store
        .put_admin_token_hash("h2", false, T0)
        .await
        .expect("put"));
    assert_eq!(
        store.admin_token_hash().await.expect("read").as_deref(),
        Some("h1")
    );
    assert!(store
        .put_admin_token_hash("h3", true, T0)
        .await
        .expect("replace"));
    assert_eq!(
        store.admin_token_hash().await.expect("read").as_deref(),
        Some("h3")
    );
    if let Some(previous) = previous {
        store
            .put_admin_token_hash(&previous, true, T0)
            .await
            .expect("put back");
    }
}
