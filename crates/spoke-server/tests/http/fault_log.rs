//! Fault rules and the request inspector together (issue 16's done-means: a test sees the
//! 429s a rule injected in the request log): an answer a portal's rule injected is listed
//! under that portal and token, like any other answer of that portal.

use serde_json::json;

use crate::faults::{admin_token, new_portal};
use crate::harness::TestApp;

#[tokio::test]
async fn a_portals_injected_answers_are_logged_under_that_portal() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (portal, token) = new_portal(&app, &admin).await;
    let (other, other_token) = new_portal(&app, &admin).await;
    let rule = app
        .post(
            &admin,
            "/_spoke/faults",
            json!({"portalId": portal, "method": "GET", "path": "/crm/v3/objects/contacts*",
                   "action": "error", "status": 429, "count": 2}),
        )
        .await;
    assert_eq!(rule.status, 201, "{}", rule.text);

    for expected in [429, 429, 200] {
        let a = app.get(&token, "/crm/v3/objects/contacts?limit=1").await;
        assert_eq!(a.status, expected, "{}", a.text);
    }
    assert_eq!(
        app.get(&other_token, "/crm/v3/objects/contacts?limit=1")
            .await
            .status,
        200
    );

    let log = app
        .get(
            &admin,
            &format!("/_spoke/requests?portalId={portal}&path=/crm/v3/objects/contacts"),
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let results = log.body["results"].as_array().expect("results");
    let statuses: Vec<_> = results.iter().map(|r| r["status"].clone()).collect();
    assert_eq!(
        statuses,
        [json!(200), json!(429), json!(429)],
        "{}",
        log.text
    );
    for r in results {
        assert_eq!(r["portalId"], json!(portal), "{r}");
        assert!(r["tokenId"].is_i64(), "{r}");
    }
    let injected = app
        .get(
            &admin,
            &format!("/_spoke/requests?portalId={other}&status=429"),
        )
        .await;
    assert_eq!(injected.body["results"], json!([]), "{}", injected.text);
}
