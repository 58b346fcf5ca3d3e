//! Custom object schemas and their association definitions ([`crate::SchemaStore`]).

use std::collections::BTreeSet;

use spoke_core::association::USER_DEFINED;
use spoke_core::{CustomSchema, PortalId};

use super::concurrency::join_all;
use super::{create_one, ctx, prop_def, T0};
use crate::schemas::{
    CreatedSchema, DefinitionRequest, NewDefinition, NewSchema, SchemaKey, SchemaPatch,
    SchemaRefusal, SchemaUpdate, FIRST_SCHEMA_NUMBER,
};
use crate::{AssociationWrite, LinkType, PropertyGroup, Store};

fn schema(portal: PortalId, name: &str) -> CustomSchema {
    CustomSchema {
        portal,
        number: 0,
        name: name.to_owned(),
        singular_label: "Car".into(),
        plural_label: "Cars".into(),
        description: String::new(),
        primary_display_property: Some("model".into()),
        secondary_display_properties: vec!["make".into()],
        searchable_properties: vec!["model".into(), "make".into()],
        required_properties: vec!["model".into()],
        allows_sensitive_properties: false,
        restorable: true,
        archived: false,
        created_at: T0,
        updated_at: T0,
        created_by_user_id: Some(7),
        updated_by_user_id: None,
    }
}

pub(super) fn new_schema(portal: PortalId, name: &str, to: &[Option<&str>]) -> NewSchema {
    let group = format!("{name}_information");
    let properties = ["model", "make"]
        .iter()
        .map(|p| {
            let mut d = prop_def(p, p);
            d.group_name = group.clone();
            d
        })
        .collect();
    NewSchema {
        schema: schema(portal, name),
        properties,
        group: PropertyGroup {
            name: group,
            label: "Car information".into(),
            display_order: -1,
            archived: false,
        },
        associations: to
            .iter()
            .map(|t| DefinitionRequest {
                to_type: t.map(str::to_owned),
                name: format!("{name}_to_{}", t.unwrap_or(name)),
                inverse_name: format!("{}_to_{name}", t.unwrap_or(name)),
            })
            .collect(),
        max_schemas: 10,
    }
}

async fn create(store: &dyn Store, new: NewSchema) -> CreatedSchema {
    match store
        .create_schema(new)
        .await
        .expect("create_schema failed")
    {
        Ok(c) => c,
        Err(r) => panic!("create_schema refused: {r:?}"),
    }
}

