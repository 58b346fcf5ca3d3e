//! The wire behaviours open-source HubSpot connectors depend on beyond an endpoint's
//! existence (connectors-surface.md §8), one test each, named after the connectors that
//! rely on it: singer-io/tap-hubspot, MeltanoLabs/tap-hubspot, Airbyte source-hubspot,
//! dlt's verified source and n8n's HubSpot node.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{Answer, TestApp};
use crate::support::*;

/// `n` companies (`c000`, `c001`…, city Oslo), ids in creation order.
async fn companies(app: &TestApp, t: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let inputs: Vec<Value> = chunk
            .iter()
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
        ids.extend(in_order(ans.body["results"].as_array().expect("results")));
    }
    let mut numeric: Vec<u64> = ids.iter().map(|i| i.parse().expect("numeric id")).collect();
    numeric.sort_unstable();
    numeric.into_iter().map(|i| i.to_string()).collect()
}

/// The ids of a page's records, in the order they came.
fn in_order(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

fn results(ans: &Answer) -> &Vec<Value> {
    ans.body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {}", ans.text))
}

/// A GET of a whole URL (as a link gives it) with extra request headers.
async fn fetch(app: &TestApp, t: &str, url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = app.http.request(Method::GET, url).bearer_auth(t);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

async fn search(app: &TestApp, t: &str, ty: &str, body: Value) -> Answer {
    let ans = app
        .post(t, &format!("/crm/v3/objects/{ty}/search"), body)
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    ans
}

/// A decimal integer string, as `int()` in Python reads it back unchanged.
fn assert_integer_token(token: &Value, what: &str) -> u64 {
    let s = token
        .as_str()
        .unwrap_or_else(|| panic!("{what}: after {token} is not a string"));
    let n: u64 = s
        .parse()
        .unwrap_or_else(|_| panic!("{what}: after {s:?} is not a decimal integer"));
    assert_eq!(n.to_string(), s, "{what}: after {s:?} is not canonical");
    n
}

#[tokio::test]
async fn airbyte_and_meltano_read_after_tokens_as_integers() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    companies(&app, &t, 5).await;
    let list = app.get(&t, "/crm/v3/objects/companies?limit=2").await;
    assert_integer_token(&list.body["paging"]["next"]["after"], "list");
    let found = search(&app, &t, "companies", json!({"limit": 2})).await;
    // Search's token is the offset of the next page, as HubSpot's.
    assert_eq!(
        assert_integer_token(&found.body["paging"]["next"]["after"], "search"),
        2
    );
    let next = search(&app, &t, "companies", json!({"limit": 2, "after": "2"})).await;
    assert_eq!(
        assert_integer_token(&next.body["paging"]["next"]["after"], "search"),
        4
    );
}

#[tokio::test]
async fn dlt_pages_by_an_absolute_link_carrying_every_parameter() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = companies(&app, &t, 5).await;
    let query = "limit=2&properties=name&properties=city,domain&archived=false&associations=contacts&custom=x%20y";
    let mut url = format!("{}/crm/v3/objects/companies?{query}", app.base);
    let mut seen = Vec::new();
    loop {
        let page = fetch(&app, &t, &url, &[]).await;
        assert_eq!(page.status, 200, "{url}: {}", page.text);
        for r in results(&page) {
            assert_eq!(prop(r, "city"), "Oslo", "{url}: the link kept properties");
            assert_eq!(prop(r, "domain"), &Value::Null, "{url}");
        }
        seen.extend(in_order(results(&page)));
        let Some(link) = page.body["paging"]["next"]["link"].as_str() else {
            break;
        };
        assert!(
            link.starts_with(&format!("{}/crm/v3/objects/companies?", app.base)),
            "{link}"
        );
        let after = page.body["paging"]["next"]["after"]
            .as_str()
            .expect("after");
        assert!(
            link.ends_with(&format!("?{query}&after={after}")),
            "{link}: every original parameter, as sent, then after"
        );
        url = link.to_owned();
    }
    assert_eq!(seen, ids);

    // Behind a proxy that terminates TLS for api.hubapi.com, the link is on that origin.
    for headers in [
        vec![
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.hubapi.com"),
        ],
        vec![(
            "forwarded",
            "for=192.0.2.60;proto=https;host=api.hubapi.com",
        )],
        vec![("x-forwarded-proto", "https"), ("host", "api.hubapi.com")],
    ] {
        let url = format!("{}/crm/v3/objects/companies?limit=2", app.base);
        let page = fetch(&app, &t, &url, &headers).await;
        let link = page.body["paging"]["next"]["link"].as_str().expect("link");
        assert!(
            link.starts_with("https://api.hubapi.com/crm/v3/objects/companies?limit=2&after="),
            "{headers:?}: {link}"
        );
    }
}

