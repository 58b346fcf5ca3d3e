//! `spoke ca`: where spoke's local certificate authority is, and what a user does so that
//! unmodified clients reach `spoke serve --https-listen` as `https://api.hubapi.com`.

use std::path::Path;

use spoke_server::tls::{LocalCa, SERVER_NAMES};

/// Opens (creating on first use) the CA in `SPOKE_CA_DIR` or the data directory.
pub fn open() -> Result<LocalCa, String> {
    let dir = spoke_server::tls::default_ca_dir().map_err(|e| e.to_string())?;
    LocalCa::open(&dir).map_err(|e| format!("local certificate authority: {e}"))
}

/// `spoke ca`'s text: the CA's path, the hosts entry, and how each kind of client is told
/// to trust it.
pub fn instructions(ca: &LocalCa) -> String {
    let pem = ca.cert_path();
    let pem = shell_quote(&pem);
    let made = if ca.created() {
        "made just now"
    } else {
        "made earlier, reused"
    };
    let names = SERVER_NAMES.join(", ");
    format!(
        "\
spoke's local certificate authority ({made}):

    {pem}

`spoke serve --https-listen 127.0.0.1:443` answers over HTTPS with a certificate this CA
signed, for {names}.
The CA can sign only HubSpot's and loopback names; its key (ca-key.pem, beside it,
readable by you only) never leaves that directory. SPOKE_CA_DIR chooses another directory.

1. Send HubSpot's hostnames to this machine: add this line to /etc/hosts (on Windows,
   C:\\Windows\\System32\\drivers\\etc\\hosts); remove it to reach the real HubSpot again.

    127.0.0.1 api.hubapi.com app.hubspot.com

2. Trust the CA in the clients you run, or system-wide:

  Python (requests; also pip, httpx and urllib through SSL_CERT_FILE). These replace the
  default list of CAs for that process; to reach public sites too, give them a bundle
  with both: cat \"$(python3 -m certifi)\" {pem} > bundle.pem
    export REQUESTS_CA_BUNDLE={pem}
    export SSL_CERT_FILE={pem}

  Python code that ignores those variables and verifies against certifi's bundle (the
  Airbyte CDK and the Singer SDK, through requests' Session.send): append the CA to that
  environment's bundle (undone by reinstalling certifi):
    cat {pem} >> \"$(python -m certifi)\"

  Node.js:
    export NODE_EXTRA_CA_CERTS={pem}

  curl:
    curl --cacert {pem} https://api.hubapi.com/crm/v3/objects/contacts -H \"authorization: Bearer $TOKEN\"

  The system store, for every program (remove the file and run the same command to undo):
    Debian, Ubuntu:
      sudo cp {pem} /usr/local/share/ca-certificates/spoke-local-ca.crt
      sudo update-ca-certificates
    macOS:
      sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {pem}
"
    )
}

/// `path` as one shell word.
fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%,".contains(&b))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_spaces_stay_one_shell_word() {
        assert_eq!(shell_quote(Path::new("/a/b.pem")), "/a/b.pem");
        assert_eq!(
            shell_quote(Path::new(
                "/Users/me/Library/Application Support/spoke/ca/ca.pem"
            )),
            "'/Users/me/Library/Application Support/spoke/ca/ca.pem'"
        );
        assert_eq!(shell_quote(Path::new("/it's")), r"'/it'\''s'");
    }
}
