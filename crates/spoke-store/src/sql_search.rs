//! The search AST compiled to SQL, once for every SQL backend.
//!
//! The meaning of a query is the core's (`spoke_core::search`, whose [`evaluate`] is the
//! reference); this module writes it as SQL over the tables every SQL backend has
//! (`objects o`, `associations`, `unique_values`). A backend supplies only its [`Dialect`]
//! (placeholders, how a stored property is read, bytewise text, substring search) and the
//! SQL functions named after the core's rules, each computing exactly that rule:
//!
//! | SQL function | the core's rule |
//! | --- | --- |
//! | `spoke_number(text)` | [`spoke_core::search::number`] (a double) |
//! | `spoke_date(text)` | [`spoke_core::search::date`] (a 64-bit integer) |
//! | `spoke_instant(text)` | [`spoke_core::search::instant`] (a 64-bit integer, NULL if unreadable) |
//! | `spoke_fold(text)` | [`spoke_core::search::fold`] |
//! | `spoke_multi_has(text, option)` | [`spoke_core::search::multi_has`], false for NULL |
//! | `spoke_token_match(text, token)` | [`spoke_core::search::token_matches`], false for NULL |
//!
//! How SQL meets the reference: a stored value is NULL when unset, so SQL's three-valued
//! logic gives "an unreadable value matches no comparison" for free, and NEQ / NOT_IN /
//! NOT_CONTAINS_TOKEN add `raw IS NULL OR ...` for "also unset". Sorts say `NULLS FIRST`
//! ascending and `NULLS LAST` descending, ties by id in the sort's direction. Record
//! columns sort without a NULLS clause (they are never NULL), so their indexes serve the
//! order. Contact email EQ/IN go through the unique-value index when that finds the same
//! records as comparing folds ([`spoke_core::search::fold_is_exact_for_lowercase`]).
//!
//! [`evaluate`]: spoke_core::search::evaluate

use spoke_core::search::{
    check, fold_is_exact_for_lowercase, Condition, Field, Filter, Kind, Operand, SearchError,
    SearchQuery,
};
use spoke_core::PortalId;

use crate::value_index::{self, Part};

/// A bound parameter, typed: PostgreSQL needs the type, SQLite compares by it.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Int(i64),
    Real(f64),
    Text(String),
}

/// SQL text with its parameters, numbered from 1 in the order they were bound.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<SqlValue>,
}

/// What differs between SQL backends.
pub trait Dialect {
    /// The placeholder of parameter `n` (1-based), usable any number of times.
    fn placeholder(&self, n: usize) -> String;
    /// The stored text of property `name` of `o` (NULL when unset), compared bytewise.
    /// `name` holds no quote (`"` or `'`), so it fits in a JSON path; bind it (with
    /// [`Binder::bind`]) rather than write it into the SQL.
    fn property(&self, b: &mut Binder<'_>, name: &str) -> String;
    /// `expr`, a text expression, compared and sorted bytewise.
    fn bytewise(&self, expr: &str) -> String;
    /// Whether text `needle` occurs in text `haystack`.
    fn contains(&self, haystack: &str, needle: &str) -> String;
}

/// A stored property, read through the dialect. Quotes are dropped from the name: SQLite's
/// JSON paths cannot hold them, so every backend reads `o'x` as `ox` alike.
fn property(b: &mut Binder<'_>, name: &str) -> String {
    let clean: String = name.chars().filter(|c| *c != '"' && *c != '\'').collect();
    let d = b.dialect;
    d.property(b, &clean)
}

/// Binds parameters as a query is written.
pub struct Binder<'d> {
    dialect: &'d dyn Dialect,
    params: Vec<SqlValue>,
    /// [`Compiled::unindexed`], as it is found.
    unindexed: Vec<(String, Part)>,
}

