//! The value index (`value_index`) through every path that changes stored values: a
//! search that probes it must answer what the scan (the core's reference) answers after
//! creates, updates, clears, archives, imports of `objects` rows, snapshot restores and
//! portal resets. Checks 351-369.

use std::collections::BTreeMap;

use spoke_core::search::{evaluate, Condition, Field, Filter, Kind, Operand, SearchQuery};
use spoke_core::{ObjectId, ObjectRecord, PortalId};

use super::{ctx, patch, props, T0};
use crate::transfer::{Table, Value};
use crate::{NewObject, Rows, Store};

const CONTACTS: &str = "contacts";

fn field(name: &str, kind: Kind) -> Field {
    Field::Property {
        name: name.to_owned(),
        kind,
        unique_index: false,
    }
}

fn query(field: Field, condition: Condition) -> SearchQuery {
    SearchQuery {
        groups: vec![vec![Filter { field, condition }]],
        text: None,
        text_properties: Vec::new(),
        sort: None,
        offset: 0,
        limit: 200,
    }
}

/// The conditions the index serves (and two it leaves to the scan), on text, exact,
/// number, date and datetime readings of the check's properties.
fn queries() -> Vec<(String, SearchQuery)> {
    let t = |s: &str| Operand::Text(s.to_owned());
    let long = "Ω".repeat(250);
    let mut out = Vec::new();
    let mut add = |label: &str, f: Field, c: Condition| out.push((label.to_owned(), query(f, c)));
    for op in ["ada", "ADA", "grace", "new", "old", long.as_str()] {
        add(
            "text =",
            field("firstname", Kind::Text),
            Condition::Eq(t(op)),
        );
        add(
            "exact =",
            field("firstname", Kind::Exact),
            Condition::Eq(t(op)),
        );
    }
    let mut longer = long.clone();
    longer.push('z');
    add(
        "text in",
        field("firstname", Kind::Text),
        Condition::In(vec![t("ada"), t(&longer)]),
    );
    add(
        "text >",
        field("firstname", Kind::Text),
        Condition::Gt(t(&long)),
    );
    add(
        "text <=",
        field("firstname", Kind::Text),
        Condition::Lte(t(&long)),
    );
    add(
        "text between",
        field("firstname", Kind::Text),
        Condition::Between(t("b"), t("h")),
    );
    for n in [5.0, 7.0, 12.5, 12.0, 2024.0, -3.0] {
        add(
            "number =",
            field("n", Kind::Number),
            Condition::Eq(Operand::Number(n)),
        );
        add(
            "number >",
            field("n", Kind::Number),
            Condition::Gt(Operand::Number(n)),
        );
        add(
            "number <",
            field("n", Kind::Number),
            Condition::Lt(Operand::Number(n)),
        );
    }
    add(
        "number between",
        field("n", Kind::Number),
        Condition::Between(Operand::Number(6.0), Operand::Number(13.0)),
    );
    add(
        "number = 0 (scan)",
        field("n", Kind::Number),
        Condition::Eq(Operand::Number(0.0)),
    );
    add(
        "number <> (scan)",
        field("n", Kind::Number),
        Condition::Neq(Operand::Number(5.0)),
    );
    add(
        "date =",
        field("n", Kind::Date),
        Condition::Eq(Operand::Millis(12)),
    );
    add(
        "date >=",
        field("n", Kind::Date),
        Condition::Gte(Operand::Millis(7)),
    );
    add(
        "datetime >",
        field("n", Kind::Datetime),
        Condition::Gt(Operand::Millis(1_704_000_000_000)),
    );
    add(
        "datetime =",
        field("n", Kind::Datetime),
        Condition::Eq(Operand::Millis(1_704_153_600_000)),
    );
    out
}

