//! HTTPS on HubSpot's own hostname (`spoke serve --https-listen`): a local certificate
//! authority, made once per user like mkcert's, and the server certificate it signs.
//!
//! Connectors hard-code `https://api.hubapi.com`; with a hosts entry pointing that name at
//! spoke and this CA trusted, they talk to spoke unchanged. The CA lives in
//! [`spoke_core::datadir::ca_dir`]:
//!
//! - `ca.pem`: the CA certificate, what clients trust (mode 0644);
//! - `ca-key.pem`: its private key (0600), never sent anywhere;
//! - `server.pem`, `server-key.pem`: the server certificate for [`SERVER_NAMES`] and its key
//!   (0600), reused across restarts while it is valid for every name for 30 more days, and
//!   issued again otherwise (a name added in a newer spoke, expiry, a different CA).
//!
//! The CA may only sign names under HubSpot's domains and loopback (X.509 name constraints),
//! so trusting it, even system-wide, cannot let its key impersonate any other site.
//! Creating and renewing hold a lock file, so servers started at once make one CA.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, SerialNumber,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use spoke_core::datadir;

/// The names the server certificate is valid for: HubSpot's API and app hosts, which
/// integrations hard-code, and loopback for everything else.
pub const SERVER_NAMES: [&str; 5] = [
    "api.hubapi.com",
    "app.hubspot.com",
    "localhost",
    "127.0.0.1",
    "::1",
];

pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca-key.pem";
pub const SERVER_CERT_FILE: &str = "server.pem";
pub const SERVER_KEY_FILE: &str = "server-key.pem";
const LOCK_FILE: &str = ".lock";

const CA_VALIDITY_DAYS: i64 = 3650;
/// Under the 398 days browsers and Apple platforms accept for a server certificate.
const SERVER_VALIDITY_DAYS: i64 = 397;
/// A stored server certificate that expires sooner than this is issued again.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_owned(),
        source,
    }
}

