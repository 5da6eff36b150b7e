//! The server's TLS key and the TLS certificate that carries what vouches for it.

use core::fmt;

use pqbank_pki::TlsKeyHash;
use pqbank_pki::server::{TlsAlgorithm, TlsCertificateBuilder, VouchingBundle};
use rcgen::{PKCS_ECDSA_P256_SHA256, PublicKeyData, SigningKey};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::Error;

/// The server's TLS key: ECDSA P-256, what TLS 1.3 signs the handshake with. It proves
/// nothing by itself; a server certificate under the root vouches for it.
pub struct TlsKey {
    pair: rcgen::KeyPair,
}

impl TlsKey {
    /// A fresh key from the system's randomness (aws-lc-rs).
    pub fn generate() -> Result<Self, Error> {
        let pair = rcgen::KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(|e| Error::Config(format!("TLS key generation: {e}")))?;
        Ok(Self { pair })
    }

    /// A key from its PKCS#8 DER, as [`Self::to_pkcs8_der`] writes it.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let pkcs8 = PrivatePkcs8KeyDer::from(der);
        let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &PKCS_ECDSA_P256_SHA256)
            .map_err(|_| Error::Config("not a PKCS#8 P-256 key".into()))?;
        Ok(Self { pair })
    }

    /// The private key as PKCS#8 DER, for the server's key file.
    #[must_use]
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.pair.serialize_der())
    }

    /// DER of the SubjectPublicKeyInfo.
    #[must_use]
    pub fn spki_der(&self) -> Vec<u8> {
        self.pair.subject_public_key_info()
    }

    /// What the server certificate must carry to vouch for this key.
    #[must_use]
    pub fn hash(&self) -> TlsKeyHash {
        TlsKeyHash::of_spki(&self.spki_der())
    }
}

impl fmt::Debug for TlsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsKey({:?}, private half redacted)", self.hash())
    }
}

/// What a server presents: its TLS key and the TLS certificate carrying the bundle.
#[derive(Debug)]
pub struct ServerIdentity {
    key: TlsKey,
    certificate: CertificateDer<'static>,
}

impl ServerIdentity {
    /// Makes the TLS certificate for `key`, carrying `bundle`, signed by `key`.
    /// The bundle need not vouch for this key: a client refuses it if it does not.
    pub fn new(
        key: TlsKey,
        bundle: &VouchingBundle,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Self, Error> {
        let spki = key.spki_der();
        let builder = TlsCertificateBuilder {
            spki_der: &spki,
            algorithm: TlsAlgorithm::EcdsaP256Sha256,
            not_before,
            not_after,
            bundle,
        };
        let tbs = builder.tbs().map_err(|e| Error::Config(e.to_string()))?;
        let signature = key
            .pair
            .sign(&tbs)
            .map_err(|e| Error::Config(format!("TLS certificate signature: {e}")))?;
        let certificate = builder
            .certificate(&tbs, &signature)
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(Self {
            key,
            certificate: CertificateDer::from(certificate.der().to_vec()),
        })
    }

    /// The TLS certificate.
    #[must_use]
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    /// The TLS key.
    #[must_use]
    pub fn key(&self) -> &TlsKey {
        &self.key
    }

    /// The private key for rustls.
    pub(crate) fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.pair.serialize_der()))
    }
}