impl Binder<'_> {
    /// Binds `v` and returns its placeholder.
    pub fn bind(&mut self, v: SqlValue) -> String {
        self.params.push(v);
        self.dialect.placeholder(self.params.len())
    }

    fn operand(&mut self, o: &Operand) -> String {
        self.bind(match o {
            Operand::Number(n) => SqlValue::Real(*n),
            Operand::Text(t) => SqlValue::Text(t.clone()),
            Operand::Millis(m) | Operand::Id(m) => SqlValue::Int(*m),
        })
    }

    fn operands(&mut self, os: &[Operand]) -> String {
        os.iter()
            .map(|o| self.operand(o))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A search as two statements over one snapshot: the total, and the page.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// `SELECT COUNT(*) ...`: one row, one integer.
    pub count: Sql,
    /// The page's records, as [`PAGE_COLUMNS`], in the query's order.
    pub page: Sql,
    /// Parts of properties the value index would have served had they been indexed (each
    /// once): this compilation reads their records instead. Index them
    /// ([`value_index`]'s lazy indexing) and compile again to probe.
    pub unindexed: Vec<(String, Part)>,
    /// Set when the page is bounded by the matches' id range ([`id_bounded`]): `count` then
    /// also answers `MIN(o.id)` and `MAX(o.id)` of the matches, and these are the page's
    /// parameters that take them (unbounded as compiled). Bound them with a count of the
    /// same snapshot, or leave them.
    pub id_bounds: Option<IdBounds>,
}

/// Where the id range of a search's matches goes in [`Compiled::page`]'s parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdBounds {
    pub lo: usize,
    pub hi: usize,
}

impl Compiled {
    /// The page bounded by the id range `lo..=hi` of its matches, as counted in the page's
    /// snapshot: no match lies outside it, so the answer is the same, and an id walk
    /// starts at the first match. Without matches (`None`), an empty range. A page that is
    /// not [`id_bounded`] is returned as compiled.
    pub fn page_within(&self, range: Option<(i64, i64)>) -> std::borrow::Cow<'_, Sql> {
        let Some(b) = self.id_bounds else {
            return std::borrow::Cow::Borrowed(&self.page);
        };
        let (lo, hi) = range.unwrap_or((1, 0));
        let mut page = self.page.clone();
        page.params[b.lo] = SqlValue::Int(lo);
        page.params[b.hi] = SqlValue::Int(hi);
        std::borrow::Cow::Owned(page)
    }
}

/// Whether a search's page is bounded by the id range of its matches: one group of
/// conditions on record columns only (id, creation and modification time), one of them on
/// the id, sorted by id. That is the page of Airbyte's incremental sync and of the full
/// sync's search: a modification window and an `hs_object_id` floor, sorted by id. Such a
/// page is an id walk from the floor that checks each record against the window, and when
/// the window's records sit at the end of the id range (a sync's modified records are
/// mostly the newest), every page walked every untouched record before them: at 10M
/// contacts, pages of several seconds (BENCHMARKS.md, "Sync at 10M"). The count, which
/// the page needs anyway, also gives the matches' id range at no extra cost, and the walk
/// starts there.
///
/// Other shapes are left alone: the bounds would make an id walk look cheap to the
/// planner, and for matches few and far apart (a value-index probe, a narrow window over
/// old records) a walk of their whole range is slower than what it picks now. Here the
/// walk is what it picks anyway (an id condition, sorted by id), and the bounds only
/// shorten it.
pub fn id_bounded(q: &SearchQuery) -> bool {
    let by_id = match &q.sort {
        None => true,
        Some(s) => s.field == Field::Id,
    };
    let text = q.text.is_some() && !q.text_properties.is_empty();
    let [group] = q.groups.as_slice() else {
        return false;
    };
    by_id
        && !text
        && group.iter().all(|f| {
            matches!(f.field, Field::Id | Field::CreatedAt | Field::UpdatedAt)
                && !matches!(f.condition, Condition::Neq(_) | Condition::NotIn(_))
        })
        && group.iter().any(|f| f.field == Field::Id)
}

/// The columns of [`Compiled::page`], in order: what each backend's row reader takes.
pub const PAGE_COLUMNS: &str =
    "o.id, o.properties, o.created_at, o.updated_at, o.archived_at, o.version";

