//! Checks of [`crate::journal`] (checks 331-349, 371-373): journal entries are written by the
//! change's own transaction (none for a change rolled back, none for a portal that did not
//! install the app), in order, with the events the rule makes; subscriptions, filters and
//! app tokens round-trip; entries expire; CRM snapshots are one entry per portal with a
//! status per object, gone with the app and with the portal's reset.

use serde_json::{json, Value};
use spoke_core::association::HUBSPOT_DEFINED;
use spoke_core::time::Millis;
use spoke_core::PortalId;

use super::associations::{link, plain};
use super::{new, ok, patch, Store, T0};
use crate::journal::{
    take_snapshots, AppToken, FilterCreated, JournalEntry, JournalRead, JournalSubscription, Limit,
    Position, Selector, SnapshotRequest, Upserted, APP_INSTALL_EVENT_TYPE,
    APP_UNINSTALL_EVENT_TYPE, MAX_FILTERS, MAX_OBJECT_IDS, MAX_SUBSCRIPTIONS, RETENTION_MS,
};
use crate::oauth::NewApp;
use crate::{LinkContext, RecordArchive, WriteContext, WriteSource};

const CONTACT: &str = "0-1";
const COMPANY: &str = "0-2";

fn wctx(portal: PortalId, object_type: &str, now: Millis, atomic: bool) -> WriteContext {
    WriteContext {
        portal,
        object_type: object_type.to_owned(),
        now,
        source: WriteSource::api(),
        unique_properties: vec!["email".to_owned()],
        atomic,
    }
}

/// A new app, installed in `portal` (unless `None`).
async fn app(store: &dyn Store, portal: PortalId, tag: &str, install: bool) -> i64 {
    let tag = format!("journal-{}-{tag}", portal.0);
    let id = store
        .insert_app(NewApp {
            name: format!("Journal {tag}"),
            client_id: format!("client-{tag}"),
            client_secret_hash: format!("secret-{tag}"),
            client_secret_sealed: format!("sealed-{tag}"),
            developer_api_key_hash: format!("key-{tag}"),
            developer_api_key_sealed: format!("sealed-key-{tag}"),
            redirect_uris: vec![],
            scopes: vec!["oauth".into()],
            optional_scopes: vec![],
            created_at: T0,
        })
        .await
        .expect("insert_app")
        .id;
    store
        .ensure_portal(portal, T0)
        .await
        .expect("ensure_portal");
    if install {
        store.install_app(id, portal, T0).await.expect("install");
    }
    id
}

/// Upserts a subscription the app's limits allow.
async fn subscribe(store: &dyn Store, s: JournalSubscription) -> JournalSubscription {
    match store
        .upsert_journal_subscription(s)
        .await
        .expect("subscribe")
    {
        Upserted::Saved(s) => s,
        Upserted::LimitReached(l) => panic!("over the limit: {l:?}"),
    }
}

fn sub(
    app_id: i64,
    kind: &str,
    portal: PortalId,
    type_id: &str,
    actions: &[&str],
) -> JournalSubscription {
    JournalSubscription {
        id: 0,
        app_id,
        subscription_type: kind.to_owned(),
        portal_id: Some(portal.0),
        object_type_id: Some(type_id.to_owned()),
        event_type_id: None,
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        properties: vec!["email".to_owned()],
        object_ids: vec![],
        associated_object_type_ids: vec![],
        created_at: T0,
        updated_at: T0,
    }
}

async fn entries(
    store: &dyn Store,
    app_id: i64,
    portal: Option<PortalId>,
    now: Millis,
) -> Vec<JournalEntry> {
    match store
        .read_journal(app_id, portal, Position::Earliest, 100, now)
        .await
        .expect("read_journal")
    {
        JournalRead::Entries(e) => e,
        JournalRead::UnknownOffset => panic!("earliest has no offset"),
    }
}

