//! Search on PostgreSQL: the shared compiler's [`Dialect`], and its parameters typed for
//! `query_typed`.
//!
//! A stored value is `(properties::json ->> name) COLLATE "C"`: NULL when unset, compared
//! and sorted bytewise. The SQL functions the compiler names are defined by migrations
//! 0003, 0004 and 0005 (`spoke_token_match` again by 0023, in PL/pgSQL), each computing
//! the core's rule of the same name in SQL.
//! Parameters carry their types (a number operand is `FLOAT8`, an id or instant `INT8`),
//! so PostgreSQL compares them as the core does; where it compares an integer with a
//! double it rounds the integer to a double first, which the conformance suite names as
//! an exception (`MIXED_NUMBERS_AS_DOUBLES`).

use spoke_store::sql_search::{Binder, Dialect, Sql, SqlValue};
use tokio_postgres::types::{ToSql, Type};

pub(crate) struct Postgres;

impl Dialect for Postgres {
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }

    fn property(&self, b: &mut Binder<'_>, name: &str) -> String {
        let p = b.bind(SqlValue::Text(name.to_owned()));
        format!("((o.properties::json ->> {p}) COLLATE \"C\")")
    }

    fn bytewise(&self, expr: &str) -> String {
        format!("({expr} COLLATE \"C\")")
    }

    fn contains(&self, haystack: &str, needle: &str) -> String {
        format!("strpos({haystack}, {needle}) > 0")
    }
}

/// A compiled statement's parameters with their PostgreSQL types.
pub(crate) fn params(sql: &Sql) -> Vec<(&(dyn ToSql + Sync), Type)> {
    sql.params
        .iter()
        .map(|v| -> (&(dyn ToSql + Sync), Type) {
            match v {
                SqlValue::Int(v) => (v, Type::INT8),
                SqlValue::Real(v) => (v, Type::FLOAT8),
                SqlValue::Text(v) => (v, Type::TEXT),
            }
        })
        .collect()
}
