//! Association definitions (hubspot-behavior.md §3.3): HubSpot's built-in type ids between
//! the standard objects, each with its inverse, and which of them are "Primary".

/// `HUBSPOT_DEFINED`, `USER_DEFINED`, `INTEGRATOR_DEFINED` (§3.3).
pub const HUBSPOT_DEFINED: &str = "HUBSPOT_DEFINED";
pub const USER_DEFINED: &str = "USER_DEFINED";

/// USER_DEFINED type ids start here, above nearly every HUBSPOT_DEFINED id; the few above
/// it (leads and goals to deals) are stepped over when a label is made, so a type id names
/// one definition of a pair whatever its category (labels are addressed by id alone).
pub const FIRST_USER_TYPE_ID: i64 = 1001;

/// How many custom labels one object pair may carry. HubSpot's documented numbers have
/// changed over time (10 in older docs); spoke allows 50 (docs/compatibility.md).
pub const MAX_LABELS_PER_PAIR: usize = 50;

/// One directed association type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationType {
    pub from_type: String,
    pub to_type: String,
    pub category: String,
    pub type_id: i64,
    pub label: Option<String>,
    /// The type id the same link has seen from the other side.
    pub inverse_type_id: i64,
    /// At most one target per source record (a contact's primary company). Writing a new one
    /// replaces the old, which keeps its unlabeled association.
    pub exclusive: bool,
}

/// (from, to, type id, inverse id, label from→to, label to→from, exclusive from→to)
type Row = (
    &'static str,
    &'static str,
    i64,
    i64,
    Option<&'static str>,
    Option<&'static str>,
    bool,
);

const DEFINED: &[Row] = &[
    ("0-1", "0-2", 279, 280, None, None, false),
    ("0-1", "0-2", 1, 2, Some("Primary"), Some("Primary"), true),
    ("0-1", "0-3", 4, 3, None, None, false),
    ("0-1", "0-5", 15, 16, None, None, false),
    ("0-1", "0-1", 449, 449, None, None, false),
    ("0-2", "0-2", 450, 450, None, None, false),
    (
        "0-2",
        "0-2",
        13,
        14,
        Some("Child Company"),
        Some("Parent Company"),
        false,
    ),
    ("0-3", "0-2", 341, 342, None, None, false),
    ("0-3", "0-2", 5, 6, Some("Primary"), Some("Primary"), true),
    ("0-3", "0-3", 451, 451, None, None, false),
    ("0-3", "0-5", 27, 28, None, None, false),
    ("0-3", "0-8", 19, 20, None, None, false),
    ("0-2", "0-5", 340, 339, None, None, false),
    ("0-5", "0-2", 26, 25, Some("Primary"), Some("Primary"), true),
    ("0-5", "0-5", 452, 452, None, None, false),
    ("0-420", "0-1", 882, 883, None, None, false),
    ("0-420", "0-2", 884, 885, None, None, false),
    ("0-420", "0-3", 886, 887, None, None, false),
    ("0-420", "0-5", 942, 943, None, None, false),
    // Engagements and the other synced types (hubspot-behavior-platform.md §24.6): each
    // to contacts, companies, deals and tickets.
    ("0-48", "0-1", 194, 193, None, None, false),
    ("0-48", "0-2", 182, 181, None, None, false),
    ("0-48", "0-3", 206, 205, None, None, false),
    ("0-48", "0-5", 220, 219, None, None, false),
    ("0-49", "0-1", 198, 197, None, None, false),
    ("0-49", "0-2", 186, 185, None, None, false),
    ("0-49", "0-3", 210, 209, None, None, false),
    ("0-49", "0-5", 224, 223, None, None, false),
    ("0-47", "0-1", 200, 199, None, None, false),
    ("0-47", "0-2", 188, 187, None, None, false),
    ("0-47", "0-3", 212, 211, None, None, false),
    ("0-47", "0-5", 226, 225, None, None, false),
    ("0-46", "0-1", 202, 201, None, None, false),
    ("0-46", "0-2", 190, 189, None, None, false),
    ("0-46", "0-3", 214, 213, None, None, false),
    ("0-46", "0-5", 228, 227, None, None, false),
    ("0-27", "0-1", 204, 203, None, None, false),
    ("0-27", "0-2", 192, 191, None, None, false),
    ("0-27", "0-3", 216, 215, None, None, false),
    ("0-27", "0-5", 230, 229, None, None, false),
    ("0-18", "0-1", 81, 82, None, None, false),
    ("0-18", "0-2", 87, 88, None, None, false),
    ("0-18", "0-3", 85, 86, None, None, false),
    ("0-18", "0-5", 83, 84, None, None, false),
    ("0-116", "0-1", 453, 454, None, None, false),
    ("0-116", "0-2", 459, 460, None, None, false),
    ("0-116", "0-3", 457, 458, None, None, false),
    ("0-116", "0-5", 455, 456, None, None, false),
    ("0-19", "0-1", 98, 97, None, None, false),
    ("0-19", "0-2", 928, 929, None, None, false),
    ("0-19", "0-3", 984, 985, None, None, false),
    ("0-19", "0-5", 100, 99, None, None, false),
    // Quotes, leads, deal splits and goals (§24.6). Inverses the guide does not list
    // (599, 314, and the primary ones' 579, 581) are spoke's (docs/compatibility.md).
    ("0-14", "0-1", 69, 70, None, None, false),
    ("0-14", "0-2", 71, 72, None, None, false),
    ("0-14", "0-3", 64, 63, None, None, false),
    ("0-14", "0-8", 67, 68, None, None, false),
    ("0-14", "0-27", 217, 218, None, None, false),
    ("0-136", "0-1", 608, 609, None, None, false),
    ("0-136", "0-2", 610, 611, None, None, false),
    ("0-136", "0-3", 1037, 1038, None, None, false),
    ("0-136", "0-48", 596, 597, None, None, false),
    ("0-136", "0-49", 598, 599, None, None, false),
    ("0-136", "0-47", 600, 601, None, None, false),
    ("0-136", "0-46", 854, 855, None, None, false),
    ("0-136", "0-27", 646, 647, None, None, false),
    ("0-136", "0-18", 602, 603, None, None, false),
    ("0-3", "0-1502", 313, 314, None, None, false),
    ("0-74", "0-3", 1356, 1357, None, None, false),
    (
        "0-136",
        "0-1",
        578,
        579,
        Some("Primary"),
        Some("Primary"),
        true,
    ),
    (
        "0-136",
        "0-2",
        580,
        581,
        Some("Primary"),
        Some("Primary"),
        true,
    ),
    (
        "0-136",
        "0-3",
        582,
        583,
        Some("Primary"),
        Some("Primary"),
        true,
    ),
];

