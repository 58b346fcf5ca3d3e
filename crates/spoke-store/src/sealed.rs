//! Secrets spoke must keep in clear form somewhere (an OAuth app's client secret and
//! developer API key: webhook deliveries are signed with them), sealed with an AEAD
//! (ChaCha20-Poly1305) under a key that lives in a file outside the database. A copy of the
//! database alone (a backup, `spoke copy`, a shared PostgreSQL) reveals none of them.
//!
//! The key file holds 32 random bytes as hex. It is created on first use with mode 0600
//! (its directory 0700), and never rewritten: losing it makes every sealed secret
//! unreadable, which is the point of keeping it apart.
//!
//! A sealed value is `v1.<nonce hex>.<ciphertext hex>`; the purpose (`client_secret`,
//! `developer_api_key`) is authenticated as associated data, so a value moved into another
//! column does not open.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// The key file's name inside spoke's data directory.
pub const KEY_FILE: &str = "secret.key";

const VERSION: &str = "v1";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("secret key file {path}: {message}")]
    KeyFile { path: PathBuf, message: String },
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    #[error("a sealed secret does not open with this key (another key file, or a damaged value)")]
    Open,
}

/// The key, loaded from its file. `Debug` never shows it.
pub struct SecretKey {
    cipher: ChaCha20Poly1305,
    path: PathBuf,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn random<const N: usize>() -> Result<[u8; N], SealError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| SealError::Random(e.to_string()))?;
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

impl SecretKey {
    /// The key in `path`, creating the file (and its directory) if it does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self, SealError> {
        let fail = |message: String| SealError::KeyFile {
            path: path.to_owned(),
            message,
        };
        match Self::load(path) {
            Ok(key) => return Ok(key),
            Err(SealError::KeyFile { message, .. }) if message == NOT_FOUND => {}
            Err(e) => return Err(e),
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(|e| fail(e.to_string()))?;
        }
        let key = random::<KEY_LEN>()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                writeln!(file, "{}", hex(&key))
                    .and_then(|()| file.sync_all())
                    .map_err(|e| fail(e.to_string()))?;
                Ok(Self::from_bytes(key, path))
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(e) => Err(fail(e.to_string())),
        }
    }

    /// The key in `path`, which must exist.
    pub fn load(path: &Path) -> Result<Self, SealError> {
        let fail = |message: &str| SealError::KeyFile {
            path: path.to_owned(),
            message: message.to_owned(),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(fail(NOT_FOUND)),
            Err(e) => return Err(fail(&e.to_string())),
        };
        let bytes = unhex(text.trim())
            .and_then(|b| <[u8; KEY_LEN]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| fail("not a key (64 hex digits)"))?;
        Ok(Self::from_bytes(bytes, path))
    }

    fn from_bytes(bytes: [u8; KEY_LEN], path: &Path) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(&Key::from(bytes)),
            path: path.to_owned(),
        }
    }

    /// Where the key lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `plain` sealed for `purpose`, with a fresh random nonce.
    pub fn seal(&self, purpose: &str, plain: &str) -> Result<String, SealError> {
        let nonce = random::<NONCE_LEN>()?;
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open)?;
        Ok(format!("{VERSION}.{}.{}", hex(&nonce), hex(&sealed)))
    }

    /// The clear text of a value [`seal`](Self::seal) made for the same `purpose`.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<String, SealError> {
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(nonce), Some(body), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::Open);
        };
        let nonce = unhex(nonce)
            .and_then(|n| <[u8; NONCE_LEN]>::try_from(n.as_slice()).ok())
            .ok_or(SealError::Open)?;
        let body = unhex(body).ok_or(SealError::Open)?;
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &body,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open)?;
        String::from_utf8(plain).map_err(|_| SealError::Open)
    }
}

const NOT_FOUND: &str = "does not exist";

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("spoke-sealed-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    #[test]
    fn sealed_values_open_with_the_same_key_and_purpose_only() {
        let d = dir();
        let key = SecretKey::load_or_create(&d.join("k").join(KEY_FILE)).expect("key");
        let sealed = key.seal("client_secret", "s3cret").expect("seal");
        assert!(!sealed.contains("s3cret"));
        assert_ne!(sealed, key.seal("client_secret", "s3cret").expect("seal"));
        assert_eq!(key.open("client_secret", &sealed).expect("open"), "s3cret");
        assert!(key.open("developer_api_key", &sealed).is_err());
        let again = SecretKey::load(key.path()).expect("reload");
        assert_eq!(
            again.open("client_secret", &sealed).expect("open"),
            "s3cret"
        );
        let other = SecretKey::load_or_create(&d.join(KEY_FILE)).expect("other key");
        assert!(other.open("client_secret", &sealed).is_err());
        for junk in [
            "",
            "v1",
            "v1..",
            "v2.00.00",
            "v1.zz.00",
            &sealed.replace("v1.", "v1.0"),
        ] {
            assert!(key.open("client_secret", junk).is_err(), "{junk:?}");
        }
        let _ = std::fs::remove_dir_all(d);
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir();
        let path = d.join("data").join(KEY_FILE);
        let key = SecretKey::load_or_create(&path).expect("key");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(d.join("data"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let before = std::fs::read_to_string(&path).expect("read");
        let sealed = key.seal("p", "x").expect("seal");
        let again = SecretKey::load_or_create(&path).expect("same key");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), before);
        assert_eq!(again.open("p", &sealed).expect("open"), "x");
        std::fs::write(&path, "not hex").expect("write");
        assert!(
            SecretKey::load_or_create(&path).is_err(),
            "a damaged key is not replaced"
        );
        let _ = std::fs::remove_dir_all(d);
    }
}
