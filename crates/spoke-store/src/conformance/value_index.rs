//! The value index (`value_index`) through every path that changes stored values: a
//! search that probes it must answer what the scan (the core's reference) answers after
//! creates, updates, clears, archives, imports of `objects` rows, snapshot restores and
//! portal resets. Checks 351-369. Lazy indexing (only searched properties are indexed, and
//! the first search makes their rows, in steps; words only for tokens): checks 431-435.

use std::collections::BTreeMap;

use spoke_core::search::{evaluate, Condition, Field, Filter, Kind, Operand, SearchQuery};
use spoke_core::{ObjectId, ObjectRecord, PortalId};

use super::{ctx, patch, props, T0};
use crate::transfer::{Table, Value};
use crate::value_index::IndexRow;
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
    // Tokens: a whole value, a word of several, prefixes, a suffix (the scan), and tokens
    // longer than a key, with and without `*`.
    let omegas = "ω".repeat(205);
    let omegas_wild = format!("{omegas}*");
    for token in [
        "ada",
        "lovelace",
        "hopper",
        "ad*",
        "gr*",
        "grace-h*",
        "*er",
        "ω*",
        "x",
        omegas.as_str(),
        omegas_wild.as_str(),
    ] {
        for kind in [Kind::Text, Kind::Exact] {
            add(
                "token",
                field("firstname", kind),
                Condition::ContainsToken(token.to_owned()),
            );
        }
    }
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
    let names = [
        "Ada",
        "ada ",
        "Grace",
        "ADA",
        "zed",
        "Ada Lovelace",
        "grace-hopper!",
    ];
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
    // Indexed before the snapshot, so the restore has rows to make again.
    answers_as_the_scan(store, portal, &stored(store, portal).await, "seeded").await;
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

/// Adds a contact's `objects` row, as `spoke copy` imports it, to `rows`.
fn push_contact(
    rows: &mut Rows,
    portal: PortalId,
    id: ObjectId,
    values: &BTreeMap<String, String>,
    version: i64,
) {
    let json = serde_json::to_string(values).expect("json");
    rows.push_row(|_, c| {
        Ok::<_, ()>(match c.name {
            "id" => Value::Int(id),
            "portal_id" => Value::Int(portal.0),
            "object_type" => Value::Text(CONTACTS.to_owned()),
            "properties" => Value::Text(json.clone()),
            "version" => Value::Int(version),
            "created_at" | "updated_at" => Value::Int(T0),
            _ => Value::Null,
        })
    })
    .expect("row");
}

/// `objects` rows imported (`spoke copy`) are found by their values, also when an import
/// replaces a stored record's values.
pub(super) async fn imported_records_are_indexed(store: &dyn Store, portal: PortalId) {
    let ids = seed(store, portal, 6).await;
    let records = stored(store, portal).await;
    // Indexed first, so the import keeps rows.
    answers_as_the_scan(store, portal, &records, "seeded").await;
    let mut rows = Rows::empty(Table::Objects);
    for (r, i) in records.iter().zip(0..) {
        // Record i gets record i+1's values; the last keeps its own.
        let values = records.get(i + 1).map_or(&r.properties, |n| &n.properties);
        push_contact(&mut rows, portal, r.id, values, 2);
    }
    // And a record that was not stored before.
    let new_id = ids.iter().max().copied().unwrap_or(0) + 1_000_000;
    let fresh: BTreeMap<String, String> = props(&[("firstname", "Grace"), ("n", "2024-01-02")]);
    push_contact(&mut rows, portal, new_id, &fresh, 1);
    store.import_rows(rows).await.expect("import");
    let after = stored(store, portal).await;
    assert_eq!(after.len(), records.len() + 1, "the imported record");
    answers_as_the_scan(store, portal, &after, "imported").await;
}

// ---------------------------------------------------------------------------------------
// Reindex: the rows a write makes (Rust keys, `text_key`/`number_keys`) are the rows a
// reindex makes (SQL keys, `rebuild_sql` over the backend's `spoke_*` functions). Checks
// 386-389.
// ---------------------------------------------------------------------------------------

