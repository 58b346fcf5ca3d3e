//! Legacy and alias read shapes connectors still call (hubspot-behavior-platform.md §25):
//! property listings v1/v2 as bare arrays, companies v2 and deals v1 pages (numbers for ids,
//! `has-more` vs `hasMore`, offsets to the end, versions from the stored history), objects
//! under `/crm/v4/objects`, associations v3 (batch read, per record, types), and every
//! spelling of a type in every path.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{Answer, TestApp};
use crate::support::*;

/// The v2 item keys of the captured fixture (§25.1), plus the v1 extras a captured v1
/// property carries; spoke gives both paths the one superset.
const PROPERTY_KEYS: &[&str] = &[
    "name",
    "label",
    "description",
    "groupName",
    "type",
    "fieldType",
    "hidden",
    "options",
    "calculated",
    "externalOptions",
    "isCustomizedDefault",
    "deleted",
    "createdAt",
    "updatedAt",
    "displayOrder",
    "readOnlyValue",
    "readOnlyDefinition",
    "mutableDefinitionNotDeletable",
    "favorited",
    "favoritedOrder",
    "displayMode",
    "showCurrencySymbol",
    "createdUserId",
    "textDisplayHint",
    "numberDisplayHint",
    "optionsAreMutable",
    "referencedObjectType",
    "formField",
    "hubspotDefined",
    "updatedUserId",
    "searchableInGlobalSearch",
    "hasUniqueValue",
    "currencyPropertyName",
];

fn names_of(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a bare array")
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_owned())
        .collect()
}

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("{name} not in {list}"))
}

fn ok(ans: &Answer, what: &str) {
    assert_eq!(ans.status.as_u16(), 200, "{what}: {}", ans.text);
}

fn num(v: &Value) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("{v} is not a JSON number"))
}

