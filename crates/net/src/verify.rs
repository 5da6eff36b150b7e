//! The client's check of the server's TLS key: [`VouchedKey`].
//!
//! No Web PKI is involved. The server's TLS certificate is self-signed and carries a
//! vouching bundle (`pqbank_pki::server`); the key is accepted only if the bundle's root
//! is the pinned one, its server certificate validates under that root with the root's
//! CRL at the handshake's time, and the hash it vouches for is the hash of this very
//! key. TLS 1.3's CertificateVerify then proves the server holds the key (RFC 8446,
//! Section 4.4.3), checked with the same SubjectPublicKeyInfo bytes that were hashed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use pqbank_pki::chain::{ServerInput, validate_server};
use pqbank_pki::server::TlsCertificate;
use pqbank_pki::{Certificate, Fingerprint};
use rustls::DigitallySignedStruct;
use rustls::SignatureScheme;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls13_signature_with_raw_key};
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use time::OffsetDateTime;

use crate::Error;

/// A `ServerCertVerifier` that trusts a TLS key only when the pinned root vouches for it.
///
/// It remembers the highest root CRL number it has accepted (shared by its clones, so by
/// every connection made with configs built from it) and refuses any older one: a server
/// whose certificate a newer CRL revoked cannot present the CRL from before.
#[derive(Debug, Clone)]
pub struct VouchedKey {
    pin: Fingerprint,
    crl_pin: Arc<AtomicU64>,
    /// The server certificate of the newest key accepted (shared by the clones): what
    /// the server's signed checkpoints are checked with.
    server: Arc<Mutex<Option<Certificate>>>,
    provider: Arc<CryptoProvider>,
}

impl VouchedKey {
    /// A verifier for the root with fingerprint `pin`.
    #[must_use]
    pub fn new(pin: Fingerprint) -> Self {
        Self {
            pin,
            crl_pin: Arc::new(AtomicU64::new(0)),
            server: Arc::new(Mutex::new(None)),
            provider: crate::provider(),
        }
    }

    /// Also refuses a root CRL older than `number`, the highest this installation has seen.
    #[must_use]
    pub fn with_crl_pin(self, number: u64) -> Self {
        self.crl_pin.fetch_max(number, Ordering::SeqCst);
        self
    }

    /// The highest root CRL number accepted so far (0: none), for the installation to keep.
    #[must_use]
    pub fn crl_pin(&self) -> u64 {
        self.crl_pin.load(Ordering::SeqCst)
    }

    /// The server certificate that vouched for the newest key accepted, if any: the
    /// certificate of the server this verifier's connections reach.
    #[must_use]
    pub fn server_certificate(&self) -> Option<Certificate> {
        self.server.lock().ok().and_then(|s| s.clone())
    }

    /// The checks of this module, in order, at `now`: the bundle is present and well
    /// formed, its root is the pin, its server certificate validates under that root with
    /// the root's CRL, and the hash it vouches for is the hash of this certificate's key.
    pub fn check(&self, end_entity: &[u8], now: OffsetDateTime) -> Result<(), Error> {
        let tls = TlsCertificate::from_der(end_entity).map_err(Error::BundleMalformed)?;
        let bundle = tls.bundle().ok_or(Error::ServerKeyUnvouched)?;
        if bundle.root.fingerprint() != self.pin {
            return Err(Error::RootMismatch);
        }
        let valid = validate_server(&ServerInput {
            server: &bundle.server,
            root: &bundle.root,
            pinned_root: self.pin,
            at: now,
            crl: &bundle.crl,
            crl_pin: Some(self.crl_pin()).filter(|&n| n > 0),
        })
        .map_err(Error::from_validation)?;
        if valid.tls_key_hash != tls.key_hash() {
            return Err(Error::ServerKeyUnvouched);
        }
        self.crl_pin.fetch_max(valid.crl_number, Ordering::SeqCst);
        if let Ok(mut server) = self.server.lock() {
            *server = Some(bundle.server.clone());
        }
        Ok(())
    }
}

impl ServerCertVerifier for VouchedKey {
    /// The server name is not checked: the pinned root, not a DNS name, says who the
    /// server is. Intermediates and OCSP are ignored; the bundle carries the CRL.
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let now = OffsetDateTime::from_unix_timestamp(secs)
            .map_err(|_| Error::Config("clock out of range".into()).into_rustls())?;
        self.check(end_entity, now)
            .map_err(Error::into_rustls)
            .map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(Error::Tls12Refused.into_rustls())
    }

    /// Checked with the SubjectPublicKeyInfo whose hash was vouched for, as parsed by
    /// [`VouchedKey::check`], so no second parser's view of the certificate is trusted.
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let tls =
            TlsCertificate::from_der(cert).map_err(|e| Error::BundleMalformed(e).into_rustls())?;
        let spki = SubjectPublicKeyInfoDer::from(tls.spki_der());
        verify_tls13_signature_with_raw_key(
            message,
            &spki,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