fn invalid(path: &Path, message: impl std::fmt::Display) -> TlsError {
    TlsError::Invalid {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// The crypto every TLS object here uses; passed explicitly so nothing depends on a
/// process-wide default provider.
///
/// rustls 0.23.48 deprecates ring's provider for lacking post-quantum key exchange, which
/// protects recorded traffic from future decryption: nothing to guard on a loopback
/// connection to a local development server. aws-lc-rs, the alternative, builds a large C
/// library (cmake or a long cc run) into every CI build.
#[allow(deprecated)]
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// spoke's local certificate authority, loaded or created.
pub struct LocalCa {
    dir: PathBuf,
    cert: CertificateDer<'static>,
    key: KeyPair,
    created: bool,
}

/// What [`LocalCa::server_config`] produced.
pub struct ServerIdentity {
    pub config: Arc<ServerConfig>,
    /// A new server certificate was issued (none was stored, or it no longer fit).
    pub issued: bool,
}

impl LocalCa {
    /// The CA in `dir`, created (with `dir`) if there is none yet.
    pub fn open(dir: &Path) -> Result<Self, TlsError> {
        datadir::create_private_dir(dir).map_err(io_err(dir))?;
        let _lock = lock(dir)?;
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => Self::load(dir, &cert_path, &key_path),
            (false, false) => Self::create(dir, &cert_path, &key_path),
            _ => Err(invalid(
                dir,
                format!(
                    "holds only one of {CA_CERT_FILE} and {CA_KEY_FILE}; restore the other, \
                     or remove both to make a new CA (clients must then trust the new one)"
                ),
            )),
        }
    }

    /// The CA [`open`](Self::open) would use, without creating anything: `None` when there
    /// is none yet.
    pub fn existing(dir: &Path) -> Result<Option<Self>, TlsError> {
        if !dir.join(CA_CERT_FILE).exists() && !dir.join(CA_KEY_FILE).exists() {
            return Ok(None);
        }
        Self::open(dir).map(Some)
    }

    fn load(dir: &Path, cert_path: &Path, key_path: &Path) -> Result<Self, TlsError> {
        let cert_pem = fs::read(cert_path).map_err(io_err(cert_path))?;
        let cert = CertificateDer::from_pem_slice(&cert_pem)
            .map_err(|e| invalid(cert_path, format!("not a PEM certificate: {e}")))?;
        let key_pem = fs::read_to_string(key_path).map_err(io_err(key_path))?;
        let key = KeyPair::from_pem(&key_pem)
            .map_err(|e| invalid(key_path, format!("not a PEM private key: {e}")))?;
        let key_der = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| invalid(key_path, format!("not a PEM private key: {e}")))?;
        let signer = provider()
            .key_provider
            .load_private_key(key_der)
            .map_err(|e| invalid(key_path, e))?;
        CertifiedKey::new(vec![cert.clone()], signer)
            .keys_match()
            .map_err(|e| invalid(key_path, format!("does not belong to {CA_CERT_FILE}: {e}")))?;
        Ok(Self {
            dir: dir.to_owned(),
            cert,
            key,
            created: false,
        })
    }

    fn create(dir: &Path, cert_path: &Path, key_path: &Path) -> Result<Self, TlsError> {
        let key = KeyPair::generate()?;
        let mut params = ca_params(&key);
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(CA_VALIDITY_DAYS);
        params.serial_number = Some(random_serial());
        let cert = params.self_signed(&key)?;
        // The key first: a CA certificate on disk always has its key beside it.
        datadir::write_private_file(key_path, key.serialize_pem().as_bytes())
            .map_err(io_err(key_path))?;
        datadir::write_public_file(cert_path, cert.pem().as_bytes()).map_err(io_err(cert_path))?;
        Ok(Self {
            dir: dir.to_owned(),
            cert: cert.der().clone(),
            key,
            created: true,
        })
    }

    /// The CA certificate file clients trust.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This call made the CA (so nothing trusts it yet).
    pub fn created(&self) -> bool {
        self.created
    }

    /// The server's TLS configuration: the stored server certificate while it is valid for
    /// every one of [`SERVER_NAMES`] for 30 more days, else a new one (stored for next time).
    pub fn server_config(&self) -> Result<ServerIdentity, TlsError> {
        let _lock = lock(&self.dir)?;
        let cert_path = self.dir.join(SERVER_CERT_FILE);
        let key_path = self.dir.join(SERVER_KEY_FILE);
        let renew_at = SystemTime::now() + RENEW_BEFORE;
        if let Some((cert, key)) = read_pair(&cert_path, &key_path) {
            if self.verify(&cert, renew_at).is_ok() {
                if let Ok(config) = server_config(cert, key) {
                    return Ok(ServerIdentity {
                        config,
                        issued: false,
                    });
                }
            }
        }
        let (cert_pem, key_pem) = self.issue(&SERVER_NAMES, SERVER_VALIDITY_DAYS)?;
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| invalid(&cert_path, e))?;
        // A CA that cannot sign a certificate its own clients accept (not spoke's, or
        // expired) is refused here rather than by every client.
        self.verify(&cert, SystemTime::now()).map_err(|e| {
            invalid(
                &self.cert_path(),
                format!("cannot issue a server certificate clients would accept: {e}"),
            )
        })?;
        let key =
            PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| invalid(&key_path, e))?;
        datadir::write_private_file(&key_path, key_pem.as_bytes()).map_err(io_err(&key_path))?;
        datadir::write_public_file(&cert_path, cert_pem.as_bytes()).map_err(io_err(&cert_path))?;
        Ok(ServerIdentity {
            config: server_config(cert, key)?,
            issued: true,
        })
    }

    /// A new server certificate for `names`, valid `days`, and its key, as PEM.
    fn issue(&self, names: &[&str], days: i64) -> Result<(String, String), TlsError> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "spoke");
        dn.push(DnType::CommonName, SERVER_NAMES[0]);
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(days);
        params.serial_number = Some(random_serial());
        let key = KeyPair::generate()?;
        let issuer = Issuer::new(ca_params(&self.key), &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Whether a client trusting only this CA accepts `cert` for every server name at `at`.
    fn verify(&self, cert: &CertificateDer<'_>, at: SystemTime) -> Result<(), String> {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert.clone()).map_err(|e| e.to_string())?;
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| e.to_string())?;
        let at = UnixTime::since_unix_epoch(at.duration_since(UNIX_EPOCH).unwrap_or_default());
        for name in SERVER_NAMES {
            let server_name = ServerName::try_from(name).map_err(|e| e.to_string())?;
            verifier
                .verify_server_cert(cert, &[], &server_name, &[], at)
                .map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(())
    }
}

/// The CA's parameters, all derived from its key, so that a CA loaded from disk signs with
/// the very subject it was made with. The key's identifier in the name tells one user's
/// CA from another's in a trust store.
fn ca_params(key: &KeyPair) -> CertificateParams {
    let mut params = CertificateParams::default();
    let id = params.key_identifier(key);
    let short: String = id.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "spoke local development CA");
    dn.push(DnType::CommonName, format!("spoke local CA {short}"));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("hubapi.com".to_owned()),
            GeneralSubtree::DnsName("hubspot.com".to_owned()),
            GeneralSubtree::DnsName("localhost".to_owned()),
            GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 0], [255, 0, 0, 0])),
            GeneralSubtree::IpAddress(CidrSubnet::V6(
                std::net::Ipv6Addr::LOCALHOST.octets(),
                [0xff; 16],
            )),
        ],
        excluded_subtrees: Vec::new(),
    });
    params
}

/// A positive 127-bit serial: certificates of one issuer must not share one.
fn random_serial() -> SerialNumber {
    let mut bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

fn read_pair(
    cert_path: &Path,
    key_path: &Path,
) -> Option<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
    let cert = CertificateDer::from_pem_file(cert_path).ok()?;
    let key = PrivateKeyDer::from_pem_file(key_path).ok()?;
    Some((cert, key))
}