#[tokio::test]
async fn property_listings_are_bare_arrays_by_every_type_name() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    must_create_property(
        &app,
        &t,
        "companies",
        json!({"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select",
               "groupName": "companyinformation",
               "options": [{"label": "Gold", "value": "gold"}, {"label": "Silver", "value": "silver"}]}),
    )
    .await;

    let v3 = app.get(&t, "/crm/v3/properties/companies").await;
    ok(&v3, "v3");
    let v3_names: Vec<String> = v3.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_owned())
        .collect();

    // Airbyte's singular, the plural, the type id; v1 and the companies v2 path too.
    for path in [
        "/properties/v2/company/properties",
        "/properties/v2/companies/properties",
        "/properties/v2/0-2/properties",
        "/properties/v2/Company/properties",
        "/properties/v1/companies/properties",
        "/companies/v2/properties",
    ] {
        let ans = app.get(&t, path).await;
        ok(&ans, path);
        assert!(ans.body.is_array(), "{path}: a bare array: {}", ans.text);
        assert_eq!(names_of(&ans.body), v3_names, "{path}: the v3 set");
        assert_eq!(keys_at(&ans.text, "0"), PROPERTY_KEYS, "{path}");
        let builtin = find(&ans.body, "name");
        assert_eq!(builtin["type"], "string");
        assert_eq!(builtin["hubspotDefined"], true);
        assert_eq!(builtin["createdAt"], Value::Null);
        assert_eq!(builtin["updatedAt"], Value::Null);
        assert_eq!(builtin["deleted"], Value::Null);
        assert_eq!(builtin["favoritedOrder"], -1);
        assert_eq!(builtin["displayMode"], "current_value");
        let custom = find(&ans.body, "tier");
        assert_eq!(custom["hubspotDefined"], Value::Null, "{custom}");
        assert!(custom["createdAt"].is_i64(), "epoch ms: {custom}");
        assert!(custom["updatedAt"].is_i64() || custom["updatedAt"].is_null());
        assert_eq!(custom["type"], "enumeration");
        assert_eq!(custom["fieldType"], "select");
        assert_eq!(custom["options"][0]["label"], "Gold");
        assert_eq!(custom["options"][0]["value"], "gold");
        assert_eq!(
            keys_at(
                &ans.text,
                &format!("{}/options/0", position(&ans.body, "tier"))
            ),
            [
                "description",
                "label",
                "value",
                "displayOrder",
                "hidden",
                "readOnly",
                "doubleData"
            ]
        );
    }

    // Deals by v1 (singer's discovery) and one by name (n8n).
    let deals = app.get(&t, "/properties/v1/deals/properties").await;
    ok(&deals, "v1 deals");
    assert!(names_of(&deals.body).contains(&"dealname".to_owned()));
    // Pipeline and stage list the portal's pipelines, exactly as v3 lists them.
    for name in ["pipeline", "dealstage"] {
        let v3 = app
            .get(&t, &format!("/crm/v3/properties/deals/{name}"))
            .await;
        ok(&v3, name);
        let values = |options: &Value| -> Vec<Value> {
            options
                .as_array()
                .map(|a| a.iter().map(|o| o["value"].clone()).collect())
                .unwrap_or_default()
        };
        let want = values(&v3.body["options"]);
        assert!(!want.is_empty(), "{}", v3.text);
        let path = format!("/properties/v1/deals/properties/named/{name}");
        let legacy = app.get(&t, &path).await;
        ok(&legacy, &path);
        assert_eq!(values(&legacy.body["options"]), want, "{path}");
    }
    for ty in ["deals", "deal", "0-3"] {
        let path = format!("/properties/v1/{ty}/properties/named/dealname");
        let one = app.get(&t, &path).await;
        ok(&one, &path);
        assert_eq!(one.body["name"], "dealname");
        assert_eq!(keys_at(&one.text, ""), PROPERTY_KEYS);
    }
    let missing = app
        .get(&t, "/properties/v1/deals/properties/named/no_such")
        .await;
    assert_error(
        &missing,
        404,
        Some("OBJECT_NOT_FOUND"),
        "Property no_such does not exist",
    );

    // Forms are not an object type spoke serves, but their v2 listing is there: Airbyte
    // reads it before any stream and gives up discovery without a non-empty array.
    let forms = app.get(&t, "/properties/v2/form/properties").await;
    ok(&forms, "forms' listing");
    let mut names = names_of(&forms.body);
    names.sort();
    assert_eq!(
        names,
        ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
        "{}",
        forms.text
    );
    for p in forms.body.as_array().expect("a bare array") {
        assert!(p["type"].is_string(), "{p}");
    }
    let companies_only = app.token(1, &["crm.objects.companies.read"]).await;
    let ans = app
        .get(&companies_only, "/properties/v2/form/properties")
        .await;
    assert_eq!(ans.status.as_u16(), 403, "{}", ans.text);

    // A type spoke does not have: HubSpot's resolver's 400 (forms too, outside the one
    // listing above).
    for ty in ["widgets", "form"] {
        let paths = [
            format!("/properties/v2/{ty}/properties"),
            format!("/properties/v1/{ty}/properties"),
            format!("/properties/v1/{ty}/properties/named/name"),
        ];
        for path in paths
            .into_iter()
            .filter(|p| p != "/properties/v2/form/properties")
        {
            let ans = app.get(&t, &path).await;
            assert_error(
                &ans,
                400,
                None,
                &format!("Unable to infer object type from: {ty}"),
            );
        }
    }

    // The type's schema read scope, as v3; another portal does not see the custom one.
    let objects_only = app.token(1, &["crm.objects.companies.read"]).await;
    ok(
        &app.get(&objects_only, "/companies/v2/properties").await,
        "objects read is an alternative",
    );
    let contacts_only = app.token(1, &["crm.schemas.contacts.read"]).await;
    let ans = app
        .get(&contacts_only, "/properties/v2/company/properties")
        .await;
    assert_eq!(ans.status.as_u16(), 403, "{}", ans.text);
    let other = app.token(2, &["all"]).await;
    let ans = app.get(&other, "/companies/v2/properties").await;
    assert!(!names_of(&ans.body).contains(&"tier".to_owned()));
}

fn position(list: &Value, name: &str) -> usize {
    list.as_array()
        .and_then(|a| a.iter().position(|p| p["name"] == name))
        .expect("present")
}

/// Creates `n` companies named `{prefix}{i}` and returns their ids as numbers, ascending.
async fn companies(app: &TestApp, t: &str, prefix: &str, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = create_one(
            app,
            t,
            "companies",
            json!({"name": format!("{prefix}{i}"), "domain": format!("{prefix}{i}.example.com")}),
        )
        .await;
        ids.push(id.parse().expect("numeric id"));
    }
    ids
}

