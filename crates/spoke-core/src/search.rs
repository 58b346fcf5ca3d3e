//! Search (hubspot-behavior.md §7.1): the AST of what `POST .../search` asks, already
//! validated and typed, and its reference semantics, written once here in plain Rust.
//!
//! A backend compiles a [`SearchQuery`] to its own query language and must give the answer
//! [`evaluate`] gives over the same live records: the same total, the same ids in the same
//! order. The rules, in the order a reader meets them:
//!
//! - **Reading a stored value** ([`read`]): every property is stored as text, or is unset.
//!   Its [`Kind`] turns the text into what compares: a number ([`number`]), an instant
//!   ([`instant`], which may be unreadable), a day count ([`date`]), the [`fold`] of text,
//!   or the text itself (enumerations, booleans, multi-selects; compared bytewise).
//! - **Conditions** ([`matches`]): NEQ, NOT_IN and NOT_CONTAINS_TOKEN also match an unset
//!   property; a set value its kind cannot read (an instant that does not parse) matches no
//!   comparison, not even NEQ. Multi-selects compare EQ/NEQ/IN/NOT_IN per option
//!   ([`multi_has`]); tokens follow [`token_matches`].
//! - **Order** ([`compare`]): the sort key ascending, an unset or unreadable key first, ties
//!   by ascending id; descending is exactly the reverse. No sort: ascending id.
//! - **Refused queries** ([`check`]): an operand of the wrong type for its field, a NaN, a
//!   token on a record column. A backend refuses them too instead of guessing.
//!
//! The SQL backends share one compiler (`spoke_store::sql_search`) and provide these rules as
//! SQL functions named after them (`spoke_number`, `spoke_date`, `spoke_instant`,
//! `spoke_fold`, `spoke_multi_has`, `spoke_token_match`); the store's conformance suite
//! (`conformance/search.rs`) holds each backend to [`evaluate`].

use std::cmp::Ordering;

use crate::record::ObjectId;
use crate::time::{parse_iso, Millis};

/// HubSpot's limits on a search request.
pub const MAX_GROUPS: usize = 5;
pub const MAX_FILTERS_PER_GROUP: usize = 6;
pub const MAX_FILTERS: usize = 18;
pub const MAX_QUERY_CHARS: usize = 3000;
pub const DEFAULT_LIMIT: usize = 10;
pub const MAX_LIMIT: usize = 200;
/// No result past this offset can be reached (`after` ≥ 10,000 is refused).
pub const MAX_RESULTS: usize = 10_000;

/// What a filter looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// `hs_object_id`: the record id column.
    Id,
    /// The create-date properties (`createdate`, `hs_createdate`): a column.
    CreatedAt,
    /// The last-modified properties: a column.
    UpdatedAt,
    /// A stored property value.
    Property {
        name: String,
        kind: Kind,
        /// Contact `email`: its stored values are trimmed and lowercased (the server writes
        /// them so) and held in the unique-value index, which can serve EQ/IN. It compares
        /// as its `kind` says, like any other property.
        unique_index: bool,
    },
    /// `associations.{type}`: records associated with the given record of that type.
    Association { to_type: String },
}

/// How a property's stored string compares (by the property's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Numbers compare as numbers.
    Number,
    /// Strings compare case-insensitively.
    Text,
    /// Single-choice enumerations compare exactly.
    Exact,
    /// Booleans compare exactly, on their lowercase form.
    Bool,
    /// Multi-select (`;`-joined): EQ/IN match when any chosen option matches.
    Multi,
    /// Datetimes are stored as ISO-8601 and compare as instants.
    Datetime,
    /// Dates are stored as midnight epoch milliseconds.
    Date,
}

