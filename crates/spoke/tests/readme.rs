//! The README's curl walkthrough, run as written: a newcomer following it on a fresh
//! database must get a success from every step (issue 18, defect 10: it read partner
//! service id `1`, which was another record, and got a 207).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_spoke");
const SECTION: &str = "### The seed requests, with curl";
/// What the section's first block sets and this test provides itself.
const SETUP: [&str; 3] = ["S", "T", "PORTAL"];
/// The ids the walkthrough keeps, printed by a line this test appends.
const KEPT: [&str; 4] = ["COMPANY", "CONTACT", "SERVICE", "CLIENT"];

/// The ```sh blocks of the README's walkthrough section, in order.
fn section_blocks(readme: &str) -> Vec<String> {
    let start = readme.find(SECTION).expect("README has the curl section");
    let body = &readme[start + SECTION.len()..];
    let end = body
        .find("\n## ")
        .into_iter()
        .chain(body.find("\n### "))
        .min()
        .unwrap_or(body.len());
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in body[..end].lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "unterminated ```sh block in {SECTION}");
    blocks
}

fn command() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("SPOKE_") {
            c.env_remove(k);
        }
    }
    c.env("SPOKE_LOG", "warn");
    c
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `spoke serve` as the README starts it (default database `spoke.db` in `dir`) on a port
/// it picks itself, so no other test can take the port first: its base URL, and the portal
/// and token its first-start banner printed.
fn serve(dir: &Path) -> (Serve, String, String, String) {
    let mut child = command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SPOKE_LOG", "info")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    let server = Serve(child);
    let (tx, rx) = mpsc::channel();
    for pipe in [
        Box::new(out) as Box<dyn std::io::Read + Send>,
        Box::new(err) as Box<dyn std::io::Read + Send>,
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            // Keeps draining after the test has what it needs, so the server never
            // writes into a closed pipe.
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let (mut base, mut portal, mut token) = (None, None, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while base.is_none() || portal.is_none() || token.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("the first-start banner and the listening address");
        if let Some(rest) = line.split("created portal ").nth(1) {
            portal = rest.split_whitespace().next().map(str::to_owned);
        }
        if line.trim().starts_with("pat-") {
            token = Some(line.trim().to_owned());
        }
        if let Some(rest) = line.split("listening on ").nth(1) {
            // The log may be coloured: the address ends at a space or an escape.
            base = rest
                .split(|c: char| c.is_whitespace() || c == '\u{1b}')
                .next()
                .map(str::to_owned);
        }
    }
    (
        server,
        base.expect("address"),
        portal.expect("portal"),
        token.expect("token"),
    )
}

async fn wait_ready(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "spoke serve did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn readme_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let blocks = section_blocks(&readme);
    assert!(
        blocks.len() >= 2,
        "setup and walkthrough blocks: {blocks:?}"
    );
    // The first block is where a newcomer writes what spoke printed; this test sets the
    // same variables from the server it starts, so the block must set exactly those.
    let setup: Vec<&str> = blocks[0]
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let names: Vec<&str> = setup
        .iter()
        .map(|l| {
            l.strip_prefix("export ")
                .and_then(|l| l.split_once('='))
                .map(|(name, _)| name)
                .unwrap_or_else(|| panic!("setup block line is not `export X=…`: {l}"))
        })
        .collect();
    assert_eq!(names, SETUP, "the setup block");
    let walkthrough = blocks[1..].concat();
    for fixed in ["pat-na1-", "127.0.0.1", "8080"] {
        assert!(
            !walkthrough.contains(fixed),
            "the walkthrough hard-codes {fixed}; it must use $S, $T and $PORTAL"
        );
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let (server, base, portal, token) = serve(dir.path());
    wait_ready(&base).await;

    let bin_dir = Path::new(BIN).parent().expect("binary directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let kept: Vec<String> = KEPT.iter().map(|k| format!("${k}")).collect();
    let script = format!(
        "set -euo pipefail\n{walkthrough}\necho \"@@kept {}\"\n",
        kept.join(" ")
    );
    let mut bash = Command::new("bash");
    for (k, _) in std::env::vars() {
        if k.starts_with("SPOKE_") {
            bash.env_remove(k);
        }
    }
    let child = bash
        .args(["-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("S", &base)
        .env("T", &token)
        .env("PORTAL", &portal)
        .env("SPOKE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx
        .recv_timeout(Duration::from_secs(180))
        .expect("the walkthrough finished within 3 minutes")
        .expect("bash output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the walkthrough failed ({}):\n{stdout}\n{stderr}",
        out.status
    );

    // Every answer: a success, no per-item errors (a 207 passes curl --fail).
    let answers: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!answers.is_empty(), "{stdout}");
    for a in &answers {
        assert_ne!(a["status"], "error", "{a}");
        assert!(a.get("errors").is_none(), "{a}");
        assert!(a.get("numErrors").is_none(), "{a}");
    }
    let kept_line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("@@kept "))
        .expect("the kept ids");
    let ids: Vec<&str> = kept_line.split(' ').collect();
    assert_eq!(ids.len(), KEPT.len(), "{kept_line}");
    for (name, id) in KEPT.iter().zip(&ids) {
        assert!(id.parse::<i64>().is_ok(), "{name} = {id:?}");
    }
    let (company, contact, service, client) = (ids[0], ids[1], ids[2], ids[3]);

    // The final reads return the records the walkthrough created.
    let first = |a: &Value| a["results"][0].clone();
    let read_service = answers
        .iter()
        .map(first)
        .find(|r| r["id"] == service && r.get("propertiesWithHistory").is_some())
        .unwrap_or_else(|| panic!("no read of partner service {service}:\n{stdout}"));
    assert_eq!(read_service["properties"]["hs_name"], "Onboarding");
    assert_eq!(
        read_service["propertiesWithHistory"]["hs_name"][0]["sourceType"],
        "IMPORT"
    );
    let updated_client = answers
        .iter()
        .map(first)
        .find(|r| r["id"] == client)
        .unwrap_or_else(|| panic!("no update of partner client {client}:\n{stdout}"));
    assert_eq!(updated_client["properties"]["hs_name"], "Acme");
    let links = answers.last().map(first).expect("the associations read");
    assert_eq!(links["from"]["id"], contact, "{links}");
    assert_eq!(links["to"][0]["toObjectId"].to_string(), company, "{links}");
    drop(server);
}
