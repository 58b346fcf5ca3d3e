//! Owners v3 (hubspot-behavior-platform.md §20): owners come from users, in HubSpot's
//! `PublicOwner` shape, paged by a decimal `after` with a next link, filtered by email and
//! archived state, read by owner id or user id; scopes and portals apart.

use serde_json::{json, Value};

use crate::auth_scopes::{assert_401, assert_403};
use crate::harness::TestApp;
use crate::support::*;

const OWNERS: &str = "crm.objects.owners.read";
const USERS: &[&str] = &["settings.users.read", "settings.users.write"];

async fn add_user(app: &TestApp, token: &str, body: Value) -> Value {
    let ans = app.post(token, "/settings/v3/users/", body).await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    ans.body
}

#[tokio::test]
async fn a_new_portal_has_one_owner_its_account_owner() {
    let app = TestApp::spawn().await;
    let token = app.token(5201, &[OWNERS]).await;
    for path in ["/crm/v3/owners", "/crm/v3/owners/"] {
        let ans = app.get(&token, path).await;
        assert_eq!(ans.status, 200, "{path}: {}", ans.text);
        let results = ans.body["results"].as_array().expect("results");
        assert_eq!(results.len(), 1, "{}", ans.text);
        assert!(ans.body.get("paging").is_none(), "one page: {}", ans.text);
        let owner = &results[0];
        assert_eq!(owner["email"], "owner@portal5201.spoke.test");
        assert_eq!(owner["type"], "PERSON");
        assert_eq!(owner["archived"], false);
        assert!(owner["id"].is_string(), "owner ids are strings");
        assert!(owner["userId"].is_i64(), "user ids are numbers");
        assert_eq!(owner["userId"], owner["userIdIncludingInactive"]);
        assert_ne!(
            owner["id"].as_str().map(str::to_owned),
            Some(owner["userId"].to_string())
        );
        let created = owner["createdAt"].as_str().unwrap_or("");
        assert!(
            created.contains('T') && created.ends_with('Z'),
            "ISO: {created}"
        );
        assert!(
            owner.get("teams").is_none(),
            "no teams, no key: {}",
            ans.text
        );
        assert_eq!(
            keys_at(&ans.text, "results/0"),
            [
                "id",
                "email",
                "type",
                "firstName",
                "lastName",
                "userId",
                "userIdIncludingInactive",
                "createdAt",
                "updatedAt",
                "archived"
            ]
        );
    }
}

#[tokio::test]
async fn owners_follow_users_with_teams_and_archive_when_removed() {
    let app = TestApp::spawn().await;
    let admin = app
        .token(
            5202,
            &[OWNERS, USERS[0], USERS[1], "settings.users.teams.read"],
        )
        .await;
    let teams = app.get(&admin, "/settings/v3/users/teams").await;
    assert_eq!(teams.status, 200, "{}", teams.text);
    let sales = teams.body["results"][0]["id"]
        .as_str()
        .expect("team id")
        .to_owned();
    let support = teams.body["results"][1]["id"]
        .as_str()
        .expect("team id")
        .to_owned();
    let user = add_user(
        &app,
        &admin,
        json!({"email": "Rep@Example.com", "sendWelcomeEmail": false, "firstName": "Rita", "lastName": "Rep",
               "primaryTeamId": sales, "secondaryTeamIds": [support]}),
    )
    .await;
    let user_id: i64 = user["id"].as_str().expect("id").parse().expect("numeric");

    let ans = app
        .get(&admin, "/crm/v3/owners/?email=REP@example.com")
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let results = ans.body["results"].as_array().expect("results");
    assert_eq!(
        results.len(),
        1,
        "email filter, case-insensitive: {}",
        ans.text
    );
    let owner = results[0].clone();
    assert_eq!(owner["userId"], user_id);
    assert_eq!(owner["email"], "rep@example.com");
    assert_eq!(owner["firstName"], "Rita");
    assert_eq!(
        owner["teams"],
        json!([{"id": sales, "name": "Sales Team", "primary": true},
               {"id": support, "name": "Support Team", "primary": false}])
    );
    assert_eq!(
        keys_at(&ans.text, "results/0/teams/0"),
        ["id", "name", "primary"]
    );
    let owner_id = owner["id"].as_str().expect("id").to_owned();

    let by_id = app.get(&admin, &format!("/crm/v3/owners/{owner_id}")).await;
    assert_eq!(by_id.status, 200, "{}", by_id.text);
    assert_eq!(by_id.body, owner);
    let by_user = app
        .get(
            &admin,
            &format!("/crm/v3/owners/{user_id}?idProperty=userId"),
        )
        .await;
    assert_eq!(by_user.body, owner, "{}", by_user.text);
    let wrong_space = app.get(&admin, &format!("/crm/v3/owners/{user_id}")).await;
    assert_error(
        &wrong_space,
        404,
        Some("OBJECT_NOT_FOUND"),
        &format!("Owner {user_id} not found"),
    );

    let gone = app
        .delete(&admin, &format!("/settings/v3/users/{user_id}"))
        .await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let live = app.get(&admin, "/crm/v3/owners").await;
    assert_eq!(
        live.body["results"].as_array().map(Vec::len),
        Some(1),
        "{}",
        live.text
    );
    let archived = app.get(&admin, "/crm/v3/owners?archived=true").await;
    let results = archived.body["results"].as_array().expect("results");
    assert_eq!(
        results.len(),
        1,
        "archived=true lists only archived owners: {}",
        archived.text
    );
    assert_eq!(results[0]["id"], owner_id.as_str());
    assert_eq!(results[0]["archived"], true);
    assert!(results[0].get("userId").is_none(), "{}", archived.text);
    assert_eq!(results[0]["userIdIncludingInactive"], user_id);
    let read = app.get(&admin, &format!("/crm/v3/owners/{owner_id}")).await;
    assert_eq!(
        read.status, 404,
        "an archived owner needs archived=true: {}",
        read.text
    );
    let read = app
        .get(&admin, &format!("/crm/v3/owners/{owner_id}?archived=true"))
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["archived"], true);
}

