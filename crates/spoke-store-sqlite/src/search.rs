//! Search: the core's search AST compiled to one SQLite query (plus a count).
//!
//! Filters run in the database. The record columns (id, created, updated) are indexed;
//! contact email equality goes through the unique-value index; other properties are read
//! from the record's JSON with `json_extract`. Four SQL functions registered on every
//! connection give SQL exactly the core's comparison semantics: `spoke_fold` (the core's
//! case-insensitive form of text), `spoke_instant` (ISO text to epoch ms),
//! `spoke_token_match` (CONTAINS_TOKEN) and `spoke_multi_has` (multi-select).

use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::Connection;
use spoke_core::search::{
    fold, fold_is_exact_for_lowercase, token_matches, Condition, Field, Filter, Kind, Operand,
    SearchQuery,
};
use spoke_core::time::parse_iso;
use spoke_core::PortalId;

pub(crate) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("spoke_fold", 1, flags, |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.map(|s| fold(&s)))
    })?;
    conn.create_scalar_function("spoke_instant", 1, flags, |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.and_then(|s| parse_iso(&s)))
    })?;
    conn.create_scalar_function("spoke_token_match", 2, flags, |ctx| {
        let text = ctx.get::<Option<String>>(0)?;
        let token = ctx.get::<String>(1)?;
        Ok(text.is_some_and(|t| token_matches(&t, &token)))
    })?;
    conn.create_scalar_function("spoke_multi_has", 2, flags, |ctx| {
        let text = ctx.get::<Option<String>>(0)?;
        let option = ctx.get::<String>(1)?;
        Ok(text.is_some_and(|t| t.split(';').any(|p| p == option)))
    })?;
    Ok(())
}

/// SQL text with its positional parameters, built in order.
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<Value>,
}

impl Sql {
    fn bind(&mut self, v: Value) -> &'static str {
        self.params.push(v);
        "?"
    }
}

fn operand(o: &Operand) -> Value {
    match o {
        Operand::Number(n) => Value::Real(*n),
        Operand::Text(s) => Value::Text(s.clone()),
        Operand::Millis(m) | Operand::Id(m) => Value::Integer(*m),
    }
}

/// The stored text of a property as SQL. The path is a literal, not a parameter, because
/// one expression may appear several times in a condition (`x IS NULL OR x <> ?`).
/// Names reaching here exist in the type's schema; quotes are stripped regardless.
fn stored(name: &str) -> String {
    let clean: String = name.chars().filter(|c| *c != '"' && *c != '\'').collect();
    format!("json_extract(o.properties, '$.\"{clean}\"')")
}

/// The raw stored text of a property, and the comparable expression for its kind.
fn expressions(name: &str, kind: Kind) -> (String, String) {
    let raw = stored(name);
    let cmp = match kind {
        Kind::Number => format!("CAST({raw} AS REAL)"),
        Kind::Text => format!("spoke_fold({raw})"),
        Kind::Exact | Kind::Bool | Kind::Multi => raw.clone(),
        Kind::Datetime => format!("spoke_instant({raw})"),
        Kind::Date => format!("CAST({raw} AS INTEGER)"),
    };
    (raw, cmp)
}

fn compile_filter(sql: &mut Sql, portal: PortalId, object_type: &str, f: &Filter) -> String {
    let column = match &f.field {
        Field::Id => Some("o.id"),
        Field::CreatedAt => Some("o.created_at"),
        Field::UpdatedAt => Some("o.updated_at"),
        _ => None,
    };
    if let Some(col) = column {
        return compare(sql, col, col, false, &f.condition, true);
    }
    match &f.field {
        Field::Association { to_type } => {
            let ids: Vec<&Operand> = match &f.condition {
                Condition::Eq(v) => vec![v],
                Condition::In(vs) => vs.iter().collect(),
                _ => return "0".into(),
            };
            let mut s = "o.id IN (SELECT from_id FROM associations WHERE portal_id = ? AND from_type = ? AND to_type = ? AND to_id IN (".to_owned();
            sql.params.push(Value::Integer(portal.0));
            sql.params.push(Value::Text(object_type.to_owned()));
            sql.params.push(Value::Text(to_type.clone()));
            let marks: Vec<&str> = ids.iter().map(|v| sql.bind(operand(v))).collect();
            s.push_str(&marks.join(", "));
            s.push_str("))");
            s
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
                    sql.params.push(Value::Integer(portal.0));
                    sql.params.push(Value::Text(object_type.to_owned()));
                    sql.params.push(Value::Text(name.clone()));
                    let marks: Vec<&str> = values.iter().map(|v| sql.bind(operand(v))).collect();
                    return format!(
                        "o.id IN (SELECT object_id FROM unique_values WHERE portal_id = ? AND object_type = ? AND property = ? AND value IN ({}))",
                        marks.join(", ")
                    );
                }
            }
            let (raw, cmp) = expressions(name, *kind);
            compare(sql, &raw, &cmp, *kind == Kind::Multi, &f.condition, false)
        }
        _ => "0".into(),
    }
}

