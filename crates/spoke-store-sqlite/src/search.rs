//! Search on SQLite: the shared compiler's [`Dialect`], and the core's search rules
//! registered as SQL functions on every connection.
//!
//! Properties are read from the record's JSON with `json_extract` (NULL when unset); text
//! compares bytewise under SQLite's default `BINARY` collation. Each SQL function the
//! compiler names is the core's Rust function itself, so SQLite evaluates exactly the
//! reference rules.

use rusqlite::functions::FunctionFlags;
use rusqlite::types::{ToSql, Value};
use rusqlite::Connection;
use spoke_core::search::{date, fold, instant, multi_has, number, token_matches};
use spoke_store::sql_search::{Binder, Dialect, Sql, SqlValue};

pub(crate) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    of_text(conn, "spoke_number", |s| Some(number(s)))?;
    of_text(conn, "spoke_date", |s| Some(date(s)))?;
    of_text(conn, "spoke_instant", instant)?;
    of_text(conn, "spoke_fold", |s| Some(fold(s)))?;
    // Both predicates are false for an unset value.
    of_text_and(conn, "spoke_multi_has", multi_has)?;
    of_text_and(conn, "spoke_token_match", token_matches)?;
    Ok(())
}

const FLAGS: FunctionFlags = FunctionFlags::SQLITE_UTF8.union(FunctionFlags::SQLITE_DETERMINISTIC);

/// A rule of one stored text; NULL in, NULL out.
fn of_text<T: ToSql + 'static>(
    conn: &Connection,
    name: &str,
    rule: fn(&str) -> Option<T>,
) -> rusqlite::Result<()> {
    conn.create_scalar_function(name, 1, FLAGS, move |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.and_then(|s| rule(&s)))
    })
}

/// A predicate of one stored text and an operand; false for NULL.
fn of_text_and(
    conn: &Connection,
    name: &str,
    rule: fn(&str, &str) -> bool,
) -> rusqlite::Result<()> {
    conn.create_scalar_function(name, 2, FLAGS, move |ctx| {
        let text = ctx.get::<Option<String>>(0)?;
        let operand = ctx.get::<String>(1)?;
        Ok(text.is_some_and(|t| rule(&t, &operand)))
    })
}

pub(crate) struct Sqlite;

impl Dialect for Sqlite {
    fn placeholder(&self, n: usize) -> String {
        format!("?{n}")
    }

    fn property(&self, b: &mut Binder<'_>, name: &str) -> String {
        let path = b.bind(SqlValue::Text(format!("$.\"{name}\"")));
        format!("json_extract(o.properties, {path})")
    }

    fn bytewise(&self, expr: &str) -> String {
        expr.to_owned()
    }

    fn contains(&self, haystack: &str, needle: &str) -> String {
        format!("instr({haystack}, {needle}) > 0")
    }
}

/// A compiled statement's parameters, for rusqlite.
pub(crate) fn params(sql: &Sql) -> rusqlite::ParamsFromIter<Vec<Value>> {
    rusqlite::params_from_iter(
        sql.params
            .iter()
            .map(|v| match v {
                SqlValue::Int(i) => Value::Integer(*i),
                SqlValue::Real(r) => Value::Real(*r),
                SqlValue::Text(t) => Value::Text(t.clone()),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoke_store::conformance::{ODD_DATES, ODD_NUMBERS};

    /// The core's number and date rules were SQLite's `CAST`s; they still agree with them.
    #[test]
    fn number_and_date_rules_are_sqlites_casts() {
        let conn = Connection::open_in_memory().expect("open");
        // Beyond the suite's odd values: signs, points and exponents alone, other spaces.
        let more = [
            " ",
            "+",
            ".",
            "1e+",
            "1e-2",
            "1E3",
            "-1e-400",
            "1.7976931348623157e308",
            "2.4703282292062328e-324",
            "\u{b}\u{c}\r8",
            "\u{a0}9",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "1e99999999999999999999",
            "0.000000000000000000001e21",
            "7 ",
            "Ⅻ",
            "１２",
        ];
        let odd = ODD_NUMBERS.iter().chain(ODD_DATES).chain(&more);
        for &s in odd {
            let (real, int): (f64, i64) = conn
                .query_row("SELECT CAST(?1 AS REAL), CAST(?1 AS INTEGER)", [s], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .expect("cast");
            assert_eq!(number(s), real, "number({s:?})");
            assert_eq!(date(s), int, "date({s:?})");
        }
    }

    /// SQLite compares an integer with a double exactly, as the core's reference does.
    #[test]
    fn integers_and_doubles_compare_exactly() {
        use spoke_core::search::Comparable;
        let conn = Connection::open_in_memory().expect("open");
        for (i, r) in [
            (9_007_199_254_740_993_i64, 9_007_199_254_740_992.0_f64),
            (3, 3.0),
            (2, 2.5),
            (-3, -2.5),
            (i64::MAX, 9_223_372_036_854_775_808.0),
            (i64::MIN, -9_223_372_036_854_775_808.0),
        ] {
            let sqlite: i64 = conn
                .query_row(
                    "SELECT CASE WHEN ?1 < ?2 THEN -1 WHEN ?1 > ?2 THEN 1 ELSE 0 END",
                    rusqlite::params![i, r],
                    |row| row.get(0),
                )
                .expect("compare");
            let core = Comparable::Int(i).compare(&Comparable::Real(r));
            assert_eq!(core.map(|o| o as i64), Some(sqlite), "{i} vs {r}");
        }
    }
}
