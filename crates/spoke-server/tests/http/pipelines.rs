//! Pipelines v3, the legacy read shapes, and record values checked against the portal's
//! pipelines (hubspot-behavior-platform.md §23).

use axum::http::Method;
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::support::{assert_error, create_one};

/// The default deal pipeline of a new portal, exactly as captured (§23.3).
const DEFAULT_DEALS: &str = r#"{"results":[{"label":"Sales Pipeline","displayOrder":0,"id":"default","stages":[{"label":"Appointment Scheduled","displayOrder":0,"metadata":{"isClosed":"false","probability":"0.2"},"id":"appointmentscheduled","createdAt":"1970-01-01T00:00:00Z","updatedAt":"1970-01-01T00:00:00Z","writePermissions":"CRM_PERMISSIONS_ENFORCEMENT","archived":false},{"label":"Qualified To Buy","displayOrder":1,"metadata":{"isClosed":"false","probability":"0.4"},"id":"qualifiedtobuy","createdAt":"1970-01-01T00:00:00Z","updatedAt":"1970-01-01T00:00:00Z","writePermissions":"CRM_PERMISSIONS_ENFORCEMENT","archived":false},{"label":"Presentation Scheduled","displayOrder":2,"metadata":{"isClosed":"false","probability":"0.6"},"id":"presentationscheduled","createdAt":"1970-01-01T00:00:00Z","updatedAt":"1970-01-01T00:00:00Z","writePermissions":"CRM_PERMISSIONS_ENFORCEMENT","archived":false},{"label":"Decision Maker Bought-In","displayOrder":3,"metadata":{"isClosed":"false","probability":"0.8"},"id":"decisionmakerboughtin","createdAt":"1970-01-01T00:00:00Z","updatedAt":"1970-01-01T00:00:00Z","writePermissions":"CRM_PERMISSIONS_ENFORCEMENT","archived":false},{"label":"Contract Sent","displayOrder":4,"metadata":{"isClosed":"false","probability":"0.9"},"id":"contractsent","createdAt":"1970-01-01T00:00:00Z","updatedAt":"1970-01-01T00:00:00Z","writePermissions":"CRM_PERMISSIONS_ENFORCEMENT","archived":false},{"label":"Closed Won","displayOrder":5,"metadata":{"isClosed":"true","probability":"1.0"},"id":"closedwon","createdAt":"1970-01-01T00:00:00Z","updatedAt":"1970-01-01T00:00:00Z","writePermissions":"CRM_PERMISSIONS_ENFORCEMENT","archived":false},{"label":"Closed Lost","displayOrder":6,"metadata":{"isClosed":"true","probability":"0.0"},"id":"closedlost","createdAt":"1970-01-01T00:00:00Z","updatedAt":"1970-01-01T00:00:00Z","writePermissions":"CRM_PERMISSIONS_ENFORCEMENT","archived":false}],"createdAt":"1970-01-01T00:00:00Z","updatedAt":"1970-01-01T00:00:00Z","archived":false}]}"#;

fn partners(label: &str) -> Value {
    json!({"label": label, "displayOrder": 1, "stages": [
        {"label": "Intro", "displayOrder": 0, "metadata": {"probability": "0.1"}},
        {"label": "Signed", "displayOrder": 1, "metadata": {"probability": 1, "isClosed": "true"}},
    ]})
}

#[tokio::test]
async fn a_new_portal_has_hubspots_default_pipelines_byte_for_byte() {
    let app = TestApp::spawn().await;
    let t = app.token(5101, &["all"]).await;
    let deals = app.get(&t, "/crm/v3/pipelines/deals").await;
    assert_eq!(deals.status, 200, "{}", deals.text);
    assert_eq!(deals.text, DEFAULT_DEALS);
    let tickets = app.get(&t, "/crm/v3/pipelines/tickets").await;
    let p = &tickets.body["results"][0];
    assert_eq!(p["id"], "0");
    assert_eq!(p["label"], "Support Pipeline");
    let ids: Vec<&str> = p["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4"]);
    assert_eq!(
        p["stages"][3]["metadata"],
        json!({"isClosed": "true", "ticketState": "CLOSED"})
    );
    assert_eq!(p["stages"][0]["label"], "New");
    // Types without pipelines are refused; unknown types as everywhere.
    let c = app.get(&t, "/crm/v3/pipelines/contacts").await;
    assert_eq!(c.status, 400, "{}", c.text);
    assert_eq!(c.body["category"], "VALIDATION_ERROR");
    let w = app.get(&t, "/crm/v3/pipelines/widgets").await;
    assert_error(&w, 400, None, "Unable to infer object type from: widgets");
}