/// A typed comparison value.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Number(f64),
    Text(String),
    Millis(Millis),
    Id(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Eq(Operand),
    /// Also matches records where the property is unset (as on HubSpot).
    Neq(Operand),
    Lt(Operand),
    Lte(Operand),
    Gt(Operand),
    Gte(Operand),
    Between(Operand, Operand),
    In(Vec<Operand>),
    /// Also matches records where the property is unset.
    NotIn(Vec<Operand>),
    HasProperty,
    NotHasProperty,
    /// A token already [`fold`]ed; `*` is a wildcard.
    ContainsToken(String),
    NotContainsToken(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: Field,
    pub condition: Condition,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    pub field: Field,
    pub descending: bool,
}

/// A whole search: groups are ORed, filters inside a group ANDed.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub groups: Vec<Vec<Filter>>,
    /// Free text, already [`fold`]ed, matched as a substring of the fold of any of
    /// `text_properties`.
    pub text: Option<String>,
    pub text_properties: Vec<String>,
    /// `None`: ascending id (oldest first, as HubSpot).
    pub sort: Option<Sort>,
    pub offset: usize,
    pub limit: usize,
}

/// The form in which text compares case-insensitively in search (EQ, NEQ, IN, NOT_IN,
/// ranges on text, `query`, CONTAINS_TOKEN): both the stored value and the operand are
/// folded, then compared exactly (bytewise, for ranges and sorts).
///
/// Folding trims Unicode whitespace (`char::is_whitespace`, so line breaks too), lowercases
/// with Unicode's full mapping (`str::to_lowercase`: `É`→`é`, `Ø`→`ø`, `Ａ`→`ａ`,
/// `İ`→`i̇`), and maps the final sigma `ς` to `σ`, so a Greek word matches whichever way
/// its last letter was written. SQL calls it `spoke_fold`.
pub fn fold(text: &str) -> String {
    let lower = text.trim().to_lowercase();
    if lower.contains('ς') {
        lower.replace('ς', "σ")
    } else {
        lower
    }
}

/// Whether a stored value that is already trimmed and lowercased (a contact email, as the
/// unique-value index holds it) folds to `folded` exactly when it equals `folded`, so an
/// index lookup of `folded` finds the same records as comparing folds. Only `σ` has two
/// lowercase sources (`σ` and `ς`); any other operand qualifies.
pub fn fold_is_exact_for_lowercase(folded: &str) -> bool {
    !folded.contains('σ')
}

/// Whether `token` (already [`fold`]ed, `*` wildcard) matches a word of the fold of `text`
/// or the whole folded value. Words are the runs of alphanumeric characters
/// (`char::is_alphanumeric`); a `*` matches any run of characters, every other character
/// (`%`, `_`, `?`, `\`) only itself; the empty token matches nothing. SQL calls it
/// `spoke_token_match`.
pub fn token_matches(text: &str, token: &str) -> bool {
    if token.is_empty() {
        return false;
    }
    let text = fold(text);
    let mut words = words(&text);
    if token.contains('*') {
        // A wildcard matches the whole value (`*@hubspot.com`) or any one word (`wor*`).
        return wildcard(&text, token) || words.any(|w| wildcard(w, token));
    }
    text == token || words.any(|w| w == token)
}

/// The words of folded text, as [`token_matches`] reads them: the runs of alphanumeric
/// characters.
pub fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn wildcard(text: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    rest.is_empty()
}

// ---------------------------------------------------------------------------------------
// Reading stored values
// ---------------------------------------------------------------------------------------

/// What a field's value compares as, and so which operands fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Numbers, instants, days and ids ([`Operand::Number`], [`Operand::Millis`],
    /// [`Operand::Id`]; an integer and a double compare exactly, as mathematical values).
    Numeric,
    /// Text, compared bytewise ([`Operand::Text`]).
    Text,
}

impl Field {
    /// What this field's values compare as.
    pub fn value_type(&self) -> ValueType {
        match self {
            Field::Id | Field::CreatedAt | Field::UpdatedAt | Field::Association { .. } => {
                ValueType::Numeric
            }
            Field::Property { kind, .. } => kind.value_type(),
        }
    }

    /// Whether this is a record column, which every record has.
    pub fn is_column(&self) -> bool {
        matches!(self, Field::Id | Field::CreatedAt | Field::UpdatedAt)
    }
}

impl Kind {
    /// What values of this kind compare as.
    pub fn value_type(self) -> ValueType {
        match self {
            Kind::Number | Kind::Datetime | Kind::Date => ValueType::Numeric,
            Kind::Text | Kind::Exact | Kind::Bool | Kind::Multi => ValueType::Text,
        }
    }
}

