//! Properties v3: `/crm/v3/properties/{objectType}` definitions and groups.

use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::support::*;

fn find<'a>(results: &'a Value, name: &str) -> Option<&'a Value> {
    results
        .as_array()
        .expect("results")
        .iter()
        .find(|p| p["name"] == name)
}

fn assert_property_shape(p: &Value) {
    for key in [
        "name",
        "label",
        "type",
        "fieldType",
        "description",
        "groupName",
        "options",
        "displayOrder",
        "calculated",
        "externalOptions",
        "hasUniqueValue",
        "hidden",
        "hubspotDefined",
        "modificationMetadata",
        "formField",
    ] {
        assert!(p.get(key).is_some(), "property lacks {key}: {p}");
    }
    assert!(p["options"].is_array());
    for key in ["archivable", "readOnlyDefinition", "readOnlyValue"] {
        assert!(p["modificationMetadata"][key].is_boolean(), "{p}");
    }
}

#[tokio::test]
async fn list_and_read_builtin_properties() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app.get(&t, "/crm/v3/properties/contacts").await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    assert_json_content_type(&ans);
    assert!(ans.body.get("paging").is_none());
    let email = find(&ans.body["results"], "email").expect("email listed");
    assert_property_shape(email);
    assert_eq!(email["type"], "string");
    assert_eq!(email["hubspotDefined"], true);
    assert_eq!(email["modificationMetadata"]["readOnlyValue"], false);
    let id = find(&ans.body["results"], "hs_object_id").expect("hs_object_id listed");
    assert_eq!(id["modificationMetadata"]["readOnlyValue"], true);

    let one = app
        .get(&t, "/crm/v3/properties/contacts/lifecyclestage")
        .await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_property_shape(&one.body);
    assert_eq!(one.body["type"], "enumeration");
    assert!(one.body["options"]
        .as_array()
        .expect("options")
        .iter()
        .any(|o| o["value"] == "lead"));

    let by_id = app.get(&t, "/crm/v3/properties/0-1/email").await;
    assert_eq!(by_id.status, 200);
    let v2026 = app.get(&t, "/crm/properties/2026-03/contacts/email").await;
    assert_eq!(v2026.status, 200, "{}", v2026.text);

    let missing = app
        .get(&t, "/crm/v3/properties/contacts/no_such_property")
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_wire_error(&missing);
}

