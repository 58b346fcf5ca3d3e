//! Engagements and the other object types connectors sync (hubspot-behavior-platform.md
//! §24): calls, emails, meetings, notes, tasks, communications, postal mail, quotes, leads,
//! goal targets, and the read-only feedback submissions and deal splits. Each test runs the
//! same checks over every type of the table.

use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::support::*;

/// One type as a test sees it.
struct Kind {
    name: &'static str,
    singular: &'static str,
    id: &'static str,
    upper: &'static str,
    /// Required properties, in the order HubSpot's error lists them.
    required: &'static [&'static str],
    /// A valid create body's properties; the first string value is matched by `query`.
    valid: fn() -> Value,
    /// The property `query` matches, and the word in it.
    searched: Option<(&'static str, &'static str)>,
    /// A scope that grants reading and one that grants writing.
    read: &'static str,
    write: &'static str,
    /// HUBSPOT_DEFINED type ids to contacts, companies, deals, tickets: (this→that,
    /// that→this).
    links: [(i64, i64); 4],
}

const TIMESTAMP: &str = "2024-01-15T10:00:00.123Z";

fn kinds() -> Vec<Kind> {
    let eng = |name, singular, id, upper, body: &'static str, links| Kind {
        name,
        singular,
        id,
        upper,
        required: &["hs_timestamp"],
        valid: match body {
            "hs_call_title" => {
                || json!({"hs_timestamp": TIMESTAMP, "hs_call_title": "needle call", "hs_call_direction": "INBOUND", "hs_call_status": "COMPLETED"})
            }
            "hs_email_subject" => {
                || json!({"hs_timestamp": TIMESTAMP, "hs_email_subject": "needle email", "hs_email_direction": "EMAIL", "hs_email_status": "SENT"})
            }
            "hs_meeting_title" => {
                || json!({"hs_timestamp": TIMESTAMP, "hs_meeting_title": "needle meeting", "hs_meeting_outcome": "SCHEDULED"})
            }
            "hs_note_body" => || json!({"hs_timestamp": TIMESTAMP, "hs_note_body": "needle note"}),
            "hs_task_subject" => {
                || json!({"hs_timestamp": TIMESTAMP, "hs_task_subject": "needle task", "hs_task_status": "NOT_STARTED", "hs_task_priority": "HIGH", "hs_task_type": "TODO"})
            }
            "hs_communication_body" => {
                || json!({"hs_timestamp": TIMESTAMP, "hs_communication_body": "needle sms", "hs_communication_channel_type": "SMS", "hs_communication_logged_from": "CRM"})
            }
            _ => || json!({"hs_timestamp": TIMESTAMP, "hs_postal_mail_body": "needle letter"}),
        },
        searched: Some((body, "needle")),
        read: "crm.objects.contacts.read",
        write: "crm.objects.contacts.write",
        links,
    };
    vec![
        eng(
            "calls",
            "call",
            "0-48",
            "CALL",
            "hs_call_title",
            [(194, 193), (182, 181), (206, 205), (220, 219)],
        ),
        eng(
            "emails",
            "email",
            "0-49",
            "EMAIL",
            "hs_email_subject",
            [(198, 197), (186, 185), (210, 209), (224, 223)],
        ),
        eng(
            "meetings",
            "meeting",
            "0-47",
            "MEETING",
            "hs_meeting_title",
            [(200, 199), (188, 187), (212, 211), (226, 225)],
        ),
        eng(
            "notes",
            "note",
            "0-46",
            "NOTE",
            "hs_note_body",
            [(202, 201), (190, 189), (214, 213), (228, 227)],
        ),
        eng(
            "tasks",
            "task",
            "0-27",
            "TASK",
            "hs_task_subject",
            [(204, 203), (192, 191), (216, 215), (230, 229)],
        ),
        eng(
            "communications",
            "communication",
            "0-18",
            "COMMUNICATION",
            "hs_communication_body",
            [(81, 82), (87, 88), (85, 86), (83, 84)],
        ),
        eng(
            "postal_mail",
            "postal_mail",
            "0-116",
            "POSTAL_MAIL",
            "hs_postal_mail_body",
            [(453, 454), (459, 460), (457, 458), (455, 456)],
        ),
        Kind {
            name: "quotes",
            singular: "quote",
            id: "0-14",
            upper: "QUOTE",
            required: &["hs_title", "hs_expiration_date"],
            valid: || json!({"hs_title": "needle quote", "hs_expiration_date": "2026-12-31", "hs_status": "DRAFT"}),
            searched: Some(("hs_title", "needle")),
            read: "crm.objects.quotes.read",
            write: "crm.objects.quotes.write",
            links: [(69, 70), (71, 72), (64, 63), (0, 0)],
        },
        Kind {
            name: "leads",
            singular: "lead",
            id: "0-136",
            upper: "LEAD",
            required: &["hs_lead_name"],
            valid: || json!({"hs_lead_name": "needle lead", "hs_lead_type": "NEW_BUSINESS", "hs_lead_label": "WARM"}),
            searched: Some(("hs_lead_name", "needle")),
            read: "crm.objects.leads.read",
            write: "crm.objects.leads.write",
            links: [(608, 609), (610, 611), (1037, 1038), (0, 0)],
        },
        Kind {
            name: "goal_targets",
            singular: "goal_target",
            id: "0-74",
            upper: "GOAL_TARGET",
            required: &[],
            valid: || json!({"hs_goal_name": "needle goal", "hs_target_amount": "1000", "hs_start_datetime": TIMESTAMP}),
            searched: Some(("hs_goal_name", "needle")),
            read: "crm.objects.goals.read",
            write: "crm.objects.goals.write",
            links: [(0, 0), (0, 0), (1356, 1357), (0, 0)],
        },
    ]
}

