//! X.509 v2 certificate revocation lists (RFC 5280, Section 5) with the composite
//! algorithm: a CRL number (5.2.3), the authority key identifier (5.2.1) and a reason
//! code per entry (5.3.1).

use std::collections::HashMap;

use time::OffsetDateTime;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::cert::{
    OID_AKI, algorithm, algorithm_identifier, extension, require_canonical, signature_bits,
};
use crate::composite::{CompositeSigningKey, SignatureAlgorithm};
use crate::der::{self, Reader};
use crate::{Certificate, Error, Fingerprint};

/// id-ce-cRLNumber, 2.5.29.20.
const OID_CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
/// id-ce-cRLReasons, 2.5.29.21.
const OID_REASON: &[u8] = &[0x55, 0x1d, 0x15];
/// Largest CRL the parser accepts: room for several hundred thousand entries.
pub const DER_LEN_MAX: usize = 64 * 1024 * 1024;

/// CRLReason (RFC 5280, 5.3.1), serialised by its RFC 5280 name ([`Self::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RevocationReason {
    /// unspecified (0): written without a reason code extension, as RFC 5280 asks.
    #[serde(rename = "unspecified")]
    Unspecified,
    /// keyCompromise (1).
    #[serde(rename = "keyCompromise")]
    KeyCompromise,
    /// cACompromise (2).
    #[serde(rename = "cACompromise")]
    CaCompromise,
    /// affiliationChanged (3).
    #[serde(rename = "affiliationChanged")]
    AffiliationChanged,
    /// superseded (4).
    #[serde(rename = "superseded")]
    Superseded,
    /// cessationOfOperation (5).
    #[serde(rename = "cessationOfOperation")]
    CessationOfOperation,
    /// certificateHold (6).
    #[serde(rename = "certificateHold")]
    CertificateHold,
    /// removeFromCRL (8).
    #[serde(rename = "removeFromCRL")]
    RemoveFromCrl,
    /// privilegeWithdrawn (9).
    #[serde(rename = "privilegeWithdrawn")]
    PrivilegeWithdrawn,
    /// aACompromise (10).
    #[serde(rename = "aACompromise")]
    AaCompromise,
}

impl RevocationReason {
    /// Every reason.
    pub const ALL: &'static [Self] = &[
        Self::Unspecified,
        Self::KeyCompromise,
        Self::CaCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::CertificateHold,
        Self::RemoveFromCrl,
        Self::PrivilegeWithdrawn,
        Self::AaCompromise,
    ];

    /// The ENUMERATED value.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::CaCompromise => 2,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::CertificateHold => 6,
            Self::RemoveFromCrl => 8,
            Self::PrivilegeWithdrawn => 9,
            Self::AaCompromise => 10,
        }
    }

    /// The reason by its ENUMERATED value.
    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.code() == code)
    }

    /// RFC 5280's name, as `--reason` takes it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "keyCompromise",
            Self::CaCompromise => "cACompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
            Self::CertificateHold => "certificateHold",
            Self::RemoveFromCrl => "removeFromCRL",
            Self::PrivilegeWithdrawn => "privilegeWithdrawn",
            Self::AaCompromise => "aACompromise",
        }
    }

    /// Plain words for people who are not PKI engineers.
    #[must_use]
    pub const fn plain(self) -> &'static str {
        match self {
            Self::Unspecified => "no reason given",
            Self::KeyCompromise => "the device or its key may be in someone else's hands",
            Self::CaCompromise => "the issuing authority's key may be compromised",
            Self::AffiliationChanged => "the staff member moved to another role or branch",
            Self::Superseded => "replaced by a newer certificate",
            Self::CessationOfOperation => "the staff member or device is no longer in service",
            Self::CertificateHold => "temporarily suspended",
            Self::RemoveFromCrl => "suspension lifted",
            Self::PrivilegeWithdrawn => "the staff member's rights were withdrawn",
            Self::AaCompromise => "an attribute authority was compromised",
        }
    }
}

impl core::str::FromStr for RevocationReason {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or(Error::InvalidRequest("unknown revocation reason"))
    }
}

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The certificate's serial number INTEGER content octets.
    pub serial: Vec<u8>,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
    /// Why.
    pub reason: RevocationReason,
}

/// The fields of a new CRL.
#[derive(Debug, Clone)]
pub struct CrlBuilder {
    /// CRL number: strictly increasing per issuer.
    pub number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// Revoked certificates.
    pub entries: Vec<RevokedEntry>,
}

