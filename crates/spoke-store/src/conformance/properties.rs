//! Checks of [`crate::PropertyStore`] beyond `mod.rs`'s: listing order, definitions with
//! every field set, groups per portal, and unique-value properties.

use spoke_core::property::{PropertyOption, PropertyType};
use spoke_core::PortalId;

use super::{assert_conflict, create_one, ctx, new, prop_def, Store, COMPANIES, CONTACTS, T0};
use crate::PropertyGroup;

/// Names in an order no listing should keep: capitals, punctuation, non-ASCII.
const NAMES: [&str; 9] = [
    "zeta", "Zeta", "alpha", "_x", "éclair", "Alpha", "beta", "a b", "a-b",
];

async fn groups_of(store: &dyn Store, portal: PortalId) -> Vec<PropertyGroup> {
    store
        .list_groups(portal, CONTACTS)
        .await
        .expect("list_groups failed")
}

fn bytewise(names: &[&str]) -> Vec<String> {
    let mut sorted: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    sorted.sort();
    sorted
}

/// Check 75: properties and groups are listed by name, compared bytewise (not by a
/// locale's collation), archived ones included.
pub(super) async fn properties_and_groups_list_by_name_bytewise(
    store: &dyn Store,
    portal: PortalId,
) {
    let fresh = store
        .insert_properties(
            portal,
            CONTACTS,
            NAMES
                .iter()
                .map(|n| prop_def(n, &n.to_uppercase()))
                .collect(),
        )
        .await
        .expect("insert_properties failed");
    assert_eq!(fresh, vec![true; NAMES.len()]);
    store
        .archive_properties(portal, CONTACTS, vec!["beta".to_owned()], T0 + 1, 100)
        .await
        .expect("archive_properties failed");
    let listed: Vec<String> = store
        .list_properties(portal, CONTACTS)
        .await
        .expect("list_properties failed")
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(listed, bytewise(&NAMES), "properties by name, bytewise");

    for (i, name) in NAMES.iter().enumerate() {
        let group = PropertyGroup {
            name: (*name).to_owned(),
            label: name.to_uppercase(),
            display_order: i32::try_from(i).unwrap_or(0) - 3,
            archived: i % 3 == 0,
        };
        let fresh = store.put_group(portal, CONTACTS, group, true).await;
        assert!(fresh.expect("put_group failed"), "{name} is new");
    }
    let groups = groups_of(store, portal).await;
    assert_eq!(
        groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>(),
        bytewise(&NAMES),
        "groups by name, bytewise"
    );
    assert_eq!(
        groups.iter().find(|g| g.name == "Zeta"),
        Some(&PropertyGroup {
            name: "Zeta".to_owned(),
            label: "ZETA".to_owned(),
            display_order: -2,
            archived: false,
        }),
        "a group round-trips, negative display order included"
    );
}

/// Check 76: a definition with every field set round-trips, options in their order; and
/// groups, like properties, are per portal.
pub(super) async fn definitions_round_trip_and_groups_are_per_portal(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    let option =
        |value: &str, order: i32, hidden: bool, description: Option<&str>| PropertyOption {
            label: value.to_uppercase(),
            value: value.to_owned(),
            description: description.map(str::to_owned),
            display_order: order,
            hidden,
        };
    let full = spoke_core::PropertyDefinition {
        kind: PropertyType::Enumeration,
        field_type: "checkbox".to_owned(),
        description: "Every field \"set\", ünïcode and a\nline break".to_owned(),
        group_name: "custom_group".to_owned(),
        options: vec![
            option("zulu", 2, false, Some("last letter")),
            option("alpha", -1, true, None),
            option("", 0, false, Some("")),
        ],
        display_order: -7,
        calculated: true,
        external_options: true,
        has_unique_value: true,
        hidden: true,
        hubspot_defined: true,
        form_field: false,
        read_only_value: true,
        read_only_definition: true,
        archivable: false,
        created_at: Some(T0),
        updated_at: Some(T0 + 1),
        archived: false,
        archived_at: None,
        ..prop_def("every_field", "Every field")
    };
    let number = spoke_core::PropertyDefinition {
        kind: PropertyType::Number,
        field_type: "number".to_owned(),
        created_at: None,
        updated_at: None,
        ..prop_def("amount", "Amount")
    };
    store
        .insert_properties(portal, COMPANIES, vec![full.clone(), number.clone()])
        .await
        .expect("insert_properties failed");
    assert_eq!(
        store
            .list_properties(portal, COMPANIES)
            .await
            .expect("list_properties failed"),
        vec![number, full],
        "definitions round-trip field for field"
    );

    let group = PropertyGroup {
        name: "shared".to_owned(),
        label: "Mine".to_owned(),
        display_order: 1,
        archived: false,
    };
    assert!(store
        .put_group(portal, CONTACTS, group.clone(), true)
        .await
        .expect("put_group failed"));
    assert!(
        groups_of(store, other).await.is_empty(),
        "another portal has no groups"
    );
    let theirs = PropertyGroup {
        label: "Theirs".to_owned(),
        ..group.clone()
    };
    assert!(
        store
            .put_group(other, CONTACTS, theirs.clone(), true)
            .await
            .expect("put_group failed"),
        "the same name is new in another portal"
    );
    assert_eq!(groups_of(store, portal).await, vec![group]);
    assert_eq!(groups_of(store, other).await, vec![theirs]);
}

/// Check 77: a custom property in the write context's unique properties keeps its values
/// unique as email does, per portal and type; other values of it need not be unique.
pub(super) async fn custom_unique_properties_are_enforced_like_email(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    let mut c = ctx(portal, COMPANIES, T0);
    c.unique_properties = vec!["tax_id".to_owned()];
    let first = create_one(store, &c, &[("tax_id", "T-1"), ("name", "Same")]).await;
    let out = store
        .create_objects(
            &c,
            vec![
                new(&[("tax_id", "T-1")]),
                new(&[("tax_id", "t-1"), ("name", "Same")]),
            ],
        )
        .await
        .expect("create_objects failed");
    assert_conflict(
        &out[0],
        "tax_id",
        "T-1",
        first.id,
        "a held custom unique value",
    );
    assert!(
        out[1].is_ok(),
        "values are compared exactly, and non-unique properties may repeat: {out:?}"
    );
    // Another portal, or another type, holds its own values.
    let mut theirs = ctx(other, COMPANIES, T0);
    theirs.unique_properties = c.unique_properties.clone();
    create_one(store, &theirs, &[("tax_id", "T-1")]).await;
    let mut contacts = ctx(portal, CONTACTS, T0);
    contacts.unique_properties = vec!["email".to_owned(), "tax_id".to_owned()];
    create_one(store, &contacts, &[("tax_id", "T-1")]).await;
    // Found by value.
    let found = super::read_unique(store, portal, COMPANIES, "tax_id", "T-1", super::LIVE)
        .await
        .expect("found by its custom unique value");
    assert_eq!(found.id, first.id);
}
