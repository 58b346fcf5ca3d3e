//! API token secrets: their format, the hash storage keeps, the prefix listings show,
//! and issuing and finding tokens through a [`TokenStore`]. The server's bearer-token
//! check and `spoke token create` both go through here, so a token one side makes is a
//! token the other accepts. The secret is shown once, when issued; only its hash is kept.

use sha2::{Digest, Sha256};
use spoke_core::time::Millis;
use spoke_core::PortalId;

use crate::{StoreResult, TokenRecord, TokenStore};

/// The stored form of a token secret (SHA-256, lowercase hex).
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new token secret shaped like HubSpot's private-app tokens (`pat-na1-<uuid>`), with
/// 244 random bits from two v4 UUIDs.
pub fn new_secret() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4().simple();
    format!("pat-na1-{a}-{b}")
}

/// What listings show of a token: enough to tell tokens apart, too little to use one.
pub fn prefix(secret: &str) -> String {
    secret.chars().take(16).collect()
}

/// Makes a token for `portal` (created if it does not exist yet) and returns its secret.
pub async fn issue<S: TokenStore + ?Sized>(
    store: &S,
    portal: PortalId,
    scopes: &[String],
    now: Millis,
) -> StoreResult<String> {
    store.ensure_portal(portal, now).await?;
    let secret = new_secret();
    store
        .create_token(portal, &hash(&secret), &prefix(&secret), scopes, now)
        .await?;
    Ok(secret)
}

/// The live token a secret belongs to, if any.
pub async fn authenticate<S: TokenStore + ?Sized>(
    store: &S,
    secret: &str,
) -> StoreResult<Option<TokenRecord>> {
    store.find_token(&hash(secret)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_look_like_hubspot_private_app_tokens() {
        let s = new_secret();
        let rest = s.strip_prefix("pat-na1-").expect("prefix");
        let (uuid, tail) = rest.split_at(36);
        assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{s}");
        let tail = tail.strip_prefix('-').expect("separator");
        assert_eq!(tail.len(), 32);
        assert!(tail.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(new_secret(), s, "fresh randomness each time");
    }

    #[test]
    fn the_hash_is_stable_sha256_hex() {
        // Stored hashes must keep matching across versions: a changed hash would lock
        // every existing token out.
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash("pat-na1-x"), hash("pat-na1-x"));
        assert_ne!(hash("pat-na1-x"), hash("pat-na1-y"));
    }

    #[test]
    fn the_prefix_is_the_first_sixteen_characters() {
        assert_eq!(prefix("pat-na1-0123456789abcdef"), "pat-na1-01234567");
        assert_eq!(prefix("short"), "short");
        assert_eq!(prefix(&"é".repeat(20)).chars().count(), 16);
    }
}
