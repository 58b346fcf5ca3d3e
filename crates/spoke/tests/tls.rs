//! `spoke serve --https-listen` and `spoke ca`, on the real binary: a client that trusts only
//! the CA spoke made reaches it under HubSpot's names, links say https, the plain listener
//! keeps working, hostile handshakes cost nothing, and the CA survives restarts.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, BIN};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A `spoke serve` with both listeners and its CA in `ca_dir`, killed when dropped.
struct TlsServer {
    child: Child,
    http: SocketAddr,
    https: SocketAddr,
}

impl TlsServer {
    async fn start(dir: &Path, ca_dir: &Path) -> Self {
        Self::start_logged(dir, ca_dir, None).await
    }

    /// With `log`, spoke's stderr goes there with the access log on.
    async fn start_logged(dir: &Path, ca_dir: &Path, log: Option<&Path>) -> Self {
        let http: SocketAddr = format!("127.0.0.1:{}", free_port())
            .parse()
            .expect("address");
        let https: SocketAddr = format!("127.0.0.1:{}", free_port())
            .parse()
            .expect("address");
        let db = format!("sqlite://{}", dir.join("spoke.db").display());
        let mut child = spoke_command(ca_dir);
        child
            .args(["serve", "--database", &db])
            .args(["--listen", &http.to_string()])
            .args(["--https-listen", &https.to_string()])
            // Short, so the stalled-handshake check below is quick.
            .args(["--header-timeout-ms", "800"])
            .stdout(Stdio::null());
        let child = match log {
            Some(path) => child
                .env("SPOKE_LOG", "warn,spoke::access=debug")
                .env("NO_COLOR", "1")
                .stderr(std::fs::File::create(path).expect("log file")),
            None => child.stderr(Stdio::null()),
        }
        .spawn()
        .expect("spawn spoke serve");
        let mut server = Self { child, http, https };
        let plain = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = plain.get(format!("http://{http}/healthz")).send().await;
            if up.is_ok_and(|r| r.status() == 200)
                && tokio::net::TcpStream::connect(https).await.is_ok()
            {
                break;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("spoke serve exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "spoke serve did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `spoke` with the test's `SPOKE_*` variables removed and the CA directory set.
fn spoke_command(ca_dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("SPOKE_") {
            c.env_remove(k);
        }
    }
    c.env("SPOKE_LOG", "warn").env("SPOKE_CA_DIR", ca_dir);
    c
}

/// A client that trusts only `ca` (no built-in roots) and resolves HubSpot's names to the
/// server, as a hosts entry would.
fn client_trusting(ca: &Path, https: SocketAddr) -> reqwest::Client {
    let pem = std::fs::read(ca).expect("read the CA");
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("the CA is PEM"))
        .resolve("api.hubapi.com", https)
        .resolve("app.hubspot.com", https)
        .resolve("localhost", https)
        .resolve("example.com", https)
        .build()
        .expect("client")
}

fn token(dir: &Path, ca_dir: &Path) -> String {
    let db = format!("sqlite://{}", dir.join("spoke.db").display());
    let out = spoke_command(ca_dir)
        .args(["token", "create", "--database", &db, "--portal", "4242"])
        .output()
        .expect("run spoke token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn https_serves_the_same_app_under_hubspots_names_with_https_links() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let server = TlsServer::start(dir.path(), &ca_dir).await;
    let ca = ca_dir.join("ca.pem");
    let client = client_trusting(&ca, server.https);
    let port = server.https.port();

    // Every name of the certificate verifies (rustls checks the name the client asked for).
    for host in [
        "api.hubapi.com",
        "app.hubspot.com",
        "localhost",
        "127.0.0.1",
    ] {
        let res = client
            .get(format!("https://{host}:{port}/healthz"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{host}: {e:?}"));
        assert_eq!(res.text().await.unwrap(), "ok", "{host}");
    }
    // A name the certificate does not cover is refused by the client.
    let err = client
        .get(format!("https://example.com:{port}/healthz"))
        .send()
        .await
        .expect_err("example.com is not spoke's");
    assert!(err.is_connect(), "{err:?}");
    // A client that does not trust spoke's CA gets no answer either.
    let stranger = reqwest::Client::builder()
        .use_rustls_tls()
        .resolve("api.hubapi.com", server.https)
        .build()
        .unwrap();
    assert!(stranger
        .get(format!("https://api.hubapi.com:{port}/healthz"))
        .send()
        .await
        .is_err());

    // The API itself, with links back over the scheme and host the client used.
    let token = token(dir.path(), &ca_dir);
    let base = format!("https://api.hubapi.com:{port}");
    for i in 0..3 {
        let res = client
            .post(format!("{base}/crm/v3/objects/contacts"))
            .bearer_auth(&token)
            .json(&json!({"properties": {"email": format!("tls{i}@example.com")}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let page: Value = client
        .get(format!("{base}/crm/v3/objects/contacts?limit=2"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = page["paging"]["next"]["link"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{base}/crm/v3/objects/contacts?")),
        "{link}"
    );
    let next: Value = client
        .get(link)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(next["results"].as_array().map(Vec::len), Some(1), "{next}");
    // The plain listener still serves, and its links say http.
    let plain: Value = reqwest::Client::new()
        .get(format!(
            "http://{}/crm/v3/objects/contacts?limit=2",
            server.http
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = plain["paging"]["next"]["link"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("http://{}/", server.http)),
        "{link}"
    );
}

#[tokio::test]
async fn hostile_handshakes_are_dropped_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let mut server = TlsServer::start(dir.path(), &ca_dir).await;
    let client = client_trusting(&ca_dir.join("ca.pem"), server.https);
    let url = format!("https://api.hubapi.com:{}/healthz", server.https.port());

    // Garbage, and a TLS record header that promises more than it sends: the server ends
    // the connection (an alert at most, never an HTTP answer) within the handshake timeout.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let inputs: [&[u8]; 2] = [&garbage, &[0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00]];
    for input in inputs {
        let mut s = tokio::net::TcpStream::connect(server.https).await.unwrap();
        let _ = s.write_all(input).await;
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "connection left open after {:?}", &input[..4]);
        assert!(
            !buf.starts_with(b"HTTP/"),
            "{}",
            String::from_utf8_lossy(&buf)
        );
    }
    // Plain HTTP on the HTTPS port is told so, in HubSpot's envelope.
    let mut s = tokio::net::TcpStream::connect(server.https).await.unwrap();
    s.write_all(b"GET /crm/v3/objects/contacts HTTP/1.1\r\nhost: api.hubapi.com:443\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .expect("answered and closed")
        .unwrap();
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert!(text.contains("\r\nx-hubspot-correlation-id: "), "{text}");
    let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["status"], "error");
    assert_eq!(body["category"], "VALIDATION_ERROR");
    assert!(
        body["message"].as_str().unwrap().contains("serves HTTPS"),
        "{body}"
    );

    // Slowloris on the handshake: clients that connect and never finish it are dropped at
    // the header timeout (800 ms here), and meanwhile others are served.
    let started = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..20 {
        stalled.push(tokio::net::TcpStream::connect(server.https).await.unwrap());
    }
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    for mut s in stalled {
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("a stalled handshake is closed by the server");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    assert!(server.alive(), "spoke serve died");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_ca_and_the_server_certificate_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let read = |name: &str| std::fs::read(ca_dir.join(name)).unwrap();
    let server = TlsServer::start(dir.path(), &ca_dir).await;
    let (ca, ca_key, cert) = (read("ca.pem"), read("ca-key.pem"), read("server.pem"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |name: &str| {
            std::fs::metadata(ca_dir.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("ca-key.pem"), 0o600);
        assert_eq!(mode("server-key.pem"), 0o600);
        assert_eq!(mode(""), 0o700);
    }
    drop(server);

    let server = TlsServer::start(dir.path(), &ca_dir).await;
    assert_eq!(read("ca.pem"), ca);
    assert_eq!(read("ca-key.pem"), ca_key);
    assert_eq!(read("server.pem"), cert);
    // A client configured with the first run's CA file still trusts the second run.
    let client = client_trusting(&ca_dir.join("ca.pem"), server.https);
    let url = format!("https://api.hubapi.com:{}/healthz", server.https.port());
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    drop(server);

    // A server certificate that no longer fits (here: damaged) is issued again under the
    // same CA, so clients notice nothing.
    std::fs::write(ca_dir.join("server.pem"), b"not a certificate").unwrap();
    let server = TlsServer::start(dir.path(), &ca_dir).await;
    assert_ne!(read("server.pem"), cert);
    assert_eq!(read("ca.pem"), ca);
    assert_eq!(
        client
            .get(format!(
                "https://api.hubapi.com:{}/healthz",
                server.https.port()
            ))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn spoke_ca_prints_the_path_and_the_trust_settings() {
    let dir = tempfile::tempdir().unwrap();
    // Without SPOKE_CA_DIR, the CA lives under the data directory.
    let data = dir.path().join("data");
    let out = spoke_command(Path::new(""))
        .env_remove("SPOKE_CA_DIR")
        .env("SPOKE_DATA_DIR", &data)
        .args(["ca", "--path"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert_eq!(path, data.join("ca").join("ca.pem"));
    assert!(path.is_file());

    let ca_dir = dir.path().join("elsewhere");
    let out = spoke_command(&ca_dir).arg("ca").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let pem = ca_dir.join("ca.pem").display().to_string();
    for needle in [
        pem.as_str(),
        "127.0.0.1 api.hubapi.com app.hubspot.com",
        &format!("export REQUESTS_CA_BUNDLE={pem}"),
        &format!("cat {pem} >> \"$(python -m certifi)\""),
        &format!("export NODE_EXTRA_CA_CERTS={pem}"),
        &format!("curl --cacert {pem}"),
        "update-ca-certificates",
        "security add-trusted-cert",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // The same CA on the next call.
    let again = spoke_command(&ca_dir)
        .args(["ca", "--path"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(again.stdout).unwrap().trim(), pem);
    assert!(
        !String::from_utf8(spoke_command(&ca_dir).arg("ca").output().unwrap().stdout)
            .unwrap()
            .contains("made just now")
    );
}

#[tokio::test]
async fn the_access_log_names_query_parameters_but_never_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let log = dir.path().join("spoke.log");
    let server = TlsServer::start_logged(dir.path(), &ca_dir, Some(&log)).await;
    let client = client_trusting(&ca_dir.join("ca.pem"), server.https);
    let port = server.https.port();
    let res = client
        .get(format!(
            "https://api.hubapi.com:{port}/crm/v3/objects/contacts?hapikey=sekrit-value&limit=1"
        ))
        .bearer_auth("pat-na1-not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let id = res.headers()["x-hubspot-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    reqwest::get(format!("http://{}/healthz", server.http))
        .await
        .unwrap();
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("no access line for {id} in:\n{text}"));
    for field in [
        "spoke::access: request",
        "method=GET",
        "host=\"api.hubapi.com:",
        "path=/crm/v3/objects/contacts",
        "query=\"hapikey,limit\"",
        "status=401",
        "tls=true",
        "category=\"INVALID_AUTHENTICATION\"",
    ] {
        assert!(line.contains(field), "{field:?} missing from {line}");
    }
    assert!(
        !text.contains("sekrit"),
        "a query value was logged:\n{text}"
    );
    assert!(
        !text.contains("pat-na1-not-a-token"),
        "a token was logged:\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("path=/healthz") && l.contains("tls=false")),
        "{text}"
    );
}

/// The README's "Run an unmodified connector against spoke" check, run as written against
/// a server on a free port: curl is told to connect there for api.hubapi.com:443 (what the
/// hosts entry and port 443 do for a user), everything else is the README's text.
#[tokio::test]
async fn readme_https_check_runs_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("## Run an unmodified connector against spoke")
        .expect("the README section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    assert!(section.contains("spoke serve --https-listen 127.0.0.1:443"));
    let block = section
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .find(|b| b.contains("curl --cacert"))
        .expect("the curl check block");

    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let server = TlsServer::start(dir.path(), &ca_dir).await;
    let token = token(dir.path(), &ca_dir);
    // The hosts line the README adds is the one `spoke ca` prints.
    let ca_text =
        String::from_utf8(spoke_command(&ca_dir).arg("ca").output().unwrap().stdout).unwrap();
    let hosts = "127.0.0.1 api.hubapi.com app.hubspot.com";
    assert!(ca_text.contains(hosts) && section.contains(&format!("echo '{hosts}'")));

    let script: Vec<String> = block
        .lines()
        .map(|l| {
            if l.starts_with("export T=") {
                format!("export T={token}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    let script = format!(
        "set -euo pipefail\ncurl() {{ command curl -sS --fail-with-body --connect-to api.hubapi.com:443:127.0.0.1:{} \"$@\"; }}\n{}\n",
        server.https.port(),
        script.join("\n")
    );
    let bin_dir = Path::new(BIN).parent().unwrap();
    let out = Command::new("bash")
        .args(["-c", &script])
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("SPOKE_CA_DIR", &ca_dir)
        .env_remove("SPOKE_DATA_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(answer["results"].is_array(), "{answer}");
}
