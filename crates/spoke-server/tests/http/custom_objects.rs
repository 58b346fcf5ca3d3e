//! Records of custom object types (issue 12): a portal's custom type, defined by its schema,
//! is served by every objects v3 endpoint, search and properties v3 like a standard type,
//! addressed as `2-{number}`, `p{portal}_{name}` or `p_{name}`, and exists for its portal
//! only (hubspot-behavior-apps.md §40.2, §40.8). Schemas are created through the store
//! here, so these tests hold the type resolution to account whatever the schemas API does.

use reqwest::StatusCode;
use serde_json::{json, Value};
use spoke_core::association::USER_DEFINED;
use spoke_core::{CustomSchema, PortalId};
use spoke_store::conformance::prop_def;
use spoke_store::schemas::{CreatedSchema, DefinitionRequest, NewSchema};
use spoke_store::{AssociationWrite, LinkType, PropertyGroup};

use crate::harness::TestApp;
use crate::support::{assert_batch_ok, assert_error, ids_of, prop, prop_names};

/// Creates the schema `name` in `portal` through the store: properties `model` (required,
/// searchable), `make` (searchable), `vin` (unique), `year` (number), and an association
/// definition with contacts; returns `2-{number}`.
pub async fn create_schema(app: &TestApp, portal: i64, name: &str) -> String {
    create_schema_with_definitions(app, portal, name)
        .await
        .schema
        .object_type_id()
}

async fn create_schema_with_definitions(app: &TestApp, portal: i64, name: &str) -> CreatedSchema {
    let group = format!("{name}_information");
    let mut properties: Vec<_> = ["model", "make", "vin", "year"]
        .iter()
        .map(|p| {
            let mut d = prop_def(p, p);
            d.group_name = group.clone();
            d
        })
        .collect();
    properties[2].has_unique_value = true;
    properties[3].kind = spoke_core::PropertyType::Number;
    properties[3].field_type = "number".into();
    let new = NewSchema {
        schema: CustomSchema {
            portal: PortalId(portal),
            number: 0,
            name: name.to_owned(),
            singular_label: "Car".into(),
            plural_label: "Cars".into(),
            description: String::new(),
            primary_display_property: Some("model".into()),
            secondary_display_properties: vec![],
            searchable_properties: vec!["model".into(), "make".into()],
            required_properties: vec!["model".into()],
            allows_sensitive_properties: false,
            restorable: true,
            archived: false,
            created_at: 0,
            updated_at: 0,
            created_by_user_id: None,
            updated_by_user_id: None,
        },
        properties,
        group: PropertyGroup {
            name: group,
            label: "Car information".into(),
            display_order: -1,
            archived: false,
        },
        associations: vec![DefinitionRequest {
            to_type: Some("0-1".into()),
            name: format!("{name}_to_contact"),
            inverse_name: format!("contact_to_{name}"),
        }],
        max_schemas: 10,
    };
    app.store
        .create_schema(new)
        .await
        .expect("store")
        .expect("created")
}

fn unknown(ans: &crate::harness::Answer, segment: &str) {
    assert_error(
        ans,
        400,
        None,
        &format!("Unable to infer object type from: {segment}"),
    );
}

