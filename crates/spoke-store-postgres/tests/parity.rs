//! The PostgreSQL backend against the SQLite backend: one scenario, run on a fresh store of
//! each, must give the same answer to every call (ids included: both start from 1 and the
//! scenario never rolls back an insert until its very end).
//!
//! The scenario reaches what the conformance suite does not: associations and their pages,
//! labels, search with every operator over deliberately odd stored values (SQLite's CAST
//! rules, ISO instants, multi-selects, Unicode tokens), archived lookups by unique value,
//! and name ordering.
//!
//! Needs `SPOKE_TEST_POSTGRES_URL`; skipped (and passing) without it.

mod common;

use std::collections::BTreeMap;

use spoke_core::property::PropertyType;
use spoke_core::search::{Condition, Field, Filter, Kind, Operand, SearchQuery, Sort};
use spoke_core::{ObjectId, PortalId, PropertyDefinition};
use spoke_store::{
    AssociationRemoval, AssociationWrite, LinkType, NewAssociation, NewObject, ObjectPatch,
    PropertyGroup, ReadKeys, ReadOptions, Store, Target, UpsertItem, WriteContext, WriteSource,
};
use spoke_store_sqlite::SqliteStore;

const P: PortalId = PortalId(1);
const CONTACT: &str = "0-1";
const COMPANY: &str = "0-2";
const T0: i64 = 1_700_000_000_000;
const UNKNOWN: ObjectId = 9_000_000_000;
const FIRST: i64 = spoke_core::association::FIRST_USER_TYPE_ID;