/// Compiles `q` for the live records of `object_type` in `portal`. Refuses what the core's
/// [`check`] refuses. `indexed` says which parts of the type's properties the value index
/// holds (see [`value_index`]): a filter on any other reads the records.
pub fn compile(
    dialect: &dyn Dialect,
    portal: PortalId,
    object_type: &str,
    q: &SearchQuery,
    indexed: &dyn Fn(&str, Part) -> bool,
) -> Result<Compiled, SearchError> {
    check(q)?;
    let mut b = Binder {
        dialect,
        params: Vec::new(),
        unindexed: Vec::new(),
    };
    let p = b.bind(SqlValue::Int(portal.0));
    let t = b.bind(SqlValue::Text(object_type.to_owned()));
    let scope = Scope {
        portal: &p,
        object_type: &t,
        indexed,
    };
    let head = format!("o.portal_id = {p} AND o.object_type = {t} AND o.archived_at IS NULL");
    let mut clause = String::new();
    if !q.groups.is_empty() {
        let groups: Vec<String> = q
            .groups
            .iter()
            .map(|g| {
                let parts: Vec<String> = g.iter().map(|f| filter(&mut b, &scope, f)).collect();
                if parts.is_empty() {
                    "TRUE".to_owned()
                } else {
                    parts.join(" AND ")
                }
            })
            .collect();
        clause.push_str(&format!(" AND (({}))", groups.join(") OR (")));
    }
    if let Some(text) = q.text.as_ref().filter(|_| !q.text_properties.is_empty()) {
        let needle = b.bind(SqlValue::Text(text.clone()));
        let parts: Vec<String> = q
            .text_properties
            .iter()
            .map(|name| {
                let raw = property(&mut b, name);
                dialect.contains(&format!("spoke_fold({raw})"), &needle)
            })
            .collect();
        clause.push_str(&format!(" AND ({})", parts.join(" OR ")));
    }
    let bounded = id_bounded(q);
    let counted = if bounded {
        "COUNT(*), MIN(o.id), MAX(o.id)"
    } else {
        "COUNT(*)"
    };
    let count = Sql {
        text: format!("SELECT {counted} FROM objects o WHERE {head}{clause}"),
        params: b.params.clone(),
    };
    // The bounds come right after the scope, before the filters: SQLite starts an index
    // range at the first lower bound it finds on the column, and it cannot tell which of
    // two bound parameters is the higher; the matches' least id is never below the
    // filter's floor.
    let (bounds, id_bounds) = if bounded {
        let lo = b.params.len();
        let lo_p = b.bind(SqlValue::Int(i64::MIN));
        let hi_p = b.bind(SqlValue::Int(i64::MAX));
        (
            format!(" AND o.id >= {lo_p} AND o.id <= {hi_p}"),
            Some(IdBounds { lo, hi: lo + 1 }),
        )
    } else {
        (String::new(), None)
    };
    let order = order(&mut b, q);
    let limit = b.bind(SqlValue::Int(i64::try_from(q.limit).unwrap_or(i64::MAX)));
    let offset = b.bind(SqlValue::Int(i64::try_from(q.offset).unwrap_or(i64::MAX)));
    let page = Sql {
        text: format!(
            "SELECT {PAGE_COLUMNS} FROM objects o WHERE {head}{bounds}{clause}
             ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        ),
        params: b.params,
    };
    Ok(Compiled {
        count,
        page,
        unindexed: b.unindexed,
        id_bounds,
    })
}

/// Compiles `search` as [`compile`] does with the properties this process knows are
/// indexed (`known`), and when it could probe others (`value_index`'s lazy indexing): has
/// `index` list them and make their rows, remembers them, and compiles again. `index`
/// finishes before the search reads anything, so the search probes complete rows.
pub async fn compile_indexing<F, Fut>(
    dialect: &(dyn Dialect + Sync),
    search: &crate::RecordSearch<'_>,
    known: &value_index::Known,
    index: F,
) -> crate::StoreResult<Compiled>
where
    F: FnOnce(Vec<(String, Part)>) -> Fut,
    Fut: std::future::Future<Output = crate::StoreResult<()>>,
{
    let (portal, object_type) = (search.portal, search.object_type);
    let compile = || {
        compile(dialect, portal, object_type, search.query, &|name, part| {
            known.has(portal, object_type, name, part)
        })
        .map_err(|e| crate::StoreError::Internal(e.to_string()))
    };
    let compiled = compile()?;
    if compiled.unindexed.is_empty() {
        return Ok(compiled);
    }
    index(compiled.unindexed.clone()).await?;
    known.add(portal, object_type, &compiled.unindexed);
    compile()
}

/// The placeholders of the portal and type, for subqueries.
struct Scope<'a> {
    portal: &'a str,
    object_type: &'a str,
    indexed: &'a dyn Fn(&str, Part) -> bool,
}

/// The expression a property compares by, for its kind.
fn typed(b: &mut Binder<'_>, name: &str, kind: Kind) -> (String, String) {
    let raw = property(b, name);
    let cmp = match kind {
        Kind::Number => format!("spoke_number({raw})"),
        Kind::Date => format!("spoke_date({raw})"),
        Kind::Datetime => format!("spoke_instant({raw})"),
        Kind::Text => b.dialect.bytewise(&format!("spoke_fold({raw})")),
        Kind::Exact | Kind::Bool | Kind::Multi => raw.clone(),
    };
    (raw, cmp)
}

