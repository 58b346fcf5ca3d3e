//! Prometheus metrics at `/metrics` (issue 16): requests by operation and status, latency
//! histograms, store call timings and rate-limit rejections, in the text format.

use reqwest::Method;
use serde_json::json;
use spoke_server::ratelimit::RateLimits;

use crate::harness::TestApp;

async fn scrape(app: &TestApp) -> String {
    let a = app.call(Method::GET, None, "/metrics", None).await;
    assert_eq!(a.status, 200, "served without a token: {}", a.text);
    assert!(
        a.headers["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        a.headers["content-type"]
    );
    a.text
}

/// The value of the sample line that starts with `series` (name and labels as printed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn requests_latency_and_store_calls_are_counted() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for _ in 0..3 {
        let a = app
            .post(
                &t,
                "/crm/v3/objects/contacts/batch/create",
                json!({"inputs": [{"properties": {"firstname": "m"}}]}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    assert_eq!(
        app.get("nope", "/crm/v3/objects/contacts").await.status,
        401
    );
    assert_eq!(app.get(&t, "/no/such/path").await.status, 404);

    let text = scrape(&app).await;
    let create = r#"operation="POST /crm/v3/objects/{objectType}/batch/create""#;
    assert_eq!(
        sample(
            &text,
            &format!("spoke_http_requests_total{{{create},status=\"201\"}}")
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"spoke_http_requests_total{operation="GET /crm/v3/objects/{objectType}",status="401"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"spoke_http_requests_total{operation="unmatched",status="404"}"#
        ),
        Some(1.0),
        "an unknown path adds no label value of its own: {text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!("spoke_http_request_duration_seconds_count{{{create}}}")
        ),
        Some(3.0),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "spoke_http_request_duration_seconds_bucket{{{create},le=\"0.01\"}}"
        )),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"spoke_store_call_duration_seconds_count{call="write_objects",outcome="ok"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            r#"spoke_store_call_duration_seconds_count{call="find_token",outcome="ok"}"#
        )
        .is_some_and(|n| n >= 4.0),
        "{text}"
    );
}

#[tokio::test]
async fn rate_limit_rejections_are_counted() {
    let app = TestApp::spawn_rate_limited(RateLimits {
        per_ten_seconds: 2,
        search_per_second: 1,
    })
    .await;
    let t = app.token(1, &["all"]).await;
    let mut refused = 0;
    for _ in 0..4 {
        let a = app
            .post(
                &t,
                "/crm/v3/objects/contacts/batch/read",
                json!({"inputs": []}),
            )
            .await;
        if a.status == 429 {
            refused += 1;
        }
    }
    assert_eq!(refused, 2);
    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            r#"spoke_rate_limited_total{operation="POST /crm/v3/objects/{objectType}/batch/read"}"#
        ),
        Some(2.0),
        "{text}"
    );
}
