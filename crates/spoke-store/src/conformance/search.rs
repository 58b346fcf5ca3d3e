//! Search against the core's reference: over one data set of deliberately odd stored values,
//! every operator on every kind of field, every sort, paging, groups, free text, the email
//! index and associations must give exactly what `spoke_core::search::evaluate` gives over
//! the same live records (total, ids and their order). A query the core refuses must be
//! refused.
//!
//! Where a backend cannot express a rule, the rule is an [`Exception`] listed in
//! [`EXCEPTIONS`]: its cases accept the reference answer or the exception's documented one,
//! and nothing else.

use std::collections::BTreeMap;

use spoke_core::search::{
    evaluate, fold, Answer, Condition, Field, Filter, Kind, Operand, SearchQuery, SearchRecord,
    Sort,
};
use spoke_core::time::Millis;
use spoke_core::{ObjectId, ObjectRecord, PortalId};

use super::{ctx, decoded, LIVE};
use crate::{LinkType, NewAssociation, NewObject, ObjectPatch, Store, Target};

const CONTACTS: &str = "contacts";
const COMPANIES: &str = "companies";
const T0: Millis = 1_700_000_000_000;
const UNKNOWN_ID: ObjectId = 9_000_000_000_000_000;

/// A rule a backend cannot express exactly, named so the suite says so instead of failing
/// or passing silently.
#[derive(Debug)]
pub struct Exception {
    pub name: &'static str,
    pub backends: &'static str,
    /// What the backend does instead of the core's rule.
    pub deviation: &'static str,
    /// Why it does not matter on the wire.
    pub why: &'static str,
}

/// PostgreSQL compares an integer with a double as two doubles.
pub const MIXED_NUMBERS_AS_DOUBLES: Exception = Exception {
    name: "MIXED_NUMBERS_AS_DOUBLES",
    backends: "PostgreSQL",
    deviation: "an integer (a date, an instant, an id) compared with a double operand, or a \
                double (a number property) with an integer operand, is rounded to a double \
                first, so beyond 2^53 two different values can compare equal; the core \
                compares them exactly (as SQLite does)",
    why: "the server builds each field's operands in the field's own number type (doubles \
          for number properties, integers for the rest), so it never asks such a comparison",
};

/// Every exception any backend takes.
pub const EXCEPTIONS: &[Exception] = &[MIXED_NUMBERS_AS_DOUBLES];

/// Odd texts in number properties (SQLite's `CAST` rules, written in the core).
pub const NUMBERS: &[&str] = &[
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
    "",
    "-.5",
    "1E2",
    "12",
];

pub(super) const DATETIMES: &[&str] = &[
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
    "",
    "1704164645678",
];

/// Odd texts in date properties.
pub const DATES: &[&str] = &[
    "1572480000000",
    " 42",
    "abc",
    "-5",
    "99999999999999999999",
    "-99999999999999999999",
    "1e3",
    "+7",
    "9007199254740993",
    "",
    "1",
];

const MULTI: &[&str] = &["a;b;c", "a", "", "b;a", "a;;b", "c", "a;b", ";", "A", "b"];

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
    "",
    "  Ada ",
    "Οδυσσευς",
];

const BOOLS: &[&str] = &["true", "false", "TRUE", "", "yes"];

const TOKENS: &[&str] = &[
    "ada",
    "lovelace",
    "*ove*",
    "ada*",
    "*ada",
    // A wildcard on one word of a longer value: tells whole-value globbing from per-word.
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
    "οδυσσευσ",
    "a",
    "true",
    "12.5",
];

const FREE_TEXT: &[&str] = &[
    "ada", "a", "%", "_", "\\", "ΑΣ", "σας", "ádám", "e c", "@example", "", "user1",
];

/// A stored record with the associations the check gave it.
struct Rec {
    record: ObjectRecord,
    links: Vec<ObjectId>,
}

impl SearchRecord for Rec {
    fn id(&self) -> ObjectId {
        self.record.id
    }
    fn created_at(&self) -> Millis {
        self.record.created_at
    }
    fn updated_at(&self) -> Millis {
        self.record.updated_at
    }
    fn value(&self, property: &str) -> Option<&str> {
        self.record.properties.get(property).map(String::as_str)
    }
    fn associated(&self, to_type: &str, to_id: ObjectId) -> bool {
        to_type == COMPANIES && self.links.contains(&to_id)
    }
}