fn filter(b: &mut Binder<'_>, scope: &Scope<'_>, f: &Filter) -> String {
    let c = &f.condition;
    // Decided before anything is bound: SQLite wants every parameter bound to be used.
    // An association filter other than EQ and IN matches nothing (the reference's rule),
    // an empty NOT_IN included.
    let association = matches!(f.field, Field::Association { .. });
    match c {
        Condition::In(vs) if vs.is_empty() => return "FALSE".into(),
        Condition::NotIn(vs) if vs.is_empty() && !association => return "TRUE".into(),
        _ => {}
    }
    let (raw, cmp, multi) = match &f.field {
        Field::Id => return column(b, "o.id", c),
        Field::CreatedAt => return column(b, "o.created_at", c),
        Field::UpdatedAt => return column(b, "o.updated_at", c),
        Field::Association { to_type } => {
            let ids = match c {
                Condition::Eq(v) => std::slice::from_ref(v),
                Condition::In(vs) => vs.as_slice(),
                _ => &[],
            };
            if ids.is_empty() {
                return "FALSE".into();
            }
            let to = b.bind(SqlValue::Text(to_type.clone()));
            return format!(
                "o.id IN (SELECT from_id FROM associations WHERE portal_id = {}
                 AND from_type = {} AND to_type = {to} AND to_id IN ({}))",
                scope.portal,
                scope.object_type,
                b.operands(ids)
            );
        }
        Field::Property {
            name,
            kind,
            unique_index,
        } => {
            if *unique_index {
                if let Some(sql) = unique_lookup(b, scope, name, c) {
                    return sql;
                }
            }
            // Decided before the exact predicate binds anything, since SQLite wants every
            // bound parameter used.
            let probe = index_probe(b, scope, name, *kind, c);
            let (raw, cmp) = typed(b, name, *kind);
            if let Some(probe) = probe {
                let exact = exact(b, &raw, &cmp, *kind == Kind::Multi, c);
                return format!("({probe} AND {exact})");
            }
            (raw, cmp, *kind == Kind::Multi)
        }
    };
    exact(b, &raw, &cmp, multi, c)
}

/// The condition on a property as the core defines it, read from the record.
fn exact(b: &mut Binder<'_>, raw: &str, cmp: &str, multi: bool, c: &Condition) -> String {
    let unset = format!("{raw} IS NULL");
    // Whether the value (or, for a multi-select, one of its options) is one of `vs`.
    let has = |b: &mut Binder<'_>, vs: &[Operand]| -> String {
        match vs {
            _ if multi => {
                let parts: Vec<String> = vs
                    .iter()
                    .map(|v| format!("spoke_multi_has({raw}, {})", b.operand(v)))
                    .collect();
                format!("({})", parts.join(" OR "))
            }
            [v] => format!("{cmp} = {}", b.operand(v)),
            _ => format!("{cmp} IN ({})", b.operands(vs)),
        }
    };
    match c {
        Condition::Eq(v) => has(b, std::slice::from_ref(v)),
        Condition::Neq(v) if !multi => format!("({unset} OR {cmp} <> {})", b.operand(v)),
        Condition::Neq(v) => format!("({unset} OR NOT {})", has(b, std::slice::from_ref(v))),
        Condition::In(vs) => has(b, vs),
        Condition::NotIn(vs) => format!("({unset} OR NOT ({}))", has(b, vs)),
        Condition::HasProperty => format!("({raw} IS NOT NULL AND {raw} <> '')"),
        Condition::NotHasProperty => format!("({unset} OR {raw} = '')"),
        Condition::ContainsToken(t) => format!(
            "spoke_token_match({raw}, {})",
            b.bind(SqlValue::Text(t.clone()))
        ),
        Condition::NotContainsToken(t) => format!(
            "({unset} OR NOT spoke_token_match({raw}, {}))",
            b.bind(SqlValue::Text(t.clone()))
        ),
        _ => range(b, cmp, c),
    }
}

