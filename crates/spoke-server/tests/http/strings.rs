//! What spoke stores for strings (docs/compatibility.md, "Strings"; issue 18, defects 1, 5
//! and 7): U+0000 is refused everywhere with a 400 that says where, emails refuse control
//! characters, and search compares text by the core's fold (trimmed, Unicode lowercase) on
//! every backend.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{Answer, TestApp};
use crate::support::*;

/// A 400 `VALIDATION_ERROR` naming U+0000 and where it was.
fn assert_nul_refused(ans: &Answer, where_: &str) {
    assert_eq!(ans.status, 400, "{where_}: {}", ans.text);
    assert_eq!(ans.body["category"], "VALIDATION_ERROR", "{}", ans.text);
    assert_wire_error(ans);
    let message = ans.body["message"].as_str().expect("message");
    assert!(
        message.contains("U+0000") && message.contains(where_),
        "the message names U+0000 and {where_}: {message}"
    );
}

async fn search(app: &TestApp, t: &str, body: Value) -> Answer {
    app.post(t, "/crm/v3/objects/contacts/search", body).await
}

/// The ids a 200 search answered, sorted.
fn found(ans: &Answer) -> Vec<String> {
    assert_eq!(ans.status, 200, "{}", ans.text);
    let mut ids = ids_of(ans.body["results"].as_array().expect("results"));
    ids.sort();
    ids
}

fn filter(name: &str, op: &str, value: &str) -> Value {
    json!({"filterGroups": [{"filters": [{"propertyName": name, "operator": op, "value": value}]}]})
}

fn filter_values(name: &str, op: &str, values: &[&str]) -> Value {
    json!({"filterGroups": [{"filters": [{"propertyName": name, "operator": op, "values": values}]}]})
}

#[tokio::test]
async fn nul_in_property_value_is_a_400_on_every_backend() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let existing = create_one(&app, &t, "contacts", json!({"email": "ok@x.test"})).await;

    // Property values, emails, upsert keys, search values and query, batch read keys.
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [{"properties": {"firstname": "a\u{0}b"}}]}),
            "inputs[0].properties.firstname",
        ),
        (
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [{"properties": {"email": "nul2\u{0}@x.test"}}]}),
            "inputs[0].properties.email",
        ),
        (
            "/crm/v3/objects/contacts",
            json!({"properties": {"lastname": "\u{0}"}}),
            "properties.lastname",
        ),
        (
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": "x\u{0}@x.test", "idProperty": "email", "properties": {}}]}),
            "inputs[0].id",
        ),
        (
            "/crm/v3/objects/contacts/batch/read",
            json!({"idProperty": "email", "inputs": [{"id": "ok@x.test\u{0}"}]}),
            "inputs[0].id",
        ),
        (
            "/crm/v3/objects/contacts/search",
            filter("firstname", "EQ", "a\u{0}"),
            "filterGroups[0].filters[0].value",
        ),
        (
            "/crm/v3/objects/contacts/search",
            filter_values("firstname", "IN", &["a", "\u{0}"]),
            "filterGroups[0].filters[0].values[1]",
        ),
        (
            "/crm/v3/objects/contacts/search",
            json!({"query": "a\u{0}"}),
            "the string at query",
        ),
        (
            "/crm/v3/properties/contacts",
            json!({"name": "p_nul", "label": "L\u{0}", "type": "string", "fieldType": "text", "groupName": "contactinformation"}),
            "the string at label",
        ),
        (
            "/crm/v4/associations/contacts/companies/labels",
            json!({"label": "x\u{0}y", "name": "x_y"}),
            "the string at label",
        ),
        (
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [{"properties": {"first\u{0}name": "a"}}]}),
            "a key in inputs[0].properties",
        ),
    ];
    for (path, body, where_) in cases {
        let ans = app.post(&t, path, body).await;
        assert_nul_refused(&ans, where_);
    }
    let ans = app
        .patch(
            &t,
            &format!("/crm/v3/objects/contacts/{existing}"),
            json!({"properties": {"firstname": "\u{0}"}}),
        )
        .await;
    assert_nul_refused(&ans, "properties.firstname");

    // Percent-encoded NUL in the path and in query parameters.
    for (path, where_) in [
        (
            format!("/crm/v3/objects/contacts/{existing}%00"),
            format!("the path segment \"{existing}%00\""),
        ),
        (
            "/crm/v3/objects/contacts/ok%40x.test%00?idProperty=email".to_owned(),
            "the path segment \"ok%40x.test%00\"".to_owned(),
        ),
        (
            "/crm/v3/objects/contacts/ok%40x.test?idProperty=email%00".to_owned(),
            "the query parameter idProperty".to_owned(),
        ),
        (
            "/crm/v3/objects/contacts?properties=firstname%00".to_owned(),
            "the query parameter properties".to_owned(),
        ),
    ] {
        let ans = app.get(&t, &path).await;
        assert_nul_refused(&ans, &where_);
    }

    // Nothing was written; an escaped backslash before `u0000` is ordinary text.
    assert_eq!(
        list_all_ids(&app, &t, "contacts", false).await,
        vec![existing.clone()]
    );
    let literal = r"a\u0000b";
    let id = create_one(&app, &t, "contacts", json!({"firstname": literal})).await;
    let ans = app
        .get(
            &t,
            &format!("/crm/v3/objects/contacts/{id}?properties=firstname"),
        )
        .await;
    assert_eq!(ans.body["properties"]["firstname"], literal, "{}", ans.text);
    let ans = app
        .call(
            Method::GET,
            Some(&t),
            &format!("/crm/v3/objects/contacts/{id}%2500"),
            None,
        )
        .await;
    assert_ne!(
        ans.status, 400,
        "%2500 is a literal %00, not NUL: {}",
        ans.text
    );
}

