//! The server profile: a composite certificate issued by the root that vouches for the
//! key a pqbank-server uses in TLS, and the bundle that carries it to a client.
//!
//! TLS 1.3 in rustls signs the handshake with a classical key (ECDSA P-256 or Ed25519),
//! which no pqbank certificate can hold. The root therefore issues the server a
//! certificate of the *server profile*: an end entity with no role, no actions, no
//! device binding and no staff identifier, carrying the SHA3-256 of the TLS key's
//! SubjectPublicKeyInfo. The server's self-signed TLS certificate carries, in a private
//! non-critical extension, that server certificate, the root certificate and the root's
//! newest CRL, so a client that knows only the root fingerprint can decide. The shapes
//! (X.680 notation; the arc is `id-pqbank` of [`crate::ext`]):
//!
//! ```asn1
//! -- { id-pqbank 8 }, in the server certificate:
//! --   SHA3-256("pqbank/tls-key/v1" || DER of the TLS SubjectPublicKeyInfo).
//! TlsKeyHash ::= OCTET STRING (SIZE (32))
//! -- { id-pqbank 9 }, in the TLS certificate (non-critical):
//! VouchingBundle ::= SEQUENCE {
//!     version            INTEGER (1),
//!     serverCertificate  OCTET STRING (SIZE (1..16384)),   -- DER Certificate
//!     rootCertificate    OCTET STRING (SIZE (1..16384)),   -- DER Certificate
//!     rootCrl            OCTET STRING (SIZE (1..24576)) }  -- DER CertificateList
//! ```
//!
//! The certificates travel as OCTET STRINGs so the bundle's parser never re-encodes them:
//! each is handed whole to [`Certificate::from_der`] and [`Crl::from_der`], which refuse
//! anything but canonical DER. The sizes keep the TLS certificate below the 64 KiB a
//! TLS handshake message may carry in rustls.
//!
//! The TLS certificate itself (RFC 5280, Section 4.1) is written here too, with the
//! caller signing its TBSCertificate with the TLS key: the pqbank arc's 128-bit number
//! does not fit the 64-bit arcs of other certificate writers.

use core::fmt;

use sha3::{Digest, Sha3_256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::der::{self, Reader, tag};
use crate::ext::{TLS_KEY_HASH_NUMBER, VOUCHING_BUNDLE_NUMBER, arc_oid};
use crate::{Certificate, Crl, Error, Fingerprint};

/// Domain label of TLS key hashes.
pub const TLS_KEY_LABEL: &[u8] = b"pqbank/tls-key/v1";
/// The bundle version this build writes and reads.
pub const BUNDLE_VERSION: u64 = 1;
/// Largest server certificate a bundle carries.
pub const SERVER_CERTIFICATE_LEN_MAX: usize = 16 * 1024;
/// Largest root certificate a bundle carries.
pub const ROOT_CERTIFICATE_LEN_MAX: usize = 16 * 1024;
/// Largest root CRL a bundle carries (some hundreds of revoked CA and server certificates).
pub const CRL_LEN_MAX: usize = 24 * 1024;
/// Largest bundle: the three parts and their DER headers.
pub const BUNDLE_LEN_MAX: usize =
    SERVER_CERTIFICATE_LEN_MAX + ROOT_CERTIFICATE_LEN_MAX + CRL_LEN_MAX + 64;
/// Largest TLS certificate: the bundle and a classical certificate's few hundred bytes,
/// within the 64 KiB (less framing) of one TLS handshake message.
pub const TLS_CERTIFICATE_LEN_MAX: usize = 60 * 1024;

/// Content octets of the TLS key hash extension's OID, `{ id-pqbank 8 }`.
#[must_use]
pub fn tls_key_hash_oid() -> Vec<u8> {
    arc_oid(TLS_KEY_HASH_NUMBER)
}

/// Content octets of the vouching bundle extension's OID, `{ id-pqbank 9 }`.
#[must_use]
pub fn vouching_bundle_oid() -> Vec<u8> {
    arc_oid(VOUCHING_BUNDLE_NUMBER)
}

/// The hash of a TLS public key that a server certificate vouches for.
#[derive(Clone, Copy, Eq)]
pub struct TlsKeyHash([u8; 32]);

impl TlsKeyHash {
    /// SHA3-256 over the domain label and the DER of a SubjectPublicKeyInfo.
    #[must_use]
    pub fn of_spki(spki_der: &[u8]) -> Self {
        let mut h = Sha3_256::new();
        h.update(TLS_KEY_LABEL);
        h.update(spki_der);
        Self(h.finalize().into())
    }

    /// Wraps 32 raw bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses the extension's value: exactly one OCTET STRING of 32 bytes.
    pub fn from_extension_value(value: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(value);
        let hash = crate::ext::read_hash(&mut r)?;
        r.finish()?;
        Ok(Self(hash))
    }

    /// The extension's value.
    #[must_use]
    pub fn to_extension_value(&self) -> Vec<u8> {
        der::octets(&self.0)
    }
}

impl PartialEq for TlsKeyHash {
    /// Constant time: the hash decides whether a TLS key is trusted.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TlsKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsKeyHash({})", hex::encode(self.0))
    }
}

