//! Property value rules (hubspot-behavior.md §5): strings on the wire, number, bool, date,
//! datetime, enumerations, string length, clearing, read-only and unknown properties.

use serde_json::{json, Value};

use crate::harness::{Answer, TestApp};
use crate::support::*;

const PREFIX: &str = "Property values were not valid: ";

async fn app_with_props() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    create_seed_properties(&app, &t, "companies").await;
    must_create_property(
        &app,
        &t,
        "companies",
        json!({"name": "property_datetime", "type": "datetime", "fieldType": "date"}),
    )
    .await;
    (app, t)
}

async fn create(app: &TestApp, t: &str, properties: Value) -> Answer {
    app.post(
        t,
        "/crm/v3/objects/companies",
        json!({ "properties": properties }),
    )
    .await
}

/// Writes `value` to `name` and returns the stored wire value (read back with GET).
async fn round_trip(app: &TestApp, t: &str, name: &str, value: Value) -> Value {
    let ans = create(app, t, json!({ name: value })).await;
    assert_eq!(ans.status, 201, "{name}={value}: {}", ans.text);
    let id = ans.body["id"].as_str().expect("id");
    let read = app
        .get(
            t,
            &format!("/crm/v3/objects/companies/{id}?properties={name}"),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(
        read.body["properties"][name], ans.body["properties"][name],
        "write response and read agree for {name}"
    );
    read.body["properties"][name].clone()
}

/// Asserts a single-value rejection: 400 VALIDATION_ERROR with one error of `code` for `name`,
/// and the message list mirroring it. Returns the error's message.
fn assert_rejected(ans: &Answer, name: &str, code: &str) -> String {
    assert_eq!(ans.status, 400, "{name}: {}", ans.text);
    assert_eq!(ans.body["category"], "VALIDATION_ERROR", "{}", ans.text);
    assert_wire_error(ans);
    let errors = ans.body["errors"].as_array().expect("errors[]");
    assert_eq!(errors.len(), 1, "{}", ans.text);
    assert_eq!(errors[0]["code"], code, "{}", ans.text);
    assert_eq!(errors[0]["context"]["propertyName"], json!([name]));
    let message = ans.body["message"].as_str().expect("message");
    let list = message
        .strip_prefix(PREFIX)
        .unwrap_or_else(|| panic!("message prefix: {message}"));
    let items: Value = serde_json::from_str(list).expect("message carries a JSON array");
    assert_eq!(
        items,
        json!([{"isValid": false, "message": errors[0]["message"], "error": code, "name": name}])
    );
    errors[0]["message"].as_str().expect("message").to_owned()
}

#[tokio::test]
async fn seed_doc_values_round_trip_as_strings() {
    let (app, t) = app_with_props().await;
    let ans = create(&app, &t, seed_values()).await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    for name in SEED_NAMES {
        assert_eq!(ans.body["properties"][name], seed_values()[name], "{name}");
    }
}

#[tokio::test]
async fn numbers() {
    let (app, t) = app_with_props().await;
    assert_eq!(
        round_trip(&app, &t, "property_number", json!("17")).await,
        "17"
    );
    assert_eq!(
        round_trip(&app, &t, "property_number", json!("12.5")).await,
        "12.5"
    );
    assert_eq!(
        round_trip(&app, &t, "property_number", json!("-3")).await,
        "-3"
    );
    // JSON numbers are coerced to strings.
    assert_eq!(
        round_trip(&app, &t, "property_number", json!(17)).await,
        "17"
    );
    let bad = create(&app, &t, json!({"property_number": "abc"})).await;
    assert_rejected(&bad, "property_number", "INVALID_INTEGER");
    let spaced = create(&app, &t, json!({"property_number": " 17"})).await;
    assert_rejected(&spaced, "property_number", "LEADING_TRAILING_WHITESPACE");
}

#[tokio::test]
async fn booleans() {
    let (app, t) = app_with_props().await;
    assert_eq!(
        round_trip(&app, &t, "property_checkbox", json!("true")).await,
        "true"
    );
    assert_eq!(
        round_trip(&app, &t, "property_checkbox", json!("false")).await,
        "false"
    );
    assert_eq!(
        round_trip(&app, &t, "property_checkbox", json!(true)).await,
        "true"
    );
    assert_eq!(
        round_trip(&app, &t, "property_checkbox", json!("TRUE")).await,
        "true"
    );
    let bad = create(&app, &t, json!({"property_checkbox": "yes"})).await;
    assert_rejected(&bad, "property_checkbox", "INVALID_BOOLEAN");
}

#[tokio::test]
async fn dates_take_midnight_ms_or_ymd_and_return_ms() {
    let (app, t) = app_with_props().await;
    assert_eq!(
        round_trip(&app, &t, "property_date", json!("1572480000000")).await,
        "1572480000000"
    );
    assert_eq!(
        round_trip(&app, &t, "property_date", json!("2019-10-31")).await,
        "1572480000000"
    );
    let bad = create(&app, &t, json!({"property_date": "1606768561954"})).await;
    let msg = assert_rejected(&bad, "property_date", "INVALID_DATE");
    assert_eq!(msg, "1606768561954 is at 20:36:1.954 UTC, not midnight!");
    let garbage = create(&app, &t, json!({"property_date": "31/10/2019"})).await;
    assert_rejected(&garbage, "property_date", "INVALID_DATE");
}

#[tokio::test]
async fn datetimes_take_iso_or_ms_and_return_iso() {
    let (app, t) = app_with_props().await;
    assert_eq!(
        round_trip(&app, &t, "property_datetime", json!("1572480000123")).await,
        "2019-10-31T00:00:00.123Z"
    );
    assert_eq!(
        round_trip(
            &app,
            &t,
            "property_datetime",
            json!("2019-10-31T10:20:30.456Z")
        )
        .await,
        "2019-10-31T10:20:30.456Z"
    );
    assert_eq!(
        round_trip(&app, &t, "property_datetime", json!("2019-10-31T10:20:30Z")).await,
        "2019-10-31T10:20:30Z"
    );
    assert_eq!(
        round_trip(
            &app,
            &t,
            "property_datetime",
            json!("2019-10-31T12:00:00+02:00")
        )
        .await,
        "2019-10-31T10:00:00Z"
    );
    let bad = create(&app, &t, json!({"property_datetime": "yesterday"})).await;
    assert_rejected(&bad, "property_datetime", "INVALID_DATETIME");
}

#[tokio::test]
async fn enumerations_single_and_multi() {
    let (app, t) = app_with_props().await;
    assert_eq!(
        round_trip(&app, &t, "property_dropdown", json!("choice_b")).await,
        "choice_b"
    );
    assert_eq!(
        round_trip(&app, &t, "property_radio", json!("option_2")).await,
        "option_2"
    );
    assert_eq!(
        round_trip(
            &app,
            &t,
            "property_multiple_checkboxes",
            json!("chocolate;strawberry")
        )
        .await,
        "chocolate;strawberry"
    );
    assert_eq!(
        round_trip(&app, &t, "property_multiple_checkboxes", json!("vanilla")).await,
        "vanilla"
    );
    let bad = create(&app, &t, json!({"property_dropdown": "choice_z"})).await;
    let msg = assert_rejected(&bad, "property_dropdown", "INVALID_OPTION");
    assert!(
        msg.starts_with("choice_z was not one of the allowed options"),
        "{msg}"
    );
    let case = create(&app, &t, json!({"property_radio": "OPTION_1"})).await;
    assert_rejected(&case, "property_radio", "INVALID_OPTION");
    let multi = create(
        &app,
        &t,
        json!({"property_multiple_checkboxes": "chocolate;mint"}),
    )
    .await;
    assert_rejected(&multi, "property_multiple_checkboxes", "INVALID_OPTION");
}

#[tokio::test]
async fn strings_up_to_65536_characters() {
    let (app, t) = app_with_props().await;
    let max = "é".repeat(65_536);
    assert_eq!(
        round_trip(&app, &t, "property_string", json!(max)).await,
        json!(max)
    );
    let over = create(&app, &t, json!({"property_string": "x".repeat(65_537)})).await;
    assert_rejected(&over, "property_string", "INVALID_STRING_LENGTH");
    // Strings keep their spaces.
    assert_eq!(
        round_trip(&app, &t, "property_string", json!(" padded ")).await,
        " padded "
    );
}

#[tokio::test]
async fn empty_string_clears_every_type() {
    let (app, t) = app_with_props().await;
    let ans = create(&app, &t, seed_values()).await;
    let id = ans.body["id"].as_str().expect("id").to_owned();
    let clear: serde_json::Map<String, Value> = SEED_NAMES
        .iter()
        .map(|n| ((*n).to_owned(), json!("")))
        .collect();
    let upd = app
        .patch(
            &t,
            &format!("/crm/v3/objects/companies/{id}"),
            json!({"properties": clear}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    for name in SEED_NAMES {
        assert!(
            upd.body["properties"].get(name).is_none(),
            "{name} cleared: {}",
            upd.text
        );
    }
    let read = app
        .get(
            &t,
            &format!(
                "/crm/v3/objects/companies/{id}?properties={}",
                SEED_NAMES.join(",")
            ),
        )
        .await;
    for name in SEED_NAMES {
        assert_eq!(read.body["properties"][name], Value::Null, "{name}");
    }
}

#[tokio::test]
async fn read_only_properties_are_rejected() {
    let (app, t) = app_with_props().await;
    let ans = create(&app, &t, json!({"hs_object_id": "5"})).await;
    let msg = assert_rejected(&ans, "hs_object_id", "READ_ONLY_VALUE");
    assert_eq!(
        msg,
        "\"hs_object_id\" is a calculated property; its value cannot be set."
    );
    let modified = create(
        &app,
        &t,
        json!({"hs_lastmodifieddate": "2020-01-01T00:00:00Z"}),
    )
    .await;
    assert_rejected(&modified, "hs_lastmodifieddate", "READ_ONLY_VALUE");
    assert!(list_all_ids(&app, &t, "companies", false).await.is_empty());
}

#[tokio::test]
async fn unknown_property_message_is_exact() {
    let (app, t) = app_with_props().await;
    let ans = create(&app, &t, json!({"testproperty": "x"})).await;
    let msg = assert_rejected(&ans, "testproperty", "PROPERTY_DOESNT_EXIST");
    assert_eq!(msg, "Property \"testproperty\" does not exist");
}

#[tokio::test]
async fn contact_email_is_lowercased_and_validated() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "MiXeD@Example.COM"}}),
        )
        .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    assert_eq!(ans.body["properties"]["email"], "mixed@example.com");
    let bad = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "not-an-email"}}),
        )
        .await;
    assert_rejected(&bad, "email", "INVALID_EMAIL");
}

