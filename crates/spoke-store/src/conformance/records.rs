//! Checks of stored records beyond `mod.rs`'s and the batch rules': values kept byte for
//! byte, history only on change, and which archived record a unique value finds.

use spoke_core::time::Millis;
use spoke_core::{ObjectId, PortalId};

use super::{
    create_one, ctx, new, ok, patch, props, read_one, read_unique, Store, WriteSource, ARCHIVED,
    CONTACTS, LIVE, T0,
};
use crate::{ReadKeys, ReadOptions, UpsertItem};

/// Values storage must keep exactly as written: it never interprets one (U+0000 aside,
/// which PostgreSQL cannot store; the core refuses it before storage).
fn odd_values() -> Vec<String> {
    let mut values: Vec<String> = [
        " 12.5abc",
        "\t7",
        " \n 3",
        "1e400",
        "00012",
        "-0",
        "9007199254740993",
        "99.99999999999999999",
        "2024-01-02t03:04:05z",
        "1969-12-31T23:59:59.9995Z",
        "a;;b",
        ";",
        "ΣΑΣ",
        "İstanbul",
        "straße",
        "a_b%c",
        "x\\y",
        "O'Brien",
        "say \"hi\"",
        "ǅemal",
        "नमस्ते हिन्दी",
        "🦀 and 𝄞",
        "trailing ",
        "{\"a\":1}",
        "null",
        "true",
        "\u{1}\u{1f}\u{7f}",
        "\r\n",
        "\u{feff}bom",
        "\u{200b}",
    ]
    .iter()
    .map(|v| (*v).to_owned())
    .collect();
    values.push("x".repeat(65_536));
    values.push("é".repeat(20_000));
    values
}

/// Check 78: every value comes back byte for byte from create, read, list and update.
pub(super) async fn values_are_stored_byte_for_byte(store: &dyn Store, portal: PortalId) {
    let values = odd_values();
    let c = ctx(portal, CONTACTS, T0);
    let items = values.iter().map(|v| new(&[("firstname", v)])).collect();
    let out = store
        .create_objects(&c, items)
        .await
        .expect("create_objects failed");
    let mut ids: Vec<ObjectId> = Vec::new();
    for (value, r) in values.iter().zip(&out) {
        let record = ok(r, "create");
        assert_eq!(record.properties.get("firstname"), Some(value));
        let read = read_one(store, portal, CONTACTS, record.id, LIVE)
            .await
            .expect("created record");
        assert_eq!(read.properties.get("firstname"), Some(value), "read back");
        ids.push(record.id);
    }
    let listed = super::list_all(store, portal, CONTACTS, LIVE).await;
    assert_eq!(
        listed
            .iter()
            .map(|r| r.properties.get("firstname").cloned().unwrap_or_default())
            .collect::<Vec<_>>(),
        values,
        "listed back"
    );
    // Values move between records and properties unchanged, history included.
    let mut reversed = values.clone();
    reversed.reverse();
    let patches = ids
        .iter()
        .zip(&reversed)
        .map(|(id, v)| patch(*id, &[("lastname", v)]))
        .collect();
    let out = store
        .update_objects(&ctx(portal, CONTACTS, T0 + 1), patches)
        .await
        .expect("update_objects failed");
    let history = vec!["lastname".to_owned()];
    for ((id, value), r) in ids.iter().zip(&reversed).zip(&out) {
        assert_eq!(ok(r, "update").properties.get("lastname"), Some(value));
        let read = read_one(
            store,
            portal,
            CONTACTS,
            *id,
            ReadOptions {
                archived: false,
                history: &history,
            },
        )
        .await
        .expect("updated record");
        assert_eq!(read.properties.get("lastname"), Some(value));
        assert_eq!(
            read.history["lastname"]
                .iter()
                .map(|h| h.value.as_str())
                .collect::<Vec<_>>(),
            [value.as_str()],
            "history keeps the value as written"
        );
    }
}

