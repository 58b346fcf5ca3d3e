//! Settings users v3, teams, roles (hubspot-behavior-platform.md §21) and account info
//! (§22): every endpoint, paging, bad input (never a 5xx), scopes, portals apart.

use reqwest::Method;
use serde_json::json;

use crate::auth_scopes::{assert_401, assert_403};
use crate::harness::TestApp;
use crate::support::*;

const READ: &str = "settings.users.read";
const WRITE: &str = "settings.users.write";
const TEAMS: &str = "settings.users.teams.read";

#[tokio::test]
async fn users_are_created_read_updated_and_removed() {
    let app = TestApp::spawn().await;
    let t = app.token(5211, &[READ, WRITE, TEAMS]).await;
    let teams = app.get(&t, "/settings/v3/users/teams").await;
    assert_eq!(teams.status, 200, "{}", teams.text);
    assert_eq!(
        keys_at(&teams.text, "results/0"),
        ["id", "name", "userIds", "secondaryUserIds"]
    );
    let team = teams.body["results"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let other_team = teams.body["results"][1]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let roles = app.get(&t, "/settings/v3/users/roles").await;
    assert_eq!(roles.status, 200, "{}", roles.text);
    assert_eq!(
        keys_at(&roles.text, "results/0"),
        ["id", "name", "requiresBillingWrite"]
    );
    let role = roles.body["results"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let made = app
        .post(
            &t,
            "/settings/v3/users/",
            json!({"email": "New@Example.com", "sendWelcomeEmail": true, "firstName": "Nia",
                   "roleId": role, "primaryTeamId": team, "secondaryTeamIds": [other_team]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let user = made.body.clone();
    assert!(user["id"].is_string(), "user ids are strings here");
    assert_eq!(user["email"], "new@example.com");
    assert_eq!(user["roleIds"], json!([role]));
    assert_eq!(user["roleId"], role.as_str());
    assert_eq!(user["primaryTeamId"], team.as_str());
    assert_eq!(user["secondaryTeamIds"], json!([other_team]));
    assert_eq!(user["sendWelcomeEmail"], true, "echoed on create only");
    assert_eq!(user["superAdmin"], false);
    let id = user["id"].as_str().expect("id").to_owned();

    let read = app.get(&t, &format!("/settings/v3/users/{id}")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(
        read.body["sendWelcomeEmail"], false,
        "later reads say false"
    );
    assert_eq!(read.body["firstName"], "Nia");
    let by_email = app
        .get(&t, "/settings/v3/users/NEW@example.com?idProperty=EMAIL")
        .await;
    assert_eq!(by_email.body, read.body, "{}", by_email.text);

    let teams = app.get(&t, "/settings/v3/users/teams").await;
    assert_eq!(teams.body["results"][0]["userIds"], json!([id]));
    assert_eq!(teams.body["results"][1]["secondaryUserIds"], json!([id]));

    let put = app
        .call(
            Method::PUT,
            Some(&t),
            &format!("/settings/v3/users/{id}"),
            Some(json!({"lastName": "Ng", "secondaryTeamIds": []})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(
        put.body["firstName"], "Nia",
        "fields left out keep their values"
    );
    assert_eq!(put.body["lastName"], "Ng");
    assert!(put.body.get("secondaryTeamIds").is_none(), "{}", put.text);

    let list = app.get(&t, "/settings/v3/users").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let ids = ids_of(list.body["results"].as_array().expect("results"));
    assert_eq!(
        ids.len(),
        2,
        "the account owner and the new user: {}",
        list.text
    );
    assert!(ids.contains(&id));
    let owner = &list.body["results"][0];
    assert_eq!(owner["superAdmin"], true);
    assert_eq!(owner["email"], "owner@portal5211.spoke.test");

    let gone = app.delete(&t, &format!("/settings/v3/users/{id}")).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert!(gone.text.is_empty());
    let read = app.get(&t, &format!("/settings/v3/users/{id}")).await;
    assert_error(
        &read,
        404,
        Some("OBJECT_NOT_FOUND"),
        &format!("User {id} not found"),
    );
    let again = app.delete(&t, &format!("/settings/v3/users/{id}")).await;
    assert_eq!(again.status, 404, "{}", again.text);
    let teams = app.get(&t, "/settings/v3/users/teams").await;
    assert_eq!(
        teams.body["results"][0]["userIds"],
        json!([]),
        "removed users leave their teams"
    );
    let back = app
        .post(
            &t,
            "/settings/v3/users",
            json!({"email": "new@example.com", "sendWelcomeEmail": false}),
        )
        .await;
    assert_eq!(
        back.status, 201,
        "a removed user's email is free: {}",
        back.text
    );
    assert_ne!(back.body["id"], id.as_str(), "ids never repeat");
}

#[tokio::test]
async fn bad_user_input_gets_hubspots_errors() {
    let app = TestApp::spawn().await;
    let t = app.token(5212, &[READ, WRITE]).await;
    let other = app.token(5213, &[TEAMS]).await;
    let their_team =
        app.get(&other, "/settings/v3/users/teams").await.body["results"][0]["id"].clone();
    let cases = [
        (
            json!({"sendWelcomeEmail": false}),
            400,
            "VALIDATION_ERROR",
            "Missing required field(s): email".to_owned(),
        ),
        (
            json!({"email": "not-an-email", "sendWelcomeEmail": false}),
            400,
            "VALIDATION_ERROR",
            "Email address not-an-email is invalid".to_owned(),
        ),
        (
            json!({"email": "OWNER@portal5212.spoke.test", "sendWelcomeEmail": false}),
            409,
            "CONFLICT",
            "A user with email owner@portal5212.spoke.test already exists".to_owned(),
        ),
        (
            json!({"email": "a@example.com", "primaryTeamId": their_team}),
            400,
            "VALIDATION_ERROR",
            format!("Team {} does not exist", their_team.as_str().unwrap_or("")),
        ),
        (
            json!({"email": "a@example.com", "secondaryTeamIds": ["x"]}),
            400,
            "VALIDATION_ERROR",
            "Team x does not exist".to_owned(),
        ),
        (
            json!({"email": "a@example.com", "roleId": "1"}),
            400,
            "VALIDATION_ERROR",
            "Role 1 does not exist".to_owned(),
        ),
    ];
    for (body, status, category, message) in cases {
        let ans = app.post(&t, "/settings/v3/users/", body.clone()).await;
        assert_error(&ans, status, Some(category), &message);
    }
    for raw in ["", "[]", "{\"email\": 5", "null"] {
        let ans = app.post_raw(&t, "/settings/v3/users/", raw).await;
        assert_eq!(ans.status, 400, "{raw}: {}", ans.text);
        assert_wire_error(&ans);
    }
    let list = app.get(&t, "/settings/v3/users").await;
    assert_eq!(
        list.body["results"].as_array().map(Vec::len),
        Some(1),
        "refusals wrote nothing"
    );

    for path in [
        "/settings/v3/users/abc",
        "/settings/v3/users/424242",
        "/settings/v3/users/x@y.z?idProperty=EMAIL",
    ] {
        let ans = app.get(&t, path).await;
        assert_eq!(ans.status, 404, "{path}: {}", ans.text);
        assert_wire_error(&ans);
        let ans = app
            .call(Method::PUT, Some(&t), path, Some(json!({"firstName": "x"})))
            .await;
        assert_eq!(ans.status, 404, "{path}: {}", ans.text);
    }
    let ans = app.get(&t, "/settings/v3/users/1?idProperty=NAME").await;
    assert_eq!(ans.status, 400, "{}", ans.text);
    for bad in ["limit=abc", "after=x"] {
        let ans = app.get(&t, &format!("/settings/v3/users/?{bad}")).await;
        assert_eq!(ans.status, 400, "{bad}: {}", ans.text);
    }
}

#[tokio::test]
async fn users_page_with_a_next_link() {
    let app = TestApp::spawn().await;
    let t = app.token(5214, &[READ, WRITE]).await;
    for i in 0..3 {
        let ans = app
            .post(
                &t,
                "/settings/users/v3",
                json!({"email": format!("u{i}@example.com"), "sendWelcomeEmail": false}),
            )
            .await;
        assert_eq!(ans.status, 201, "the spec's path creates too: {}", ans.text);
    }
    let first = app.get(&t, "/settings/v3/users/?limit=3").await;
    assert_eq!(first.body["results"].as_array().map(Vec::len), Some(3));
    let after = first.body["paging"]["next"]["after"]
        .as_str()
        .expect("after")
        .to_owned();
    let link = first.body["paging"]["next"]["link"].as_str().expect("link");
    assert!(
        link.contains("/settings/v3/users/?limit=3&after="),
        "{link}"
    );
    let second = app
        .get(&t, &format!("/settings/users/v3?limit=3&after={after}"))
        .await;
    let rest = second.body["results"].as_array().expect("results");
    assert_eq!(rest.len(), 1, "{}", second.text);
    assert!(second.body.get("paging").is_none());
    assert_eq!(rest[0]["email"], "u2@example.com");
}

#[tokio::test]
async fn users_teams_roles_need_their_scopes_and_stay_in_their_portal() {
    let app = TestApp::spawn().await;
    let mine = app.token(5215, &[READ, WRITE]).await;
    let theirs = app.token(5216, &[READ, WRITE, TEAMS]).await;
    let none = app.token(5215, &["crm.objects.owners.read"]).await;
    let reader = app.token(5215, &["crm.objects.users.read"]).await;
    for path in [
        "/settings/v3/users",
        "/settings/v3/users/",
        "/settings/users/v3",
        "/settings/v3/users/roles",
        "/settings/v3/users/1",
    ] {
        assert_401(&app.call(Method::GET, None, path, None).await, path);
        assert_403(&app.get(&none, path).await, READ, path);
    }
    assert_eq!(
        app.get(&reader, "/settings/v3/users/roles").await.status,
        200,
        "crm.objects.users.read reads too"
    );
    assert_403(
        &app.get(&mine, "/settings/v3/users/teams").await,
        TEAMS,
        "teams",
    );
    let ans = app
        .post(
            &reader,
            "/settings/v3/users/",
            json!({"email": "x@example.com"}),
        )
        .await;
    assert_403(&ans, WRITE, "create with read only");
    let ans = app.delete(&reader, "/settings/v3/users/1").await;
    assert_403(&ans, WRITE, "delete with read only");

    let made = app
        .post(
            &mine,
            "/settings/v3/users/",
            json!({"email": "secret-user@example.com", "sendWelcomeEmail": false}),
        )
        .await;
    let id = made.body["id"].as_str().expect("id").to_owned();
    for path in [
        format!("/settings/v3/users/{id}"),
        "/settings/v3/users/secret-user@example.com?idProperty=EMAIL".to_owned(),
    ] {
        assert_eq!(app.get(&theirs, &path).await.status, 404, "{path}");
        let put = app
            .call(
                Method::PUT,
                Some(&theirs),
                &path,
                Some(json!({"firstName": "x"})),
            )
            .await;
        assert_eq!(put.status, 404, "{path}");
        assert_eq!(app.delete(&theirs, &path).await.status, 404, "{path}");
    }
    let list = app.get(&theirs, "/settings/v3/users").await;
    assert!(!list.text.contains("secret-user"), "{}", list.text);
    let teams = app.get(&theirs, "/settings/v3/users/teams").await;
    assert!(!teams.text.contains(&id), "{}", teams.text);
    let ours = app.get(&mine, &format!("/settings/v3/users/{id}")).await;
    assert_eq!(
        ours.status, 200,
        "untouched by the other portal: {}",
        ours.text
    );
    let same = app
        .post(
            &theirs,
            "/settings/v3/users/",
            json!({"email": "secret-user@example.com", "sendWelcomeEmail": false}),
        )
        .await;
    assert_eq!(
        same.status, 201,
        "emails are unique per portal: {}",
        same.text
    );
}

#[tokio::test]
async fn account_details_answer_any_token() {
    let app = TestApp::spawn().await;
    let t = app.token(5217, &["crm.objects.contacts.read"]).await;
    let ans = app.get(&t, "/account-info/v3/details").await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    assert_eq!(
        keys_at(&ans.text, ""),
        [
            "portalId",
            "accountType",
            "timeZone",
            "companyCurrency",
            "additionalCurrencies",
            "utcOffset",
            "utcOffsetMilliseconds",
            "uiDomain",
            "dataHostingLocation"
        ]
    );
    assert_eq!(ans.body["portalId"], 5217);
    assert_eq!(ans.body["accountType"], "STANDARD");
    assert_eq!(ans.body["timeZone"], "US/Eastern");
    assert_eq!(ans.body["companyCurrency"], "USD");
    let ms = ans.body["utcOffsetMilliseconds"].as_i64().expect("ms");
    assert!(ms == -4 * 3_600_000 || ms == -5 * 3_600_000, "{ms}");
    let hours = ms / 3_600_000;
    assert_eq!(ans.body["utcOffset"], format!("-0{}:00", -hours));
    assert_eq!(ans.body["uiDomain"], "app.hubspot.com");
    assert_eq!(ans.body["dataHostingLocation"], "na1");
    assert_401(
        &app.call(Method::GET, None, "/account-info/v3/details", None)
            .await,
        "details",
    );

    let usage = app
        .get(&t, "/account-info/v3/api-usage/daily/private-apps")
        .await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    assert_eq!(
        usage.body["results"][0]["name"],
        "private-apps-api-calls-daily"
    );
    assert_eq!(usage.body["results"][0]["fetchStatus"], "SUCCESS");
    let resets = usage.body["results"][0]["resetsAt"]
        .as_str()
        .expect("resetsAt");
    assert!(
        resets.ends_with(":00:00Z") && (resets.contains("T04:") || resets.contains("T05:")),
        "{resets}"
    );
}
