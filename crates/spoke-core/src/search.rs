//! The search AST (hubspot-behavior.md §7.1): what `POST .../search` asks, already
//! validated and typed, so every backend compiles the same meaning to its own SQL.

use crate::time::Millis;

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
        /// Contact `email`: stored lowercased in the unique index, which can serve EQ/IN.
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

/// The properties `query` searches for each type (HubSpot's default searchable ones).
pub fn default_text_properties(type_id: &str) -> &'static [&'static str] {
    match type_id {
        "0-1" => &[
            "firstname",
            "lastname",
            "email",
            "phone",
            "company",
            "mobilephone",
        ],
        "0-2" => &["name", "domain", "website", "phone"],
        "0-3" => &["dealname", "description"],
        "0-5" => &["subject", "content"],
        "0-7" => &["name", "description", "hs_sku"],
        "0-8" => &["name", "description", "hs_sku"],
        "0-420" => &["hs_name", "hs_address_1", "hs_city"],
        _ => &["hs_name"],
    }
}

/// The form in which text compares case-insensitively in search (EQ, NEQ, IN, NOT_IN,
/// ranges on text, `query`, CONTAINS_TOKEN): both the stored value and the operand are
/// folded, then compared exactly (bytewise, for ranges and sorts).
///
/// Folding trims Unicode whitespace (`char::is_whitespace`, so line breaks too), lowercases
/// with Unicode's full mapping (`str::to_lowercase`: `É`→`é`, `Ø`→`ø`, `Ａ`→`ａ`,
/// `İ`→`i̇`), and maps the final sigma `ς` to `σ`, so a Greek word matches whichever way
/// its last letter was written. This is the reference: the SQLite backend calls it, the
/// PostgreSQL backend computes the same in SQL (its migration 0004).
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

/// Whether `token` (already [`fold`]ed, `*` wildcard) matches a word of `text` or the whole
/// value: the reference semantics every backend reproduces in SQL.
pub fn token_matches(text: &str, token: &str) -> bool {
    if token.is_empty() {
        return false;
    }
    let text = fold(text);
    let mut words = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    if token.contains('*') {
        // A wildcard matches the whole value (`*@hubspot.com`) or any one word (`wor*`).
        return wildcard(&text, token) || words.any(|w| wildcard(w, token));
    }
    text == token || words.any(|w| w == token)
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
}