#[tokio::test]
async fn a_custom_type_is_served_under_each_of_its_names_for_its_portal_only() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let other = app.token(2, &["all"]).await;
    let ty = create_schema(&app, 1, "cars").await;
    assert!(ty.starts_with("2-"), "{ty}");

    let created = app
        .post(
            &t,
            &format!("/crm/v3/objects/{ty}"),
            json!({"properties": {"model": "T", "make": "Ford", "year": 1908}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(prop(&created.body, "model"), "T");
    assert_eq!(prop(&created.body, "hs_object_id"), id.as_str());

    // The defaults of a custom record (§40.8): exactly these three.
    for segment in [ty.as_str(), "p1_cars", "p_cars", "P1_CARS", "p_Cars"] {
        let ans = app
            .get(&t, &format!("/crm/v3/objects/{segment}/{id}"))
            .await;
        assert_eq!(ans.status, StatusCode::OK, "{segment}: {}", ans.text);
        assert_eq!(
            prop_names(&ans.body),
            ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
            "{segment}"
        );
    }
    let ans = app
        .get(
            &t,
            &format!("/crm/v3/objects/p_cars/{id}?properties=model,year"),
        )
        .await;
    assert_eq!(prop(&ans.body, "year"), "1908", "{}", ans.text);

    // A bare name is not a type outside the schemas API; nor is another portal's type, by
    // id or by name; nor a malformed id.
    for segment in ["cars", "car", "2-0", "2-x", "p2_cars"] {
        let ans = app.get(&t, &format!("/crm/v3/objects/{segment}")).await;
        unknown(&ans, segment);
    }
    for segment in [ty.as_str(), "p1_cars", "p_cars", "p2_cars"] {
        let ans = app
            .get(&other, &format!("/crm/v3/objects/{segment}/{id}"))
            .await;
        unknown(&ans, segment);
    }
    // Portal 2 defines its own `cars`: its own type, its own records.
    let theirs = create_schema(&app, 2, "cars").await;
    assert_ne!(theirs, ty);
    let ans = app.get(&other, "/crm/v3/objects/p_cars").await;
    assert_eq!(ans.status, StatusCode::OK, "{}", ans.text);
    assert_eq!(ans.body["results"], json!([]), "{}", ans.text);
    let ans = app
        .get(&other, &format!("/crm/v3/objects/p_cars/{id}"))
        .await;
    assert_eq!(ans.status, StatusCode::NOT_FOUND, "{}", ans.text);
}

#[tokio::test]
async fn archived_schemas_do_not_resolve() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ty = create_schema(&app, 1, "boats").await;
    let number: i64 = ty.trim_start_matches("2-").parse().expect("number");
    let archived = app
        .store
        .archive_schema(PortalId(1), number, 1)
        .await
        .expect("store");
    assert_eq!(archived, Ok(()));
    for segment in [ty.as_str(), "p_boats", "p1_boats"] {
        let ans = app.get(&t, &format!("/crm/v3/objects/{segment}")).await;
        unknown(&ans, segment);
    }
}

#[tokio::test]
async fn custom_records_need_the_custom_object_scopes() {
    let app = TestApp::spawn().await;
    let ty = create_schema(&app, 1, "cars").await;
    let contacts_only = app
        .token(
            1,
            &["crm.objects.contacts.read", "crm.objects.contacts.write"],
        )
        .await;
    let read = app.token(1, &["crm.objects.custom.read"]).await;
    let write = app
        .token(1, &["crm.objects.custom.read", "crm.objects.custom.write"])
        .await;
    let schemas_write = app.token(1, &["crm.schemas.custom.write"]).await;

    let list = format!("/crm/v3/objects/{ty}");
    let ans = app.get(&contacts_only, &list).await;
    assert_eq!(ans.status, StatusCode::FORBIDDEN, "{}", ans.text);
    assert_eq!(ans.body["category"], "MISSING_SCOPES");
    assert!(ans.text.contains("crm.objects.custom.read"), "{}", ans.text);
    assert_eq!(app.get(&read, &list).await.status, StatusCode::OK);

    let body = json!({"properties": {"model": "A"}});
    let ans = app.post(&read, &list, body.clone()).await;
    assert_eq!(ans.status, StatusCode::FORBIDDEN, "{}", ans.text);
    assert!(
        ans.text.contains("crm.objects.custom.write"),
        "{}",
        ans.text
    );
    let ans = app.post(&write, &list, body).await;
    assert_eq!(ans.status, StatusCode::CREATED, "{}", ans.text);

    // Property definitions: read with either custom read scope, write with the schemas one.
    let props = format!("/crm/v3/properties/{ty}");
    assert_eq!(app.get(&read, &props).await.status, StatusCode::OK);
    let def = json!({"name": "color", "label": "Color", "type": "string",
                     "fieldType": "text", "groupName": "cars_information"});
    let ans = app.post(&write, &props, def.clone()).await;
    assert_eq!(ans.status, StatusCode::FORBIDDEN, "{}", ans.text);
    assert!(
        ans.text.contains("crm.schemas.custom.write"),
        "{}",
        ans.text
    );
    let ans = app.post(&schemas_write, &props, def).await;
    assert_eq!(ans.status, StatusCode::CREATED, "{}", ans.text);
}

#[tokio::test]
async fn required_properties_and_not_found_name_the_type_id() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ty = create_schema(&app, 1, "cars").await;
    let ans = app
        .post(
            &t,
            &format!("/crm/v3/objects/{ty}"),
            json!({"properties": {"make": "Ford"}}),
        )
        .await;
    let body = assert_error(
        &ans,
        400,
        Some("VALIDATION_ERROR"),
        &format!("Error creating {ty}. Some required properties were not set."),
    );
    assert_eq!(body["context"]["properties"], json!(["model"]));

    let ans = app
        .post(
            &t,
            "/crm/v3/objects/p_cars/batch/read",
            json!({"inputs": [{"id": "999999"}], "properties": []}),
        )
        .await;
    assert_eq!(ans.status, StatusCode::MULTI_STATUS, "{}", ans.text);
    assert_eq!(
        ans.body["errors"][0]["message"],
        format!(
            "Could not get some {ty} objects, they may be deleted or not exist. Check that ids are valid."
        ),
        "{}",
        ans.text
    );
}

