//! X.509 v3 certificates (RFC 5280, Section 4) signed with the composite algorithm.
//!
//! [`CertificateBuilder`] writes the DER; [`Certificate::from_der`] parses any
//! certificate signed with `id-MLDSA65-Ed25519-SHA512` or `id-ml-dsa-65` through
//! `x509-parser` into an owned value, with pqbank's claims when present.

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

use crate::composite::{CompositeSigningKey, CompositeVerifyingKey, SignatureAlgorithm};
use crate::der;
use crate::ext::StaffClaims;
use crate::server::{TlsKeyHash, tls_key_hash_oid};
use crate::{Error, Fingerprint};

/// id-ce-subjectKeyIdentifier, 2.5.29.14.
pub(crate) const OID_SKI: &[u8] = &[0x55, 0x1d, 0x0e];
/// id-ce-keyUsage, 2.5.29.15.
pub(crate) const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
/// id-ce-basicConstraints, 2.5.29.19.
pub(crate) const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// id-ce-authorityKeyIdentifier, 2.5.29.35.
pub(crate) const OID_AKI: &[u8] = &[0x55, 0x1d, 0x23];

/// Length of the random serial numbers pqbank writes (RFC 5280 allows up to 20 octets).
pub const SERIAL_LEN: usize = 16;
/// Largest certificate the parser accepts.
pub const DER_LEN_MAX: usize = 64 * 1024;

/// What the builder needs from the issuer.
#[derive(Debug, Clone, Copy)]
pub enum Issuer<'a> {
    /// A self-signed root: the subject's own key signs.
    SelfSigned(&'a CompositeSigningKey),
    /// A CA certificate and its private key.
    Ca {
        /// The issuing certificate.
        certificate: &'a Certificate,
        /// Its private key.
        key: &'a CompositeSigningKey,
    },
}

/// The fields of a new certificate.
#[derive(Debug, Clone)]
pub struct CertificateBuilder {
    /// Serial number bytes; randomness from the caller. The top bit is cleared and an
    /// all-zero serial is refused, so the INTEGER is positive (RFC 5280, 4.1.2.2).
    pub serial: [u8; SERIAL_LEN],
    /// DER of the subject Name (from a [`crate::DistinguishedName`] or a CSR).
    pub subject: Vec<u8>,
    /// The subject's composite public key.
    pub subject_key: CompositeVerifyingKey,
    /// Start of the validity window.
    pub not_before: OffsetDateTime,
    /// End of the validity window.
    pub not_after: OffsetDateTime,
    /// `Some(path length)` for a CA certificate, `None` for an end entity.
    pub ca_path_len: Option<u8>,
    /// pqbank's claims.
    pub claims: StaffClaims,
}

impl CertificateBuilder {
    /// Signs the certificate. `rnd` is the hedged-signing randomness.
    pub fn sign(&self, issuer: Issuer<'_>, rnd: &[u8; 32]) -> Result<Certificate, Error> {
        self.sign_with(issuer, None, rnd)
    }

    /// Signs a certificate of the server profile ([`crate::server`]) that vouches for the
    /// TLS key hashed in `tls_key`. It must be an end entity issued by a CA, with no
    /// role, actions, device binding or staff identifier: a server certificate can never
    /// pass as staff.
    pub fn sign_server(
        &self,
        issuer: Issuer<'_>,
        tls_key: &TlsKeyHash,
        rnd: &[u8; 32],
    ) -> Result<Certificate, Error> {
        if !matches!(issuer, Issuer::Ca { .. }) {
            return Err(Error::InvalidRequest(
                "a server certificate is issued by the root",
            ));
        }
        if self.ca_path_len.is_some() || !self.claims.is_server_compatible() {
            return Err(Error::InvalidRequest(
                "a server certificate carries no CA, role, action, device or staff claim",
            ));
        }
        self.sign_with(issuer, Some(tls_key), rnd)
    }

    /// The to-be-signed bytes of the certificate `issuer` (a CA) issues: what the
    /// issuer's key signs when it signs elsewhere (a manager's workstation), to be put
    /// together with [`Certificate::assemble`]. The same bytes [`Self::sign`] signs.
    pub fn tbs_issued_by(&self, issuer: &Certificate) -> Result<Vec<u8>, Error> {
        let ski = issuer
            .subject_key_id()
            .map_or_else(|| key_identifier(issuer.public_key()), <[u8]>::to_vec);
        self.tbs(issuer.subject_der().to_vec(), &ski, None)
    }