fn ctx(object_type: &str, now: i64) -> WriteContext {
    WriteContext {
        portal: P,
        object_type: object_type.to_owned(),
        now,
        source: WriteSource {
            source_type: "INTEGRATION".to_owned(),
            source_id: Some("parity".to_owned()),
        },
        unique_properties: vec!["email".to_owned()],
        atomic: false,
    }
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn link(category: &str, type_id: i64, inverse: i64, exclusive: bool) -> LinkType {
    LinkType {
        category: category.to_owned(),
        type_id,
        inverse_type_id: inverse,
        exclusive,
        inverse_exclusive: false,
    }
}

const NUMBERS: &[&str] = &[
    "12.5",
    " 12.5abc",
    "1e5",
    ".5",
    "5.",
    "-",
    "+3",
    "0x10",
    "abc",
    "1e",
    "1e400",
    "-1e400",
    "1e-400",
    "00012",
    "-0",
    "1.2.3",
    "9007199254740993",
    "0.1",
    "1e308",
    "1.7976931348623159e308",
    "4.9e-324",
    "2e-324",
    "-7.25",
    "100",
    "99.99999999999999999",
    "\t7",
    " \n 3",
    "3e2.5",
];

const DATETIMES: &[&str] = &[
    "2024-01-02T03:04:05.678Z",
    "2024-01-02T03:04:05Z",
    "2024-01-02 03:04:05+02:00",
    "2024-01-02t03:04:05z",
    "2024-01-02T03:04:05.123456789999Z",
    "2016-12-31T23:59:60Z",
    "2016-12-30T23:59:60Z",
    "2017-01-01T00:59:60+01:00",
    "2024-02-30T00:00:00Z",
    "2024-02-29T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "2024-01-02",
    "-0001-01-01",
    "+2024-01-02",
    "0000-01-01T00:00:00Z",
    "1969-12-31T23:59:59.9995Z",
    "2024-01-02T03:04:05+24:00",
    "2024-01-02T03:04:05-00:30",
    "garbage",
    "2024-01-02T03:04:05.Z",
    "2024-01-02Té03:04:05Z",
    "2024-01-02T24:00:00Z",
    "2024-01-02T03:04:05+05:60",
    "1970-01-01T00:00:00Z",
    "2024-13-01",
    "1900-03-01T12:00:00.5-11:59",
];

const DATES: &[&str] = &[
    "1572480000000",
    " 42",
    "abc",
    "-5",
    "99999999999999999999",
    "-99999999999999999999",
    "1e3",
    "+7",
];

const MULTI: &[&str] = &["a;b;c", "a", "", "b;a", "a;;b", "c", "a;b", ";"];

const TEXTS: &[&str] = &[
    "Ada",
    "ADA",
    "ada lovelace",
    "Ádám",
    "ΣΑΣ",
    "İstanbul",
    "straße",
    "a_b%c",
    "x\\y",
    "Grace Hopper",
    "grace-hopper",
    "O'Brien",
    "zed",
    "Zed",
    "naïve café",
    "ǅemal",
    "x²y",
    "नमस्ते हिन्दी",
    "ⓐⓑ  double",
    "trailing ",
];

fn prop(name: &str, kind: Kind) -> Field {
    Field::Property {
        name: name.to_owned(),
        kind,
        unique_index: false,
    }
}

fn filter(field: Field, condition: Condition) -> Filter {
    Filter { field, condition }
}

fn query(groups: Vec<Vec<Filter>>) -> SearchQuery {
    SearchQuery {
        groups,
        text: None,
        text_properties: Vec::new(),
        sort: None,
        offset: 0,
        limit: 200,
    }
}

fn sorted(field: Field, descending: bool) -> SearchQuery {
    SearchQuery {
        sort: Some(Sort { field, descending }),
        ..query(Vec::new())
    }
}

fn text(t: &str) -> Operand {
    Operand::Text(t.to_owned())
}

/// Every search the scenario runs.
fn searches(companies: &[ObjectId]) -> Vec<(String, SearchQuery)> {
    use Condition::*;
    let n = || prop("n", Kind::Number);
    let dt = || prop("dt", Kind::Datetime);
    let d = || prop("d", Kind::Date);
    let m = || prop("m", Kind::Multi);
    let first = || prop("firstname", Kind::Text);
    let exact = || prop("lastname", Kind::Exact);
    let num = Operand::Number;
    let ms = Operand::Millis;
    let mut out: Vec<(String, SearchQuery)> = Vec::new();
    let mut one = |label: &str, f: Field, c: Condition| {
        out.push((label.to_owned(), query(vec![vec![filter(f, c)]])));
    };
    // Numbers: SQLite's CAST(.. AS REAL) on odd text.
    one("n = 0", n(), Eq(num(0.0)));
    one("n = 12.5", n(), Eq(num(12.5)));
    one("n < 1", n(), Lt(num(1.0)));
    one("n <= 5", n(), Lte(num(5.0)));
    one("n > 100", n(), Gt(num(100.0)));
    one("n >= 1e308", n(), Gte(num(1e308)));
    one("n between", n(), Between(num(-10.0), num(10.0)));
    one(
        "n in",
        n(),
        In(vec![num(3.0), num(5.0), num(7.0), num(12.0)]),
    );
    one("n not in", n(), NotIn(vec![num(0.0), num(12.5)]));
    one("n <> 0", n(), Neq(num(0.0)));
    one("n has", n(), HasProperty);
    one("n not has", n(), NotHasProperty);
    one("n = id 3", n(), Eq(Operand::Id(3)));
    one("n > max", n(), Gt(num(f64::MAX)));
    one("n < -1e300", n(), Lt(num(-1e300)));
    one("n = min subnormal", n(), Eq(num(5e-324)));
    one("n = 2^53+1", n(), Eq(num(9007199254740992.0)));
    one("n = 0.1", n(), Eq(num(0.1)));
    one("n = 100", n(), Eq(num(100.0)));
    // Datetimes: parse_iso in SQL.
    one("dt > 2024", dt(), Gt(ms(1_704_067_200_000)));
    one("dt < 0", dt(), Lt(ms(0)));
    one("dt = 678", dt(), Eq(ms(1_704_164_645_678)));
    one("dt = 05", dt(), Eq(ms(1_704_164_645_000)));
    one("dt = +2h", dt(), Eq(ms(1_704_157_445_000)));
    one("dt = leap", dt(), Eq(ms(1_483_228_799_999)));
    one("dt = -1ms", dt(), Eq(ms(-1)));
    one("dt = -0.5ms", dt(), Eq(ms(0)));
    one("dt = date", dt(), Eq(ms(1_704_153_600_000)));
    one("dt between", dt(), Between(ms(0), ms(1_704_164_645_500)));
    one("dt has", dt(), HasProperty);
    one("dt not in", dt(), NotIn(vec![ms(1_704_164_645_000)]));
    one("dt <> x", dt(), Neq(ms(1_704_164_645_000)));
    one("dt >= year 0", dt(), Gte(ms(-62_167_219_200_000)));
    one("dt < year 0", dt(), Lt(ms(-62_167_219_200_000)));
    // Dates: SQLite's CAST(.. AS INTEGER).
    one("d = day", d(), Eq(ms(1_572_480_000_000)));
    one("d < 10", d(), Lt(ms(10)));
    one("d >= 0", d(), Gte(ms(0)));
    one("d = max", d(), Eq(ms(i64::MAX)));
    one("d = min", d(), Eq(ms(i64::MIN)));
    one("d = 1", d(), Eq(ms(1)));
    // Multi-selects.
    one("m = a", m(), Eq(text("a")));
    one("m = empty", m(), Eq(text("")));
    one("m = a;b", m(), Eq(text("a;b")));
    one("m in", m(), In(vec![text("b"), text("c")]));
    one("m not in", m(), NotIn(vec![text("a")]));
    one("m <> a", m(), Neq(text("a")));
    one("m has", m(), HasProperty);
    one("m not has", m(), NotHasProperty);
    // Text: ASCII-only lower, bytewise order.
    one("first = ada", first(), Eq(text("ada")));
    one("first = ádám", first(), Eq(text("ádám")));
    one("first = Ádám", first(), Eq(text("Ádám")));
    one("first < b", first(), Lt(text("b")));
    one("first > z", first(), Gt(text("z")));
    one("first > é", first(), Gt(text("é")));
    one("first in", first(), In(vec![text("zed"), text("ada")]));
    one("first not in", first(), NotIn(vec![text("zed")]));
    one("first <> ada", first(), Neq(text("ada")));
    one("first has", first(), HasProperty);
    one("first between", first(), Between(text("a"), text("m")));
    one("exact = Zed", exact(), Eq(text("Zed")));
    one("exact < a", exact(), Lt(text("a")));
    for token in [
        "ada",
        "lovelace",
        "*ove*",
        "ada*",
        "*ada",
        // A wildcard on one word of a longer value: tells whole-value globbing from
        // per-word globbing.
        "lov*",
        "hop*",
        "*per",
        "σας",
        "i̇stanbul",
        "stanbul",
        "",
        "a_b%c",
        "*%*",
        "a_b*",
        "a?b*",
        "hopper",
        "grace",
        "café",
        "naïve",
        "*",
        "x²y",
        "x",
        "y",
        "हिन",
        "दी",
        "नमस्ते",
        "ⓐⓑ",
        "double",
        "o",
        "brien",
        "o'brien",
        "x\\y",
        "straße",
        "ǆemal",
        "trailing",
    ] {
        one(
            &format!("token {token:?}"),
            first(),
            ContainsToken(token.to_owned()),
        );
        one(
            &format!("not token {token:?}"),
            first(),
            NotContainsToken(token.to_owned()),
        );
    }
    // Record columns.
    one("id = 3", Field::Id, Eq(Operand::Id(3)));
    one("id in", Field::Id, In(vec![Operand::Id(1), Operand::Id(5)]));
    one("id > 2.5", Field::Id, Gt(num(2.5)));
    one("id has", Field::Id, HasProperty);
    one("id not has", Field::Id, NotHasProperty);
    one("created > t0", Field::CreatedAt, Gt(ms(T0)));
    one("updated <= t0+50", Field::UpdatedAt, Lte(ms(T0 + 50)));
    // Unique index and associations.
    let email = || Field::Property {
        name: "email".to_owned(),
        kind: Kind::Text,
        unique_index: true,
    };
    one("email = user3", email(), Eq(text("user3@example.com")));
    one(
        "email in",
        email(),
        In(vec![text("user4@example.com"), text("nobody@example.com")]),
    );
    one("email has", email(), HasProperty);
    let assoc = || Field::Association {
        to_type: COMPANY.to_owned(),
    };
    one("assoc = co0", assoc(), Eq(Operand::Id(companies[0])));
    one(
        "assoc in",
        assoc(),
        In(vec![Operand::Id(companies[1]), Operand::Id(UNKNOWN)]),
    );
    one("assoc has", assoc(), HasProperty);
    // Groups: OR of ANDs, an empty group.
    out.push((
        "groups".to_owned(),
        query(vec![
            vec![
                filter(n(), Gt(num(1.0))),
                filter(first(), ContainsToken("ada".to_owned())),
            ],
            vec![filter(m(), Eq(text("c")))],
        ]),
    ));
    out.push(("empty group".to_owned(), query(vec![vec![]])));
    // Sorts, NULL placement and ties.
    for (label, field) in [
        ("n", n()),
        ("dt", dt()),
        ("d", d()),
        ("m", m()),
        ("first", first()),
        ("exact", exact()),
        ("id", Field::Id),
        ("created", Field::CreatedAt),
        ("updated", Field::UpdatedAt),
        ("assoc", assoc()),
    ] {
        out.push((format!("sort {label} asc"), sorted(field.clone(), false)));
        out.push((format!("sort {label} desc"), sorted(field, true)));
    }
    // Paging.
    for (offset, limit) in [(0, 1), (3, 4), (25, 10), (1000, 5)] {
        out.push((
            format!("page {offset}+{limit}"),
            SearchQuery {
                offset,
                limit,
                ..sorted(first(), true)
            },
        ));
    }
    // Free text.
    for t in [
        "ada", "a", "%", "_", "\\", "ΑΣ", "σας", "ádám", "e c", "@example", "",
    ] {
        out.push((
            format!("text {t:?}"),
            SearchQuery {
                text: Some(t.to_owned()),
                text_properties: vec![
                    "firstname".to_owned(),
                    "lastname".to_owned(),
                    "email".to_owned(),
                ],
                ..query(Vec::new())
            },
        ));
    }
    out.push((
        "text without properties".to_owned(),
        SearchQuery {
            text: Some("ada".to_owned()),
            ..query(Vec::new())
        },
    ));
    out
}

/// The scenario: every call's answer, one line each.
async fn scenario(store: &dyn Store) -> Vec<String> {
    let mut log: Vec<String> = Vec::new();
    macro_rules! note {
        ($label:expr, $value:expr) => {
            log.push(format!("{}: {:?}", $label, $value))
        };
    }

    // Records with odd values in typed properties.
    let mut contacts: Vec<ObjectId> = Vec::new();
    for batch in 0..3 {
        let items: Vec<NewObject> = (0..10)
            .map(|j| {
                let i = batch * 10 + j;
                let mut p = BTreeMap::new();
                let mut set = |k: &str, v: &str| {
                    p.insert(k.to_owned(), v.to_owned());
                };
                if i % 7 != 3 {
                    set("n", NUMBERS[i % NUMBERS.len()]);
                }
                if i % 5 != 4 {
                    set("dt", DATETIMES[i % DATETIMES.len()]);
                }
                set("d", DATES[i % DATES.len()]);
                if i % 4 != 1 {
                    set("m", MULTI[i % MULTI.len()]);
                }
                set("firstname", TEXTS[i % TEXTS.len()]);
                set("lastname", TEXTS[(i * 7 + 3) % TEXTS.len()]);
                if i % 3 != 2 {
                    set("email", &format!("user{i}@example.com"));
                }
                NewObject {
                    properties: p,
                    associations: Vec::new(),
                }
            })
            .collect();
        let out = store
            .create_objects(&ctx(CONTACT, T0 + batch as i64 * 10), items)
            .await
            .expect("create contacts");
        contacts.extend(out.iter().map(|r| r.as_ref().expect("created").id));
        note!("create batch", out);
    }
    let companies: Vec<ObjectId> = {
        let out = store
            .create_objects(
                &ctx(COMPANY, T0),
                (0..5)
                    .map(|i| NewObject {
                        properties: props(&[("name", &format!("Company {i}"))]),
                        associations: Vec::new(),
                    })
                    .collect(),
            )
            .await
            .expect("create companies");
        note!("companies", out);
        out.iter()
            .map(|r| r.as_ref().expect("created").id)
            .collect()
    };

    // Updates: real changes, repeats (no history), clears, by unique value, conflicts.
    let out = store
        .update_objects(
            &ctx(CONTACT, T0 + 100),
            vec![
                ObjectPatch {
                    target: Target::Id(contacts[0]),
                    properties: props(&[("firstname", "Ada"), ("lastname", ""), ("x", "1")]),
                },
                ObjectPatch {
                    target: Target::Unique {
                        property: "email".to_owned(),
                        value: "user1@example.com".to_owned(),
                    },
                    properties: props(&[("email", "user0@example.com")]),
                },
                ObjectPatch {
                    target: Target::Unique {
                        property: "email".to_owned(),
                        value: "user4@example.com".to_owned(),
                    },
                    properties: props(&[("email", "renamed4@example.com"), ("n", "44")]),
                },
                ObjectPatch {
                    target: Target::Id(UNKNOWN),
                    properties: props(&[("x", "1")]),
                },
            ],
        )
        .await;
    note!("update", out);
    let out = store
        .upsert_objects(
            &ctx(CONTACT, T0 + 200),
            "email",
            vec![
                UpsertItem {
                    value: "user4@example.com".to_owned(),
                    properties: props(&[("firstname", "Reborn"), ("lastname", "")]),
                },
                UpsertItem {
                    value: "user6@example.com".to_owned(),
                    properties: props(&[("firstname", "Six")]),
                },
                UpsertItem {
                    value: "user4@example.com".to_owned(),
                    properties: props(&[("lastname", "Again")]),
                },
            ],
        )
        .await;
    note!("upsert", out);
    let reborn = out
        .as_ref()
        .ok()
        .and_then(|o| o[0].as_ref().ok())
        .map(|u| u.record.id)
        .unwrap_or(0);

    // Archive, then a second holder of one value archived at the same time (a tie).
    let out = store
        .archive_objects(
            P,
            CONTACT,
            vec![contacts[7], contacts[9], reborn, UNKNOWN, companies[4]],
            T0 + 300,
        )
        .await;
    note!("archive", out);
    let out = store
        .upsert_objects(
            &ctx(CONTACT, T0 + 310),
            "email",
            vec![UpsertItem {
                value: "user4@example.com".to_owned(),
                properties: props(&[("firstname", "Third")]),
            }],
        )
        .await;
    note!("upsert after archive", out);
    let third = out
        .as_ref()
        .ok()
        .and_then(|o| o[0].as_ref().ok())
        .map(|u| u.record.id)
        .unwrap_or(0);
    note!(
        "archive tie",
        store
            .archive_objects(P, CONTACT, vec![third], T0 + 300)
            .await
    );

    // Batches whose items depend on each other: each item sees what the earlier ones wrote
    // (a value taken or freed, a record created or moved to another value).
    let by_email = |value: &str| Target::Unique {
        property: "email".to_owned(),
        value: value.to_owned(),
    };
    let created = store
        .create_objects(
            &ctx(CONTACT, T0 + 320),
            [
                props(&[("email", "chain1@example.com"), ("firstname", "C1")]),
                props(&[("email", "chain1@example.com"), ("firstname", "Dup")]),
                props(&[("email", "user3@example.com")]),
                props(&[("email", "chain2@example.com"), ("lastname", "C2")]),
                props(&[("firstname", "No email"), ("email", "")]),
            ]
            .into_iter()
            .map(|properties| NewObject {
                properties,
                associations: Vec::new(),
            })
            .collect(),
        )
        .await;
    note!("create batch depending on itself", created);
    let id_at = |i: usize| {
        created
            .as_ref()
            .ok()
            .and_then(|o| o.get(i))
            .and_then(|r| r.as_ref().ok())
            .map(|r| r.id)
            .unwrap_or(0)
    };
    let (chain1, chain2) = (id_at(0), id_at(3));
    note!(
        "update batch depending on itself",
        store
            .update_objects(
                &ctx(CONTACT, T0 + 330),
                vec![
                    ObjectPatch {
                        target: by_email("chain1@example.com"),
                        properties: props(&[("email", "chain1b@example.com"), ("lastname", "L")]),
                    },
                    ObjectPatch {
                        target: Target::Id(chain2),
                        properties: props(&[("email", "chain1@example.com")]),
                    },
                    ObjectPatch {
                        target: by_email("chain1b@example.com"),
                        properties: props(&[("firstname", "Again")]),
                    },
                    ObjectPatch {
                        target: Target::Id(chain1),
                        properties: props(&[("email", "chain1@example.com")]),
                    },
                    ObjectPatch {
                        target: Target::Id(chain1),
                        properties: props(&[("email", "")]),
                    },
                    ObjectPatch {
                        target: by_email("chain1b@example.com"),
                        properties: props(&[("firstname", "Gone")]),
                    },
                    ObjectPatch {
                        target: Target::Id(chain2),
                        properties: props(&[
                            ("firstname", "Twice"),
                            ("email", "chain1@example.com"),
                        ]),
                    },
                ],
            )
            .await
    );
    let upserted = store
        .upsert_objects(
            &ctx(CONTACT, T0 + 340),
            "email",
            [
                ("fresh@example.com", props(&[("firstname", "F1")])),
                ("fresh@example.com", props(&[("lastname", "F2")])),
                (
                    "fresh@example.com",
                    props(&[("email", "fresh2@example.com")]),
                ),
                ("fresh2@example.com", props(&[("firstname", "F3")])),
                ("fresh@example.com", props(&[("firstname", "F4")])),
                (
                    "chain1@example.com",
                    props(&[("email", "fresh2@example.com")]),
                ),
                ("chain2@example.com", props(&[("firstname", "")])),
            ]
            .into_iter()
            .map(|(value, properties)| UpsertItem {
                value: value.to_owned(),
                properties,
            })
            .collect(),
        )
        .await;
    note!("upsert batch depending on itself", upserted);
    let mut chained = vec![chain1, chain2, id_at(4)];
    if let Ok(out) = &upserted {
        chained.extend(
            out.iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|u| u.record.id),
        );
    }
    note!(
        "records written by dependent batches",
        store
            .read_objects(
                P,
                CONTACT,
                ReadKeys::Ids(chained),
                ReadOptions {
                    archived: false,
                    history: &[
                        "firstname".to_owned(),
                        "lastname".to_owned(),
                        "email".to_owned(),
                    ],
                },
            )
            .await
    );

    let history = vec![
        "firstname".to_owned(),
        "lastname".to_owned(),
        "email".to_owned(),
        "never".to_owned(),
    ];
    for archived in [false, true] {
        let options = ReadOptions {
            archived,
            history: &history,
        };
        note!(
            format!("read ids archived={archived}"),
            store
                .read_objects(
                    P,
                    CONTACT,
                    ReadKeys::Ids(vec![contacts[0], contacts[7], UNKNOWN, contacts[0], reborn]),
                    options,
                )
                .await
        );
        note!(
            format!("read unique archived={archived}"),
            store
                .read_objects(
                    P,
                    CONTACT,
                    ReadKeys::Unique {
                        property: "email".to_owned(),
                        values: vec![
                            "user4@example.com".to_owned(),
                            "user7@example.com".to_owned(),
                            "user0@example.com".to_owned(),
                            "nobody@example.com".to_owned(),
                            "user7@example.com".to_owned(),
                        ],
                    },
                    options,
                )
                .await
        );
        let mut after = None;
        loop {
            let page = store
                .list_objects(P, CONTACT, after, 7, options)
                .await
                .expect("list");
            note!(format!("list archived={archived}"), page);
            match page.last() {
                Some(last) => after = Some(last.id),
                None => break,
            }
        }
    }

    // Associations.
    let (c0, c1, c2, c7) = (contacts[0], contacts[1], contacts[2], contacts[7]);
    let unlabeled = link("HUBSPOT_DEFINED", 279, 280, false);
    let primary = link("HUBSPOT_DEFINED", 1, 2, true);
    let custom = link("USER_DEFINED", 10, 11, false);
    let put = |from: ObjectId, to: ObjectId, types: Vec<LinkType>| AssociationWrite {
        from_type: CONTACT.to_owned(),
        from_id: from,
        to_type: COMPANY.to_owned(),
        to_id: to,
        types,
    };
    note!(
        "put",
        store
            .put_associations(
                P,
                vec![
                    put(c0, companies[0], vec![unlabeled.clone()]),
                    put(c0, companies[1], vec![primary.clone(), unlabeled.clone()]),
                    put(c0, companies[2], vec![primary.clone()]),
                    put(c0, companies[2], vec![custom.clone(), unlabeled.clone()]),
                    put(c0, companies[3], vec![unlabeled.clone()]),
                    put(c1, companies[0], vec![unlabeled.clone(), primary.clone()]),
                    put(c2, companies[0], vec![unlabeled.clone()]),
                    put(c0, UNKNOWN, vec![unlabeled.clone()]),
                    put(c7, companies[0], vec![unlabeled.clone()]),
                    put(c0, companies[4], vec![unlabeled.clone()]),
                    put(UNKNOWN, UNKNOWN, vec![unlabeled.clone()]),
                ],
            )
            .await
    );
    let created = store
        .create_objects(
            &ctx(CONTACT, T0 + 400),
            vec![
                NewObject {
                    properties: props(&[("firstname", "Linked")]),
                    associations: vec![NewAssociation {
                        to_type: COMPANY.to_owned(),
                        to_id: companies[1],
                        types: vec![primary.clone(), unlabeled.clone()],
                    }],
                },
                NewObject {
                    properties: props(&[("firstname", "Dangling")]),
                    associations: vec![
                        NewAssociation {
                            to_type: COMPANY.to_owned(),
                            to_id: companies[0],
                            types: vec![unlabeled.clone()],
                        },
                        NewAssociation {
                            to_type: COMPANY.to_owned(),
                            to_id: companies[4],
                            types: vec![unlabeled.clone()],
                        },
                    ],
                },
            ],
        )
        .await;
    note!("create with associations", created);
    let linked = created
        .as_ref()
        .ok()
        .and_then(|o| o[0].as_ref().ok())
        .map(|r| r.id)
        .unwrap_or(0);
    for limit in [0, 1, 2, 3, 10] {
        note!(
            format!("page contacts->companies limit {limit}"),
            store
                .page_associations(
                    P,
                    CONTACT,
                    COMPANY,
                    vec![
                        (c0, None),
                        (c0, Some(companies[0])),
                        (c0, Some(companies[2])),
                        (c7, None),
                        (UNKNOWN, None),
                        (c1, None),
                        (c0, None),
                        (linked, None),
                    ],
                    limit,
                )
                .await
        );
    }
    note!(
        "page companies->contacts",
        store
            .page_associations(
                P,
                COMPANY,
                CONTACT,
                companies.iter().map(|c| (*c, None)).collect(),
                2,
            )
            .await
    );
    note!(
        "page none",
        store
            .page_associations(P, CONTACT, COMPANY, Vec::new(), 5)
            .await
    );
    note!(
        "remove",
        store
            .remove_associations(
                P,
                vec![
                    AssociationRemoval {
                        from_type: CONTACT.to_owned(),
                        from_id: c0,
                        to_type: COMPANY.to_owned(),
                        to_id: companies[2],
                        types: Some(vec![("USER_DEFINED".to_owned(), 10, 11)]),
                    },
                    AssociationRemoval {
                        from_type: COMPANY.to_owned(),
                        from_id: companies[3],
                        to_type: CONTACT.to_owned(),
                        to_id: c0,
                        types: None,
                    },
                ],
            )
            .await
    );
    note!(
        "page after remove",
        store
            .page_associations(P, CONTACT, COMPANY, vec![(c0, None)], 10)
            .await
    );

    // Labels.
    for (from, to, name, label, inverse, max) in [
        (
            CONTACT,
            COMPANY,
            "manager",
            "Manager",
            Some("Managed by"),
            3,
        ),
        (CONTACT, COMPANY, "billing", "Billing", None, 3),
        (CONTACT, COMPANY, "manager", "Again", None, 3),
        (CONTACT, CONTACT, "friend", "Friend", None, 3),
        (CONTACT, CONTACT, "mentor", "Mentor", Some("Mentee"), 3),
        (CONTACT, COMPANY, "third", "Third", None, 3),
        (CONTACT, COMPANY, "fourth", "Fourth", None, 3),
        (COMPANY, CONTACT, "owner", "Owner", None, 2),
    ] {
        note!(
            format!("create label {from}->{to} {name}"),
            store
                .create_label(P, from, to, name, label, inverse, max)
                .await
        );
    }
    for (from, to) in [
        (CONTACT, COMPANY),
        (COMPANY, CONTACT),
        (CONTACT, CONTACT),
        ("0-3", CONTACT),
    ] {
        note!(
            format!("labels {from}->{to}"),
            store.list_labels(P, from, to).await
        );
    }
    note!(
        "update label 1",
        store
            .update_label(P, CONTACT, COMPANY, FIRST, "Boss", Some("Bossed"))
            .await
    );
    note!(
        "update label 2",
        store
            .update_label(P, CONTACT, COMPANY, FIRST + 2, "Billing!", None)
            .await
    );
    note!(
        "update single label",
        store
            .update_label(P, CONTACT, CONTACT, FIRST + 4, "Pal", Some("ignored"))
            .await
    );
    note!(
        "update unknown label",
        store.update_label(P, CONTACT, COMPANY, 99, "x", None).await
    );
    let label_link = link("USER_DEFINED", FIRST, FIRST + 1, false);
    note!(
        "put labeled",
        store
            .put_associations(
                P,
                vec![put(c2, companies[1], vec![label_link, unlabeled.clone()])]
            )
            .await
    );
    note!(
        "page labeled",
        store
            .page_associations(P, CONTACT, COMPANY, vec![(c2, None)], 10)
            .await
    );
    note!(
        "delete label",
        store.delete_label(P, CONTACT, COMPANY, FIRST).await
    );
    note!(
        "delete label again",
        store.delete_label(P, CONTACT, COMPANY, FIRST).await
    );
    note!(
        "delete single label",
        store.delete_label(P, CONTACT, CONTACT, FIRST + 4).await
    );
    note!(
        "page after label delete",
        store
            .page_associations(P, CONTACT, COMPANY, vec![(c2, None)], 10)
            .await
    );
    for (from, to) in [(CONTACT, COMPANY), (COMPANY, CONTACT), (CONTACT, CONTACT)] {
        note!(
            format!("labels after delete {from}->{to}"),
            store.list_labels(P, from, to).await
        );
    }
    note!(
        "label after delete",
        store
            .create_label(P, CONTACT, COMPANY, "fifth", "Fifth", None, 3)
            .await
    );

    // Search.
    for (label, q) in searches(&companies) {
        let page = store.search_objects(P, CONTACT, &q).await;
        match page {
            Ok(page) => note!(
                format!("search {label}"),
                (
                    page.total,
                    page.records.iter().map(|r| r.id).collect::<Vec<_>>()
                )
            ),
            Err(e) => note!(format!("search {label}"), format!("error {e}")),
        }
    }
    note!(
        "search full records",
        store
            .search_objects(P, CONTACT, &sorted(prop("n", Kind::Number), false))
            .await
            .map(|p| p.records)
    );

    // Names sort bytewise.
    let def = |name: &str| PropertyDefinition {
        name: name.to_owned(),
        label: name.to_uppercase(),
        kind: PropertyType::String,
        field_type: "text".to_owned(),
        description: String::new(),
        group_name: "g".to_owned(),
        options: Vec::new(),
        display_order: 0,
        calculated: false,
        external_options: false,
        has_unique_value: false,
        hidden: false,
        hubspot_defined: false,
        form_field: true,
        read_only_value: false,
        read_only_definition: false,
        archivable: true,
        created_at: Some(T0),
        updated_at: None,
        archived: false,
        archived_at: None,
    };
    let names = [
        "zeta", "Zeta", "alpha", "_x", "éclair", "Alpha", "beta", "a b", "a-b",
    ];
    note!(
        "insert properties",
        store
            .insert_properties(P, CONTACT, names.iter().map(|n| def(n)).collect())
            .await
    );
    note!(
        "list properties",
        store
            .list_properties(P, CONTACT)
            .await
            .map(|d| d.into_iter().map(|d| d.name).collect::<Vec<_>>())
    );
    for (i, name) in names.iter().enumerate() {
        let group = PropertyGroup {
            name: (*name).to_owned(),
            label: name.to_uppercase(),
            display_order: i as i32 - 3,
            archived: i % 3 == 0,
        };
        note!(
            format!("put group {name}"),
            store.put_group(P, CONTACT, group, true).await
        );
    }
    note!("list groups", store.list_groups(P, CONTACT).await);

    // Last, because a rolled back insert uses up an id in PostgreSQL only.
    let mut atomic = ctx(CONTACT, T0 + 900);
    atomic.atomic = true;
    note!(
        "atomic create",
        store
            .create_objects(
                &atomic,
                vec![
                    NewObject {
                        properties: props(&[("email", "fresh@example.com")]),
                        associations: Vec::new(),
                    },
                    NewObject {
                        properties: props(&[("email", "user0@example.com")]),
                        associations: Vec::new(),
                    },
                    NewObject::default(),
                ],
            )
            .await
    );
    note!(
        "atomic dangling association",
        store
            .create_objects(
                &atomic,
                vec![
                    NewObject::default(),
                    NewObject {
                        properties: BTreeMap::new(),
                        associations: vec![NewAssociation {
                            to_type: COMPANY.to_owned(),
                            to_id: companies[4],
                            types: vec![unlabeled.clone()],
                        }],
                    },
                ],
            )
            .await
            .map(|o| o.into_iter().map(|r| r.map(|_| ())).collect::<Vec<_>>())
    );
    note!(
        "after atomic",
        store
            .search_objects(P, CONTACT, &query(Vec::new()))
            .await
            .map(|p| p.total)
    );
    log
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_answers_exactly_like_sqlite() {
    common::with_db(|db| async move {
        let dir = tempfile::tempdir().expect("temporary directory");
        let sqlite = SqliteStore::open(&format!("sqlite://{}", dir.path().join("p.db").display()))
            .expect("open SQLite");
        let expected = scenario(&sqlite).await;
        let postgres = db.open().await;
        let actual = scenario(&postgres).await;
        assert_eq!(expected.len(), actual.len(), "same number of calls");
        let mut differences = Vec::new();
        for (e, a) in expected.iter().zip(&actual) {
            if e != a {
                differences.push(format!("sqlite:   {e}\npostgres: {a}"));
            }
        }
        assert!(
            differences.is_empty(),
            "{} of {} answers differ:\n\n{}",
            differences.len(),
            expected.len(),
            differences.join("\n\n")
        );
    })
    .await;
}