/// The read-only types: loaded as `spoke import` loads them.
struct ReadOnly {
    name: &'static str,
    singular: &'static str,
    id: &'static str,
    record: fn() -> Value,
    searched: Option<&'static str>,
    read: &'static str,
    /// (to type, this→that, that→this)
    links: &'static [(&'static str, i64, i64)],
}

fn read_only() -> Vec<ReadOnly> {
    vec![
        ReadOnly {
            name: "feedback_submissions",
            singular: "feedback_submission",
            id: "0-19",
            record: || json!({"hs_content": "needle feedback", "hs_survey_type": "NPS", "hs_value": "9"}),
            searched: Some("needle"),
            read: "crm.objects.feedback_submissions.read",
            links: &[
                ("contacts", 98, 97),
                ("companies", 928, 929),
                ("deals", 984, 985),
                ("tickets", 100, 99),
            ],
        },
        ReadOnly {
            name: "deal_splits",
            singular: "deal_split",
            id: "0-1502",
            record: || json!({"hs_deal_split_amount": "640.0", "hs_deal_split_percentage": "0.2"}),
            searched: None,
            read: "crm.dealsplits.read_write",
            links: &[("deals", 314, 313)],
        },
    ]
}

const TARGETS: [&str; 4] = ["contacts", "companies", "deals", "tickets"];

/// One record of each of contacts, companies, deals, tickets.
async fn targets(app: &TestApp, t: &str) -> [String; 4] {
    [
        create_one(app, t, "contacts", json!({"email": "eng@example.com"})).await,
        create_one(app, t, "companies", json!({"name": "Acme"})).await,
        create_one(app, t, "deals", json!({"dealname": "Big"})).await,
        create_one(app, t, "tickets", json!({"subject": "Help"})).await,
    ]
}

/// The (toObjectId, typeIds) of a record's v4 associations to `to`.
async fn links_of(
    app: &TestApp,
    t: &str,
    from: &str,
    id: &str,
    to: &str,
) -> Vec<(String, Vec<i64>)> {
    let ans = app
        .get(t, &format!("/crm/v4/objects/{from}/{id}/associations/{to}"))
        .await;
    assert_eq!(ans.status, 200, "{from}/{id} -> {to}: {}", ans.text);
    ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let mut ids: Vec<i64> = r["associationTypes"]
                .as_array()
                .expect("types")
                .iter()
                .inspect(|ty| {
                    assert_eq!(ty["category"], "HUBSPOT_DEFINED", "{}", ans.text);
                    assert!(ty["label"].is_null(), "{}", ans.text);
                })
                .map(|ty| ty["typeId"].as_i64().expect("typeId"))
                .collect();
            ids.sort();
            (r["toObjectId"].to_string(), ids)
        })
        .collect()
}