fn prop(name: &str, kind: Kind) -> Field {
    Field::Property {
        name: name.to_owned(),
        kind,
        unique_index: false,
    }
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

fn one(field: &Field, condition: Condition) -> SearchQuery {
    query(vec![vec![Filter {
        field: field.clone(),
        condition,
    }]])
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

fn texts(ts: &[&str]) -> Vec<Operand> {
    ts.iter().map(|t| text(t)).collect()
}

/// Every comparison of `field` with each operand, and the presence checks.
fn comparisons(out: &mut Vec<(String, SearchQuery)>, label: &str, field: &Field, ops: &[Operand]) {
    for o in ops {
        for (name, c) in [
            ("=", Condition::Eq(o.clone())),
            ("<>", Condition::Neq(o.clone())),
            ("<", Condition::Lt(o.clone())),
            ("<=", Condition::Lte(o.clone())),
            (">", Condition::Gt(o.clone())),
            (">=", Condition::Gte(o.clone())),
            ("in", Condition::In(vec![o.clone()])),
            ("not in", Condition::NotIn(vec![o.clone()])),
        ] {
            out.push((format!("{label} {name} {o:?}"), one(field, c)));
        }
    }
    for pair in ops.windows(2) {
        let (a, b) = (pair[0].clone(), pair[1].clone());
        for (name, c) in [
            ("between", Condition::Between(a.clone(), b.clone())),
            (
                "between (reversed)",
                Condition::Between(b.clone(), a.clone()),
            ),
            ("in", Condition::In(vec![a.clone(), b.clone()])),
            ("not in", Condition::NotIn(vec![a.clone(), b.clone()])),
        ] {
            out.push((format!("{label} {name} {a:?}, {b:?}"), one(field, c)));
        }
    }
    for (name, c) in [
        ("has", Condition::HasProperty),
        ("not has", Condition::NotHasProperty),
        ("in nothing", Condition::In(Vec::new())),
        ("not in nothing", Condition::NotIn(Vec::new())),
    ] {
        out.push((format!("{label} {name}"), one(field, c)));
    }
}

fn push(out: &mut Vec<(String, SearchQuery)>, label: &str, field: &Field, c: Condition) {
    out.push((label.to_owned(), one(field, c)));
}

fn tokens(out: &mut Vec<(String, SearchQuery)>, label: &str, field: &Field) {
    for t in TOKENS {
        out.push((
            format!("{label} token {t:?}"),
            one(field, Condition::ContainsToken((*t).to_owned())),
        ));
        out.push((
            format!("{label} not token {t:?}"),
            one(field, Condition::NotContainsToken((*t).to_owned())),
        ));
    }
}

/// Every query the check runs, labelled.
fn queries(contacts: &[ObjectId], companies: &[ObjectId]) -> Vec<(String, SearchQuery)> {
    let mut out = Vec::new();
    let num = Operand::Number;
    let ms = Operand::Millis;
    let n = prop("n", Kind::Number);
    comparisons(
        &mut out,
        "n",
        &n,
        &[
            num(-1e300),
            num(-10.0),
            num(-7.25),
            num(0.0),
            num(5e-324),
            num(0.1),
            num(1.0),
            num(3.0),
            num(5.0),
            num(7.0),
            num(10.0),
            num(12.0),
            num(12.5),
            num(100.0),
            num(9_007_199_254_740_992.0),
            num(1e308),
            num(f64::MAX),
            num(f64::INFINITY),
            Operand::Id(3),
        ],
    );
    push(
        &mut out,
        "n in 3, 5, 7, 12",
        &n,
        Condition::In(vec![num(3.0), num(5.0), num(7.0), num(12.0)]),
    );
    push(
        &mut out,
        "n not in 0, 12.5",
        &n,
        Condition::NotIn(vec![num(0.0), num(12.5)]),
    );
    let dt = prop("dt", Kind::Datetime);
    comparisons(
        &mut out,
        "dt",
        &dt,
        &[
            ms(-62_167_219_200_000),
            ms(-1),
            ms(0),
            ms(1_483_228_799_999),
            ms(1_704_067_200_000),
            ms(1_704_153_600_000),
            ms(1_704_157_445_000),
            ms(1_704_164_645_000),
            ms(1_704_164_645_500),
            ms(1_704_164_645_678),
        ],
    );
    push(
        &mut out,
        "dt between 0, x",
        &dt,
        Condition::Between(ms(0), ms(1_704_164_645_500)),
    );
    let d = prop("d", Kind::Date);
    comparisons(
        &mut out,
        "d",
        &d,
        &[
            ms(i64::MIN),
            ms(-5),
            ms(0),
            ms(1),
            ms(10),
            ms(1_572_480_000_000),
            ms(9_007_199_254_740_992),
            ms(i64::MAX),
        ],
    );
    // A number operand on an integer field: compared exactly (see the exception).
    push(
        &mut out,
        "d = 2^53 as a double",
        &d,
        Condition::Eq(num(9_007_199_254_740_992.0)),
    );
    let m = prop("m", Kind::Multi);
    comparisons(&mut out, "m", &m, &texts(&["", "a", "a;b", "b", "c", "A"]));
    push(&mut out, "m in b, c", &m, Condition::In(texts(&["b", "c"])));
    let first = prop("firstname", Kind::Text);
    comparisons(
        &mut out,
        "first",
        &first,
        &texts(&[
            "", "a", "ada", "Ádám", "ádám", "b", "m", "z", "zed", "é", "σας",
        ]),
    );
    push(
        &mut out,
        "first in",
        &first,
        Condition::In(texts(&["zed", "ada"])),
    );
    let exact = prop("lastname", Kind::Exact);
    comparisons(
        &mut out,
        "exact",
        &exact,
        &texts(&["a", "Zed", "zed", "Ådám"]),
    );
    let b = prop("b", Kind::Bool);
    comparisons(&mut out, "bool", &b, &texts(&["false", "true"]));
    tokens(&mut out, "first", &first);
    tokens(&mut out, "m", &m);
    tokens(&mut out, "n", &n);

    // Record columns.
    let id = |k: usize| Operand::Id(contacts[k]);
    comparisons(
        &mut out,
        "id",
        &Field::Id,
        &[
            id(0),
            id(3),
            Operand::Number(contacts[2] as f64 + 0.5),
            id(5),
        ],
    );
    comparisons(
        &mut out,
        "created",
        &Field::CreatedAt,
        &[ms(T0), ms(T0 + 10), ms(T0 + 15)],
    );
    comparisons(
        &mut out,
        "updated",
        &Field::UpdatedAt,
        &[ms(T0), ms(T0 + 50), ms(T0 + 100)],
    );

    // The email index, and email compared without it.
    let email = Field::Property {
        name: "email".to_owned(),
        kind: Kind::Text,
        unique_index: true,
    };
    comparisons(
        &mut out,
        "email",
        &email,
        &texts(&["ada@x.test", "user3@example.com", "οδυσσευσ@x.test"]),
    );
    push(
        &mut out,
        "email in",
        &email,
        Condition::In(vec![
            text("user4@example.com"),
            text("nobody@example.com"),
            text(&fold("ADA@X.test")),
        ]),
    );

    // Associations: EQ and IN only; anything else matches nothing.
    let assoc = Field::Association {
        to_type: COMPANIES.to_owned(),
    };
    push(
        &mut out,
        "assoc = co0",
        &assoc,
        Condition::Eq(Operand::Id(companies[0])),
    );
    push(
        &mut out,
        "assoc in",
        &assoc,
        Condition::In(vec![Operand::Id(companies[1]), Operand::Id(UNKNOWN_ID)]),
    );
    push(&mut out, "assoc has", &assoc, Condition::HasProperty);
    push(
        &mut out,
        "assoc <>",
        &assoc,
        Condition::Neq(Operand::Id(companies[0])),
    );
    // Matches nothing, as every association condition but EQ and IN (the SQL once took
    // an empty NOT_IN for TRUE before looking at the field).
    push(
        &mut out,
        "assoc not in nothing",
        &assoc,
        Condition::NotIn(Vec::new()),
    );

    // Groups: OR of ANDs, an empty group.
    let f = |field: &Field, condition: Condition| Filter {
        field: field.clone(),
        condition,
    };
    out.push((
        "groups".into(),
        query(vec![
            vec![
                f(&n, Condition::Gt(num(1.0))),
                f(&first, Condition::ContainsToken("ada".into())),
            ],
            vec![f(&m, Condition::Eq(text("c")))],
        ]),
    ));
    out.push((
        "three groups".into(),
        query(vec![
            vec![f(&d, Condition::Lt(ms(10))), f(&b, Condition::HasProperty)],
            vec![f(&dt, Condition::NotHasProperty)],
            vec![f(&Field::Id, Condition::Eq(id(1)))],
        ]),
    ));
    out.push(("empty group".into(), query(vec![vec![]])));
    out.push(("no groups".into(), query(Vec::new())));

    // Sorts: unset and unreadable first ascending, ties by id in the sort's direction.
    for (label, field) in [
        ("n", n.clone()),
        ("dt", dt.clone()),
        ("d", d.clone()),
        ("m", m.clone()),
        ("first", first.clone()),
        ("exact", exact.clone()),
        ("bool", b.clone()),
        ("email", email.clone()),
        ("id", Field::Id),
        ("created", Field::CreatedAt),
        ("updated", Field::UpdatedAt),
        ("assoc", assoc.clone()),
    ] {
        out.push((format!("sort {label} asc"), sorted(field.clone(), false)));
        out.push((format!("sort {label} desc"), sorted(field, true)));
    }
    let mut filtered_sort = one(&n, Condition::Gte(num(0.0)));
    filtered_sort.sort = Some(Sort {
        field: dt.clone(),
        descending: true,
    });
    out.push(("n >= 0 sorted by dt desc".into(), filtered_sort));

    // Paging: the total counts every match; the page is the slice of the order.
    for (offset, limit) in [(0, 1), (3, 4), (25, 10), (1000, 5), (0, 0), (10, 200)] {
        out.push((
            format!("page {offset}+{limit}"),
            SearchQuery {
                offset,
                limit,
                ..sorted(first.clone(), true)
            },
        ));
        out.push((
            format!("page {offset}+{limit} unsorted, filtered"),
            SearchQuery {
                offset,
                limit,
                ..one(&n, Condition::Neq(num(0.0)))
            },
        ));
    }

    // Free text over the folded values of the given properties.
    for t in FREE_TEXT {
        out.push((
            format!("text {t:?}"),
            SearchQuery {
                text: Some((*t).to_owned()),
                text_properties: vec!["firstname".into(), "lastname".into(), "email".into()],
                ..query(Vec::new())
            },
        ));
    }
    out.push((
        "text without properties".into(),
        SearchQuery {
            text: Some("ada".into()),
            ..query(Vec::new())
        },
    ));
    out.push((
        "text and a filter".into(),
        SearchQuery {
            text: Some("a".into()),
            text_properties: vec!["firstname".into()],
            ..one(&b, Condition::Eq(text("true")))
        },
    ));
    out
}

/// Queries the core refuses, which every backend must refuse too.
fn refused() -> Vec<(&'static str, SearchQuery)> {
    vec![
        (
            "text operand on a number",
            one(&prop("n", Kind::Number), Condition::Eq(text("1"))),
        ),
        (
            "number operand on text",
            one(
                &prop("firstname", Kind::Text),
                Condition::Lt(Operand::Number(1.0)),
            ),
        ),
        (
            "id operand on a multi-select",
            one(&prop("m", Kind::Multi), Condition::In(vec![Operand::Id(1)])),
        ),
        (
            "NaN",
            one(
                &prop("n", Kind::Number),
                Condition::Gt(Operand::Number(f64::NAN)),
            ),
        ),
        (
            "token on the id column",
            one(&Field::Id, Condition::ContainsToken("1".into())),
        ),
        (
            "token on a date column",
            one(&Field::UpdatedAt, Condition::NotContainsToken("1".into())),
        ),
    ]
}

/// The answers [`MIXED_NUMBERS_AS_DOUBLES`] gives instead of the reference: both sides of a
/// mixed comparison as doubles. Only the date-equals-2^53 cases differ on this data set.
fn as_doubles(records: &[Rec], q: &SearchQuery) -> Option<Answer> {
    let [group] = q.groups.as_slice() else {
        return None;
    };
    let [Filter {
        field:
            Field::Property {
                name,
                kind: Kind::Date,
                ..
            },
        condition,
    }] = group.as_slice()
    else {
        return None;
    };
    let wanted = match condition {
        Condition::Eq(Operand::Number(x)) => *x,
        _ => return None,
    };
    let mut ids: Vec<ObjectId> = records
        .iter()
        .filter(|r| {
            r.value(name)
                .is_some_and(|v| spoke_core::search::date(v) as f64 == wanted)
        })
        .map(|r| r.id())
        .collect();
    ids.sort_unstable();
    Some(Answer {
        total: ids.len(),
        ids,
    })
}

pub(super) async fn search_matches_the_core_reference(store: &dyn Store, portal: PortalId) {
    let link = LinkType {
        category: "HUBSPOT_DEFINED".into(),
        type_id: 279,
        inverse_type_id: 280,
        exclusive: false,
        inverse_exclusive: false,
    };
    let companies: Vec<ObjectId> = store
        .create_objects(
            &ctx(portal, COMPANIES, T0),
            (0..3)
                .map(|i| NewObject {
                    properties: BTreeMap::from([("name".to_owned(), format!("Company {i}"))]),
                    associations: Vec::new(),
                })
                .collect(),
        )
        .await
        .expect("create companies")
        .iter()
        .map(|r| r.as_ref().expect("company created").id)
        .collect();

    // Records with odd values, some unset, created in batches at different times.
    let mut contacts: Vec<ObjectId> = Vec::new();
    let mut links: BTreeMap<ObjectId, Vec<ObjectId>> = BTreeMap::new();
    for batch in 0..4 {
        let items: Vec<(NewObject, Vec<ObjectId>)> = (0..10)
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
                if i % 6 != 5 {
                    set("b", BOOLS[i % BOOLS.len()]);
                }
                // Emails as the server stores them: trimmed and lowercased (ς kept), which
                // is what lets EQ/IN on them use the unique-value index.
                match i {
                    1 => set("email", "ada@x.test"),
                    2 => set("email", "οδυσσευς@x.test"),
                    _ if i % 3 != 2 => set("email", &format!("user{i}@example.com")),
                    _ => {}
                }
                let to: Vec<ObjectId> = match i % 4 {
                    0 => vec![companies[0]],
                    1 => vec![companies[1]],
                    2 => vec![companies[0], companies[2]],
                    _ => Vec::new(),
                };
                let object = NewObject {
                    properties: p,
                    associations: to
                        .iter()
                        .map(|id| NewAssociation {
                            to_type: COMPANIES.to_owned(),
                            to_id: *id,
                            types: vec![link.clone()],
                        })
                        .collect(),
                };
                (object, to)
            })
            .collect();
        let (objects, targets): (Vec<NewObject>, Vec<Vec<ObjectId>>) = items.into_iter().unzip();
        let out = store
            .create_objects(&ctx(portal, CONTACTS, T0 + batch as i64 * 5), objects)
            .await
            .expect("create contacts");
        for (r, to) in out.iter().zip(targets) {
            let id = r.as_ref().expect("contact created").id;
            contacts.push(id);
            links.insert(id, to);
        }
    }
    // Later changes (updated_at differs from created_at) and archived records, which no
    // search returns.
    let patch = |k: usize, pairs: &[(&str, &str)]| ObjectPatch {
        target: Target::Id(contacts[k]),
        properties: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    for r in store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 100),
            vec![
                patch(0, &[("firstname", "Ada"), ("lastname", "")]),
                patch(6, &[("n", "44")]),
                patch(11, &[("m", "c;a")]),
            ],
        )
        .await
        .expect("update contacts")
    {
        r.expect("contact updated");
    }
    store
        .archive_objects(portal, CONTACTS, vec![contacts[7], contacts[9]], T0 + 200)
        .await
        .expect("archive contacts");

    let records: Vec<Rec> = store
        .list_objects(portal, CONTACTS, None, 1000, LIVE)
        .await
        .expect("list contacts")
        .into_iter()
        .map(|r| {
            let record = decoded(r);
            let links = links.get(&record.id).cloned().unwrap_or_default();
            Rec { record, links }
        })
        .collect();
    assert_eq!(records.len(), contacts.len() - 2, "live contacts");

    let mut excepted: Vec<String> = Vec::new();
    for (label, q) in queries(&contacts, &companies) {
        let want = evaluate(&records, &q).unwrap_or_else(|e| panic!("{label}: refused: {e}"));
        let page = store
            .search_objects(portal, CONTACTS, &q)
            .await
            .unwrap_or_else(|e| panic!("search {label}: {e}"));
        let got = Answer {
            total: page.total,
            ids: page.records.iter().map(|r| r.id).collect(),
        };
        if got != want && as_doubles(&records, &q).is_some_and(|alt| alt == got) {
            excepted.push(format!("{}: {label}", MIXED_NUMBERS_AS_DOUBLES.name));
            continue;
        }
        assert_eq!(
            got, want,
            "search {label}: the backend's answer against the core's"
        );
    }
    for line in excepted {
        eprintln!("search conformance: answered under exception {line}");
    }

    for (label, q) in refused() {
        assert!(
            evaluate(&records, &q).is_err(),
            "{label}: the core refuses it"
        );
        assert!(
            store.search_objects(portal, CONTACTS, &q).await.is_err(),
            "{label}: the backend refuses it too"
        );
    }

    // A search returns the records themselves, as a read does.
    let page = store
        .search_objects(portal, CONTACTS, &sorted(prop("n", Kind::Number), false))
        .await
        .expect("search");
    for r in page.records {
        let found = records
            .iter()
            .find(|x| x.record.id == r.id)
            .expect("a live record");
        assert_eq!(decoded(r), found.record, "search returns the stored record");
    }
}