impl CrlBuilder {
    /// Signs the CRL with the issuing CA's key.
    pub fn sign(
        &self,
        issuer: &Certificate,
        key: &CompositeSigningKey,
        rnd: &[u8; 32],
    ) -> Result<Crl, Error> {
        if key.verifying_key().as_bytes() != issuer.public_key() {
            return Err(Error::InvalidRequest(
                "issuer key does not match issuer certificate",
            ));
        }
        let tbs = self.tbs(issuer)?;
        let signature = key.sign(&tbs, &[], rnd)?;
        Crl::assemble(&tbs, signature.as_bytes())
    }

    /// The to-be-signed bytes of the CRL `issuer` issues: what its key signs when it
    /// signs elsewhere (a manager's workstation), to be put together with
    /// [`Crl::assemble`]. The same bytes [`Self::sign`] signs.
    pub fn tbs(&self, issuer: &Certificate) -> Result<Vec<u8>, Error> {
        if self.this_update >= self.next_update {
            return Err(Error::InvalidRequest(
                "thisUpdate must be before nextUpdate",
            ));
        }
        let mut tbs_parts: Vec<Vec<u8>> = vec![
            der::uint64(1),
            algorithm_identifier(),
            issuer.subject_der().to_vec(),
            der::time(self.this_update),
            der::time(self.next_update),
        ];
        if !self.entries.is_empty() {
            let entries: Vec<Vec<u8>> = self.entries.iter().map(encode_entry).collect();
            let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
            tbs_parts.push(der::seq(&refs));
        }
        let aki = issuer.subject_key_id().map_or_else(
            || crate::cert::key_identifier(issuer.public_key()),
            <[u8]>::to_vec,
        );
        let exts = der::seq(&[
            &extension(
                OID_AKI,
                false,
                &der::seq(&[&der::implicit_primitive(0, &aki)]),
            ),
            &extension(OID_CRL_NUMBER, false, &der::uint64(self.number)),
        ]);
        tbs_parts.push(der::explicit(0, &exts));
        let refs: Vec<&[u8]> = tbs_parts.iter().map(Vec::as_slice).collect();
        Ok(der::seq(&refs))
    }
}

fn encode_entry(entry: &RevokedEntry) -> Vec<u8> {
    let serial = der::uint(&entry.serial);
    let date = der::time(entry.revoked_at);
    if entry.reason == RevocationReason::Unspecified {
        der::seq(&[&serial, &date])
    } else {
        let reason = extension(OID_REASON, false, &der::enumerated(entry.reason.code()));
        der::seq(&[&serial, &date, &der::seq(&[&reason])])
    }
}

/// A parsed CRL, owned; its signature is checked by [`Crl::verify_signed_by`].
#[derive(Debug, Clone)]
pub struct Crl {
    der: Vec<u8>,
    tbs: Vec<u8>,
    signature_algorithm: SignatureAlgorithm,
    signature: Vec<u8>,
    issuer: Vec<u8>,
    issuer_text: String,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    number: u64,
    authority_key_id: Option<Vec<u8>>,
    entries: HashMap<Vec<u8>, (OffsetDateTime, RevocationReason)>,
}

impl Crl {
    /// The CRL of `tbs` (as [`CrlBuilder::tbs`] makes it) and the issuer's composite
    /// signature over it, parsed as any CRL is. Whether the signature is the issuer's is
    /// [`Self::verify_signed_by`]'s to say.
    ///
    /// # Errors
    /// The bytes do not make a CRL pqbank accepts.
    pub fn assemble(tbs: &[u8], signature: &[u8]) -> Result<Self, Error> {
        Self::from_der(&der::seq(&[
            tbs,
            &algorithm_identifier(),
            &der::bits(signature),
        ]))
    }