/// Stored values whose keys are easy to get wrong: spaces, case, sigmas, letters whose
/// lowercase is longer, values longer than a text key (cut at character boundaries), odd
/// numbers, days and instants, the empty string.
fn odd_values() -> Vec<String> {
    let mut out: Vec<String> = [
        "",
        " ",
        "  Ada  ",
        "\tMiXeD CaSe\r\n",
        "\u{3000}ideographic\u{85}",
        "\u{200b}zero width",
        "ΣΑΣ",
        "σας",
        "ς",
        "ὈΔΥΣΣΕΎΣ",
        "É",
        "ÉCOLE",
        "Straße",
        "STRASSE",
        "ẞ",
        "İstanbul",
        "ISTANBUL ı",
        "😀 emoji 🎉",
        "ǅ ǈ ǋ",
        "Ｆｕｌｌ",
        "1e3",
        "-0",
        "-0.0",
        "007",
        "12.50",
        "9007199254740993",
        "18446744073709551617",
        "123456789012345678901234567890",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "2024-01-02",
        "2024-01-02T03:04:05Z",
        "2024-01-02T03:04:05+05:30",
        "2024-01-02T03:04:05.999-08:00",
        "1704164645678",
        "-1704164645678",
        "1704164645678.5",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let long = [
        "É".repeat(250),
        "a".repeat(199) + "😀" + "b",
        "a".repeat(199) + "İ" + "b",
        "İ".repeat(150),
        "ς".repeat(210),
        " ".repeat(10) + &"X".repeat(205) + " ",
        "ß".repeat(201),
        "ΣΑΣ ".repeat(60),
        "1".repeat(400),
    ];
    out.extend(long);
    for list in [
        super::ODD_NUMBERS,
        super::ODD_DATES,
        super::search::DATETIMES,
    ] {
        out.extend(list.iter().map(|s| (*s).to_owned()));
    }
    out.sort();
    out.dedup();
    out
}

/// Where two readings of the index differ, or nothing.
fn differences(
    mut written: Vec<IndexRow>,
    mut reindexed: Vec<IndexRow>,
) -> (Vec<IndexRow>, Vec<IndexRow>) {
    written.sort_by(IndexRow::order);
    reindexed.sort_by(IndexRow::order);
    let (mut only_written, mut only_reindexed) = (Vec::new(), Vec::new());
    let (mut a, mut b) = (
        written.into_iter().peekable(),
        reindexed.into_iter().peekable(),
    );
    loop {
        match (a.peek(), b.peek()) {
            (None, None) => return (only_written, only_reindexed),
            (Some(_), None) => only_written.extend(a.by_ref()),
            (None, Some(_)) => only_reindexed.extend(b.by_ref()),
            (Some(x), Some(y)) => match x.order(y) {
                std::cmp::Ordering::Less => only_written.extend(a.next()),
                std::cmp::Ordering::Greater => only_reindexed.extend(b.next()),
                std::cmp::Ordering::Equal => {
                    a.next();
                    b.next();
                }
            },
        }
    }
}

/// Snapshots the portal's index rows (as writes left them), reindexes, and holds the rows
/// made again to the snapshot, row for row. Returns how many rows there are.
pub(super) async fn reindex_agrees(store: &dyn Store, portal: PortalId, when: &str) -> usize {
    let written = store.index_rows(portal).await.expect("index rows");
    let done = store.reindex_portal(portal).await.expect("reindex");
    let reindexed = store.index_rows(portal).await.expect("index rows");
    let n = written.len();
    assert_eq!(
        (done.removed, done.written),
        (n as u64, reindexed.len() as u64),
        "{when}: the counts of rows removed and written"
    );
    let (only_written, only_reindexed) = differences(written, reindexed);
    assert!(
        only_written.is_empty() && only_reindexed.is_empty(),
        "{when}: the write path's keys and the reindex's differ:\n only written: \
         {only_written:#?}\n only reindexed: {only_reindexed:#?}"
    );
    n
}

/// Every odd value through creates, each in its own record and all in one record; the
/// searches that probe the index still answer as the scan after the reindex.
pub(super) async fn reindex_makes_the_rows_writes_make(store: &dyn Store, portal: PortalId) {
    let odd = odd_values();
    index(store, portal, CONTACTS, &["firstname", "n"]).await;
    let names: Vec<String> = (0..odd.len()).map(|i| format!("v{i}")).collect();
    index(
        store,
        portal,
        "companies",
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let items: Vec<NewObject> = odd
        .iter()
        .map(|v| NewObject {
            properties: props(&[("firstname", v), ("n", v)]),
            associations: Vec::new(),
        })
        .collect();
    let created = store
        .create_objects(&ctx(portal, CONTACTS, T0), items)
        .await
        .expect("create");
    assert!(created.iter().all(Result::is_ok), "every odd value stored");
    let all: BTreeMap<String, String> = odd
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("v{i}"), v.clone()))
        .collect();
    store
        .create_objects(
            &ctx(portal, "companies", T0),
            vec![NewObject {
                properties: all,
                associations: Vec::new(),
            }],
        )
        .await
        .expect("create")
        .into_iter()
        .for_each(|r| assert!(r.is_ok(), "{r:?}"));
    let rows = reindex_agrees(store, portal, "created").await;
    assert!(
        rows > 2 * odd.len(),
        "the values were indexed ({rows} rows)"
    );
    answers_as_the_scan(store, portal, &stored(store, portal).await, "reindexed").await;
    // A second reindex finds the rows it made and makes them again.
    reindex_agrees(store, portal, "reindexed again").await;
}

