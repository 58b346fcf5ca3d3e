//! `spoke app` and `spoke oauth grant` as users run them, then the grant exchanged and used
//! against `spoke serve`; and what is never stored or logged in clear: client secrets,
//! developer API keys, codes and tokens.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_spoke");

fn spoke(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("SPOKE_DATA_DIR", data)
        .env("SPOKE_LOG", "warn")
        .output()
        .expect("run spoke")
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = spoke(data, args);
    assert!(
        out.status.success(),
        "spoke {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Every byte of the database: the SQLite file and its WAL.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["spoke.db", "spoke.db-wal"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn apps_grants_and_tokens_from_the_command_line_never_in_clear_at_rest_or_in_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let url = format!("sqlite://{}", dir.path().join("spoke.db").display());
    let db = ["--database", url.as_str()];

    let created: Value = serde_json::from_str(&ok(
        &data,
        &[
            &["app", "create"][..],
            &db,
            &[
                "--name",
                "My Sync",
                "--redirect-uri",
                "http://localhost:3000/cb",
                "--scopes",
                "crm.objects.contacts.read,crm.objects.contacts.write",
                "--optional-scopes",
                "tickets",
            ],
        ]
        .concat(),
    ))
    .expect("JSON");
    let keys: Vec<&str> = created
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec!["appId", "clientId", "clientSecret", "developerApiKey"];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    let client_id = created["clientId"].as_str().expect("clientId").to_owned();
    let secret = created["clientSecret"].as_str().expect("secret").to_owned();
    let api_key = created["developerApiKey"].as_str().expect("key").to_owned();
    let app_id = created["appId"].as_i64().expect("appId");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key_file = data.join("secret.key");
        let mode = std::fs::metadata(&key_file)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is its owner's only");
    }

    let listed: Value =
        serde_json::from_str(&ok(&data, &[&["app", "list"][..], &db].concat())).expect("JSON");
    assert_eq!(
        listed[0]["clientSecret"],
        secret.as_str(),
        "opened with the key"
    );
    assert_eq!(listed[0]["developerApiKey"], api_key.as_str());
    assert_eq!(listed[0]["redirectUris"][0], "http://localhost:3000/cb");

    // Without the key file the secrets cannot be read back.
    let elsewhere = dir.path().join("other-data");
    let blind: Value =
        serde_json::from_str(&ok(&elsewhere, &[&["app", "list"][..], &db].concat())).expect("JSON");
    assert_eq!(blind[0]["clientId"], client_id.as_str());
    assert_eq!(blind[0]["clientSecret"], Value::Null, "no key, no secrets");

    let bad = spoke(
        &data,
        &[
            &["oauth", "grant"][..],
            &db,
            &[
                "--portal",
                "42",
                "--client-id",
                &client_id,
                "--scopes",
                "tickets",
            ],
        ]
        .concat(),
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("crm.objects.contacts.read"));
    let code = ok(
        &data,
        &[
            &["oauth", "grant"][..],
            &db,
            &["--portal", "42", "--client-id", &client_id],
        ]
        .concat(),
    )
    .trim()
    .to_owned();
    assert!(code.starts_with("na1-"), "{code}");

    // Serve with verbose logs and use the grant.
    let port = free_port();
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database",
            &url,
        ])
        .env("SPOKE_DATA_DIR", &data)
        .env("SPOKE_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("redirect_uri", "http://localhost:3000/cb"),
        ("code", code.as_str()),
    ];
    let tokens: Value = http
        .post(format!("{base}/oauth/v1/token"))
        .form(&form)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    assert_eq!(tokens["hub_id"], 42, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let contacts = http
        .get(format!("{base}/crm/v3/objects/contacts"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("contacts");
    assert_eq!(contacts.status(), 200);
    // Failures log their cause; make some, with the tokens in paths and bodies.
    for path in [
        format!("/oauth/v1/access-tokens/{access}"),
        format!("/oauth/v1/refresh-tokens/{refresh}"),
    ] {
        let r = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("info");
        assert_eq!(r.status(), 200);
    }
    let again = http
        .post(format!("{base}/oauth/v1/token"))
        .form(&form)
        .send()
        .await
        .expect("token");
    assert_eq!(again.status(), 400, "a code works once");

    let stored = database_bytes(dir.path());
    assert!(!stored.is_empty());

    // Deleting the app ends its tokens.
    ok(
        &data,
        &[&["app", "delete"][..], &db, &[app_id.to_string().as_str()]].concat(),
    );
    let after = http
        .get(format!("{base}/crm/v3/objects/contacts"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("contacts");
    assert_eq!(after.status(), 401);
    let _ = child.kill();
    let _ = child.wait();

    let logged = std::fs::read(&log_path).expect("log");
    assert!(contains(&logged, "listening"), "the log was written");
    assert!(
        contains(&logged, "/oauth/v1/access-tokens/…"),
        "the access log has the request, without its token"
    );
    for (what, value) in [
        ("client secret", &secret),
        ("developer API key", &api_key),
        ("code", &code),
        ("access token", &access),
        ("refresh token", &refresh),
    ] {
        assert!(
            !contains(&stored, value),
            "the {what} is not stored in clear"
        );
        assert!(!contains(&logged, value), "the {what} is not logged");
    }
}