#[tokio::test]
async fn creates_without_required_properties_get_hubspots_400() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for k in kinds() {
        let path = format!("/crm/v3/objects/{}", k.name);
        // Nothing set at all.
        let ans = app.post(&t, &path, json!({"properties": {}})).await;
        if k.required.is_empty() {
            assert_eq!(ans.status, 201, "{}: {}", k.name, ans.text);
            continue;
        }
        let body = assert_error(
            &ans,
            400,
            Some("VALIDATION_ERROR"),
            &format!(
                "Error creating {}. Some required properties were not set.",
                k.upper
            ),
        );
        assert_eq!(
            body["context"],
            json!({"properties": k.required}),
            "{}",
            k.name
        );
        // An empty value does not set it either.
        let mut props = (k.valid)();
        props[k.required[0]] = json!("");
        let ans = app.post(&t, &path, json!({"properties": props})).await;
        assert_eq!(ans.status, 400, "{}: {}", k.name, ans.text);
        assert_eq!(ans.body["context"]["properties"], json!([k.required[0]]));

        // A batch without trace ids is refused whole; with them, item by item.
        let ans = app
            .post(
                &t,
                &format!("{path}/batch/create"),
                json!({"inputs": [{"properties": (k.valid)()}, {"properties": {}}]}),
            )
            .await;
        assert_eq!(ans.status, 400, "{}: {}", k.name, ans.text);
        assert_eq!(ans.body["context"]["properties"], json!(k.required));
        let ans = app
            .post(
                &t,
                &format!("{path}/batch/create"),
                json!({"inputs": [
                    {"properties": (k.valid)(), "objectWriteTraceId": "ok"},
                    {"properties": {}, "objectWriteTraceId": "bad"}
                ]}),
            )
            .await;
        let (results, errors) = assert_batch_partial(&ans);
        assert_eq!(results.len(), 1, "{}: {}", k.name, ans.text);
        assert_eq!(errors.len(), 1, "{}: {}", k.name, ans.text);
        assert_eq!(
            errors[0]["message"],
            format!(
                "Error creating {}. Some required properties were not set.",
                k.upper
            )
        );
        assert_eq!(errors[0]["context"]["objectWriteTraceId"], json!(["bad"]));
    }
}