/// A stored value or an operand in the form that compares.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparable {
    Int(i64),
    Real(f64),
    Text(String),
}

impl Comparable {
    /// The order of two values; `None` when a number meets text (never, in a [`check`]ed
    /// query) or a NaN is involved.
    pub fn compare(&self, other: &Comparable) -> Option<Ordering> {
        match (self, other) {
            (Comparable::Int(a), Comparable::Int(b)) => Some(a.cmp(b)),
            (Comparable::Real(a), Comparable::Real(b)) => a.partial_cmp(b),
            (Comparable::Int(a), Comparable::Real(b)) => int_real(*a, *b),
            (Comparable::Real(a), Comparable::Int(b)) => int_real(*b, *a).map(Ordering::reverse),
            (Comparable::Text(a), Comparable::Text(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            _ => None,
        }
    }
}

impl From<&Operand> for Comparable {
    fn from(o: &Operand) -> Self {
        match o {
            Operand::Number(n) => Comparable::Real(*n),
            Operand::Text(t) => Comparable::Text(t.clone()),
            Operand::Millis(m) | Operand::Id(m) => Comparable::Int(*m),
        }
    }
}

/// An integer against a double, exactly (no rounding of either to the other's type).
fn int_real(i: i64, r: f64) -> Option<Ordering> {
    // 2^63 is the first double past i64::MAX; -2^63 is i64::MIN itself.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if r.is_nan() {
        return None;
    }
    if r >= TWO_63 {
        return Some(Ordering::Less);
    }
    if r < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let whole = r.trunc();
    // In range and integral, so the conversion is exact.
    let ord = i.cmp(&(whole as i64));
    Some(ord.then(if r > whole {
        Ordering::Less
    } else if r < whole {
        Ordering::Greater
    } else {
        Ordering::Equal
    }))
}

/// Whitespace a number's text may start with: ASCII space, tab, line feed, vertical tab,
/// form feed, carriage return (not Unicode's wider set).
fn number_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

/// A [`Kind::Number`] value: the longest prefix of `stored` (after leading
/// [ASCII whitespace](number_space)) shaped `[+-]digits[.digits][(e|E)[+-]digits]`, with at
/// least one digit before the exponent, rounded to the nearest double (ties to even):
/// beyond the largest double it is ±infinity, below the smallest it is (signed) zero.
/// Text with no such prefix (`""`, `abc`, `-`, `.`) is 0. So `" 12.5abc"` is 12.5, `1e`
/// is 1, `0x10` is 0, `3e2.5` is 300, `1e400` is infinity. This is SQLite's
/// `CAST(text AS REAL)`, which is where the rule comes from; SQL calls it `spoke_number`.
pub fn number(stored: &str) -> f64 {
    let s = stored.trim_start_matches(number_space);
    let b = s.as_bytes();
    let mut i = 0;
    let negative = match b.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int_end = digits(i);
    let int_part = &s[i..int_end];
    let mut frac_part = "";
    let mut end = int_end;
    if b.get(end) == Some(&b'.') {
        let frac_end = digits(end + 1);
        frac_part = &s[end + 1..frac_end];
        end = frac_end;
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return 0.0;
    }
    let mut exponent = "0";
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let exp_end = digits(end + 1 + sign);
        if exp_end > end + 1 + sign {
            exponent = &s[end + 1..exp_end];
        }
    }
    let text = format!(
        "{}{}.{}e{exponent}",
        if negative { "-" } else { "" },
        if int_part.is_empty() { "0" } else { int_part },
        if frac_part.is_empty() { "0" } else { frac_part },
    );
    // The text is a well-formed decimal, which Rust's parser rounds correctly (saturating
    // to infinity or zero however long the exponent); 0 only if that ever fails.
    text.parse::<f64>().unwrap_or(0.0)
}

