//! `GET /crm/v3/objects/{type}`: paging, properties, history, archived (hubspot-behavior.md §7.2).

use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::support::*;

async fn seed_companies(app: &TestApp, t: &str, n: usize) -> Vec<String> {
    let inputs: Vec<Value> = (0..n)
        .map(|i| json!({"properties": {"name": format!("c{i:03}"), "city": "Oslo"}}))
        .collect();
    let ans = app
        .post(
            t,
            "/crm/v3/objects/companies/batch/create",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let mut ids: Vec<i64> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("id").parse().expect("num"))
        .collect();
    ids.sort_unstable();
    ids.into_iter().map(|i| i.to_string()).collect()
}

fn page_ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn list_defaults_to_10_ordered_by_id_with_paging() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = seed_companies(&app, &t, 25).await;

    let first = app.get(&t, "/crm/v3/objects/companies").await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_json_content_type(&first);
    assert_eq!(page_ids(&first.body), ids[..10]);
    assert_eq!(keys_at(&first.text, ""), ["results", "paging"]);
    let next = &first.body["paging"]["next"];
    let after = next["after"].as_str().expect("after is a string");
    assert!(!after.is_empty());
    let link = next["link"].as_str().expect("link");
    assert!(link.contains(&format!("after={after}")), "{link}");
    assert!(link.contains("/crm/v3/objects/companies"), "{link}");
    assert!(first.body["paging"].get("prev").is_none_or(Value::is_null));
    for (i, r) in first.body["results"]
        .as_array()
        .expect("r")
        .iter()
        .enumerate()
    {
        assert_record_shape(&first.text, &format!("results/{i}"), r);
        assert_eq!(
            prop_names(r),
            [
                "createdate",
                "domain",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name"
            ]
        );
    }

    let second = app
        .get(&t, &format!("/crm/v3/objects/companies?after={after}"))
        .await;
    assert_eq!(page_ids(&second.body), ids[10..20]);
    let after2 = second.body["paging"]["next"]["after"]
        .as_str()
        .expect("after");
    let last = app
        .get(&t, &format!("/crm/v3/objects/companies?after={after2}"))
        .await;
    assert_eq!(page_ids(&last.body), ids[20..]);
    assert!(
        last.body.get("paging").is_none(),
        "no paging on the last page: {}",
        last.text
    );
}

#[tokio::test]
async fn list_exact_page_boundary_has_no_paging() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = seed_companies(&app, &t, 4).await;
    let ans = app.get(&t, "/crm/v3/objects/companies?limit=4").await;
    assert_eq!(page_ids(&ans.body), ids);
    assert!(ans.body.get("paging").is_none(), "{}", ans.text);

    let empty = app.get(&t, "/crm/v3/objects/deals").await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.text, r#"{"results":[]}"#);
}

#[tokio::test]
async fn list_next_link_carries_every_query_parameter() {
    // dlt pages by `paging.next.link` alone: page 2 must ask what page 1 asked.
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = seed_companies(&app, &t, 5).await;
    for prefix in ["/crm/v3/objects", "/crm/objects/2026-03"] {
        let first = app
            .get(
                &t,
                &format!("{prefix}/companies?limit=2&properties=name%2Cphone&archived=false&foo=bar&after="),
            )
            .await;
        assert_eq!(first.status, 200, "{}", first.text);
        let next = &first.body["paging"]["next"];
        let after = next["after"].as_str().expect("after");
        let link = next["link"].as_str().expect("link");
        let expected = format!(
            "{prefix}/companies?limit=2&properties=name%2Cphone&archived=false&foo=bar&after={after}"
        );
        assert!(link.starts_with("http://"), "{link}");
        assert!(
            link.ends_with(&expected),
            "{link} should end with {expected}"
        );
        let path = link
            .split_once("//")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]));
        let second = app.get(&t, path.expect("a path")).await;
        assert_eq!(second.status, 200, "{}", second.text);
        assert_eq!(page_ids(&second.body), ids[2..4]);
        let props = second.body["results"][0]["properties"]
            .as_object()
            .expect("properties");
        // `domain` is in the default set; asked for name and phone, page 2 has phone only.
        assert!(props.contains_key("phone"), "{}", second.text);
        assert!(!props.contains_key("domain"), "{}", second.text);
    }
}

