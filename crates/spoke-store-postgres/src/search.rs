//! Search: the core's search AST compiled to one PostgreSQL query (plus a count).
//!
//! A line-by-line port of `spoke-store-sqlite/src/search.rs`, so both backends give one
//! query the same matches in the same order:
//!
//! - A stored value is `(properties::json ->> name) COLLATE "C"`: NULL when unset, and
//!   compared and sorted bytewise, as in SQLite. Text compares on `spoke_fold` (migration
//!   0004), the core's `search::fold` in SQL, which SQLite calls from Rust.
//! - SQLite's `CAST(.. AS REAL)` / `CAST(.. AS INTEGER)` and the Rust functions the SQLite
//!   backend registers are SQL functions of migration 0003 (`spoke_real`, `spoke_integer`,
//!   `spoke_instant`, `spoke_multi_has`, `spoke_token_match`).
//! - SQLite sorts NULL first ascending and last descending; PostgreSQL is told so.
//! - Parameters are typed explicitly (`query_typed`), so a number operand compares as a
//!   number with an integer column, as in SQLite.

use spoke_core::search::{
    fold_is_exact_for_lowercase, Condition, Field, Filter, Kind, Operand, SearchQuery,
};
use spoke_core::PortalId;
use tokio_postgres::types::{ToSql, Type};

use crate::Error;

/// A bound parameter.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(i64),
    Real(f64),
    Text(String),
}

impl Param {
    pub(crate) fn typed(&self) -> (&(dyn ToSql + Sync), Type) {
        match self {
            Param::Int(v) => (v, Type::INT8),
            Param::Real(v) => (v, Type::FLOAT8),
            Param::Text(v) => (v, Type::TEXT),
        }
    }
}

/// SQL text with its numbered parameters, built in order.
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

impl Sql {
    pub(crate) fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
}

/// What an SQL expression evaluates to, to check an operand against it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ty {
    Numeric,
    Text,
}

fn operand(o: &Operand) -> Param {
    match o {
        Operand::Number(n) => Param::Real(*n),
        Operand::Text(s) => Param::Text(s.clone()),
        Operand::Millis(m) | Operand::Id(m) => Param::Int(*m),
    }
}

/// Binds an operand compared with an expression of type `ty`. The server only builds
/// operands of the field's own type; another pairing would compare by SQLite's mixed-type
/// rules, which this backend does not reproduce, so it is refused.
fn bind_for(sql: &mut Sql, ty: Ty, o: &Operand) -> Result<String, Error> {
    let p = operand(o);
    let fits = matches!(
        (&p, ty),
        (Param::Int(_) | Param::Real(_), Ty::Numeric) | (Param::Text(_), Ty::Text)
    );
    if !fits {
        return Err(Error::Data(format!(
            "search operand {o:?} does not fit its field"
        )));
    }
    Ok(sql.bind(p))
}

/// The stored text of a property as SQL: NULL when unset. Quotes are stripped from the
/// name as the SQLite backend does for its JSON path.
fn stored(sql: &mut Sql, name: &str) -> String {
    let clean: String = name.chars().filter(|c| *c != '"' && *c != '\'').collect();
    let p = sql.bind(Param::Text(clean));
    format!("((o.properties::json ->> {p}) COLLATE \"C\")")
}

/// The raw stored text of a property, the comparable expression for its kind, and its type.
fn expressions(sql: &mut Sql, name: &str, kind: Kind) -> (String, String, Ty) {
    let raw = stored(sql, name);
    let (cmp, ty) = match kind {
        Kind::Number => (format!("spoke_real({raw})"), Ty::Numeric),
        Kind::Text => (format!("(spoke_fold({raw}) COLLATE \"C\")"), Ty::Text),
        Kind::Exact | Kind::Bool | Kind::Multi => (raw.clone(), Ty::Text),
        Kind::Datetime => (format!("spoke_instant({raw})"), Ty::Numeric),
        Kind::Date => (format!("spoke_integer({raw})"), Ty::Numeric),
    };
    (raw, cmp, ty)
}