#[tokio::test]
async fn every_failing_value_of_a_batch_is_listed_in_order() {
    let (app, t) = app_with_props().await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/companies/batch/create",
            json!({"inputs": [
                {"properties": {"property_number": "x", "property_dropdown": "nope"}},
                {"properties": {"name": "fine"}},
                {"properties": {"property_number": "y"}}
            ]}),
        )
        .await;
    assert_eq!(ans.status, 400, "{}", ans.text);
    let errors = ans.body["errors"].as_array().expect("errors");
    let names: Vec<&str> = errors
        .iter()
        .map(|e| e["context"]["propertyName"][0].as_str().expect("name"))
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["property_dropdown", "property_number", "property_number"]
    );
    assert_eq!(names[2], "property_number", "inputs in order");
    let list: Value = serde_json::from_str(
        ans.body["message"]
            .as_str()
            .and_then(|m| m.strip_prefix(PREFIX))
            .expect("prefix"),
    )
    .expect("json list");
    let listed: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|i| i["name"].as_str().expect("name"))
        .collect();
    assert_eq!(listed, names);
    assert!(list_all_ids(&app, &t, "companies", false).await.is_empty());
}

#[tokio::test]
async fn non_scalar_values_are_rejected() {
    let (app, t) = app_with_props().await;
    for v in [json!({"a": 1}), json!(["a"])] {
        let ans = create(&app, &t, json!({"property_string": v})).await;
        assert_rejected(&ans, "property_string", "INVALID_PROPERTY_VALUE");
    }
}