    fn sign_with(
        &self,
        issuer: Issuer<'_>,
        tls_key: Option<&TlsKeyHash>,
        rnd: &[u8; 32],
    ) -> Result<Certificate, Error> {
        let (issuer_name, issuer_ski, key) = match issuer {
            Issuer::SelfSigned(key) => {
                if key.verifying_key() != &self.subject_key {
                    return Err(Error::InvalidRequest(
                        "self-signed key is not the subject key",
                    ));
                }
                let own_ski = key_identifier(self.subject_key.as_bytes());
                (self.subject.clone(), own_ski, key)
            }
            Issuer::Ca { certificate, key } => {
                if key.verifying_key().as_bytes() != certificate.public_key() {
                    return Err(Error::InvalidRequest(
                        "issuer key does not match issuer certificate",
                    ));
                }
                let ski = certificate
                    .subject_key_id()
                    .map_or_else(|| key_identifier(certificate.public_key()), <[u8]>::to_vec);
                (certificate.subject_der().to_vec(), ski, key)
            }
        };
        let tbs = self.tbs(issuer_name, &issuer_ski, tls_key)?;
        let signature = key.sign(&tbs, &[], rnd)?;
        Certificate::assemble(&tbs, signature.as_bytes())
    }

    fn tbs(
        &self,
        issuer_name: Vec<u8>,
        issuer_ski: &[u8],
        tls_key: Option<&TlsKeyHash>,
    ) -> Result<Vec<u8>, Error> {
        if self.not_before >= self.not_after {
            return Err(Error::InvalidRequest("notBefore must be before notAfter"));
        }
        let mut serial = self.serial;
        serial[0] &= 0x7f;
        if serial.iter().all(|b| *b == 0) {
            return Err(Error::InvalidRequest("serial number must not be zero"));
        }
        let own_ski = key_identifier(self.subject_key.as_bytes());
        let extensions = self.extensions(&own_ski, issuer_ski, tls_key)?;
        Ok(der::seq(&[
            &der::explicit(0, &der::uint64(2)),
            &der::uint(&serial),
            &algorithm_identifier(),
            &issuer_name,
            &der::seq(&[&der::time(self.not_before), &der::time(self.not_after)]),
            &self.subject,
            &subject_public_key_info(&self.subject_key),
            &der::explicit(3, &extensions),
        ]))
    }

    fn extensions(
        &self,
        own_ski: &[u8],
        issuer_ski: &[u8],
        tls_key: Option<&TlsKeyHash>,
    ) -> Result<Vec<u8>, Error> {
        let basic = match self.ca_path_len {
            Some(len) => der::seq(&[&der::boolean(true), &der::uint64(u64::from(len))]),
            None => der::seq(&[]),
        };
        // KeyUsage bits (RFC 5280, 4.2.1.3): a CA signs with digitalSignature(0),
        // keyCertSign(5) and cRLSign(6); an end entity with digitalSignature(0) and
        // nonRepudiation(1), since its acts are the staff member's commitments.
        let usage = match self.ca_path_len {
            Some(_) => der::tlv(der::tag::BIT_STRING, &[1, 0b1000_0110]),
            None => der::tlv(der::tag::BIT_STRING, &[6, 0b1100_0000]),
        };
        let mut exts = vec![
            extension(OID_BASIC_CONSTRAINTS, true, &basic),
            extension(OID_KEY_USAGE, true, &usage),
            extension(OID_SKI, false, &der::octets(own_ski)),
            extension(
                OID_AKI,
                false,
                &der::seq(&[&der::implicit_primitive(0, issuer_ski)]),
            ),
        ];
        for (oid, value) in self.claims.to_extensions()? {
            exts.push(extension(&oid, false, &value));
        }
        if let Some(hash) = tls_key {
            exts.push(extension(
                &tls_key_hash_oid(),
                false,
                &hash.to_extension_value(),
            ));
        }
        let refs: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();
        Ok(der::seq(&refs))
    }
}

/// One Extension (RFC 5280, 4.1): critical is omitted when false, as DER requires.
pub(crate) fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    if critical {
        der::seq(&[&der::oid(oid), &der::boolean(true), &der::octets(value)])
    } else {
        der::seq(&[&der::oid(oid), &der::octets(value)])
    }
}

/// The composite AlgorithmIdentifier: the OID with parameters absent.
pub(crate) fn algorithm_identifier() -> Vec<u8> {
    der::seq(&[&der::oid(SignatureAlgorithm::MlDsa65Ed25519.oid())])
}