#[tokio::test]
async fn every_type_creates_reads_lists_searches_and_archives() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for k in kinds() {
        let path = format!("/crm/v3/objects/{}", k.name);
        let ans = app
            .post(&t, &path, json!({"properties": (k.valid)()}))
            .await;
        assert_eq!(ans.status, 201, "{}: {}", k.name, ans.text);
        assert_record_shape(&ans.text, "", &ans.body);
        let id = ans.body["id"].as_str().expect("id").to_owned();
        for (name, value) in (k.valid)().as_object().expect("props") {
            if name == "hs_expiration_date" {
                continue;
            }
            assert_eq!(prop(&ans.body, name), value, "{}: {}", k.name, ans.text);
        }
        assert_eq!(prop(&ans.body, "hs_object_id"), &ans.body["id"]);

        // Epoch milliseconds are accepted and read back as ISO.
        if k.required.contains(&"hs_timestamp") {
            let mut props = (k.valid)();
            props["hs_timestamp"] = json!("1705312800123");
            let ans = app.post(&t, &path, json!({"properties": props})).await;
            assert_eq!(ans.status, 201, "{}: {}", k.name, ans.text);
            assert_eq!(prop(&ans.body, "hs_timestamp"), TIMESTAMP);
            let other = ans.body["id"].as_str().expect("id").to_owned();
            assert_eq!(app.delete(&t, &format!("{path}/{other}")).await.status, 204);
        }

        // The type is addressed by plural, singular and id alike.
        for alias in [k.name, k.singular, k.id] {
            let ans = app.get(&t, &format!("/crm/v3/objects/{alias}/{id}")).await;
            assert_eq!(ans.status, 200, "{alias}: {}", ans.text);
            let mut shown = prop_names(&ans.body);
            shown.sort();
            let mut defaults = if k.name == "quotes" {
                vec![
                    "hs_createdate",
                    "hs_expiration_date",
                    "hs_lastmodifieddate",
                    "hs_object_id",
                    "hs_public_url_key",
                    "hs_status",
                    "hs_title",
                ]
            } else {
                vec!["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
            };
            defaults.sort();
            assert_eq!(shown, defaults, "{alias}: default properties: {}", ans.text);
        }

        assert_eq!(
            list_all_ids(&app, &t, k.name, false).await,
            vec![id.clone()]
        );

        if let Some((property, word)) = k.searched {
            let ans = app
                .post(
                    &t,
                    &format!("{path}/search"),
                    json!({"query": word.to_uppercase(), "properties": [property]}),
                )
                .await;
            assert_eq!(ans.status, 200, "{}: {}", k.name, ans.text);
            assert_eq!(ans.body["total"], 1, "{}: {}", k.name, ans.text);
            assert_eq!(ans.body["results"][0]["id"], id.as_str());
            let ans = app
                .post(&t, &format!("{path}/search"), json!({"query": "absent"}))
                .await;
            assert_eq!(ans.body["total"], 0, "{}: {}", k.name, ans.text);
        }

        // Batch create, read, update, archive.
        let ans = app
            .post(
                &t,
                &format!("{path}/batch/create"),
                json!({"inputs": [{"properties": (k.valid)()}, {"properties": (k.valid)()}]}),
            )
            .await;
        let created = ids_of(assert_batch_ok(&ans, 201));
        assert_eq!(created.len(), 2, "{}: {}", k.name, ans.text);
        let inputs: Vec<Value> = created.iter().map(|i| json!({"id": i})).collect();
        let ans = app
            .post(&t, &format!("{path}/batch/read"), json!({"inputs": inputs}))
            .await;
        assert_eq!(
            assert_batch_ok(&ans, 200).len(),
            2,
            "{}: {}",
            k.name,
            ans.text
        );
        let property = k.searched.map_or("hs_goal_name", |(p, _)| p);
        let update: Vec<Value> = created
            .iter()
            .map(|i| json!({"id": i, "properties": {property: "updated"}}))
            .collect();
        let expected = (property, "updated");
        let ans = app
            .post(
                &t,
                &format!("{path}/batch/update"),
                json!({"inputs": update}),
            )
            .await;
        for r in assert_batch_ok(&ans, 200) {
            assert_eq!(prop(r, expected.0), expected.1, "{}: {}", k.name, ans.text);
        }
        let ans = app
            .post(
                &t,
                &format!("{path}/batch/archive"),
                json!({"inputs": inputs}),
            )
            .await;
        assert_eq!(ans.status, 204, "{}: {}", k.name, ans.text);

        let ans = app.delete(&t, &format!("{path}/{id}")).await;
        assert_eq!(ans.status, 204, "{}: {}", k.name, ans.text);
        assert!(list_all_ids(&app, &t, k.name, false).await.is_empty());
        // The record, the two of the batch, and the one written with epoch milliseconds.
        let archived = if k.required.contains(&"hs_timestamp") {
            4
        } else {
            3
        };
        assert_eq!(
            list_all_ids(&app, &t, k.name, true).await.len(),
            archived,
            "{}",
            k.name
        );
    }
}

