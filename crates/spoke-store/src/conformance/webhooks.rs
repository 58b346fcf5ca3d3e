//! Checks of [`crate::webhooks`] (checks 201-230): settings and subscriptions, the events
//! each write path records in its own transaction (with their exact `fields`), who gets
//! none, the delivery queue's claims, leases, retries and outcomes, and what an app's or a
//! portal's removal takes with it.
//!
//! Apps are made with [`crate::OAuthStore::insert_app`], so their ids are the database's
//! and never another run's. Claims are global (every portal's events): a check only looks
//! at its own apps' events among what it claims.

use std::collections::BTreeMap;

use spoke_core::association::{HUBSPOT_DEFINED, USER_DEFINED};
use spoke_core::time::Millis;
use spoke_core::{ObjectId, PortalId};

use super::associations::{link, plain};
use super::concurrency::join_all;
use super::{new, ok, patch, Store, T0};
use crate::oauth::NewApp;
use crate::webhooks::{
    AttemptOutcome, CreateSubscription, DeliveryAttempt, NewSubscription, PendingEvent,
    Subscription, WebhookSettings, MAX_SUBSCRIPTIONS,
};
use crate::{
    AssociationRemoval, LinkContext, LinkType, NewAssociation, NewObject, UpsertItem, WriteContext,
    WriteSource,
};

const CONTACT: &str = "0-1";
const COMPANY: &str = "0-2";
/// A custom type's id: records of it are written like any other (the store does not look
/// its schema up).
const CUSTOM: &str = "2-987654";

fn source() -> WriteSource {
    WriteSource {
        source_type: "INTEGRATION".to_owned(),
        source_id: Some("conformance".to_owned()),
    }
}

fn wctx(portal: PortalId, object_type: &str, now: Millis) -> WriteContext {
    WriteContext {
        portal,
        object_type: object_type.to_owned(),
        now,
        source: source(),
        unique_properties: vec!["email".to_owned()],
        atomic: false,
    }
}

fn link_ctx(now: Millis) -> LinkContext {
    LinkContext {
        now,
        source: WriteSource {
            source_type: "API".to_owned(),
            source_id: None,
        },
    }
}

/// A new app of its own, with settings, installed in `portal`.
async fn app(store: &dyn Store, portal: PortalId, tag: &str) -> i64 {
    let app = bare_app(store, portal, tag).await;
    settings(store, app).await;
    store
        .ensure_portal(portal, T0)
        .await
        .expect("ensure_portal");
    store
        .install_app(app, portal, T0)
        .await
        .expect("install_app");
    app
}