#[tokio::test]
async fn n8n_meltano_singer_and_dlt_stop_when_paging_is_absent() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    companies(&app, &t, 4).await;
    for path in [
        "/crm/v3/objects/companies?limit=4",
        "/crm/v3/objects/companies?limit=2&offset=2",
        "/crm/v3/objects/companies?limit=100",
    ] {
        let last = app.get(&t, path).await;
        assert_eq!(last.status, 200, "{}", last.text);
        assert!(last.body.get("paging").is_none(), "{path}: {}", last.text);
    }
    let first = app.get(&t, "/crm/v3/objects/companies?limit=2").await;
    let after = first.body["paging"]["next"]["after"]
        .as_str()
        .expect("after");
    let last = app
        .get(
            &t,
            &format!("/crm/v3/objects/companies?limit=2&after={after}"),
        )
        .await;
    assert_eq!(results(&last).len(), 2);
    assert!(last.body.get("paging").is_none(), "{}", last.text);
    for body in [
        json!({"limit": 4}),
        json!({"limit": 2, "after": 2}),
        json!({}),
    ] {
        let ans = search(&app, &t, "companies", body.clone()).await;
        assert!(ans.body.get("paging").is_none(), "{body}: {}", ans.text);
    }
}

#[tokio::test]
async fn airbyte_searches_with_top_level_filters_numbers_and_limit_200() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = companies(&app, &t, 230).await;
    must_create_property(
        &app,
        &t,
        "companies",
        json!({"name": "rank", "label": "Rank", "type": "number", "fieldType": "number"}),
    )
    .await;
    for (i, id) in ids.iter().take(3).enumerate() {
        let ans = app
            .patch(
                &t,
                &format!("/crm/v3/objects/companies/{id}"),
                json!({"properties": {"rank": (i + 1).to_string()}}),
            )
            .await;
        assert_eq!(ans.status, 200, "{}", ans.text);
    }
    // Top-level `filters` are one AND group; `value` a JSON number.
    let ans = search(
        &app,
        &t,
        "companies",
        json!({"filters": [
            {"propertyName": "rank", "operator": "GTE", "value": 2},
            {"propertyName": "city", "operator": "EQ", "value": "Oslo"},
        ]}),
    )
    .await;
    assert_eq!(in_order(results(&ans)), ids[1..3]);
    assert_eq!(ans.body["total"], 2);
    // `limit` 200 is honoured exactly, and `after` may be a JSON number.
    let ans = search(&app, &t, "companies", json!({"limit": 200})).await;
    assert_eq!(in_order(results(&ans)), ids[..200]);
    assert_eq!(ans.body["paging"]["next"]["after"], "200");
    let ans = search(&app, &t, "companies", json!({"limit": 200, "after": 200})).await;
    assert_eq!(in_order(results(&ans)), ids[200..]);
    assert!(ans.body.get("paging").is_none(), "{}", ans.text);
}