fn server_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
    // spoke serves HTTP/1.1 only; saying so lets a client that offers h2 fall back at once.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// An exclusive lock on the CA directory, released when dropped.
fn lock(dir: &Path) -> Result<File, TlsError> {
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    file.lock().map_err(io_err(&path))?;
    Ok(file)
}

/// The data-dir default or `SPOKE_CA_DIR`.
pub fn default_ca_dir() -> Result<PathBuf, TlsError> {
    datadir::ca_dir().map_err(|source| TlsError::Io {
        path: PathBuf::from(format!("${}", datadir::CA_DIR_ENV)),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "spoke-tls-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_ca_is_made_once_and_its_server_certificate_reused_until_it_no_longer_fits() {
        let dir = temp_dir("reuse");
        let ca = LocalCa::open(&dir).unwrap();
        assert!(ca.created());
        let first = ca.server_config().unwrap();
        assert!(first.issued);
        let cert = fs::read(dir.join(SERVER_CERT_FILE)).unwrap();

        let again = LocalCa::open(&dir).unwrap();
        assert!(!again.created());
        assert_eq!(again.cert, ca.cert);
        assert!(!again.server_config().unwrap().issued);
        assert_eq!(fs::read(dir.join(SERVER_CERT_FILE)).unwrap(), cert);

        // A certificate that is no longer the CA's (another CA's, here) is replaced.
        let other = LocalCa::open(&temp_dir("other")).unwrap();
        let (pem, key) = other.issue(&SERVER_NAMES, SERVER_VALIDITY_DAYS).unwrap();
        fs::write(dir.join(SERVER_CERT_FILE), pem).unwrap();
        fs::write(dir.join(SERVER_KEY_FILE), key).unwrap();
        assert!(again.server_config().unwrap().issued);
        let reissued = CertificateDer::from_pem_file(dir.join(SERVER_CERT_FILE)).unwrap();
        again.verify(&reissued, SystemTime::now()).unwrap();
        // Renewal looks 30 days ahead; the certificate itself lasts 397.
        again
            .verify(&reissued, SystemTime::now() + 396 * DAY)
            .unwrap();
        assert!(again
            .verify(&reissued, SystemTime::now() + 398 * DAY)
            .is_err());
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_dir_all(other.dir());
    }

    #[test]
    fn a_server_certificate_that_expires_soon_or_misses_a_name_is_issued_again() {
        let dir = temp_dir("renew");
        let ca = LocalCa::open(&dir).unwrap();
        let store = |(pem, key): (String, String)| {
            fs::write(dir.join(SERVER_CERT_FILE), pem).unwrap();
            fs::write(dir.join(SERVER_KEY_FILE), key).unwrap();
        };
        // Still valid, but for less than the 30 days renewal looks ahead.
        store(ca.issue(&SERVER_NAMES, 20).unwrap());
        assert!(ca.server_config().unwrap().issued);
        // Valid for a year, but without a name spoke now serves.
        store(ca.issue(&SERVER_NAMES[..4], SERVER_VALIDITY_DAYS).unwrap());
        assert!(ca.server_config().unwrap().issued);
        // What it issued fits, and is kept.
        let kept = fs::read(dir.join(SERVER_CERT_FILE)).unwrap();
        assert!(!ca.server_config().unwrap().issued);
        assert_eq!(fs::read(dir.join(SERVER_CERT_FILE)).unwrap(), kept);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_ca_cannot_vouch_for_names_outside_hubspot_and_loopback() {
        let dir = temp_dir("constraints");
        let ca = LocalCa::open(&dir).unwrap();
        let mut params = CertificateParams::new(vec!["example.com".to_owned()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::new(ca_params(&ca.key), &ca.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(ca.cert.clone()).unwrap();
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
        let name = ServerName::try_from("example.com").unwrap();
        let now = UnixTime::now();
        assert!(verifier
            .verify_server_cert(cert.der(), &[], &name, &[], now)
            .is_err());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn servers_started_together_make_one_ca() {
        let dir = temp_dir("race");
        let certs: Vec<_> = (0..6)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let ca = LocalCa::open(&dir).unwrap();
                    ca.server_config().unwrap();
                    (ca.cert.clone(), ca.created())
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert!(certs.iter().all(|(c, _)| *c == certs[0].0));
        assert_eq!(certs.iter().filter(|(_, created)| *created).count(), 1);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_half_present_ca_is_refused_rather_than_replaced() {
        let dir = temp_dir("half");
        LocalCa::open(&dir).unwrap();
        fs::remove_file(dir.join(CA_KEY_FILE)).unwrap();
        let err = LocalCa::open(&dir).err().unwrap().to_string();
        assert!(err.contains("only one of"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn keys_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("modes");
        LocalCa::open(&dir).unwrap().server_config().unwrap();
        let mode = |f: &str| fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(CA_KEY_FILE), 0o600);
        assert_eq!(mode(SERVER_KEY_FILE), 0o600);
        assert_eq!(mode(CA_CERT_FILE), 0o644);
        let _ = fs::remove_dir_all(&dir);
    }
}