#[tokio::test]
async fn pipelines_and_stages_round_trip_every_operation() {
    let app = TestApp::spawn().await;
    let t = app.token(5102, &["all"]).await;
    let made = app
        .post(&t, "/crm/v3/pipelines/deals", partners("Partners"))
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().expect("id").to_owned();
    assert!(id.parse::<u64>().is_ok(), "numeric id {id}");
    assert_eq!(made.body["stages"][1]["metadata"]["probability"], "1.0");
    let keys: Vec<&str> = made.text.split('"').collect();
    assert!(keys.iter().position(|k| *k == "label") < keys.iter().position(|k| *k == "stages"));

    let got = app.get(&t, &format!("/crm/v3/pipelines/deals/{id}")).await;
    assert_eq!(got.body, made.body);
    let list = app.get(&t, "/crm/v3/pipelines/deals").await;
    assert_eq!(list.body["results"].as_array().map(Vec::len), Some(2));

    // Same label twice, missing probability, probability out of range: 400.
    let dup = app
        .post(
            &t,
            "/crm/v3/pipelines/deals",
            json!({"label": "X", "displayOrder": 0, "stages": [
        {"label": "A", "displayOrder": 0, "metadata": {"probability": "0.1"}},
        {"label": "A", "displayOrder": 1, "metadata": {"probability": "0.2"}}]}),
        )
        .await;
    assert_eq!(dup.status, 400, "{}", dup.text);
    for metadata in [
        json!({}),
        json!({"probability": "1.5"}),
        json!({"probability": "x"}),
    ] {
        let bad = app
            .post(
                &t,
                "/crm/v3/pipelines/deals",
                json!({"label": "Y", "displayOrder": 0, "stages": [
            {"label": "A", "displayOrder": 0, "metadata": metadata}]}),
            )
            .await;
        assert_eq!(bad.status, 400, "{}", bad.text);
        assert_eq!(bad.body["category"], "VALIDATION_ERROR");
    }
    let missing = app
        .post(&t, "/crm/v3/pipelines/deals", json!({"label": "Z"}))
        .await;
    assert_error(
        &missing,
        400,
        Some("VALIDATION_ERROR"),
        "Missing required field(s): displayOrder, stages",
    );
    let too_many: Vec<Value> = (0..101).map(|i| json!({"label": format!("S{i}"), "displayOrder": i, "metadata": {"probability": "0.5"}})).collect();
    let big = app
        .post(
            &t,
            "/crm/v3/pipelines/deals",
            json!({"label": "Big", "displayOrder": 0, "stages": too_many}),
        )
        .await;
    assert_eq!(big.status, 400, "{}", big.text);

    // Stages.
    let stages = format!("/crm/v3/pipelines/deals/{id}/stages");
    let s = app
        .post(
            &t,
            &stages,
            json!({"label": "Review", "displayOrder": 5, "metadata": {"probability": 0.5}}),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.text);
    let sid = s.body["id"].as_str().expect("stage id").to_owned();
    let same = app
        .post(
            &t,
            &stages,
            json!({"label": "Review", "displayOrder": 6, "metadata": {"probability": 0.5}}),
        )
        .await;
    assert_eq!(same.status, 400, "{}", same.text);
    let listed = app.get(&t, &stages).await;
    assert_eq!(listed.body["results"].as_array().map(Vec::len), Some(3));
    let one = app.get(&t, &format!("{stages}/{sid}")).await;
    assert_eq!(one.body["label"], "Review");
    let put = app
        .call(
            Method::PUT,
            Some(&t),
            &format!("{stages}/{sid}"),
            Some(json!({"label": "Legal", "displayOrder": 2, "metadata": {"probability": "0.7"}})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["metadata"]["probability"], "0.7");
    let patched = app
        .patch(
            &t,
            &format!("{stages}/{sid}"),
            json!({"label": "Legal review", "metadata": {}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["label"], "Legal review");
    assert_eq!(patched.body["metadata"]["probability"], "0.7");
    let gone = app.delete(&t, &format!("{stages}/{sid}")).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let again = app.get(&t, &format!("{stages}/{sid}")).await;
    assert_eq!(again.status, 404, "{}", again.text);
    let audit = app.get(&t, &format!("{stages}/{sid}/audit")).await;
    let actions: Vec<&str> = audit.body["results"]
        .as_array()
        .expect("audit")
        .iter()
        .map(|a| a["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["DELETE", "UPDATE", "UPDATE", "CREATE"]);

    // Pipeline PATCH, PUT, archive, audit.
    let one = format!("/crm/v3/pipelines/deals/{id}");
    let p = app.patch(&t, &one, json!({"label": "Partner deals"})).await;
    assert_eq!(p.body["label"], "Partner deals");
    let no = app.patch(&t, &one, json!({"archived": true})).await;
    assert_eq!(no.status, 400, "{}", no.text);
    let put = app
        .call(
            Method::PUT,
            Some(&t),
            &one,
            Some(json!({"label": "Replaced", "displayOrder": 3, "stages": [
        {"label": "Only", "displayOrder": 0, "metadata": {"probability": "0.3"}}]})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["stages"].as_array().map(Vec::len), Some(1));
    let audit = app.get(&t, &format!("{one}/audit")).await;
    let first = &audit.body["results"][0];
    assert_eq!(first["identifier"], format!("5102:{id}"));
    assert_eq!(first["portalId"], 5102);
    assert_eq!(first["rawObject"]["label"], "Replaced");
    assert_eq!(app.delete(&t, &one).await.status, 204);
    let after = app.get(&t, &one).await;
    assert_eq!(after.status, 404, "{}", after.text);
    assert_eq!(after.body["category"], "OBJECT_NOT_FOUND");
    let restored = app.patch(&t, &one, json!({"archived": false})).await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(
        app.get(&t, "/crm/v3/pipelines/deals/nope").await.status,
        404
    );
    // At least one pipeline per type, at least one stage per pipeline.
    assert_eq!(app.delete(&t, &one).await.status, 204);
    let last = app.delete(&t, "/crm/v3/pipelines/deals/default").await;
    assert_eq!(last.status, 400, "{}", last.text);
    let tickets = "/crm/v3/pipelines/tickets/0/stages";
    for stage in ["1", "2", "3"] {
        assert_eq!(
            app.delete(&t, &format!("{tickets}/{stage}")).await.status,
            204
        );
    }
    let only = app.delete(&t, &format!("{tickets}/4")).await;
    assert_eq!(only.status, 400, "{}", only.text);
}

#[tokio::test]
async fn removing_a_stage_in_use_with_validation_is_hubspots_stage_id_in_use() {
    let app = TestApp::spawn().await;
    let t = app.token(5103, &["all"]).await;
    let deal = create_one(
        &app,
        &t,
        "deals",
        json!({"dealname": "D", "dealstage": "closedwon"}),
    )
    .await;
    let path = "/crm/v3/pipelines/deals/default/stages/closedwon";
    let refused = app
        .delete(&t, &format!("{path}?validateReferencesBeforeDelete=true"))
        .await;
    let body = assert_error(
        &refused,
        400,
        Some("VALIDATION_ERROR"),
        &format!("Stage IDs: [closedwon] are being referenced by object IDs: [{deal}]"),
    );
    assert_eq!(body["subCategory"], "PipelineError.STAGE_ID_IN_USE");
    assert_eq!(body["context"]["stageIds"], json!(["[closedwon]"]));
    assert_eq!(body["context"]["objectIds"], json!([format!("[{deal}]")]));
    assert_eq!(app.get(&t, path).await.status, 200, "nothing removed");
    assert_eq!(
        app.delete(&t, path).await.status,
        204,
        "without validation it goes"
    );
}

#[tokio::test]
async fn record_values_are_checked_against_the_portals_pipelines() {
    let app = TestApp::spawn().await;
    let t = app.token(5104, &["all"]).await;
    let ticket = app
        .post(
            &t,
            "/crm/v3/objects/tickets",
            json!({"properties": {"subject": "S", "hs_pipeline": "0", "hs_pipeline_stage": "1"}}),
        )
        .await;
    assert_eq!(ticket.status, 201, "{}", ticket.text);
    let filled = app
        .post(
            &t,
            "/crm/v3/objects/deals",
            json!({"properties": {"dealname": "A", "dealstage": "qualifiedtobuy"}}),
        )
        .await;
    assert_eq!(filled.status, 201, "{}", filled.text);
    assert_eq!(
        filled.body["properties"]["pipeline"], "default",
        "the default pipeline is filled in"
    );

    let made = app
        .post(&t, "/crm/v3/pipelines/deals", partners("Partners"))
        .await;
    let pid = made.body["id"].as_str().expect("id").to_owned();
    let intro = made.body["stages"][0]["id"]
        .as_str()
        .expect("stage")
        .to_owned();
    let wrong = app
        .post(
            &t,
            "/crm/v3/objects/deals",
            json!({"properties": {"dealname": "B", "pipeline": pid, "dealstage": "closedwon"}}),
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert_eq!(wrong.body["category"], "VALIDATION_ERROR");
    assert_eq!(wrong.body["errors"][0]["code"], "INVALID_OPTION");
    assert_eq!(
        wrong.body["errors"][0]["context"]["propertyName"],
        json!(["dealstage"])
    );
    let right = app
        .post(
            &t,
            "/crm/v3/objects/deals",
            json!({"properties": {"dealname": "B", "pipeline": pid, "dealstage": intro}}),
        )
        .await;
    assert_eq!(right.status, 201, "{}", right.text);
    let id = right.body["id"].as_str().expect("id").to_owned();
    // An update of the stage alone is checked against the record's stored pipeline.
    let moved = app
        .patch(
            &t,
            &format!("/crm/v3/objects/deals/{id}"),
            json!({"properties": {"dealstage": "closedwon"}}),
        )
        .await;
    assert_eq!(moved.status, 400, "{}", moved.text);
    let signed = made.body["stages"][1]["id"]
        .as_str()
        .expect("stage")
        .to_owned();
    let update = |stage: &str| json!({"inputs": [{"id": id, "properties": {"dealstage": stage}}]});
    let refused = app
        .post(
            &t,
            "/crm/v3/objects/deals/batch/update",
            update("closedwon"),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    let done = app
        .post(&t, "/crm/v3/objects/deals/batch/update", update(&signed))
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(
        done.body["results"][0]["properties"]["pipeline"],
        pid.as_str()
    );
    // Moving to another pipeline without a stage keeps the stage only if it is one of it.
    let away = app
        .patch(
            &t,
            &format!("/crm/v3/objects/deals/{id}"),
            json!({"properties": {"pipeline": "default"}}),
        )
        .await;
    assert_eq!(away.status, 400, "{}", away.text);
    let batch = app
        .post(
            &t,
            "/crm/v3/objects/deals/batch/create",
            json!({"inputs": [{"properties": {"dealname": "C", "pipeline": "nope"}}]}),
        )
        .await;
    assert_eq!(batch.status, 400, "{}", batch.text);
    let unknown_stage = app
        .post(
            &t,
            "/crm/v3/objects/tickets",
            json!({"properties": {"subject": "S", "hs_pipeline_stage": "9"}}),
        )
        .await;
    assert_eq!(unknown_stage.status, 400, "{}", unknown_stage.text);

    // The properties API shows the portal's pipelines and stages as options.
    let prop = app.get(&t, "/crm/v3/properties/deals/pipeline").await;
    let values: Vec<&str> = prop.body["options"]
        .as_array()
        .expect("options")
        .iter()
        .map(|o| o["value"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(values, ["default", pid.as_str()]);
    let stage = app.get(&t, "/crm/v3/properties/deals/dealstage").await;
    assert_eq!(stage.body["options"].as_array().map(Vec::len), Some(9));
}

#[tokio::test]
async fn legacy_shapes_serve_the_same_pipelines() {
    let app = TestApp::spawn().await;
    let t = app.token(5105, &["all"]).await;
    let v1 = app.get(&t, "/crm-pipelines/v1/pipelines/deals").await;
    assert_eq!(v1.status, 200, "{}", v1.text);
    assert!(v1.text.starts_with(r#"{"results":[{"label":"Sales Pipeline","displayOrder":0,"active":true,"stages":[{"label":"Appointment Scheduled","displayOrder":0,"metadata":{"isClosed":"false","probability":"0.2"},"stageId":"appointmentscheduled","createdAt":0,"updatedAt":0,"active":true}"#), "{}", v1.text);
    assert!(v1.text.ends_with(r#""objectType":"DEAL","objectTypeId":"0-3","pipelineId":"default","createdAt":0,"updatedAt":0,"default":true}]}"#), "{}", v1.text);
    let tickets = app.get(&t, "/crm-pipelines/v1/pipelines/tickets").await;
    assert_eq!(tickets.body["results"][0]["objectTypeId"], "0-5");
    let bare = app.get(&t, "/deals/v1/pipelines").await;
    assert_eq!(bare.status, 200, "{}", bare.text);
    assert!(bare.text.starts_with(r#"[{"pipelineId":"default","label":"Sales Pipeline","active":true,"displayOrder":0,"staticDefault":true,"stages":[{"stageId":"appointmentscheduled","label":"Appointment Scheduled","probability":0.2,"active":true,"displayOrder":0,"closedWon":false}"#), "{}", bare.text);
    assert_eq!(bare.body[0]["stages"][5]["closedWon"], true);
    // Archived stages show with includeInactive=INCLUDE_DELETED only.
    assert_eq!(
        app.delete(&t, "/crm/v3/pipelines/deals/default/stages/contractsent")
            .await
            .status,
        204
    );
    let v1 = app.get(&t, "/crm-pipelines/v1/pipelines/deals").await;
    assert_eq!(
        v1.body["results"][0]["stages"].as_array().map(Vec::len),
        Some(6)
    );
    let all = app
        .get(
            &t,
            "/crm-pipelines/v1/pipelines/deals?includeInactive=INCLUDE_DELETED",
        )
        .await;
    assert_eq!(all.body["results"][0]["stages"][4]["active"], false);
    // The object's read scope is enough.
    let read = app.token(5105, &["crm.objects.deals.read"]).await;
    assert_eq!(
        app.get(&read, "/crm-pipelines/v1/pipelines/deals")
            .await
            .status,
        200
    );
    assert_eq!(app.get(&read, "/deals/v1/pipelines").await.status, 200);
    let companies = app.get(&t, "/crm-pipelines/v1/pipelines/companies").await;
    assert_eq!(companies.status, 400, "{}", companies.text);
}

#[tokio::test]
async fn pipelines_are_per_portal() {
    let app = TestApp::spawn().await;
    let a = app.token(5106, &["all"]).await;
    let b = app.token(5107, &["all"]).await;
    let made = app
        .post(&a, "/crm/v3/pipelines/deals", partners("Mine"))
        .await;
    let id = made.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        app.get(&b, &format!("/crm/v3/pipelines/deals/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&b, "/crm/v3/pipelines/deals").await.body["results"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        app.delete(&b, &format!("/crm/v3/pipelines/deals/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&a, &format!("/crm/v3/pipelines/deals/{id}"))
            .await
            .status,
        200
    );
    let deal = app
        .post(
            &b,
            "/crm/v3/objects/deals",
            json!({"properties": {"dealname": "x", "pipeline": id}}),
        )
        .await;
    assert_eq!(deal.status, 400, "{}", deal.text);
}