/// A [`Kind::Date`] value (midnight epoch milliseconds): the longest prefix of `stored`
/// (after leading [ASCII whitespace](number_space)) shaped `[+-]digits`, clamped to the
/// 64-bit range; 0 when there is none. So `" 42"` is 42, `1e3` is 1, `abc` is 0. This is
/// SQLite's `CAST(text AS INTEGER)`; SQL calls it `spoke_date`.
pub fn date(stored: &str) -> i64 {
    let s = stored.trim_start_matches(number_space);
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for c in rest.bytes().take_while(u8::is_ascii_digit) {
        let d = i64::from(c - b'0');
        // Accumulated toward its sign, so i64::MIN is reachable; past the range it clamps.
        n = match n.checked_mul(10).and_then(|n| {
            if negative {
                n.checked_sub(d)
            } else {
                n.checked_add(d)
            }
        }) {
            Some(n) => n,
            None => return if negative { i64::MIN } else { i64::MAX },
        };
    }
    n
}

/// A [`Kind::Datetime`] value: the instant of an RFC 3339 text (any offset, the fraction
/// truncated to milliseconds toward zero), else of a bare `YYYY-MM-DD` at UTC midnight;
/// `None` (unreadable) otherwise. It is [`parse_iso`]; SQL calls it `spoke_instant`.
pub fn instant(stored: &str) -> Option<Millis> {
    parse_iso(stored)
}

/// Whether a [`Kind::Multi`] value (`;`-joined options) has `option` among its parts:
/// `a;b` has `a` and `b`, never `a;b`; the empty value has the empty option. SQL calls it
/// `spoke_multi_has`.
pub fn multi_has(stored: &str, option: &str) -> bool {
    stored.split(';').any(|p| p == option)
}

/// A stored value in the form that compares for `kind`; `None` when the kind cannot read it
/// (only an instant that does not parse).
pub fn read(kind: Kind, stored: &str) -> Option<Comparable> {
    match kind {
        Kind::Number => Some(Comparable::Real(number(stored))),
        Kind::Date => Some(Comparable::Int(date(stored))),
        Kind::Datetime => instant(stored).map(Comparable::Int),
        Kind::Text => Some(Comparable::Text(fold(stored))),
        Kind::Exact | Kind::Bool | Kind::Multi => Some(Comparable::Text(stored.to_owned())),
    }
}

// ---------------------------------------------------------------------------------------
// The reference evaluator
// ---------------------------------------------------------------------------------------

/// A query no backend answers, refused before it runs. The server never builds one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    #[error("search operand {operand:?} does not fit field {field:?}")]
    OperandType { field: Field, operand: Operand },
    #[error("search operand is not a number")]
    NotANumber,
    #[error("CONTAINS_TOKEN on record column {0:?}")]
    TokenOnColumn(Field),
}

/// Refuses what has no meaning: an operand of the other [`ValueType`] than its field's (a
/// multi-select's options are text), a NaN operand, a token condition on a record column.
pub fn check(query: &SearchQuery) -> Result<(), SearchError> {
    for f in query.groups.iter().flatten() {
        let operands: &[Operand] = match &f.condition {
            Condition::Eq(v)
            | Condition::Neq(v)
            | Condition::Lt(v)
            | Condition::Lte(v)
            | Condition::Gt(v)
            | Condition::Gte(v) => std::slice::from_ref(v),
            Condition::Between(lo, hi) => {
                check_operand(&f.field, lo)?;
                std::slice::from_ref(hi)
            }
            Condition::In(vs) | Condition::NotIn(vs) => vs,
            Condition::ContainsToken(_) | Condition::NotContainsToken(_) if f.field.is_column() => {
                return Err(SearchError::TokenOnColumn(f.field.clone()))
            }
            Condition::HasProperty
            | Condition::NotHasProperty
            | Condition::ContainsToken(_)
            | Condition::NotContainsToken(_) => &[],
        };
        for o in operands {
            check_operand(&f.field, o)?;
        }
    }
    Ok(())
}

fn check_operand(field: &Field, o: &Operand) -> Result<(), SearchError> {
    let fits = match o {
        Operand::Number(n) if n.is_nan() => return Err(SearchError::NotANumber),
        Operand::Text(_) => field.value_type() == ValueType::Text,
        Operand::Number(_) | Operand::Millis(_) | Operand::Id(_) => {
            field.value_type() == ValueType::Numeric
        }
    };
    if fits {
        Ok(())
    } else {
        Err(SearchError::OperandType {
            field: field.clone(),
            operand: o.clone(),
        })
    }
}