#[tokio::test]
async fn email_with_control_character_is_invalid() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for email in [
        "a\tb@x.test",
        "ab@x.test\n",
        "ab@x\r.test",
        "a\u{7f}b@x.test",
        "a\u{85}@x.test",
    ] {
        let ans = app
            .post(
                &t,
                "/crm/v3/objects/contacts/batch/create",
                json!({"inputs": [{"properties": {"email": email}}]}),
            )
            .await;
        assert_eq!(ans.status, 400, "{email:?}: {}", ans.text);
        assert_eq!(ans.body["category"], "VALIDATION_ERROR", "{}", ans.text);
        assert_eq!(
            ans.body["errors"][0]["code"], "INVALID_EMAIL",
            "{email:?}: {}",
            ans.text
        );
    }
    // U+0000 is refused before the email is looked at, as everywhere.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "nul2\u{0}@x.test"}}),
        )
        .await;
    assert_nul_refused(&ans, "properties.email");
    assert!(list_all_ids(&app, &t, "contacts", false).await.is_empty());
    // Surrounding spaces are still trimmed, as before.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "  Ada@X.test "}}),
        )
        .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    assert_eq!(ans.body["properties"]["email"], "ada@x.test");
}

#[tokio::test]
async fn search_eq_matches_non_ascii_capitals() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    // (stored, the same in another case)
    let names = [
        ("Élodie", "éLODIE"),
        ("Øyvind", "ØYVIND"),
        ("ΣΟΦΙΑ", "σοφια"),
        ("Οδυσσευς", "ΟΔΥΣΣΕΥΣ"),
        ("İlkay", "i\u{307}lkay"),
        ("Ａnna", "ａNNA"),
    ];
    let mut ids = Vec::new();
    for (stored, _) in names {
        ids.push(
            create_one(
                &app,
                &t,
                "contacts",
                json!({"firstname": stored, "lastname": "Zed"}),
            )
            .await,
        );
    }
    let other = create_one(&app, &t, "contacts", json!({"firstname": "Elodie"})).await;
    for (i, (stored, other_case)) in names.iter().enumerate() {
        let me = vec![ids[i].clone()];
        for value in [*stored, *other_case] {
            let eq = search(&app, &t, filter("firstname", "EQ", value)).await;
            assert_eq!(found(&eq), me, "EQ {value:?}");
            let within = json!({"filterGroups": [{"filters": [
                {"propertyName": "firstname", "operator": "GTE", "value": value},
                {"propertyName": "firstname", "operator": "LTE", "value": value},
            ]}]});
            assert_eq!(
                found(&search(&app, &t, within).await),
                me,
                "GTE/LTE {value:?}"
            );
            let r#in = search(
                &app,
                &t,
                filter_values("firstname", "IN", &["nobody", value]),
            )
            .await;
            assert_eq!(found(&r#in), me, "IN {value:?}");
            let token = search(&app, &t, filter("firstname", "CONTAINS_TOKEN", value)).await;
            assert_eq!(found(&token), me, "CONTAINS_TOKEN {value:?}");
            let query = search(&app, &t, json!({"query": value})).await;
            assert_eq!(found(&query), me, "query {value:?}");
            let neq = found(&search(&app, &t, filter("firstname", "NEQ", value)).await);
            assert!(
                !neq.contains(&ids[i]) && neq.contains(&other),
                "NEQ {value:?}: {neq:?}"
            );
            let not_in =
                found(&search(&app, &t, filter_values("firstname", "NOT_IN", &[value])).await);
            assert!(
                !not_in.contains(&ids[i]) && not_in.contains(&other),
                "NOT_IN {value:?}"
            );
        }
    }
    // Accents are not folded away: É is not E.
    let plain = search(&app, &t, filter("firstname", "EQ", "ELODIE")).await;
    assert_eq!(found(&plain), vec![other.clone()]);

    // Contact emails: the unique-value index serves EQ, but holds the email lowercased with
    // its final sigma (ς), which the fold writes σ: both must find it.
    let email = create_one(
        &app,
        &t,
        "contacts",
        json!({"email": "ΟΔΥΣΣΕΥΣ@Élodie.test"}),
    )
    .await;
    for value in [
        "οδυσσευς@élodie.test",
        "ΟΔΥΣΣΕΥΣ@ÉLODIE.TEST",
        "οδυσσευσ@élodie.test",
        " οδυσσευς@élodie.test\n",
    ] {
        let eq = search(&app, &t, filter("email", "EQ", value)).await;
        assert_eq!(found(&eq), vec![email.clone()], "email EQ {value:?}");
        let r#in = search(&app, &t, filter_values("email", "IN", &[value])).await;
        assert_eq!(found(&r#in), vec![email.clone()], "email IN {value:?}");
    }
    // Sorting by a text property orders the folded values bytewise on every backend.
    let sorted = search(
        &app,
        &t,
        json!({"filterGroups": [{"filters": [{"propertyName": "lastname", "operator": "EQ", "value": "zed"}]}],
               "sorts": [{"propertyName": "firstname", "direction": "ASCENDING"}], "limit": 100}),
    )
    .await;
    assert_eq!(sorted.status, 200, "{}", sorted.text);
    let order: Vec<&str> = sorted.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["properties"]["firstname"].as_str().expect("firstname"))
        .collect();
    // By folded bytes: i (U+0069), é, ø, ο, σ, ａ.
    assert_eq!(
        order,
        ["İlkay", "Élodie", "Øyvind", "Οδυσσευς", "ΣΟΦΙΑ", "Ａnna"]
    );
}

#[tokio::test]
async fn search_eq_matches_values_with_surrounding_whitespace() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let spaced = create_one(&app, &t, "contacts", json!({"firstname": "  Ada "})).await;
    let lines = create_one(&app, &t, "contacts", json!({"firstname": "\r\nAda\n"})).await;
    let ideographic = create_one(&app, &t, "contacts", json!({"firstname": "\u{3000}ada\t"})).await;
    let inner = create_one(&app, &t, "contacts", json!({"firstname": "A da"})).await;
    let all = {
        let mut v = vec![spaced.clone(), lines.clone(), ideographic.clone()];
        v.sort();
        v
    };
    for value in ["Ada", "ada", " ADA\n"] {
        assert_eq!(
            found(&search(&app, &t, filter("firstname", "EQ", value)).await),
            all,
            "EQ {value:?}"
        );
        assert_eq!(
            found(&search(&app, &t, filter_values("firstname", "IN", &[value])).await),
            all,
            "IN {value:?}"
        );
        assert_eq!(
            found(&search(&app, &t, filter("firstname", "NEQ", value)).await),
            vec![inner.clone()],
            "NEQ {value:?}"
        );
    }
    // Stored values keep their whitespace: only comparison folds.
    let ans = app
        .get(
            &t,
            &format!("/crm/v3/objects/contacts/{lines}?properties=firstname"),
        )
        .await;
    assert_eq!(ans.body["properties"]["firstname"], "\r\nAda\n");
}