#[tokio::test]
async fn airbyte_and_meltano_sort_on_object_id_and_modified_dates() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = companies(&app, &t, 3).await;
    let mut contacts = Vec::new();
    for email in ["s1@example.com", "s2@example.com"] {
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        contacts.push(create_one(&app, &t, "contacts", json!({"email": email})).await);
    }
    // The first company becomes the most recently modified.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let ans = app
        .patch(
            &t,
            &format!("/crm/v3/objects/companies/{}", ids[0]),
            json!({"properties": {"city": "Bergen"}}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let by = |name: &str, direction: &str| json!({"sorts": [{"propertyName": name, "direction": direction}]});
    let desc: Vec<String> = ids.iter().rev().cloned().collect();
    let found = search(&app, &t, "companies", by("hs_object_id", "DESCENDING")).await;
    assert_eq!(in_order(results(&found)), desc);
    let found = search(&app, &t, "companies", by("hs_object_id", "ASCENDING")).await;
    assert_eq!(in_order(results(&found)), ids);
    let modified = vec![ids[1].clone(), ids[2].clone(), ids[0].clone()];
    let found = search(
        &app,
        &t,
        "companies",
        by("hs_lastmodifieddate", "ASCENDING"),
    )
    .await;
    assert_eq!(in_order(results(&found)), modified);
    let found = search(&app, &t, "contacts", by("lastmodifieddate", "DESCENDING")).await;
    assert_eq!(
        in_order(results(&found)),
        [contacts[1].clone(), contacts[0].clone()]
    );
}

#[tokio::test]
async fn airbyte_filters_modified_dates_by_epoch_millis() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    // One at a time, a few milliseconds apart: each its own modified date.
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(create_one(&app, &t, "companies", json!({"name": format!("m{i}")})).await);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let read = app
        .get(&t, &format!("/crm/v3/objects/companies/{}", ids[1]))
        .await;
    let at = read.body["properties"]["hs_lastmodifieddate"]
        .as_str()
        .expect("hs_lastmodifieddate");
    let ms = spoke_core::time::parse_iso(at).expect("an ISO instant");
    for value in [json!(ms), json!(ms.to_string())] {
        let ans = search(
            &app,
            &t,
            "companies",
            json!({"filterGroups": [{"filters": [
                {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": value},
                {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": value},
            ]}]}),
        )
        .await;
        assert_eq!(in_order(results(&ans)), [ids[1].clone()], "{value}");
    }
    let ans = search(
        &app,
        &t,
        "companies",
        json!({"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": 0}]}),
    )
    .await;
    assert_eq!(ans.body["total"], 3);
}

#[tokio::test]
async fn airbyte_filters_hs_object_id_numerically() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids: Vec<u64> = companies(&app, &t, 12)
        .await
        .iter()
        .map(|i| i.parse().expect("id"))
        .collect();
    // A bound where comparing as text would answer differently (`"10" < "9"`).
    let max = ids.iter().max().copied().unwrap_or(0);
    let bound = (1..=max)
        .find(|v| {
            let numeric = ids.iter().filter(|i| **i >= *v).count();
            let text = ids
                .iter()
                .filter(|i| i.to_string() >= v.to_string())
                .count();
            numeric != text
        })
        .expect("ids that compare differently as text");
    let expected: Vec<String> = ids
        .iter()
        .filter(|i| **i >= bound)
        .map(u64::to_string)
        .collect();
    for value in [json!(bound), json!(bound.to_string())] {
        let ans = search(
            &app,
            &t,
            "companies",
            json!({"limit": 100, "filters": [{"propertyName": "hs_object_id", "operator": "GTE", "value": value}]}),
        )
        .await;
        assert_eq!(in_order(results(&ans)), expected, "GTE {value}");
    }
}

#[tokio::test]
async fn n8n_search_ignores_unknown_body_keys() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = companies(&app, &t, 2).await;
    let ans = search(
        &app,
        &t,
        "companies",
        json!({"sortBy": "name", "direction": "DESCENDING", "filterGroups": [], "something": {"x": 1}}),
    )
    .await;
    assert_eq!(in_order(results(&ans)), ids);
}