/// Updates from one odd value to another (keys that move, keys that stay, values cleared),
/// archives: the rows the write path keeps are the ones a reindex makes. A reindex touches
/// its portal only, and a portal without records has no rows to make.
pub(super) async fn reindex_after_updates_and_per_portal(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    let empty = store.reindex_portal(other).await.expect("reindex");
    assert_eq!(
        empty,
        crate::admin::Reindexed::default(),
        "no records, no rows"
    );
    for p in [portal, other] {
        index(store, p, CONTACTS, &["firstname", "n"]).await;
    }
    let odd = odd_values();
    let items = |shift: usize| -> Vec<NewObject> {
        (0..odd.len())
            .map(|i| NewObject {
                properties: props(&[("firstname", &odd[(i + shift) % odd.len()])]),
                associations: Vec::new(),
            })
            .collect()
    };
    let ids: Vec<ObjectId> = store
        .create_objects(&ctx(portal, CONTACTS, T0), items(0))
        .await
        .expect("create")
        .iter()
        .map(|r| r.as_ref().expect("created").id)
        .collect();
    store
        .create_objects(&ctx(other, CONTACTS, T0), items(3))
        .await
        .expect("create");
    let others = store.index_rows(other).await.expect("index rows");
    assert!(!others.is_empty(), "the other portal's values are indexed");
    let patches: Vec<crate::ObjectPatch> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            // Every fifth value is cleared; the others move to another odd value, and a
            // second property is added.
            let to = if i % 5 == 0 {
                String::new()
            } else {
                odd[(i * 7 + 1) % odd.len()].clone()
            };
            patch(
                *id,
                &[("firstname", &to), ("n", &odd[(i + 11) % odd.len()])],
            )
        })
        .collect();
    store
        .update_objects(&ctx(portal, CONTACTS, T0 + 10), patches)
        .await
        .expect("update");
    let archived: Vec<ObjectId> = ids.iter().copied().step_by(4).collect();
    store
        .archive_objects(portal, CONTACTS, archived, T0 + 20)
        .await
        .expect("archive");
    reindex_agrees(store, portal, "updated and archived").await;
    answers_as_the_scan(store, portal, &stored(store, portal).await, "reindexed").await;
    let (a, b) = differences(others, store.index_rows(other).await.expect("index rows"));
    assert!(
        a.is_empty() && b.is_empty(),
        "another portal's reindex left this one's rows: {a:?} {b:?}"
    );
}

/// Records imported as `objects` rows (`spoke copy`) with every odd value, replacing the
/// values of stored records: the import's rows are the reindex's.
pub(super) async fn reindex_after_imports(store: &dyn Store, portal: PortalId) {
    let odd = odd_values();
    // Stored records to import over (an imported id must be one no other check uses).
    let ids = seed(store, portal, odd.len()).await;
    index(store, portal, CONTACTS, &["firstname", "n"]).await;
    let mut rows = Rows::empty(Table::Objects);
    for (i, (v, id)) in odd.iter().zip(&ids).enumerate() {
        let values = props(&[("firstname", v), ("n", &odd[(i + 1) % odd.len()])]);
        push_contact(&mut rows, portal, *id, &values, 2);
    }
    store.import_rows(rows).await.expect("import");
    let n = reindex_agrees(store, portal, "imported").await;
    assert!(n > odd.len(), "the imported values were indexed ({n} rows)");
}

// ---------------------------------------------------------------------------------------
// Lazy indexing (`value_index`): checks 431-433.
// ---------------------------------------------------------------------------------------

/// Indexes `names` of `object_type` the way a user does: by searching each one (an EQ on
/// text probes the index, so the search lists the property and makes its rows first).
pub(super) async fn index(store: &dyn Store, portal: PortalId, object_type: &str, names: &[&str]) {
    for name in names {
        let q = query(
            field(name, Kind::Text),
            Condition::Eq(Operand::Text("-".into())),
        );
        store
            .search_objects(portal, object_type, &q)
            .await
            .unwrap_or_else(|e| panic!("a search of {name}: {e}"));
    }
}