/// A record column: always set, never NULL. Token conditions were refused by `check`.
fn column(b: &mut Binder<'_>, col: &str, c: &Condition) -> String {
    match c {
        Condition::Eq(v) => format!("{col} = {}", b.operand(v)),
        Condition::Neq(v) => format!("{col} <> {}", b.operand(v)),
        Condition::In(vs) => format!("{col} IN ({})", b.operands(vs)),
        Condition::NotIn(vs) => format!("{col} NOT IN ({})", b.operands(vs)),
        Condition::HasProperty => "TRUE".into(),
        Condition::NotHasProperty
        | Condition::ContainsToken(_)
        | Condition::NotContainsToken(_) => "FALSE".into(),
        _ => range(b, col, c),
    }
}

/// LT, LTE, GT, GTE and BETWEEN on a comparable expression.
fn range(b: &mut Binder<'_>, cmp: &str, c: &Condition) -> String {
    let (op, v) = match c {
        Condition::Lt(v) => ("<", v),
        Condition::Lte(v) => ("<=", v),
        Condition::Gt(v) => (">", v),
        Condition::Gte(v) => (">=", v),
        Condition::Between(lo, hi) => {
            let lo = b.operand(lo);
            let hi = b.operand(hi);
            return format!("{cmp} BETWEEN {lo} AND {hi}");
        }
        // Every other condition is written by the caller.
        _ => return "FALSE".into(),
    };
    format!("{cmp} {op} {}", b.operand(v))
}

/// The longest IN list the value index is asked about.
const MAX_PROBED_VALUES: usize = 1_000;

/// The records the value index says may meet `c` on property `name` compared as `kind`
/// (a superset of those that do; see `value_index`), or `None` where only the scan can
/// tell. Bounds are non-strict: an operand rounded to a double, or a text key cut short,
/// may equal a key whose value lies beyond the strict bound.
fn index_probe(
    b: &mut Binder<'_>,
    scope: &Scope<'_>,
    name: &str,
    kind: Kind,
    c: &Condition,
) -> Option<String> {
    if !value_index::probes(name) {
        return None;
    }
    if let Condition::ContainsToken(t) = c {
        return token_probe(b, scope, name, kind, t);
    }
    // A probed IN binds its list twice (keys and exact operands): past this many values the
    // scan keeps long lists under the backends' parameter limits.
    if matches!(c, Condition::In(vs) if vs.len() > MAX_PROBED_VALUES) {
        return None;
    }
    let keys = match kind {
        Kind::Text | Kind::Exact | Kind::Bool => {
            // Text compares the fold of the value with the operand as given; exact kinds
            // compare the value itself, whose fold is the operand's fold.
            let key = |v: &Operand| match v {
                Operand::Text(t) if kind == Kind::Text => Some(value_index::truncate(t.clone())),
                Operand::Text(t) => Some(value_index::text_key(t)),
                _ => None,
            };
            let (lo, hi, list): (Option<&Operand>, Option<&Operand>, &[Operand]) = match c {
                Condition::Eq(v) => (None, None, std::slice::from_ref(v)),
                Condition::In(vs) => (None, None, vs.as_slice()),
                _ if kind != Kind::Text => return None,
                Condition::Lt(v) | Condition::Lte(v) => (None, Some(v), &[]),
                Condition::Gt(v) | Condition::Gte(v) => (Some(v), None, &[]),
                Condition::Between(lo, hi) => (Some(lo), Some(hi), &[]),
                _ => return None,
            };
            Keys {
                table: "search_text",
                list: list
                    .iter()
                    .map(|v| key(v).map(SqlValue::Text))
                    .collect::<Option<Vec<_>>>()?,
                lo: match lo {
                    Some(v) => Some(SqlValue::Text(key(v)?)),
                    None => None,
                },
                // A value at most `hi` has a key at most `hi` (its key is a prefix of it).
                hi: match hi {
                    Some(Operand::Text(t)) => Some(SqlValue::Text(t.clone())),
                    Some(_) => return None,
                    None => None,
                },
            }
        }
        Kind::Number | Kind::Date | Kind::Datetime => {
            let f = |v: &Operand| match v {
                Operand::Number(n) => Some(*n),
                Operand::Millis(m) | Operand::Id(m) => Some(*m as f64),
                Operand::Text(_) => None,
            };
            // A value reading 0 has no key: a condition 0 meets needs the scan.
            let (lo, hi, list): (Option<f64>, Option<f64>, Vec<f64>) = match c {
                Condition::Eq(v) => (None, None, vec![f(v)?]),
                Condition::In(vs) => (None, None, vs.iter().map(f).collect::<Option<_>>()?),
                Condition::Lt(v) | Condition::Lte(v) => (None, Some(f(v)?), Vec::new()),
                Condition::Gt(v) | Condition::Gte(v) => (Some(f(v)?), None, Vec::new()),
                Condition::Between(lo, hi) => (Some(f(lo)?), Some(f(hi)?), Vec::new()),
                _ => return None,
            };
            let meets_zero = if list.is_empty() {
                lo.is_none_or(|l| l <= 0.0) && hi.is_none_or(|h| h >= 0.0)
            } else {
                list.contains(&0.0)
            };
            if meets_zero || list.iter().chain(&lo).chain(&hi).any(|x| x.is_nan()) {
                return None;
            }
            Keys {
                table: "search_numbers",
                list: list.into_iter().map(SqlValue::Real).collect(),
                lo: lo.map(SqlValue::Real),
                hi: hi.map(SqlValue::Real),
            }
        }
        Kind::Multi => return None,
    };
    if keys.list.is_empty() && keys.lo.is_none() && keys.hi.is_none() {
        return None;
    }
    if !indexed(b, scope, name, Part::Values) {
        return None;
    }
    let n = b.bind(SqlValue::Text(name.to_owned()));
    let mut on = Vec::new();
    if !keys.list.is_empty() {
        let vs: Vec<String> = keys.list.into_iter().map(|v| b.bind(v)).collect();
        on.push(format!("key IN ({})", vs.join(", ")));
    }
    if let Some(lo) = keys.lo {
        on.push(format!("key >= {}", b.bind(lo)));
    }
    if let Some(hi) = keys.hi {
        on.push(format!("key <= {}", b.bind(hi)));
    }
    Some(format!(
        "o.id IN (SELECT object_id FROM {} WHERE portal_id = {} AND object_type = {} \
         AND property = {n} AND {})",
        keys.table,
        scope.portal,
        scope.object_type,
        on.join(" AND ")
    ))
}