#[tokio::test]
async fn meltano_and_airbyte_stay_below_the_10000_result_window() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    companies(&app, &t, 1).await;
    for after in [json!(10000), json!("10000"), json!(12345)] {
        let ans = app
            .post(
                &t,
                "/crm/v3/objects/companies/search",
                json!({"after": after, "limit": 10}),
            )
            .await;
        assert_error(
            &ans,
            400,
            Some("VALIDATION_ERROR"),
            "Search results are limited to 10000 records: after must be less than 10000",
        );
    }
    let ans = search(&app, &t, "companies", json!({"after": 9999})).await;
    assert_eq!(results(&ans).len(), 0);
}

#[tokio::test]
async fn meltano_and_n8n_lists_ignore_unknown_query_parameters() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = companies(&app, &t, 3).await;
    let ans = app
        .get(
            &t,
            "/crm/v3/objects/companies?sort=-name&order_by=name&count=1&limit=10&propertyMode=value_and_history",
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    assert_eq!(in_order(results(&ans)), ids);
}

#[tokio::test]
async fn airbyte_5_7_pages_products_by_offset() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create_one(&app, &t, "products", json!({"name": format!("p{i}")})).await);
    }
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let ans = app
            .get(
                &t,
                &format!("/crm/v3/objects/product?archived=false&limit=2&offset={offset}"),
            )
            .await;
        assert_eq!(ans.status, 200, "{}", ans.text);
        seen.extend(in_order(results(&ans)));
    }
    assert_eq!(seen, ids, "offset skips that many records in id order");
    let past = app
        .get(&t, "/crm/v3/objects/products?limit=2&offset=10")
        .await;
    assert_eq!(results(&past).len(), 0, "{}", past.text);
    assert!(past.body.get("paging").is_none());
    // A link carries `offset` and `after`: `after` wins.
    let page = app
        .get(&t, "/crm/v3/objects/products?limit=2&offset=2")
        .await;
    let link = page.body["paging"]["next"]["link"].as_str().expect("link");
    assert!(
        link.contains("offset=2") && link.contains("after="),
        "{link}"
    );
    let next = fetch(&app, &t, link, &[]).await;
    assert_eq!(in_order(results(&next)), ids[4..]);
    // Archived records page by offset too.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/products/batch/archive",
            json!({"inputs": ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>()}),
        )
        .await;
    assert_eq!(ans.status, 204, "{}", ans.text);
    let archived = app
        .get(
            &t,
            "/crm/v3/objects/products?archived=true&limit=2&offset=3",
        )
        .await;
    assert_eq!(in_order(results(&archived)), ids[3..]);
    let bad = app.get(&t, "/crm/v3/objects/products?offset=x").await;
    assert_error(
        &bad,
        400,
        Some("VALIDATION_ERROR"),
        "Invalid value for query parameter offset: x is not a valid integer",
    );
}

#[tokio::test]
async fn singer_sends_empty_properties_and_python_booleans() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = companies(&app, &t, 2).await;
    let plain = app.get(&t, "/crm/v3/objects/companies").await;
    for path in [
        "/crm/v3/objects/companies?properties=",
        "/crm/v3/objects/companies?properties=&archived=False",
        "/crm/v3/objects/companies?archived=FALSE&properties=",
    ] {
        let ans = app.get(&t, path).await;
        assert_eq!(ans.status, 200, "{path}: {}", ans.text);
        assert_eq!(in_order(results(&ans)), ids, "{path}");
        let names =
            |a: &Answer| -> Vec<Vec<String>> { results(a).iter().map(prop_names).collect() };
        assert_eq!(names(&ans), names(&plain), "{path}: the default properties");
    }
}

