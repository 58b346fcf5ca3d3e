//! Transfer (`spoke copy`): [`check_transfer`] copies every table between two stores and
//! holds the copy to the source, row for row and read for read.

use spoke_core::association::{HUBSPOT_DEFINED, USER_DEFINED};
use spoke_core::{ObjectId, ObjectRecord, PortalId};

use super::{
    create_one, ctx, fresh_base, new, ok, patch, prop_def, read_unique, COMPANIES, CONTACTS, LIVE,
    T0,
};
use crate::transfer::{Chunks, Value};
use crate::{
    AssociationWrite, PropertyGroup, ReadKeys, ReadOptions, Rows, Store, Table, WriteSource,
};

/// `dest` answers the call (a method of [`Store`]) as `source` does.
macro_rules! same_answer {
    ($dest:expr, $source:expr, $method:ident($($arg:expr),* $(,)?)) => {
        assert_eq!(
            $dest.$method($($arg.clone()),*).await.expect(stringify!($method)),
            $source.$method($($arg),*).await.expect(stringify!($method)),
            "{} answers as in the source",
            stringify!($method)
        )
    };
}

/// Checks [`crate::TransferStore`] between two backends (or two databases of one): writes
/// every kind of row into `source` (in fresh portals; whatever else `source` holds is
/// copied too), copies every table into `dest` in small chunks, and checks that `dest` then
/// exports exactly what `source` does, answers reads as `source` does, that copying again
/// changes nothing, and that new records get ids past the copied ones.
///
/// `dest` must be an empty database: the copy overwrites rows with the same keys.
pub async fn check_transfer(source: &dyn Store, dest: &dyn Store) {
    for t in Table::ALL {
        assert_eq!(
            dest.count_rows(t).await.expect("count_rows failed"),
            0,
            "check_transfer needs an empty destination; {t} has rows"
        );
    }

    let base = fresh_base();
    let portal = PortalId(base + 1);
    let other = PortalId(base + 2);
    for p in [portal, other] {
        source.ensure_portal(p, T0).await.expect("ensure_portal");
    }
    let live_hash = format!("transfer-{}-live", portal.0);
    let revoked_hash = format!("transfer-{}-revoked", portal.0);
    let scopes = vec!["crm.objects.contacts.read".to_owned()];
    let live = source
        .create_token(portal, &live_hash, "pat-na1-live", &scopes, T0)
        .await
        .expect("create_token");
    let revoked = source
        .create_token(other, &revoked_hash, "pat-na1-gone", &[], T0 + 1)
        .await
        .expect("create_token");
    assert!(source
        .revoke_token(revoked.id, T0 + 2)
        .await
        .expect("revoke_token"));

    source
        .put_group(
            portal,
            CONTACTS,
            PropertyGroup {
                name: "transfer_group".into(),
                label: "Transfer".into(),
                display_order: 3,
                archived: false,
            },
            true,
        )
        .await
        .expect("put_group");
    let mut unique = prop_def("transfer_key", "Key");
    unique.has_unique_value = true;
    let mut gone = prop_def("transfer_gone", "Gone");
    source
        .insert_properties(portal, CONTACTS, vec![unique, gone.clone()])
        .await
        .expect("insert_properties");
    gone.archived = true;
    gone.archived_at = Some(T0 + 5);
    assert!(source
        .update_property(portal, CONTACTS, gone)
        .await
        .expect("update_property"));

    // A custom object schema with its definitions, and a purged one (a tombstone).
    let schema = source
        .create_schema(super::schemas::new_schema(
            portal,
            "transfer_cars",
            &[Some(CONTACTS)],
        ))
        .await
        .expect("create_schema")
        .expect("a schema")
        .schema;
    let purged = source
        .create_schema(super::schemas::new_schema(portal, "transfer_gone", &[]))
        .await
        .expect("create_schema")
        .expect("a schema")
        .schema;
    assert_eq!(
        source
            .purge_schema(portal, purged.number, T0)
            .await
            .expect("purge"),
        Ok(())
    );

    // Records with history, unique values (email and a custom one), an archived record,
    // and records in a second portal and type.
    let mut c = ctx(portal, CONTACTS, T0 + 10);
    c.unique_properties = vec!["email".into(), "transfer_key".into()];
    let contacts = source
        .create_objects(
            &c,
            (0..7)
                .map(|i| {
                    new(&[
                        ("email", &format!("t{i}@example.com")),
                        ("firstname", &format!("First {i}")),
                        ("lastname", "Zoë Ünïcødé 😀"),
                        ("transfer_key", &format!("K-{i}")),
                    ])
                })
                .collect(),
        )
        .await
        .expect("create_objects");
    let contacts: Vec<ObjectRecord> = contacts.iter().map(|r| ok(r, "create")).collect();
    c.now = T0 + 20;
    c.source = WriteSource {
        source_type: "IMPORT".into(),
        source_id: None,
    };
    let updated = source
        .update_objects(
            &c,
            vec![
                patch(
                    contacts[0].id,
                    &[("firstname", "Renamed"), ("lastname", "L")],
                ),
                patch(contacts[1].id, &[("firstname", "")]),
            ],
        )
        .await
        .expect("update_objects");
    ok(&updated[0], "update");
    source
        .archive_objects(portal, CONTACTS, vec![contacts[6].id], T0 + 30)
        .await
        .expect("archive_objects");
    let company = create_one(
        source,
        &ctx(portal, COMPANIES, T0 + 40),
        &[("name", "Acme"), ("domain", "acme.io")],
    )
    .await;
    create_one(
        source,
        &ctx(other, CONTACTS, T0 + 50),
        &[("email", "o@example.com")],
    )
    .await;

    // Associations: HubSpot-defined ones and a user-defined label.
    let labels = source
        .create_label(
            portal,
            CONTACTS,
            COMPANIES,
            "transfer_label",
            "Friend",
            Some("Of"),
            50,
        )
        .await
        .expect("create_label")
        .expect("label created");
    let label = labels
        .iter()
        .find(|l| l.from_type == CONTACTS)
        .expect("the contact-to-company direction")
        .clone();
    let links: Vec<AssociationWrite> = contacts[..5]
        .iter()
        .map(|r| AssociationWrite {
            from_type: CONTACTS.into(),
            from_id: r.id,
            to_type: COMPANIES.into(),
            to_id: company.id,
            types: vec![
                super::associations::unlabeled(),
                super::associations::plain(USER_DEFINED, label.type_id, label.inverse_type_id),
            ],
        })
        .collect();
    for r in source
        .put_associations(portal, links)
        .await
        .expect("put_associations")
    {
        assert_eq!(r, Ok(()), "put_associations");
    }

    // Rows no write path makes, imported as they are: every column type at its limits,
    // NULL and not, ids past 2^53, text past ASCII (in keys too, where it sorts bytewise),
    // archived rows.
    let crafted = crafted_rows(PortalId(base + 3), base);
    for rows in &crafted {
        let t = rows.table();
        assert_eq!(
            source
                .import_rows(rows.clone())
                .await
                .expect("import_rows failed"),
            rows.len() as u64,
            "{t}: each new row is counted"
        );
        let stored = export_table(source, t, 1_000_000).await;
        for row in rows.iter() {
            assert!(
                stored.iter().any(|s| s == row),
                "{t}: {row:?} is exported as it was imported"
            );
        }
    }
    refuses_values_their_columns_cannot_hold(source, PortalId(base + 4)).await;

    // Paging by key visits every row once, in the same order as one big chunk.
    for t in Table::ALL {
        let whole = export_table(source, t, 1_000_000).await;
        assert_eq!(
            export_table(source, t, 2).await,
            whole,
            "{t}: chunks of 2 rows export what one chunk does"
        );
        assert_eq!(
            source.count_rows(t).await.expect("count_rows") as usize,
            whole.len(),
            "{t}: count_rows counts every exported row"
        );
    }

    // Copy in chunks of 3, then again: the second copy changes nothing.
    let first = copy_tables(source, dest, 3).await;
    assert!(first > 0, "the first copy writes rows");
    assert_eq!(
        copy_tables(source, dest, 3).await,
        0,
        "copying the same rows again changes nothing"
    );
    for t in Table::ALL {
        assert_eq!(
            export_table(dest, t, 1_000_000).await,
            export_table(source, t, 1_000_000).await,
            "{t}: the destination holds exactly the source's rows"
        );
    }

    // Through the ordinary traits, the copy answers as the source does.
    let history = ["firstname".to_owned(), "email".to_owned()];
    let options = ReadOptions {
        archived: false,
        history: &history,
    };
    let ids: Vec<ObjectId> = contacts.iter().map(|r| r.id).collect();
    for archived in [false, true] {
        let options = ReadOptions {
            archived,
            ..options
        };
        same_answer!(
            dest,
            source,
            read_objects(portal, CONTACTS, ReadKeys::Ids(ids.clone()), options)
        );
    }
    same_answer!(dest, source, list_properties(portal, CONTACTS));
    same_answer!(dest, source, list_groups(portal, CONTACTS));
    let requests = vec![(company.id, None)];
    same_answer!(
        dest,
        source,
        page_associations(portal, COMPANIES, CONTACTS, requests.clone(), 2)
    );
    assert_eq!(
        read_unique(dest, portal, CONTACTS, "transfer_key", "K-3", LIVE)
            .await
            .map(|r| r.id),
        Some(contacts[3].id),
        "unique values are copied"
    );
    for archived in [false, true] {
        same_answer!(dest, source, list_schemas(portal, archived));
    }
    let ty = schema.object_type_id();
    same_answer!(dest, source, list_definitions(portal, ty.as_str(), None));
    let after_copy = dest
        .create_schema(super::schemas::new_schema(portal, "transfer_gone", &[]))
        .await
        .expect("create_schema")
        .expect("the purged name is free in the copy");
    assert!(
        after_copy.schema.number > purged.number,
        "a copy never hands out a purged schema's number"
    );
    let by_hash = [
        (&live_hash, Some(live.clone()), "a token works by its hash"),
        (&revoked_hash, None, "a revoked token stays revoked"),
    ];
    for (hash, token, why) in by_hash {
        assert_eq!(
            dest.find_token(hash).await.expect("find_token"),
            token,
            "{why}"
        );
    }
    assert_eq!(
        dest.list_labels(portal, CONTACTS, COMPANIES)
            .await
            .expect("list_labels"),
        labels
            .iter()
            .filter(|l| l.from_type == CONTACTS)
            .cloned()
            .collect::<Vec<_>>(),
        "labels are copied"
    );
    // The seeded directory (users, owners, teams, roles) travels whole.
    same_answer!(dest, source, read_directory(portal));

    // New rows get ids past every copied one.
    let max_object = ids
        .iter()
        .chain([&company.id, &crafted_id(base, 1)])
        .copied()
        .max()
        .unwrap_or(0);
    let fresh = create_one(
        dest,
        &ctx(portal, CONTACTS, T0 + 60),
        &[("email", "new@example.com")],
    )
    .await;
    assert!(
        fresh.id > max_object,
        "a new record gets an id ({}) past the copied ones ({max_object})",
        fresh.id
    );
    let token = dest
        .create_token(
            portal,
            &format!("transfer-{}-new", portal.0),
            "pat-na1-new",
            &[],
            T0,
        )
        .await
        .expect("create_token");
    assert!(
        token.id > revoked.id.max(crafted_id(base, 1)),
        "a new token gets an id ({}) past the copied ones ({}, {})",
        token.id,
        revoked.id,
        crafted_id(base, 1)
    );
}