/// A live record as search sees it.
pub trait SearchRecord {
    fn id(&self) -> ObjectId;
    fn created_at(&self) -> Millis;
    fn updated_at(&self) -> Millis;
    /// The stored text of a property; `None` when unset.
    fn value(&self, property: &str) -> Option<&str>;
    /// Whether this record is associated with record `to_id` of type `to_type`.
    fn associated(&self, to_type: &str, to_id: ObjectId) -> bool;
}

/// Whether `record` meets `filter` (in a [`check`]ed query).
pub fn matches(record: &impl SearchRecord, filter: &Filter) -> bool {
    let c = &filter.condition;
    let (raw, value, multi) = match &filter.field {
        Field::Association { to_type } => {
            let id = |o: &Operand| match o {
                Operand::Id(id) | Operand::Millis(id) => record.associated(to_type, *id),
                Operand::Number(_) | Operand::Text(_) => false,
            };
            // Associations answer only EQ and IN; anything else matches nothing.
            return match c {
                Condition::Eq(v) => id(v),
                Condition::In(vs) => vs.iter().any(id),
                _ => false,
            };
        }
        Field::Id => (Some(""), Some(Comparable::Int(record.id())), false),
        Field::CreatedAt => (Some(""), Some(Comparable::Int(record.created_at())), false),
        Field::UpdatedAt => (Some(""), Some(Comparable::Int(record.updated_at())), false),
        Field::Property { name, kind, .. } => {
            let raw = record.value(name);
            (raw, raw.and_then(|r| read(*kind, r)), *kind == Kind::Multi)
        }
    };
    if filter.field.is_column() {
        match c {
            Condition::HasProperty => return true,
            Condition::NotHasProperty => return false,
            _ => {}
        }
    }
    let is = |o: &Operand, want: &[Ordering]| {
        value
            .as_ref()
            .and_then(|v| v.compare(&Comparable::from(o)))
            .is_some_and(|ord| want.contains(&ord))
    };
    // An option of a multi-select, or the whole value for every other kind.
    let has = |o: &Operand| match (multi, o, raw) {
        (true, Operand::Text(t), Some(r)) => multi_has(r, t),
        (true, _, _) => false,
        (false, _, _) => is(o, &[Ordering::Equal]),
    };
    // SQL's three-valued NOT: false both when the value is equal and when it is unreadable.
    let differs = |o: &Operand| {
        if multi {
            raw.is_some() && !has(o)
        } else {
            is(o, &[Ordering::Less, Ordering::Greater])
        }
    };
    let unset = raw.is_none();
    match c {
        Condition::Eq(v) => has(v),
        Condition::Neq(v) => unset || differs(v),
        Condition::Lt(v) => is(v, &[Ordering::Less]),
        Condition::Lte(v) => is(v, &[Ordering::Less, Ordering::Equal]),
        Condition::Gt(v) => is(v, &[Ordering::Greater]),
        Condition::Gte(v) => is(v, &[Ordering::Greater, Ordering::Equal]),
        Condition::Between(lo, hi) => {
            is(lo, &[Ordering::Greater, Ordering::Equal])
                && is(hi, &[Ordering::Less, Ordering::Equal])
        }
        Condition::In(vs) => vs.iter().any(has),
        Condition::NotIn(vs) => unset || vs.iter().all(differs),
        Condition::HasProperty => raw.is_some_and(|r| !r.is_empty()),
        Condition::NotHasProperty => raw.is_none_or(str::is_empty),
        Condition::ContainsToken(t) => raw.is_some_and(|r| token_matches(r, t)),
        Condition::NotContainsToken(t) => raw.is_none_or(|r| !token_matches(r, t)),
    }
}