#[tokio::test]
async fn associations_carry_hubspots_type_ids_in_both_directions() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let others = targets(&app, &t).await;
    for k in kinds() {
        // Inline on create, with the type id to contacts.
        let to_contact = k.links[0].0;
        let mut body = json!({"properties": (k.valid)()});
        if to_contact != 0 {
            body["associations"] = json!([{
                "to": {"id": others[0]},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": to_contact}]
            }]);
        }
        let ans = app
            .post(&t, &format!("/crm/v3/objects/{}", k.name), body)
            .await;
        assert_eq!(ans.status, 201, "{}: {}", k.name, ans.text);
        let id = ans.body["id"].as_str().expect("id").to_owned();
        for (i, to) in TARGETS.iter().enumerate() {
            let (there, back) = k.links[i];
            if there == 0 {
                continue;
            }
            if i > 0 || to_contact == 0 {
                let ans = app
                    .call(
                        reqwest::Method::PUT,
                        Some(&t),
                        &format!(
                            "/crm/v4/objects/{}/{id}/associations/default/{to}/{}",
                            k.name, others[i]
                        ),
                        None,
                    )
                    .await;
                assert_eq!(ans.status, 200, "{} -> {to}: {}", k.name, ans.text);
            }
            let forward = links_of(&app, &t, k.name, &id, to).await;
            assert_eq!(
                forward,
                vec![(others[i].clone(), vec![there])],
                "{} -> {to}",
                k.name
            );
            let backward = links_of(&app, &t, to, &others[i], k.name).await;
            assert_eq!(
                backward,
                vec![(id.clone(), vec![back])],
                "{to} -> {}",
                k.name
            );
        }
        // The inline form of a wrong pair's id is refused.
        let ans = app
            .post(
                &t,
                &format!("/crm/v3/objects/{}", k.name),
                json!({"properties": (k.valid)(), "associations": [{
                    "to": {"id": others[0]},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 999_999}]
                }]}),
            )
            .await;
        assert_eq!(ans.status, 400, "{}: {}", k.name, ans.text);
    }
    // Airbyte's engagement streams read associations in batches, singular from, plural to.
    let note = create_one(&app, &t, "notes", json!({"hs_timestamp": TIMESTAMP})).await;
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/note/contacts/batch/associate/default",
            json!({"inputs": [{"from": {"id": note}, "to": {"id": others[0]}}]}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/note/contacts/batch/read",
            json!({"inputs": [{"id": note}]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 200);
    assert_eq!(
        results[0]["to"][0]["associationTypes"][0]["typeId"], 202,
        "{}",
        ans.text
    );
}

#[tokio::test]
async fn properties_of_each_type_are_listed_with_their_types_and_options() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let expect: &[(&str, &str, &str, &[&str])] = &[
        ("calls", "hs_timestamp", "datetime", &[]),
        (
            "calls",
            "hs_call_direction",
            "enumeration",
            &["INBOUND", "OUTBOUND"],
        ),
        (
            "calls",
            "hs_call_status",
            "enumeration",
            &[
                "BUSY",
                "CALLING_CRM_USER",
                "CANCELED",
                "COMPLETED",
                "CONNECTING",
                "FAILED",
                "IN_PROGRESS",
                "NO_ANSWER",
                "QUEUED",
                "RINGING",
            ],
        ),
        (
            "tasks",
            "hs_task_priority",
            "enumeration",
            &["NONE", "LOW", "MEDIUM", "HIGH"],
        ),
        (
            "tasks",
            "hs_task_type",
            "enumeration",
            &[
                "EMAIL",
                "CALL",
                "TODO",
                "LINKED_IN_CONNECT",
                "LINKED_IN_MESSAGE",
            ],
        ),
        (
            "meetings",
            "hs_meeting_outcome",
            "enumeration",
            &[
                "SCHEDULED",
                "COMPLETED",
                "RESCHEDULED",
                "NO_SHOW",
                "CANCELED",
            ],
        ),
        (
            "emails",
            "hs_email_direction",
            "enumeration",
            &["EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"],
        ),
        (
            "communications",
            "hs_communication_channel_type",
            "enumeration",
            &["WHATS_APP", "LINKEDIN_MESSAGE", "SMS"],
        ),
        ("notes", "hubspot_owner_id", "enumeration", &[]),
        ("quotes", "hs_expiration_date", "date", &[]),
        ("leads", "hs_lead_name", "string", &[]),
        ("goal_targets", "hs_target_amount", "number", &[]),
        (
            "feedback_submissions",
            "hs_survey_type",
            "enumeration",
            &["NPS", "CSAT", "CES", "CUSTOM"],
        ),
        ("deal_splits", "hs_deal_split_percentage", "number", &[]),
    ];
    for (ty, name, kind, options) in expect {
        let ans = app
            .get(&t, &format!("/crm/v3/properties/{ty}/{name}"))
            .await;
        assert_eq!(ans.status, 200, "{ty}.{name}: {}", ans.text);
        assert_eq!(ans.body["type"], *kind, "{ty}.{name}");
        let values: Vec<&str> = ans.body["options"]
            .as_array()
            .expect("options")
            .iter()
            .filter_map(|o| o["value"].as_str())
            .collect();
        assert_eq!(values, *options, "{ty}.{name}");
    }
    for k in kinds() {
        let ans = app.get(&t, &format!("/crm/v3/properties/{}", k.name)).await;
        assert_eq!(ans.status, 200, "{}: {}", k.name, ans.text);
        let names: Vec<&str> = ans.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for required in k
            .required
            .iter()
            .chain(["hs_object_id", "hs_createdate", "hs_lastmodifieddate"].iter())
        {
            assert!(
                names.contains(required),
                "{}: {required} in {names:?}",
                k.name
            );
        }
    }
    // An option outside the list is refused.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": TIMESTAMP, "hs_call_direction": "SIDEWAYS"}}),
        )
        .await;
    assert_eq!(ans.status, 400, "{}", ans.text);
}