/// Check 431: records stored before their properties were searched get no rows; the first
/// search makes them (from the records, chunk by chunk) and they are the rows a reindex
/// makes, which 386-389 hold to the rows writes make.
pub(super) async fn indexing_makes_the_rows_writes_make(store: &dyn Store, portal: PortalId) {
    let odd = odd_values();
    let items: Vec<NewObject> = odd
        .iter()
        .map(|v| NewObject {
            properties: props(&[("firstname", v), ("n", v), ("never", v)]),
            associations: Vec::new(),
        })
        .collect();
    store
        .create_objects(&ctx(portal, CONTACTS, T0), items)
        .await
        .expect("create");
    assert_eq!(
        store.index_rows(portal).await.expect("index rows"),
        Vec::new(),
        "no property searched yet: no rows"
    );
    answers_as_the_scan(
        store,
        portal,
        &stored(store, portal).await,
        "indexed on search",
    )
    .await;
    let rows = store.index_rows(portal).await.expect("index rows");
    assert!(
        rows.len() > 2 * odd.len() && rows.iter().all(|r| r.property != "never"),
        "the searched properties' rows, and only theirs ({} rows)",
        rows.len()
    );
    reindex_agrees(store, portal, "indexed on search").await;
}

/// Check 432: only what a search asked about is indexed, and it stays indexed: a reset
/// takes the rows, not the listing, so records written afterwards get rows without a
/// search; a property never searched never gets any.
pub(super) async fn only_searched_properties_are_indexed(store: &dyn Store, portal: PortalId) {
    store.ensure_portal(portal, T0).await.expect("portal");
    seed(store, portal, 6).await;
    index(store, portal, CONTACTS, &["firstname"]).await;
    let only_firstname =
        |rows: &[IndexRow]| !rows.is_empty() && rows.iter().all(|r| r.property == "firstname");
    let rows = store.index_rows(portal).await.expect("index rows");
    assert!(only_firstname(&rows), "{rows:?}");
    seed(store, portal, 3).await;
    let more = store.index_rows(portal).await.expect("index rows");
    assert!(
        only_firstname(&more) && more.len() > rows.len(),
        "later writes keep the searched property's rows only: {more:?}"
    );
    assert!(store.reset_portal(portal, T0 + 10).await.expect("reset"));
    assert_eq!(
        store.index_rows(portal).await.expect("index rows"),
        Vec::new(),
        "a reset takes the rows"
    );
    seed(store, portal, 4).await;
    let after = store.index_rows(portal).await.expect("index rows");
    assert!(
        only_firstname(&after),
        "written after the reset, without a search: {after:?}"
    );
    answers_as_the_scan(
        store,
        portal,
        &stored(store, portal).await,
        "after the reset",
    )
    .await;
}

/// Check 435: a property's words are indexed only once a token search asks for them. A
/// search comparing whole values makes the value rows and no word rows, nor do the writes
/// after it; the first `CONTAINS_TOKEN` search makes the word rows, finds by them, and from
/// then on writes keep them. At every point the rows are those a reindex makes.
pub(super) async fn words_are_indexed_for_tokens_only(store: &dyn Store, portal: PortalId) {
    let create = |names: &[&str]| {
        let items: Vec<NewObject> = names
            .iter()
            .map(|n| NewObject {
                properties: props(&[("firstname", n)]),
                associations: Vec::new(),
            })
            .collect();
        async move {
            store
                .create_objects(&ctx(portal, CONTACTS, T0), items)
                .await
                .expect("create");
        }
    };
    let words = |rows: &[IndexRow]| rows.iter().filter(|r| r.table == "search_words").count();
    create(&["Ada Lovelace", "Grace Hopper", "Alan"]).await;
    index(store, portal, CONTACTS, &["firstname"]).await;
    create(&["Ada Byron King"]).await;
    let rows = store.index_rows(portal).await.expect("index rows");
    assert_eq!(
        (rows.len(), words(&rows)),
        (4, 0),
        "one text row per value, no word rows: {rows:?}"
    );
    reindex_agrees(store, portal, "values only").await;
    let token = query(
        field("firstname", Kind::Text),
        Condition::ContainsToken("ada".into()),
    );
    let found = store
        .search_objects(portal, CONTACTS, &token)
        .await
        .expect("search");
    assert_eq!(found.total, 2, "Ada Lovelace and Ada Byron King");
    let rows = store.index_rows(portal).await.expect("index rows");
    assert_eq!(
        words(&rows),
        7,
        "the words of the values of several: {rows:?}"
    );
    create(&["Ada Yonath"]).await;
    let rows = store.index_rows(portal).await.expect("index rows");
    assert_eq!(words(&rows), 9, "a write after keeps its words: {rows:?}");
    reindex_agrees(store, portal, "values and words").await;
    let found = store
        .search_objects(portal, CONTACTS, &token)
        .await
        .expect("search");
    assert_eq!(found.total, 3);
}