/// What a TLS certificate carries so a client can check that the root vouches for its key.
#[derive(Debug, Clone)]
pub struct VouchingBundle {
    /// The composite server certificate (server profile), issued by the root.
    pub server: Certificate,
    /// The root certificate.
    pub root: Certificate,
    /// The root's newest CRL.
    pub crl: Crl,
}

impl VouchingBundle {
    /// The bundle's DER; refuses parts larger than the bounds the parser accepts.
    pub fn to_der(&self) -> Result<Vec<u8>, Error> {
        let parts = [
            (self.server.der(), SERVER_CERTIFICATE_LEN_MAX),
            (self.root.der(), ROOT_CERTIFICATE_LEN_MAX),
            (self.crl.der(), CRL_LEN_MAX),
        ];
        if parts.iter().any(|(part, max)| part.len() > *max) {
            return Err(Error::InvalidRequest("vouching bundle part too large"));
        }
        let [server, root, crl] = parts.map(|(part, _)| der::octets(part));
        Ok(der::seq(&[
            &der::uint64(BUNDLE_VERSION),
            &server,
            &root,
            &crl,
        ]))
    }

    /// Parses a bundle strictly: bounded sizes, version 1, three non-empty parts that
    /// each parse as what they claim to be, nothing after them.
    pub fn from_der(input: &[u8]) -> Result<Self, Error> {
        if input.len() > BUNDLE_LEN_MAX {
            return Err(Error::Malformed("vouching bundle too large"));
        }
        let mut outer = Reader::new(input);
        let mut r = outer.nested(tag::SEQUENCE)?;
        outer.finish()?;
        if r.read_u64()? != BUNDLE_VERSION {
            return Err(Error::Malformed("unknown vouching bundle version"));
        }
        let server = read_part(&mut r, SERVER_CERTIFICATE_LEN_MAX)?;
        let root = read_part(&mut r, ROOT_CERTIFICATE_LEN_MAX)?;
        let crl = read_part(&mut r, CRL_LEN_MAX)?;
        r.finish()?;
        Ok(Self {
            server: Certificate::from_der(server)?,
            root: Certificate::from_der(root)?,
            crl: Crl::from_der(crl)?,
        })
    }
}

fn read_part<'a>(r: &mut Reader<'a>, max: usize) -> Result<&'a [u8], Error> {
    let part = r.read(tag::OCTET_STRING)?;
    if part.is_empty() || part.len() > max {
        return Err(Error::Malformed("vouching bundle part size"));
    }
    Ok(part)
}

/// The signature algorithm of a TLS key, as its certificate names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsAlgorithm {
    /// ecdsa-with-SHA256 (RFC 5758, 3.2), over a P-256 key; the signature is DER.
    EcdsaP256Sha256,
    /// Ed25519 (RFC 8410, 3).
    Ed25519,
}

impl TlsAlgorithm {
    /// Content octets of the signature algorithm's OID.
    const fn oid(self) -> &'static [u8] {
        match self {
            // 1.2.840.10045.4.3.2
            Self::EcdsaP256Sha256 => &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
            // 1.3.101.112
            Self::Ed25519 => &[0x2b, 0x65, 0x70],
        }
    }

    /// The AlgorithmIdentifier; parameters are absent for both (RFC 5758, RFC 8410).
    fn identifier(self) -> Vec<u8> {
        der::seq(&[&der::oid(self.oid())])
    }
}

/// The fields of a server's self-signed TLS certificate.
#[derive(Debug, Clone, Copy)]
pub struct TlsCertificateBuilder<'a> {
    /// DER of the TLS key's SubjectPublicKeyInfo.
    pub spki_der: &'a [u8],
    /// The TLS key's signature algorithm.
    pub algorithm: TlsAlgorithm,
    /// Start of the validity window (informative: the server certificate's counts).
    pub not_before: OffsetDateTime,
    /// End of the validity window (informative likewise).
    pub not_after: OffsetDateTime,
    /// What vouches for the key.
    pub bundle: &'a VouchingBundle,
}

