use serde_json::json;

use crate::harness::TestApp;

#[tokio::test]
async fn create_then_read_back_over_http() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let created = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs":[{"properties":{"email":"Ann@Example.com"}}]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["results"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        created.body["results"][0]["properties"]["email"],
        "ann@example.com"
    );
    let read = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs":[{"id": id}]}),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(
        read.body["results"][0]["properties"]["email"],
        "ann@example.com"
    );
    assert_eq!(
        read.headers["content-type"],
        "application/json;charset=utf-8"
    );
}