#[tokio::test]
async fn companies_v2_pages_by_offset_with_has_more_and_versions() {
    let app = TestApp::spawn().await;
    let t = app.token(7, &["all"]).await;
    let ids = companies(&app, &t, "acme", 5).await;
    // Two more versions of one name, newest last.
    for name in ["acme-renamed", "acme-final"] {
        let ans = app
            .patch(
                &t,
                &format!("/crm/v3/objects/companies/{}", ids[1]),
                json!({"properties": {"name": name}}),
            )
            .await;
        ok(&ans, "rename");
    }

    // singer: limit, repeated properties, `has-more`, `offset` passed back until the end.
    let mut seen = Vec::new();
    let mut offset: Option<i64> = None;
    let mut pages = 0;
    loop {
        let mut path = "/companies/v2/companies/paged?limit=2&properties=name&properties=createdate&properties=hs_lastmodifieddate".to_owned();
        if let Some(o) = offset {
            path.push_str(&format!("&offset={o}"));
        }
        let ans = app.get(&t, &path).await;
        ok(&ans, &path);
        pages += 1;
        assert_eq!(keys_at(&ans.text, ""), ["companies", "has-more", "offset"]);
        let list = ans.body["companies"].as_array().expect("companies");
        for c in list {
            assert_eq!(num(&c["portalId"]), 7);
            assert_eq!(c["isDeleted"], false);
            assert_eq!(c["additionalDomains"], json!([]));
            assert!(c.get("stateChanges").is_none(), "{c}");
            seen.push(num(&c["companyId"]));
            let name = &c["properties"]["name"];
            assert!(name["value"].is_string());
            assert!(name["timestamp"].is_i64(), "epoch ms: {name}");
            assert_eq!(name["source"], "API");
            assert_eq!(name["sourceId"], Value::Null);
            // `properties` alone: the current version only.
            assert_eq!(name["versions"].as_array().map(Vec::len), Some(1), "{name}");
            assert_eq!(name["versions"][0]["name"], "name");
            assert_eq!(name["versions"][0]["value"], name["value"]);
            assert_eq!(name["versions"][0]["sourceVid"], json!([]));
            // Datetimes as the legacy APIs give them: epoch-ms strings.
            for p in ["createdate", "hs_lastmodifieddate"] {
                let v = &c["properties"][p];
                let text = v["value"].as_str().unwrap_or_else(|| panic!("{p}: {c}"));
                assert!(text.parse::<i64>().is_ok(), "{p}: {text}");
                assert_eq!(v["source"], "CALCULATED");
            }
            // singer's bookmark: hs_lastmodifieddate's timestamp.
            let modified = &c["properties"]["hs_lastmodifieddate"];
            assert_eq!(
                modified["value"]
                    .as_str()
                    .and_then(|v| v.parse::<i64>().ok()),
                modified["timestamp"].as_i64()
            );
            assert!(
                c["properties"].get("domain").is_none(),
                "only what was asked"
            );
        }
        let more = ans.body["has-more"].as_bool().expect("has-more");
        let next = num(&ans.body["offset"]);
        if let Some(last) = list.last() {
            assert_eq!(next, num(&last["companyId"]), "offset is the last id");
        }
        offset = Some(next);
        if !more {
            break;
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen, ids, "every company once, in id order");
    assert_eq!(pages, 3);

    // Past the end: an empty page, has-more false, the offset given back.
    let last = *ids.last().expect("ids");
    let ans = app
        .get(&t, &format!("/companies/v2/companies/paged?offset={last}"))
        .await;
    ok(&ans, "past the end");
    assert_eq!(
        ans.body,
        json!({"companies": [], "has-more": false, "offset": last})
    );

    // No `properties`: ids only. `propertiesWithHistory`: every version, newest first.
    let ans = app
        .get(
            &t,
            &format!("/companies/v2/companies/paged?limit=1&offset={}", ids[0]),
        )
        .await;
    ok(&ans, "ids only");
    assert_eq!(num(&ans.body["companies"][0]["companyId"]), ids[1]);
    assert_eq!(ans.body["companies"][0]["properties"], json!({}));
    let ans = app
        .get(
            &t,
            &format!(
                "/companies/v2/companies/paged?limit=1&offset={}&propertiesWithHistory=name",
                ids[0]
            ),
        )
        .await;
    let name = &ans.body["companies"][0]["properties"]["name"];
    let values: Vec<&str> = name["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| v["value"].as_str().expect("value"))
        .collect();
    assert_eq!(values, ["acme-final", "acme-renamed", "acme1"]);
    assert_eq!(name["value"], "acme-final");
    assert_eq!(name["timestamp"], name["versions"][0]["timestamp"]);

    // One company: every set property with its versions.
    let ans = app
        .get(&t, &format!("/companies/v2/companies/{}", ids[1]))
        .await;
    ok(&ans, "one company");
    assert_eq!(num(&ans.body["companyId"]), ids[1]);
    assert_eq!(num(&ans.body["portalId"]), 7);
    assert_eq!(ans.body["stateChanges"], json!([]));
    assert_eq!(ans.body["mergeAudits"], json!([]));
    let props = &ans.body["properties"];
    assert_eq!(props["name"]["versions"].as_array().map(Vec::len), Some(3));
    assert_eq!(props["domain"]["value"], "acme1.example.com");
    assert_eq!(props["hs_object_id"]["value"], ids[1].to_string());
    assert!(
        props.get("description").is_none(),
        "unset properties are left out"
    );

    // Bad input: HubSpot's error body, never a 500; another portal's company is not there.
    for bad in ["999999999", "abc", "0"] {
        let ans = app.get(&t, &format!("/companies/v2/companies/{bad}")).await;
        assert_error(&ans, 404, None, "resource not found");
    }
    let other = app.token(8, &["all"]).await;
    let ans = app
        .get(&other, &format!("/companies/v2/companies/{}", ids[0]))
        .await;
    assert_error(&ans, 404, None, "resource not found");
    let ans = app
        .get(&other, "/companies/v2/companies/paged?properties=name")
        .await;
    assert_eq!(
        ans.body,
        json!({"companies": [], "has-more": false, "offset": 0})
    );
    for (query, message) in [
        (
            "limit=many",
            "Invalid value for query parameter limit: many is not a valid integer",
        ),
        (
            "offset=abc",
            "Invalid value for query parameter offset: abc is not a valid integer",
        ),
    ] {
        let ans = app
            .get(&t, &format!("/companies/v2/companies/paged?{query}"))
            .await;
        assert_error(&ans, 400, Some("VALIDATION_ERROR"), message);
    }
    let deals_only = app.token(7, &["crm.objects.deals.read"]).await;
    let ans = app.get(&deals_only, "/companies/v2/companies/paged").await;
    assert_eq!(ans.status.as_u16(), 403, "{}", ans.text);
}

#[tokio::test]
async fn deals_v1_pages_with_has_more_associations_and_all_properties() {
    let app = TestApp::spawn().await;
    let t = app.token(3, &["all"]).await;
    let mut deals = Vec::new();
    for i in 0..3 {
        let id = create_one(
            &app,
            &t,
            "deals",
            json!({"dealname": format!("deal {i}"), "amount": "100"}),
        )
        .await;
        deals.push(id.parse::<i64>().expect("id"));
    }
    let contact = create_one(&app, &t, "contacts", json!({"email": "d@example.com"})).await;
    let company = create_one(&app, &t, "companies", json!({"name": "D Co"})).await;
    for (ty, id) in [("contacts", &contact), ("companies", &company)] {
        let ans = app
            .call(
                Method::PUT,
                Some(&t),
                &format!(
                    "/crm/v4/objects/deals/{}/associations/default/{ty}/{id}",
                    deals[0]
                ),
                None,
            )
            .await;
        ok(&ans, "associate");
    }
    let ans = app
        .patch(
            &t,
            &format!("/crm/v3/objects/deals/{}", deals[0]),
            json!({"properties": {"dealname": "deal 0 won"}}),
        )
        .await;
    ok(&ans, "rename");

    // n8n's credential test: no parameters, a 200; ids only, numbers.
    let ans = app.get(&t, "/deals/v1/deal/paged").await;
    ok(&ans, "bare");
    assert_eq!(keys_at(&ans.text, ""), ["deals", "hasMore", "offset"]);
    assert_eq!(ans.body["hasMore"], false);
    let first = &ans.body["deals"][0];
    assert_eq!(
        keys_at(&ans.text, "deals/0"),
        [
            "portalId",
            "dealId",
            "isDeleted",
            "properties",
            "imports",
            "stateChanges"
        ]
    );
    assert_eq!(num(&first["dealId"]), deals[0]);
    assert_eq!(num(&first["portalId"]), 3);
    assert_eq!(first["properties"], json!({}));
    assert_eq!(num(&ans.body["offset"]), deals[2]);

    // singer's query: pages of one until hasMore is false.
    let mut seen = Vec::new();
    let mut offset = None;
    loop {
        let mut path = "/deals/v1/deal/paged?limit=1&includeAssociations=true&properties=&includeAllProperties=true&allPropertiesFetchMode=latest_version".to_owned();
        if let Some(o) = offset {
            path.push_str(&format!("&offset={o}"));
        }
        let ans = app.get(&t, &path).await;
        ok(&ans, &path);
        let deal = &ans.body["deals"][0];
        let id = num(&deal["dealId"]);
        seen.push(id);
        let associations = &deal["associations"];
        if id == deals[0] {
            assert_eq!(
                *associations,
                json!({"associatedVids": [contact.parse::<i64>().expect("id")],
                       "associatedCompanyIds": [company.parse::<i64>().expect("id")],
                       "associatedDealIds": [], "associatedTicketIds": []})
            );
            let name = &deal["properties"]["dealname"];
            assert_eq!(name["value"], "deal 0 won");
            assert_eq!(
                name["versions"].as_array().map(Vec::len),
                Some(1),
                "latest only"
            );
        } else {
            assert_eq!(associations["associatedVids"], json!([]));
        }
        assert_eq!(deal["properties"]["amount"]["value"], "100");
        assert!(deal["properties"]["hs_lastmodifieddate"]["timestamp"].is_i64());
        offset = Some(num(&ans.body["offset"]));
        if ans.body["hasMore"] == false {
            break;
        }
        assert!(seen.len() < 10);
    }
    assert_eq!(seen, deals);

    // All properties with their whole history; `propertiesWithHistory` for one.
    for path in [
        "/deals/v1/deal/paged?includeAllProperties=true",
        "/deals/v1/deal/paged?propertiesWithHistory=dealname",
    ] {
        let ans = app.get(&t, path).await;
        let name = &ans.body["deals"][0]["properties"]["dealname"];
        let values: Vec<&str> = name["versions"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: {}", ans.text))
            .iter()
            .map(|v| v["value"].as_str().expect("value"))
            .collect();
        assert_eq!(values, ["deal 0 won", "deal 0"], "{path}");
    }

    // Associations only to types the token reads.
    let deals_only = app.token(3, &["crm.objects.deals.read"]).await;
    let ans = app
        .get(&deals_only, "/deals/v1/deal/paged?includeAssociations=true")
        .await;
    ok(&ans, "deals scope only");
    assert_eq!(
        ans.body["deals"][0]["associations"]["associatedVids"],
        json!([])
    );

    for query in ["includeAssociations=maybe", "limit=-1", "offset=x"] {
        let ans = app.get(&t, &format!("/deals/v1/deal/paged?{query}")).await;
        assert_eq!(ans.status.as_u16(), 400, "{query}: {}", ans.text);
        assert_wire_error(&ans);
    }
    let contacts_only = app.token(3, &["crm.objects.contacts.read"]).await;
    let ans = app.get(&contacts_only, "/deals/v1/deal/paged").await;
    assert_eq!(ans.status.as_u16(), 403, "{}", ans.text);
    let other = app.token(4, &["all"]).await;
    let ans = app
        .get(&other, "/deals/v1/deal/paged?includeAllProperties=true")
        .await;
    assert_eq!(
        ans.body,
        json!({"deals": [], "hasMore": false, "offset": 0})
    );
}

#[tokio::test]
async fn objects_under_a_v4_path_are_the_v3_list() {
    let app = TestApp::spawn().await;
    let t = app.token(5, &["all"]).await;
    for i in 0..3 {
        create_one(
            &app,
            &t,
            "tickets",
            json!({"subject": format!("t{i}"), "hs_pipeline": "0"}),
        )
        .await;
    }
    for ty in ["tickets", "ticket", "0-5"] {
        // singer's query: Python's `False`, associations, properties.
        let path = format!(
            "/crm/v4/objects/{ty}?limit=2&archived=False&properties=subject&associations=contact,company,deals"
        );
        let v4 = app.get(&t, &path).await;
        ok(&v4, &path);
        let v3 = app.get(&t, &path.replace("/crm/v4/", "/crm/v3/")).await;
        let strip = |b: &Value| {
            let mut b = b.clone();
            b["paging"]["next"]["link"] = Value::Null;
            b
        };
        assert_eq!(strip(&v4.body), strip(&v3.body), "{ty}");
        let link = v4.body["paging"]["next"]["link"].as_str().expect("link");
        assert!(link.contains(&format!("/crm/v4/objects/{ty}?")), "{link}");
        let after = v4.body["paging"]["next"]["after"].as_str().expect("after");
        let rest = app
            .get(&t, &format!("/crm/v4/objects/{ty}?limit=2&after={after}"))
            .await;
        assert_eq!(rest.body["results"].as_array().map(Vec::len), Some(1));
        assert!(rest.body.get("paging").is_none(), "{}", rest.text);
    }
    let ans = app.get(&t, "/crm/v4/objects/widgets").await;
    assert_error(&ans, 400, None, "Unable to infer object type from: widgets");
}

/// A contact associated with `n` fresh companies (unlabeled, batch by batch); returns the
/// contact and the companies, ascending.
async fn contact_with_companies(app: &TestApp, t: &str, n: usize) -> (String, Vec<String>) {
    let contact = create_one(app, t, "contacts", json!({"email": "many@example.com"})).await;
    let mut ids = Vec::new();
    while ids.len() < n {
        let k = (n - ids.len()).min(100);
        let inputs: Vec<Value> = (0..k)
            .map(|i| json!({"properties": {"name": format!("c{}", ids.len() + i)}}))
            .collect();
        let ans = app
            .post(
                t,
                "/crm/v3/objects/companies/batch/create",
                json!({"inputs": inputs}),
            )
            .await;
        let made = assert_batch_ok(&ans, 201);
        let mut fresh: Vec<String> = made
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect();
        fresh.sort_by_key(|id| id.parse::<i64>().expect("id"));
        let links: Vec<Value> = fresh
            .iter()
            .map(|c| json!({"from": {"id": contact}, "to": {"id": c}}))
            .collect();
        let ans = app
            .post(
                t,
                "/crm/v4/associations/contacts/companies/batch/associate/default",
                json!({"inputs": links}),
            )
            .await;
        assert_batch_ok(&ans, 200);
        ids.extend(fresh);
    }
    (contact, ids)
}

#[tokio::test]
async fn associations_v3_batch_read_per_record_and_types() {
    let app = TestApp::spawn().await;
    let t = app.token(9, &["all"]).await;
    let (contact, companies) = contact_with_companies(&app, &t, 101).await;
    let lonely = create_one(&app, &t, "contacts", json!({"email": "lonely@example.com"})).await;
    let pair = create_one(&app, &t, "contacts", json!({"email": "pair@example.com"})).await;
    // Primary writes the unlabeled type as well: one row per (id, type).
    let ans = app
        .call(
            Method::PUT,
            Some(&t),
            &format!(
                "/crm/v4/objects/contacts/{pair}/associations/companies/{}",
                companies[0]
            ),
            Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}])),
        )
        .await;
    assert_eq!(ans.status.as_u16(), 201, "{}", ans.text);

    // singer's contacts_by_company, in every spelling of the pair.
    for (from, to) in [
        ("contacts", "companies"),
        ("contact", "company"),
        ("0-1", "0-2"),
        ("contact", "companies"),
    ] {
        let path = format!("/crm/v3/associations/{from}/{to}/batch/read");
        let ans = app
            .post(
                &t,
                &path,
                json!({"inputs": [{"id": pair}, {"id": contact}, {"id": lonely}, {"id": "nope"}]}),
            )
            .await;
        let (results, errors) = assert_batch_partial(&ans);
        assert_eq!(results.len(), 2, "{path}: {}", ans.text);
        let by_from = |id: &str| {
            results
                .iter()
                .find(|r| r["from"]["id"] == id)
                .unwrap_or_else(|| panic!("{id} in {}", ans.text))
        };
        let p = by_from(&pair);
        let mut rows: Vec<Value> = p["to"].as_array().expect("to").clone();
        rows.sort_by_key(|r| r["type"].as_str().map(str::to_owned));
        assert_eq!(
            rows,
            [
                json!({"id": companies[0], "type": "contact_to_company"}),
                json!({"id": companies[0], "type": "contact_to_company_unlabeled"}),
            ],
            "{path}"
        );
        assert!(p.get("paging").is_none());
        // 100 targets per from; the rest is the per-record endpoint's.
        let c = by_from(&contact);
        let to: Vec<&str> = c["to"]
            .as_array()
            .expect("to")
            .iter()
            .map(|r| r["id"].as_str().expect("id"))
            .collect();
        let first: Vec<&str> = companies[..100].iter().map(String::as_str).collect();
        assert_eq!(to, first, "{path}");
        assert!(c["to"]
            .as_array()
            .expect("to")
            .iter()
            .all(|r| r["type"] == "contact_to_company_unlabeled"));
        let next = &c["paging"]["next"];
        let link = next["link"].as_str().expect("link");
        let after = next["after"].as_str().expect("after");
        assert!(
            link.ends_with(&format!(
                "/crm/v3/objects/0-1/{contact}/associations/0-2?after={after}"
            )),
            "{link}"
        );
        let rest_path = &link[link.find("/crm/").expect("path")..];
        let rest = app.get(&t, rest_path).await;
        ok(&rest, rest_path);
        assert_eq!(
            rest.body,
            json!({"results": [{"id": companies[100], "type": "contact_to_company_unlabeled"}]})
        );
        assert_eq!(errors.len(), 2, "{}", ans.text);
        let messages: Vec<&str> = errors
            .iter()
            .map(|e| e["message"].as_str().expect("message"))
            .collect();
        assert!(messages.contains(&"nope is not a valid object identifier."));
        assert!(
            messages.contains(&format!("No company is associated with contact {lonely}.").as_str())
        );
    }

    // Per record: limit 500 by default, one row per (id, type), pages by `after` to the end.
    let all = app
        .get(
            &t,
            &format!("/crm/v3/objects/contact/{contact}/associations/companies"),
        )
        .await;
    ok(&all, "per record");
    assert_eq!(all.body["results"].as_array().map(Vec::len), Some(101));
    assert!(all.body.get("paging").is_none());
    let mut seen = Vec::new();
    let mut path = format!("/crm/v3/objects/contacts/{contact}/associations/company?limit=40");
    loop {
        let ans = app.get(&t, &path).await;
        ok(&ans, &path);
        for r in ans.body["results"].as_array().expect("results") {
            seen.push(r["id"].as_str().expect("id").to_owned());
        }
        match ans.body["paging"]["next"]["link"].as_str() {
            Some(link) => path = link[link.find("/crm/").expect("path")..].to_owned(),
            None => break,
        }
        assert!(seen.len() <= 101);
    }
    assert_eq!(seen, companies);
    let ans = app
        .get(&t, &format!("/crm/v3/objects/0-1/{pair}/associations/0-2"))
        .await;
    assert_eq!(
        ans.body["results"].as_array().map(Vec::len),
        Some(2),
        "{}",
        ans.text
    );
    let ans = app
        .get(
            &t,
            &format!("/crm/v3/objects/contacts/{lonely}/associations/companies"),
        )
        .await;
    assert_eq!(ans.body, json!({"results": []}));

    // Types of the pair: ids as strings, v3 names.
    for path in [
        "/crm/v3/associations/contacts/companies/types",
        "/crm/v3/associations/contact/0-2/types",
    ] {
        let ans = app.get(&t, path).await;
        ok(&ans, path);
        let results = ans.body["results"].as_array().expect("results");
        assert!(
            results.contains(&json!({"id": "1", "name": "contact_to_company"})),
            "{}",
            ans.text
        );
        assert!(
            results.contains(&json!({"id": "279", "name": "contact_to_company_unlabeled"})),
            "{}",
            ans.text
        );
    }

    // Bad input.
    let ans = app
        .get(
            &t,
            &format!("/crm/v3/objects/contacts/{contact}/associations/widgets"),
        )
        .await;
    assert_error(&ans, 400, None, "Unable to infer object type from: widgets");
    let ans = app
        .get(&t, "/crm/v3/objects/contacts/abc/associations/companies")
        .await;
    assert_eq!(ans.status.as_u16(), 404, "{}", ans.text);
    assert_wire_error(&ans);
    let ans = app
        .get(
            &t,
            &format!("/crm/v3/objects/contacts/{contact}/associations/companies?after=%%%"),
        )
        .await;
    assert_eq!(ans.status.as_u16(), 400, "{}", ans.text);
    assert_wire_error(&ans);
    let ans = app
        .post(
            &t,
            "/crm/v3/associations/widgets/companies/batch/read",
            json!({"inputs": []}),
        )
        .await;
    assert_error(&ans, 400, None, "Unable to infer object type from: widgets");
    let inputs: Vec<Value> = (0..1001).map(|i| json!({"id": i.to_string()})).collect();
    let ans = app
        .post(
            &t,
            "/crm/v3/associations/contacts/companies/batch/read",
            json!({"inputs": inputs}),
        )
        .await;
    assert_eq!(ans.status.as_u16(), 400, "{}", ans.text);
    let ans = app
        .post(
            &t,
            "/crm/v3/associations/contacts/companies/batch/read",
            json!({"inputs": "x"}),
        )
        .await;
    assert_eq!(ans.status.as_u16(), 400, "{}", ans.text);
    assert_wire_error(&ans);
    // The target type's read scope, like inline associations.
    let contacts_only = app.token(9, &["crm.objects.contacts.read"]).await;
    let ans = app
        .get(
            &contacts_only,
            &format!("/crm/v3/objects/contacts/{contact}/associations/companies"),
        )
        .await;
    assert_eq!(ans.status.as_u16(), 403, "{}", ans.text);
}