#[tokio::test]
async fn each_type_needs_its_own_scopes() {
    let app = TestApp::spawn().await;
    let unrelated = app
        .token(
            1,
            &["crm.objects.companies.read", "crm.objects.companies.write"],
        )
        .await;
    for k in kinds() {
        let path = format!("/crm/v3/objects/{}", k.name);
        let ans = app.get(&unrelated, &path).await;
        assert_error(&ans, 403, Some("MISSING_SCOPES"), SCOPES_MESSAGE);
        let reader = app.token(1, &[k.read]).await;
        assert_eq!(app.get(&reader, &path).await.status, 200, "{}", k.name);
        let ans = app
            .post(&reader, &path, json!({"properties": (k.valid)()}))
            .await;
        assert_error(&ans, 403, Some("MISSING_SCOPES"), SCOPES_MESSAGE);
        let writer = app.token(1, &[k.write]).await;
        let ans = app
            .post(&writer, &path, json!({"properties": (k.valid)()}))
            .await;
        assert_eq!(ans.status, 201, "{}: {}", k.name, ans.text);
    }
    // Emails also take `sales-email-read`, as their spec lists it for every operation.
    let t = app.token(1, &["sales-email-read"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/emails",
            json!({"properties": {"hs_timestamp": TIMESTAMP}}),
        )
        .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    for r in read_only() {
        let path = format!("/crm/v3/objects/{}", r.name);
        let ans = app.get(&unrelated, &path).await;
        assert_error(&ans, 403, Some("MISSING_SCOPES"), SCOPES_MESSAGE);
        let reader = app.token(1, &[r.read]).await;
        assert_eq!(app.get(&reader, &path).await.status, 200, "{}", r.name);
    }
}

#[tokio::test]
async fn read_only_types_are_read_but_never_written() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let others = targets(&app, &t).await;
    for r in read_only() {
        let ids = import_records(&app, 1, r.name, &[], vec![(r.record)()]).await;
        let id = &ids[0];
        let path = format!("/crm/v3/objects/{}", r.name);
        for alias in [r.name, r.singular, r.id] {
            let ans = app.get(&t, &format!("/crm/v3/objects/{alias}/{id}")).await;
            assert_eq!(ans.status, 200, "{alias}: {}", ans.text);
        }
        assert_eq!(
            list_all_ids(&app, &t, r.name, false).await,
            vec![id.clone()]
        );
        let ans = app
            .post(
                &t,
                &format!("{path}/batch/read"),
                json!({"inputs": [{"id": id}]}),
            )
            .await;
        assert_eq!(assert_batch_ok(&ans, 200).len(), 1);
        if let Some(word) = r.searched {
            let ans = app
                .post(&t, &format!("{path}/search"), json!({"query": word}))
                .await;
            assert_eq!(ans.body["total"], 1, "{}: {}", r.name, ans.text);
        }

        let refused = |op: &str| {
            format!(
                "The {op} operation is not supported for {}: HubSpot writes them and its API only reads them. Use `spoke import` to load them.",
                r.name
            )
        };
        let props = json!({"properties": (r.record)()});
        let ans = app.post(&t, &path, props.clone()).await;
        assert_error(&ans, 400, Some("VALIDATION_ERROR"), &refused("create"));
        let ans = app.patch(&t, &format!("{path}/{id}"), props.clone()).await;
        assert_error(&ans, 400, Some("VALIDATION_ERROR"), &refused("update"));
        let ans = app.delete(&t, &format!("{path}/{id}")).await;
        assert_error(&ans, 400, Some("VALIDATION_ERROR"), &refused("archive"));
        for op in ["create", "update", "upsert", "archive"] {
            let ans = app
                .post(&t, &format!("{path}/batch/{op}"), json!({"inputs": []}))
                .await;
            assert_error(&ans, 400, Some("VALIDATION_ERROR"), &refused(op));
        }
        let ans = app
            .post(
                &t,
                &format!("/crm/v3/properties/{}", r.name),
                json!({"name": "mine", "label": "Mine", "type": "string", "fieldType": "text", "groupName": format!("{}_information", r.singular)}),
            )
            .await;
        assert_error(&ans, 400, Some("VALIDATION_ERROR"), &refused("create"));
        let ans = app
            .post(
                &t,
                &format!("/crm/v3/properties/{}/groups", r.name),
                json!({"name": "mine", "label": "Mine"}),
            )
            .await;
        assert_error(
            &ans,
            400,
            Some("VALIDATION_ERROR"),
            &refused("groups-create"),
        );
        assert_eq!(
            list_all_ids(&app, &t, r.name, false).await,
            vec![id.clone()]
        );

        // Their associations are written like any other's.
        for (to, there, back) in r.links {
            let i = TARGETS.iter().position(|x| x == to).expect("target");
            let ans = app
                .call(
                    reqwest::Method::PUT,
                    Some(&t),
                    &format!(
                        "/crm/v4/objects/{}/{id}/associations/default/{to}/{}",
                        r.name, others[i]
                    ),
                    None,
                )
                .await;
            assert_eq!(ans.status, 200, "{} -> {to}: {}", r.name, ans.text);
            let forward = links_of(&app, &t, r.name, id, to).await;
            assert_eq!(
                forward,
                vec![(others[i].clone(), vec![*there])],
                "{} -> {to}",
                r.name
            );
            let backward = links_of(&app, &t, to, &others[i], r.name).await;
            assert_eq!(
                backward,
                vec![(id.clone(), vec![*back])],
                "{to} -> {}",
                r.name
            );
        }
    }
}

#[tokio::test]
async fn user_labels_step_over_hubspot_defined_ids_above_1000() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    // Enough labels on another pair to bring the portal's next id to 1037, leads↔deals'.
    for i in 0..18 {
        let ans = app
            .post(
                &t,
                "/crm/associations/v4/contacts/companies/labels",
                json!({"label": format!("L{i}"), "name": format!("l{i}"), "inverseLabel": format!("I{i}")}),
            )
            .await;
        assert_eq!(ans.status, 200, "{}", ans.text);
    }
    let ans = app
        .post(
            &t,
            "/crm/associations/v4/leads/deals/labels",
            json!({"label": "Sourced", "name": "sourced", "inverseLabel": "Source"}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let ans = app.get(&t, "/crm/associations/v4/leads/deals/labels").await;
    let ids: Vec<i64> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["typeId"].as_i64())
        .collect();
    assert!(ids.contains(&1037), "{}", ans.text);
    let labelled: Vec<i64> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["label"] == "Sourced")
        .filter_map(|r| r["typeId"].as_i64())
        .collect();
    assert_eq!(labelled.len(), 1, "{}", ans.text);
    assert!(labelled[0] > 1038, "{}", ans.text);
}