#[tokio::test]
async fn create_property_is_201_and_usable_at_once() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    create_group(&app, &t, "deals", "custom_group").await;
    let ans = app
        .post(
            &t,
            "/crm/v3/properties/deals",
            json!({
                "name": "favorite_fruit", "label": "Favorite fruit", "type": "enumeration",
                "fieldType": "select", "groupName": "custom_group",
                "options": [{"label": "Apple", "value": "apple", "displayOrder": 0},
                            {"label": "Pear", "value": "pear", "displayOrder": 1}]
            }),
        )
        .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    assert_json_content_type(&ans);
    let p = &ans.body;
    assert_property_shape(p);
    assert_eq!(p["name"], "favorite_fruit");
    assert_eq!(p["label"], "Favorite fruit");
    assert_eq!(p["type"], "enumeration");
    assert_eq!(p["fieldType"], "select");
    assert_eq!(p["groupName"], "custom_group");
    assert_eq!(p["hubspotDefined"], false);
    assert_eq!(p["hasUniqueValue"], false);
    assert_eq!(p["archived"], false);
    assert!(p["createdAt"].as_str().is_some_and(is_iso_millis), "{p}");
    assert_eq!(p["options"][1]["value"], "pear");
    assert_eq!(p["modificationMetadata"]["readOnlyValue"], false);
    assert_eq!(p["modificationMetadata"]["archivable"], true);

    let read = app.get(&t, "/crm/v3/properties/deals/favorite_fruit").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["options"], p["options"]);
    let listed = app.get(&t, "/crm/v3/properties/deals").await;
    assert!(find(&listed.body["results"], "favorite_fruit").is_some());

    let ok = app
        .post(
            &t,
            "/crm/v3/objects/deals",
            json!({"properties": {"favorite_fruit": "pear"}}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(ok.body["properties"]["favorite_fruit"], "pear");
    let bad = app
        .post(
            &t,
            "/crm/v3/objects/deals",
            json!({"properties": {"favorite_fruit": "kiwi"}}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["errors"][0]["code"], "INVALID_OPTION");
}

#[tokio::test]
async fn create_property_rejections() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    must_create_property(
        &app,
        &t,
        "contacts",
        json!({"name": "nickname", "type": "string", "fieldType": "text"}),
    )
    .await;

    let dup = create_property(
        &app,
        &t,
        "contacts",
        json!({"name": "nickname", "type": "string", "fieldType": "text"}),
    )
    .await;
    assert_eq!(dup.status, 409, "{}", dup.text);
    assert_eq!(dup.body["category"], "CONFLICT");
    assert_wire_error(&dup);

    let builtin = create_property(
        &app,
        &t,
        "contacts",
        json!({"name": "email", "type": "string", "fieldType": "text"}),
    )
    .await;
    assert_eq!(builtin.status, 409, "{}", builtin.text);

    let missing = app
        .post(
            &t,
            "/crm/v3/properties/contacts",
            json!({"name": "x_only_name"}),
        )
        .await;
    assert_eq!(missing.status, 400, "{}", missing.text);
    assert_eq!(missing.body["category"], "VALIDATION_ERROR");

    let bad_field = create_property(
        &app,
        &t,
        "contacts",
        json!({"name": "bad_field", "type": "number", "fieldType": "select"}),
    )
    .await;
    assert_eq!(bad_field.status, 400, "{}", bad_field.text);

    let bad_type = create_property(
        &app,
        &t,
        "contacts",
        json!({"name": "bad_type", "type": "blob", "fieldType": "text"}),
    )
    .await;
    assert_eq!(bad_type.status, 400, "{}", bad_type.text);

    let no_group = app
        .post(
            &t,
            "/crm/v3/properties/contacts",
            json!({"name": "orphan", "label": "Orphan", "type": "string", "fieldType": "text", "groupName": "no_such_group"}),
        )
        .await;
    assert_eq!(no_group.status, 400, "{}", no_group.text);
    assert_eq!(no_group.body["category"], "VALIDATION_ERROR");

    let listed = app.get(&t, "/crm/v3/properties/contacts").await;
    for name in ["x_only_name", "bad_field", "bad_type", "orphan"] {
        assert!(
            find(&listed.body["results"], name).is_none(),
            "{name} was created"
        );
    }
}

#[tokio::test]
async fn update_property() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    must_create_property(
        &app,
        &t,
        "tickets",
        json!({"name": "severity", "type": "enumeration", "fieldType": "radio",
               "options": [{"label": "Low", "value": "low"}]}),
    )
    .await;
    let ans = app
        .patch(
            &t,
            "/crm/v3/properties/tickets/severity",
            json!({"label": "Severity level",
                   "options": [{"label": "Low", "value": "low"}, {"label": "High", "value": "high"}]}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    assert_eq!(ans.body["label"], "Severity level");
    assert_eq!(ans.body["options"].as_array().map(Vec::len), Some(2));
    let read = app.get(&t, "/crm/v3/properties/tickets/severity").await;
    assert_eq!(read.body["label"], "Severity level");
    let rec = app
        .post(
            &t,
            "/crm/v3/objects/tickets",
            json!({"properties": {"severity": "high"}}),
        )
        .await;
    assert_eq!(rec.status, 201, "new option is usable: {}", rec.text);

    let builtin = app
        .patch(
            &t,
            "/crm/v3/properties/tickets/subject",
            json!({"label": "Mine"}),
        )
        .await;
    assert_eq!(builtin.status, 400, "{}", builtin.text);
    assert_wire_error(&builtin);
    let unknown = app
        .patch(&t, "/crm/v3/properties/tickets/nope", json!({"label": "x"}))
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
}

#[tokio::test]
async fn archive_property() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    must_create_property(
        &app,
        &t,
        "companies",
        json!({"name": "tier", "type": "string", "fieldType": "text"}),
    )
    .await;
    let del = app.delete(&t, "/crm/v3/properties/companies/tier").await;
    assert_eq!(del.status, 204, "{}", del.text);
    assert!(del.text.is_empty());

    let read = app.get(&t, "/crm/v3/properties/companies/tier").await;
    assert_eq!(read.status, 404, "{}", read.text);
    let archived = app
        .get(&t, "/crm/v3/properties/companies/tier?archived=true")
        .await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    assert_eq!(archived.body["archived"], true);
    assert!(archived.body["archivedAt"]
        .as_str()
        .is_some_and(is_iso_millis));
    let listed = app
        .get(&t, "/crm/v3/properties/companies?archived=true")
        .await;
    assert!(find(&listed.body["results"], "tier").is_some());
    let live = app.get(&t, "/crm/v3/properties/companies").await;
    assert!(find(&live.body["results"], "tier").is_none());

    let write = app
        .post(
            &t,
            "/crm/v3/objects/companies",
            json!({"properties": {"tier": "gold"}}),
        )
        .await;
    assert_eq!(write.status, 400);
    assert_eq!(write.body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");

    let builtin = app.delete(&t, "/crm/v3/properties/companies/name").await;
    assert_eq!(builtin.status, 400, "{}", builtin.text);
    let recreate = create_property(
        &app,
        &t,
        "companies",
        json!({"name": "tier", "type": "string", "fieldType": "text"}),
    )
    .await;
    assert_eq!(
        recreate.status, 201,
        "an archived name can be reused: {}",
        recreate.text
    );
}

#[tokio::test]
async fn batch_create_read_archive_properties() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    create_group(&app, &t, "products", "extra").await;
    let def = |name: &str| json!({"name": name, "label": name, "type": "number", "fieldType": "number", "groupName": "extra"});
    let ans = app
        .post(
            &t,
            "/crm/v3/properties/products/batch/create",
            json!({"inputs": [def("weight"), def("height")]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 201);
    let mut names: Vec<&str> = results
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["height", "weight"]);

    let dup = app
        .post(
            &t,
            "/crm/v3/properties/products/batch/create",
            json!({"inputs": [def("weight"), def("depth")]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&dup);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["name"], "depth");
    assert_eq!(errors.len(), 1);

    let read = app
        .post(
            &t,
            "/crm/v3/properties/products/batch/read",
            json!({"inputs": [{"name": "weight"}, {"name": "price"}]}),
        )
        .await;
    assert_eq!(assert_batch_ok(&read, 200).len(), 2);
    let partial = app
        .post(
            &t,
            "/crm/v3/properties/products/batch/read",
            json!({"inputs": [{"name": "weight"}, {"name": "ghost"}]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&partial);
    assert_eq!(results.len(), 1);
    assert_eq!(errors[0]["category"], "OBJECT_NOT_FOUND");

    let archive = app
        .post(
            &t,
            "/crm/v3/properties/products/batch/archive",
            json!({"inputs": [{"name": "weight"}, {"name": "height"}]}),
        )
        .await;
    assert_eq!(archive.status, 204, "{}", archive.text);
    let after = app.get(&t, "/crm/v3/properties/products").await;
    assert!(find(&after.body["results"], "weight").is_none());
    assert!(find(&after.body["results"], "height").is_none());
    assert!(find(&after.body["results"], "depth").is_some());
}

#[tokio::test]
async fn property_groups_crud() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let list = app.get(&t, "/crm/v3/properties/contacts/groups").await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(
        find(&list.body["results"], "contactinformation").is_some(),
        "{}",
        list.text
    );

    let created = app
        .post(
            &t,
            "/crm/v3/properties/contacts/groups",
            json!({"name": "mygroup", "label": "My group", "displayOrder": 3}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_json_content_type(&created);
    assert_eq!(
        created.body,
        json!({"name": "mygroup", "label": "My group", "displayOrder": 3, "archived": false})
    );
    let dup = app
        .post(
            &t,
            "/crm/v3/properties/contacts/groups",
            json!({"name": "mygroup", "label": "Again"}),
        )
        .await;
    assert_eq!(dup.status, 409, "{}", dup.text);

    let read = app
        .get(&t, "/crm/v3/properties/contacts/groups/mygroup")
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["label"], "My group");

    let upd = app
        .patch(
            &t,
            "/crm/v3/properties/contacts/groups/mygroup",
            json!({"label": "Renamed"}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    assert_eq!(upd.body["label"], "Renamed");
    assert_eq!(upd.body["displayOrder"], 3);

    let del = app
        .delete(&t, "/crm/v3/properties/contacts/groups/mygroup")
        .await;
    assert_eq!(del.status, 204, "{}", del.text);
    let gone = app
        .get(&t, "/crm/v3/properties/contacts/groups/mygroup")
        .await;
    assert_eq!(gone.status, 404, "{}", gone.text);
    assert_wire_error(&gone);
    let listed = app.get(&t, "/crm/v3/properties/contacts/groups").await;
    assert!(find(&listed.body["results"], "mygroup").is_none());
}

#[tokio::test]
async fn unique_value_properties() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let created = create_property(
        &app,
        &t,
        "deals",
        json!({"name": "erp_id", "type": "string", "fieldType": "text", "hasUniqueValue": true}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["hasUniqueValue"], true);

    let id = create_one(
        &app,
        &t,
        "deals",
        json!({"erp_id": "ERP-1", "dealname": "A"}),
    )
    .await;
    let clash = app
        .post(
            &t,
            "/crm/v3/objects/deals",
            json!({"properties": {"erp_id": "ERP-1"}}),
        )
        .await;
    assert_error(
        &clash,
        409,
        Some("CONFLICT"),
        &format!(
            "A deal with erp_id \"ERP-1\" already exists; erp_id has unique values. Existing ID: {id}"
        ),
    );

    let read = app
        .post(
            &t,
            "/crm/v3/objects/deals/batch/read",
            json!({"inputs": [{"id": "ERP-1"}], "idProperty": "erp_id", "properties": ["dealname"]}),
        )
        .await;
    let r = &assert_batch_ok(&read, 200)[0];
    assert_eq!(r["id"], json!(id));
    // Custom unique values are matched case-sensitively.
    let other_case = app
        .post(
            &t,
            "/crm/v3/objects/deals",
            json!({"properties": {"erp_id": "erp-1"}}),
        )
        .await;
    assert_eq!(other_case.status, 201, "{}", other_case.text);
    let removed = app
        .delete(
            &t,
            &format!(
                "/crm/v3/objects/deals/{}",
                other_case.body["id"].as_str().expect("id")
            ),
        )
        .await;
    assert_eq!(removed.status, 204);
    assert_eq!(prop(r, "dealname"), "A");
    assert_eq!(list_all_ids(&app, &t, "deals", false).await, vec![id]);

    let bool_unique = create_property(
        &app,
        &t,
        "deals",
        json!({"name": "flag_unique", "type": "bool", "fieldType": "booleancheckbox", "hasUniqueValue": true}),
    )
    .await;
    assert_eq!(bool_unique.status, 400, "{}", bool_unique.text);
}

#[tokio::test]
async fn properties_are_per_portal() {
    let app = TestApp::spawn().await;
    let t1 = app.token(1, &["all"]).await;
    let t2 = app.token(2, &["all"]).await;
    must_create_property(
        &app,
        &t1,
        "contacts",
        json!({"name": "secret_field", "type": "string", "fieldType": "text"}),
    )
    .await;
    let other = app
        .get(&t2, "/crm/v3/properties/contacts/secret_field")
        .await;
    assert_eq!(other.status, 404, "{}", other.text);
    let listed = app.get(&t2, "/crm/v3/properties/contacts").await;
    assert!(find(&listed.body["results"], "secret_field").is_none());
}