/// A new app without settings or installs.
async fn bare_app(store: &dyn Store, portal: PortalId, tag: &str) -> i64 {
    let tag = format!("webhooks-{}-{tag}", portal.0);
    store
        .insert_app(NewApp {
            name: format!("Webhooks {tag}"),
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
        .id
}

async fn settings(store: &dyn Store, app_id: i64) -> WebhookSettings {
    store
        .put_webhook_settings(WebhookSettings {
            app_id,
            target_url: "http://127.0.0.1:9/hook".to_owned(),
            max_concurrent_requests: 10,
            period: None,
            created_at: T0,
            updated_at: T0,
        })
        .await
        .expect("put_webhook_settings")
}

async fn subscribe(
    store: &dyn Store,
    app_id: i64,
    event_type: &str,
    object_type_id: Option<&str>,
    property_name: Option<&str>,
    active: bool,
) -> Subscription {
    let new = NewSubscription {
        app_id,
        event_type: event_type.to_owned(),
        object_type_id: object_type_id.map(str::to_owned),
        property_name: property_name.map(str::to_owned),
        active,
        now: T0,
    };
    match store
        .create_subscription(new)
        .await
        .expect("create_subscription")
    {
        CreateSubscription::Created(s) => s,
        CreateSubscription::LimitReached => panic!("{event_type}: limit reached"),
    }
}

/// The app's pending events, oldest first.
async fn pending(store: &dyn Store, app_id: i64) -> Vec<PendingEvent> {
    let (count, events) = store
        .pending_events(Some(app_id), 10_000)
        .await
        .expect("pending_events");
    assert_eq!(
        count,
        events.len() as u64,
        "the count is every pending event"
    );
    events
}

/// The app's pending events as (subscription id, type, fields), oldest first.
async fn seen(store: &dyn Store, app_id: i64) -> Vec<(i64, String, String)> {
    pending(store, app_id)
        .await
        .into_iter()
        .map(|e| (e.subscription_id, e.subscription_type, e.fields))
        .collect()
}

fn ev(s: &Subscription, fields: String) -> (i64, String, String) {
    (s.id, s.event_type.clone(), fields)
}

/// Every pending event of `apps` claimed and delivered, so the next write's are alone.
async fn drain(store: &dyn Store, apps: &[i64]) {
    for app_id in apps {
        let ids: Vec<i64> = pending(store, *app_id)
            .await
            .iter()
            .map(|e| e.event_id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let portal = pending(store, *app_id).await[0].portal;
        store
            .finish_attempt(attempt(*app_id, portal, ids, AttemptOutcome::Delivered))
            .await
            .expect("finish_attempt");
    }
}

fn attempt(
    app_id: i64,
    portal: PortalId,
    event_ids: Vec<i64>,
    outcome: AttemptOutcome,
) -> DeliveryAttempt {
    DeliveryAttempt {
        app_id,
        portal,
        target_url: "http://127.0.0.1:9/hook".to_owned(),
        event_ids,
        attempt_number: 0,
        status: Some(200),
        error: None,
        started_at: spoke_core::time::now_millis(),
        duration_ms: 3,
        outcome,
    }
}

/// Check 201: settings are written and replaced (keeping `created_at`) and deleted;
/// subscriptions are created with ids, listed by id, activated in a batch (unknown ids
/// answer `None`, `updated_at` moves only on a change), deleted; an app has at most
/// [`MAX_SUBSCRIPTIONS`], checked in the insert's transaction (concurrent creates included).
pub(super) async fn settings_and_subscriptions(store: &dyn Store, portal: PortalId) {
    let a = bare_app(store, portal, "a").await;
    assert_eq!(store.webhook_settings(a).await.expect("read"), None);
    let first = settings(store, a).await;
    assert_eq!(first.target_url, "http://127.0.0.1:9/hook");
    let replaced = store
        .put_webhook_settings(WebhookSettings {
            app_id: a,
            target_url: "https://example.test/ü?x=1".to_owned(),
            max_concurrent_requests: 7,
            period: Some("SECONDLY".to_owned()),
            created_at: T0 + 50,
            updated_at: T0 + 60,
        })
        .await
        .expect("replace");
    assert_eq!(
        replaced,
        WebhookSettings {
            app_id: a,
            target_url: "https://example.test/ü?x=1".to_owned(),
            max_concurrent_requests: 7,
            period: Some("SECONDLY".to_owned()),
            created_at: T0,
            updated_at: T0 + 60,
        },
        "a replacement keeps created_at"
    );
    assert_eq!(
        store.webhook_settings(a).await.expect("read"),
        Some(replaced)
    );
    assert!(store.delete_webhook_settings(a).await.expect("delete"));
    assert!(!store
        .delete_webhook_settings(a)
        .await
        .expect("delete again"));
    assert_eq!(store.webhook_settings(a).await.expect("read"), None);

    let s1 = subscribe(
        store,
        a,
        "contact.propertyChange",
        None,
        Some("email"),
        false,
    )
    .await;
    let s2 = subscribe(store, a, "object.creation", Some(CUSTOM), None, true).await;
    assert!(s2.id > s1.id, "ids ascend");
    assert_eq!(
        (s1.app_id, s1.active, s1.created_at, s1.updated_at),
        (a, false, T0, T0)
    );
    assert_eq!(s2.object_type_id.as_deref(), Some(CUSTOM));
    assert_eq!(
        store.list_subscriptions(a).await.expect("list"),
        vec![s1.clone(), s2.clone()]
    );
    let changed = store
        .set_subscriptions_active(
            a,
            vec![(s1.id, true), (s2.id, true), (s2.id + 1_000_000, true)],
            T0 + 5,
        )
        .await
        .expect("activate");
    assert_eq!(changed.len(), 3);
    let c1 = changed[0].clone().expect("s1");
    assert_eq!(
        (c1.active, c1.updated_at, c1.created_at),
        (true, T0 + 5, T0)
    );
    assert_eq!(changed[1], Some(s2.clone()), "already active: unchanged");
    assert_eq!(changed[2], None, "unknown id");
    let other = bare_app(store, portal, "b").await;
    assert_eq!(
        store
            .set_subscriptions_active(other, vec![(s1.id, false)], T0 + 6)
            .await
            .expect("another app's"),
        vec![None],
        "another app's subscription is unknown"
    );
    assert!(!store
        .delete_subscription(other, s1.id)
        .await
        .expect("delete"));
    assert!(store.delete_subscription(a, s1.id).await.expect("delete"));
    assert!(!store
        .delete_subscription(a, s1.id)
        .await
        .expect("delete again"));
    assert_eq!(store.list_subscriptions(a).await.expect("list"), vec![s2]);

    // The limit: fill up to one below it, then race two creates for the last place.
    let c = bare_app(store, portal, "c").await;
    for i in 0..MAX_SUBSCRIPTIONS - 1 {
        subscribe(
            store,
            c,
            "contact.propertyChange",
            None,
            Some(&format!("p{i}")),
            true,
        )
        .await;
    }
    let racers = (0..2).map(|i| {
        store.create_subscription(NewSubscription {
            app_id: c,
            event_type: "contact.creation".to_owned(),
            object_type_id: None,
            property_name: Some(format!("last{i}")),
            active: true,
            now: T0,
        })
    });
    let outcomes = join_all(racers).await;
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(CreateSubscription::Created(_))))
        .count();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(CreateSubscription::LimitReached)))
        .count();
    assert_eq!((created, refused), (1, 1), "{outcomes:?}");
    assert_eq!(
        store.list_subscriptions(c).await.expect("list").len(),
        MAX_SUBSCRIPTIONS
    );
    assert!(store
        .list_subscriptions(other)
        .await
        .expect("list")
        .is_empty());
}