    /// Parses a DER CRL. Version 2 with a CRL number is required; a serial listed twice
    /// and unknown critical extensions are refused.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        if der.len() > DER_LEN_MAX {
            return Err(Error::Malformed("CRL too large"));
        }
        let (rest, crl) = CertificateRevocationList::from_der(der)
            .map_err(|_| Error::Malformed("not an X.509 CRL"))?;
        if !rest.is_empty() {
            return Err(Error::Malformed("trailing bytes after CRL"));
        }
        let tbs = &crl.tbs_cert_list;
        let signature_algorithm = algorithm(&crl.signature_algorithm)?;
        if algorithm(&tbs.signature)? != signature_algorithm {
            return Err(Error::Malformed(
                "inner and outer signature algorithms differ",
            ));
        }
        let signature = signature_bits(&crl.signature_value)?;
        require_canonical(der, tbs.as_ref(), signature_algorithm, &signature)?;
        if tbs.extensions_map().is_err() {
            return Err(Error::Malformed("repeated CRL extension"));
        }
        let mut number = None;
        let mut authority_key_id = None;
        for ext in tbs.extensions() {
            match ext.oid.as_bytes() {
                OID_CRL_NUMBER => {
                    let mut r = Reader::new(ext.value);
                    number = Some(r.read_u64()?);
                    r.finish()?;
                }
                OID_AKI => {
                    if let x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) =
                        ext.parsed_extension()
                    {
                        authority_key_id = aki.key_identifier.as_ref().map(|k| k.0.to_vec());
                    }
                }
                _ if ext.critical => {
                    return Err(Error::Malformed("unknown critical CRL extension"));
                }
                _ => {}
            }
        }
        let number = number.ok_or(Error::Malformed("CRL has no CRL number"))?;
        let mut entries = HashMap::with_capacity(tbs.revoked_certificates.len());
        for entry in crl.iter_revoked_certificates() {
            let reason = match entry.reason_code() {
                Some((_, code)) => RevocationReason::from_code(code.0)
                    .ok_or(Error::Malformed("unknown CRL reason code"))?,
                None => RevocationReason::Unspecified,
            };
            let previous = entries.insert(
                entry.raw_serial().to_vec(),
                (entry.revocation_date.to_datetime(), reason),
            );
            if previous.is_some() {
                return Err(Error::Malformed("serial listed twice in CRL"));
            }
        }
        Ok(Self {
            der: der.to_vec(),
            tbs: tbs.as_ref().to_vec(),
            signature_algorithm,
            signature,
            issuer: tbs.issuer.as_raw().to_vec(),
            issuer_text: tbs.issuer.to_string(),
            this_update: tbs.this_update.to_datetime(),
            next_update: tbs.next_update.map(|t| t.to_datetime()),
            number,
            authority_key_id,
            entries,
        })
    }

    /// Reads PEM (`X509 CRL`) or DER.
    pub fn from_pem_or_der(input: &[u8]) -> Result<Self, Error> {
        Self::from_der(&crate::pem::decode("X509 CRL", input)?)
    }

    /// PEM encoding.
    #[must_use]
    pub fn to_pem(&self) -> String {
        crate::pem::encode("X509 CRL", &self.der)
    }

    /// The DER encoding.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA3-256 of the DER.
    #[must_use]
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.der)
    }

    /// DER of the issuer Name.
    #[must_use]
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer
    }

    /// The issuer as text.
    #[must_use]
    pub fn issuer_text(&self) -> &str {
        &self.issuer_text
    }

    /// thisUpdate.
    #[must_use]
    pub fn this_update(&self) -> OffsetDateTime {
        self.this_update
    }

    /// nextUpdate, if present.
    #[must_use]
    pub fn next_update(&self) -> Option<OffsetDateTime> {
        self.next_update
    }

    /// The CRL number.
    #[must_use]
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The authority key identifier.
    #[must_use]
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }

    /// Revocation time and reason of `serial`, if listed.
    #[must_use]
    pub fn lookup(&self, serial: &[u8]) -> Option<(OffsetDateTime, RevocationReason)> {
        self.entries.get(serial).copied()
    }

    /// Every entry, sorted by serial.
    #[must_use]
    pub fn entries(&self) -> Vec<RevokedEntry> {
        let mut out: Vec<RevokedEntry> = self
            .entries
            .iter()
            .map(|(serial, (at, reason))| RevokedEntry {
                serial: serial.clone(),
                revoked_at: *at,
                reason: *reason,
            })
            .collect();
        out.sort_by(|a, b| a.serial.cmp(&b.serial));
        out
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if nothing is revoked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Verifies the CRL's signature with the issuer's key.
    pub fn verify_signed_by(&self, issuer: &Certificate) -> Result<(), Error> {
        if self.signature_algorithm != issuer.key_algorithm() || self.issuer != issuer.subject_der()
        {
            return Err(Error::BadSignature);
        }
        issuer
            .key_algorithm()
            .verify(issuer.public_key(), &self.tbs, &self.signature)
    }
}
