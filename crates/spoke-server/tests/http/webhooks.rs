//! App webhooks over HTTP: the webhooks API (`/webhooks/v3/{appId}/…`, hapikey), deliveries
//! to a local receiver (signatures, body, headers), retries, the concurrency limit, the
//! batch size, and the admin controls.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use spoke_core::time::now_millis;
use spoke_core::PortalId;
use spoke_server::webhooks::signature;
use spoke_store::admin::{admin_hash, new_admin_secret};
use spoke_store::oauth::{self, AppSpec};
use spoke_store::sealed::SecretKey;

use crate::harness::{Answer, TestApp};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Got {
    headers: HashMap<String, String>,
    body: String,
    at: i64,
}

/// A local HTTP endpoint standing in for an app's target URL: it records every request and
/// answers the statuses of `plan` in turn (then 200), after `delay`.
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    plan: Arc<Mutex<VecDeque<u16>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Receiver {
    fn new(url: String) -> Self {
        Receiver {
            url,
            got: Arc::default(),
            plan: Arc::default(),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
        }
    }

    async fn start(delay: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let this = Self::new(format!("http://{addr}/hubspot/hook?source=spoke"));
        let app = this.router(delay);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        this
    }

    /// The same receiver over TLS with `tls`'s certificate, at `https://127.0.0.1:port`.
    async fn start_tls(tls: Arc<rustls::ServerConfig>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let this = Self::new(format!("https://{addr}/hubspot/hook?source=spoke"));
        let app = this.router(Duration::ZERO);
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let app = app.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        this
    }

    fn router(&self, delay: Duration) -> axum::Router {
        let shared = self.clone();
        let handler = move |headers: axum::http::HeaderMap, body: String| {
            let r = shared.clone();
            async move {
                let now = r.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                r.max_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                let headers = headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_owned(),
                            v.to_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                r.got.lock().expect("lock").push(Got {
                    headers,
                    body,
                    at: now_millis(),
                });
                let status = r.plan.lock().expect("lock").pop_front().unwrap_or(200);
                r.in_flight.fetch_sub(1, Ordering::SeqCst);
                axum::http::StatusCode::from_u16(status).expect("status")
            }
        };
        axum::Router::new().fallback(axum::routing::post(handler))
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().expect("lock").clone()
    }

    /// Every event received so far, in order.
    fn events(&self) -> Vec<Value> {
        self.got()
            .iter()
            .flat_map(|g| {
                serde_json::from_str::<Vec<Value>>(&g.body).expect("a JSON array of events")
            })
            .collect()
    }

    /// Waits until `done` holds for the events received (10 s at most).
    async fn wait_for(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..200 {
            let events = self.events();
            if done(&events) {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let events = self.events();
        panic!(
            "waited 10 s for {what}; got {} events in {} requests: {:?}",
            events.len(),
            self.got().len(),
            events.iter().take(5).collect::<Vec<_>>()
        );
    }
}

/// A registered app: its id, developer API key and client secret.
struct App {
    id: i64,
    key: String,
    secret: String,
}

async fn register(t: &TestApp, key_path: &std::path::Path) -> App {
    let key = SecretKey::load_or_create(key_path).expect("key");
    let spec = AppSpec {
        name: "Webhook test app".into(),
        redirect_uris: vec!["http://localhost:3000/callback".into()],
        scopes: vec!["crm.objects.contacts.read".into()],
        optional_scopes: vec![],
    };
    let (app, secrets) = oauth::create_app(t.store.as_ref(), &key, spec, now_millis())
        .await
        .expect("create_app");
    App {
        id: app.id,
        key: secrets.developer_api_key,
        secret: secrets.client_secret,
    }
}

async fn call(t: &TestApp, method: Method, path: &str, key: &str, body: Option<Value>) -> Answer {
    let sep = if path.contains('?') { '&' } else { '?' };
    t.call(method, None, &format!("{path}{sep}hapikey={key}"), body)
        .await
}

async fn admin(t: &TestApp) -> String {
    let secret = new_admin_secret();
    t.store
        .put_admin_token_hash(&admin_hash(&secret), true, now_millis())
        .await
        .expect("admin token");
    secret
}

/// An app with settings pointing at `target`, subscribed (active) to each of `subs`
/// (`(eventType, propertyName)`), installed in `portal`.
async fn subscribed(
    t: &TestApp,
    key_path: &std::path::Path,
    target: &str,
    max_concurrent: i64,
    subs: &[(&str, Option<&str>)],
    portal: i64,
) -> App {
    let app = register(t, key_path).await;
    let a = call(
        t,
        Method::PUT,
        &format!("/webhooks/v3/{}/settings", app.id),
        &app.key,
        Some(json!({"targetUrl": target, "throttling": {"maxConcurrentRequests": max_concurrent}})),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    for (event_type, property) in subs {
        let mut body = json!({"eventType": event_type, "active": true});
        if let Some(p) = property {
            body["propertyName"] = json!(p);
        }
        let a = call(
            t,
            Method::POST,
            &format!("/webhooks/v3/{}/subscriptions", app.id),
            &app.key,
            Some(body),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    t.store
        .ensure_portal(PortalId(portal), now_millis())
        .await
        .expect("portal");
    t.store
        .install_app(app.id, PortalId(portal), now_millis())
        .await
        .expect("install");
    app
}

#[tokio::test]
async fn the_webhooks_api_answers_with_hubspots_bodies_and_errors() {
    let (t, key_path) = TestApp::spawn_with_webhooks().await;
    let app = register(&t, &key_path).await;
    let other = register(&t, &key_path).await;
    let settings = format!("/webhooks/v3/{}/settings", app.id);

    // Authentication: the developer API key, of this app only.
    let a = t.call(Method::GET, None, &settings, None).await;
    assert_eq!(a.status, 401, "{}", a.text);
    assert_eq!(a.body["category"], "INVALID_AUTHENTICATION");
    let a = call(&t, Method::GET, &settings, "not-a-key", None).await;
    assert_eq!(a.status, 401, "{}", a.text);
    assert_eq!(a.body["category"], "INVALID_AUTHENTICATION");
    let a = call(&t, Method::GET, &settings, &other.key, None).await;
    assert_eq!(a.status, 404, "another app's key: {}", a.text);
    let token = t.token(1, &["all"]).await;
    let a = t.get(&token, &settings).await;
    assert_eq!(
        a.status, 401,
        "a portal's token is no developer key: {}",
        a.text
    );

    // Settings: none yet, then HubSpot's shape, then the flat form n8n sends.
    let a = call(&t, Method::GET, &settings, &app.key, None).await;
    assert_eq!(a.status, 404, "{}", a.text);
    let put = json!({"targetUrl": "https://example.com/hook", "throttling": {"maxConcurrentRequests": 10, "period": "SECONDLY"}});
    let a = call(&t, Method::PUT, &settings, &app.key, Some(put)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let keys: Vec<&str> = a
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["createdAt", "targetUrl", "throttling", "updatedAt"]);
    assert_eq!(
        a.body["throttling"],
        json!({"maxConcurrentRequests": 10, "period": "SECONDLY"})
    );
    let created = a.body["createdAt"].clone();
    let a = call(
        &t,
        Method::PUT,
        &settings,
        &app.key,
        Some(json!({"targetUrl": "http://localhost:9/x", "maxConcurrentRequests": 5})),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["throttling"], json!({"maxConcurrentRequests": 5}));
    assert_eq!(a.body["createdAt"], created, "createdAt survives an update");
    let a = call(
        &t,
        Method::GET,
        &format!("/webhooks/2026-03/{}/settings", app.id),
        &app.key,
        None,
    )
    .await;
    assert_eq!(a.status, 200, "the dated path: {}", a.text);
    assert_eq!(a.body["targetUrl"], "http://localhost:9/x");
    for bad in [
        json!({"targetUrl": "https://example.com", "throttling": {"maxConcurrentRequests": 4}}),
        json!({"targetUrl": "https://example.com", "maxConcurrentRequests": "ten"}),
        json!({"targetUrl": "ftp://example.com"}),
        json!({"targetUrl": "not a url"}),
        json!({"throttling": {"maxConcurrentRequests": 10}}),
        json!({"targetUrl": "https://example.com", "throttling": {"maxConcurrentRequests": 10, "period": "HOURLY"}}),
        json!([]),
    ] {
        let a = call(&t, Method::PUT, &settings, &app.key, Some(bad.clone())).await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
        assert_eq!(a.body["category"], "VALIDATION_ERROR", "{bad}: {}", a.text);
    }

    // Subscriptions.
    let subs = format!("/webhooks/v3/{}/subscriptions", app.id);
    let a = call(
        &t,
        Method::POST,
        &subs,
        &app.key,
        Some(json!({"eventType": "contact.propertyChange", "propertyName": "email"})),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let keys: Vec<&str> = a
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "active",
            "createdAt",
            "eventType",
            "id",
            "propertyName",
            "updatedAt"
        ]
    );
    assert_eq!(a.body["active"], false, "active defaults to false");
    let id = a.body["id"]
        .as_str()
        .expect("the id is a string")
        .to_owned();
    let a = call(
        &t,
        Method::POST,
        &subs,
        &app.key,
        Some(json!({"eventType": "object.creation", "objectTypeId": "0-1", "active": true})),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["objectTypeId"], "0-1");
    let generic = a.body["id"].as_str().expect("id").to_owned();
    for bad in [
        json!({}),
        json!({"eventType": "contact.exploded"}),
        json!({"eventType": "contact.propertyChange"}),
        json!({"eventType": "contact.propertyChange", "propertyName": "hs_lastmodifieddate"}),
        json!({"eventType": "contact.creation", "propertyName": "email"}),
        json!({"eventType": "object.creation"}),
        json!({"eventType": "object.creation", "objectTypeId": "contacts"}),
        json!({"eventType": "contact.creation", "objectTypeId": "0-1"}),
        json!({"eventType": 7}),
    ] {
        let a = call(&t, Method::POST, &subs, &app.key, Some(bad.clone())).await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
    }
    let a = call(&t, Method::GET, &subs, &app.key, None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["results"].as_array().map(Vec::len), Some(2));
    let one = format!("{subs}/{id}");
    let a = call(
        &t,
        Method::PATCH,
        &one,
        &app.key,
        Some(json!({"active": true})),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["active"], true);
    let a = call(&t, Method::GET, &one, &app.key, None).await;
    assert_eq!(a.body["active"], true, "{}", a.text);
    let a = call(&t, Method::GET, &format!("{subs}/999999"), &app.key, None).await;
    assert_eq!(a.status, 404, "{}", a.text);
    let a = call(&t, Method::GET, &format!("{subs}/abc"), &app.key, None).await;
    assert_eq!(a.status, 404, "{}", a.text);
    let a = call(
        &t,
        Method::GET,
        &format!("/webhooks/v3/{}/subscriptions/{id}", other.id),
        &other.key,
        None,
    )
    .await;
    assert_eq!(a.status, 404, "another app's subscription: {}", a.text);

    // Batch update: 200, then 207 with HubSpot's SUBSCRIPTION_ID_NOT_FOUND.
    let batch = format!("{subs}/batch/update");
    let a = call(
        &t,
        Method::POST,
        &batch,
        &app.key,
        Some(json!({"inputs": [{"id": id.parse::<i64>().expect("int"), "active": false}]})),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["status"], "COMPLETE");
    assert_eq!(a.body["results"][0]["active"], false);
    let a = call(&t, Method::POST, &batch, &app.key, Some(json!({"inputs": [{"id": generic.parse::<i64>().expect("int"), "active": false}, {"id": 4567, "active": true}]}))).await;
    assert_eq!(a.status, 207, "{}", a.text);
    assert_eq!(a.body["numErrors"], 1);
    assert_eq!(
        a.body["errors"][0],
        json!({"status": "error", "category": "SUBSCRIPTION_ID_NOT_FOUND", "subCategory": "SubscriptionErrors.SUBSCRIPTION_IDS_NOT_FOUND", "message": "Failed to find subscriptions by id `4567`. Try again using a different subscriptionId.", "context": {"subscriptionIds": ["4567"]}})
    );
    assert_eq!(a.body["results"][0]["id"], generic.as_str());

    let a = call(&t, Method::DELETE, &one, &app.key, None).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let a = call(&t, Method::DELETE, &one, &app.key, None).await;
    assert_eq!(a.status, 404, "{}", a.text);
    let a = call(&t, Method::DELETE, &settings, &app.key, None).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let a = call(&t, Method::GET, &settings, &app.key, None).await;
    assert_eq!(a.status, 404, "{}", a.text);
}

#[tokio::test]
async fn the_thousand_and_first_subscription_gets_hubspots_limit_error() {
    let (t, key_path) = TestApp::spawn_with_webhooks().await;
    let app = register(&t, &key_path).await;
    for _ in 0..spoke_store::webhooks::MAX_SUBSCRIPTIONS {
        let new = spoke_store::webhooks::NewSubscription {
            app_id: app.id,
            event_type: "contact.creation".into(),
            object_type_id: None,
            property_name: None,
            active: false,
            now: now_millis(),
        };
        t.store.create_subscription(new).await.expect("create");
    }
    let a = call(
        &t,
        Method::POST,
        &format!("/webhooks/v3/{}/subscriptions", app.id),
        &app.key,
        Some(json!({"eventType": "deal.creation"})),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(
        a.body["message"],
        "Couldn't create another subscription. You've reached the maximum number allowed per application (1000)."
    );
}

#[tokio::test]
async fn a_change_is_delivered_signed_as_hubspot_signs_it() {
    let (t, key_path) = TestApp::spawn_with_webhooks().await;
    let receiver = Receiver::start(Duration::ZERO).await;
    let portal = 231;
    let app = subscribed(
        &t,
        &key_path,
        &receiver.url,
        10,
        &[
            ("contact.creation", None),
            ("contact.propertyChange", Some("firstname")),
        ],
        portal,
    )
    .await;
    let token = t.token(portal, &["all"]).await;
    let before = now_millis();
    let a = t
        .post(
            &token,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "hook@example.com", "firstname": "Ada"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id: i64 = a.body["id"].as_str().expect("id").parse().expect("numeric");
    let a = t
        .patch(
            &token,
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"firstname": "Grace"}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let events = receiver
        .wait_for("creation and propertyChange", |e| e.len() >= 2)
        .await;

    let creation = events
        .iter()
        .find(|e| e["subscriptionType"] == "contact.creation")
        .expect("creation");
    // HubSpot's key order, read off the bytes received.
    let text = format!(
        r#"{{"eventId":{},"subscriptionId":{},"portalId":{portal},"appId":{},"occurredAt":{},"subscriptionType":"contact.creation","attemptNumber":0,"objectId":{id},"changeFlag":"CREATED","changeSource":"API""#,
        creation["eventId"], creation["subscriptionId"], app.id, creation["occurredAt"]
    );
    assert!(
        receiver.got().iter().any(|g| g.body.contains(&text)),
        "{text} in {:?}",
        receiver
            .got()
            .iter()
            .map(|g| g.body.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(creation["portalId"], portal);
    assert_eq!(creation["appId"], app.id);
    assert_eq!(creation["objectId"], id);
    assert_eq!(creation["attemptNumber"], 0);
    assert_eq!(creation["changeFlag"], "CREATED");
    assert!(creation["occurredAt"].as_i64().expect("ms") >= before);
    let change = events
        .iter()
        .find(|e| e["subscriptionType"] == "contact.propertyChange")
        .expect("propertyChange");
    assert_eq!(change["propertyName"], "firstname");
    assert_eq!(change["propertyValue"], "Grace");

    for got in receiver.got() {
        let h = &got.headers;
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h["user-agent"], spoke_server::webhooks::USER_AGENT);
        assert_eq!(h["x-hubspot-signature-version"], "v1");
        assert_eq!(h["x-hubspot-timeout-millis"], "10000");
        assert_eq!(
            h["x-hubspot-signature"],
            signature::v1(&app.secret, got.body.as_bytes())
        );
        let ts: i64 = h["x-hubspot-request-timestamp"].parse().expect("timestamp");
        assert!((got.at - ts).abs() < 60_000);
        assert_eq!(
            h["x-hubspot-signature-v3"],
            signature::v3(&app.secret, "POST", &receiver.url, got.body.as_bytes(), ts)
        );
        assert!(
            !got.body.contains(' ') && !got.body.ends_with('\n'),
            "compact: {}",
            got.body
        );
    }

    // Each attempt is listed by the admin API.
    let admin = admin(&t).await;
    let a = t
        .get(
            &admin,
            &format!("/_spoke/webhooks/deliveries?appId={}", app.id),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let list = a.body["results"].as_array().expect("results");
    assert!(!list.is_empty());
    assert!(
        list.iter()
            .all(|d| d["outcome"] == "delivered" && d["status"] == 200),
        "{}",
        a.text
    );
    let a = t.get(&admin, "/_spoke/webhooks/pending").await;
    assert_eq!(a.body["pending"], 0, "{}", a.text);
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_the_next_attempt_number_and_the_same_event_id() {
    let (t, key_path) = TestApp::spawn_with_webhooks().await;
    let receiver = Receiver::start(Duration::ZERO).await;
    receiver.plan.lock().expect("lock").push_back(500);
    let portal = 232;
    let app = subscribed(
        &t,
        &key_path,
        &receiver.url,
        10,
        &[("contact.creation", None)],
        portal,
    )
    .await;
    let token = t.token(portal, &["all"]).await;
    let a = t
        .post(
            &token,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "retry@example.com"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let first = receiver
        .wait_for("the first attempt", |e| !e.is_empty())
        .await;
    assert_eq!(first[0]["attemptNumber"], 0);

    // The retry is a minute away; the admin flush runs it now.
    let admin = admin(&t).await;
    let a = t.get(&admin, "/_spoke/webhooks/pending").await;
    assert_eq!(a.body["pending"], 1, "{}", a.text);
    assert_eq!(a.body["results"][0]["attemptNumber"], 1, "{}", a.text);
    let a = t.post(&admin, "/_spoke/webhooks/flush", json!({})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body, json!({"delivered": 1, "failed": 0, "pending": 0}));
    let events = receiver.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1]["attemptNumber"], 1);
    assert_eq!(
        events[1]["eventId"], events[0]["eventId"],
        "eventId is stable across retries"
    );

    let a = t
        .get(
            &admin,
            &format!(
                "/_spoke/webhooks/deliveries?appId={}&portalId={portal}",
                app.id
            ),
        )
        .await;
    let list = a.body["results"].as_array().expect("results");
    assert_eq!(list.len(), 2, "{}", a.text);
    assert_eq!(list[0]["outcome"], "delivered", "newest first: {}", a.text);
    assert_eq!(list[0]["attemptNumber"], 1);
    assert_eq!(list[1]["outcome"], "retrying");
    assert_eq!(list[1]["status"], 500);
    assert_eq!(list[1]["eventIds"], list[0]["eventIds"]);
    let a = t
        .get(
            &admin,
            &format!("/_spoke/webhooks/deliveries?appId={}&limit=1", app.id),
        )
        .await;
    assert_eq!(a.body["results"].as_array().map(Vec::len), Some(1));
    let after = a.body["paging"]["next"]["after"]
        .as_str()
        .expect("paging")
        .to_owned();
    let a = t
        .get(
            &admin,
            &format!(
                "/_spoke/webhooks/deliveries?appId={}&limit=1&after={after}",
                app.id
            ),
        )
        .await;
    assert_eq!(a.body["results"][0]["outcome"], "retrying", "{}", a.text);
}

#[tokio::test]
async fn deliveries_keep_to_max_concurrent_requests_and_100_events_a_request() {
    let (t, key_path) = TestApp::spawn_with_webhooks().await;
    let receiver = Receiver::start(Duration::from_millis(150)).await;
    let portal = 233;
    subscribed(
        &t,
        &key_path,
        &receiver.url,
        5,
        &[("contact.creation", None)],
        portal,
    )
    .await;
    let token = t.token(portal, &["all"]).await;
    let n = 1000;
    for batch in 0..n / 100 {
        let inputs: Vec<Value> = (0..100)
            .map(|i| json!({"properties": {"email": format!("c{batch}-{i}@example.com")}}))
            .collect();
        let a = t
            .post(
                &token,
                "/crm/v3/objects/contacts/batch/create",
                json!({"inputs": inputs}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    let events = receiver.wait_for("every creation", |e| e.len() >= n).await;
    let mut ids: Vec<i64> = events
        .iter()
        .map(|e| e["objectId"].as_i64().expect("id"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "each record once");
    let sizes: Vec<usize> = receiver
        .got()
        .iter()
        .map(|g| {
            serde_json::from_str::<Vec<Value>>(&g.body)
                .expect("array")
                .len()
        })
        .collect();
    assert!(sizes.iter().all(|&s| (1..=100).contains(&s)), "{sizes:?}");
    let most = receiver.max_in_flight.load(Ordering::SeqCst);
    assert!(most <= 5, "at most maxConcurrentRequests at once: {most}");
    assert!(most >= 2, "requests do run concurrently: {most}");
}

#[tokio::test]
async fn admin_installs_decide_which_portals_send_events() {
    let (t, key_path) = TestApp::spawn_with_webhooks().await;
    let receiver = Receiver::start(Duration::ZERO).await;
    let admin = admin(&t).await;
    let a = t.post(&admin, "/_spoke/portals", json!({})).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let portal = a.body["portalId"].as_i64().expect("portal");
    let token = a.body["token"].as_str().expect("token").to_owned();
    let app = register(&t, &key_path).await;
    let settings = json!({"targetUrl": receiver.url, "throttling": {"maxConcurrentRequests": 10}});
    call(
        &t,
        Method::PUT,
        &format!("/webhooks/v3/{}/settings", app.id),
        &app.key,
        Some(settings),
    )
    .await;
    call(
        &t,
        Method::POST,
        &format!("/webhooks/v3/{}/subscriptions", app.id),
        &app.key,
        Some(json!({"eventType": "contact.creation", "active": true})),
    )
    .await;
    let install = format!("/_spoke/portals/{portal}/apps/{}/install", app.id);

    // Not installed: no event.
    let a = t
        .post(
            &token,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "before@example.com"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let a = t.call(Method::POST, Some(&admin), &install, None).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let a = t.call(Method::POST, Some(&admin), &install, None).await;
    assert_eq!(a.status, 204, "installing again: {}", a.text);
    let a = t
        .post(
            &token,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "after@example.com"}}),
        )
        .await;
    let id = a.body["id"]
        .as_str()
        .expect("id")
        .parse::<i64>()
        .expect("numeric");
    let events = receiver
        .wait_for("the installed portal's event", |e| !e.is_empty())
        .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["objectId"], id);

    let a = t.delete(&admin, &install).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let a = t.delete(&admin, &install).await;
    assert_eq!(a.status, 404, "{}", a.text);
    for bad in [
        format!("/_spoke/portals/{portal}/apps/999999/install"),
        format!("/_spoke/portals/{portal}/apps/x/install"),
        format!("/_spoke/portals/987654/apps/{}/install", app.id),
    ] {
        let a = t.call(Method::POST, Some(&admin), &bad, None).await;
        assert_eq!(a.status, 404, "{bad}: {}", a.text);
    }
    let a = t
        .post(
            &token,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "gone@example.com"}}),
        )
        .await;
    assert_eq!(a.status, 201);
    let a = t.post(&admin, "/_spoke/webhooks/flush", json!({})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        receiver.events().len(),
        1,
        "an uninstalled app gets nothing more"
    );

    // The admin API's other answers.
    let a = t.get(&token, "/_spoke/webhooks/pending").await;
    assert_eq!(
        a.status, 401,
        "a portal token is no admin token: {}",
        a.text
    );
    for bad in [
        "?limit=0",
        "?limit=x",
        "?appId=x",
        "?portalId=1.5",
        "?after=-",
    ] {
        let a = t
            .get(&admin, &format!("/_spoke/webhooks/deliveries{bad}"))
            .await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
    }
}

/// Every operation of HubSpot's webhooks v3 and 2026-03 specs is served: with the app's key,
/// none answers the unknown-route 404 or 405, and none a 5xx.
#[tokio::test]
async fn every_operation_of_hubspots_webhooks_specs_is_served() {
    let dir = match std::env::var("SPOKE_HUBSPOT_SPEC_DIR") {
        Ok(d) if !d.is_empty() => std::path::PathBuf::from(d),
        _ => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/hubspot-openapi"),
    };
    if !dir.is_dir() {
        eprintln!("SKIPPED webhooks routes vs specs: no spec directory (SPOKE_HUBSPOT_SPEC_DIR)");
        return;
    }
    let (t, key_path) = TestApp::spawn_with_webhooks().await;
    let app = register(&t, &key_path).await;
    let mut seen = 0;
    for file in ["webhooks-v3.json", "webhooks-2026-03.json"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("spec file");
        let spec: Value = serde_json::from_str(&text).expect("spec JSON");
        for (path, item) in spec["paths"].as_object().expect("paths") {
            if !path.starts_with("/webhooks/") {
                continue;
            }
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_none() {
                    continue;
                }
                seen += 1;
                let concrete = path
                    .replace("{appId}", &app.id.to_string())
                    .replace("{subscriptionId}", "1");
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                let a = call(&t, m, &concrete, &app.key, Some(json!({}))).await;
                assert!(a.status.as_u16() < 500, "{method} {path}: {}", a.text);
                assert_ne!(a.status, 405, "{method} {path}");
                assert_ne!(
                    a.body["message"], "resource not found",
                    "{method} {path}: {}",
                    a.text
                );
            }
        }
    }
    assert_eq!(seen, 18, "the webhooks specs' operations");
}

/// HubSpot's dated `/app-webhooks/2025-09` and `/2026-09` paths are the same API over the
/// same rows as `/webhooks/v3`: what one writes, the others read; the developer key is
/// required; another app's id is not found. (They were catalogue rows answering 403.)
#[tokio::test]
async fn the_dated_app_webhooks_paths_serve_the_same_api() {
    let (t, key_path) = TestApp::spawn_with_webhooks().await;
    let app = register(&t, &key_path).await;
    let other = register(&t, &key_path).await;
    for v in ["2025-09", "2026-09"] {
        let base = format!("/app-webhooks/{v}/{}", app.id);
        let a = t
            .call(Method::GET, None, &format!("{base}/settings"), None)
            .await;
        assert_eq!(a.status, 401, "{v} without a key: {}", a.text);
        let a = call(
            &t,
            Method::GET,
            &format!("{base}/settings"),
            &other.key,
            None,
        )
        .await;
        assert_eq!(a.status, 404, "{v} with another app's key: {}", a.text);
        let target = format!("http://localhost:9/{v}");
        let a = call(
            &t,
            Method::PUT,
            &format!("{base}/settings"),
            &app.key,
            Some(json!({"targetUrl": target, "throttling": {"maxConcurrentRequests": 7}})),
        )
        .await;
        assert_eq!(a.status, 200, "{v}: {}", a.text);
        let a = call(
            &t,
            Method::GET,
            &format!("/webhooks/v3/{}/settings", app.id),
            &app.key,
            None,
        )
        .await;
        assert_eq!(a.body["targetUrl"], target.as_str(), "{v}: {}", a.text);
        assert_eq!(a.body["throttling"]["maxConcurrentRequests"], 7);

        let a = call(
            &t,
            Method::POST,
            &format!("{base}/subscriptions"),
            &app.key,
            Some(json!({"eventType": "deal.creation", "active": true})),
        )
        .await;
        assert_eq!(a.status, 201, "{v}: {}", a.text);
        let id = a.body["id"].as_str().expect("id").to_owned();
        let a = call(
            &t,
            Method::GET,
            &format!("/webhooks/v3/{}/subscriptions/{id}", app.id),
            &app.key,
            None,
        )
        .await;
        assert_eq!(a.body["eventType"], "deal.creation", "{v}: {}", a.text);
        let one = format!("{base}/subscriptions/{id}");
        let a = call(
            &t,
            Method::PATCH,
            &one,
            &app.key,
            Some(json!({"active": false})),
        )
        .await;
        assert_eq!(a.status, 200, "{v}: {}", a.text);
        assert_eq!(a.body["active"], false);
        let a = call(
            &t,
            Method::POST,
            &format!("{base}/subscriptions/batch/update"),
            &app.key,
            Some(json!({"inputs": [{"id": id.parse::<i64>().expect("int"), "active": true}]})),
        )
        .await;
        assert_eq!(a.status, 200, "{v}: {}", a.text);
        assert_eq!(a.body["results"][0]["active"], true);
        let a = call(&t, Method::GET, &one, &app.key, None).await;
        assert_eq!(a.body["active"], true, "{v}: {}", a.text);
        let a = call(
            &t,
            Method::GET,
            &format!("{base}/subscriptions"),
            &app.key,
            None,
        )
        .await;
        assert_eq!(a.status, 200, "{v}: {}", a.text);
        assert!(
            a.body["results"]
                .as_array()
                .expect("results")
                .iter()
                .any(|s| s["id"] == id.as_str()),
            "{v}: {}",
            a.text
        );
        let a = call(
            &t,
            Method::POST,
            &format!("{base}/subscriptions"),
            &app.key,
            Some(json!({"eventType": "deal.exploded"})),
        )
        .await;
        assert_eq!(a.status, 400, "{v}: {}", a.text);
        assert_eq!(a.body["category"], "VALIDATION_ERROR", "{v}: {}", a.text);
        let a = call(&t, Method::DELETE, &one, &app.key, None).await;
        assert_eq!(a.status, 204, "{v}: {}", a.text);
        let a = call(&t, Method::GET, &one, &app.key, None).await;
        assert_eq!(a.status, 404, "{v}: {}", a.text);
        let a = call(
            &t,
            Method::DELETE,
            &format!("{base}/settings"),
            &app.key,
            None,
        )
        .await;
        assert_eq!(a.status, 204, "{v}: {}", a.text);
        let a = call(&t, Method::GET, &format!("{base}/settings"), &app.key, None).await;
        assert_eq!(a.status, 404, "{v}: {}", a.text);
    }
}

/// An `https://` target URL: the delivery client trusts the system's roots and spoke's
/// local CA, so a receiver whose certificate that CA issued gets the events, signed with
/// the https URL in the v3 signature; a server that does not trust the receiver's CA
/// records failed attempts (no status) and sends nothing.
#[tokio::test]
async fn an_https_target_gets_signed_events_when_its_ca_is_trusted() {
    let ca_dir = tempfile::tempdir().expect("tempdir");
    let ca = spoke_server::tls::LocalCa::open(ca_dir.path()).expect("local CA");
    let identity = ca.server_config().expect("server certificate");
    let receiver = Receiver::start_tls(identity.config.clone()).await;
    assert!(receiver.url.starts_with("https://"), "{}", receiver.url);

    let (t, key_path) = TestApp::spawn_with_webhooks_trusting(vec![ca.cert_path()]).await;
    let portal = 236;
    let app = subscribed(
        &t,
        &key_path,
        &receiver.url,
        10,
        &[("contact.creation", None)],
        portal,
    )
    .await;
    let token = t.token(portal, &["all"]).await;
    let a = t
        .post(
            &token,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "tls@example.com"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id: i64 = a.body["id"].as_str().expect("id").parse().expect("numeric");
    let events = receiver
        .wait_for("the creation over https", |e| !e.is_empty())
        .await;
    assert_eq!(events[0]["objectId"], id);
    for got in receiver.got() {
        let ts: i64 = got.headers["x-hubspot-request-timestamp"]
            .parse()
            .expect("timestamp");
        assert_eq!(
            got.headers["x-hubspot-signature-v3"],
            signature::v3(&app.secret, "POST", &receiver.url, got.body.as_bytes(), ts),
            "the v3 signature covers the https URL"
        );
    }

    // The same receiver, for a server that trusts only the system's roots: the handshake
    // fails, the attempt is recorded without a status, and the event waits for a retry.
    let untrusting = Receiver::start_tls(identity.config).await;
    let (u, key_path) = TestApp::spawn_with_webhooks_trusting(Vec::new()).await;
    let app = subscribed(
        &u,
        &key_path,
        &untrusting.url,
        10,
        &[("contact.creation", None)],
        portal,
    )
    .await;
    let token = u.token(portal, &["all"]).await;
    let a = u
        .post(
            &token,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "untrusted@example.com"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let admin = admin(&u).await;
    let mut attempts = Value::Null;
    for _ in 0..200 {
        let a = u
            .get(
                &admin,
                &format!("/_spoke/webhooks/deliveries?appId={}", app.id),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        if a.body["results"].as_array().is_some_and(|r| !r.is_empty()) {
            attempts = a.body["results"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = &attempts[0];
    assert_eq!(first["outcome"], "retrying", "{attempts}");
    assert!(first["status"].is_null(), "{attempts}");
    assert!(
        untrusting.got().is_empty(),
        "nothing reaches an untrusted receiver"
    );
}

/// Hostile bodies, ids and keys on every webhooks route: HubSpot's envelope, never a 5xx.
#[tokio::test]
async fn hostile_input_to_the_webhooks_api_gets_hubspots_envelope_never_a_5xx() {
    let (t, key_path) = TestApp::spawn_with_webhooks().await;
    let app = register(&t, &key_path).await;
    let base = format!("/webhooks/v3/{}", app.id);
    let routes = [
        (Method::PUT, format!("{base}/settings")),
        (Method::POST, format!("{base}/subscriptions")),
        (Method::POST, format!("{base}/subscriptions/batch/update")),
        (Method::PATCH, format!("{base}/subscriptions/1")),
        (
            Method::GET,
            format!("{base}/subscriptions/99999999999999999999"),
        ),
        (Method::DELETE, format!("{base}/subscriptions/-1")),
        (
            Method::GET,
            "/webhooks/v3/99999999999999999999999/settings".to_owned(),
        ),
        (Method::GET, "/webhooks/v3/%00/subscriptions".to_owned()),
    ];
    let bodies = [
        "",
        "{",
        "[]",
        "null",
        "\"x\"",
        r#"{"targetUrl": "\u0000", "maxConcurrentRequests": 1e308}"#,
        r#"{"targetUrl": "http://x", "throttling": "fast"}"#,
        r#"{"eventType": "contact.propertyChange", "propertyName": "a\u0000b"}"#,
        r#"{"eventType": "object.creation", "objectTypeId": "99999999999-1"}"#,
        r#"{"inputs": [{"id": "x", "active": true}]}"#,
        r#"{"inputs": [{"id": 99999999999, "active": true}]}"#,
        r#"{"inputs": null}"#,
        r#"{"active": "yes"}"#,
    ];
    for (method, path) in &routes {
        for body in bodies {
            let res = t
                .http
                .request(
                    method.clone(),
                    format!("{}{path}?hapikey={}", t.base, app.key),
                )
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send");
            let status = res.status();
            let text = res.text().await.expect("text");
            let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            assert!(
                status.as_u16() < 500,
                "{method} {path} {body:?}: {status} {text}"
            );
            if !status.is_success() {
                assert_eq!(
                    parsed["status"], "error",
                    "{method} {path} {body:?}: {text}"
                );
                assert!(
                    parsed["correlationId"].is_string(),
                    "{method} {path} {body:?}: {text}"
                );
            }
        }
    }
    // U+0000 in any query parameter is refused before routing, as everywhere (400).
    let a = t
        .call(
            Method::GET,
            None,
            &format!("{base}/settings?hapikey=%00"),
            None,
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.text);
    for key in ["", "x%20y", &"k".repeat(5000)] {
        let a = t
            .call(
                Method::GET,
                None,
                &format!("{base}/settings?hapikey={key}"),
                None,
            )
            .await;
        assert_eq!(a.status, 401, "{key:?}: {}", a.text);
    }
}

/// Connecting an app through OAuth installs it in the portal: the consent (the code it
/// issues) is what makes a portal's changes reach the app's webhooks, and the exchange
/// keeps it so.
#[tokio::test]
async fn an_oauth_code_exchange_installs_the_app() {
    let (t, key_path) = TestApp::spawn_with_webhooks().await;
    let key = SecretKey::load_or_create(&key_path).expect("key");
    let spec = AppSpec {
        name: "OAuth install".into(),
        redirect_uris: vec!["http://localhost:3000/callback".into()],
        scopes: vec!["crm.objects.contacts.read".into()],
        optional_scopes: vec![],
    };
    let (app, secrets) = oauth::create_app(t.store.as_ref(), &key, spec, now_millis())
        .await
        .expect("create_app");
    let portal = PortalId(234);
    let grant = oauth::Authorization {
        app: app.clone(),
        scopes: vec!["crm.objects.contacts.read".into()],
        redirect_uri: "http://localhost:3000/callback".into(),
    };
    let code = oauth::issue_code(t.store.as_ref(), &grant, portal, now_millis())
        .await
        .expect("code");
    assert_eq!(
        t.store.installed_apps(portal).await.expect("apps"),
        vec![app.id],
        "the consent installs"
    );
    let res = t
        .http
        .post(format!("{}/oauth/v1/token", t.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", secrets.client_secret.as_str()),
            ("redirect_uri", "http://localhost:3000/callback"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .expect("exchange");
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(
        t.store.installed_apps(portal).await.expect("apps"),
        vec![app.id]
    );
}
