//! The seven security layers as X.509 extensions.
//!
//! All of pqbank's extensions live under one private arc,
//! `2.25.112804104970299416846696486134077762436` (the UUID
//! 54dd47c5-c094-4e2a-a467-fb93f028ab84 under ITU-T X.667's 2.25, which needs no
//! registration). Each is non-critical, so any conforming X.509 implementation can parse
//! and verify a pqbank certificate; pqbank's own verifier enforces them. Their shapes:
//!
//! ```asn1
//! id-pqbank OBJECT IDENTIFIER ::= { 2 25 112804104970299416846696486134077762436 }
//!
//! -- { id-pqbank 1 }: the controls the certificate takes part in.
//! SecurityLayers ::= SEQUENCE SIZE (1..7) OF UTF8String
//!     -- "hybrid-signature", "sha3-fingerprint", "device-binding", "purpose-locking",
//!     -- "crl-pinning", "lineage-tracking", "nonce-challenge"
//! -- { id-pqbank 2 }
//! Role ::= ENUMERATED { root(0), manager(1), teller(2), auditor(3) }
//! -- { id-pqbank 3 }: purpose locking, the actions the key may authorise.
//! AllowedActions ::= SEQUENCE SIZE (1..32) OF UTF8String   -- e.g. "transfer.post"
//! -- { id-pqbank 4 }: SHA3-256("pqbank/device-id/v1" || device identifier).
//! DeviceIdHash ::= OCTET STRING (SIZE (32))
//! -- { id-pqbank 5 }: SHA3-256 fingerprints of DER certificates.
//! Lineage ::= SEQUENCE {
//!     issuer      OCTET STRING (SIZE (32)),
//!     replaces    [0] IMPLICIT OCTET STRING (SIZE (32)) OPTIONAL }
//! -- { id-pqbank 6 }
//! DefenceVersion ::= INTEGER (0..4294967295)
//! -- { id-pqbank 7 }
//! StaffId ::= UTF8String (SIZE (1..64))
//! -- { id-pqbank 8 } and { id-pqbank 9 }: the server profile's TLS key hash and the
//! -- vouching bundle of the TLS certificate, in `crate::server`.
//! ```

use core::fmt;
use core::str::FromStr;

use sha3::{Digest, Sha3_256};

use crate::der::{self, Reader, tag};
use crate::{Error, Fingerprint};

/// Content octets of the pqbank arc, 2.25.112804104970299416846696486134077762436.
const ARC: ([u8; 64], usize) =
    der::oid_content([2, 25, 112_804_104_970_299_416_846_696_486_134_077_762_436]);

/// The defence version this build writes: bumped whenever a layer's rules tighten.
pub const DEFENCE_VERSION: u32 = 1;
/// Most actions a certificate may list.
pub const ACTIONS_MAX: usize = 32;
/// Longest staff identifier.
pub const STAFF_ID_LEN_MAX: usize = 64;
/// Domain label of device identifier hashes.
pub const DEVICE_ID_LABEL: &[u8] = b"pqbank/device-id/v1";

/// An extension as (OID content octets, DER value).
pub(crate) type RawExtension = (Vec<u8>, Vec<u8>);

/// The numbered extensions under the pqbank arc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    SecurityLayers = 1,
    Role = 2,
    AllowedActions = 3,
    DeviceIdHash = 4,
    Lineage = 5,
    DefenceVersion = 6,
    StaffId = 7,
}

const FIELDS: [Field; 7] = [
    Field::SecurityLayers,
    Field::Role,
    Field::AllowedActions,
    Field::DeviceIdHash,
    Field::Lineage,
    Field::DefenceVersion,
    Field::StaffId,
];

/// Arc number of the server profile's TLS key hash (`crate::server`).
pub const TLS_KEY_HASH_NUMBER: u8 = 8;
/// Arc number of the vouching bundle in a TLS certificate (`crate::server`).
pub const VOUCHING_BUNDLE_NUMBER: u8 = 9;