#[tokio::test]
async fn owners_page_by_a_decimal_cursor_with_a_next_link() {
    let app = TestApp::spawn().await;
    let admin = app.token(5203, &[OWNERS, USERS[1]]).await;
    for i in 0..4 {
        add_user(
            &app,
            &admin,
            json!({"email": format!("p{i}@example.com"), "sendWelcomeEmail": false}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut path = "/crm/v3/owners?limit=2&email=".to_owned();
    let mut pages = 0;
    loop {
        let ans = app.get(&admin, &path).await;
        assert_eq!(ans.status, 200, "{}", ans.text);
        pages += 1;
        for o in ans.body["results"].as_array().expect("results") {
            seen.push(
                o["id"]
                    .as_str()
                    .expect("id")
                    .parse::<i64>()
                    .expect("numeric"),
            );
        }
        let Some(next) = ans.body["paging"]["next"].as_object() else {
            break;
        };
        let after = next["after"].as_str().expect("after");
        assert!(after.parse::<i64>().is_ok(), "a decimal cursor: {after}");
        let link = next["link"].as_str().expect("link");
        assert!(
            link.contains("limit=2") && link.ends_with(&format!("after={after}")),
            "{link}"
        );
        path = format!("/crm/v3/owners?limit=2&after={after}");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5, "the account owner and four users");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "ascending owner ids: {seen:?}"
    );

    let big = app.get(&admin, "/crm/v3/owners?limit=100000").await;
    assert_eq!(big.status, 200, "a large limit is clamped: {}", big.text);
    for bad in ["limit=abc", "after=xyz", "archived=maybe"] {
        let ans = app.get(&admin, &format!("/crm/v3/owners?{bad}")).await;
        assert_eq!(ans.status, 400, "{bad}: {}", ans.text);
        assert_wire_error(&ans);
    }
    for bad in [
        "/crm/v3/owners/abc",
        "/crm/v3/owners/99999999999999999999",
        "/crm/v3/owners/1?idProperty=email",
    ] {
        let ans = app.get(&admin, bad).await;
        assert!(
            matches!(ans.status.as_u16(), 400 | 404),
            "{bad}: {}",
            ans.text
        );
        assert_wire_error(&ans);
    }
}

#[tokio::test]
async fn owners_need_their_scope_and_stay_in_their_portal() {
    let app = TestApp::spawn().await;
    let mine = app.token(5204, &[OWNERS, USERS[1]]).await;
    let theirs = app.token(5205, &[OWNERS]).await;
    let none = app.token(5204, &["crm.objects.contacts.read"]).await;
    let ans = app
        .call(reqwest::Method::GET, None, "/crm/v3/owners", None)
        .await;
    assert_401(&ans, "owners without a token");
    let ans = app.get(&none, "/crm/v3/owners/").await;
    assert_403(&ans, OWNERS, "owners without their scope");
    let ans = app.get(&none, "/crm/v3/owners/1").await;
    assert_403(&ans, OWNERS, "an owner without the scope");

    let user = add_user(
        &app,
        &mine,
        json!({"email": "secret-owner@example.com", "sendWelcomeEmail": false}),
    )
    .await;
    let ans = app
        .get(&mine, "/crm/v3/owners?email=secret-owner@example.com")
        .await;
    let owner_id = ans.body["results"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ans = app.get(&theirs, "/crm/v3/owners").await;
    assert!(!ans.text.contains("secret-owner"), "{}", ans.text);
    assert_eq!(ans.body["results"].as_array().map(Vec::len), Some(1));
    let ans = app
        .get(&theirs, &format!("/crm/v3/owners/{owner_id}"))
        .await;
    assert_eq!(ans.status, 404, "{}", ans.text);
    let ans = app
        .get(
            &theirs,
            &format!(
                "/crm/v3/owners/{}?idProperty=userId",
                user["id"].as_str().unwrap_or("")
            ),
        )
        .await;
    assert_eq!(ans.status, 404, "{}", ans.text);
}

/// HubSpot refuses a `hubspot_owner_id` that is not one of the portal's owners (a user id,
/// say: the owners guide), with `INVALID_OWNER_ID` among the property errors.
#[tokio::test]
async fn hubspot_owner_id_must_name_a_live_owner_of_the_portal() {
    let app = TestApp::spawn().await;
    let t = app
        .token(
            5206,
            &[
                OWNERS,
                USERS[1],
                "crm.objects.contacts.write",
                "crm.objects.deals.write",
            ],
        )
        .await;
    let theirs = app.token(5207, &[OWNERS]).await;
    let user = add_user(
        &app,
        &t,
        json!({"email": "keeper@example.com", "sendWelcomeEmail": false}),
    )
    .await;
    let user_id = user["id"].as_str().expect("id").to_owned();
    let owner = app
        .get(&t, &format!("/crm/v3/owners/{user_id}?idProperty=userId"))
        .await;
    let owner_id = owner.body["id"].as_str().expect("id").to_owned();
    let their_owner = app.get(&theirs, "/crm/v3/owners").await.body["results"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let ok = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"hubspot_owner_id": owner_id}}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let contact = ok.body["id"].as_str().expect("id").to_owned();
    let cleared = app
        .patch(
            &t,
            &format!("/crm/v3/objects/contacts/{contact}"),
            json!({"properties": {"hubspot_owner_id": ""}}),
        )
        .await;
    assert_eq!(
        cleared.status, 200,
        "clearing is always allowed: {}",
        cleared.text
    );

    for bad in [user_id.clone(), their_owner, "42".to_owned()] {
        let ans = app
            .post(
                &t,
                "/crm/v3/objects/deals",
                json!({"properties": {"hubspot_owner_id": bad}}),
            )
            .await;
        let message = format!(
            "Property values were not valid: [{{\"isValid\":false,\"message\":\"{bad} is not a valid owner id\",\"error\":\"INVALID_OWNER_ID\",\"name\":\"hubspot_owner_id\"}}]"
        );
        assert_error(&ans, 400, Some("VALIDATION_ERROR"), &message);
        assert_eq!(ans.body["errors"][0]["code"], "INVALID_OWNER_ID");
    }
    let batch = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": contact, "properties": {"hubspot_owner_id": user_id}}]}),
        )
        .await;
    assert!(
        batch.status.is_client_error() || batch.status == 207,
        "{}",
        batch.text
    );
    assert!(batch.text.contains("INVALID_OWNER_ID"), "{}", batch.text);

    // A removed user's owner is archived: records can no longer be given to it.
    let gone = app
        .delete(&t, &format!("/settings/v3/users/{user_id}"))
        .await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let ans = app
        .patch(
            &t,
            &format!("/crm/v3/objects/contacts/{contact}"),
            json!({"properties": {"hubspot_owner_id": owner_id}}),
        )
        .await;
    assert_eq!(ans.status, 400, "{}", ans.text);
    assert!(ans.text.contains("INVALID_OWNER_ID"), "{}", ans.text);
}