#[tokio::test]
async fn every_connector_repeats_or_comma_joins_properties_and_associations() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let company = create_one(
        &app,
        &t,
        "companies",
        json!({"name": "Acme", "city": "Oslo", "domain": "acme.example"}),
    )
    .await;
    let contact = create_one(&app, &t, "contacts", json!({"email": "a@example.com"})).await;
    let deal = create_one(&app, &t, "deals", json!({"dealname": "D"})).await;
    for (to, id) in [("contacts", &contact), ("deals", &deal)] {
        let ans = app
            .call(
                Method::PUT,
                Some(&t),
                &format!("/crm/v4/objects/companies/{company}/associations/default/{to}/{id}"),
                None,
            )
            .await;
        assert!(ans.status.is_success(), "{}", ans.text);
    }
    for query in [
        "properties=name,city&properties=domain&associations=contacts,deals",
        "properties=name&properties=city&properties=domain&associations=contacts&associations=deals",
        "properties=name,city,domain&associations=contacts,deals",
    ] {
        let ans = app
            .get(&t, &format!("/crm/v3/objects/companies?{query}"))
            .await;
        assert_eq!(ans.status, 200, "{query}: {}", ans.text);
        let r = &results(&ans)[0];
        for (name, value) in [("name", "Acme"), ("city", "Oslo"), ("domain", "acme.example")] {
            assert_eq!(prop(r, name), value, "{query}");
        }
        let linked = |to: &str| -> Vec<String> {
            r["associations"][to]["results"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x["id"].as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        assert!(linked("contacts").contains(&contact), "{query}: {}", ans.text);
        assert!(linked("deals").contains(&deal), "{query}: {}", ans.text);
        let read = app
            .get(&t, &format!("/crm/v3/objects/companies/{company}?{query}"))
            .await;
        assert_eq!(prop(&read.body, "domain"), "acme.example", "{query}");
        assert!(read.body["associations"]["deals"]["results"].is_array(), "{query}: {}", read.text);
    }
}

#[tokio::test]
async fn airbyte_and_dlt_read_properties_with_history() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(&app, &t, "companies", json!({"name": "First"})).await;
    let ans = app
        .patch(
            &t,
            &format!("/crm/v3/objects/companies/{id}"),
            json!({"properties": {"name": "Second"}}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    for path in [
        "/crm/v3/objects/companies?propertiesWithHistory=name&propertyMode=value_and_history&limit=50",
        "/crm/v3/objects/companies?propertiesWithHistory=name,city",
    ] {
        let ans = app.get(&t, path).await;
        assert_eq!(ans.status, 200, "{path}: {}", ans.text);
        let history = results(&ans)[0]["propertiesWithHistory"]["name"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: {}", ans.text));
        let values: Vec<&str> = history.iter().filter_map(|h| h["value"].as_str()).collect();
        assert_eq!(values, ["Second", "First"], "{path}: newest first");
        for h in history {
            assert!(h["timestamp"].as_str().is_some_and(is_iso_millis), "{h}");
            assert!(h["sourceType"].is_string(), "{h}");
        }
    }
}

#[tokio::test]
async fn meltano_and_dlt_send_request_lines_over_64_kb() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = companies(&app, &t, 3).await;
    // Every property name unchunked: hundreds of names, the request line just under hyper's
    // 65,534-byte limit for a URI.
    let base = "/crm/v3/objects/companies?limit=2&properties=name,city";
    let mut path = base.to_owned();
    let mut n = 0;
    while path.len() < 64_000 {
        path.push_str(&format!("&properties=custom_property_number_{n:05}"));
        n += 1;
    }
    assert!(n > 500, "{n} names");
    let ans = app.get(&t, &path).await;
    assert_eq!(ans.status, 200, "{}", &ans.text[..ans.text.len().min(500)]);
    assert_eq!(in_order(results(&ans)), ids[..2]);
    assert_eq!(prop(&results(&ans)[0], "city"), "Oslo");
    // Its link repeats them all and still fits.
    let link = ans.body["paging"]["next"]["link"].as_str().expect("link");
    let next = fetch(&app, &t, link, &[]).await;
    assert_eq!(next.status, 200);
    assert_eq!(in_order(results(&next)), ids[2..]);
}

/// Every read path's records, for `id` of companies, with `properties` requested.
async fn every_read(app: &TestApp, t: &str, id: &str, properties: &[&str]) -> Vec<(String, Value)> {
    let joined = properties.join(",");
    let mut out = Vec::new();
    let list = app
        .get(t, &format!("/crm/v3/objects/companies?properties={joined}"))
        .await;
    let listed = results(&list).iter().find(|r| r["id"] == id).cloned();
    out.push(("list".to_owned(), listed.expect("listed")));
    let read = app
        .get(
            t,
            &format!("/crm/v3/objects/companies/{id}?properties={joined}"),
        )
        .await;
    out.push(("read".to_owned(), read.body.clone()));
    let batch = app
        .post(
            t,
            "/crm/v3/objects/companies/batch/read",
            json!({"inputs": [{"id": id}], "properties": properties}),
        )
        .await;
    out.push(("batch read".to_owned(), results(&batch)[0].clone()));
    let found = search(
        app,
        t,
        "companies",
        json!({"properties": properties, "filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": id}]}),
    )
    .await;
    out.push(("search".to_owned(), results(&found)[0].clone()));
    out
}

