//! Opt-in HubSpot rate limits (hubspot-behavior.md §6): headers, the 429 body, search's own
//! per-second limit without headers, and no limits at all by default.

use serde_json::json;
use spoke_server::ratelimit::RateLimits;

use crate::harness::TestApp;

const READ: &str = "/crm/v3/objects/contacts/batch/read";

#[tokio::test]
async fn ten_secondly_limit_sends_headers_then_hubspots_429() {
    let app = TestApp::spawn_rate_limited(RateLimits {
        per_ten_seconds: 3,
        search_per_second: 2,
    })
    .await;
    let t = app.token(1, &["all"]).await;
    for remaining in ["2", "1", "0"] {
        let a = app.post(&t, READ, json!({"inputs": []})).await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.headers["x-hubspot-ratelimit-max"], "3");
        assert_eq!(a.headers["x-hubspot-ratelimit-remaining"], remaining);
        assert_eq!(
            a.headers["x-hubspot-ratelimit-interval-milliseconds"],
            "10000"
        );
    }
    let a = app.post(&t, READ, json!({"inputs": []})).await;
    assert_eq!(a.status, 429);
    assert_eq!(a.body["status"], "error");
    assert_eq!(
        a.body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(a.body["errorType"], "RATE_LIMIT");
    assert_eq!(a.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(
        a.body["correlationId"],
        a.headers["x-hubspot-correlation-id"].to_str().unwrap_or("")
    );
    assert!(a.body.get("category").is_none());
    // Key order as captured: status, message, errorType, correlationId, policyName.
    let order: Vec<usize> = [
        "\"status\"",
        "\"message\"",
        "\"errorType\"",
        "\"correlationId\"",
        "\"policyName\"",
    ]
    .iter()
    .map(|k| a.text.find(k).expect("key present"))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", a.text);

    // Another token has its own window.
    let other = app.token(1, &["all"]).await;
    assert_eq!(
        app.post(&other, READ, json!({"inputs": []})).await.status,
        200
    );
}

#[tokio::test]
async fn search_has_its_own_secondly_limit_and_no_headers() {
    let app = TestApp::spawn_rate_limited(RateLimits {
        per_ten_seconds: 100,
        search_per_second: 2,
    })
    .await;
    let t = app.token(1, &["all"]).await;
    let search = "/crm/v3/objects/contacts/search";
    for _ in 0..2 {
        let a = app.post(&t, search, json!({})).await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert!(a.headers.get("x-hubspot-ratelimit-max").is_none());
    }
    let a = app.post(&t, search, json!({})).await;
    assert_eq!(a.status, 429);
    assert_eq!(a.body["message"], "You have reached your secondly limit.");
    assert_eq!(a.body["policyName"], "SECONDLY");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(app.post(&t, search, json!({})).await.status, 200);
}

#[tokio::test]
async fn unlimited_by_default() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for _ in 0..30 {
        let a = app.post(&t, READ, json!({"inputs": []})).await;
        assert_eq!(a.status, 200);
        assert!(a.headers.get("x-hubspot-ratelimit-max").is_none());
    }
}