/// Content octets of the OID `{ id-pqbank n }`.
fn field_oid(field: Field) -> Vec<u8> {
    arc_oid(field as u8)
}

/// Content octets of `{ id-pqbank number }` for any number below 128.
#[must_use]
pub fn arc_oid(number: u8) -> Vec<u8> {
    let (arc, len) = ARC;
    let mut oid = arc[..len].to_vec();
    oid.push(number & 0x7f);
    oid
}

/// SHA3-256 of a device identifier under pqbank's domain label.
#[must_use]
pub fn device_id_hash(device_id: &[u8]) -> [u8; 32] {
    let mut h = Sha3_256::new();
    h.update(DEVICE_ID_LABEL);
    h.update(device_id);
    h.finalize().into()
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The stable text form.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ }
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(Error::InvalidExtension(concat!("unknown ", stringify!($name)))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// The seven security layers of DESIGN.md.
    Layer {
        /// 1. Composite ML-DSA-65 + Ed25519 on the certificate and every act.
        HybridSignature => "hybrid-signature",
        /// 2. The SHA3-256 fingerprint of the DER is recorded and pinned.
        Sha3Fingerprint => "sha3-fingerprint",
        /// 3. The key was made on the device and the certificate names the device.
        DeviceBinding => "device-binding",
        /// 4. The certificate lists the actions it may authorise.
        PurposeLocking => "purpose-locking",
        /// 5. Sessions pin the highest CRL number seen; older CRLs are refused.
        CrlPinning => "crl-pinning",
        /// 6. Issuer and replaced-certificate fingerprints, walkable to the root.
        LineageTracking => "lineage-tracking",
        /// 7. Login signs a fresh single-use server nonce.
        NonceChallenge => "nonce-challenge",
    }
}

string_enum! {
    /// What a certificate may authorise (purpose locking).
    Action {
        /// Post a deposit, withdrawal or transfer.
        TransferPost => "transfer.post",
        /// Approve or void a pending transfer made by someone else.
        TransferApprove => "transfer.approve",
        /// Open and close a cash drawer.
        DrawerOperate => "drawer.operate",
        /// Sign off a cash drawer variance.
        VarianceApprove => "variance.approve",
        /// Read customer and account data.
        CustomerRead => "customer.read",
        /// Approve a device enrolment.
        DeviceEnrol => "device.enrol",
        /// Issue or renew a certificate.
        CertIssue => "cert.issue",
        /// Revoke a certificate and sign a CRL.
        CertRevoke => "cert.revoke",
        /// Browse the accountability log.
        AuditRead => "audit.read",
        /// Verify the whole accountability log.
        AuditVerify => "audit.verify",
        /// Produce a signed accountability report.
        AuditReport => "audit.report",
        /// Add or change a staff member's record (number, name, role).
        StaffAdmin => "staff.admin",
        /// Add or change a customer's or an account's record.
        CustomerWrite => "customer.write",
        /// Sign a version of the bank's four-eyes policy (the root's, offline).
        PolicySet => "policy.set",
    }
}