#[tokio::test]
async fn singer_airbyte_and_meltano_filter_on_updated_at() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let created = app
        .post(
            &t,
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "U"}}),
        )
        .await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    let updated = app
        .patch(
            &t,
            &format!("/crm/v3/objects/companies/{id}"),
            json!({"properties": {"city": "Oslo"}}),
        )
        .await;
    let contact = create_one(&app, &t, "contacts", json!({"email": "u@example.com"})).await;
    let mut records = vec![
        ("create".to_owned(), created.body.clone()),
        ("update".to_owned(), updated.body.clone()),
    ];
    records.extend(every_read(&app, &t, &id, &["name", "hs_lastmodifieddate"]).await);
    for (what, r) in &records {
        let modified = prop(r, "hs_lastmodifieddate");
        assert!(modified.is_string(), "{what}: {r}");
        let (a, b) = (
            spoke_core::time::parse_iso(r["updatedAt"].as_str().expect("updatedAt")),
            spoke_core::time::parse_iso(modified.as_str().expect("modified")),
        );
        assert_eq!(a, b, "{what}: updatedAt is the modified date: {r}");
    }
    // Contacts name theirs `lastmodifieddate`.
    let c = app
        .get(
            &t,
            &format!("/crm/v3/objects/contacts/{contact}?properties=lastmodifieddate"),
        )
        .await;
    assert_eq!(
        spoke_core::time::parse_iso(c.body["updatedAt"].as_str().expect("updatedAt")),
        spoke_core::time::parse_iso(
            prop(&c.body, "lastmodifieddate")
                .as_str()
                .expect("modified")
        ),
        "{}",
        c.text
    );
}

#[tokio::test]
async fn meltano_reads_requested_unset_properties_as_null() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(&app, &t, "companies", json!({"name": "N"})).await;
    for (what, r) in every_read(&app, &t, &id, &["name", "phone", "industry"]).await {
        let props = r["properties"].as_object().expect("properties");
        assert_eq!(props.get("phone"), Some(&Value::Null), "{what}: {r}");
        assert_eq!(props.get("industry"), Some(&Value::Null), "{what}: {r}");
        assert_eq!(prop(&r, "name"), "N", "{what}");
    }
}

#[tokio::test]
async fn dlt_finds_hs_object_id_always() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(&app, &t, "companies", json!({"name": "H"})).await;
    for (what, r) in every_read(&app, &t, &id, &["name"]).await {
        assert_eq!(prop(&r, "hs_object_id"), id.as_str(), "{what}: {r}");
    }
    let plain = app.get(&t, "/crm/v3/objects/companies").await;
    let names: BTreeSet<String> = prop_names(&results(&plain)[0]).into_iter().collect();
    assert!(names.contains("hs_object_id"), "{names:?}");
}
