//! Property definitions and HubSpot's value rules (hubspot-behavior.md §5).
//!
//! Values travel as strings. Validation turns what a client sent into the exact string spoke
//! stores and returns, so a stored value is always already in its wire form.

use serde::{Deserialize, Serialize};

use crate::time::{format_iso, parse_iso, parse_ymd, time_of_day_hubspot, DAY_MS};

/// HubSpot's property `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyType {
    String,
    Number,
    Date,
    Datetime,
    Enumeration,
    Bool,
    PhoneNumber,
}

impl PropertyType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => Self::String,
            "number" => Self::Number,
            "date" => Self::Date,
            "datetime" => Self::Datetime,
            "enumeration" => Self::Enumeration,
            "bool" => Self::Bool,
            "phone_number" => Self::PhoneNumber,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Enumeration => "enumeration",
            Self::Bool => "bool",
            Self::PhoneNumber => "phone_number",
        }
    }

    /// The field types HubSpot accepts for this type.
    pub fn allowed_field_types(self) -> &'static [&'static str] {
        match self {
            Self::String => &["text", "textarea", "html", "file", "phonenumber"],
            Self::PhoneNumber => &["phonenumber", "text"],
            Self::Number => &["number", "calculation_equation"],
            Self::Date => &["date"],
            Self::Datetime => &["date"],
            Self::Enumeration => &["select", "radio", "checkbox", "booleancheckbox"],
            Self::Bool => &["booleancheckbox", "calculation_equation"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyOption {
    pub label: String,
    pub value: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub display_order: i32,
    #[serde(default)]
    pub hidden: bool,
}

/// One property of one object type, built in or created through the properties API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyDefinition {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: PropertyType,
    pub field_type: String,
    #[serde(default)]
    pub description: String,
    pub group_name: String,
    #[serde(default)]
    pub options: Vec<PropertyOption>,
    #[serde(default)]
    pub display_order: i32,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub external_options: bool,
    #[serde(default)]
    pub has_unique_value: bool,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub hubspot_defined: bool,
    #[serde(default = "yes")]
    pub form_field: bool,
    #[serde(default)]
    pub read_only_value: bool,
    #[serde(default)]
    pub read_only_definition: bool,
    #[serde(default = "yes")]
    pub archivable: bool,
    #[serde(default)]
    pub created_at: Option<i64>,
    #[serde(default)]
    pub updated_at: Option<i64>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub archived_at: Option<i64>,
}

fn yes() -> bool {
    true
}

/// Why one property value was rejected: one entry of HubSpot's
/// `Property values were not valid: [...]` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyError {
    pub name: String,
    /// HubSpot's code: `PROPERTY_DOESNT_EXIST`, `INVALID_OPTION`, `READ_ONLY_VALUE`, ...
    pub code: &'static str,
    pub message: String,
}

impl PropertyError {
    pub fn new(name: &str, code: &'static str, message: String) -> Self {
        Self {
            name: name.to_owned(),
            code,
            message,
        }
    }

    pub fn doesnt_exist(name: &str) -> Self {
        Self::new(
            name,
            "PROPERTY_DOESNT_EXIST",
            format!("Property \"{name}\" does not exist"),
        )
    }
}

/// spoke's rule for U+0000 (docs/compatibility.md, "Strings"): refused wherever it occurs,
/// since PostgreSQL cannot store it in text. Renders the one message every refusal uses.
pub struct NulError<'a> {
    /// Where the character was: "the value of firstname", "the path segment ...".
    pub what: &'a str,
}

impl std::fmt::Display for NulError<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} contains the character U+0000 (NUL), which is not allowed in any string",
            self.what
        )
    }
}

/// HubSpot's string limit (properties guide).
pub const MAX_STRING_CHARS: usize = 65_536;

impl PropertyDefinition {
    /// Whether writes may set this property through the API.
    pub fn writable(&self) -> bool {
        !(self.read_only_value || self.calculated)
    }

    /// Checks that a write may set this property at all.
    pub fn check_writable(&self) -> Result<(), PropertyError> {
        if self.writable() {
            return Ok(());
        }
        let what = if self.calculated {
            "a calculated property"
        } else {
            "a read only property"
        };
        Err(PropertyError::new(
            &self.name,
            "READ_ONLY_VALUE",
            format!("\"{}\" is {what}; its value cannot be set.", self.name),
        ))
    }

