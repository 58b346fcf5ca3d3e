//! Scope names (hubspot-behavior.md §4.2). A requirement is a list of alternatives:
//! any one granted scope satisfies it, as in HubSpot's spec `security` lists. Every name
//! here is one of HubSpot's (`tests/http/catalogue.rs` holds them to its specs).

use crate::object_type::ObjectType;

/// Scopes to read records of a type.
pub fn object_read(ty: &ObjectType) -> Vec<String> {
    ty.read_scopes.clone()
}

/// Scopes to write records of a type.
pub fn object_write(ty: &ObjectType) -> Vec<String> {
    ty.write_scopes.clone()
}

/// Scopes to read property definitions (and pipelines) of a type.
pub fn schema_read(ty: &ObjectType) -> Vec<String> {
    ty.schema_read_scopes.clone()
}

/// Scopes to write property definitions (and pipelines) of a type.
pub fn schema_write(ty: &ObjectType) -> Vec<String> {
    ty.schema_write_scopes.clone()
}

/// The scopes of every object type's records and property definitions, of custom objects,
/// of owners and of the settings users API: what `spoke serve` grants the token it prints
/// on first start. Scopes that only operations spoke does not serve need (`automation`,
/// ...) are not among them, so such a token gets their 403 `MISSING_SCOPES` first.
pub fn all_scopes() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for ty in ObjectType::all() {
        out.extend(object_read(ty));
        out.extend(object_write(ty));
        out.extend(schema_read(ty));
        out.extend(schema_write(ty));
    }
    out.push("crm.schemas.custom.read".into());
    out.push("crm.schemas.custom.write".into());
    out.push("crm.objects.custom.read".into());
    out.push("crm.objects.custom.write".into());
    // Owners and the settings users API (users, teams, roles).
    for s in [
        "crm.objects.owners.read",
        "settings.users.read",
        "settings.users.write",
        "settings.users.teams.read",
    ] {
        out.push(s.into());
    }
    out.sort();
    out.dedup();
    out
}

/// Whether `granted` satisfies a requirement of alternatives.
pub fn satisfies(granted: &[String], required: &[String]) -> bool {
    required.iter().any(|r| granted.iter().any(|g| g == r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_all_scopes_token_covers_the_engagement_and_other_synced_types() {
        let all = all_scopes();
        for ty in ObjectType::all() {
            for required in [object_read(ty), object_write(ty), schema_read(ty)] {
                assert!(satisfies(&all, &required), "{}: {required:?}", ty.name);
            }
        }
        for scope in [
            "crm.objects.quotes.write",
            "crm.objects.leads.write",
            "crm.objects.goals.write",
            "crm.objects.feedback_submissions.read",
            "crm.dealsplits.read_write",
            "sales-email-read",
        ] {
            assert!(all.iter().any(|s| s == scope), "{scope}");
        }
    }
}