/// SubjectPublicKeyInfo with the raw composite key in the BIT STRING.
pub(crate) fn subject_public_key_info(key: &CompositeVerifyingKey) -> Vec<u8> {
    der::seq(&[&algorithm_identifier(), &der::bits(key.as_bytes())])
}

/// Key identifier per RFC 7093, Section 2, method 1: the leftmost 160 bits of the
/// SHA-256 hash of the subjectPublicKey BIT STRING value.
#[must_use]
pub fn key_identifier(public_key: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(public_key)[..20].to_vec()
}

/// A parsed certificate, owned.
#[derive(Debug, Clone)]
pub struct Certificate {
    der: Vec<u8>,
    fingerprint: Fingerprint,
    tbs: Vec<u8>,
    serial: Vec<u8>,
    issuer: Vec<u8>,
    issuer_text: String,
    subject: Vec<u8>,
    subject_text: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    signature_algorithm: SignatureAlgorithm,
    key_algorithm: SignatureAlgorithm,
    public_key: Vec<u8>,
    signature: Vec<u8>,
    ski: Option<Vec<u8>>,
    aki: Option<Vec<u8>>,
    ca: bool,
    path_len: Option<u32>,
    key_cert_sign: Option<bool>,
    claims: StaffClaims,
    tls_key_hash: Option<TlsKeyHash>,
}