/// Whether `record` meets the whole query's filters: any group whose filters all match
/// (no groups: every record), and the free text, when there is text and properties to look
/// in, a substring of the [`fold`] of one of `text_properties` that is set.
pub fn query_matches(record: &impl SearchRecord, query: &SearchQuery) -> bool {
    let groups = query.groups.is_empty()
        || query
            .groups
            .iter()
            .any(|g| g.iter().all(|f| matches(record, f)));
    let text = match &query.text {
        Some(t) if !query.text_properties.is_empty() => query.text_properties.iter().any(|p| {
            record
                .value(p)
                .is_some_and(|v| fold(v).contains(t.as_str()))
        }),
        _ => true,
    };
    groups && text
}

/// The key a record sorts by: `None` (first ascending) when unset or unreadable.
pub fn sort_key(record: &impl SearchRecord, field: &Field) -> Option<Comparable> {
    match field {
        Field::Id | Field::Association { .. } => Some(Comparable::Int(record.id())),
        Field::CreatedAt => Some(Comparable::Int(record.created_at())),
        Field::UpdatedAt => Some(Comparable::Int(record.updated_at())),
        Field::Property { name, kind, .. } => record.value(name).and_then(|v| read(*kind, v)),
    }
}

/// The order of two records in a query's results: by the sort key ascending, unset keys
/// first, then by ascending id; a descending sort reverses both. Without a sort, or sorting
/// by an association, ascending id.
pub fn compare(a: &impl SearchRecord, b: &impl SearchRecord, query: &SearchQuery) -> Ordering {
    let Some(sort) = &query.sort else {
        return a.id().cmp(&b.id());
    };
    if matches!(sort.field, Field::Association { .. }) {
        return a.id().cmp(&b.id());
    }
    let (ka, kb) = (sort_key(a, &sort.field), sort_key(b, &sort.field));
    let keys = match (&ka, &kb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        // Keys of one field are of one type and never NaN, so they always compare.
        (Some(x), Some(y)) => x.compare(y).unwrap_or(Ordering::Equal),
    };
    let ord = keys.then(a.id().cmp(&b.id()));
    if sort.descending {
        ord.reverse()
    } else {
        ord
    }
}

/// A query's answer: how many records match, and the ids of the requested page in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub total: usize,
    pub ids: Vec<ObjectId>,
}

