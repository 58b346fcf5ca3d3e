//! HubSpot's request signatures (hubspot-behavior-apps.md §42.4), as a delivery carries
//! them and as HubSpot's client libraries check them: v1 (`X-HubSpot-Signature`, hex
//! SHA-256 of secret + body, what webhook deliveries declare in
//! `X-HubSpot-Signature-Version`) and v3 (`X-HubSpot-Signature-v3`, base64 HMAC-SHA256
//! keyed with the secret over method + URI + body + timestamp). v2 is here for the test
//! vectors only: HubSpot does not put it on webhook deliveries.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// `X-HubSpot-Signature` with version v1: lowercase hex SHA-256 of `secret + body`.
pub fn v1(client_secret: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(client_secret.as_bytes());
    h.update(body);
    hex(&h.finalize())
}

/// Version v2: hex SHA-256 of `secret + method + uri + body`.
pub fn v2(client_secret: &str, method: &str, uri: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(client_secret.as_bytes());
    h.update(method.as_bytes());
    h.update(uri.as_bytes());
    h.update(body);
    hex(&h.finalize())
}

/// `X-HubSpot-Signature-v3`: base64 HMAC-SHA256 over `method + uri + body + timestamp`,
/// the timestamp being the `X-HubSpot-Request-Timestamp` value (epoch ms as decimal).
pub fn v3(client_secret: &str, method: &str, uri: &str, body: &[u8], timestamp: i64) -> String {
    // HMAC takes a key of any length, so this cannot fail; the fallback keeps the
    // signature wrong rather than the process down should that ever change.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()) else {
        return String::new();
    };
    mac.update(method.as_bytes());
    mac.update(uri.as_bytes());
    mac.update(body);
    mac.update(timestamp.to_string().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vectors of hubspot-behavior-apps.md §42.4 (HubSpot's docs and its Python SDK's
    // tests).
    const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const SDK_BODY: &str = "{'example_field':'example_value'}";
    const SDK_URI: &str = "https://www.example.com/webhook_uri";

    #[test]
    fn v1_matches_the_docs_vector() {
        let body = r#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]"#;
        assert_eq!(
            v1(SECRET, body.as_bytes()),
            "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
        );
    }

    #[test]
    fn v1_and_v2_match_the_sdk_vectors() {
        assert_eq!(
            v1(SECRET, SDK_BODY.as_bytes()),
            "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750"
        );
        assert_eq!(
            v2(SECRET, "POST", SDK_URI, SDK_BODY.as_bytes()),
            "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383"
        );
        assert_eq!(
            v2(SECRET, "GET", SDK_URI, b""),
            "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
        );
    }

    #[test]
    fn v3_matches_the_sdk_vector() {
        assert_eq!(
            v3(SECRET, "POST", SDK_URI, SDK_BODY.as_bytes(), 1693657560000),
            "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="
        );
    }

    #[test]
    fn v3_matches_a_real_delivery() {
        let body = r#"[{"eventId":531833541,"subscriptionId":3923621,"portalId":48807704,"appId":16111050,"occurredAt":1752613920733,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":138017612137,"changeFlag":"CREATED","changeSource":"CRM_UI","sourceId":"userId:76023669"}]"#;
        assert_eq!(
            v3(
                "cfc68c0b-4b4e-4ef8-b764-95350e4ea479",
                "POST",
                "https://webhook.site/335453f5-94b3-49d9-b684-a55354d4b8df",
                body.as_bytes(),
                1752613922216
            ),
            "gbj1XPRvUt0noT7i7fXfTzOD4sLzQmf0VT28ZYq0EYg="
        );
    }
}
