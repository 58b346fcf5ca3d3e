//! Records that both backends read from the same columns of the same tables (records,
//! labels, tokens, property groups, definitions), built from a row in one place: a backend
//! wraps its driver's row in [`Columns`] and selects the columns named here, in this order.

use std::collections::BTreeMap;

use spoke_core::{PortalId, PropertyDefinition, StoredProperties, StoredRecord};

use crate::{LabelRecord, PropertyGroup, TokenRecord};

/// One result row, read by column index.
pub trait Columns {
    type Error;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn text_or_null(&self, i: usize) -> Result<Option<String>, Self::Error>;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn int_or_null(&self, i: usize) -> Result<Option<i64>, Self::Error>;
    fn int32(&self, i: usize) -> Result<i32, Self::Error>;
    fn boolean(&self, i: usize) -> Result<bool, Self::Error>;
}

/// `objects` columns, as [`stored_record`] reads them (then `version`, for writes).
pub const RECORD_COLUMNS: &str = "id, properties, created_at, updated_at, archived_at, version";

/// A record from the first five [`RECORD_COLUMNS`], its values left as stored.
pub fn stored_record<C: Columns>(r: &C) -> Result<StoredRecord, C::Error> {
    Ok(StoredRecord {
        id: r.int(0)?,
        properties: StoredProperties::from_stored(r.text(1)?),
        created_at: r.int(2)?,
        updated_at: r.int(3)?,
        archived_at: r.int_or_null(4)?,
        history: BTreeMap::new(),
    })
}

/// `association_labels` columns after `portal_id`, as [`label`] reads them.
pub const LABEL_COLUMNS: &str = "from_type, to_type, type_id, label, name, inverse_type_id";

pub fn label<C: Columns>(r: &C) -> Result<LabelRecord, C::Error> {
    Ok(LabelRecord {
        from_type: r.text(0)?,
        to_type: r.text(1)?,
        type_id: r.int(2)?,
        label: r.text(3)?,
        name: r.text(4)?,
        inverse_type_id: r.int(5)?,
    })
}

/// `tokens` columns, as [`token`] reads them.
pub const TOKEN_COLUMNS: &str = "id, portal_id, prefix, scopes, created_at, revoked_at";

pub fn token<C: Columns>(r: &C) -> Result<TokenRecord, C::Error> {
    Ok(TokenRecord {
        id: r.int(0)?,
        portal: PortalId(r.int(1)?),
        prefix: r.text(2)?,
        scopes: split_scopes(&r.text(3)?),
        created_at: r.int(4)?,
        revoked_at: r.int_or_null(5)?,
    })
}

/// A token's scopes as the `scopes` column keeps them: space-separated, in order.
pub fn join_scopes(scopes: &[String]) -> String {
    scopes.join(" ")
}

fn split_scopes(column: &str) -> Vec<String> {
    column
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `property_groups` columns after the portal and type, as [`group`] reads them.
pub const GROUP_COLUMNS: &str = "name, label, display_order, archived";

pub fn group<C: Columns>(r: &C) -> Result<PropertyGroup, C::Error> {
    let (name, label) = (r.text(0)?, r.text(1)?);
    let (display_order, archived) = (r.int32(2)?, r.boolean(3)?);
    Ok(PropertyGroup {
        name,
        label,
        display_order,
        archived,
    })
}

/// A property definition as the `definition` column keeps it (JSON text).
pub fn definition_json(def: &PropertyDefinition) -> Result<String, serde_json::Error> {
    serde_json::to_string(def)
}

pub fn definition_from_json(json: &str) -> Result<PropertyDefinition, serde_json::Error> {
    serde_json::from_str(json)
}