#[tokio::test]
async fn null_clears_like_empty_string() {
    let (app, t) = app_with_props().await;
    let ans = create(
        &app,
        &t,
        json!({"property_string": "x", "property_number": "1"}),
    )
    .await;
    let id = ans.body["id"].as_str().expect("id").to_owned();
    let upd = app
        .patch(
            &t,
            &format!("/crm/v3/objects/companies/{id}"),
            json!({"properties": {"property_string": null}}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    assert!(
        upd.body["properties"].get("property_string").is_none(),
        "{}",
        upd.text
    );
    assert_eq!(upd.body["properties"]["property_number"], "1");
}

#[tokio::test]
async fn multi_select_leading_semicolon_is_dropped() {
    let (app, t) = app_with_props().await;
    assert_eq!(
        round_trip(
            &app,
            &t,
            "property_multiple_checkboxes",
            json!(";vanilla;chocolate")
        )
        .await,
        "vanilla;chocolate"
    );
}

#[tokio::test]
async fn custom_properties_belong_to_their_portal() {
    let (app, _t1) = app_with_props().await;
    let t2 = app.token(2, &["all"]).await;
    let ans = app
        .post(
            &t2,
            "/crm/v3/objects/companies",
            json!({"properties": {"property_string": "x"}}),
        )
        .await;
    assert_rejected(&ans, "property_string", "PROPERTY_DOESNT_EXIST");
}
