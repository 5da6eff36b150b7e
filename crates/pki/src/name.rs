//! Distinguished names (RFC 5280, Section 4.1.2.4), the subset pqbank writes: a common
//! name, an organisation and an optional organisational unit, each a UTF8String.

use crate::der;

/// id-at-commonName, 2.5.4.3.
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
/// id-at-organizationName, 2.5.4.10.
const OID_O: &[u8] = &[0x55, 0x04, 0x0a];
/// id-at-organizationalUnitName, 2.5.4.11.
const OID_OU: &[u8] = &[0x55, 0x04, 0x0b];

/// Longest attribute value accepted (RFC 5280 upper bounds: ub-common-name is 64).
pub const ATTRIBUTE_LEN_MAX: usize = 64;

/// A name as pqbank writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistinguishedName {
    /// Organisation (O), the bank.
    pub organization: String,
    /// Organisational unit (OU), for example the branch; optional.
    pub organizational_unit: Option<String>,
    /// Common name (CN): the person, device or CA.
    pub common_name: String,
}

impl DistinguishedName {
    /// A name with organisation and common name.
    #[must_use]
    pub fn new(organization: &str, common_name: &str) -> Self {
        Self {
            organization: organization.to_owned(),
            organizational_unit: None,
            common_name: common_name.to_owned(),
        }
    }

    /// True if every attribute is non-empty and within the RFC 5280 bound.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        let ok = |s: &str| !s.is_empty() && s.chars().count() <= ATTRIBUTE_LEN_MAX;
        ok(&self.organization)
            && ok(&self.common_name)
            && self.organizational_unit.as_deref().is_none_or(ok)
    }

    /// DER encoding: an RDNSequence with one attribute per RDN, O then OU then CN.
    #[must_use]
    pub fn to_der(&self) -> Vec<u8> {
        let rdn = |oid: &[u8], value: &str| {
            der::set_of(&[&der::seq(&[&der::oid(oid), &der::utf8(value)])])
        };
        let mut rdns = vec![rdn(OID_O, &self.organization)];
        if let Some(ou) = &self.organizational_unit {
            rdns.push(rdn(OID_OU, ou));
        }
        rdns.push(rdn(OID_CN, &self.common_name));
        let parts: Vec<&[u8]> = rdns.iter().map(Vec::as_slice).collect();
        der::seq(&parts)
    }
}