/// Singular, plural and id names in every path family, mixed within one path.
#[tokio::test]
async fn every_path_takes_every_spelling_of_a_type() {
    let app = TestApp::spawn().await;
    let t = app.token(11, &["all"]).await;
    let contact = create_one(&app, &t, "contacts", json!({"email": "s@example.com"})).await;
    let company = create_one(&app, &t, "companies", json!({"name": "S"})).await;
    let ans = app
        .call(
            Method::PUT,
            Some(&t),
            &format!("/crm/v4/objects/contact/{contact}/associations/default/company/{company}"),
            None,
        )
        .await;
    ok(&ans, "associate by singular names");
    for (method, path, body) in [
        (
            Method::GET,
            format!("/crm/v3/objects/contact/{contact}"),
            None,
        ),
        (Method::GET, format!("/crm/v3/objects/0-1/{contact}"), None),
        (
            Method::GET,
            "/crm/v3/objects/CONTACTS?limit=1".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/crm/v3/objects/contact/search".to_owned(),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/crm/v3/objects/0-1/batch/read".to_owned(),
            Some(json!({"inputs": [{"id": contact}]})),
        ),
        (Method::GET, "/crm/v3/properties/contact".to_owned(), None),
        (Method::GET, "/crm/v3/properties/0-1/email".to_owned(), None),
        (
            Method::GET,
            "/crm/v3/properties/deal/groups".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/crm/v4/associations/contact/companies/batch/read".to_owned(),
            Some(json!({"inputs": [{"id": contact}]})),
        ),
        (
            Method::POST,
            "/crm/v4/associations/0-1/company/batch/read".to_owned(),
            Some(json!({"inputs": [{"id": contact}]})),
        ),
        (
            Method::GET,
            format!("/crm/v4/objects/contact/{contact}/associations/0-2"),
            None,
        ),
        (
            Method::GET,
            "/crm/v4/associations/contact/company/labels".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/crm/v3/associations/contact/companies/batch/read".to_owned(),
            Some(json!({"inputs": [{"id": contact}]})),
        ),
        (
            Method::GET,
            format!("/crm/v3/objects/0-1/{contact}/associations/company"),
            None,
        ),
        (
            Method::GET,
            format!("/crm/v3/objects/contact/{contact}?associations=company"),
            None,
        ),
        (Method::GET, "/crm/v4/objects/contact".to_owned(), None),
        (
            Method::GET,
            "/properties/v2/contact/properties".to_owned(),
            None,
        ),
    ] {
        let ans = app.call(method.clone(), Some(&t), &path, body).await;
        ok(&ans, &format!("{method} {path}"));
        assert!(
            ans.text.contains(&contact)
                || ans.text.contains(&company)
                || path.contains("propert")
                || path.contains("labels"),
            "{method} {path}: {}",
            ans.text
        );
    }
}