/// Every HUBSPOT_DEFINED type from `from` to `to`, unlabeled default first.
pub fn hubspot_defined(from: &str, to: &str) -> Vec<AssociationType> {
    let mut out = Vec::new();
    for &(a, b, ab, ba, label_ab, label_ba, excl) in DEFINED {
        if a == from && b == to {
            out.push(make(a, b, ab, ba, label_ab, excl));
        }
        // Same-type self-inverse pairs (449..452) are listed once.
        if b == from && a == to && !(a == b && ab == ba) {
            out.push(make(b, a, ba, ab, label_ba, false));
        }
    }
    out.sort_by_key(|t| (t.label.is_some(), t.type_id));
    out
}

fn make(
    from: &str,
    to: &str,
    id: i64,
    inverse: i64,
    label: Option<&str>,
    exclusive: bool,
) -> AssociationType {
    AssociationType {
        from_type: from.to_owned(),
        to_type: to.to_owned(),
        category: HUBSPOT_DEFINED.to_owned(),
        type_id: id,
        label: label.map(str::to_owned),
        inverse_type_id: inverse,
        exclusive,
    }
}

/// The unlabeled type `PUT .../associations/default/...` creates.
pub fn default_type(from: &str, to: &str) -> Option<AssociationType> {
    hubspot_defined(from, to)
        .into_iter()
        .find(|t| t.label.is_none())
}

/// Whether a link row of this type is a "Primary" one (either direction), as HubSpot's
/// webhooks report it (`isPrimaryAssociation`).
pub fn is_primary(category: &str, type_id: i64) -> bool {
    category == HUBSPOT_DEFINED
        && DEFINED.iter().any(|&(_, _, ab, ba, label, _, _)| {
            (ab == type_id || ba == type_id) && label == Some("Primary")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverses_agree_in_both_directions() {
        let types: Vec<&str> = crate::ObjectType::all()
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        for a in &types {
            for b in &types {
                for t in hubspot_defined(a, b) {
                    let back = hubspot_defined(b, a);
                    assert!(
                        back.iter()
                            .any(|x| x.type_id == t.inverse_type_id
                                && x.inverse_type_id == t.type_id),
                        "{a}->{b} {} has no inverse",
                        t.type_id
                    );
                }
            }
        }
    }

    #[test]
    fn known_ids() {
        assert_eq!(default_type("0-1", "0-2").map(|t| t.type_id), Some(279));
        assert_eq!(default_type("0-2", "0-1").map(|t| t.type_id), Some(280));
        assert_eq!(default_type("0-5", "0-1").map(|t| t.type_id), Some(16));
        assert_eq!(default_type("0-1", "0-1").map(|t| t.type_id), Some(449));
        let primary = hubspot_defined("0-1", "0-2");
        assert!(primary.iter().any(|t| t.type_id == 1 && t.exclusive));
        assert!(hubspot_defined("0-2", "0-1")
            .iter()
            .any(|t| t.type_id == 2 && !t.exclusive));
    }
}