impl TlsCertificateBuilder<'_> {
    /// The TBSCertificate for the TLS key to sign. Subject and issuer are the server
    /// certificate's subject; the serial is derived from the key and the bundle.
    pub fn tbs(&self) -> Result<Vec<u8>, Error> {
        if self.not_before >= self.not_after {
            return Err(Error::InvalidRequest("notBefore must be before notAfter"));
        }
        let bundle = self.bundle.to_der()?;
        let fingerprint = Fingerprint::of(&[self.spki_der, &bundle].concat());
        let mut serial = [0u8; 16];
        serial.copy_from_slice(&fingerprint.as_bytes()[..16]);
        serial[0] = (serial[0] & 0x7f) | 0x01;
        let name = self.bundle.server.subject_der();
        let extension = crate::cert::extension(&vouching_bundle_oid(), false, &bundle);
        Ok(der::seq(&[
            &der::explicit(0, &der::uint64(2)),
            &der::uint(&serial),
            &self.algorithm.identifier(),
            name,
            &der::seq(&[&der::time(self.not_before), &der::time(self.not_after)]),
            name,
            self.spki_der,
            &der::explicit(3, &der::seq(&[&extension])),
        ]))
    }

    /// The certificate from its TBSCertificate and the TLS key's signature over it,
    /// parsed back as a client would.
    pub fn certificate(&self, tbs: &[u8], signature: &[u8]) -> Result<TlsCertificate, Error> {
        let der = der::seq(&[tbs, &self.algorithm.identifier(), &der::bits(signature)]);
        TlsCertificate::from_der(&der)
    }
}

/// A server's TLS certificate as a client reads it: the key it presents and what
/// vouches for that key. Its signature and dates are not checked here: TLS proves the
/// key is held, and the server certificate's validity is the one that counts.
#[derive(Debug, Clone)]
pub struct TlsCertificate {
    der: Vec<u8>,
    spki: Vec<u8>,
    bundle: Option<VouchingBundle>,
}

impl TlsCertificate {
    /// Parses a TLS certificate strictly: bounded size, no trailing bytes, no repeated
    /// extension, no critical extension but those TLS peers understand, the vouching
    /// bundle (if present) non-critical and well formed.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        if der.len() > TLS_CERTIFICATE_LEN_MAX {
            return Err(Error::Malformed("TLS certificate too large"));
        }
        let (rest, x509) = X509Certificate::from_der(der)
            .map_err(|_| Error::Malformed("not an X.509 certificate"))?;
        if !rest.is_empty() {
            return Err(Error::Malformed("trailing bytes after certificate"));
        }
        if x509.extensions_map().is_err() {
            return Err(Error::Malformed("repeated extension"));
        }
        let bundle_oid = vouching_bundle_oid();
        let mut bundle = None;
        for ext in x509.extensions() {
            let oid = ext.oid.as_bytes();
            if oid == bundle_oid {
                if ext.critical {
                    return Err(Error::InvalidExtension("vouching bundle marked critical"));
                }
                bundle = Some(VouchingBundle::from_der(ext.value)?);
            } else if ext.critical && !crate::cert::is_understood(oid) {
                return Err(Error::Malformed("unknown critical extension"));
            }
        }
        Ok(Self {
            der: der.to_vec(),
            spki: x509.public_key().raw.to_vec(),
            bundle,
        })
    }

    /// The DER, exactly as parsed.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// DER of the SubjectPublicKeyInfo: the key the TLS handshake is signed with.
    #[must_use]
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The hash a server certificate must carry to vouch for this key.
    #[must_use]
    pub fn key_hash(&self) -> TlsKeyHash {
        TlsKeyHash::of_spki(&self.spki)
    }

    /// The vouching bundle, if the certificate carries one.
    #[must_use]
    pub fn bundle(&self) -> Option<&VouchingBundle> {
        self.bundle.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves the hash is domain separated and its extension value round-trips strictly.
    #[test]
    fn tls_key_hash_round_trip() {
        let hash = TlsKeyHash::of_spki(b"spki");
        assert_ne!(
            hash.as_bytes(),
            &<[u8; 32]>::from(Sha3_256::digest(b"spki"))
        );
        let value = hash.to_extension_value();
        assert_eq!(TlsKeyHash::from_extension_value(&value), Ok(hash));
        assert!(TlsKeyHash::from_extension_value(&[value.as_slice(), &[0]].concat()).is_err());
        assert!(TlsKeyHash::from_extension_value(&der::octets(&[0; 31])).is_err());
        assert!(TlsKeyHash::from_extension_value(&[]).is_err());
    }

    /// Proves bundles of the wrong shape are refused without looking at the parts.
    #[test]
    fn malformed_bundles_are_refused() {
        let part = der::octets(&[0x30, 0x00]);
        let v2 = der::seq(&[&der::uint64(2), &part, &part, &part]);
        assert_eq!(
            VouchingBundle::from_der(&v2).err(),
            Some(Error::Malformed("unknown vouching bundle version"))
        );
        let empty = der::seq(&[&der::uint64(1), &der::octets(&[]), &part, &part]);
        assert_eq!(
            VouchingBundle::from_der(&empty).err(),
            Some(Error::Malformed("vouching bundle part size"))
        );
        let big = der::seq(&[&der::uint64(1), &der::octets(&[0; 17 * 1024]), &part, &part]);
        assert_eq!(
            VouchingBundle::from_der(&big).err(),
            Some(Error::Malformed("vouching bundle part size"))
        );
        assert!(VouchingBundle::from_der(&[0; BUNDLE_LEN_MAX + 1]).is_err());
        assert!(VouchingBundle::from_der(&[]).is_err());
    }
}