/// The reference answer to `query` over `records` (the live records of one type in one
/// portal): what every backend must return.
pub fn evaluate<R: SearchRecord>(
    records: &[R],
    query: &SearchQuery,
) -> Result<Answer, SearchError> {
    check(query)?;
    let mut hits: Vec<&R> = records
        .iter()
        .filter(|r| query_matches(*r, query))
        .collect();
    hits.sort_by(|a, b| compare(*a, *b, query));
    Ok(Answer {
        total: hits.len(),
        ids: hits
            .iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|r| r.id())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_wildcards() {
        assert!(token_matches("Ada Lovelace", "ada"));
        assert!(!token_matches("Adam", "ada"));
        assert!(token_matches("ada@hubspot.com", "*@hubspot.com"));
        assert!(!token_matches("ada@hubspot.co", "*@hubspot.com"));
        assert!(token_matches("ada@hubspot.com", "ada*"));
        assert!(token_matches("Hello World", "wor*"));
        assert!(!token_matches("Hello World", "orl*"));
    }

    #[test]
    fn fold_is_unicode_lowercase_of_the_trimmed_value() {
        for (stored, other_case) in [
            ("Élodie", "éLODIE"),
            ("Øyvind", "øYVIND"),
            ("ΣΟΦΙΑ", "σοφια"),
            ("ΟΔΥΣΣΕΥΣ", "οδυσσευσ"),
            ("İ", "i\u{307}"),
            ("Ａ", "ａ"),
            ("\n\t Ada \u{3000}\r\n", "ADA"),
        ] {
            assert_eq!(
                fold(stored),
                fold(other_case),
                "{stored:?} vs {other_case:?}"
            );
            assert_eq!(
                fold(stored),
                fold(&fold(stored)),
                "fold of {stored:?} is stable"
            );
        }
        assert_eq!(fold("İ"), "i\u{307}");
        assert_eq!(fold(" Ünïcode\n"), "ünïcode");
        assert_ne!(fold("Ada"), fold("Adam"));
        assert!(token_matches("Élodie Durand", &fold("ÉLODIE")));
        assert!(token_matches("ΟΔΥΣΣΕΥΣ", &fold("οδυσσευς")));
        assert!(fold_is_exact_for_lowercase("ada@x.test"));
        assert!(!fold_is_exact_for_lowercase("σ@x.test"));
    }

    struct R(ObjectId, Option<&'static str>);
    impl SearchRecord for R {
        fn id(&self) -> ObjectId {
            self.0
        }
        fn created_at(&self) -> Millis {
            0
        }
        fn updated_at(&self) -> Millis {
            0
        }
        fn value(&self, _: &str) -> Option<&str> {
            self.1
        }
        fn associated(&self, _: &str, _: ObjectId) -> bool {
            false
        }
    }

    fn ids(records: &[R], field: Field, condition: Condition) -> Vec<ObjectId> {
        let q = SearchQuery {
            groups: vec![vec![Filter { field, condition }]],
            text: None,
            text_properties: Vec::new(),
            sort: None,
            offset: 0,
            limit: 100,
        };
        evaluate(records, &q).expect("a checked query").ids
    }

    #[test]
    fn numbers_and_dates_read_their_longest_prefix() {
        assert_eq!(number(" 12.5abc"), 12.5);
        assert_eq!(number("1e"), 1.0);
        assert_eq!(number("3e2.5"), 300.0);
        assert_eq!(number("0x10"), 0.0);
        assert_eq!(number("-.5"), -0.5);
        assert_eq!(number("1e400"), f64::INFINITY);
        assert_eq!(number(""), 0.0);
        assert_eq!(date("1e3"), 1);
        assert_eq!(date(" -5x"), -5);
        assert_eq!(date("99999999999999999999"), i64::MAX);
        assert_eq!(date("-99999999999999999999"), i64::MIN);
        assert_eq!(instant("garbage"), None);
    }

    #[test]
    fn neq_matches_unset_but_not_unreadable() {
        let dt = Field::Property {
            name: "dt".into(),
            kind: Kind::Datetime,
            unique_index: false,
        };
        let records = [R(1, None), R(2, Some("garbage")), R(3, Some("1970-01-01"))];
        assert_eq!(
            ids(&records, dt.clone(), Condition::Neq(Operand::Millis(5))),
            [1, 3]
        );
        assert_eq!(
            ids(
                &records,
                dt.clone(),
                Condition::NotIn(vec![Operand::Millis(0)])
            ),
            [1]
        );
        assert_eq!(ids(&records, dt, Condition::HasProperty), [2, 3]);
    }

    #[test]
    fn unset_sorts_first_ascending_and_last_descending_ties_by_id() {
        let n = Field::Property {
            name: "n".into(),
            kind: Kind::Number,
            unique_index: false,
        };
        let records = [
            R(1, Some("2")),
            R(2, None),
            R(3, Some("-0")),
            R(4, Some("0")),
        ];
        let mut q = SearchQuery {
            groups: Vec::new(),
            text: None,
            text_properties: Vec::new(),
            sort: Some(Sort {
                field: n,
                descending: false,
            }),
            offset: 0,
            limit: 100,
        };
        assert_eq!(evaluate(&records, &q).expect("ok").ids, [2, 3, 4, 1]);
        q.sort = q.sort.map(|s| Sort {
            descending: true,
            ..s
        });
        assert_eq!(evaluate(&records, &q).expect("ok").ids, [1, 4, 3, 2]);
        q.offset = 1;
        q.limit = 2;
        let page = evaluate(&records, &q).expect("ok");
        assert_eq!((page.total, page.ids), (4, vec![4, 3]));
    }

    #[test]
    fn integers_and_doubles_compare_exactly() {
        let big = Comparable::Int(9_007_199_254_740_993);
        assert_eq!(
            big.compare(&Comparable::Real(9_007_199_254_740_992.0)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Comparable::Int(-3).compare(&Comparable::Real(-2.5)),
            Some(Ordering::Less)
        );
        assert_eq!(
            Comparable::Real(2.5).compare(&Comparable::Int(2)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Comparable::Text("a".into()).compare(&Comparable::Int(1)),
            None
        );
    }
}