impl Certificate {
    /// Parses a DER certificate. Refuses trailing bytes, algorithms other than the
    /// composite and ML-DSA-65, mismatched inner and outer algorithms, unknown
    /// critical extensions, malformed pqbank extensions and a TLS key hash on a CA or
    /// beside staff claims.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        if der.len() > DER_LEN_MAX {
            return Err(Error::Malformed("certificate too large"));
        }
        let (rest, x509) = X509Certificate::from_der(der)
            .map_err(|_| Error::Malformed("not an X.509 certificate"))?;
        if !rest.is_empty() {
            return Err(Error::Malformed("trailing bytes after certificate"));
        }
        let tbs = &x509.tbs_certificate;
        let signature_algorithm = algorithm(&x509.signature_algorithm)?;
        if algorithm(&tbs.signature)? != signature_algorithm {
            return Err(Error::Malformed(
                "inner and outer signature algorithms differ",
            ));
        }
        let (key_algorithm, public_key) = spki(x509.public_key())?;
        let signature = signature_bits(&x509.signature_value)?;
        // x509-parser tolerates non-minimal lengths outside the signed part; the SHA3
        // fingerprint must name one encoding, so the outer layer must be exactly DER.
        require_canonical(der, tbs.as_ref(), signature_algorithm, &signature)?;
        if x509.extensions_map().is_err() {
            return Err(Error::Malformed("repeated extension"));
        }
        let mut cert = Self {
            der: der.to_vec(),
            fingerprint: Fingerprint::of(der),
            tbs: tbs.as_ref().to_vec(),
            serial: x509.raw_serial().to_vec(),
            issuer: x509.issuer().as_raw().to_vec(),
            issuer_text: x509.issuer().to_string(),
            subject: x509.subject().as_raw().to_vec(),
            subject_text: x509.subject().to_string(),
            not_before: x509.validity().not_before.to_datetime(),
            not_after: x509.validity().not_after.to_datetime(),
            signature_algorithm,
            key_algorithm,
            public_key,
            signature,
            ski: None,
            aki: None,
            ca: false,
            path_len: None,
            key_cert_sign: None,
            claims: StaffClaims::default(),
            tls_key_hash: None,
        };
        for ext in x509.extensions() {
            cert.absorb_extension(ext)?;
        }
        if cert.tls_key_hash.is_some() && (cert.ca || !cert.claims.is_server_compatible()) {
            return Err(Error::InvalidExtension(
                "TLS key hash on a CA or staff certificate",
            ));
        }
        Ok(cert)
    }

    fn absorb_extension(
        &mut self,
        ext: &x509_parser::extensions::X509Extension<'_>,
    ) -> Result<(), Error> {
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                self.ca = bc.ca;
                self.path_len = bc.path_len_constraint;
            }
            ParsedExtension::KeyUsage(ku) => self.key_cert_sign = Some(ku.key_cert_sign()),
            ParsedExtension::SubjectKeyIdentifier(id) => self.ski = Some(id.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                self.aki = aki.key_identifier.as_ref().map(|id| id.0.to_vec());
            }
            ParsedExtension::ParseError { .. } => {
                return Err(Error::Malformed("malformed standard extension"));
            }
            _ if ext.oid.as_bytes() == tls_key_hash_oid() => {
                if self.tls_key_hash.is_some() {
                    return Err(Error::InvalidExtension("repeated pqbank extension"));
                }
                self.tls_key_hash = Some(TlsKeyHash::from_extension_value(ext.value)?);
            }
            _ => {
                let ours = self.claims.absorb(ext.oid.as_bytes(), ext.value)?;
                if !ours && ext.critical && !is_understood(ext.oid.as_bytes()) {
                    return Err(Error::Malformed("unknown critical extension"));
                }
            }
        }
        Ok(())
    }

    /// The certificate of `tbs` (as [`CertificateBuilder::tbs_issued_by`] makes it) and
    /// the issuer's composite signature over it, parsed as any certificate is. Whether the
    /// signature is the issuer's is [`Self::verify_signed_by`]'s to say.
    ///
    /// # Errors
    /// The bytes do not make a certificate pqbank accepts.
    pub fn assemble(tbs: &[u8], signature: &[u8]) -> Result<Self, Error> {
        Self::from_der(&der::seq(&[
            tbs,
            &algorithm_identifier(),
            &der::bits(signature),
        ]))
    }

    /// Reads PEM (`CERTIFICATE`) or DER.
    pub fn from_pem_or_der(input: &[u8]) -> Result<Self, Error> {
        Self::from_der(&crate::pem::decode("CERTIFICATE", input)?)
    }

    /// PEM encoding.
    #[must_use]
    pub fn to_pem(&self) -> String {
        crate::pem::encode("CERTIFICATE", &self.der)
    }

    /// The DER encoding, exactly as parsed.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA3-256 of the DER.
    #[must_use]
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The serial number's INTEGER content octets.
    #[must_use]
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// DER of the issuer Name.
    #[must_use]
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer
    }

    /// DER of the subject Name.
    #[must_use]
    pub fn subject_der(&self) -> &[u8] {
        &self.subject
    }

    /// The issuer as text (RFC 4514 style).
    #[must_use]
    pub fn issuer_text(&self) -> &str {
        &self.issuer_text
    }

    /// The subject as text (RFC 4514 style).
    #[must_use]
    pub fn subject_text(&self) -> &str {
        &self.subject_text
    }

    /// Start of the validity window.
    #[must_use]
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of the validity window.
    #[must_use]
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The algorithm that signed this certificate.
    #[must_use]
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signature_algorithm
    }

    /// The algorithm of the subject's key.
    #[must_use]
    pub fn key_algorithm(&self) -> SignatureAlgorithm {
        self.key_algorithm
    }

    /// The subject's raw public key.
    #[must_use]
    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// The subject key identifier, if present.
    #[must_use]
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.ski.as_deref()
    }

    /// The authority key identifier's keyIdentifier, if present.
    #[must_use]
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.aki.as_deref()
    }

    /// True if basic constraints say CA.
    #[must_use]
    pub fn is_ca(&self) -> bool {
        self.ca
    }

    /// The path length constraint.
    #[must_use]
    pub fn path_len(&self) -> Option<u32> {
        self.path_len
    }

    /// The keyCertSign bit, `None` when there is no key usage extension.
    #[must_use]
    pub fn key_cert_sign(&self) -> Option<bool> {
        self.key_cert_sign
    }

    /// pqbank's claims (empty for a certificate from another implementation).
    #[must_use]
    pub fn claims(&self) -> &StaffClaims {
        &self.claims
    }

    /// The TLS key hash of a server-profile certificate ([`crate::server`]).
    #[must_use]
    pub fn tls_key_hash(&self) -> Option<&TlsKeyHash> {
        self.tls_key_hash.as_ref()
    }

    /// True if the subject and issuer names are the same.
    #[must_use]
    pub fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
    }

    /// Verifies this certificate's signature with `issuer`'s key; the signature
    /// algorithm must be the issuer key's algorithm.
    pub fn verify_signed_by(&self, issuer: &Certificate) -> Result<(), Error> {
        if self.signature_algorithm != issuer.key_algorithm {
            return Err(Error::BadSignature);
        }
        issuer
            .key_algorithm
            .verify(&issuer.public_key, &self.tbs, &self.signature)
    }

    /// True if `at` lies within the validity window (both ends inclusive, RFC 5280 4.1.2.5).
    #[must_use]
    pub fn is_valid_at(&self, at: OffsetDateTime) -> bool {
        self.not_before <= at && at <= self.not_after
    }
}

pub(crate) fn is_understood(oid: &[u8]) -> bool {
    [OID_SKI, OID_KEY_USAGE, OID_BASIC_CONSTRAINTS, OID_AKI].contains(&oid)
}