/// Check 202: creates, updates, upserts and archives of contacts record creation,
/// propertyChange (the subscribed property, only when its value changed; "" when cleared)
/// and deletion events, with HubSpot's key order, `changeSource`/`sourceId` of the write,
/// `occurredAt` its `now`; `object.*` for the same type adds `objectTypeId`.
pub(super) async fn record_writes_record_their_events(store: &dyn Store, portal: PortalId) {
    let a = app(store, portal, "a").await;
    let created = subscribe(store, a, "contact.creation", None, None, true).await;
    let email = subscribe(
        store,
        a,
        "contact.propertyChange",
        None,
        Some("email"),
        true,
    )
    .await;
    let name = subscribe(
        store,
        a,
        "contact.propertyChange",
        None,
        Some("firstname"),
        true,
    )
    .await;
    let object = subscribe(store, a, "object.creation", Some(CONTACT), None, true).await;
    let deleted = subscribe(store, a, "contact.deletion", None, None, true).await;
    // Never fire: another type's, and a property that is not subscribable.
    subscribe(store, a, "company.creation", None, None, true).await;
    subscribe(
        store,
        a,
        "contact.propertyChange",
        None,
        Some("hs_lastmodifieddate"),
        true,
    )
    .await;

    let now = T0 + 1_000;
    let c = wctx(portal, CONTACT, now);
    let out = store
        .create_objects(
            &c,
            vec![
                new(&[("email", "a@x.test"), ("firstname", "Ann")]),
                new(&[("lastname", "Bee")]),
            ],
        )
        .await
        .expect("create");
    let (x, y) = (ok(&out[0], "x").id, ok(&out[1], "y").id);
    let creation = |id: ObjectId| {
        format!(
            r#"{{"objectId":{id},"changeFlag":"CREATED","changeSource":"INTEGRATION","sourceId":"conformance"}}"#
        )
    };
    let generic = |id: ObjectId| {
        format!(
            r#"{{"objectId":{id},"changeFlag":"CREATED","changeSource":"INTEGRATION","sourceId":"conformance","objectTypeId":"0-1"}}"#
        )
    };
    assert_eq!(
        seen(store, a).await,
        vec![
            ev(&created, creation(x)),
            ev(&object, generic(x)),
            ev(&created, creation(y)),
            ev(&object, generic(y)),
        ],
        "creation only: no propertyChange for the values a record is created with"
    );
    let events = pending(store, a).await;
    assert!(events.iter().all(|e| e.portal == portal
        && e.occurred_at == now
        && e.attempt_number == 0
        && e.next_attempt_at == now
        && e.app_id == a));
    assert!(events.windows(2).all(|w| w[0].event_id < w[1].event_id));
    drain(store, &[a]).await;

    // An update: email changes, firstname is cleared, lastname (unsubscribed) changes.
    let out = store
        .update_objects(
            &wctx(portal, CONTACT, now + 1),
            vec![patch(
                x,
                &[("email", "b@x.test"), ("firstname", ""), ("lastname", "L")],
            )],
        )
        .await
        .expect("update");
    ok(&out[0], "update");
    let change = |id: ObjectId, p: &str, v: &str| {
        format!(
            r#"{{"objectId":{id},"propertyName":"{p}","propertyValue":"{v}","changeSource":"INTEGRATION","sourceId":"conformance"}}"#
        )
    };
    assert_eq!(
        seen(store, a).await,
        vec![
            ev(&email, change(x, "email", "b@x.test")),
            ev(&name, change(x, "firstname", "")),
        ]
    );
    drain(store, &[a]).await;

    // The same values again: nothing changed, no event.
    store
        .update_objects(
            &wctx(portal, CONTACT, now + 2),
            vec![patch(x, &[("email", "b@x.test"), ("firstname", "")])],
        )
        .await
        .expect("update");
    assert_eq!(seen(store, a).await, vec![], "unchanged values");

    // An upsert that updates one record and creates another.
    let out = store
        .upsert_objects(
            &wctx(portal, CONTACT, now + 3),
            "email",
            vec![
                UpsertItem {
                    value: "b@x.test".to_owned(),
                    properties: BTreeMap::from([("firstname".to_owned(), "Bo \"B\"".to_owned())]),
                },
                UpsertItem {
                    value: "c@x.test".to_owned(),
                    properties: BTreeMap::new(),
                },
            ],
        )
        .await
        .expect("upsert");
    let z = ok(&out[1], "z").record.id;
    assert_eq!(
        seen(store, a).await,
        vec![
            ev(&created, creation(z)),
            ev(&object, generic(z)),
            ev(&name, change(x, "firstname", r#"Bo \"B\""#)),
        ]
    );
    drain(store, &[a]).await;

    // Archive: the records archived now, not an unknown or already archived one.
    store
        .archive_objects(portal, CONTACT, vec![y, x, 9_000_000_000_000_000], now + 4)
        .await
        .expect("archive");
    store
        .archive_objects(portal, CONTACT, vec![y], now + 5)
        .await
        .expect("archive again");
    let deletion = |id: ObjectId| {
        format!(r#"{{"objectId":{id},"changeFlag":"DELETED","changeSource":"API"}}"#)
    };
    let (lo, hi) = (x.min(y), x.max(y));
    assert_eq!(
        seen(store, a).await,
        vec![ev(&deleted, deletion(lo)), ev(&deleted, deletion(hi))]
    );
    assert!(pending(store, a)
        .await
        .iter()
        .all(|e| e.occurred_at == now + 4));
}

/// Check 203: association writes and removals record associationChange events for each
/// row they add or delete, both directions (each to its `from` type's listeners), with the
/// primary flag; a link that was already there gives none; an exclusive (primary) link
/// that replaces another reports the pruned rows as removed; links written with a create
/// are reported by the create's transaction.
pub(super) async fn association_writes_record_their_events(store: &dyn Store, portal: PortalId) {
    let a = app(store, portal, "a").await;
    let contact = subscribe(store, a, "contact.associationChange", None, None, true).await;
    let company = subscribe(store, a, "company.associationChange", None, None, true).await;
    let contacts = make_of(store, portal, CONTACT, 1).await;
    let companies = make_of(store, portal, COMPANY, 2).await;
    let (k, c1, c2) = (contacts[0], companies[0], companies[1]);
    assert_eq!(seen(store, a).await, vec![], "no creation subscription");

    let unlabeled = plain(HUBSPOT_DEFINED, 279, 280);
    let written = store
        .write_associations(
            portal,
            vec![link((CONTACT, k), (COMPANY, c1), vec![unlabeled.clone()])],
            link_ctx(T0 + 10),
        )
        .await
        .expect("write");
    assert_eq!(written, vec![Ok(())]);
    let assoc = |kind: &str,
                 from: ObjectId,
                 to: ObjectId,
                 removed: bool,
                 primary: bool,
                 cat: &str,
                 t: i64| {
        format!(
            r#"{{"changeSource":"API","associationType":"{kind}","fromObjectId":{from},"toObjectId":{to},"associationRemoved":{removed},"isPrimaryAssociation":{primary},"associationCategory":"{cat}","associationTypeId":{t}}}"#
        )
    };
    let h = HUBSPOT_DEFINED;
    assert_eq!(
        seen(store, a).await,
        vec![
            ev(
                &contact,
                assoc("CONTACT_TO_COMPANY", k, c1, false, false, h, 279)
            ),
            ev(
                &company,
                assoc("COMPANY_TO_CONTACT", c1, k, false, false, h, 280)
            ),
        ]
    );
    assert!(pending(store, a)
        .await
        .iter()
        .all(|e| e.occurred_at == T0 + 10));
    drain(store, &[a]).await;

    // Written again: already there, no event.
    store
        .write_associations(
            portal,
            vec![link((CONTACT, k), (COMPANY, c1), vec![unlabeled.clone()])],
            link_ctx(T0 + 11),
        )
        .await
        .expect("write again");
    assert_eq!(seen(store, a).await, vec![], "nothing changed");

    // Primary to c1, then primary to c2: the first primary's rows are pruned.
    let primary = LinkType {
        exclusive: true,
        ..plain(HUBSPOT_DEFINED, 1, 2)
    };
    for to in [c1, c2] {
        store
            .write_associations(
                portal,
                vec![link((CONTACT, k), (COMPANY, to), vec![primary.clone()])],
                link_ctx(T0 + 12),
            )
            .await
            .expect("primary");
    }
    assert_eq!(
        seen(store, a).await,
        vec![
            ev(
                &contact,
                assoc("CONTACT_TO_COMPANY", k, c1, false, true, h, 1)
            ),
            ev(
                &company,
                assoc("COMPANY_TO_CONTACT", c1, k, false, true, h, 2)
            ),
            ev(
                &contact,
                assoc("CONTACT_TO_COMPANY", k, c1, true, true, h, 1)
            ),
            ev(
                &company,
                assoc("COMPANY_TO_CONTACT", c1, k, true, true, h, 2)
            ),
            ev(
                &contact,
                assoc("CONTACT_TO_COMPANY", k, c2, false, true, h, 1)
            ),
            ev(
                &company,
                assoc("COMPANY_TO_CONTACT", c2, k, false, true, h, 2)
            ),
        ]
    );
    drain(store, &[a]).await;

    // Removing every type between k and c1 (only the unlabeled rows are left there), and a
    // removal of rows that are not there.
    store
        .unlink_associations(
            portal,
            vec![
                AssociationRemoval {
                    from_type: CONTACT.to_owned(),
                    from_id: k,
                    to_type: COMPANY.to_owned(),
                    to_id: c1,
                    types: None,
                },
                AssociationRemoval {
                    from_type: COMPANY.to_owned(),
                    from_id: c2,
                    to_type: CONTACT.to_owned(),
                    to_id: k,
                    types: Some(vec![(USER_DEFINED.to_owned(), 1001, 1002)]),
                },
            ],
            link_ctx(T0 + 13),
        )
        .await
        .expect("remove");
    assert_eq!(
        seen(store, a).await,
        vec![
            ev(
                &contact,
                assoc("CONTACT_TO_COMPANY", k, c1, true, false, h, 279)
            ),
            ev(
                &company,
                assoc("COMPANY_TO_CONTACT", c1, k, true, false, h, 280)
            ),
        ]
    );
    drain(store, &[a]).await;

    // A contact created with a link: its creation's transaction reports the link.
    let out = store
        .create_objects(
            &wctx(portal, CONTACT, T0 + 14),
            vec![NewObject {
                properties: BTreeMap::new(),
                associations: vec![NewAssociation {
                    to_type: COMPANY.to_owned(),
                    to_id: c2,
                    types: vec![unlabeled],
                }],
            }],
        )
        .await
        .expect("create with a link");
    let n = ok(&out[0], "n").id;
    let sourced = |kind: &str, from: ObjectId, to: ObjectId, t: i64| {
        format!(
            r#"{{"changeSource":"INTEGRATION","associationType":"{kind}","fromObjectId":{from},"toObjectId":{to},"associationRemoved":false,"isPrimaryAssociation":false,"sourceId":"conformance","associationCategory":"HUBSPOT_DEFINED","associationTypeId":{t}}}"#
        )
    };
    assert_eq!(
        seen(store, a).await,
        vec![
            ev(&contact, sourced("CONTACT_TO_COMPANY", n, c2, 279)),
            ev(&company, sourced("COMPANY_TO_CONTACT", c2, n, 280)),
        ]
    );
    drain(store, &[a]).await;

    // Deleting a label removes its links: reported as removed, both directions.
    let made = store
        .create_label(portal, CONTACT, COMPANY, "boss", "Boss", Some("Staff"), 50)
        .await
        .expect("create_label")
        .expect("a new label");
    let boss = made
        .iter()
        .find(|l| l.from_type == CONTACT)
        .expect("the contact side");
    let boss_type = plain(USER_DEFINED, boss.type_id, boss.inverse_type_id);
    store
        .write_associations(
            portal,
            vec![link((CONTACT, k), (COMPANY, c2), vec![boss_type])],
            link_ctx(T0 + 15),
        )
        .await
        .expect("labelled link");
    drain(store, &[a]).await;
    assert!(store
        .delete_label(portal, CONTACT, COMPANY, boss.type_id)
        .await
        .expect("delete_label"));
    let u = USER_DEFINED;
    let (t, inv) = (boss.type_id, boss.inverse_type_id);
    assert_eq!(
        seen(store, a).await,
        vec![
            ev(
                &contact,
                assoc("CONTACT_TO_COMPANY", k, c2, true, false, u, t)
            ),
            ev(
                &company,
                assoc("COMPANY_TO_CONTACT", c2, k, true, false, u, inv)
            ),
        ]
    );
}

async fn make_of(
    store: &dyn Store,
    portal: PortalId,
    object_type: &str,
    n: usize,
) -> Vec<ObjectId> {
    let out = store
        .create_objects(
            &wctx(portal, object_type, T0),
            (0..n).map(|_| new(&[])).collect(),
        )
        .await
        .expect("create_objects");
    out.iter().map(|r| ok(r, "create").id).collect()
}

/// Check 204: a custom type is subscribed to as `object.*` with its type id: creation,
/// propertyChange and associationChange events name the type (`objectTypeId`, and the
/// other end's for links); `contact.*` subscriptions see none of them, nor do `object.*`
/// ones of another type.
pub(super) async fn custom_types_are_object_events(store: &dyn Store, portal: PortalId) {
    let a = app(store, portal, "a").await;
    let created = subscribe(store, a, "object.creation", Some(CUSTOM), None, true).await;
    let changed = subscribe(
        store,
        a,
        "object.propertyChange",
        Some(CUSTOM),
        Some("model"),
        true,
    )
    .await;
    let linked = subscribe(
        store,
        a,
        "object.associationChange",
        Some(CUSTOM),
        None,
        true,
    )
    .await;
    subscribe(store, a, "object.creation", Some("2-1"), None, true).await;
    subscribe(store, a, "contact.creation", None, None, true).await;
    let car = make_of(store, portal, CUSTOM, 1).await[0];
    let generic = format!(
        r#"{{"objectId":{car},"changeFlag":"CREATED","changeSource":"INTEGRATION","sourceId":"conformance","objectTypeId":"{CUSTOM}"}}"#
    );
    assert_eq!(seen(store, a).await, vec![ev(&created, generic)]);
    drain(store, &[a]).await;

    store
        .update_objects(
            &wctx(portal, CUSTOM, T0 + 1),
            vec![patch(car, &[("model", "T")])],
        )
        .await
        .expect("update");
    let change = format!(
        r#"{{"objectId":{car},"propertyName":"model","propertyValue":"T","changeSource":"INTEGRATION","sourceId":"conformance","objectTypeId":"{CUSTOM}"}}"#
    );
    assert_eq!(seen(store, a).await, vec![ev(&changed, change)]);
    drain(store, &[a]).await;
    let contact = make_of(store, portal, CONTACT, 1).await[0];
    drain(store, &[a]).await;
    let custom = plain(USER_DEFINED, 1001, 1002);
    store
        .write_associations(
            portal,
            vec![link((CUSTOM, car), (CONTACT, contact), vec![custom])],
            link_ctx(T0 + 3),
        )
        .await
        .expect("link");
    let link_event = format!(
        r#"{{"changeSource":"API","associationType":"{CUSTOM}_TO_CONTACT","fromObjectId":{car},"toObjectId":{contact},"associationRemoved":false,"isPrimaryAssociation":false,"associationCategory":"USER_DEFINED","associationTypeId":1001,"objectTypeId":"{CUSTOM}","toObjectTypeId":"0-1"}}"#
    );
    assert_eq!(seen(store, a).await, vec![ev(&linked, link_event)]);
}

/// Check 205: no events for an app that is not installed in the portal, one installed
/// without settings, an inactive subscription, another portal's install, or a
/// propertyChange subscription of another property; none from an atomic batch that rolled
/// back; uninstalling and deleting settings stop them.
pub(super) async fn who_gets_no_events(store: &dyn Store, portal: PortalId, other: PortalId) {
    let installed = app(store, portal, "installed").await;
    let on = subscribe(store, installed, "contact.creation", None, None, true).await;
    subscribe(store, installed, "contact.deletion", None, None, false).await;
    subscribe(
        store,
        installed,
        "contact.propertyChange",
        None,
        Some("lastname"),
        true,
    )
    .await;
    let elsewhere = app(store, other, "elsewhere").await;
    subscribe(store, elsewhere, "contact.creation", None, None, true).await;
    let unsettled = bare_app(store, portal, "unsettled").await;
    store
        .install_app(unsettled, portal, T0)
        .await
        .expect("install");
    subscribe(store, unsettled, "contact.creation", None, None, true).await;
    let uninstalled = bare_app(store, portal, "uninstalled").await;
    settings(store, uninstalled).await;
    subscribe(store, uninstalled, "contact.creation", None, None, true).await;
    assert_eq!(store.installed_apps(portal).await.expect("installed"), {
        let mut v = vec![installed, unsettled];
        v.sort_unstable();
        v
    });

    let x = make_of(store, portal, CONTACT, 1).await[0];
    store
        .update_objects(
            &wctx(portal, CONTACT, T0 + 1),
            vec![patch(x, &[("firstname", "F")])],
        )
        .await
        .expect("update");
    store
        .archive_objects(portal, CONTACT, vec![x], T0 + 2)
        .await
        .expect("archive");
    let creation = format!(
        r#"{{"objectId":{x},"changeFlag":"CREATED","changeSource":"INTEGRATION","sourceId":"conformance"}}"#
    );
    assert_eq!(seen(store, installed).await, vec![ev(&on, creation)]);
    for quiet in [elsewhere, unsettled, uninstalled] {
        assert_eq!(seen(store, quiet).await, vec![], "app {quiet}");
    }
    drain(store, &[installed]).await;

    // An atomic batch that stops at a conflict writes nothing, events included.
    let held = store
        .create_objects(
            &wctx(portal, CONTACT, T0 + 3),
            vec![new(&[("email", "held@x.test")])],
        )
        .await
        .expect("create");
    ok(&held[0], "held");
    drain(store, &[installed]).await;
    let mut atomic = wctx(portal, CONTACT, T0 + 4);
    atomic.atomic = true;
    let out = store
        .create_objects(
            &atomic,
            vec![
                new(&[("email", "free@x.test")]),
                new(&[("email", "held@x.test")]),
            ],
        )
        .await
        .expect("atomic");
    assert!(out[1].is_err(), "the conflict");
    assert_eq!(
        seen(store, installed).await,
        vec![],
        "rolled back with its batch"
    );

    // Uninstalled, or without settings: silent.
    assert!(store
        .uninstall_app(installed, portal, T0)
        .await
        .expect("uninstall"));
    assert!(!store
        .uninstall_app(installed, portal, T0)
        .await
        .expect("uninstall again"));
    make_of(store, portal, CONTACT, 1).await;
    assert_eq!(seen(store, installed).await, vec![]);
    store
        .install_app(installed, portal, T0)
        .await
        .expect("install");
    store
        .install_app(installed, portal, T0 + 9)
        .await
        .expect("install again");
    assert!(store
        .delete_webhook_settings(installed)
        .await
        .expect("delete settings"));
    make_of(store, portal, CONTACT, 1).await;
    assert_eq!(seen(store, installed).await, vec![], "no settings");
    settings(store, installed).await;
    make_of(store, portal, CONTACT, 1).await;
    assert_eq!(seen(store, installed).await.len(), 1, "settings again");
}

/// Check 206: the queue. A claim takes due, unleased events oldest first, up to its limit,
/// and leases them; a second claim before the lease runs out gets none of them, one after
/// it gets them again. A retry moves an event's attempt number and due time on, a forced
/// claim takes it before it is due; a delivered event leaves the queue, a given-up one
/// too; attempts are listed newest first, by app and portal, and pruned with the events
/// after [`crate::webhooks::KEEP_FINISHED_MS`].
pub(super) async fn claims_leases_retries_and_outcomes(store: &dyn Store, portal: PortalId) {
    let a = app(store, portal, "a").await;
    subscribe(store, a, "contact.creation", None, None, true).await;
    let now = spoke_core::time::now_millis();
    let ids = make_at(store, portal, 3, now - 10).await;
    let events = pending(store, a).await;
    assert_eq!(events.len(), 3);
    let mine = |claimed: &[PendingEvent]| -> Vec<i64> {
        claimed
            .iter()
            .filter(|e| e.app_id == a)
            .map(|e| e.event_id)
            .collect()
    };
    let event_ids: Vec<i64> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), 3);

    // Claims take everything due; ours are among them, leased.
    let lease = now + 30_000;
    let claimed = store
        .claim_events(now, lease, 100_000, false)
        .await
        .expect("claim");
    assert_eq!(mine(&claimed), event_ids);
    assert!(
        claimed.windows(2).all(|w| w[0].event_id < w[1].event_id),
        "oldest first"
    );
    let again = store
        .claim_events(now + 1, lease, 100_000, false)
        .await
        .expect("claim");
    assert_eq!(mine(&again), Vec::<i64>::new(), "leased");
    let expired = store
        .claim_events(lease, lease + 30_000, 100_000, false)
        .await
        .expect("claim after the lease");
    assert_eq!(mine(&expired), event_ids, "a lease that ran out");
    assert_eq!(
        store
            .next_due()
            .await
            .expect("next_due")
            .map(|d| d <= lease + 30_000),
        Some(true)
    );

    // Retry the first two, deliver the third.
    let retry_at = now + 60_000;
    let first = store
        .finish_attempt(DeliveryAttempt {
            status: Some(503),
            ..attempt(
                a,
                portal,
                event_ids[..2].to_vec(),
                AttemptOutcome::Retry {
                    next_attempt_at: retry_at,
                },
            )
        })
        .await
        .expect("retry");
    let second = store
        .finish_attempt(attempt(
            a,
            portal,
            event_ids[2..].to_vec(),
            AttemptOutcome::Delivered,
        ))
        .await
        .expect("delivered");
    assert!(second > first);
    let left = pending(store, a).await;
    assert_eq!(
        left.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        event_ids[..2].to_vec()
    );
    assert!(left
        .iter()
        .all(|e| e.attempt_number == 1 && e.next_attempt_at == retry_at));
    assert_eq!(
        left.iter().map(|e| e.fields.clone()).collect::<Vec<_>>(),
        events[..2]
            .iter()
            .map(|e| e.fields.clone())
            .collect::<Vec<_>>(),
        "the same events"
    );
    let early = store
        .claim_events(now + 2, now + 5_000, 100_000, false)
        .await
        .expect("claim");
    assert_eq!(mine(&early), Vec::<i64>::new(), "not due yet");
    let forced = store
        .claim_events(now + 2, now + 5_000, 100_000, true)
        .await
        .expect("force");
    assert_eq!(
        mine(&forced),
        event_ids[..2].to_vec(),
        "force takes them before they are due"
    );
    let limited = store
        .claim_events(retry_at + 10_000, retry_at + 20_000, 1, false)
        .await
        .expect("claim");
    assert!(limited.len() <= 1, "the limit");

    // Give up on the first: failed, gone from the queue; deliver the second.
    store
        .finish_attempt(DeliveryAttempt {
            status: None,
            error: Some("connection refused".to_owned()),
            attempt_number: 1,
            ..attempt(a, portal, event_ids[..1].to_vec(), AttemptOutcome::GiveUp)
        })
        .await
        .expect("give up");
    store
        .finish_attempt(attempt(
            a,
            portal,
            event_ids[1..2].to_vec(),
            AttemptOutcome::Delivered,
        ))
        .await
        .expect("delivered");
    assert_eq!(pending(store, a).await, vec![]);
    // A finished event stays finished: a late attempt of it changes nothing.
    store
        .finish_attempt(attempt(
            a,
            portal,
            event_ids[..1].to_vec(),
            AttemptOutcome::Retry {
                next_attempt_at: now,
            },
        ))
        .await
        .expect("late");
    assert_eq!(pending(store, a).await, vec![]);

    let attempts = store
        .list_attempts(Some(a), None, None, 100)
        .await
        .expect("attempts");
    assert_eq!(attempts.len(), 5);
    assert!(
        attempts.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );
    let failed = &attempts[2];
    assert_eq!(
        (
            failed.outcome,
            failed.status,
            failed.error.as_deref(),
            failed.attempt_number,
            failed.event_ids.clone()
        ),
        (
            AttemptOutcome::GiveUp,
            None,
            Some("connection refused"),
            1,
            event_ids[..1].to_vec()
        )
    );
    let retried = &attempts[4];
    assert_eq!(retried.id, first);
    assert_eq!(
        (
            retried.outcome,
            retried.status,
            retried.portal,
            retried.duration_ms,
            retried.target_url.as_str()
        ),
        (
            AttemptOutcome::Retry {
                next_attempt_at: retry_at
            },
            Some(503),
            portal,
            3,
            "http://127.0.0.1:9/hook"
        )
    );
    let page = store
        .list_attempts(Some(a), Some(portal), Some(attempts[1].id), 2)
        .await
        .expect("page");
    assert_eq!(page, attempts[2..4].to_vec(), "after the last id of a page");
    assert_eq!(
        store
            .list_attempts(Some(a), Some(PortalId(portal.0 + 1)), None, 10)
            .await
            .expect("other portal"),
        vec![]
    );

    // Far later, a finished attempt prunes what finished more than the bound before it.
    let b = app(store, portal, "b").await;
    subscribe(store, b, "contact.creation", None, None, true).await;
    make_at(store, portal, 1, now).await;
    let late = pending(store, b).await;
    store
        .finish_attempt(DeliveryAttempt {
            started_at: now + crate::webhooks::KEEP_FINISHED_MS + 60_000,
            ..attempt(b, portal, vec![late[0].event_id], AttemptOutcome::Delivered)
        })
        .await
        .expect("much later");
    assert_eq!(
        store
            .list_attempts(Some(a), None, None, 100)
            .await
            .expect("pruned"),
        vec![],
        "older attempts pruned"
    );
    assert_eq!(
        store
            .list_attempts(Some(b), None, None, 100)
            .await
            .expect("kept")
            .len(),
        1
    );
}

async fn make_at(store: &dyn Store, portal: PortalId, n: usize, now: Millis) -> Vec<ObjectId> {
    let out = store
        .create_objects(
            &wctx(portal, CONTACT, now),
            (0..n).map(|_| new(&[])).collect(),
        )
        .await
        .expect("create_objects");
    out.iter().map(|r| ok(r, "create").id).collect()
}

/// Check 207: deleting an app removes its settings, subscriptions, installs, events and
/// attempts; resetting a portal keeps its installs and drops its events; deleting a
/// portal drops both.
pub(super) async fn removals_take_their_rows(store: &dyn Store, portal: PortalId, other: PortalId) {
    let a = app(store, portal, "a").await;
    let b = app(store, other, "b").await;
    store
        .install_app(b, portal, T0)
        .await
        .expect("install b here too");
    for id in [a, b] {
        subscribe(store, id, "contact.creation", None, None, true).await;
    }
    make_of(store, portal, CONTACT, 1).await;
    make_of(store, other, CONTACT, 1).await;
    let first = pending(store, a).await;
    store
        .finish_attempt(DeliveryAttempt {
            ..attempt(
                a,
                portal,
                vec![first[0].event_id],
                AttemptOutcome::Retry {
                    next_attempt_at: T0,
                },
            )
        })
        .await
        .expect("attempt");
    assert_eq!(pending(store, a).await.len(), 1);
    assert_eq!(pending(store, b).await.len(), 2);

    assert!(store.delete_app(a).await.expect("delete_app"));
    assert_eq!(store.webhook_settings(a).await.expect("settings"), None);
    assert_eq!(store.list_subscriptions(a).await.expect("subs"), vec![]);
    assert_eq!(pending(store, a).await, vec![]);
    assert_eq!(
        store
            .list_attempts(Some(a), None, None, 10)
            .await
            .expect("attempts"),
        vec![]
    );
    assert_eq!(
        store.installed_apps(portal).await.expect("installs"),
        vec![b]
    );
    assert_eq!(pending(store, b).await.len(), 2, "another app's are kept");

    assert!(store.reset_portal(portal, T0).await.expect("reset"));
    assert_eq!(
        store.installed_apps(portal).await.expect("installs"),
        vec![b],
        "kept by reset"
    );
    let left = pending(store, b).await;
    assert_eq!(left.len(), 1, "the reset portal's events are dropped");
    assert_eq!(left[0].portal, other);
    make_of(store, portal, CONTACT, 1).await;
    assert_eq!(pending(store, b).await.len(), 2, "installed still");

    assert!(store.delete_portal(portal).await.expect("delete_portal"));
    assert_eq!(
        store.installed_apps(portal).await.expect("installs"),
        Vec::<i64>::new()
    );
    let left = pending(store, b).await;
    assert_eq!(
        left.iter().map(|e| e.portal).collect::<Vec<_>>(),
        vec![other]
    );
    assert_eq!(
        store.installed_apps(other).await.expect("installs"),
        vec![b]
    );
}

/// Check (concurrency): claims racing from several stores on one database never hand
/// one event to two of them, and together take every due event.
pub async fn concurrent_claims_never_share_an_event(stores: &[&dyn Store], portal: PortalId) {
    let store = stores[0];
    let a = app(store, portal, "claims").await;
    subscribe(store, a, "contact.creation", None, None, true).await;
    let now = spoke_core::time::now_millis();
    for _ in 0..4 {
        make_at(store, portal, 50, now - 1).await;
    }
    let expected: Vec<i64> = pending(store, a).await.iter().map(|e| e.event_id).collect();
    assert_eq!(expected.len(), 200);
    let lease = now + 600_000;
    let claims = (0..8).map(|i| {
        let s = stores[i % stores.len()];
        async move {
            let mut got = Vec::new();
            loop {
                let batch = s.claim_events(now, lease, 7, false).await.expect("claim");
                if batch.is_empty() {
                    break got;
                }
                got.extend(
                    batch
                        .into_iter()
                        .filter(|e| e.app_id == a)
                        .map(|e| e.event_id),
                );
            }
        }
    });
    let mut all: Vec<i64> = join_all(claims).await.into_iter().flatten().collect();
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "an event claimed twice");
    assert_eq!(all, expected, "every due event claimed once");
}
