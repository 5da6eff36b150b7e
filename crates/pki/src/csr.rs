//! PKCS#10 certification requests (RFC 2986) with the composite algorithm.
//!
//! A device's request carries its subject name, its composite public key, the proof of
//! possession (the request's own signature) and, in an extensionRequest attribute
//! (PKCS#9, 1.2.840.113549.1.9.14), the device identifier hash of layer 3.

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use crate::cert::{
    algorithm, algorithm_identifier, extension, require_canonical, signature_bits, spki,
    subject_public_key_info,
};
use crate::composite::{CompositeSigningKey, CompositeVerifyingKey, SignatureAlgorithm};
use crate::der::{self, Reader, tag};
use crate::ext::device_id_hash_oid;
use crate::{Error, Fingerprint};

/// pkcs-9-at-extensionRequest, 1.2.840.113549.1.9.14.
const OID_EXTENSION_REQUEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e];
/// Largest request the parser accepts.
pub const DER_LEN_MAX: usize = 16 * 1024;
/// Most extensions an extensionRequest may carry.
const REQUESTED_EXTENSIONS_MAX: usize = 16;

/// The fields of a new request.
#[derive(Debug, Clone)]
pub struct CsrBuilder {
    /// DER of the subject Name.
    pub subject: Vec<u8>,
    /// Device identifier hash to request (layer 3).
    pub device_id_hash: Option<[u8; 32]>,
}

impl CsrBuilder {
    /// Signs the request with the subject's own key (proof of possession).
    pub fn sign(
        &self,
        key: &CompositeSigningKey,
        rnd: &[u8; 32],
    ) -> Result<CertificateRequest, Error> {
        let attributes = match &self.device_id_hash {
            Some(hash) => {
                let ext = extension(&device_id_hash_oid(), false, &der::octets(hash));
                let exts = der::seq(&[&ext]);
                der::seq(&[&der::oid(OID_EXTENSION_REQUEST), &der::set_of(&[&exts])])
            }
            None => Vec::new(),
        };
        let info = der::seq(&[
            &der::uint64(0),
            &self.subject,
            &subject_public_key_info(key.verifying_key()),
            &der::explicit(0, &attributes),
        ]);
        let signature = key.sign(&info, &[], rnd)?;
        let csr = der::seq(&[
            &info,
            &algorithm_identifier(),
            &der::bits(signature.as_bytes()),
        ]);
        CertificateRequest::from_der(&csr)
    }
}

/// A parsed request whose proof of possession has been verified.
#[derive(Debug, Clone)]
pub struct CertificateRequest {
    der: Vec<u8>,
    subject: Vec<u8>,
    subject_text: String,
    public_key: CompositeVerifyingKey,
    device_id_hash: Option<[u8; 32]>,
}

impl CertificateRequest {
    /// Parses a DER request and verifies its signature with the key it carries. Only
    /// composite keys are accepted: pqbank issues nothing else.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        if der.len() > DER_LEN_MAX {
            return Err(Error::Malformed("request too large"));
        }
        let (rest, csr) = X509CertificationRequest::from_der(der)
            .map_err(|_| Error::Malformed("not a PKCS#10 request"))?;
        if !rest.is_empty() {
            return Err(Error::Malformed("trailing bytes after request"));
        }
        let info = &csr.certification_request_info;
        let (key_alg, key) = spki(&info.subject_pki)?;
        if key_alg != SignatureAlgorithm::MlDsa65Ed25519
            || algorithm(&csr.signature_algorithm)? != SignatureAlgorithm::MlDsa65Ed25519
        {
            return Err(Error::UnsupportedAlgorithm);
        }
        let public_key = CompositeVerifyingKey::from_bytes(&key)?;
        let signature = signature_bits(&csr.signature_value)?;
        require_canonical(
            der,
            info.raw,
            SignatureAlgorithm::MlDsa65Ed25519,
            &signature,
        )?;
        public_key.verify(info.raw, &[], &signature)?;
        let mut device_id_hash = None;
        for attr in info.attributes() {
            if attr.oid.as_bytes() == OID_EXTENSION_REQUEST {
                if device_id_hash.is_some() {
                    return Err(Error::Malformed("repeated extensionRequest"));
                }
                device_id_hash = requested_device_hash(attr.value)?;
            }
        }
        Ok(Self {
            der: der.to_vec(),
            subject: info.subject.as_raw().to_vec(),
            subject_text: info.subject.to_string(),
            public_key,
            device_id_hash,
        })
    }

    /// Reads PEM (`CERTIFICATE REQUEST`) or DER.
    pub fn from_pem_or_der(input: &[u8]) -> Result<Self, Error> {
        Self::from_der(&crate::pem::decode("CERTIFICATE REQUEST", input)?)
    }

    /// PEM encoding.
    #[must_use]
    pub fn to_pem(&self) -> String {
        crate::pem::encode("CERTIFICATE REQUEST", &self.der)
    }

    /// The DER encoding.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA3-256 of the DER: the enrolment code is derived from it.
    #[must_use]
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.der)
    }

    /// DER of the subject Name.
    #[must_use]
    pub fn subject_der(&self) -> &[u8] {
        &self.subject
    }

    /// The subject as text.
    #[must_use]
    pub fn subject_text(&self) -> &str {
        &self.subject_text
    }

    /// The requested composite key.
    #[must_use]
    pub fn public_key(&self) -> &CompositeVerifyingKey {
        &self.public_key
    }

    /// The requested device identifier hash.
    #[must_use]
    pub fn device_id_hash(&self) -> Option<[u8; 32]> {
        self.device_id_hash
    }
}

/// The device identifier hash inside an extensionRequest's `SET OF Extensions`.
fn requested_device_hash(value: &[u8]) -> Result<Option<[u8; 32]>, Error> {
    let wanted = device_id_hash_oid();
    let mut values = Reader::new(value);
    let mut set = values.nested(tag::SET)?;
    values.finish()?;
    let mut exts = set.nested(tag::SEQUENCE)?;
    set.finish()?;
    let mut found = None;
    let mut count = 0;
    while !exts.is_empty() {
        count += 1;
        if count > REQUESTED_EXTENSIONS_MAX {
            return Err(Error::Malformed("too many requested extensions"));
        }
        let mut ext = exts.nested(tag::SEQUENCE)?;
        let oid = ext.read(tag::OID)?;
        if ext.peek_tag() == Some(tag::BOOLEAN) {
            ext.read_bool()?;
        }
        let inner = ext.read(tag::OCTET_STRING)?;
        ext.finish()?;
        if oid == wanted.as_slice() {
            if found.is_some() {
                return Err(Error::Malformed("repeated device identifier request"));
            }
            let mut r = Reader::new(inner);
            let hash: [u8; 32] = r
                .read(tag::OCTET_STRING)?
                .try_into()
                .map_err(|_| Error::Malformed("device identifier hash length"))?;
            r.finish()?;
            found = Some(hash);
        }
    }
    Ok(found)
}