/// The algorithm of an AlgorithmIdentifier; parameters must be absent (draft, Section 7).
pub(crate) fn algorithm(id: &AlgorithmIdentifier<'_>) -> Result<SignatureAlgorithm, Error> {
    if id.parameters.is_some() {
        return Err(Error::UnsupportedAlgorithm);
    }
    SignatureAlgorithm::from_oid(id.algorithm.as_bytes()).ok_or(Error::UnsupportedAlgorithm)
}

/// The algorithm and raw key of a SubjectPublicKeyInfo.
pub(crate) fn spki(
    info: &SubjectPublicKeyInfo<'_>,
) -> Result<(SignatureAlgorithm, Vec<u8>), Error> {
    let alg = algorithm(&info.algorithm)?;
    if info.subject_public_key.unused_bits != 0 {
        return Err(Error::Malformed("public key BIT STRING has unused bits"));
    }
    let key = info.subject_public_key.data.to_vec();
    let expected = match alg {
        SignatureAlgorithm::MlDsa65Ed25519 => crate::composite::PUBLIC_KEY_LEN,
        SignatureAlgorithm::MlDsa65 => crate::primitives::MlDsaParams::MlDsa65.public_key_len(),
    };
    if key.len() != expected {
        return Err(Error::InvalidKey);
    }
    Ok((alg, key))
}

/// Refuses an object whose outer SEQUENCE, algorithm identifier or signature BIT
/// STRING is not encoded exactly as DER requires: a re-encoded wrapper keeps the
/// signature valid but would change the fingerprint.
pub(crate) fn require_canonical(
    input: &[u8],
    signed: &[u8],
    algorithm: SignatureAlgorithm,
    signature: &[u8],
) -> Result<(), Error> {
    let canonical = der::seq(&[
        signed,
        &der::seq(&[&der::oid(algorithm.oid())]),
        &der::bits(signature),
    ]);
    if canonical == input {
        Ok(())
    } else {
        Err(Error::Malformed("not in canonical DER"))
    }
}

/// The bytes of a signature BIT STRING, which must have no unused bits.
pub(crate) fn signature_bits(
    bits: &x509_parser::der_parser::asn1_rs::BitString<'_>,
) -> Result<Vec<u8>, Error> {
    if bits.unused_bits != 0 {
        return Err(Error::Malformed("signature BIT STRING has unused bits"));
    }
    Ok(bits.data.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::{Lineage, Role};

    fn builder(
        key: &CompositeSigningKey,
        claims: StaffClaims,
        ca: Option<u8>,
    ) -> CertificateBuilder {
        let at = OffsetDateTime::UNIX_EPOCH;
        CertificateBuilder {
            serial: [1; SERIAL_LEN],
            subject: crate::DistinguishedName::new("pqbank", "x").to_der(),
            subject_key: key.verifying_key().clone(),
            not_before: at,
            not_after: at + time::Duration::days(1),
            ca_path_len: ca,
            claims,
        }
    }

    /// Proves the parser refuses a TLS key hash on a CA or beside a staff claim, even in a
    /// correctly signed certificate: the server profile and staff never mix.
    #[test]
    fn tls_key_hash_never_beside_staff_claims() {
        let key = CompositeSigningKey::from_seed(&[1; 64]);
        let hash = TlsKeyHash::of_spki(b"spki");
        let refused = Err(Error::InvalidExtension(
            "TLS key hash on a CA or staff certificate",
        ));
        let role = StaffClaims {
            role: Some(Role::Teller),
            ..StaffClaims::default()
        };
        let signed =
            builder(&key, role, None).sign_with(Issuer::SelfSigned(&key), Some(&hash), &[0; 32]);
        assert_eq!(signed.map(|c| c.fingerprint()), refused.clone());
        let ca = builder(&key, StaffClaims::default(), Some(0));
        let signed = ca.sign_with(Issuer::SelfSigned(&key), Some(&hash), &[0; 32]);
        assert_eq!(signed.map(|c| c.fingerprint()), refused);
        let lineage = StaffClaims {
            lineage: Some(Lineage {
                issuer: Fingerprint::of(b"root"),
                replaces: None,
            }),
            ..StaffClaims::default()
        };
        let signed =
            builder(&key, lineage, None).sign_with(Issuer::SelfSigned(&key), Some(&hash), &[0; 32]);
        assert_eq!(
            signed.ok().and_then(|c| c.tls_key_hash().copied()),
            Some(hash)
        );
    }
}