#[tokio::test]
async fn list_after_that_is_not_an_id_is_a_400() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    // The smallest i64 parses, and the cursor's `after - 1` once overflowed on it.
    for after in ["x", "-9223372036854775808", "9223372036854775808"] {
        let ans = app
            .get(&t, &format!("/crm/v3/objects/companies?after={after}"))
            .await;
        assert_error(
            &ans,
            400,
            Some("VALIDATION_ERROR"),
            &format!("Invalid value for query parameter after: {after}"),
        );
    }
}

#[tokio::test]
async fn list_limit_max_is_100() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    seed_companies(&app, &t, 100).await;
    seed_companies(&app, &t, 5).await;
    let ans = app.get(&t, "/crm/v3/objects/companies?limit=100").await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    assert_eq!(ans.body["results"].as_array().map(Vec::len), Some(100));
    assert!(ans.body["paging"]["next"]["after"].is_string());
    let big = app.get(&t, "/crm/v3/objects/companies?limit=500").await;
    assert_eq!(big.status, 200, "a limit over 100 is clamped: {}", big.text);
    assert_eq!(big.body["results"].as_array().map(Vec::len), Some(100));
}

#[tokio::test]
async fn list_properties_repeated_or_comma_separated() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    seed_companies(&app, &t, 2).await;
    let expected = [
        "city",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        "name",
    ];
    for q in [
        "properties=city&properties=name",
        "properties=city,name",
        "properties=city%2Cname",
        "properties=city,name,not_a_property",
    ] {
        let ans = app.get(&t, &format!("/crm/v3/objects/companies?{q}")).await;
        assert_eq!(ans.status, 200, "{q}: {}", ans.text);
        for r in ans.body["results"].as_array().expect("results") {
            assert_eq!(prop_names(r), expected, "{q}");
            assert_eq!(prop(r, "city"), "Oslo");
        }
    }
}

#[tokio::test]
async fn list_with_history_caps_pages_at_50() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    seed_companies(&app, &t, 60).await;
    let ans = app
        .get(
            &t,
            "/crm/v3/objects/companies?limit=100&propertiesWithHistory=name,city",
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let results = ans.body["results"].as_array().expect("results");
    assert_eq!(results.len(), 50);
    assert!(ans.body["paging"]["next"]["after"].is_string());
    let h = &results[0]["propertiesWithHistory"]["name"];
    assert_eq!(h[0]["value"], "c000");
    assert_eq!(h[0]["sourceType"], "API");
    assert_eq!(
        results[0]["propertiesWithHistory"]["city"][0]["value"],
        "Oslo"
    );
    let repeated = app
        .get(&t, "/crm/v3/objects/companies?limit=3&propertiesWithHistory=name&propertiesWithHistory=city")
        .await;
    assert_eq!(
        repeated.body["results"][0]["propertiesWithHistory"],
        results[0]["propertiesWithHistory"]
    );
    assert_record_shape(&ans.text, "results/0", &results[0]);
}

#[tokio::test]
async fn list_archived_lists_only_archived_records() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = seed_companies(&app, &t, 3).await;
    let del = app
        .delete(&t, &format!("/crm/v3/objects/companies/{}", ids[1]))
        .await;
    assert_eq!(del.status, 204);

    for q in ["", "?archived=false", "?archived=False", "?archived=FALSE"] {
        let live = app.get(&t, &format!("/crm/v3/objects/companies{q}")).await;
        assert_eq!(live.status, 200, "{q}: {}", live.text);
        assert_eq!(
            page_ids(&live.body),
            [ids[0].clone(), ids[2].clone()],
            "{q}"
        );
        for r in live.body["results"].as_array().expect("r") {
            assert!(r.get("archivedAt").is_none());
        }
    }
    for q in ["?archived=true", "?archived=True"] {
        let archived = app.get(&t, &format!("/crm/v3/objects/companies{q}")).await;
        assert_eq!(archived.status, 200, "{q}: {}", archived.text);
        assert_eq!(page_ids(&archived.body), [ids[1].clone()]);
        let r = &archived.body["results"][0];
        assert_eq!(r["archived"], true);
        assert!(r["archivedAt"].as_str().is_some_and(is_iso_millis));
    }
}

#[tokio::test]
async fn list_walks_every_record_exactly_once() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = seed_companies(&app, &t, 23).await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..10 {
        let path = match &after {
            Some(a) => format!("/crm/v3/objects/companies?limit=7&after={a}"),
            None => "/crm/v3/objects/companies?limit=7".to_owned(),
        };
        let ans = app.get(&t, &path).await;
        assert_eq!(ans.status, 200, "{}", ans.text);
        seen.extend(page_ids(&ans.body));
        match ans.body["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}