/// Whether `part` of property `name` is indexed; if not, the compilation notes it
/// ([`Compiled::unindexed`]).
fn indexed(b: &mut Binder<'_>, scope: &Scope<'_>, name: &str, part: Part) -> bool {
    if (scope.indexed)(name, part) {
        return true;
    }
    if !b.unindexed.iter().any(|(n, p)| n == name && *p == part) {
        b.unindexed.push((name.to_owned(), part));
    }
    false
}

/// The records whose text key or a word key may meet CONTAINS_TOKEN `token` (see
/// `value_index`): the key equal to the token, or for `pre*` every key starting with
/// `pre`; the token or its prefix cut to a key's length, since keys are cut. A token
/// starting with `*` (nothing every key shares) is left to the scan.
fn token_probe(
    b: &mut Binder<'_>,
    scope: &Scope<'_>,
    name: &str,
    kind: Kind,
    token: &str,
) -> Option<String> {
    if kind == Kind::Multi {
        return None;
    }
    let (prefix, wild) = match token.split_once('*') {
        Some((pre, _)) => (pre, true),
        None => (token, false),
    };
    if prefix.is_empty() {
        return None;
    }
    let key = value_index::truncate(prefix.to_owned());
    // For `pre*`, the keys starting with `pre`: from `pre` up to, not including, its
    // successor. A prefix cut to a key's length is the whole key of every match, as a
    // token without `*` is.
    let upper = (wild && key.len() == prefix.len()).then(|| successor(&key));
    // Both noted when missing, so one indexing makes both.
    let values = indexed(b, scope, name, Part::Values);
    if !(indexed(b, scope, name, Part::Words) && values) {
        return None;
    }
    let n = b.bind(SqlValue::Text(name.to_owned()));
    let lo = b.bind(SqlValue::Text(key));
    let on = match upper {
        None => format!("key = {lo}"),
        Some(None) => format!("key >= {lo}"),
        Some(Some(hi)) => format!("key >= {lo} AND key < {}", b.bind(SqlValue::Text(hi))),
    };
    let from = |table: &str| {
        format!(
            "SELECT object_id FROM {table} WHERE portal_id = {} AND object_type = {} \
             AND property = {n} AND {on}",
            scope.portal, scope.object_type
        )
    };
    Some(format!(
        "o.id IN ({} UNION ALL {})",
        from("search_text"),
        from("search_words")
    ))
}