/// One condition on an expression. `raw` is the stored value (NULL when unset), `cmp` the
/// typed expression. For columns, `always_set` makes presence checks constant.
fn compare(
    sql: &mut Sql,
    raw: &str,
    cmp: &str,
    multi: bool,
    c: &Condition,
    always_set: bool,
) -> String {
    let unset = format!("{raw} IS NULL");
    match c {
        Condition::Eq(v) if multi => format!("spoke_multi_has({raw}, {})", sql.bind(operand(v))),
        Condition::Eq(v) => format!("{cmp} = {}", sql.bind(operand(v))),
        Condition::Neq(v) if multi => format!(
            "({unset} OR NOT spoke_multi_has({raw}, {}))",
            sql.bind(operand(v))
        ),
        Condition::Neq(v) => format!("({unset} OR {cmp} <> {})", sql.bind(operand(v))),
        Condition::Lt(v) => format!("{cmp} < {}", sql.bind(operand(v))),
        Condition::Lte(v) => format!("{cmp} <= {}", sql.bind(operand(v))),
        Condition::Gt(v) => format!("{cmp} > {}", sql.bind(operand(v))),
        Condition::Gte(v) => format!("{cmp} >= {}", sql.bind(operand(v))),
        Condition::Between(lo, hi) => {
            let lo = sql.bind(operand(lo));
            let hi = sql.bind(operand(hi));
            format!("{cmp} BETWEEN {lo} AND {hi}")
        }
        Condition::In(vs) if multi => {
            let parts: Vec<String> = vs
                .iter()
                .map(|v| format!("spoke_multi_has({raw}, {})", sql.bind(operand(v))))
                .collect();
            format!("({})", parts.join(" OR "))
        }
        Condition::In(vs) => {
            let marks: Vec<&str> = vs.iter().map(|v| sql.bind(operand(v))).collect();
            format!("{cmp} IN ({})", marks.join(", "))
        }
        Condition::NotIn(vs) if multi => {
            let parts: Vec<String> = vs
                .iter()
                .map(|v| format!("spoke_multi_has({raw}, {})", sql.bind(operand(v))))
                .collect();
            format!("({unset} OR NOT ({}))", parts.join(" OR "))
        }
        Condition::NotIn(vs) => {
            let marks: Vec<&str> = vs.iter().map(|v| sql.bind(operand(v))).collect();
            format!("({unset} OR {cmp} NOT IN ({}))", marks.join(", "))
        }
        Condition::HasProperty if always_set => "1".into(),
        Condition::NotHasProperty if always_set => "0".into(),
        Condition::HasProperty => format!("({raw} IS NOT NULL AND {raw} <> '')"),
        Condition::NotHasProperty => format!("({unset} OR {raw} = '')"),
        Condition::ContainsToken(t) => format!(
            "spoke_token_match({raw}, {})",
            sql.bind(Value::Text(t.clone()))
        ),
        Condition::NotContainsToken(t) => {
            format!(
                "({unset} OR NOT spoke_token_match({raw}, {}))",
                sql.bind(Value::Text(t.clone()))
            )
        }
    }
}

/// The `WHERE` clause (without the keyword) shared by the page query and the count.
pub(crate) fn where_clause(portal: PortalId, object_type: &str, q: &SearchQuery) -> Sql {
    let mut sql = Sql {
        text: String::new(),
        params: vec![
            Value::Integer(portal.0),
            Value::Text(object_type.to_owned()),
        ],
    };
    let mut clause = "o.portal_id = ? AND o.object_type = ? AND o.archived_at IS NULL".to_owned();
    if !q.groups.is_empty() {
        let mut groups = Vec::new();
        for g in &q.groups {
            let parts: Vec<String> = g
                .iter()
                .map(|f| compile_filter(&mut sql, portal, object_type, f))
                .collect();
            groups.push(if parts.is_empty() {
                "1".to_owned()
            } else {
                parts.join(" AND ")
            });
        }
        clause.push_str(&format!(" AND (({}))", groups.join(") OR (")));
    }
    if let Some(text) = &q.text {
        let parts: Vec<String> = q
            .text_properties
            .iter()
            .map(|p| {
                sql.params.push(Value::Text(text.clone()));
                format!("instr(spoke_fold({}), ?) > 0", stored(p))
            })
            .collect();
        if !parts.is_empty() {
            clause.push_str(&format!(" AND ({})", parts.join(" OR ")));
        }
    }
    sql.text = clause;
    sql
}

/// `ORDER BY` for the query's sort; ties and the default order are by ascending id.
pub(crate) fn order_clause(q: &SearchQuery) -> String {
    let Some(sort) = &q.sort else {
        return "o.id ASC".into();
    };
    let dir = if sort.descending { "DESC" } else { "ASC" };
    let expr = match &sort.field {
        Field::Id => "o.id".to_owned(),
        Field::CreatedAt => "o.created_at".to_owned(),
        Field::UpdatedAt => "o.updated_at".to_owned(),
        Field::Property { name, kind, .. } => expressions(name, *kind).1,
        Field::Association { .. } => return "o.id ASC".into(),
    };
    format!("{expr} {dir}, o.id {dir}")
}