/// An entry's events, each as (action, objectId, properties).
async fn events(store: &dyn Store, e: &JournalEntry) -> Vec<(String, i64, Value)> {
    let (found, text) = store
        .journal_file(&e.offset)
        .await
        .expect("journal_file")
        .expect("the entry's file");
    assert_eq!(&found, e);
    let list: Vec<Value> = serde_json::from_str(&text).expect("a JSON array");
    list.iter()
        .map(|v| {
            (
                v["action"].as_str().unwrap_or_default().to_owned(),
                v["objectId"].as_i64().unwrap_or_default(),
                v.get("properties").cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

pub(super) async fn entries_are_written_with_their_change_and_in_order(
    store: &dyn Store,
    portal: PortalId,
) {
    let a = app(store, portal, "a", true).await;
    subscribe(
        store,
        sub(
            a,
            "OBJECT",
            portal,
            CONTACT,
            &["CREATE", "UPDATE", "DELETE"],
        ),
    )
    .await;
    let now = T0 + 1_000;
    let out = store
        .create_objects(
            &wctx(portal, CONTACT, now, false),
            vec![
                new(&[("email", "a@j.test"), ("firstname", "A")]),
                new(&[("lastname", "B")]),
            ],
        )
        .await
        .expect("create");
    let (x, y) = (ok(&out[0], "x").id, ok(&out[1], "y").id);
    // An unsubscribed property changes: no entry. A subscribed one: an entry.
    store
        .update_objects(
            &wctx(portal, CONTACT, now + 1, false),
            vec![patch(x, &[("lastname", "L")])],
        )
        .await
        .expect("update");
    store
        .update_objects(
            &wctx(portal, CONTACT, now + 2, false),
            vec![patch(x, &[("email", "b@j.test")])],
        )
        .await
        .expect("update");
    store
        .archive_records(RecordArchive {
            portal,
            object_type: CONTACT,
            ids: vec![y],
            now: now + 3,
            source: WriteSource::api(),
        })
        .await
        .expect("archive");

    let all = entries(store, a, None, now + 10).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "ordered");
    assert!(all.iter().all(|e| e.portal == portal && e.app_id == a));
    assert_eq!(all[0].created_at, now);
    assert_eq!(all[0].expires_at, now + RETENTION_MS);
    assert_eq!(
        events(store, &all[0]).await,
        vec![
            ("CREATE".to_owned(), x, json!({"email": "a@j.test"})),
            ("CREATE".to_owned(), y, json!({})),
        ]
    );
    assert_eq!(
        events(store, &all[1]).await,
        vec![("UPDATE".to_owned(), x, json!({"email": "b@j.test"}))]
    );
    assert_eq!(
        events(store, &all[2]).await,
        vec![("DELETE".to_owned(), y, Value::Null)]
    );

    // Reading on: after the first, the other two; after the last, none; latest is the last.
    let after = store
        .read_journal(
            a,
            None,
            Position::After(all[0].offset.clone()),
            10,
            now + 10,
        )
        .await
        .expect("read");
    assert_eq!(after, JournalRead::Entries(all[1..].to_vec()));
    let after = store
        .read_journal(
            a,
            Some(portal),
            Position::After(all[2].offset.clone()),
            10,
            now + 10,
        )
        .await
        .expect("read");
    assert_eq!(after, JournalRead::Entries(vec![]));
    let latest = store
        .read_journal(a, None, Position::Latest, 2, now + 10)
        .await
        .expect("read");
    assert_eq!(latest, JournalRead::Entries(all[1..].to_vec()));
    let wanted = vec![
        all[2].offset.clone(),
        "nope".to_owned(),
        all[0].offset.clone(),
    ];
    let read = store
        .read_journal(a, None, Position::Offsets(wanted), 10, now + 10)
        .await
        .expect("read");
    assert_eq!(
        read,
        JournalRead::Entries(vec![all[2].clone(), all[0].clone()])
    );
}

pub(super) async fn no_entry_without_a_committed_change_or_an_install(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    let a = app(store, portal, "a", true).await;
    // Installed nowhere: subscribed to the portal, but it gets nothing.
    let stranger = app(store, portal, "stranger", false).await;
    for id in [a, stranger] {
        subscribe(store, sub(id, "OBJECT", portal, CONTACT, &["CREATE"])).await;
    }
    let now = T0 + 2_000;
    ok(
        &store
            .create_objects(
                &wctx(portal, CONTACT, now, false),
                vec![new(&[("email", "held@j.test")])],
            )
            .await
            .expect("create")[0],
        "held",
    );
    assert_eq!(entries(store, a, None, now).await.len(), 1);
    // An atomic batch that fails on its second item writes nothing, and no entry.
    let out = store
        .create_objects(
            &wctx(portal, CONTACT, now + 1, true),
            vec![
                new(&[("email", "fresh@j.test")]),
                new(&[("email", "held@j.test")]),
            ],
        )
        .await
        .expect("create");
    assert!(out.iter().any(Result::is_err), "the batch fails");
    assert_eq!(
        entries(store, a, None, now + 1).await.len(),
        1,
        "rolled back: no entry"
    );
    assert_eq!(entries(store, stranger, None, now + 1).await, vec![]);
    // Another portal's writes: the app is not installed there.
    store.ensure_portal(other, T0).await.expect("portal");
    store
        .create_objects(
            &wctx(other, CONTACT, now + 2, false),
            vec![new(&[("email", "o@j.test")])],
        )
        .await
        .expect("create");
    assert_eq!(entries(store, a, None, now + 2).await.len(), 1);
    assert_eq!(entries(store, a, Some(other), now + 2).await, vec![]);
    // Uninstalled: no more entries.
    store.uninstall_app(a, portal, T0).await.expect("uninstall");
    store
        .create_objects(
            &wctx(portal, CONTACT, now + 3, false),
            vec![new(&[("email", "u@j.test")])],
        )
        .await
        .expect("create");
    assert_eq!(entries(store, a, None, now + 3).await.len(), 1);
}

pub(super) async fn association_changes_are_entries(store: &dyn Store, portal: PortalId) {
    let a = app(store, portal, "a", true).await;
    let mut s = sub(
        a,
        "ASSOCIATION",
        portal,
        CONTACT,
        &["ASSOCIATION_ADDED", "ASSOCIATION_REMOVED"],
    );
    s.associated_object_type_ids = vec![COMPANY.to_owned()];
    subscribe(store, s).await;
    let now = T0 + 3_000;
    let k = ok(
        &store
            .create_objects(
                &wctx(portal, CONTACT, now, false),
                vec![new(&[("email", "k@j.test")])],
            )
            .await
            .expect("create")[0],
        "k",
    )
    .id;
    let c = ok(
        &store
            .create_objects(
                &wctx(portal, COMPANY, now, false),
                vec![new(&[("name", "C")])],
            )
            .await
            .expect("create")[0],
        "c",
    )
    .id;
    let written = store
        .write_associations(
            portal,
            vec![link(
                (CONTACT, k),
                (COMPANY, c),
                vec![plain(HUBSPOT_DEFINED, 279, 280)],
            )],
            LinkContext {
                now: now + 1,
                source: WriteSource::api(),
            },
        )
        .await
        .expect("link");
    assert_eq!(written, vec![Ok(())]);
    let all = entries(store, a, None, now + 5).await;
    assert_eq!(all.len(), 1, "only the contact side is subscribed: {all:?}");
    let (found, text) = store
        .journal_file(&all[0].offset)
        .await
        .expect("file")
        .expect("some");
    assert_eq!(found.offset, all[0].offset);
    let list: Vec<Value> = serde_json::from_str(&text).expect("json");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["action"], "ASSOCIATION_ADDED");
    assert_eq!(list[0]["objectId"], k);
    assert_eq!(list[0]["associatedObjectId"], c);
    assert_eq!(list[0]["associatedObjectTypeId"], COMPANY);
    assert_eq!(list[0]["associationTypeId"], 279);
}

pub(super) async fn subscriptions_filters_and_tokens_round_trip(
    store: &dyn Store,
    portal: PortalId,
) {
    let a = app(store, portal, "a", true).await;
    let first = subscribe(store, sub(a, "OBJECT", portal, CONTACT, &["CREATE"])).await;
    let mut again = sub(a, "OBJECT", portal, CONTACT, &["CREATE", "UPDATE"]);
    again.updated_at = T0 + 5;
    let second = subscribe(store, again).await;
    assert_eq!(second.id, first.id, "the same key is an update");
    assert_eq!(second.created_at, first.created_at);
    assert_eq!(second.updated_at, T0 + 5);
    assert_eq!(
        second.actions,
        vec!["CREATE".to_owned(), "UPDATE".to_owned()]
    );
    let company = subscribe(store, sub(a, "OBJECT", portal, COMPANY, &["CREATE"])).await;
    assert_ne!(company.id, first.id);
    assert_eq!(
        store.journal_subscriptions(a).await.expect("list"),
        vec![second.clone(), company.clone()]
    );

    let conditions =
        r#"[{"filterType":"CRM_OBJECT_PROPERTY","property":"email","operator":"EQ","value":"x"}]"#;
    let f = store
        .create_journal_filter(a, first.id, conditions.to_owned(), T0 + 6)
        .await
        .expect("filter");
    let FilterCreated::Created(f) = f else {
        panic!("the app's subscription: {f:?}")
    };
    assert_eq!(f.subscription_id, first.id);
    assert_eq!(f.conditions().len(), 1);
    assert_eq!(
        store
            .create_journal_filter(a + 100_000, first.id, conditions.to_owned(), T0)
            .await
            .expect("filter"),
        FilterCreated::NoSubscription,
        "another app's subscription"
    );
    assert_eq!(
        store.journal_filters(a).await.expect("filters"),
        vec![f.clone()]
    );
    // Deleting the subscription takes its filters.
    assert_eq!(
        store
            .delete_journal_subscriptions(a, Selector::Id(first.id))
            .await
            .expect("delete"),
        1
    );
    assert_eq!(store.journal_filters(a).await.expect("filters"), vec![]);
    assert!(!store.delete_journal_filter(a, f.id).await.expect("delete"));
    assert_eq!(
        store
            .delete_journal_subscriptions(a, Selector::Portal(portal.0))
            .await
            .expect("delete"),
        1
    );
    assert_eq!(store.journal_subscriptions(a).await.expect("list"), vec![]);

    let token = AppToken {
        hash: format!("journal-token-{}", portal.0),
        app_id: a,
        scopes: vec!["webhooks-journal-data-access".to_owned()],
        created_at: T0,
        expires_at: T0 + 1_800_000,
    };
    store
        .insert_app_token(token.clone(), T0)
        .await
        .expect("token");
    assert_eq!(
        store.find_app_token(&token.hash).await.expect("find"),
        Some(token.clone())
    );
    assert_eq!(store.find_app_token("nope").await.expect("find"), None);
    // Deleting the app takes its journal rows.
    assert!(store.delete_app(a).await.expect("delete_app"));
    assert_eq!(store.find_app_token(&token.hash).await.expect("find"), None);
}

pub(super) async fn entries_expire(store: &dyn Store, portal: PortalId) {
    let a = app(store, portal, "a", true).await;
    subscribe(store, sub(a, "OBJECT", portal, CONTACT, &["CREATE"])).await;
    let now = T0 + 4_000;
    store
        .create_objects(
            &wctx(portal, CONTACT, now, false),
            vec![new(&[("email", "e@j.test")])],
        )
        .await
        .expect("create");
    let all = entries(store, a, Some(portal), now + RETENTION_MS - 1).await;
    assert_eq!(all.len(), 1);
    assert_eq!(
        entries(store, a, Some(portal), now + RETENTION_MS).await,
        vec![]
    );
    assert_eq!(
        store
            .read_journal(
                a,
                None,
                Position::After(all[0].offset.clone()),
                1,
                now + RETENTION_MS
            )
            .await
            .expect("read"),
        JournalRead::UnknownOffset
    );
    // The next write after the retention prunes the expired entry.
    store
        .create_objects(
            &wctx(portal, CONTACT, now + RETENTION_MS + 1, false),
            vec![new(&[("email", "f@j.test")])],
        )
        .await
        .expect("create");
    assert_eq!(
        store.journal_file(&all[0].offset).await.expect("file"),
        None
    );
}

/// Snapshots: the values now of the properties named, one entry per portal in one
/// transaction, a status per object (FAILED for one that does not exist), statuses only for
/// their app, and gone with the app or the portal's reset.
pub(super) async fn snapshots_are_entries_with_statuses(
    store: &dyn Store,
    portal: PortalId,
    second: PortalId,
) {
    let a = app(store, portal, "snap", true).await;
    store
        .ensure_portal(second, T0)
        .await
        .expect("ensure_portal");
    store.install_app(a, second, T0).await.expect("install");
    let b = app(store, portal, "snap-other", true).await;
    let now = T0 + 5_000;
    let out = store
        .create_objects(
            &wctx(portal, CONTACT, now, false),
            vec![new(&[("email", "s@j.test"), ("firstname", "S")])],
        )
        .await
        .expect("create");
    let x = ok(&out[0], "x").id;
    store
        .update_objects(
            &wctx(portal, CONTACT, now + 1, false),
            vec![patch(x, &[("firstname", "T")])],
        )
        .await
        .expect("update");
    let out = store
        .create_objects(
            &wctx(second, COMPANY, now, false),
            vec![new(&[("name", "Acme")])],
        )
        .await
        .expect("create");
    let c = ok(&out[0], "c").id;
    let req = |p: PortalId, t: &str, id: i64, props: &[&str]| SnapshotRequest {
        portal: p,
        object_type_id: t.to_owned(),
        object_id: id,
        properties: props.iter().map(|s| (*s).to_owned()).collect(),
    };
    let at = now + 10;
    let statuses = take_snapshots(
        store,
        a,
        &[
            req(portal, CONTACT, x, &["firstname", "email", "phone"]),
            req(portal, CONTACT, x + 1_000_000, &["email"]),
            req(second, COMPANY, c, &["name"]),
            // A company's id under the contact type: the second portal has no contacts.
            req(second, CONTACT, c, &["name"]),
        ],
        |_| at,
    )
    .await
    .expect("take_snapshots");
    let kinds: Vec<&str> = statuses.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(kinds, ["SUCCESS", "FAILED", "SUCCESS", "FAILED"]);
    assert_eq!(statuses[1].error_code.as_deref(), Some("VALIDATION_ERROR"));
    for st in &statuses {
        let found = store
            .snapshot_status(a, &st.id)
            .await
            .expect("snapshot_status");
        assert_eq!(found.as_ref(), Some(st));
        assert_eq!(
            store.snapshot_status(b, &st.id).await.expect("status"),
            None
        );
    }

    // One entry per portal; each has its portal's events.
    let all = entries(store, a, None, at).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(statuses[0].offset.as_deref(), Some(all[0].offset.as_str()));
    assert_eq!(statuses[2].offset.as_deref(), Some(all[1].offset.as_str()));
    assert_eq!(statuses[1].offset, None);
    assert_eq!(
        events(store, &all[0]).await,
        vec![(
            "SNAPSHOT".to_owned(),
            x,
            json!({"firstname": "T", "email": "s@j.test"})
        )]
    );
    assert_eq!(
        events(store, &all[1]).await,
        vec![("SNAPSHOT".to_owned(), c, json!({"name": "Acme"}))]
    );
    assert!(entries(store, b, None, at).await.is_empty());

    // The second portal's reset takes its statuses and entries; the app's removal the rest.
    store.reset_portal(second, at).await.expect("reset");
    assert_eq!(
        store.snapshot_status(a, &statuses[2].id).await.expect("s"),
        None
    );
    assert!(store
        .snapshot_status(a, &statuses[0].id)
        .await
        .expect("s")
        .is_some());
    store.delete_app(a).await.expect("delete_app");
    assert_eq!(
        store.snapshot_status(a, &statuses[0].id).await.expect("s"),
        None
    );
}

/// An upsert that must be refused for `limit`, writing nothing.
async fn refused(store: &dyn Store, s: JournalSubscription, limit: Limit) {
    assert_eq!(
        store
            .upsert_journal_subscription(s)
            .await
            .expect("subscribe"),
        Upserted::LimitReached(limit)
    );
}

/// An app's journal limits hold in the write's transaction: its subscriptions stop at
/// [`MAX_SUBSCRIPTIONS`] (replacing one still works), its `objectIds` summed over its
/// subscriptions at [`MAX_OBJECT_IDS`] (a replaced subscription's old list not counted),
/// its filters at [`MAX_FILTERS`]; another app is not affected.
pub(super) async fn limits_hold_per_app(store: &dyn Store, portal: PortalId) {
    let a = app(store, portal, "limits", true).await;
    for n in 0..MAX_SUBSCRIPTIONS - 1 {
        subscribe(
            store,
            sub(a, "OBJECT", portal, &format!("2-{n}"), &["CREATE"]),
        )
        .await;
    }
    let last = subscribe(store, sub(a, "OBJECT", portal, CONTACT, &["CREATE"])).await;
    refused(
        store,
        sub(a, "OBJECT", portal, COMPANY, &["CREATE"]),
        Limit::Subscriptions,
    )
    .await;
    let all = store.journal_subscriptions(a).await.expect("list");
    assert_eq!(
        all.len(),
        MAX_SUBSCRIPTIONS,
        "the refused one was not written"
    );

    // Replacing is not adding; objectIds count over the app.
    let mut big = sub(a, "OBJECT", portal, CONTACT, &["CREATE", "UPDATE"]);
    big.object_ids = (1..=i64::try_from(MAX_OBJECT_IDS).unwrap_or(i64::MAX)).collect();
    assert_eq!(subscribe(store, big.clone()).await.id, last.id);
    let mut one = sub(a, "OBJECT", portal, "2-0", &["CREATE"]);
    one.object_ids = vec![7];
    refused(store, one.clone(), Limit::ObjectIds).await;
    // The big one replaced by itself is judged without its old list.
    subscribe(store, big.clone()).await;
    big.object_ids.pop();
    subscribe(store, big).await;
    assert_eq!(subscribe(store, one).await.object_ids, vec![7]);

    let conditions =
        r#"[{"filterType":"CRM_OBJECT_PROPERTY","property":"email","operator":"EQ","value":"x"}]"#;
    let mut first = None;
    for i in 0..MAX_FILTERS {
        let on = &all[i % all.len()];
        match store
            .create_journal_filter(a, on.id, conditions.to_owned(), T0)
            .await
            .expect("filter")
        {
            FilterCreated::Created(f) => {
                first.get_or_insert(f.id);
            }
            other => panic!("filter {i}: {other:?}"),
        }
    }
    assert_eq!(
        store
            .create_journal_filter(a, last.id, conditions.to_owned(), T0)
            .await
            .expect("filter"),
        FilterCreated::LimitReached(Limit::Filters)
    );
    assert_eq!(
        store.journal_filters(a).await.expect("filters").len(),
        MAX_FILTERS
    );
    let first = first.unwrap_or_default();
    assert!(store.delete_journal_filter(a, first).await.expect("delete"));
    assert!(matches!(
        store
            .create_journal_filter(a, last.id, conditions.to_owned(), T0)
            .await
            .expect("filter"),
        FilterCreated::Created(_)
    ));

    let b = app(store, portal, "limits-b", true).await;
    subscribe(store, sub(b, "OBJECT", portal, COMPANY, &["CREATE"])).await;
}

/// Writers racing for the last `objectId` the app may have: exactly one wins (PostgreSQL
/// serializes an app's upserts on a lock; SQLite has one writer).
async fn racing_upserts_cannot_pass_a_limit_together(store: &dyn Store, portal: PortalId) {
    let a = app(store, portal, "limits-race", true).await;
    let mut big = sub(a, "OBJECT", portal, CONTACT, &["CREATE"]);
    big.object_ids = (1..i64::try_from(MAX_OBJECT_IDS).unwrap_or(i64::MAX)).collect();
    subscribe(store, big).await;
    let outcomes = super::concurrency::join_all((0..8).map(|n| {
        let mut one = sub(a, "OBJECT", portal, &format!("2-{n}"), &["CREATE"]);
        one.object_ids = vec![n];
        store.upsert_journal_subscription(one)
    }))
    .await;
    let saved = outcomes
        .into_iter()
        .map(|o| o.expect("upsert"))
        .filter(|o| matches!(o, Upserted::Saved(_)))
        .count();
    assert_eq!(saved, 1, "one of the racing upserts fits under the limit");
    assert_eq!(store.journal_subscriptions(a).await.expect("list").len(), 2);
}

/// A lifecycle subscription of `app` to `event_type` (app-wide when `portal` is `None`).
fn lifecycle(app_id: i64, event_type: &str, portal: Option<PortalId>) -> JournalSubscription {
    JournalSubscription {
        id: 0,
        app_id,
        subscription_type: "APP_LIFECYCLE_EVENT".to_owned(),
        portal_id: portal.map(|p| p.0),
        object_type_id: None,
        event_type_id: Some(event_type.to_owned()),
        actions: vec![],
        properties: vec!["hs_app_id".to_owned(), "hs_user_id".to_owned()],
        object_ids: vec![],
        associated_object_type_ids: vec![],
        created_at: T0,
        updated_at: T0,
    }
}

/// The app's entries, each as its portal and its events (whole JSON objects).
async fn lifecycle_entries(store: &dyn Store, app_id: i64) -> Vec<(PortalId, Vec<Value>)> {
    let mut out = Vec::new();
    for e in entries(store, app_id, None, T0 + 1_000).await {
        let (_, text) = store
            .journal_file(&e.offset)
            .await
            .expect("journal_file")
            .expect("the entry's file");
        out.push((e.portal, serde_json::from_str(&text).expect("a JSON array")));
    }
    out
}

/// Installing an app in a portal and uninstalling it write an `APP_INSTALL` /
/// `APP_UNINSTALL` entry in the install change's transaction, for the app's
/// `APP_LIFECYCLE_EVENT` subscriptions to that event type (app-wide or naming the portal),
/// and only when the install row was actually added or removed.
pub(super) async fn installs_and_uninstalls_are_entries(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    let a = app(store, portal, "life", false).await;
    let silent = app(store, portal, "silent", false).await;
    store.ensure_portal(other, T0).await.expect("ensure_portal");
    let on_install = subscribe(store, lifecycle(a, APP_INSTALL_EVENT_TYPE, None)).await;
    let on_uninstall = subscribe(store, lifecycle(a, APP_UNINSTALL_EVENT_TYPE, Some(other))).await;
    // Another app's lifecycle subscription is not `silent`'s.
    subscribe(store, lifecycle(a + 100_000, APP_INSTALL_EVENT_TYPE, None)).await;

    store
        .install_app(a, portal, T0 + 10)
        .await
        .expect("install");
    store
        .install_app(a, portal, T0 + 11)
        .await
        .expect("install again");
    // The uninstall subscription names the other portal.
    assert!(store
        .uninstall_app(a, portal, T0 + 20)
        .await
        .expect("uninstall"));
    store.install_app(a, other, T0 + 30).await.expect("install");
    assert!(store
        .uninstall_app(a, other, T0 + 40)
        .await
        .expect("uninstall"));
    assert!(!store
        .uninstall_app(a, other, T0 + 41)
        .await
        .expect("uninstall again"));

    let event = |p: PortalId, sub: i64, action: &str, event_type: &str, at: Millis| {
        json!({
            "subscriptionId": sub,
            "subscriptionType": "APP_LIFECYCLE_EVENT",
            "portalId": p.0,
            "appId": a,
            "occurredAt": at,
            "action": action,
            "eventTypeId": event_type,
            "properties": {"hs_app_id": a.to_string()},
        })
    };
    assert_eq!(
        lifecycle_entries(store, a).await,
        vec![
            (
                portal,
                vec![event(
                    portal,
                    on_install.id,
                    "APP_INSTALL",
                    APP_INSTALL_EVENT_TYPE,
                    T0 + 10
                )]
            ),
            (
                other,
                vec![event(
                    other,
                    on_install.id,
                    "APP_INSTALL",
                    APP_INSTALL_EVENT_TYPE,
                    T0 + 30
                )]
            ),
            (
                other,
                vec![event(
                    other,
                    on_uninstall.id,
                    "APP_UNINSTALL",
                    APP_UNINSTALL_EVENT_TYPE,
                    T0 + 40
                )]
            ),
        ]
    );
    let e = entries(store, a, None, T0 + 1_000).await;
    assert_eq!(e[0].created_at, T0 + 10);
    assert_eq!(e[0].expires_at, T0 + 10 + RETENTION_MS);

    // An app without lifecycle subscriptions: installs change nothing in any journal.
    store
        .install_app(silent, portal, T0 + 50)
        .await
        .expect("install");
    assert!(store
        .uninstall_app(silent, portal, T0 + 60)
        .await
        .expect("uninstall"));
    assert_eq!(lifecycle_entries(store, silent).await, vec![]);
    assert_eq!(lifecycle_entries(store, a).await.len(), 3);
}

/// The journal's checks, in portals 331-349 (a second tenant is the next number).
pub(super) async fn run_all(store: &dyn Store, p: &super::Portals) {
    entries_are_written_with_their_change_and_in_order(store, p.of(331)).await;
    no_entry_without_a_committed_change_or_an_install(store, p.of(332), p.of(333)).await;
    association_changes_are_entries(store, p.of(334)).await;
    subscriptions_filters_and_tokens_round_trip(store, p.of(335)).await;
    entries_expire(store, p.of(336)).await;
    snapshots_are_entries_with_statuses(store, p.of(337), p.of(338)).await;
    limits_hold_per_app(store, p.of(346)).await;
    installs_and_uninstalls_are_entries(store, p.of(347), p.of(348)).await;
    racing_upserts_cannot_pass_a_limit_together(store, p.of(349)).await;
    one_listener_read_feeds_events_and_entries(store, p.of(371), p.of(372)).await;
}

/// Check 371: a write reads its webhook and journal listeners in one statement; each kind
/// still gets exactly its own (an app with both, one with the journal only, filters
/// grouped per subscription, another portal's subscription ignored), and dropping one
/// kind's setup leaves the other's intact.
pub(super) async fn one_listener_read_feeds_events_and_entries(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    use crate::webhooks::{CreateSubscription, NewSubscription, WebhookSettings};
    let both = app(store, portal, "both", true).await;
    store
        .put_webhook_settings(WebhookSettings {
            app_id: both,
            target_url: "http://127.0.0.1:9/hook".to_owned(),
            max_concurrent_requests: 10,
            period: None,
            created_at: T0,
            updated_at: T0,
        })
        .await
        .expect("settings");
    let hook = match store
        .create_subscription(NewSubscription {
            app_id: both,
            event_type: "contact.creation".to_owned(),
            object_type_id: None,
            property_name: None,
            active: true,
            now: T0,
        })
        .await
        .expect("create_subscription")
    {
        CreateSubscription::Created(s) => s,
        CreateSubscription::LimitReached => panic!("limit reached"),
    };
    let filtered = subscribe(store, sub(both, "OBJECT", portal, CONTACT, &["CREATE"])).await;
    for (property, value) in [("email", "a@one.test"), ("firstname", "Bo")] {
        let conditions = format!(
            r#"[{{"filterType":"CRM_OBJECT_PROPERTY","property":"{property}","operator":"EQ","value":"{value}"}}]"#
        );
        store
            .create_journal_filter(both, filtered.id, conditions, T0)
            .await
            .expect("filter");
    }
    // Installed here too, but its subscription names another portal.
    store.install_app(both, other, T0).await.expect("install");
    store
        .upsert_journal_subscription(sub(both, "OBJECT", other, COMPANY, &["CREATE"]))
        .await
        .expect("subscribe");
    let journal_only = app(store, portal, "journal-only", true).await;
    store
        .upsert_journal_subscription(sub(journal_only, "OBJECT", portal, CONTACT, &["CREATE"]))
        .await
        .expect("subscribe");

    let now = T0 + 1_000;
    let out = store
        .create_objects(
            &wctx(portal, CONTACT, now, false),
            vec![
                new(&[("email", "a@one.test")]),
                new(&[("email", "b@one.test"), ("firstname", "Bo")]),
                new(&[("email", "c@one.test")]),
            ],
        )
        .await
        .expect("create");
    let ids: Vec<i64> = out
        .iter()
        .enumerate()
        .map(|(i, o)| ok(o, &i.to_string()).id)
        .collect();
    let hooks = |events: Vec<crate::webhooks::PendingEvent>| -> Vec<(i64, String)> {
        events
            .into_iter()
            .map(|e| (e.subscription_id, e.subscription_type))
            .collect()
    };
    let (_, pending) = store
        .pending_events(Some(both), 100)
        .await
        .expect("pending_events");
    assert_eq!(
        hooks(pending),
        vec![(hook.id, "contact.creation".to_owned()); 3],
        "one event per record, from the app's one webhook subscription"
    );
    let mine = entries(store, both, Some(portal), now + 10).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(
        events(store, &mine[0]).await,
        vec![
            ("CREATE".to_owned(), ids[0], json!({"email": "a@one.test"})),
            ("CREATE".to_owned(), ids[1], json!({"email": "b@one.test"})),
        ],
        "either filter passes a record; the third passes neither"
    );
    let theirs = entries(store, journal_only, Some(portal), now + 10).await;
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(events(store, &theirs[0]).await.len(), 3, "no filters: all");
    assert!(
        entries(store, both, Some(other), now + 10).await.is_empty(),
        "nothing written in the other portal"
    );

    // Without webhook settings the app gets no more events; its journal entries go on.
    assert!(store
        .delete_webhook_settings(both)
        .await
        .expect("delete settings"));
    store
        .create_objects(
            &wctx(portal, CONTACT, now + 1, false),
            vec![
                new(&[("email", "d@one.test"), ("firstname", "Bo")]),
                new(&[("email", "e@one.test")]),
            ],
        )
        .await
        .expect("create");
    let (count, _) = store
        .pending_events(Some(both), 100)
        .await
        .expect("pending_events");
    assert_eq!(count, 3, "no event without settings");
    let mine = entries(store, both, Some(portal), now + 10).await;
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert_eq!(
        events(store, &mine[1]).await.len(),
        1,
        "d@ passes, e@ does not"
    );
}

/// Check 373: two handles on one database stand in for two processes, each with its own
/// listener cache. A handle that has written to a portal (and so remembers it has no
/// listeners, then which) sees listener changes made through the other at its next write:
/// an install, a subscription, a journal subscription, settings removed.
pub async fn listener_changes_reach_another_handle(stores: &[&dyn Store], portal: PortalId) {
    use crate::webhooks::{NewSubscription, WebhookSettings};
    let (a, b) = (stores[0], stores[stores.len() - 1]);
    let pending = |app: i64| async move {
        a.pending_events(Some(app), 100)
            .await
            .expect("pending_events")
            .0
    };
    let write = |n: i64| async move {
        a.create_objects(
            &wctx(portal, CONTACT, T0 + n, false),
            vec![new(&[("email", &format!("{n}@handles.test"))])],
        )
        .await
        .expect("create");
    };
    let app = app(b, portal, "handles", false).await;
    write(1).await;
    b.put_webhook_settings(WebhookSettings {
        app_id: app,
        target_url: "http://127.0.0.1:9/hook".to_owned(),
        max_concurrent_requests: 10,
        period: None,
        created_at: T0,
        updated_at: T0,
    })
    .await
    .expect("settings");
    b.create_subscription(NewSubscription {
        app_id: app,
        event_type: "contact.creation".to_owned(),
        object_type_id: None,
        property_name: None,
        active: true,
        now: T0,
    })
    .await
    .expect("subscribe");
    write(2).await;
    assert_eq!(pending(app).await, 0, "not installed yet");
    b.install_app(app, portal, T0).await.expect("install");
    write(3).await;
    assert_eq!(
        pending(app).await,
        1,
        "the install made through the other handle"
    );
    b.upsert_journal_subscription(sub(app, "OBJECT", portal, CONTACT, &["CREATE"]))
        .await
        .expect("subscribe");
    write(4).await;
    assert_eq!(pending(app).await, 2);
    assert_eq!(entries(a, app, Some(portal), T0 + 10).await.len(), 1);
    assert!(b
        .delete_webhook_settings(app)
        .await
        .expect("delete settings"));
    write(5).await;
    assert_eq!(pending(app).await, 2, "no events without settings");
    assert_eq!(entries(a, app, Some(portal), T0 + 10).await.len(), 2);
}
