//! TLS for the fleet connection, with `sslmode` as libpq understands it
//! (rustls, the `ring` provider):
//!
//! | sslmode | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `allow`, `prefer` | when the server offers it, else plain | not checked |
//! | `require` | always | not checked, unless a root certificate file exists (then as `verify-ca`, as libpq does) |
//! | `verify-ca` | always | signed by a CA in `sslrootcert` |
//! | `verify-full` | always | signed by a CA in `sslrootcert` and naming the host dialled (DNS name or IP SAN) |
//!
//! `sslrootcert` (URL or `key=value` parameter, else `PGSSLROOTCERT`, else
//! `~/.postgresql/root.crt`) is a PEM file of one or more CA certificates.
//! A Unix socket never uses TLS (the server refuses it there; libpq ignores
//! `sslmode` for sockets too). No client certificates (`sslcert`/`sslkey`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::FleetError;
use super::conn::SslMode;

/// A root certificate file bigger than this is not a CA bundle.
const MAX_ROOT_FILE: u64 = 4 << 20;

/// Where the root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// `sslrootcert=PATH` or `PGSSLROOTCERT`: must exist when used.
    Given(PathBuf),
    /// `~/.postgresql/root.crt`: used by `require` only when present.
    Default(PathBuf),
    /// No home directory and nothing given.
    Unknown,
}

impl RootCert {
    fn path(&self) -> Option<&Path> {
        match self {
            Self::Given(p) | Self::Default(p) => Some(p),
            Self::Unknown => None,
        }
    }
}

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Nothing,
    Chain,
    ChainAndName,
}

/// The rustls client settings for `mode`, or none when TLS is off.
pub fn client_config(mode: SslMode, root: &RootCert) -> Result<Option<Arc<ClientConfig>>, FleetError> {
    let check = match mode {
        SslMode::Disable => return Ok(None),
        SslMode::Allow | SslMode::Prefer => Check::Nothing,
        // libpq: "if a root CA file exists, require behaves like verify-ca".
        SslMode::Require => match root {
            RootCert::Given(_) => Check::Chain,
            RootCert::Default(p) if p.exists() => Check::Chain,
            RootCert::Default(_) | RootCert::Unknown => Check::Nothing,
        },
        SslMode::VerifyCa => Check::Chain,
        SslMode::VerifyFull => Check::ChainAndName,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        Check::Nothing => Arc::new(Unchecked { provider: provider.clone() }),
        Check::Chain | Check::ChainAndName => {
            let path = root.path().ok_or_else(|| FleetError::RootCert {
                mode: mode.as_str(),
                path: PathBuf::from("~/.postgresql/root.crt"),
                why: "no home directory to find it in: give sslrootcert=PATH (a PEM file of the CA that signed the server's certificate)".into(),
            })?;
            let roots = load_roots(mode, path)?;
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().map_err(|e| FleetError::RootCert {
                mode: mode.as_str(),
                path: path.to_path_buf(),
                why: format!("unusable: {e}"),
            })?;
            if check == Check::Chain { Arc::new(ChainOnly { inner: webpki }) } else { webpki }
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FleetError::Tls { mode: mode.as_str().into(), why: tls_setup_failed(&e) })?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(Arc::new(config)))
}

fn tls_setup_failed(_: &rustls::Error) -> &'static str {
    "the TLS library has no protocol version in common with its own provider (a build problem)"
}

/// The CA certificates of a PEM file, with a message that names the file
/// and says what was expected when it cannot be used.
pub fn load_roots(mode: SslMode, path: &Path) -> Result<RootCertStore, FleetError> {
    let fail = |why: String| FleetError::RootCert { mode: mode.as_str(), path: path.to_path_buf(), why };
    let meta = std::fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            fail(
                "does not exist: give sslrootcert=PATH, a PEM file of the CA that signed the server's certificate (libpq's default is ~/.postgresql/root.crt)"
                    .into(),
            )
        } else {
            fail(format!("cannot be read ({e}): expected a PEM file of CA certificates"))
        }
    })?;
    if !meta.is_file() || meta.len() > MAX_ROOT_FILE {
        return Err(fail(format!("is not a file of at most {} MiB: expected a PEM file of CA certificates", MAX_ROOT_FILE >> 20)));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot be read ({e}): expected a PEM file of CA certificates")))?;
    let mut roots = RootCertStore::empty();
    let mut found = 0usize;
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|e| fail(format!("is not valid PEM ({e}): expected -----BEGIN CERTIFICATE----- blocks")))?;
        roots.add(cert).map_err(|e| fail(format!("holds a certificate that is not a usable CA certificate ({e})")))?;
        found += 1;
    }
    if found == 0 {
        return Err(fail("holds no certificate: expected one or more -----BEGIN CERTIFICATE----- blocks (PEM)".into()));
    }
    Ok(roots)
}

/// `prefer`, `allow`, `require` without a root file: encrypted, the
/// server's certificate taken as it comes (libpq does the same), but the
/// handshake's signatures still checked against it.
#[derive(Debug)]
struct Unchecked {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a root of the file; the name in the
/// certificate is not compared with the host (webpki checks the chain
/// first, so a name mismatch means the chain was good).
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The TLS refusal inside a connection error, if that is what it was
/// (tokio-rustls wraps rustls' error in an `io::Error`, whose `source`
/// skips it: look inside).
pub fn tls_cause(error: &tokio_postgres::Error) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(e) = cause {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t.to_string());
        }
        if let Some(t) = e.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref).and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Some(t.to_string());
        }
        cause = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modes_ask_for_what_libpq_asks_for() {
        let nowhere = RootCert::Default(PathBuf::from("/nonexistent/necromap/root.crt"));
        assert!(client_config(SslMode::Disable, &nowhere).expect("disable").is_none());
        for m in [SslMode::Allow, SslMode::Prefer, SslMode::Require] {
            assert!(client_config(m, &nowhere).expect("no root needed").is_some(), "{m:?}");
        }
        for m in [SslMode::VerifyCa, SslMode::VerifyFull] {
            let e = client_config(m, &nowhere).expect_err("a root is needed").to_string();
            assert!(e.contains("/nonexistent/necromap/root.crt") && e.contains("does not exist") && e.contains("sslrootcert=PATH"), "{e}");
            assert!(e.contains(m.as_str()), "{e}");
        }
        let given = RootCert::Given(PathBuf::from("/nonexistent/necromap/ca.pem"));
        let e = client_config(SslMode::Require, &given).expect_err("a given root must exist").to_string();
        assert!(e.contains("/nonexistent/necromap/ca.pem"), "{e}");
    }

    #[test]
    fn a_root_file_without_certificates_says_so() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("root.crt");
        std::fs::write(&file, "not a certificate\n").expect("write");
        let e = client_config(SslMode::VerifyFull, &RootCert::Given(file.clone())).expect_err("empty").to_string();
        assert!(e.contains("holds no certificate") && e.contains(&file.display().to_string()), "{e}");
        let e = client_config(SslMode::VerifyCa, &RootCert::Given(dir.path().to_path_buf())).expect_err("a directory").to_string();
        assert!(e.contains("is not a file"), "{e}");
    }
}