/// The least string greater than every string starting with `s`, or `None` when there is
/// none (every character of `s` is the largest): bytewise order is code point order.
fn successor(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    while let Some(c) = chars.pop() {
        if let Some(next) = (u32::from(c) + 1..=u32::from(char::MAX)).find_map(char::from_u32) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// What an index probe looks for: keys in a list, or between bounds.
struct Keys {
    table: &'static str,
    list: Vec<SqlValue>,
    lo: Option<SqlValue>,
    hi: Option<SqlValue>,
}

/// EQ/IN on contact email through the unique-value index, which holds emails lowercased.
fn unique_lookup(
    b: &mut Binder<'_>,
    scope: &Scope<'_>,
    name: &str,
    c: &Condition,
) -> Option<String> {
    let values = match c {
        Condition::Eq(v) => std::slice::from_ref(v),
        Condition::In(vs) => vs.as_slice(),
        _ => return None,
    };
    let exact = values.iter().all(|v| match v {
        Operand::Text(t) => fold_is_exact_for_lowercase(t),
        _ => false,
    });
    if !exact {
        return None;
    }
    let n = b.bind(SqlValue::Text(name.to_owned()));
    Some(format!(
        "o.id IN (SELECT object_id FROM unique_values WHERE portal_id = {}
         AND object_type = {} AND property = {n} AND value IN ({}))",
        scope.portal,
        scope.object_type,
        b.operands(values)
    ))
}

/// `ORDER BY` for the query's sort (see the module doc).
fn order(b: &mut Binder<'_>, q: &SearchQuery) -> String {
    let Some(sort) = &q.sort else {
        return "o.id ASC".into();
    };
    let dir = if sort.descending { "DESC" } else { "ASC" };
    let key = match &sort.field {
        Field::Id => return format!("o.id {dir}"),
        Field::Association { .. } => return "o.id ASC".into(),
        Field::CreatedAt => format!("o.created_at {dir}"),
        Field::UpdatedAt => format!("o.updated_at {dir}"),
        Field::Property { name, kind, .. } => {
            let nulls = if sort.descending {
                "NULLS LAST"
            } else {
                "NULLS FIRST"
            };
            format!("{} {dir} {nulls}", typed(b, name, *kind).1)
        }
    };
    format!("{key}, o.id {dir}")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Numbered;
    impl Dialect for Numbered {
        fn placeholder(&self, n: usize) -> String {
            format!("${n}")
        }
        fn property(&self, b: &mut Binder<'_>, name: &str) -> String {
            format!("prop({})", b.bind(SqlValue::Text(name.to_owned())))
        }
        fn bytewise(&self, expr: &str) -> String {
            expr.to_owned()
        }
        fn contains(&self, haystack: &str, needle: &str) -> String {
            format!("strpos({haystack}, {needle}) > 0")
        }
    }

    #[test]
    fn a_refused_query_is_not_compiled() {
        let q = SearchQuery {
            groups: vec![vec![Filter {
                field: Field::Id,
                condition: Condition::ContainsToken("1".into()),
            }]],
            text: None,
            text_properties: Vec::new(),
            sort: None,
            offset: 0,
            limit: 10,
        };
        assert!(compile(&Numbered, PortalId(1), "0-1", &q, &|_, _| true).is_err());
    }

    #[test]
    fn the_count_takes_the_filter_parameters_only() {
        let q = SearchQuery {
            groups: vec![vec![Filter {
                field: Field::Property {
                    name: "n".into(),
                    kind: Kind::Number,
                    unique_index: false,
                },
                condition: Condition::Neq(Operand::Number(1.0)),
            }]],
            text: None,
            text_properties: Vec::new(),
            sort: Some(spoke_core::search::Sort {
                field: Field::Property {
                    name: "n".into(),
                    kind: Kind::Number,
                    unique_index: false,
                },
                descending: true,
            }),
            offset: 5,
            limit: 10,
        };
        let c = compile(&Numbered, PortalId(1), "0-1", &q, &|_, _| true).expect("compiles");
        assert_eq!(c.count.params.len(), 4);
        assert!(c
            .count
            .text
            .contains("(prop($3) IS NULL OR spoke_number(prop($3)) <> $4)"));
        assert_eq!(c.page.params.len(), 7);
        assert!(c.page.text.contains(
            "ORDER BY spoke_number(prop($5)) DESC NULLS LAST, o.id DESC LIMIT $6 OFFSET $7"
        ));
    }

    fn window_by_id(groups: Vec<Vec<Filter>>, sort: Option<Field>) -> SearchQuery {
        SearchQuery {
            groups,
            text: None,
            text_properties: Vec::new(),
            sort: sort.map(|field| spoke_core::search::Sort {
                field,
                descending: false,
            }),
            offset: 0,
            limit: 200,
        }
    }

    #[test]
    fn only_a_record_column_window_with_an_id_condition_by_id_is_bounded() {
        let f = |field: Field, condition: Condition| Filter { field, condition };
        let window = || {
            vec![
                f(Field::UpdatedAt, Condition::Gte(Operand::Millis(10))),
                f(Field::UpdatedAt, Condition::Lte(Operand::Millis(20))),
            ]
        };
        let mut airbyte = window();
        airbyte.push(f(Field::Id, Condition::Gte(Operand::Id(5))));
        let q = window_by_id(vec![airbyte.clone()], Some(Field::Id));
        assert!(id_bounded(&q));
        let c = compile(&Numbered, PortalId(1), "0-1", &q, &|_, _| true).expect("compiles");
        assert!(c
            .count
            .text
            .starts_with("SELECT COUNT(*), MIN(o.id), MAX(o.id) FROM objects o"));
        assert_eq!(c.count.params.len(), 5);
        // Right after the scope, before the filter: SQLite starts its range at the first
        // lower bound.
        assert!(c.page.text.contains(
            "o.archived_at IS NULL AND o.id >= $6 AND o.id <= $7 AND ((o.updated_at >= $3"
        ));
        assert_eq!(c.id_bounds, Some(IdBounds { lo: 5, hi: 6 }));
        let bounded = c.page_within(Some((40, 90)));
        assert_eq!(bounded.params[5], SqlValue::Int(40));
        assert_eq!(bounded.params[6], SqlValue::Int(90));
        let empty = c.page_within(None);
        assert_eq!(empty.params[5], SqlValue::Int(1));
        assert_eq!(empty.params[6], SqlValue::Int(0));
        assert!(id_bounded(&window_by_id(vec![airbyte.clone()], None)));

        let property = f(
            Field::Property {
                name: "city".into(),
                kind: Kind::Text,
                unique_index: false,
            },
            Condition::Eq(Operand::Text("x".into())),
        );
        let mut with_property = airbyte.clone();
        with_property.push(property);
        for (why, q) in [
            (
                "no id condition",
                window_by_id(vec![window()], Some(Field::Id)),
            ),
            (
                "sorted by date",
                window_by_id(vec![airbyte.clone()], Some(Field::UpdatedAt)),
            ),
            (
                "two groups",
                window_by_id(vec![airbyte.clone(), airbyte.clone()], Some(Field::Id)),
            ),
            (
                "a property filter",
                window_by_id(vec![with_property], Some(Field::Id)),
            ),
        ] {
            assert!(!id_bounded(&q), "{why}");
            let c = compile(&Numbered, PortalId(1), "0-1", &q, &|_, _| true).expect("compiles");
            assert_eq!(c.id_bounds, None, "{why}");
            assert!(c.count.text.starts_with("SELECT COUNT(*) FROM"), "{why}");
        }
    }

    #[test]
    fn only_an_indexed_property_is_probed() {
        let q = SearchQuery {
            groups: vec![vec![Filter {
                field: Field::Property {
                    name: "city".into(),
                    kind: Kind::Text,
                    unique_index: false,
                },
                condition: Condition::Eq(Operand::Text("paris".into())),
            }]],
            text: None,
            text_properties: Vec::new(),
            sort: None,
            offset: 0,
            limit: 10,
        };
        let scan = compile(&Numbered, PortalId(1), "0-1", &q, &|_, _| false).expect("compiles");
        assert_eq!(scan.unindexed, vec![("city".to_owned(), Part::Values)]);
        assert!(!scan.count.text.contains("search_text"));
        let probe = compile(&Numbered, PortalId(1), "0-1", &q, &|n, p| {
            n == "city" && p == Part::Values
        })
        .expect("compiles");
        assert!(probe.unindexed.is_empty());
        assert!(probe.count.text.contains("search_text"));
    }

    #[test]
    fn a_successor_bounds_every_string_with_the_prefix() {
        assert_eq!(successor("ab").as_deref(), Some("ac"));
        assert_eq!(successor("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(successor("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(successor("\u{10ffff}"), None);
        for s in ["ab", "abz", "ab\u{10ffff}x", "ab\u{ffff}"] {
            assert!(
                s >= "ab" && s < successor("ab").expect("one").as_str(),
                "{s}"
            );
        }
    }
}
