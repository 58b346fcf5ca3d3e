//! Scope names (hubspot-behavior.md §4.2). A requirement is a list of alternatives:
//! any one granted scope satisfies it, as in HubSpot's spec `security` lists.

use crate::object_type::ObjectType;

/// Scopes to read records of a type.
pub fn object_read(ty: &ObjectType) -> Vec<String> {
    ty.read_scopes.iter().map(|s| (*s).to_owned()).collect()
}

/// Scopes to write records of a type.
pub fn object_write(ty: &ObjectType) -> Vec<String> {
    ty.write_scopes.iter().map(|s| (*s).to_owned()).collect()
}

/// Scopes to read property definitions of a type. HubSpot's properties spec also lets the
/// type's object-read scope read its definitions.
pub fn schema_read(ty: &ObjectType) -> Vec<String> {
    let mut out = vec![format!("crm.schemas.{}.read", ty.schema_scope_name)];
    out.extend(object_read(ty));
    out
}

/// Scopes to write property definitions of a type (`tickets` covers ticket schemas).
pub fn schema_write(ty: &ObjectType) -> Vec<String> {
    let mut out = vec![format!("crm.schemas.{}.write", ty.schema_scope_name)];
    if ty.name == "tickets" {
        out.push("tickets".into());
    }
    out
}

/// Every scope spoke knows: what `spoke serve` grants the token it prints on first start.
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
    out.sort();
    out.dedup();
    out
}

/// Whether `granted` satisfies a requirement of alternatives.
pub fn satisfies(granted: &[String], required: &[String]) -> bool {
    required.iter().any(|r| granted.iter().any(|g| g == r))
}