/// Check 121: a created schema is found by number and by name in any case, listed, and
/// invisible to another portal; its properties, group and association definitions (both
/// directions, USER_DEFINED, ids from the user range) are written with it; a label made
/// afterwards takes type ids above the definitions'; a patch changes only what it names.
pub async fn create_find_list_and_patch(store: &dyn Store, portal: PortalId, other: PortalId) {
    let made = create(store, new_schema(portal, "Cars", &[Some("contacts"), None])).await;
    let s = &made.schema;
    assert!(s.number >= FIRST_SCHEMA_NUMBER, "numbers start at the base");
    assert_eq!(s.name, "Cars", "the name keeps its case");
    assert!(!s.archived);
    let ty = s.object_type_id();
    for key in [
        SchemaKey::Number(s.number),
        SchemaKey::Name("cars"),
        SchemaKey::Name("CARS"),
    ] {
        let found = store.find_schema(portal, key).await.expect("find_schema");
        assert_eq!(
            found.as_ref(),
            Some(s),
            "{key:?} finds the schema as created"
        );
        let foreign = store.find_schema(other, key).await.expect("find_schema");
        assert_eq!(
            foreign, None,
            "{key:?}: another portal's schema does not exist"
        );
    }
    assert_eq!(
        store.list_schemas(portal, false).await.expect("list"),
        vec![s.clone()]
    );
    assert!(store
        .list_schemas(portal, true)
        .await
        .expect("list")
        .is_empty());
    assert!(store
        .list_schemas(other, false)
        .await
        .expect("list")
        .is_empty());

    let props: Vec<String> = store
        .list_properties(portal, &ty)
        .await
        .expect("list_properties")
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(props, vec!["make", "model"], "the schema's properties");
    let groups = store.list_groups(portal, &ty).await.expect("list_groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "Cars_information");

    let own: Vec<(String, String, i64, i64)> = made
        .associations
        .iter()
        .map(|d| {
            (
                d.from_type.clone(),
                d.to_type.clone(),
                d.type_id,
                d.inverse_type_id,
            )
        })
        .collect();
    assert_eq!(
        own.len(),
        2,
        "one definition to contacts, one to itself: {own:?}"
    );
    assert_eq!(own[0].0, ty);
    assert_eq!(own[0].1, "contacts");
    assert_eq!(
        own[1],
        (ty.clone(), ty.clone(), own[1].2, own[1].2),
        "self-inverse"
    );
    assert!(made.associations.iter().all(|d| d.category == USER_DEFINED));
    let listed = store
        .list_definitions(portal, &ty, None)
        .await
        .expect("list_definitions");
    assert_eq!(
        listed, made.associations,
        "definitions from the type, by type id"
    );
    let back = store
        .list_definitions(portal, "contacts", Some(&ty))
        .await
        .expect("list_definitions");
    assert_eq!(back.len(), 1, "the inverse direction is stored");
    assert_eq!(back[0].type_id, own[0].3);
    assert_eq!(back[0].inverse_type_id, own[0].2);
    assert_eq!(back[0].name, "contacts_to_Cars");
    assert!(store
        .list_definitions(other, &ty, None)
        .await
        .expect("list_definitions")
        .is_empty());

    let label = store
        .create_label(
            portal,
            "contacts",
            "companies",
            "friend",
            "Friend",
            None,
            10,
        )
        .await
        .expect("create_label")
        .expect("a label");
    let largest = own.iter().map(|o| o.2.max(o.3)).max().unwrap_or(0);
    assert!(
        label.iter().all(|l| l.type_id > largest),
        "labels and definitions share the portal's type ids: {label:?} after {own:?}"
    );

    // The graph lists a custom pair's definition as its unlabeled default, before labels.
    let custom_label = store
        .create_label(portal, &ty, "contacts", "owner", "Owner", None, 10)
        .await
        .expect("create_label")
        .expect("a label");
    let types = crate::graph::pair_types(store, portal, &ty, "contacts")
        .await
        .expect("pair_types");
    let listed: Vec<(i64, Option<String>, &str)> = types
        .iter()
        .map(|t| (t.type_id, t.label.clone(), t.category.as_str()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (own[0].2, None, USER_DEFINED),
            (custom_label[0].type_id, Some("Owner".into()), USER_DEFINED),
        ]
    );
    let default = crate::graph::default_of(&types).expect("a default");
    assert_eq!(default.inverse_type_id, own[0].3);
    let back = crate::graph::pair_types(store, portal, "contacts", &ty)
        .await
        .expect("pair_types");
    assert_eq!(back[0].type_id, own[0].3, "the inverse direction's default");
    let standard = crate::graph::pair_types(store, portal, "0-1", "0-2")
        .await
        .expect("pair_types");
    assert_eq!(
        standard,
        spoke_core::association::hubspot_defined("0-1", "0-2"),
        "a standard pair is HubSpot's alone"
    );

    let patch = SchemaPatch {
        plural_label: Some("Autos".into()),
        required_properties: Some(vec![]),
        description: Some("Four wheels".into()),
        updated_by_user_id: Some(9),
        ..SchemaPatch::default()
    };
    let update = SchemaUpdate {
        portal,
        number: s.number,
        patch: patch.clone(),
        now: T0 + 5,
    };
    let patched = store
        .update_schema(update)
        .await
        .expect("update_schema")
        .expect("a live schema");
    assert_eq!(patched, patch.apply(s, T0 + 5));
    assert_eq!(patched.singular_label, "Car", "untouched fields stay");
    assert_eq!(
        store
            .find_schema(portal, SchemaKey::Number(s.number))
            .await
            .expect("find"),
        Some(patched)
    );
    let foreign = SchemaUpdate {
        portal: other,
        number: s.number,
        patch,
        now: T0 + 6,
    };
    assert_eq!(
        store.update_schema(foreign).await.expect("update_schema"),
        None,
        "another portal cannot patch it"
    );
}

/// Check 123: a name is taken case-insensitively by live and archived schemas, and the
/// portal's live schemas are limited; archived ones do not count.
pub async fn names_and_the_limit(store: &dyn Store, portal: PortalId) {
    let first = create(store, new_schema(portal, "boats", &[])).await.schema;
    let taken = store
        .create_schema(new_schema(portal, "BOATS", &[]))
        .await
        .expect("create_schema");
    assert_eq!(
        taken,
        Err(SchemaRefusal::NameTaken {
            existing: first.number
        })
    );
    let mut limited = new_schema(portal, "planes", &[]);
    limited.max_schemas = 1;
    assert_eq!(
        store.create_schema(limited.clone()).await.expect("create"),
        Err(SchemaRefusal::Limit { max: 1 })
    );
    assert_eq!(
        store
            .archive_schema(portal, first.number, T0 + 1)
            .await
            .expect("archive"),
        Ok(())
    );
    let again = store
        .create_schema(new_schema(portal, "boats", &[]))
        .await
        .expect("create_schema");
    assert!(
        matches!(again, Err(SchemaRefusal::NameTaken { .. })),
        "an archived schema keeps its name: {again:?}"
    );
    let planes = create(store, limited).await.schema;
    assert!(planes.number > first.number, "numbers ascend");
}

/// Check 124: archive is refused while live records exist; an archived schema is not
/// found, listed only as archived, found with `include_archived`; a purge removes
/// everything of the type, frees the name and keeps the number.
pub async fn archive_and_purge(store: &dyn Store, portal: PortalId) {
    let made = create(store, new_schema(portal, "trucks", &[Some("contacts")])).await;
    let s = made.schema;
    let ty = s.object_type_id();
    let truck = create_one(store, &ctx(portal, &ty, T0), &[("model", "T1")]).await;
    let contact = create_one(store, &ctx(portal, "contacts", T0), &[("firstname", "A")]).await;
    let d = &made.associations[0];
    let link = LinkType {
        category: d.category.clone(),
        type_id: d.type_id,
        inverse_type_id: d.inverse_type_id,
        exclusive: false,
        inverse_exclusive: false,
    };
    let wrote = store
        .put_associations(
            portal,
            vec![AssociationWrite {
                from_type: ty.clone(),
                from_id: truck.id,
                to_type: "contacts".into(),
                to_id: contact.id,
                types: vec![link],
            }],
        )
        .await
        .expect("put_associations");
    assert!(wrote[0].is_ok());

    assert_eq!(
        store
            .archive_schema(portal, s.number, T0 + 1)
            .await
            .expect("archive"),
        Err(SchemaRefusal::LiveRecords { count: 1 })
    );
    assert_eq!(
        store
            .purge_schema(portal, s.number, T0 + 1)
            .await
            .expect("purge"),
        Err(SchemaRefusal::LiveRecords { count: 1 })
    );
    store
        .archive_objects(portal, &ty, vec![truck.id], T0 + 2)
        .await
        .expect("archive_objects");
    assert_eq!(
        store
            .archive_schema(portal, s.number, T0 + 3)
            .await
            .expect("archive"),
        Ok(())
    );
    assert_eq!(
        store
            .archive_schema(portal, s.number, T0 + 3)
            .await
            .expect("archive"),
        Err(SchemaRefusal::NotFound),
        "an archived schema is not archived again"
    );
    assert_eq!(
        store
            .find_schema(portal, SchemaKey::Number(s.number))
            .await
            .expect("find"),
        None
    );
    let archived = store
        .lookup_schema(portal, SchemaKey::Name("TRUCKS"), true)
        .await
        .expect("lookup")
        .expect("found with include_archived");
    assert!(archived.archived);
    assert_eq!(archived.updated_at, T0 + 3);
    assert!(store
        .list_schemas(portal, false)
        .await
        .expect("list")
        .is_empty());
    assert_eq!(
        store.list_schemas(portal, true).await.expect("list"),
        vec![archived]
    );

    assert_eq!(
        store
            .purge_schema(portal, s.number, T0 + 4)
            .await
            .expect("purge"),
        Ok(())
    );
    assert_eq!(
        store
            .purge_schema(portal, s.number, T0 + 4)
            .await
            .expect("purge"),
        Err(SchemaRefusal::NotFound),
        "a purged schema is gone"
    );
    assert!(store
        .list_schemas(portal, true)
        .await
        .expect("list")
        .is_empty());
    assert!(store
        .lookup_schema(portal, SchemaKey::Number(s.number), true)
        .await
        .expect("lookup")
        .is_none());
    assert!(store
        .list_properties(portal, &ty)
        .await
        .expect("props")
        .is_empty());
    assert!(store
        .list_groups(portal, &ty)
        .await
        .expect("groups")
        .is_empty());
    assert!(store
        .list_definitions(portal, "contacts", None)
        .await
        .expect("defs")
        .is_empty());
    let page = store
        .page_associations(portal, "contacts", &ty, vec![(contact.id, None)], 10)
        .await
        .expect("page");
    assert!(page[0].targets.is_empty(), "the links went with the type");
    let gone = store
        .read_objects(
            portal,
            &ty,
            crate::ReadKeys::Ids(vec![truck.id]),
            super::ARCHIVED,
        )
        .await
        .expect("read");
    assert_eq!(gone, vec![None], "archived records of the type are purged");

    let reborn = create(store, new_schema(portal, "trucks", &[]))
        .await
        .schema;
    assert!(
        reborn.number > s.number,
        "the name is free again, the number is not reused"
    );
}

/// Check 126: definitions added later take fresh ids, are refused under a taken name, and
/// removing one removes its inverse and every link of either type.
pub async fn definitions_are_added_and_removed(store: &dyn Store, portal: PortalId) {
    let a = create(store, new_schema(portal, "vans", &[])).await.schema;
    let b = create(store, new_schema(portal, "bikes", &[])).await.schema;
    let (ta, tb) = (a.object_type_id(), b.object_type_id());
    let new = NewDefinition {
        portal,
        from_type: ta.clone(),
        to_type: tb.clone(),
        name: "vans_to_bikes".into(),
        inverse_name: "bikes_to_vans".into(),
        now: T0,
    };
    let rows = store
        .create_definition(new.clone())
        .await
        .expect("create_definition")
        .expect("created");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].inverse_type_id, rows[1].type_id);
    let again = store
        .create_definition(new)
        .await
        .expect("create_definition");
    assert_eq!(
        again,
        Err(SchemaRefusal::DefinitionTaken {
            type_id: rows[0].type_id
        })
    );
    let van = create_one(store, &ctx(portal, &ta, T0), &[("model", "V")]).await;
    let bike = create_one(store, &ctx(portal, &tb, T0), &[("model", "B")]).await;
    let link = LinkType {
        category: USER_DEFINED.into(),
        type_id: rows[0].type_id,
        inverse_type_id: rows[0].inverse_type_id,
        exclusive: false,
        inverse_exclusive: false,
    };
    store
        .put_associations(
            portal,
            vec![AssociationWrite {
                from_type: ta.clone(),
                from_id: van.id,
                to_type: tb.clone(),
                to_id: bike.id,
                types: vec![link],
            }],
        )
        .await
        .expect("put_associations");
    assert!(
        !store
            .remove_definition(portal, &ta, rows[1].type_id)
            .await
            .expect("remove"),
        "an id of the other direction is not a definition from `ta`"
    );
    assert!(store
        .remove_definition(portal, &ta, rows[0].type_id)
        .await
        .expect("remove"));
    assert!(
        store
            .list_definitions(portal, &tb, None)
            .await
            .expect("defs")
            .is_empty(),
        "the inverse went too"
    );
    for (from, id, to) in [(&ta, van.id, &tb), (&tb, bike.id, &ta)] {
        let page = store
            .page_associations(portal, from, to, vec![(id, None)], 10)
            .await
            .expect("page");
        assert!(page[0].targets.is_empty(), "links of the definition went");
    }
    assert!(!store
        .remove_definition(portal, &ta, rows[0].type_id)
        .await
        .expect("remove"));
}

/// Check 127 (portals 127 and 128): schemas created at once, in two portals and through every handle, get
/// distinct numbers; those of one portal and one name, exactly one schema.
pub async fn concurrent_creates_get_distinct_numbers(stores: &[&dyn Store], base: PortalId) {
    let tasks: Vec<_> = (0..8i64)
        .map(|i| {
            let store = stores[(i as usize) % stores.len()];
            let portal = PortalId(base.0 + i % 2);
            let name = if i < 4 { "same" } else { "other" };
            let name = format!("{name}_{}", i % 2);
            async move {
                store
                    .create_schema(new_schema(portal, &name, &[Some("contacts")]))
                    .await
            }
        })
        .collect();
    let made = join_all(tasks).await;
    let mut numbers = BTreeSet::new();
    let mut created = 0;
    for m in made {
        match m.expect("create_schema failed") {
            Ok(c) => {
                created += 1;
                assert!(numbers.insert(c.schema.number), "distinct numbers");
            }
            Err(SchemaRefusal::NameTaken { .. }) => {}
            Err(e) => panic!("unexpected refusal {e:?}"),
        }
    }
    assert_eq!(created, 4, "one schema per portal and name");
}