/// A staff role, and the root CA. Serialised as [`Role::as_str`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Role {
    /// The bank's root CA (offline); issues manager certificates.
    Root,
    /// Branch manager: a teller's rights plus approvals, enrolment, issuing and revoking.
    Manager,
    /// Teller: posts transactions and runs the cash drawer.
    Teller,
    /// Auditor: reads, verifies and reports; never posts.
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: &'static [Self] = &[Self::Root, Self::Manager, Self::Teller, Self::Auditor];

    /// The stable text form.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Manager => "manager",
            Self::Teller => "teller",
            Self::Auditor => "auditor",
        }
    }

    const fn code(self) -> u8 {
        match self {
            Self::Root => 0,
            Self::Manager => 1,
            Self::Teller => 2,
            Self::Auditor => 3,
        }
    }

    fn from_code(code: u8) -> Result<Self, Error> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.code() == code)
            .ok_or(Error::InvalidExtension("unknown role"))
    }

    /// The role matrix: the actions this role may ever authorise.
    #[must_use]
    pub fn actions(self) -> &'static [Action] {
        use Action::*;
        match self {
            Self::Root => &[CertIssue, CertRevoke, StaffAdmin, PolicySet],
            Self::Manager => &[
                TransferPost,
                TransferApprove,
                DrawerOperate,
                VarianceApprove,
                CustomerRead,
                DeviceEnrol,
                CertIssue,
                CertRevoke,
                StaffAdmin,
                CustomerWrite,
            ],
            Self::Teller => &[TransferPost, DrawerOperate, CustomerRead, CustomerWrite],
            Self::Auditor => &[CustomerRead, AuditRead, AuditVerify, AuditReport],
        }
    }

    /// True if the role matrix allows `action`.
    #[must_use]
    pub fn permits(self, action: Action) -> bool {
        self.actions().contains(&action)
    }

    /// True for roles whose certificates may issue others.
    #[must_use]
    pub const fn is_ca(self) -> bool {
        matches!(self, Self::Root | Self::Manager)
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or(Error::InvalidExtension("unknown role"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lineage (layer 6): who issued the certificate, and which certificate it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lineage {
    /// Fingerprint of the issuing certificate.
    pub issuer: Fingerprint,
    /// Fingerprint of the certificate this one renews, if any.
    pub replaces: Option<Fingerprint>,
}

/// pqbank's claims in a certificate; every field is optional when parsing, since a
/// certificate from another implementation carries none of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffClaims {
    /// The security layers the certificate takes part in.
    pub layers: Vec<Layer>,
    /// Role.
    pub role: Option<Role>,
    /// Allowed actions (purpose locking).
    pub actions: Vec<Action>,
    /// Device identifier hash (device binding).
    pub device_id_hash: Option<[u8; 32]>,
    /// Lineage.
    pub lineage: Option<Lineage>,
    /// Defence version.
    pub defence_version: Option<u32>,
    /// Staff identifier.
    pub staff_id: Option<String>,
}

impl StaffClaims {
    /// True if no pqbank extension was present.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// True for a complete staff certificate: all seven layers, a staff role, actions,
    /// device binding, lineage, defence version and staff identifier.
    #[must_use]
    pub fn is_staff(&self) -> bool {
        Layer::ALL.iter().all(|l| self.layers.contains(l))
            && matches!(
                self.role,
                Some(Role::Manager | Role::Teller | Role::Auditor)
            )
            && !self.actions.is_empty()
            && self.device_id_hash.is_some()
            && self.lineage.is_some()
            && self.defence_version.is_some()
            && self.staff_id.is_some()
    }

    /// True if nothing here confers a staff right: no role, actions, device binding or
    /// staff identifier. Only such claims may sit beside a TLS key hash
    /// ([`crate::server`]); layers, lineage and the defence version may.
    #[must_use]
    pub fn is_server_compatible(&self) -> bool {
        self.role.is_none()
            && self.actions.is_empty()
            && self.device_id_hash.is_none()
            && self.staff_id.is_none()
    }

    /// The extensions to write, as (OID content octets, DER value); all non-critical.
    pub(crate) fn to_extensions(&self) -> Result<Vec<RawExtension>, Error> {
        let mut out = Vec::new();
        if !self.layers.is_empty() {
            let parts: Vec<Vec<u8>> = self.layers.iter().map(|l| der::utf8(l.as_str())).collect();
            out.push((field_oid(Field::SecurityLayers), seq_of(&parts)));
        }
        if let Some(role) = self.role {
            out.push((field_oid(Field::Role), der::enumerated(role.code())));
        }
        if self.actions.len() > ACTIONS_MAX {
            return Err(Error::InvalidRequest("too many actions"));
        }
        if !self.actions.is_empty() {
            let parts: Vec<Vec<u8>> = self.actions.iter().map(|a| der::utf8(a.as_str())).collect();
            out.push((field_oid(Field::AllowedActions), seq_of(&parts)));
        }
        if let Some(hash) = &self.device_id_hash {
            out.push((field_oid(Field::DeviceIdHash), der::octets(hash)));
        }
        if let Some(lineage) = &self.lineage {
            out.push((field_oid(Field::Lineage), encode_lineage(lineage)));
        }
        if let Some(version) = self.defence_version {
            out.push((
                field_oid(Field::DefenceVersion),
                der::uint64(u64::from(version)),
            ));
        }
        if let Some(id) = &self.staff_id {
            if id.is_empty() || id.chars().count() > STAFF_ID_LEN_MAX {
                return Err(Error::InvalidRequest(
                    "staff identifier must be 1 to 64 characters",
                ));
            }
            out.push((field_oid(Field::StaffId), der::utf8(id)));
        }
        Ok(out)
    }

    /// Takes one extension (OID content octets and the extnValue's contents); returns
    /// false if its OID is not under the pqbank arc. A repeated, unknown or malformed
    /// pqbank extension is an error.
    pub fn absorb(&mut self, oid: &[u8], value: &[u8]) -> Result<bool, Error> {
        let Some(field) = FIELDS.iter().copied().find(|f| field_oid(*f) == oid) else {
            let (arc, len) = ARC;
            if oid.starts_with(&arc[..len]) {
                return Err(Error::InvalidExtension(
                    "unknown extension under the pqbank arc",
                ));
            }
            return Ok(false);
        };
        let mut r = Reader::new(value);
        let duplicate = Error::InvalidExtension("repeated pqbank extension");
        match field {
            Field::SecurityLayers => {
                if !self.layers.is_empty() {
                    return Err(duplicate);
                }
                self.layers = read_string_list(&mut r, Layer::ALL.len())?;
            }
            Field::Role => {
                if self.role.is_some() {
                    return Err(duplicate);
                }
                self.role = Some(Role::from_code(r.read_enumerated()?)?);
            }
            Field::AllowedActions => {
                if !self.actions.is_empty() {
                    return Err(duplicate);
                }
                self.actions = read_string_list(&mut r, ACTIONS_MAX)?;
            }
            Field::DeviceIdHash => {
                if self.device_id_hash.is_some() {
                    return Err(duplicate);
                }
                self.device_id_hash = Some(read_hash(&mut r)?);
            }
            Field::Lineage => {
                if self.lineage.is_some() {
                    return Err(duplicate);
                }
                self.lineage = Some(decode_lineage(&mut r)?);
            }
            Field::DefenceVersion => {
                if self.defence_version.is_some() {
                    return Err(duplicate);
                }
                let v = u32::try_from(r.read_u64()?)
                    .map_err(|_| Error::InvalidExtension("defence version out of range"))?;
                self.defence_version = Some(v);
            }
            Field::StaffId => {
                if self.staff_id.is_some() {
                    return Err(duplicate);
                }
                let id = r.read_utf8()?;
                if id.is_empty() || id.chars().count() > STAFF_ID_LEN_MAX {
                    return Err(Error::InvalidExtension("staff identifier length"));
                }
                self.staff_id = Some(id.to_owned());
            }
        }
        r.finish()?;
        Ok(true)
    }
}

/// The OID content octets of the device identifier hash extension, for CSR requests.
pub(crate) fn device_id_hash_oid() -> Vec<u8> {
    field_oid(Field::DeviceIdHash)
}

fn seq_of(parts: &[Vec<u8>]) -> Vec<u8> {
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    der::seq(&refs)
}

fn encode_lineage(lineage: &Lineage) -> Vec<u8> {
    let issuer = der::octets(lineage.issuer.as_bytes());
    match &lineage.replaces {
        Some(old) => der::seq(&[&issuer, &der::implicit_primitive(0, old.as_bytes())]),
        None => der::seq(&[&issuer]),
    }
}

fn decode_lineage(r: &mut Reader<'_>) -> Result<Lineage, Error> {
    let mut inner = r.nested(tag::SEQUENCE)?;
    let issuer = Fingerprint::from_bytes(read_hash(&mut inner)?);
    let replaces = if inner.peek_tag() == Some(0x80) {
        let bytes: [u8; 32] = inner
            .read(0x80)?
            .try_into()
            .map_err(|_| Error::InvalidExtension("replaced fingerprint length"))?;
        Some(Fingerprint::from_bytes(bytes))
    } else {
        None
    };
    inner.finish()?;
    Ok(Lineage { issuer, replaces })
}

pub(crate) fn read_hash(r: &mut Reader<'_>) -> Result<[u8; 32], Error> {
    r.read(tag::OCTET_STRING)?
        .try_into()
        .map_err(|_| Error::InvalidExtension("hash is not 32 bytes"))
}

fn read_string_list<T: FromStr<Err = Error> + PartialEq>(
    r: &mut Reader<'_>,
    max: usize,
) -> Result<Vec<T>, Error> {
    let mut inner = r.nested(tag::SEQUENCE)?;
    let mut out = Vec::new();
    while !inner.is_empty() {
        if out.len() >= max {
            return Err(Error::InvalidExtension("list too long"));
        }
        let item: T = inner.read_utf8()?.parse()?;
        if out.contains(&item) {
            return Err(Error::InvalidExtension("repeated list item"));
        }
        out.push(item);
    }
    if out.is_empty() {
        return Err(Error::InvalidExtension("empty list"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_claims() -> StaffClaims {
        StaffClaims {
            layers: Layer::ALL.to_vec(),
            role: Some(Role::Teller),
            actions: Role::Teller.actions().to_vec(),
            device_id_hash: Some(device_id_hash(b"device-1")),
            lineage: Some(Lineage {
                issuer: Fingerprint::of(b"issuer"),
                replaces: Some(Fingerprint::of(b"old")),
            }),
            defence_version: Some(DEFENCE_VERSION),
            staff_id: Some("T-0001".into()),
        }
    }

    /// Proves every extension round-trips through its DER shape and a full set is staff.
    #[test]
    fn claims_round_trip() {
        let claims = full_claims();
        let mut back = StaffClaims::default();
        for (oid, value) in claims.to_extensions().unwrap_or_default() {
            assert_eq!(back.absorb(&oid, &value), Ok(true));
        }
        assert_eq!(back, claims);
        assert!(back.is_staff());
    }

    /// Proves a repeated extension, an unknown arc member and foreign OIDs are told apart.
    #[test]
    fn absorb_rejects_repeats_and_unknown_arc_members() {
        let claims = full_claims();
        let exts = claims.to_extensions().unwrap_or_default();
        let mut back = StaffClaims::default();
        let (oid, value) = &exts[0];
        assert_eq!(back.absorb(oid, value), Ok(true));
        assert!(back.absorb(oid, value).is_err());
        let mut unknown = field_oid(Field::StaffId);
        if let Some(last) = unknown.last_mut() {
            *last = 99;
        }
        assert!(back.absorb(&unknown, &der::utf8("x")).is_err());
        assert_eq!(back.absorb(&[0x55, 0x1d, 0x0f], &[]), Ok(false));
    }

    /// Proves the role matrix: tellers cannot approve or issue, auditors cannot post.
    #[test]
    fn role_matrix() {
        assert!(Role::Teller.permits(Action::TransferPost));
        assert!(!Role::Teller.permits(Action::TransferApprove));
        assert!(!Role::Teller.permits(Action::CertIssue));
        assert!(!Role::Auditor.permits(Action::TransferPost));
        assert!(Role::Auditor.permits(Action::AuditReport));
        assert!(Role::Manager.permits(Action::CertRevoke));
        assert!(!Role::Manager.permits(Action::AuditReport));
    }
}