/// Every query answers over `records` (the live records of the portal and type) what the
/// core's reference answers.
async fn answers_as_the_scan(
    store: &dyn Store,
    portal: PortalId,
    records: &[ObjectRecord],
    when: &str,
) {
    struct R<'a>(&'a ObjectRecord);
    impl spoke_core::search::SearchRecord for R<'_> {
        fn id(&self) -> ObjectId {
            self.0.id
        }
        fn created_at(&self) -> spoke_core::time::Millis {
            self.0.created_at
        }
        fn updated_at(&self) -> spoke_core::time::Millis {
            self.0.updated_at
        }
        fn value(&self, property: &str) -> Option<&str> {
            self.0.properties.get(property).map(String::as_str)
        }
        fn associated(&self, _: &str, _: ObjectId) -> bool {
            false
        }
    }
    let live: Vec<R<'_>> = records
        .iter()
        .filter(|r| r.archived_at.is_none())
        .map(R)
        .collect();
    for (label, q) in queries() {
        let want = evaluate(&live, &q).unwrap_or_else(|e| panic!("{when}: {label}: {e:?}"));
        let got = store
            .search_objects(portal, CONTACTS, &q)
            .await
            .unwrap_or_else(|e| panic!("{when}: {label}: {e}"));
        let ids: Vec<ObjectId> = got.records.iter().map(|r| r.id).collect();
        assert_eq!(
            (got.total, ids),
            (want.total, want.ids.clone()),
            "{when}: {label} ({q:?})"
        );
    }
}

/// The live records of the portal as stored now.
async fn stored(store: &dyn Store, portal: PortalId) -> Vec<ObjectRecord> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_objects(portal, CONTACTS, after, 100, super::LIVE)
            .await
            .expect("list");
        let done = page.is_empty();
        for r in page {
            after = Some(r.id);
            out.push(super::decoded(r));
        }
        if done {
            return out;
        }
    }
}

fn values(i: usize) -> Vec<(&'static str, String)> {
    let names = ["Ada", "ada ", "Grace", "ADA", "zed"];
    let numbers = ["5", "12.5", "7", "abc", "2024-01-02", "-3", "1e3", ""];
    let mut v = vec![("firstname", names[i % names.len()].to_owned())];
    if i % 3 != 2 {
        v.push(("n", numbers[i % numbers.len()].to_owned()));
    }
    if i == 4 {
        v.push(("firstname", "Ω".repeat(260)));
    }
    v
}

async fn seed(store: &dyn Store, portal: PortalId, n: usize) -> Vec<ObjectId> {
    let items = (0..n)
        .map(|i| NewObject {
            properties: values(i)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            associations: Vec::new(),
        })
        .collect();
    store
        .create_objects(&ctx(portal, CONTACTS, T0), items)
        .await
        .expect("create")
        .iter()
        .map(|r| r.as_ref().expect("created").id)
        .collect()
}

/// Creates, updates (a value changed, one changed only in case, one cleared, one added)
/// and archives: the probes answer as the scan after each.
pub(super) async fn writes_keep_the_index(store: &dyn Store, portal: PortalId) {
    let ids = seed(store, portal, 12).await;
    answers_as_the_scan(store, portal, &stored(store, portal).await, "created").await;
    let patches = vec![
        patch(ids[0], &[("firstname", "New"), ("n", "7")]),
        patch(ids[1], &[("firstname", "ADA ")]),
        patch(ids[2], &[("n", "")]),
        patch(ids[3], &[("n", "12")]),
        patch(ids[4], &[("firstname", "old")]),
    ];
    store
        .update_objects(&ctx(portal, CONTACTS, T0 + 10), patches)
        .await
        .expect("update");
    // Values moved between records of one batch.
    store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 20),
            vec![
                patch(ids[5], &[("firstname", "Grace"), ("n", "5")]),
                patch(ids[6], &[("firstname", "Ada"), ("n", "12.5")]),
            ],
        )
        .await
        .expect("update");
    answers_as_the_scan(store, portal, &stored(store, portal).await, "updated").await;
    store
        .archive_objects(portal, CONTACTS, vec![ids[6], ids[7]], T0 + 30)
        .await
        .expect("archive");
    answers_as_the_scan(store, portal, &stored(store, portal).await, "archived").await;
    // Upserts on a unique value: created, then updated.
    let upsert = |value: &str, first: &str| crate::UpsertItem {
        value: value.to_owned(),
        properties: props(&[("firstname", first), ("n", "5")]),
    };
    for (t, first) in [(40, "Grace"), (50, "Ada")] {
        store
            .upsert_objects(
                &ctx(portal, CONTACTS, T0 + t),
                "email",
                vec![upsert("vi@example.com", first)],
            )
            .await
            .expect("upsert");
    }
    answers_as_the_scan(store, portal, &stored(store, portal).await, "upserted").await;
}