    /// Validates `raw` and returns the value as spoke stores and returns it.
    /// The empty string clears a property and is always valid.
    pub fn normalize(&self, raw: &str) -> Result<String, PropertyError> {
        if raw.is_empty() {
            return Ok(String::new());
        }
        let err =
            |code: &'static str, message: String| PropertyError::new(&self.name, code, message);
        // PostgreSQL cannot store U+0000 in text, so no backend accepts it (the HTTP layer
        // rejects it earlier; this is the rule `spoke import` meets).
        // Emails refuse every control character themselves, as INVALID_EMAIL.
        let is_email = self.name == "email"
            && matches!(self.kind, PropertyType::String | PropertyType::PhoneNumber);
        if raw.contains('\0') && !is_email {
            let what = format!("the value of {}", self.name);
            return Err(err(
                "INVALID_PROPERTY_VALUE",
                NulError { what: &what }.to_string(),
            ));
        }
        let is_text = matches!(self.kind, PropertyType::String | PropertyType::PhoneNumber);
        if !is_text && raw.trim() != raw {
            return Err(err(
                "LEADING_TRAILING_WHITESPACE",
                format!("{raw} has leading or trailing whitespace, which is not allowed for a {} property", self.kind.as_str()),
            ));
        }
        match self.kind {
            PropertyType::String | PropertyType::PhoneNumber => {
                if raw.chars().count() > MAX_STRING_CHARS {
                    return Err(err(
                        "INVALID_STRING_LENGTH",
                        format!(
                            "Value for {} is longer than the maximum of {MAX_STRING_CHARS} characters",
                            self.name
                        ),
                    ));
                }
                if is_email {
                    return normalize_email(raw).ok_or_else(|| {
                        let shown = raw.escape_debug();
                        err("INVALID_EMAIL", format!("Email address {shown} is invalid"))
                    });
                }
                Ok(raw.to_owned())
            }
            PropertyType::Number => match raw.parse::<f64>() {
                Ok(n) if n.is_finite() && !raw.starts_with('+') && !raw.contains(['e', 'E']) => {
                    Ok(raw.to_owned())
                }
                _ => Err(err(
                    "INVALID_INTEGER",
                    format!("{raw} was not a valid number."),
                )),
            },
            PropertyType::Bool => match raw.to_ascii_lowercase().as_str() {
                v @ ("true" | "false") => Ok(v.to_owned()),
                _ => Err(err(
                    "INVALID_BOOLEAN",
                    format!("{raw} was not a valid boolean. Use true or false."),
                )),
            },
            PropertyType::Date => {
                if let Ok(ms) = raw.parse::<i64>() {
                    if ms.rem_euclid(DAY_MS) != 0 {
                        return Err(err(
                            "INVALID_DATE",
                            format!("{ms} is at {} UTC, not midnight!", time_of_day_hubspot(ms)),
                        ));
                    }
                    return Ok(ms.to_string());
                }
                parse_ymd(raw).map(|ms| ms.to_string()).ok_or_else(|| {
                    err(
                        "INVALID_DATE",
                        format!("{raw} is not a valid date. Use midnight UTC epoch milliseconds or YYYY-MM-DD."),
                    )
                })
            }
            PropertyType::Datetime => raw
                .parse::<i64>()
                .ok()
                .or_else(|| parse_iso(raw))
                .map(format_iso)
                .ok_or_else(|| {
                    err(
                        "INVALID_DATETIME",
                        format!(
                            "{raw} is not a valid datetime. Use epoch milliseconds or ISO-8601."
                        ),
                    )
                }),
            PropertyType::Enumeration => self.normalize_option(raw),
        }
    }

    fn normalize_option(&self, raw: &str) -> Result<String, PropertyError> {
        // Options kept elsewhere (`hubspot_owner_id`: the portal's owners) are checked by
        // whoever holds them (`spoke_store::schema::TypeSchema`), not against `options`.
        if self.external_options {
            return Ok(raw.to_owned());
        }
        let known = |v: &str| self.options.iter().any(|o| o.value == v);
        let invalid = |v: &str| {
            let allowed: Vec<&str> = self.options.iter().map(|o| o.value.as_str()).collect();
            PropertyError::new(
                &self.name,
                "INVALID_OPTION",
                format!(
                    "{v} was not one of the allowed options: [{}]",
                    allowed.join(", ")
                ),
            )
        };
        if self.field_type == "checkbox" {
            // Multi-select: `;`-joined option values. Empty parts (a leading `;`) are skipped.
            for part in raw.split(';').filter(|p| !p.is_empty()) {
                if !known(part) {
                    return Err(invalid(part));
                }
            }
            return Ok(raw.trim_start_matches(';').to_owned());
        }
        if known(raw) {
            Ok(raw.to_owned())
        } else {
            Err(invalid(raw))
        }
    }
}

