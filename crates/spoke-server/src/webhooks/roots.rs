//! Which certificate authorities the delivery client trusts for an `https://` target URL:
//! the system's, and spoke's local CA (`spoke ca`, the one `--https-listen` uses), so a
//! receiver with a certificate from either is accepted (docs/compatibility.md "Webhooks").
//!
//! The system's roots are the OS bundle file as OpenSSL finds it: `SSL_CERT_FILE` when set,
//! else the first of [`SYSTEM_BUNDLES`] that exists. Reading one PEM file keeps the build
//! lean (no platform trust-store crates); certificates rustls cannot use are skipped, as
//! one odd entry in a bundle of a hundred must not leave the client without roots.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::{Path, PathBuf};

/// Where distributions keep the bundle of trusted roots, in the order OpenSSL-based tools
/// look (Go's `crypto/x509` has the same list).
pub const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/pki/tls/cacert.pem",            // OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
    "/etc/ssl/cert.pem",                  // macOS, Alpine, the BSDs
];

/// The environment variable naming the system bundle, as OpenSSL reads it.
pub const CERT_FILE_ENV: &str = "SSL_CERT_FILE";

/// The system bundle: `SSL_CERT_FILE`, or the first of [`SYSTEM_BUNDLES`] that exists.
pub fn system_bundle() -> Option<PathBuf> {
    bundle(std::env::var_os(CERT_FILE_ENV))
}

fn bundle(cert_file: Option<std::ffi::OsString>) -> Option<PathBuf> {
    if let Some(file) = cert_file.filter(|f| !f.is_empty()) {
        return Some(PathBuf::from(file));
    }
    SYSTEM_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The usable certificates of a PEM file; a file that is missing or unreadable adds none
/// (spoke's CA exists only once `spoke ca` or `--https-listen` made it).
fn add_file(roots: &mut RootCertStore, path: &Path) -> (usize, usize) {
    let Ok(certs) = CertificateDer::pem_file_iter(path) else {
        return (0, 0);
    };
    let certs: Vec<CertificateDer<'static>> = certs.filter_map(Result::ok).collect();
    roots.add_parsable_certificates(certs)
}

/// The TLS configuration of the delivery client: the system bundle's roots and those of
/// `extra` (PEM files).
pub fn client_config(extra: &[PathBuf]) -> Result<ClientConfig, rustls::Error> {
    let roots = root_store(system_bundle().iter().chain(extra));
    Ok(ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn root_store<'p>(files: impl Iterator<Item = &'p PathBuf>) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    for path in files {
        let (added, skipped) = add_file(&mut roots, path);
        if added + skipped > 0 {
            tracing::debug!(path = %path.display(), added, skipped, "webhooks: trusted roots");
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_cert_file_names_the_system_bundle_when_set() {
        assert_eq!(
            bundle(Some("/tmp/some-bundle.pem".into())),
            Some(PathBuf::from("/tmp/some-bundle.pem"))
        );
        let found = bundle(Some("".into()));
        assert_eq!(found, bundle(None), "an empty SSL_CERT_FILE is unset");
        if let Some(p) = found {
            assert!(SYSTEM_BUNDLES.iter().any(|b| Path::new(b) == p), "{p:?}");
        }
    }

    /// A bundle with an entry rustls cannot use still trusts its other roots; a missing
    /// file (no local CA yet) adds nothing and is no error.
    #[test]
    fn unusable_entries_and_missing_files_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = crate::tls::LocalCa::open(&dir.path().join("ca")).expect("CA");
        let good = std::fs::read_to_string(ca.cert_path()).expect("ca.pem");
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(
            &bundle,
            format!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n{good}"),
        )
        .expect("write");
        let missing = dir.path().join("nothing.pem");
        let roots = root_store([bundle, missing].iter());
        assert_eq!(roots.len(), 1);
        assert!(client_config(&[ca.cert_path()]).is_ok());
    }
}
