//! The `spoke` binary as users run it: first start, tokens, import, and durability across
//! a hard kill. Each test uses its own database file and port.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_spoke");

fn spoke(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("run spoke")
}

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("spoke.db").display())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts `spoke serve` and waits for /healthz; returns what it printed on stdout.
    async fn start(url: &str) -> (Self, String) {
        Self::start_with(url, &[]).await
    }

    /// [`start`](Self::start) with more `serve` arguments.
    async fn start_with(url: &str, extra: &[&str]) -> (Self, String) {
        let port = free_port();
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
                url,
            ])
            .args(extra)
            .env("SPOKE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "spoke serve did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The banner is printed before the listener binds, so once /healthz answers it has
        // been written; a reader thread collects it without blocking on a quiet pipe.
        let printed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(out) = child.stdout.take() {
            let sink = printed.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&line);
                        s.push('\n');
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let printed = printed.lock().map(|s| s.clone()).unwrap_or_default();
        (Self { child, base }, printed)
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

async fn post(base: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn first_start_prints_an_all_scopes_token_that_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, printed) = Server::start(&db_url(dir.path())).await;
    let token = printed
        .split_whitespace()
        .find(|w| w.starts_with("pat-"))
        .expect("a token in the banner")
        .to_owned();
    let (status, _) = post(
        &server.base,
        &token,
        "/crm/v3/objects/contacts/batch/create",
        json!({"inputs":[{"properties":{"email":"first@example.com"}}]}),
    )
    .await;
    assert_eq!(status, 201);
    // The first token reads the portal's owners and users too.
    for path in [
        "/crm/v3/owners/",
        "/settings/v3/users/",
        "/settings/v3/users/teams",
    ] {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
    server.kill();
    // A second start on the same database prints no new token.
    let (server, printed) = Server::start(&db_url(dir.path())).await;
    assert!(
        !printed.contains("pat-"),
        "second start printed a token: {printed}"
    );
    server.kill();
}

#[tokio::test]
async fn token_create_prints_only_the_token_and_works_while_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let (server, _) = Server::start(&url).await;
    let out = spoke(&[
        "token",
        "create",
        "--database",
        &url,
        "--portal",
        "777",
        "--scopes",
        "crm.objects.contacts.read",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "stdout: {stdout}");
    let token = stdout.trim();
    // Read scope only: reading works, writing is 403.
    let (status, body) = post(
        &server.base,
        token,
        "/crm/v3/objects/contacts/batch/read",
        json!({"inputs":[]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &server.base,
        token,
        "/crm/v3/objects/contacts/batch/create",
        json!({"inputs":[{"properties":{"email":"x@example.com"}}]}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["category"], "MISSING_SCOPES");

    // Revoking takes effect at once.
    let list = spoke(&["token", "list", "--database", &url]);
    let listing = String::from_utf8_lossy(&list.stdout);
    let id = listing
        .lines()
        .find(|l| l.contains(" 777 "))
        .and_then(|l| l.split_whitespace().next())
        .expect("token 777 listed")
        .to_owned();
    assert!(!listing.contains(token), "list must not show secrets");
    assert!(spoke(&["token", "revoke", "--database", &url, &id])
        .status
        .success());
    let (status, body) = post(
        &server.base,
        token,
        "/crm/v3/objects/contacts/batch/read",
        json!({"inputs":[]}),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    server.kill();
}

#[tokio::test]
async fn acknowledged_writes_survive_a_hard_kill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let out = spoke(&[
        "token",
        "create",
        "--database",
        &url,
        "--portal",
        "5",
        "--scopes",
        "all",
    ]);
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (server, _) = Server::start(&url).await;
    let inputs: Vec<Value> = (0..100)
        .map(|i| json!({"properties":{"email": format!("k{i}@example.com")}}))
        .collect();
    let (status, body) = post(
        &server.base,
        &token,
        "/crm/v3/objects/contacts/batch/create",
        json!({"inputs": inputs}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let ids: Vec<Value> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| json!({"id": r["id"]}))
        .collect();
    // SIGKILL: no shutdown hook runs; only what was committed to disk remains.
    server.kill();
    let (server, _) = Server::start(&url).await;
    let (status, body) = post(
        &server.base,
        &token,
        "/crm/v3/objects/contacts/batch/read",
        json!({"inputs": ids}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"].as_array().map(Vec::len), Some(100));
    server.kill();
}

#[tokio::test]
async fn import_validates_every_row_and_writes_nothing_on_a_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let bad = dir.path().join("services.jsonl");
    std::fs::write(
        &bad,
        "{\"properties\":{\"hs_name\":\"A\"}}\n{\"properties\":{\"hs_name\":\"B\",\"hs_start_date\":\"1606768561954\"}}\n{\"properties\":{\"nope\":\"x\"}}\n",
    )
    .expect("write");
    let out = spoke(&[
        "import",
        "--database",
        &url,
        "--portal",
        "9",
        "--object-type",
        "partner_services",
        bad.to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("services.jsonl:2:") && err.contains("INVALID_DATE"),
        "{err}"
    );
    assert!(
        err.contains("services.jsonl:3:") && err.contains("PROPERTY_DOESNT_EXIST"),
        "{err}"
    );

    let good = dir.path().join("clients.csv");
    std::fs::write(&good, "hs_name,hs_domain\nAcme,acme.io\nBeta,\n").expect("write");
    let out = spoke(&[
        "import",
        "--database",
        &url,
        "--portal",
        "9",
        "--object-type",
        "partner_clients",
        good.to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = spoke(&[
        "token",
        "create",
        "--database",
        &url,
        "--portal",
        "9",
        "--scopes",
        "all",
    ]);
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (server, _) = Server::start(&url).await;
    let r = reqwest::Client::new()
        .get(format!("{}/crm/v3/objects/partner_services", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body["results"].as_array().map(Vec::len),
        Some(0),
        "bad file wrote records"
    );
    let r = reqwest::Client::new()
        .get(format!("{}/crm/v3/objects/partner_clients?properties=hs_name,hs_domain&propertiesWithHistory=hs_name", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list");
    let body: Value = r.json().await.expect("json");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["properties"]["hs_domain"], "acme.io");
    assert_eq!(results[1]["properties"]["hs_domain"], Value::Null);
    assert_eq!(
        results[0]["propertiesWithHistory"]["hs_name"][0]["sourceType"],
        "IMPORT"
    );
    assert_eq!(
        results[0]["propertiesWithHistory"]["hs_name"][0]["sourceId"],
        "clients.csv"
    );
    server.kill();
}

/// `spoke import` holds `hubspot_owner_id` to the portal's live owners, as the API does: a
/// value that names no owner fails its line; the seeded owner of the portal is accepted.
#[test]
fn import_holds_owner_ids_to_the_portals_owners() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let import = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).expect("write");
        spoke(&[
            "import",
            "--database",
            &url,
            "--portal",
            "9",
            "--object-type",
            "contacts",
            path.to_str().expect("path"),
        ])
    };
    let out = import(
        "bad.jsonl",
        "{\"properties\":{\"email\":\"a@x.io\",\"hubspot_owner_id\":\"12345\"}}\n",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.jsonl:1:") && err.contains("INVALID_OWNER_ID"),
        "{err}"
    );
    // The first owner every portal is seeded with (spoke_store::directory::FIRST_OWNER_ID).
    let out = import(
        "good.jsonl",
        "{\"properties\":{\"email\":\"b@x.io\",\"hubspot_owner_id\":\"40000001\"}}\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `spoke` with stdout connected to a reader that has already gone away, as
/// `spoke … | head -c 10` becomes once `head` exits. A socket pair stands in for the pipe:
/// its write end fails with EPIPE exactly like a pipe's, and closing the read end before
/// the child starts makes the test deterministic (std's `io::pipe` is newer than our MSRV).
#[cfg(unix)]
fn spoke_into_closed_stdout(args: &[&str]) -> std::process::Output {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socket pair");
    drop(ours);
    Command::new(BIN)
        .args(args)
        .env("SPOKE_LOG", "warn")
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stderr(Stdio::piped())
        .output()
        .expect("run spoke")
}

/// Issue 18, defect 8: `spoke token list | head -c 10` panicked (exit 101, backtrace).
#[cfg(unix)]
#[tokio::test]
async fn token_list_into_a_closed_pipe_exits_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    for _ in 0..3 {
        let out = spoke(&["token", "create", "--database", &url, "--portal", "7"]);
        assert!(out.status.success());
    }
    let file = dir.path().join("services.jsonl");
    let rows: String = (0..150)
        .map(|i| format!("{{\"properties\":{{\"hs_name\":\"S{i}\"}}}}\n"))
        .collect();
    std::fs::write(&file, rows).expect("write");
    let path = file.to_str().expect("path");
    let commands: [&[&str]; 3] = [
        &["token", "list", "--database", &url],
        &["token", "create", "--database", &url, "--portal", "7"],
        &[
            "import",
            "--database",
            &url,
            "--portal",
            "7",
            "--object-type",
            "partner_services",
            path,
        ],
    ];
    for args in commands {
        let out = spoke_into_closed_stdout(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "spoke {args:?}: {err}");
        assert!(!err.contains("stack backtrace"), "spoke {args:?}: {err}");
        if args[0] == "import" {
            // The ids are a by-product; the import itself runs to the end.
            assert!(out.status.success(), "spoke {args:?}: {err}");
        } else {
            // What a shell reports for `cat` ended by SIGPIPE.
            assert_eq!(out.status.code(), Some(141), "spoke {args:?}: {err}");
            assert!(err.is_empty(), "spoke {args:?}: {err}");
        }
    }
    // Every row of the import went in although nobody read its ids.
    let token = create_token(&url, "7");
    let (server, _) = Server::start(&url).await;
    let (mut seen, mut after) = (0, String::new());
    loop {
        let r = reqwest::Client::new()
            .get(format!(
                "{}/crm/v3/objects/partner_services?limit=100{after}",
                server.base
            ))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list");
        let body: Value = r.json().await.expect("json");
        seen += body["results"].as_array().map_or(0, Vec::len);
        match body["paging"]["next"]["after"].as_str() {
            Some(a) => after = format!("&after={a}"),
            None => break,
        }
    }
    assert_eq!(seen, 150);
    server.kill();
}

/// Issue 18, defect 10: `spoke import` did not say which ids it created, so the README
/// guessed them. The ids go to stdout, one a line in file order; the summary to stderr.
#[tokio::test]
async fn import_prints_the_ids_it_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let file = dir.path().join("clients.csv");
    std::fs::write(&file, "hs_name\nAcme\nBeta\nGamma\n").expect("write");
    let out = spoke(&[
        "import",
        "--database",
        &url,
        "--portal",
        "5",
        "--object-type",
        "partner_clients",
        "--batch-size",
        "2",
        file.to_str().expect("path"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("imported 3 partner_clients record(s)"),
        "{err}"
    );
    let ids = stdout_lines(&out);
    assert_eq!(ids.len(), 3, "{ids:?}");
    let token = create_token(&url, "5");
    let (server, _) = Server::start(&url).await;
    let inputs: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
    let (status, body) = post(
        &server.base,
        &token,
        "/crm/v3/objects/partner_clients/batch/read",
        json!({"inputs": inputs, "properties": ["hs_name"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut names: Vec<(String, String)> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().expect("id").to_owned(),
                r["properties"]["hs_name"]
                    .as_str()
                    .expect("name")
                    .to_owned(),
            )
        })
        .collect();
    names.sort_by_key(|(id, _)| id.parse::<i64>().expect("numeric id"));
    let expected: Vec<(String, String)> = ids
        .iter()
        .cloned()
        .zip(["Acme", "Beta", "Gamma"].map(String::from))
        .collect();
    assert_eq!(names, expected);
    server.kill();
}

#[test]
fn import_rejects_nul_with_its_line_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let file = dir.path().join("services.jsonl");
    std::fs::write(
        &file,
        "{\"properties\":{\"hs_name\":\"A\"}}\n{\"properties\":{\"hs_name\":\"B\\u0000\"}}\n",
    )
    .expect("write");
    let out = spoke(&[
        "import",
        "--database",
        &url,
        "--portal",
        "9",
        "--object-type",
        "partner_services",
        file.to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("services.jsonl:2:") && err.contains("U+0000"),
        "{err}"
    );
    assert!(!err.contains("services.jsonl:1:"), "{err}");
}

/// `eprintln!` panics like `println!` when its reader is gone: `spoke migrate 2>&1 | true`
/// must still migrate and exit 0, not die on its one line of progress.
#[cfg(unix)]
#[test]
fn messages_to_a_closed_stderr_do_not_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socket pair");
    drop(ours);
    let status = Command::new(BIN)
        .args(["migrate", "--database", &url])
        .env("SPOKE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .status()
        .expect("run spoke");
    assert_eq!(status.code(), Some(0));
}

async fn get_status(base: &str, token: &str, path: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// Issue 16: `spoke serve` prints the admin token once per database; `spoke admin-token`
/// issues a new one that a running server honours at once, and the old one stops working.
#[tokio::test]
async fn the_admin_token_is_printed_once_and_rotated_by_admin_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let (server, printed) = Server::start(&url).await;
    let word = |prefix: &str, text: &str| {
        text.split_whitespace()
            .find(|w| w.starts_with(prefix))
            .map(str::to_owned)
    };
    let admin = word("spoke-admin-", &printed).expect("an admin token in the banner");
    let hubspot = word("pat-", &printed).expect("a HubSpot token in the banner");
    // The web UI's address, which signs in with the token it carries.
    let ui = word(&format!("{}/_spoke/ui", server.base), &printed).expect("the UI's address");
    assert_eq!(ui, format!("{}/_spoke/ui?token={admin}", server.base));
    let signed_in = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(&ui)
        .send()
        .await
        .expect("request");
    assert_eq!(signed_in.status(), 303);
    assert!(signed_in.headers().contains_key("set-cookie"));
    assert_eq!(
        get_status(&server.base, &admin, "/_spoke/portals").await,
        200
    );
    assert_eq!(
        get_status(&server.base, &hubspot, "/_spoke/portals").await,
        401
    );
    assert_eq!(
        get_status(&server.base, &admin, "/crm/v3/objects/contacts").await,
        401
    );
    let (status, created) = post(&server.base, &admin, "/_spoke/portals", json!({})).await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().expect("token");
    assert_eq!(
        get_status(&server.base, token, "/crm/v3/objects/contacts").await,
        200
    );

    let out = spoke(&["admin-token", "--database", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rotated = stdout.trim();
    assert!(
        rotated.starts_with("spoke-admin-") && !rotated.contains('\n'),
        "{stdout}"
    );
    assert_eq!(
        get_status(&server.base, &admin, "/_spoke/portals").await,
        401,
        "old one refused"
    );
    assert_eq!(
        get_status(&server.base, rotated, "/_spoke/portals").await,
        200
    );
    server.kill();

    let (server, printed) = Server::start(&url).await;
    assert!(
        word("spoke-admin-", &printed).is_none(),
        "a second start shows no admin token: {printed}"
    );
    assert!(
        printed.contains(&format!("{}/_spoke/ui (sign in", server.base)),
        "the UI's address without a token: {printed}"
    );
    assert_eq!(
        get_status(&server.base, rotated, "/_spoke/portals").await,
        200
    );
    server.kill();
}

/// Issue 12: `spoke import` takes a portal's custom type as the API does (`2-…`,
/// `p_{name}`), validates against its schema's properties and required properties, and
/// refuses another portal's type.
#[tokio::test]
async fn import_loads_records_of_a_custom_type() {
    use spoke_store::schemas::NewSchema;
    use spoke_store::SchemaStore;

    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let store = spoke_store_sqlite::SqliteStore::open(&url).expect("open");
    let mut model = spoke_store::conformance::prop_def("model", "Model");
    model.group_name = "cars_information".into();
    let new = NewSchema {
        schema: spoke_core::CustomSchema {
            portal: spoke_core::PortalId(5),
            number: 0,
            name: "cars".into(),
            singular_label: "Car".into(),
            plural_label: "Cars".into(),
            description: String::new(),
            primary_display_property: Some("model".into()),
            secondary_display_properties: vec![],
            searchable_properties: vec!["model".into()],
            required_properties: vec!["model".into()],
            allows_sensitive_properties: false,
            restorable: true,
            archived: false,
            created_at: 0,
            updated_at: 0,
            created_by_user_id: None,
            updated_by_user_id: None,
        },
        properties: vec![model],
        group: spoke_store::PropertyGroup {
            name: "cars_information".into(),
            label: "Car information".into(),
            display_order: -1,
            archived: false,
        },
        associations: vec![],
        max_schemas: 10,
    };
    let ty = store
        .create_schema(new)
        .await
        .expect("store")
        .expect("created")
        .schema
        .object_type_id();
    drop(store);

    let file = dir.path().join("cars.csv");
    let import = |portal: &str, ty: &str, body: &str| {
        std::fs::write(&file, body).expect("write");
        let args = [
            "import",
            "--database",
            &url,
            "--portal",
            portal,
            "--object-type",
            ty,
        ];
        let mut args: Vec<&str> = args.to_vec();
        let path = file.to_str().expect("path").to_owned();
        args.push(&path);
        spoke(&args)
    };
    // A row without the required `model`, and a property the type does not have.
    let out = import("5", "p_cars", "model,color\n,red\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing imported"), "{err}");
    // Another portal does not have the type; a bare name is no type.
    for (portal, name) in [("6", ty.as_str()), ("6", "p_cars"), ("5", "cars")] {
        let out = import(portal, name, "model\nT\n");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{portal} {name}: {err}");
        assert!(
            err.contains(&format!("Unable to infer object type from: {name}")),
            "{err}"
        );
    }
    let out = import("5", &ty, "model\nModel T\nBeetle\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let ids = stdout_lines(&out);
    assert_eq!(ids.len(), 2, "{ids:?}");

    let token = create_token(&url, "5");
    let (server, _) = Server::start(&url).await;
    let inputs: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
    let (status, body) = post(
        &server.base,
        &token,
        "/crm/v3/objects/p_cars/batch/read",
        json!({"inputs": inputs, "properties": ["model"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut models: Vec<&str> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["properties"]["model"].as_str())
        .collect();
    models.sort_unstable();
    assert_eq!(models, ["Beetle", "Model T"]);
    server.kill();
}

/// A new all-scopes token of `portal` from `spoke token create`.
fn create_token(url: &str, portal: &str) -> String {
    let out = spoke(&["token", "create", "--database", url, "--portal", portal]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The lines a command printed (`spoke import` prints one record id a line).
fn stdout_lines(out: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Issue 16: the request inspector's bounds and starting state come from `serve`'s flags.
#[tokio::test]
async fn serve_flags_bound_the_request_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let admin = "spoke-admin-inspector-flags-test";
    let (server, _) = Server::start_with(
        &url,
        &[
            "--admin-token",
            admin,
            "--no-inspector",
            "--inspector-capacity",
            "2",
            "--inspector-max-bytes",
            "1MiB",
            "--inspector-max-body-bytes",
            "2KiB",
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let status: Value = http
        .get(format!("{}/_spoke/inspector", server.base))
        .bearer_auth(admin)
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(
        status,
        json!({"recording": false, "capacity": 2, "maxBytes": 1 << 20,
               "maxBodyBytes": 2048, "stored": 0, "bytes": 0})
    );
    server.kill();
    let out = spoke(&["serve", "--database", &url, "--inspector-max-bytes", "lots"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a size"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn get_json(base: &str, token: &str, path: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.json().await.expect("JSON")
}

async fn contact_emails(base: &str, token: &str) -> Vec<String> {
    let page = get_json(base, token, "/crm/v3/objects/contacts?properties=email").await;
    let mut out: Vec<String> = page["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["properties"]["email"].as_str().map(str::to_owned))
        .collect();
    out.sort();
    out
}

/// Issue 16: `spoke serve --seed FILE` seeds the database's first portal from the
/// repository's example fixture before serving; every start begins from the fixture; a bad
/// fixture stops the start and leaves the portal as it was; the seed is what a reset to
/// the seed returns to.
#[tokio::test]
async fn serve_seed_starts_from_the_fixture_and_a_bad_one_changes_nothing() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/seed.json");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let (server, printed) = Server::start_with(&url, &["--seed", example]).await;
    let word = |prefix: &str, text: &str| {
        text.split_whitespace()
            .find(|w| w.starts_with(prefix))
            .map(str::to_owned)
    };
    let token = word("pat-", &printed).expect("a HubSpot token in the banner");
    let admin = word("spoke-admin-", &printed).expect("an admin token in the banner");
    assert!(printed.contains("seeded portal"), "{printed}");
    let seeded = ["alice@example.com", "bob@example.com"];
    assert_eq!(contact_emails(&server.base, &token).await, seeded);
    let deals = get_json(
        &server.base,
        &token,
        "/crm/v3/objects/deals?properties=dealstage",
    )
    .await;
    assert_eq!(deals["results"][0]["properties"]["dealstage"], "talking");
    let owners = get_json(
        &server.base,
        &token,
        "/crm/v3/owners?email=olivia@example.com",
    )
    .await;
    assert_eq!(owners["results"][0]["lastName"], "Owner");

    // A change, undone by a reset to the seed.
    let (status, _) = post(
        &server.base,
        &token,
        "/crm/v3/objects/contacts",
        json!({"properties": {"email": "later@example.com"}}),
    )
    .await;
    assert_eq!(status, 201);
    let portals = get_json(&server.base, &admin, "/_spoke/portals").await;
    let portal = portals["results"][0]["portalId"].as_i64().expect("portal");
    let (status, body) = post(
        &server.base,
        &admin,
        &format!("/_spoke/portals/{portal}/reset"),
        json!({"to": "seed"}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(contact_emails(&server.base, &token).await, seeded);

    // Written again, then a restart with the fixture: the start begins from it.
    let (status, _) = post(
        &server.base,
        &token,
        "/crm/v3/objects/contacts",
        json!({"properties": {"email": "later@example.com"}}),
    )
    .await;
    assert_eq!(status, 201);
    server.kill();
    let (server, _) = Server::start_with(&url, &["--seed", example]).await;
    assert_eq!(contact_emails(&server.base, &token).await, seeded);
    let (status, _) = post(
        &server.base,
        &token,
        "/crm/v3/objects/contacts",
        json!({"properties": {"email": "kept@example.com"}}),
    )
    .await;
    assert_eq!(status, 201);
    server.kill();

    // A fixture that fails: the start stops, naming where, and the portal is as it was.
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"records": {"contacts": [{"properties": {"email": "x@example.com"}}, {"properties": {"lifecyclestage": "no such stage"}}]}}"#,
    )
    .expect("write");
    let bad_path = bad.display().to_string();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &url,
            "--seed",
            &bad_path,
        ])
        .env("SPOKE_LOG", "warn")
        .output()
        .expect("run spoke");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("records.contacts[1]"), "{stderr}");
    let (server, _) = Server::start(&url).await;
    let mut kept = vec!["alice@example.com", "bob@example.com", "kept@example.com"];
    kept.sort();
    assert_eq!(contact_emails(&server.base, &token).await, kept);
    server.kill();
}

/// Issue 15: `spoke import` writes through the store's record batches, so an app installed
/// in the portal gets its webhook events from an import as from the API, recorded with the
/// rows (`changeSource` IMPORT, the file's name as `sourceId`).
#[tokio::test]
async fn import_records_webhook_events() {
    use spoke_store::webhooks::{CreateSubscription, NewSubscription, WebhookSettings};
    use spoke_store::{OAuthStore, TokenStore, WebhookStore};

    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let portal = spoke_core::PortalId(5);
    let app_id = {
        let store = spoke_store_sqlite::SqliteStore::open(&url).expect("open");
        store.ensure_portal(portal, 0).await.expect("portal");
        let app = store
            .insert_app(spoke_store::oauth::NewApp {
                name: "Hooks".into(),
                client_id: "client-hooks".into(),
                client_secret_hash: "h".into(),
                client_secret_sealed: "s".into(),
                developer_api_key_hash: "k".into(),
                developer_api_key_sealed: "ks".into(),
                redirect_uris: vec![],
                scopes: vec!["oauth".into()],
                optional_scopes: vec![],
                created_at: 0,
            })
            .await
            .expect("app");
        store
            .put_webhook_settings(WebhookSettings {
                app_id: app.id,
                target_url: "http://127.0.0.1:9/".into(),
                max_concurrent_requests: 10,
                period: None,
                created_at: 0,
                updated_at: 0,
            })
            .await
            .expect("settings");
        store.install_app(app.id, portal, 0).await.expect("install");
        let subscription = store
            .create_subscription(NewSubscription {
                app_id: app.id,
                event_type: "contact.creation".into(),
                object_type_id: None,
                property_name: None,
                active: true,
                now: 0,
            })
            .await
            .expect("subscribe");
        assert!(matches!(subscription, CreateSubscription::Created(_)));
        app.id
    };
    let file = dir.path().join("people.csv");
    std::fs::write(&file, "email,firstname\na@x.test,Ann\nb@x.test,Bo\n").expect("write");
    let out = spoke(&[
        "import",
        "--database",
        &url,
        "--portal",
        "5",
        "--object-type",
        "contacts",
        file.to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = stdout_lines(&out);
    assert_eq!(ids.len(), 2, "{ids:?}");
    let store = spoke_store_sqlite::SqliteStore::open(&url).expect("open");
    let (count, events) = store
        .pending_events(Some(app_id), 10)
        .await
        .expect("pending");
    assert_eq!(count, 2);
    let fields: Vec<String> = events.iter().map(|e| e.fields.clone()).collect();
    let expected: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                r#"{{"objectId":{id},"changeFlag":"CREATED","changeSource":"IMPORT","sourceId":"people.csv"}}"#
            )
        })
        .collect();
    assert_eq!(fields, expected);
    assert!(events
        .iter()
        .all(|e| e.portal == portal && e.subscription_type == "contact.creation"));
}

/// `spoke app install|uninstall`: an app reaches a portal's webhooks without the OAuth flow.
#[tokio::test]
async fn app_install_and_uninstall() {
    use spoke_store::WebhookStore;

    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let data = dir.path().join("data");
    let data = data.to_str().expect("path");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("SPOKE_DATA_DIR", data)
            .output()
            .expect("run spoke")
    };
    let out = run(&[
        "app",
        "create",
        "--database",
        &url,
        "--name",
        "Hooks",
        "--redirect-uri",
        "http://localhost/cb",
        "--scopes",
        "crm.objects.contacts.read",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app: Value = serde_json::from_slice(&out.stdout).expect("app JSON");
    let id = app["appId"].as_i64().expect("appId").to_string();
    let install = run(&["app", "install", "--database", &url, "--portal", "7", &id]);
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let again = run(&["app", "install", "--database", &url, "--portal", "7", &id]);
    assert!(again.status.success(), "installing twice is fine");
    {
        let store = spoke_store_sqlite::SqliteStore::open(&url).expect("open");
        let apps = store
            .installed_apps(spoke_core::PortalId(7))
            .await
            .expect("apps");
        assert_eq!(apps, vec![id.parse::<i64>().expect("id")]);
    }
    let unknown = run(&["app", "install", "--database", &url, "--portal", "7", "999"]);
    assert!(!unknown.status.success(), "an unknown app is refused");
    let out = run(&["app", "uninstall", "--database", &url, "--portal", "7", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["app", "uninstall", "--database", &url, "--portal", "7", &id]);
    assert!(!out.status.success(), "not installed any more");
    let store = spoke_store_sqlite::SqliteStore::open(&url).expect("open");
    assert!(store
        .installed_apps(spoke_core::PortalId(7))
        .await
        .expect("apps")
        .is_empty());
}

/// The records a search of contacts by `firstname` EQ `value` returns, by id.
async fn search_firstname(base: &str, token: &str, value: &str) -> Vec<String> {
    let (status, body) = post(
        base,
        token,
        "/crm/v3/objects/contacts/search",
        json!({"filterGroups": [{"filters": [
            {"propertyName": "firstname", "operator": "EQ", "value": value}]}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut ids: Vec<String> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// Issue 17 §3: records without value index rows (as a spoke older than migration 0018
/// writes them beside a newer one) are not found by a search on a property that probes the
/// index; `spoke reindex` makes the rows again from the records, with the server running.
/// `db` names the database; `sql` runs SQL on it behind spoke's back.
async fn reindex_repairs_a_stale_index(db: &[&str], sql: impl Fn(&str)) {
    let token = common::token_create(db, 7);
    let server = common::Server::start(db).await;
    let (status, body) = post(
        &server.base,
        &token,
        "/crm/v3/objects/contacts/batch/create",
        json!({"inputs": [
            {"properties": {"email": "a@example.com", "firstname": "Ada"}},
            {"properties": {"email": "g@example.com", "firstname": "Grace"}},
            {"properties": {"email": "b@example.com", "firstname": " ADA "}}]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let adas = search_firstname(&server.base, &token, "ada").await;
    assert_eq!(adas.len(), 2, "found through the index as written");

    // What an old writer leaves: records, no index rows.
    sql("DELETE FROM search_text; DELETE FROM search_numbers;");
    assert_eq!(
        search_firstname(&server.base, &token, "ada").await,
        Vec::<String>::new(),
        "the search probes the index: without rows it finds nothing"
    );

    let reindex = |more: &[&str]| {
        let mut args = vec!["reindex"];
        args.extend_from_slice(db);
        args.extend_from_slice(more);
        common::spoke(&args)
    };
    let out = reindex(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = stdout_lines(&out);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("portal 7: ") && l.ends_with(" (0 removed)")),
        "{lines:?}"
    );
    assert_eq!(search_firstname(&server.base, &token, "ada").await, adas);
    assert_eq!(
        search_firstname(&server.base, &token, "grace").await.len(),
        1
    );

    // Again, for one portal: it removes the rows it made and makes them again.
    let out = reindex(&["--portal", "7"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout_lines(&out).join("\n");
    let counts: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(
        matches!(counts.as_slice(), [7, w, r] if w == r && *w > 0),
        "{line}"
    );
    assert_eq!(search_firstname(&server.base, &token, "ada").await, adas);

    let out = reindex(&["--portal", "99"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no portal 99"));

    // A portal whose record the backend cannot read fails alone: the others are reindexed,
    // and the run fails naming it.
    let eight = common::token_create(db, 8);
    // Searched first, so `firstname` is indexed there and the reindex reads the record.
    assert_eq!(
        search_firstname(&server.base, &eight, "ada").await,
        Vec::<String>::new()
    );
    sql(
        "INSERT INTO objects (id, portal_id, object_type, properties, version, created_at, \
         updated_at) VALUES (900000001, 8, '0-1', 'not json', 1, 1, 1)",
    );
    sql("DELETE FROM search_text WHERE portal_id = 7");
    let out = reindex(&[]);
    assert!(
        !out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not reindexed: portal(s) 8"), "{err}");
    assert!(
        stdout_lines(&out)
            .iter()
            .any(|l| l.starts_with("portal 7: ")),
        "{err}"
    );
    assert_eq!(search_firstname(&server.base, &token, "ada").await, adas);
    server.stop();
}

#[tokio::test]
async fn reindex_repairs_a_stale_index_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let path = dir.path().join("spoke.db");
    reindex_repairs_a_stale_index(&["--database", &url], |sql| {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.busy_timeout(Duration::from_secs(10)).expect("timeout");
        conn.execute_batch(sql).expect(sql);
    })
    .await;
}

#[tokio::test]
async fn reindex_repairs_a_stale_index_on_postgres() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let schema = common::PgSchema::new(&url);
    reindex_repairs_a_stale_index(&schema.args(), |sql| {
        if let Err(e) = schema.sql(sql) {
            panic!("{sql}: {e}");
        }
    })
    .await;
}

/// `serve` runs with mimalloc's purge delay at 0 (it starts itself again with the variable
/// set: `return_freed_memory_sooner`), and a delay the user chose is kept.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn serve_returns_freed_memory_sooner_unless_told_otherwise() {
    let purge_delay = |server: &common::Server| -> Option<String> {
        let environ = std::fs::read(format!("/proc/{}/environ", server.pid())).expect("environ");
        environ
            .split(|b| *b == 0)
            .filter_map(|kv| std::str::from_utf8(kv).ok())
            .find_map(|kv| kv.strip_prefix("MIMALLOC_PURGE_DELAY=").map(str::to_owned))
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db_url(dir.path());
    let server = common::Server::start(&["--database", &url]).await;
    assert_eq!(purge_delay(&server).as_deref(), Some("0"));
    server.stop();
    let server =
        common::Server::start_with(&["--database", &url], &[("MIMALLOC_PURGE_DELAY", "25")]).await;
    assert_eq!(purge_delay(&server).as_deref(), Some("25"));
    server.stop();
}