/// HubSpot lowercases contact emails; this is a shape check, not RFC 5322. Control
/// characters (U+0000, tabs, line breaks...) are refused anywhere, even where the trim
/// would otherwise drop them.
pub fn normalize_email(raw: &str) -> Option<String> {
    if raw.contains(char::is_control) {
        return None;
    }
    let v = raw.trim().to_lowercase();
    let (local, domain) = v.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !v.contains(char::is_whitespace)
        && !domain.contains('@');
    ok.then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: PropertyType, field: &str) -> PropertyDefinition {
        PropertyDefinition {
            name: "p".into(),
            label: "P".into(),
            kind,
            field_type: field.into(),
            description: String::new(),
            group_name: "g".into(),
            options: ["a", "b"]
                .iter()
                .enumerate()
                .map(|(i, v)| PropertyOption {
                    label: v.to_uppercase(),
                    value: (*v).into(),
                    description: None,
                    display_order: i as i32,
                    hidden: false,
                })
                .collect(),
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
            created_at: None,
            updated_at: None,
            archived: false,
            archived_at: None,
        }
    }

    #[test]
    fn dates_must_be_midnight() {
        let d = def(PropertyType::Date, "date");
        assert_eq!(d.normalize("1572480000000").as_deref(), Ok("1572480000000"));
        assert_eq!(d.normalize("2019-10-31").as_deref(), Ok("1572480000000"));
        let e = d.normalize("1606768561954").unwrap_err();
        assert_eq!(e.code, "INVALID_DATE");
        assert_eq!(
            e.message,
            "1606768561954 is at 20:36:1.954 UTC, not midnight!"
        );
    }

    #[test]
    fn numbers_bools_options() {
        let n = def(PropertyType::Number, "number");
        assert!(n.normalize("17").is_ok());
        assert!(n.normalize("12.5").is_ok());
        assert_eq!(n.normalize("abc").unwrap_err().code, "INVALID_INTEGER");
        assert_eq!(
            n.normalize(" 1").unwrap_err().code,
            "LEADING_TRAILING_WHITESPACE"
        );
        let b = def(PropertyType::Bool, "booleancheckbox");
        assert_eq!(b.normalize("TRUE").as_deref(), Ok("true"));
        assert!(b.normalize("yes").is_err());
        let s = def(PropertyType::Enumeration, "select");
        assert!(s.normalize("a").is_ok());
        assert_eq!(s.normalize("A").unwrap_err().code, "INVALID_OPTION");
        let m = def(PropertyType::Enumeration, "checkbox");
        assert_eq!(m.normalize("a;b").as_deref(), Ok("a;b"));
        assert!(m.normalize("a;c").is_err());
    }

    #[test]
    fn datetimes_come_back_iso() {
        let d = def(PropertyType::Datetime, "date");
        assert_eq!(
            d.normalize("1572480000123").as_deref(),
            Ok("2019-10-31T00:00:00.123Z")
        );
        assert_eq!(
            d.normalize("2019-10-31T00:00:00.123Z").as_deref(),
            Ok("2019-10-31T00:00:00.123Z")
        );
    }

    #[test]
    fn email_is_lowercased() {
        let mut d = def(PropertyType::String, "text");
        d.name = "email".into();
        assert_eq!(d.normalize("A@B.io").as_deref(), Ok("a@b.io"));
        assert_eq!(d.normalize("nope").unwrap_err().code, "INVALID_EMAIL");
        for bad in [
            "nul2\0@x.test",
            "a\tb@x.test",
            "ab@x.test\n",
            "a\u{7f}@x.test",
        ] {
            assert_eq!(
                d.normalize(bad).unwrap_err().code,
                "INVALID_EMAIL",
                "{bad:?}"
            );
        }
        assert_eq!(d.normalize("  Ada@X.test ").unwrap(), "ada@x.test");
        let s = def(PropertyType::String, "text");
        assert_eq!(
            s.normalize("a\0b").unwrap_err().code,
            "INVALID_PROPERTY_VALUE"
        );
    }
}