/// The `n`th id of the rows [`crafted_rows`] writes: past 2^53 (the largest integer a
/// JSON double holds exactly) and past every id a test database hands out, unique per run.
fn crafted_id(base: i64, n: i64) -> i64 {
    base.max(1 << 53) + 10 + n
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn text(t: &str) -> Value {
    Value::Text(t.to_owned())
}

fn rows_of(table: Table, data: Vec<Vec<Value>>) -> Rows {
    let mut out = Rows::empty(table);
    for row in data {
        assert_eq!(
            row.len(),
            table.columns().len(),
            "{table}: a value per column"
        );
        out.push_row(|i, _| Ok::<_, ()>(row[i].clone()))
            .expect("a whole row");
    }
    out
}

/// Rows of every table in `portal`, in [`Table::ALL`] order; every nullable column holds
/// NULL in one row and a value in another. Laid out by hand, a row a line.
#[rustfmt::skip]
fn crafted_rows(portal: PortalId, base: i64) -> Vec<Rows> {
    let p = int(portal.0);
    let (a, b) = (int(crafted_id(base, 0)), int(crafted_id(base, 1)));
    let label_type = 1 << 40;
    let json = |v: serde_json::Value| text(&v.to_string());
    let mut definition = prop_def("prop_ü", "Ünïcødé 😀");
    definition.archived = true;
    definition.archived_at = Some(i64::MAX);
    let definition = serde_json::to_string(&definition).expect("a definition is JSON");
    let (null, flag) = (Value::Null, Value::Bool);
    let (c, co) = (text(CONTACTS), text(COMPANIES));
    let (max, min) = (int(i64::MAX), int(i64::MIN));
    let (lt, lt1) = (int(label_type), int(label_type + 1));
    let hash = |what: &str| text(&format!("transfer-{base}-{what}"));
    let scopes = text("crm.objects.contacts.read crm.objects.companies.write");
    let values = json(serde_json::json!({"firstname": "Zoë 😀", "lastname": "", "prop_ü": "ü"}));
    let group = |name: &str, label: &str, order: i32, archived: bool| {
        vec![p.clone(), c.clone(), text(name), text(label), int(order.into()), flag(archived)]
    };
    let unique = |value: &str, id: &Value| {
        vec![p.clone(), c.clone(), text("email"), text(value), id.clone()]
    };
    let all = vec![
        rows_of(Table::Portals, vec![vec![p.clone(), min.clone()]]),
        rows_of(Table::Tokens, vec![
            vec![a.clone(), p.clone(), hash("crafted"), text("pat-ü-😀"), scopes, max.clone(), null.clone()],
            vec![b.clone(), p.clone(), hash("revoked"), text(""), text(""), min.clone(), max.clone()],
        ]),
        rows_of(Table::PropertyGroups, vec![
            group("grüppe 😀", "Étiquette ✓", i32::MIN, true),
            group("z", "", i32::MAX, false),
        ]),
        rows_of(Table::Properties, vec![
            vec![p.clone(), c.clone(), text("prop_ü"), text(&definition), flag(true)],
        ]),
        rows_of(Table::Objects, vec![
            vec![a.clone(), p.clone(), c.clone(), values, max.clone(), min.clone(), max.clone(), max.clone()],
            vec![b.clone(), p.clone(), text("2-123"), json(serde_json::json!({})), int(1), int(0), int(0), null.clone()],
        ]),
        rows_of(Table::PropertyHistory, vec![
            vec![a.clone(), text("firstname"), int(1), text("Zoë 😀"), min, text("IMPORT"), null],
            vec![a.clone(), text("firstname"), max.clone(), text(""), max, text("CRM_UI"), text("user ü 1")],
            vec![a.clone(), text("prop_ü"), int(1), text("ü"), int(0), text("API"), text("")],
        ]),
        // Bytewise, "Z" < "z" < "ü": keyset paging must agree on that in every backend.
        rows_of(Table::UniqueValues, vec![
            unique("z@example.com", &a),
            unique("ü@example.com", &b),
            unique("Z@example.com", &a),
        ]),
        rows_of(Table::AssociationLabels, vec![
            vec![p.clone(), c.clone(), co.clone(), lt.clone(), text("Freund 🤝"), text("friend_ü"), lt1.clone()],
            vec![p.clone(), co.clone(), c.clone(), lt1.clone(), text("Freund 🤝"), text("friend_ü"), lt.clone()],
        ]),
        rows_of(Table::Associations, vec![
            vec![p.clone(), c.clone(), a.clone(), co.clone(), b.clone(), text(USER_DEFINED), lt],
            vec![p.clone(), co.clone(), b.clone(), c.clone(), a.clone(), text(USER_DEFINED), lt1],
            vec![p.clone(), c, a.clone(), co, b.clone(), text(HUBSPOT_DEFINED), int(279)],
        ]),
        rows_of(Table::DirectoryTeams, vec![
            vec![a.clone(), p.clone(), text("Équipe 😀")],
            vec![b.clone(), p.clone(), text("")],
        ]),
        rows_of(Table::DirectoryRoles, vec![
            vec![a.clone(), p.clone(), text("Rôle ✓"), flag(true)],
            vec![b.clone(), p.clone(), text(""), flag(false)],
        ]),
        rows_of(Table::DirectoryUsers, vec![
            vec![a.clone(), p.clone(), int(i64::MAX), text("zoë@example.com"), text("Zoë 😀"),
                 text(""), a.clone(), a.clone(), text(&format!("{} {}", crafted_id(base, 0), crafted_id(base, 1))),
                 json(serde_json::json!(["sales ü"])), flag(true), int(i64::MIN), int(i64::MAX), Value::Null],
            vec![b.clone(), p.clone(), int(1), text("z@example.com"), Value::Null, Value::Null, Value::Null,
                 Value::Null, text(""), json(serde_json::json!([])), flag(false), int(0), int(0), int(i64::MAX)],
        ]),
        rows_of(Table::Pipelines, vec![
            vec![p.clone(), text("0-3"), text("pipe ü"), text("Pipeline 😀"), int(-1), int(0), int(1), Value::Null],
            vec![p.clone(), text("0-3"), text("Z"), text(""), int(i32::MAX.into()), int(i64::MIN), int(i64::MAX), int(i64::MAX)],
        ]),
        rows_of(Table::PipelineStages, vec![
            vec![p.clone(), text("0-3"), text("pipe ü"), text("stage ü"), int(0), text("Étape"), int(2), json(serde_json::json!({"probability": "0.5"})), text("READ_ONLY"), int(0), int(1), Value::Null],
            vec![p.clone(), text("0-3"), text("pipe ü"), text("a"), int(1), text("A"), int(-3), json(serde_json::json!({})), text(""), int(i64::MIN), int(i64::MAX), int(i64::MAX)],
        ]),
        rows_of(Table::PipelineAudits, vec![
            vec![p.clone(), text("0-3"), text("pipe ü"), text(""), int(1), text("CREATE"), int(0), json(serde_json::json!({"id": "pipe ü"}))],
            vec![p.clone(), text("0-3"), text("pipe ü"), text("stage ü"), int(i64::MAX), text("UPDATE"), int(i64::MIN), json(serde_json::json!({}))],
        ]),
        rows_of(Table::CustomObjectSchemas, vec![
            vec![a.clone(), p.clone(), text("Cars"), text("Car ü"), text("Cars 😀"), text(""), text("model"),
                 json(serde_json::json!(["make"])), json(serde_json::json!(["model", "make"])),
                 json(serde_json::json!([])), flag(true), flag(false), int(i64::MIN), int(i64::MAX),
                 int(1), int(2), Value::Null, Value::Null],
            vec![b.clone(), p.clone(), text("cars"), text(""), text(""), text("Gone ✓"), Value::Null,
                 json(serde_json::json!([])), json(serde_json::json!([])), json(serde_json::json!(["x"])),
                 flag(false), flag(true), int(0), int(1), Value::Null, Value::Null, int(1), int(2)],
        ]),
        rows_of(Table::AssociationDefinitions, vec![
            vec![p.clone(), text("2-1"), text(CONTACTS), int(label_type + 2), int(label_type + 3), text(USER_DEFINED),
                 text("cars_to_contacts ü"), int(i64::MIN), int(i64::MAX)],
            vec![p.clone(), text(CONTACTS), text("2-1"), int(label_type + 3), int(label_type + 2), text(USER_DEFINED),
                 text(""), int(0), int(0)],
        ]),
        rows_of(Table::OAuthApps, vec![
            vec![a.clone(), text("Äpp 😀"), hash("client-a"), hash("secret-a"), text("v1.00.00"), hash("key-a"),
                 text("v1.01.01"), json(serde_json::json!(["http://localhost/ü"])), text("oauth tickets"), text(""), int(i64::MIN)],
            vec![b.clone(), text(""), hash("client-b"), hash("secret-b"), text(""), hash("key-b"), text(""),
                 json(serde_json::json!([])), text(""), text("e-commerce"), int(i64::MAX)],
        ]),
        rows_of(Table::OAuthCodes, vec![
            vec![hash("code-1"), a.clone(), p.clone(), text("oauth"), int(0), int(i64::MAX), text("http://localhost/ü"), Value::Null],
            vec![hash("code-2"), b.clone(), p.clone(), text(""), int(i64::MIN), int(0), text(""), int(i64::MAX)],
        ]),
        rows_of(Table::OAuthRefreshTokens, vec![
            vec![hash("refresh-1"), a.clone(), p.clone(), text("oauth tickets"), int(i64::MAX)],
        ]),
        rows_of(Table::OAuthAccessTokens, vec![
            vec![hash("access-1"), a.clone(), p.clone(), text("oauth tickets"), int(0), int(i64::MAX)],
        ]),
        rows_of(Table::PortalClocks, vec![
            vec![p.clone(), text("frozen"), int(i64::MAX), int(0)],
            vec![b.clone(), text("offset ü"), Value::Null, int(i64::MIN)],
        ]),
        rows_of(Table::WebhookSettings, vec![
            vec![a.clone(), text("http://localhost/hook ü"), int(10), text("SECONDLY"), int(i64::MIN), int(i64::MAX)],
            vec![b.clone(), text(""), int(i64::MAX), Value::Null, int(0), int(0)],
        ]),
        rows_of(Table::WebhookSubscriptions, vec![
            vec![a.clone(), a.clone(), text("object.propertyChange"), text("2-1"), text("prop_ü"), flag(true), int(i64::MIN), int(i64::MAX)],
            vec![b.clone(), a.clone(), text("contact.creation"), Value::Null, Value::Null, flag(false), int(0), int(0)],
        ]),
        rows_of(Table::AppInstalls, vec![
            vec![a.clone(), p.clone(), int(i64::MAX)],
            vec![b.clone(), p.clone(), int(i64::MIN)],
        ]),
        rows_of(Table::OAuthAppTokens, vec![
            vec![hash("app-token-1"), a.clone(), text("webhooks-journal-data-access"), int(i64::MIN), int(i64::MAX)],
            vec![hash("app-token-2"), b.clone(), text(""), int(0), int(0)],
        ]),
        rows_of(Table::JournalSubscriptions, vec![
            vec![a.clone(), a.clone(), text("OBJECT"), p.clone(), text("2-1"), Value::Null,
                 json(serde_json::json!(["CREATE", "UPDATE"])), json(serde_json::json!(["prop_ü"])),
                 json(serde_json::json!([1, i64::MAX])), json(serde_json::json!([])), int(i64::MIN), int(i64::MAX)],
            vec![b.clone(), a.clone(), text("APP_LIFECYCLE_EVENT"), Value::Null, Value::Null, text("ev ü"),
                 json(serde_json::json!([])), json(serde_json::json!([])), json(serde_json::json!([])),
                 json(serde_json::json!(["0-2"])), int(0), int(0)],
        ]),
        rows_of(Table::JournalFilters, vec![
            vec![a.clone(), a.clone(), a.clone(),
                 json(serde_json::json!([{"filterType": "CRM_OBJECT_PROPERTY", "property": "ü", "operator": "EQ", "value": "x"}])),
                 int(i64::MAX)],
            vec![b.clone(), a.clone(), b, json(serde_json::json!([])), int(i64::MIN)],
        ]),
    ];
    for rows in &all {
        let t = rows.table();
        rows.check()
            .unwrap_or_else(|e| panic!("{t}: a crafted value does not fit: {e}"));
        for (i, c) in t.columns().iter().enumerate() {
            let nulls = rows.column(i).filter(|v| **v == Value::Null).count();
            assert!(nulls < rows.len(), "{t}.{}: a row with a value", c.name);
            assert!(!c.nullable || nulls > 0, "{t}.{}: a row with NULL", c.name);
        }
    }
    assert_eq!(
        all.iter().map(Rows::table).collect::<Vec<_>>(),
        Table::ALL,
        "a chunk of every table"
    );
    all
}

/// A chunk holding a value its column cannot hold is refused whole: nothing of it is
/// written, whatever the backend's own typing would have made of the value.
async fn refuses_values_their_columns_cannot_hold(store: &dyn Store, portal: PortalId) {
    let portals = store.count_rows(Table::Portals).await.expect("count_rows");
    let bad_groups = [
        (int(i64::from(i32::MAX) + 1), Value::Bool(false)),
        (int(1), int(1)),
        (Value::Null, Value::Bool(false)),
    ];
    for (display_order, archived) in bad_groups {
        let bad = rows_of(
            Table::PropertyGroups,
            vec![
                vec![
                    int(portal.0),
                    text(CONTACTS),
                    text("fine"),
                    text("Fine"),
                    int(1),
                    Value::Bool(false),
                ],
                vec![
                    int(portal.0),
                    text(CONTACTS),
                    text("bad"),
                    text("Bad"),
                    display_order.clone(),
                    archived.clone(),
                ],
            ],
        );
        assert!(
            bad.check().is_err(),
            "{display_order}, {archived} does not fit"
        );
        assert!(
            store.import_rows(bad).await.is_err(),
            "display_order {display_order}, archived {archived} is refused"
        );
    }
    let bad = rows_of(
        Table::Portals,
        vec![
            vec![int(portal.0), int(T0)],
            vec![int(portal.0 + 1), text("T0")],
        ],
    );
    assert!(
        store.import_rows(bad).await.is_err(),
        "text in an integer column is refused"
    );
    assert_eq!(
        store.count_rows(Table::Portals).await.expect("count_rows"),
        portals,
        "nothing of a refused chunk is written"
    );
    let groups = store
        .list_groups(portal, CONTACTS)
        .await
        .expect("list_groups");
    assert!(
        groups.iter().all(|g| g.name != "fine"),
        "nothing of a refused chunk is written"
    );
}

/// Copies every table from `source` to `dest` in chunks; returns the rows written.
async fn copy_tables(source: &dyn Store, dest: &dyn Store, chunk: usize) -> u64 {
    let mut written = 0;
    for t in Table::ALL {
        let mut chunks = Chunks::new(source, t, chunk);
        while let Some(rows) = chunks.next().await.expect("export_rows failed") {
            assert_eq!(rows.table(), t, "export_rows returns rows of its table");
            assert!(
                rows.len() <= chunk,
                "export_rows returns at most `limit` rows"
            );
            written += dest.import_rows(rows).await.expect("import_rows failed");
        }
        let none = dest.import_rows(Rows::empty(t)).await;
        assert_eq!(none.ok(), Some(0), "an empty chunk writes nothing");
    }
    dest.finish_import().await.expect("finish_import failed");
    written
}

/// Every row of a table, exported in chunks of `chunk`.
async fn export_table(store: &dyn Store, table: Table, chunk: usize) -> Rows {
    let mut all = Rows::empty(table);
    let mut chunks = Chunks::new(store, table, chunk);
    while let Some(rows) = chunks.next().await.expect("export_rows failed") {
        if let Err(other) = all.append(rows) {
            panic!("export_rows({table}) returned rows of {}", other.table());
        }
    }
    all
}