fn values_of(record: &spoke_core::ObjectRecord, name: &str) -> Vec<(String, Millis, String)> {
    record
        .history
        .get(name)
        .map(|h| {
            h.iter()
                .map(|e| (e.value.clone(), e.timestamp, e.source_type.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Check 79: history grows only when a value changes: writing the same value, or clearing
/// an empty property, adds nothing; upserts write history like updates; history of several
/// records read together stays apart, whether read by id or by unique value.
pub(super) async fn history_is_written_only_on_change(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let a = create_one(store, &c, &[("email", "a@example.com"), ("firstname", "A")]).await;
    let b = create_one(store, &c, &[("email", "b@example.com"), ("firstname", "B")]).await;
    let write = |now: Millis, source: &str| {
        let mut c = ctx(portal, CONTACTS, now);
        c.source = WriteSource {
            source_type: source.to_owned(),
            source_id: None,
        };
        c
    };
    let out = store
        .update_objects(
            &write(T0 + 1, "SAME"),
            vec![patch(a.id, &[("firstname", "A"), ("lastname", "")])],
        )
        .await
        .expect("update_objects failed");
    assert_eq!(
        ok(&out[0], "same value").properties,
        props(&[("email", "a@example.com"), ("firstname", "A")])
    );
    store
        .update_objects(
            &write(T0 + 2, "CHANGE"),
            vec![
                patch(a.id, &[("firstname", "A2")]),
                patch(b.id, &[("lastname", "Bee")]),
            ],
        )
        .await
        .expect("update_objects failed");
    let upserts = [("a@example.com", "A3"), ("b@example.com", "B")]
        .iter()
        .map(|(value, firstname)| UpsertItem {
            value: (*value).to_owned(),
            properties: props(&[("firstname", firstname)]),
        })
        .collect();
    let out = store
        .upsert_objects(&write(T0 + 3, "UPSERT"), "email", upserts)
        .await
        .expect("upsert_objects failed");
    assert!(out.iter().all(|r| r.as_ref().is_ok_and(|u| !u.created)));
    for (now, source) in [(T0 + 4, "CLEAR"), (T0 + 5, "CLEAR AGAIN")] {
        let clear = vec![patch(a.id, &[("firstname", "")])];
        let out = store.update_objects(&write(now, source), clear).await;
        ok(&out.expect("update_objects failed")[0], source);
    }

    let names = ["firstname", "lastname", "email"].map(str::to_owned);
    let options = ReadOptions {
        archived: false,
        history: &names,
    };
    let by_value = ReadKeys::Unique {
        property: "email".to_owned(),
        values: vec!["b@example.com".to_owned(), "a@example.com".to_owned()],
    };
    for keys in [ReadKeys::Ids(vec![b.id, a.id]), by_value] {
        let out = store.read_objects(portal, CONTACTS, keys, options).await;
        let out = out.expect("read_objects failed");
        let records: Vec<spoke_core::ObjectRecord> = out
            .into_iter()
            .map(|r| r.expect("record").decode().expect("decodes"))
            .collect();
        let (rb, ra) = (&records[0], &records[1]);
        let entry = |v: &str, t: Millis, s: &str| (v.to_owned(), t, s.to_owned());
        assert_eq!(
            values_of(ra, "firstname"),
            [
                entry("", T0 + 4, "CLEAR"),
                entry("A3", T0 + 3, "UPSERT"),
                entry("A2", T0 + 2, "CHANGE"),
                entry("A", T0, "INTEGRATION"),
            ],
            "one entry per change, newest first"
        );
        assert!(
            values_of(ra, "lastname").is_empty(),
            "clearing an unset property is no change"
        );
        assert_eq!(values_of(ra, "email").len(), 1);
        assert_eq!(
            values_of(rb, "firstname"),
            [entry("B", T0, "INTEGRATION")],
            "an upsert of the same value adds nothing"
        );
        assert_eq!(
            values_of(rb, "lastname"),
            [entry("Bee", T0 + 2, "CHANGE")],
            "each record has its own history"
        );
    }
}

/// Which archived record `value` finds.
async fn archived_holder(store: &dyn Store, portal: PortalId, value: &str) -> Option<ObjectId> {
    read_unique(store, portal, CONTACTS, "email", value, ARCHIVED)
        .await
        .map(|r| r.id)
}

/// Check 80: a unique value once held by several records, all archived, finds the one
/// archived last with `archived`; on a tie, the lowest id. A live holder is never found so.
pub(super) async fn archived_records_are_found_by_their_last_unique_value(
    store: &dyn Store,
    portal: PortalId,
) {
    const EMAIL: &str = "reused@example.com";
    let c = ctx(portal, CONTACTS, T0);
    let mut holders = Vec::new();
    for archived_at in [T0 + 10, T0 + 30, T0 + 30, T0 + 20] {
        let r = create_one(store, &c, &[("email", EMAIL)]).await;
        store
            .archive_objects(portal, CONTACTS, vec![r.id], archived_at)
            .await
            .expect("archive_objects failed");
        holders.push(r.id);
    }
    let found = read_unique(store, portal, CONTACTS, "email", EMAIL, ARCHIVED)
        .await
        .expect("an archived holder is found");
    assert_eq!(
        found.id, holders[1],
        "the holder archived last, the lowest id of a tie"
    );
    assert_eq!(found.archived_at, Some(T0 + 30));
    let live = create_one(store, &c, &[("email", EMAIL)]).await;
    assert_eq!(
        archived_holder(store, portal, EMAIL).await,
        Some(holders[1]),
        "a live holder does not change what archived reads find"
    );
    assert_eq!(
        read_unique(store, portal, CONTACTS, "email", EMAIL, LIVE)
            .await
            .map(|r| r.id),
        Some(live.id)
    );
    // A value changed away is no longer the record's.
    store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 40),
            vec![patch(live.id, &[("email", "moved@example.com")])],
        )
        .await
        .expect("update_objects failed");
    store
        .archive_objects(portal, CONTACTS, vec![live.id], T0 + 50)
        .await
        .expect("archive_objects failed");
    assert_eq!(
        archived_holder(store, portal, EMAIL).await,
        Some(holders[1]),
        "archived reads match the value a record had when archived"
    );
    assert_eq!(
        archived_holder(store, portal, "moved@example.com").await,
        Some(live.id)
    );
}

/// Live contacts of `portal` once the store is quiet: a dropped call may still run to its
/// end on a backend's own thread, so reads go on until three in a row agree.
async fn settled(store: &dyn Store, portal: PortalId) -> Vec<spoke_core::ObjectRecord> {
    let read = || super::list_all(store, portal, CONTACTS, LIVE);
    let mut last = read().await;
    let mut same = 0;
    for _ in 0..200 {
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        let now = read().await;
        same = if now.len() == last.len() { same + 1 } else { 0 };
        if same == 2 {
            return now;
        }
        last = now;
    }
    panic!("the number of records kept changing");
}

/// Check 82: a call whose future is dropped part-way (the server drops a request's future
/// when its client disconnects) leaves all of its batch or none of it, even if it goes on
/// to finish after its caller left.
pub(super) async fn dropped_calls_leave_all_or_nothing(store: &dyn Store, portal: PortalId) {
    for round in 0..8u64 {
        let items = (0..100)
            .map(|i| new(&[("email", &format!("r{round}-{i}@example.com"))]))
            .collect();
        let c = super::atomic(ctx(portal, CONTACTS, T0));
        let wait = std::time::Duration::from_micros(round * 1500);
        let _ = tokio::time::timeout(wait, store.create_objects(&c, items)).await;
    }
    let live = settled(store, portal).await;
    for round in 0..8u64 {
        let prefix = format!("r{round}-");
        let written = live
            .iter()
            .filter(|r| {
                r.properties
                    .get("email")
                    .is_some_and(|e| e.starts_with(&prefix))
            })
            .count();
        assert!(
            written == 0 || written == 100,
            "create dropped after {} µs: {written} of 100 written",
            round * 1500
        );
    }
    let names: Vec<String> = (0..500).map(|i| format!("dropped_{i:03}")).collect();
    let defs = || {
        names
            .iter()
            .map(|n| super::prop_def(n, n))
            .collect::<Vec<_>>()
    };
    store
        .insert_properties(portal, CONTACTS, defs())
        .await
        .expect("insert_properties failed");
    for round in 0..16u64 {
        let call = store.archive_properties(portal, CONTACTS, names.clone(), T0, 1000);
        let wait = std::time::Duration::from_micros(round * 500);
        let _ = tokio::time::timeout(wait, call).await;
        // A second archive of the same names waits for the first, then archives nothing
        // that the first archived: what is archived after it is the first's doing, or all.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let listed = store
            .list_properties(portal, CONTACTS)
            .await
            .expect("list_properties failed");
        let archived = listed.iter().filter(|d| d.archived).count();
        assert!(
            archived == 0 || archived == names.len(),
            "archive dropped after {wait:?}: {archived} of {} archived",
            names.len()
        );
        if archived > 0 {
            store
                .insert_properties(portal, CONTACTS, defs())
                .await
                .expect("insert_properties failed");
        }
    }
}