fn compile_filter(
    sql: &mut Sql,
    portal: PortalId,
    object_type: &str,
    f: &Filter,
) -> Result<String, Error> {
    let column = match &f.field {
        Field::Id => Some("o.id"),
        Field::CreatedAt => Some("o.created_at"),
        Field::UpdatedAt => Some("o.updated_at"),
        _ => None,
    };
    if let Some(col) = column {
        return compare(sql, col, col, Ty::Numeric, false, &f.condition, true);
    }
    match &f.field {
        Field::Association { to_type } => {
            let ids: Vec<&Operand> = match &f.condition {
                Condition::Eq(v) => vec![v],
                Condition::In(vs) => vs.iter().collect(),
                _ => return Ok("FALSE".into()),
            };
            if ids.is_empty() {
                return Ok("FALSE".into());
            }
            let p = sql.bind(Param::Int(portal.0));
            let from = sql.bind(Param::Text(object_type.to_owned()));
            let to = sql.bind(Param::Text(to_type.clone()));
            let marks = ids
                .iter()
                .map(|v| bind_for(sql, Ty::Numeric, v))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(format!(
                "o.id IN (SELECT from_id FROM associations WHERE portal_id = {p}
                 AND from_type = {from} AND to_type = {to} AND to_id IN ({}))",
                marks.join(", ")
            ))
        }
        Field::Property {
            name,
            kind,
            unique_index,
        } => {
            if *unique_index {
                let values: Option<Vec<&Operand>> = match &f.condition {
                    Condition::Eq(v) => Some(vec![v]),
                    Condition::In(vs) => Some(vs.iter().collect()),
                    _ => None,
                };
                // The index holds emails lowercased; see `fold_is_exact_for_lowercase`.
                let exact = values.as_ref().is_some_and(|vs| {
                    vs.iter().all(|v| match v {
                        Operand::Text(t) => fold_is_exact_for_lowercase(t),
                        _ => true,
                    })
                });
                if let Some(values) = values.filter(|_| exact) {
                    if values.is_empty() {
                        return Ok("FALSE".into());
                    }
                    let p = sql.bind(Param::Int(portal.0));
                    let t = sql.bind(Param::Text(object_type.to_owned()));
                    let n = sql.bind(Param::Text(name.clone()));
                    let marks = values
                        .iter()
                        .map(|v| bind_for(sql, Ty::Text, v))
                        .collect::<Result<Vec<_>, _>>()?;
                    return Ok(format!(
                        "o.id IN (SELECT object_id FROM unique_values WHERE portal_id = {p}
                         AND object_type = {t} AND property = {n} AND value IN ({}))",
                        marks.join(", ")
                    ));
                }
            }
            let (raw, cmp, ty) = expressions(sql, name, *kind);
            compare(
                sql,
                &raw,
                &cmp,
                ty,
                *kind == Kind::Multi,
                &f.condition,
                false,
            )
        }
        _ => Ok("FALSE".into()),
    }
}