#[tokio::test]
async fn batches_upsert_search_and_archive_work_on_custom_types() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ty = create_schema(&app, 1, "cars").await;
    let base = format!("/crm/v3/objects/{ty}");

    let ans = app
        .post(
            &t,
            &format!("{base}/batch/create"),
            json!({"inputs": [
                {"properties": {"model": "Model T", "make": "Ford", "vin": "V1"}},
                {"properties": {"model": "Beetle", "make": "Volkswagen", "vin": "V2"}},
                {"properties": {"model": "2CV", "make": "Citroen", "vin": "V3"}},
            ]}),
        )
        .await;
    let created = assert_batch_ok(&ans, 201);
    assert_eq!(created.len(), 3);
    // The ids by input order, found by the values each result carries.
    let ids: Vec<String> = ["V1", "V2", "V3"]
        .iter()
        .map(|vin| {
            let r = created
                .iter()
                .find(|r| prop(r, "vin") == *vin)
                .expect("result");
            r["id"].as_str().expect("id").to_owned()
        })
        .collect();

    // A duplicate unique value is refused; upsert by it updates the record it names.
    let ans = app
        .post(
            &t,
            &base,
            json!({"properties": {"model": "X", "vin": "V1"}}),
        )
        .await;
    assert_eq!(ans.status, StatusCode::CONFLICT, "{}", ans.text);
    let ans = app
        .post(
            &t,
            &format!("{base}/batch/upsert"),
            json!({"inputs": [
                {"idProperty": "vin", "id": "V1", "properties": {"make": "Ford Motor"}},
                {"idProperty": "vin", "id": "V4", "properties": {"model": "Mini"}},
            ]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 200);
    let updated = results
        .iter()
        .find(|r| r["id"] == ids[0].as_str())
        .expect("V1 updated");
    assert_eq!(updated["new"], false, "{}", ans.text);
    assert_eq!(results.len(), 2);

    // Batch update and read.
    let ans = app
        .post(
            &t,
            &format!("{base}/batch/update"),
            json!({"inputs": [{"id": ids[1], "properties": {"year": "1938"}}]}),
        )
        .await;
    assert_batch_ok(&ans, 200);
    let ans = app
        .post(
            &t,
            &format!("{base}/batch/read"),
            json!({"inputs": [{"id": ids[1]}], "properties": ["year", "model"]}),
        )
        .await;
    let read = assert_batch_ok(&ans, 200);
    assert_eq!(prop(&read[0], "year"), "1938");
    assert_eq!(prop(&read[0], "model"), "Beetle");

    // Search: `query` matches the schema's searchable properties, filters any property.
    let search = |body: Value| {
        let path = "/crm/v3/objects/p_cars/search";
        let t = t.clone();
        let app = &app;
        async move { app.post(&t, path, body).await }
    };
    let ans = search(json!({"query": "volks"})).await;
    assert_eq!(ans.status, StatusCode::OK, "{}", ans.text);
    assert_eq!(ans.body["total"], 1, "{}", ans.text);
    assert_eq!(ans.body["results"][0]["id"], ids[1].as_str());
    // `vin` is not searchable: `query` does not look at it.
    let ans = search(json!({"query": "V3"})).await;
    assert_eq!(ans.body["total"], 0, "{}", ans.text);
    let ans = search(json!({
        "filterGroups": [{"filters": [{"propertyName": "vin", "operator": "EQ", "value": "V3"}]}],
        "properties": ["model"]
    }))
    .await;
    assert_eq!(ans.body["total"], 1, "{}", ans.text);
    assert_eq!(prop(&ans.body["results"][0], "model"), "2CV");

    // Archive one, then the list shows the rest.
    let ans = app.delete(&t, &format!("{base}/{}", ids[2])).await;
    assert_eq!(ans.status, StatusCode::NO_CONTENT, "{}", ans.text);
    let ans = app.get(&t, &format!("{base}?limit=100")).await;
    let listed = ids_of(ans.body["results"].as_array().expect("results"));
    assert_eq!(listed.len(), 3, "{}", ans.text);
    assert!(!listed.contains(&ids[2]));
}

#[tokio::test]
async fn properties_v3_serves_a_custom_types_definitions() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ty = create_schema(&app, 1, "cars").await;
    let ans = app.get(&t, &format!("/crm/v3/properties/{ty}")).await;
    assert_eq!(ans.status, StatusCode::OK, "{}", ans.text);
    let names: Vec<&str> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in [
        "hs_object_id",
        "hs_createdate",
        "hs_lastmodifieddate",
        "model",
        "vin",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let ans = app.get(&t, "/crm/v3/properties/p_cars/hs_object_id").await;
    assert_eq!(ans.status, StatusCode::OK, "{}", ans.text);
    assert_eq!(ans.body["groupName"], "cars_information", "{}", ans.text);
    assert_eq!(ans.body["hubspotDefined"], true, "{}", ans.text);

    // Create, update and archive a property of the custom type.
    let ans = app
        .post(
            &t,
            "/crm/v3/properties/p_cars",
            json!({"name": "color", "label": "Color", "type": "string",
                   "fieldType": "text", "groupName": "cars_information"}),
        )
        .await;
    assert_eq!(ans.status, StatusCode::CREATED, "{}", ans.text);
    let ans = app
        .patch(
            &t,
            &format!("/crm/v3/properties/{ty}/color"),
            json!({"label": "Colour"}),
        )
        .await;
    assert_eq!(ans.status, StatusCode::OK, "{}", ans.text);
    assert_eq!(ans.body["label"], "Colour");
    let id =
        crate::support::create_one(&app, &t, &ty, json!({"model": "T", "color": "black"})).await;
    let ans = app
        .get(&t, &format!("/crm/v3/objects/{ty}/{id}?properties=color"))
        .await;
    assert_eq!(prop(&ans.body, "color"), "black", "{}", ans.text);
    let ans = app
        .delete(&t, &format!("/crm/v3/properties/{ty}/color"))
        .await;
    assert_eq!(ans.status, StatusCode::NO_CONTENT, "{}", ans.text);
}

#[tokio::test]
async fn associations_to_custom_records_are_keyed_by_the_fully_qualified_name() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let created = create_schema_with_definitions(&app, 1, "cars").await;
    let ty = created.schema.object_type_id();
    let def = created
        .associations
        .iter()
        .find(|d| d.from_type == "0-1" || d.to_type == "0-1")
        .expect("definition with contacts");
    let (from_contact, to_contact) = if def.from_type == "0-1" {
        (def.type_id, def.inverse_type_id)
    } else {
        (def.inverse_type_id, def.type_id)
    };
    let car: i64 = crate::support::create_one(&app, &t, "p_cars", json!({"model": "T"}))
        .await
        .parse()
        .expect("id");
    let contact: i64 =
        crate::support::create_one(&app, &t, "contacts", json!({"email": "a@example.com"}))
            .await
            .parse()
            .expect("id");
    let written = app
        .store
        .put_associations(
            PortalId(1),
            vec![AssociationWrite {
                from_type: "0-1".into(),
                from_id: contact,
                to_type: ty.clone(),
                to_id: car,
                types: vec![LinkType {
                    category: USER_DEFINED.into(),
                    type_id: from_contact,
                    inverse_type_id: to_contact,
                    exclusive: false,
                    inverse_exclusive: false,
                }],
            }],
        )
        .await
        .expect("store");
    assert!(written.iter().all(Result::is_ok), "{written:?}");

    // However the type is written, the block is keyed by p{portal}_{name} (§40.2).
    for asked in [ty.as_str(), "p_cars", "p1_cars"] {
        let ans = app
            .get(
                &t,
                &format!("/crm/v3/objects/contacts/{contact}?associations={asked}"),
            )
            .await;
        assert_eq!(ans.status, StatusCode::OK, "{}", ans.text);
        let block = &ans.body["associations"];
        assert_eq!(
            block
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["p1_cars".to_owned()]),
            "{asked}: {}",
            ans.text
        );
        assert_eq!(
            block["p1_cars"]["results"],
            json!([{"id": car.to_string(), "type": "contact_to_cars"}]),
            "{}",
            ans.text
        );
    }
    let ans = app
        .get(
            &t,
            &format!("/crm/v3/objects/contacts/{contact}?associations=cars"),
        )
        .await;
    unknown(&ans, "cars");

    // Search's `associations.{type}` takes a custom type in any of its spellings.
    for spelled in [ty.as_str(), "p_cars"] {
        let ans = app
            .post(
                &t,
                "/crm/v3/objects/contacts/search",
                json!({"filterGroups": [{"filters": [{
                    "propertyName": format!("associations.{spelled}"),
                    "operator": "EQ", "value": car.to_string()}]}]}),
            )
            .await;
        assert_eq!(ans.status, StatusCode::OK, "{}", ans.text);
        assert_eq!(ans.body["total"], 1, "{spelled}: {}", ans.text);
        assert_eq!(ans.body["results"][0]["id"], contact.to_string());
    }
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": [{
                "propertyName": "associations.p_boats", "operator": "EQ", "value": "1"}]}]}),
        )
        .await;
    assert_error(
        &ans,
        400,
        Some("VALIDATION_ERROR"),
        "Unable to infer object type from: p_boats",
    );
    // Its read scope is needed, as for a standard type.
    let contacts_only = app.token(1, &["crm.objects.contacts.read"]).await;
    let ans = app
        .post(
            &contacts_only,
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": [{
                "propertyName": "associations.p_cars", "operator": "EQ", "value": car.to_string()}]}]}),
        )
        .await;
    assert_eq!(ans.status, StatusCode::FORBIDDEN, "{}", ans.text);
}

