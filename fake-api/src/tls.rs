//! TLS: the server's rustls configuration from PEM files (ring provider, HTTP/1.1 only), and
//! throwaway test certificates made with the `openssl` command line.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// An acceptor serving `cert_chain_pem` (leaf first) with the key in `key_pem`
/// (PKCS#8, SEC1 or PKCS#1), offering only `http/1.1` over ALPN.
pub(crate) fn acceptor(cert_chain_pem: &Path, key_pem: &Path) -> io::Result<TlsAcceptor> {
    let invalid = |path: &Path, error: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidData, format!("fake-api: {}: {error}", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(cert_chain_pem)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| invalid(cert_chain_pem, &error))?;
    if certs.is_empty() {
        return Err(invalid(cert_chain_pem, &"no certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|error| invalid(key_pem, &error))?;
    // The provider is named: another crate in the same build may enable a second one.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|error| invalid(cert_chain_pem, &error))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A test CA and a server certificate it signed, as PEM files in one directory; made with the
/// `openssl` command line (which must be on `PATH`), valid for two days, ECDSA P-256 keys.
#[derive(Clone, Debug)]
pub struct TestCerts {
    /// The CA certificate: what a client trusts (`SSL_CERT_FILE`, a root store).
    pub ca: PathBuf,
    /// The server certificate, for `127.0.0.1` and `localhost`: the chain to serve.
    pub cert_chain: PathBuf,
    /// The server certificate's private key (PKCS#8).
    pub key: PathBuf,
}

const CA_CONFIG: &str = "[req]
distinguished_name = dn
prompt = no
x509_extensions = ca
[dn]
CN = fake-api test CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
";

const LEAF_CONFIG: &str = "[req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

impl TestCerts {
    /// Writes `ca.pem`, `cert.pem` and `key.pem` (and the CA's key and the openssl configs)
    /// into `dir`, which should be a fresh temporary directory: never commit the keys.
    pub fn generate(dir: &Path) -> io::Result<TestCerts> {
        let path = |name: &str| dir.join(name);
        std::fs::write(path("ca.cnf"), CA_CONFIG)?;
        std::fs::write(path("leaf.cnf"), LEAF_CONFIG)?;
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        openssl(dir, &format!("req -x509 {ec} -days 2 -config ca.cnf -keyout ca.key -out ca.pem"))?;
        openssl(dir, &format!("req -new {ec} -config leaf.cnf -keyout key.pem -out leaf.csr"))?;
        openssl(
            dir,
            "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 \
             -extfile leaf.cnf -extensions leaf -out cert.pem",
        )?;
        Ok(TestCerts { ca: path("ca.pem"), cert_chain: path("cert.pem"), key: path("key.pem") })
    }
}

/// Runs `openssl` in `dir` with `args` (split at whitespace); an error carries its stderr.
fn openssl(dir: &Path, args: &str) -> io::Result<()> {
    let out = Command::new("openssl").args(args.split_whitespace()).current_dir(dir).stdin(Stdio::null()).output()?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(io::Error::other(format!("openssl {args} failed ({}): {}", out.status, stderr.trim())))
    }
}