/// One condition on an expression. `raw` is the stored value (NULL when unset), `cmp` the
/// typed expression. For columns, `always_set` makes presence checks constant.
fn compare(
    sql: &mut Sql,
    raw: &str,
    cmp: &str,
    ty: Ty,
    multi: bool,
    c: &Condition,
    always_set: bool,
) -> Result<String, Error> {
    let unset = format!("{raw} IS NULL");
    Ok(match c {
        Condition::Eq(v) if multi => {
            format!("spoke_multi_has({raw}, {})", bind_for(sql, Ty::Text, v)?)
        }
        Condition::Eq(v) => format!("{cmp} = {}", bind_for(sql, ty, v)?),
        Condition::Neq(v) if multi => format!(
            "({unset} OR NOT spoke_multi_has({raw}, {}))",
            bind_for(sql, Ty::Text, v)?
        ),
        Condition::Neq(v) => format!("({unset} OR {cmp} <> {})", bind_for(sql, ty, v)?),
        Condition::Lt(v) => format!("{cmp} < {}", bind_for(sql, ty, v)?),
        Condition::Lte(v) => format!("{cmp} <= {}", bind_for(sql, ty, v)?),
        Condition::Gt(v) => format!("{cmp} > {}", bind_for(sql, ty, v)?),
        Condition::Gte(v) => format!("{cmp} >= {}", bind_for(sql, ty, v)?),
        Condition::Between(lo, hi) => {
            let lo = bind_for(sql, ty, lo)?;
            let hi = bind_for(sql, ty, hi)?;
            format!("{cmp} BETWEEN {lo} AND {hi}")
        }
        Condition::In(vs) if vs.is_empty() => "FALSE".into(),
        Condition::In(vs) if multi => {
            let parts = vs
                .iter()
                .map(|v| {
                    Ok(format!(
                        "spoke_multi_has({raw}, {})",
                        bind_for(sql, Ty::Text, v)?
                    ))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            format!("({})", parts.join(" OR "))
        }
        Condition::In(vs) => {
            let marks = vs
                .iter()
                .map(|v| bind_for(sql, ty, v))
                .collect::<Result<Vec<_>, _>>()?;
            format!("{cmp} IN ({})", marks.join(", "))
        }
        Condition::NotIn(vs) if vs.is_empty() => "TRUE".into(),
        Condition::NotIn(vs) if multi => {
            let parts = vs
                .iter()
                .map(|v| {
                    Ok(format!(
                        "spoke_multi_has({raw}, {})",
                        bind_for(sql, Ty::Text, v)?
                    ))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            format!("({unset} OR NOT ({}))", parts.join(" OR "))
        }
        Condition::NotIn(vs) => {
            let marks = vs
                .iter()
                .map(|v| bind_for(sql, ty, v))
                .collect::<Result<Vec<_>, _>>()?;
            format!("({unset} OR {cmp} NOT IN ({}))", marks.join(", "))
        }
        Condition::HasProperty if always_set => "TRUE".into(),
        Condition::NotHasProperty if always_set => "FALSE".into(),
        Condition::HasProperty => format!("({raw} IS NOT NULL AND {raw} <> '')"),
        Condition::NotHasProperty => format!("({unset} OR {raw} = '')"),
        Condition::ContainsToken(t) => format!(
            "spoke_token_match({raw}, {})",
            sql.bind(Param::Text(t.clone()))
        ),
        Condition::NotContainsToken(t) => format!(
            "({unset} OR NOT spoke_token_match({raw}, {}))",
            sql.bind(Param::Text(t.clone()))
        ),
    })
}

/// The `WHERE` clause (without the keyword) shared by the page query and the count.
pub(crate) fn where_clause(
    portal: PortalId,
    object_type: &str,
    q: &SearchQuery,
) -> Result<Sql, Error> {
    let mut sql = Sql {
        text: String::new(),
        params: vec![Param::Int(portal.0), Param::Text(object_type.to_owned())],
    };
    let mut clause = "o.portal_id = $1 AND o.object_type = $2 AND o.archived_at IS NULL".to_owned();
    if !q.groups.is_empty() {
        let mut groups = Vec::new();
        for g in &q.groups {
            let parts = g
                .iter()
                .map(|f| compile_filter(&mut sql, portal, object_type, f))
                .collect::<Result<Vec<_>, _>>()?;
            groups.push(if parts.is_empty() {
                "TRUE".to_owned()
            } else {
                parts.join(" AND ")
            });
        }
        clause.push_str(&format!(" AND (({}))", groups.join(") OR (")));
    }
    if let Some(text) = &q.text {
        if !q.text_properties.is_empty() {
            let needle = sql.bind(Param::Text(text.clone()));
            let parts: Vec<String> = q
                .text_properties
                .iter()
                .map(|p| format!("strpos(spoke_fold({}), {needle}) > 0", stored(&mut sql, p)))
                .collect();
            clause.push_str(&format!(" AND ({})", parts.join(" OR ")));
        }
    }
    sql.text = clause;
    Ok(sql)
}

/// `ORDER BY` for the query's sort; ties and the default order are by ascending id. NULLs
/// sort as in SQLite: first ascending, last descending.
pub(crate) fn order_clause(sql: &mut Sql, q: &SearchQuery) -> String {
    let Some(sort) = &q.sort else {
        return "o.id ASC".into();
    };
    let (dir, nulls) = if sort.descending {
        ("DESC", "NULLS LAST")
    } else {
        ("ASC", "NULLS FIRST")
    };
    let expr = match &sort.field {
        Field::Id => "o.id".to_owned(),
        Field::CreatedAt => "o.created_at".to_owned(),
        Field::UpdatedAt => "o.updated_at".to_owned(),
        Field::Property { name, kind, .. } => expressions(sql, name, *kind).1,
        Field::Association { .. } => return "o.id ASC".into(),
    };
    format!("{expr} {dir} {nulls}, o.id {dir}")
}