#[tokio::test]
async fn custom_types_have_no_pipelines() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ty = create_schema(&app, 1, "cars").await;
    let ans = app.get(&t, &format!("/crm/v3/pipelines/{ty}")).await;
    assert_eq!(ans.status, StatusCode::BAD_REQUEST, "{}", ans.text);
    assert_eq!(ans.body["category"], "VALIDATION_ERROR", "{}", ans.text);
}

/// The whole path through HTTP: a schema created with the schemas API is a type at once,
/// under the id and the fully qualified name its answer gives; archiving the schema (once
/// its records are archived) makes the type unknown again.
#[tokio::test]
async fn a_schema_made_through_the_api_is_a_type_until_it_is_archived() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let made = app
        .post(
            &t,
            "/crm-object-schemas/v3/schemas",
            json!({
                "name": "pets",
                "labels": {"singular": "Pet", "plural": "Pets"},
                "primaryDisplayProperty": "pet_name",
                "requiredProperties": ["pet_name"],
                "searchableProperties": ["pet_name"],
                "properties": [{"name": "pet_name", "label": "Name"}],
                "associatedObjects": ["CONTACT"]
            }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let ty = made.body["objectTypeId"].as_str().expect("id").to_owned();
    let fqn = made.body["fullyQualifiedName"]
        .as_str()
        .expect("name")
        .to_owned();
    assert_eq!(fqn, "p1_pets");

    let id = crate::support::create_one(&app, &t, &ty, json!({"pet_name": "Rex"})).await;
    let ans = app
        .get(
            &t,
            &format!("/crm/v3/objects/{fqn}/{id}?properties=pet_name"),
        )
        .await;
    assert_eq!(prop(&ans.body, "pet_name"), "Rex", "{}", ans.text);
    let ans = app
        .post(
            &t,
            &format!("/crm/v3/objects/{ty}/search"),
            json!({"query": "re"}),
        )
        .await;
    assert_eq!(ans.body["total"], 1, "{}", ans.text);

    let ans = app.delete(&t, &format!("/crm/v3/objects/{ty}/{id}")).await;
    assert_eq!(ans.status, StatusCode::NO_CONTENT, "{}", ans.text);
    let ans = app
        .delete(&t, &format!("/crm-object-schemas/v3/schemas/{ty}"))
        .await;
    assert_eq!(ans.status, StatusCode::NO_CONTENT, "{}", ans.text);
    for segment in [ty.as_str(), fqn.as_str(), "p_pets"] {
        let ans = app.get(&t, &format!("/crm/v3/objects/{segment}")).await;
        unknown(&ans, segment);
    }
}