/// A snapshot restored puts back the values it held (the index follows); a reset empties
/// the portal, and what is written afterwards is found.
pub(super) async fn restore_and_reset_keep_the_index(store: &dyn Store, portal: PortalId) {
    store.ensure_portal(portal, T0).await.expect("portal");
    let ids = seed(store, portal, 10).await;
    store
        .create_snapshot(portal, "vi", T0 + 1)
        .await
        .expect("snapshot")
        .expect("taken");
    let before = stored(store, portal).await;
    store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 10),
            vec![
                patch(ids[0], &[("firstname", "New"), ("n", "7")]),
                patch(ids[3], &[("n", "")]),
            ],
        )
        .await
        .expect("update");
    seed(store, portal, 3).await;
    assert!(store.restore_snapshot(portal, "vi").await.expect("restore"));
    let after = stored(store, portal).await;
    assert_eq!(after.len(), before.len(), "the snapshot's records");
    answers_as_the_scan(store, portal, &after, "restored").await;
    assert!(store.reset_portal(portal, T0 + 20).await.expect("reset"));
    answers_as_the_scan(store, portal, &[], "reset").await;
    seed(store, portal, 5).await;
    answers_as_the_scan(
        store,
        portal,
        &stored(store, portal).await,
        "written after reset",
    )
    .await;
}

/// `objects` rows imported (`spoke copy`) are found by their values, also when an import
/// replaces a stored record's values.
pub(super) async fn imported_records_are_indexed(store: &dyn Store, portal: PortalId) {
    let ids = seed(store, portal, 6).await;
    let records = stored(store, portal).await;
    let mut rows = Rows::empty(Table::Objects);
    for (r, i) in records.iter().zip(0..) {
        // Record i gets record i+1's values; the last keeps its own.
        let values = records.get(i + 1).map_or(&r.properties, |n| &n.properties);
        let json = serde_json::to_string(values).expect("json");
        rows.push_row(|_, c| {
            Ok::<_, ()>(match c.name {
                "id" => Value::Int(r.id),
                "portal_id" => Value::Int(portal.0),
                "object_type" => Value::Text(CONTACTS.to_owned()),
                "properties" => Value::Text(json.clone()),
                "version" => Value::Int(2),
                "created_at" | "updated_at" => Value::Int(T0),
                _ => Value::Null,
            })
        })
        .expect("row");
    }
    // And a record that was not stored before.
    let new_id = ids.iter().max().copied().unwrap_or(0) + 1_000_000;
    let fresh: BTreeMap<String, String> = props(&[("firstname", "Grace"), ("n", "2024-01-02")]);
    let json = serde_json::to_string(&fresh).expect("json");
    rows.push_row(|_, c| {
        Ok::<_, ()>(match c.name {
            "id" => Value::Int(new_id),
            "portal_id" => Value::Int(portal.0),
            "object_type" => Value::Text(CONTACTS.to_owned()),
            "properties" => Value::Text(json.clone()),
            "version" => Value::Int(1),
            "created_at" | "updated_at" => Value::Int(T0),
            _ => Value::Null,
        })
    })
    .expect("row");
    store.import_rows(rows).await.expect("import");
    let after = stored(store, portal).await;
    assert_eq!(after.len(), records.len() + 1, "the imported record");
    answers_as_the_scan(store, portal, &after, "imported").await;
}
