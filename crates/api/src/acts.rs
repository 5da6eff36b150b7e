//! The bytes of the acts a manager's and an auditor's workstation sign, built the same
//! way by the workstation and by the service (which rebuilds them from its own reads and
//! checks the signatures over its rebuild): a checkpoint, a revocation row, the next CRL,
//! a renewed certificate.

use pqbank_pki::crl::{CrlBuilder, RevokedEntry};
use pqbank_pki::{Certificate, CertificateBuilder, Fingerprint, RevocationReason};
use time::OffsetDateTime;

/// Domain label of a checkpoint's signed bytes.
pub const CHECKPOINT_LABEL: &[u8] = b"pqbank/checkpoint/v1";

/// Domain label of a revocation row's signed bytes.
pub const REVOCATION_LABEL: &[u8] = b"pqbank/revocation/v1";

/// How long a renewed certificate is valid, from its making.
pub const RENEWAL_VALID_SECS: i64 = 365 * 86_400;

/// How far before its making a renewed certificate's validity starts (clock skew between
/// the bank's machines).
pub const RENEWAL_BACKDATE_SECS: i64 = 300;

/// The bytes a checkpoint's signer signs: the log's size, its tree's root, the time.
#[must_use]
pub fn checkpoint_bytes(tree_size: u64, root: &[u8; 32], created_at: i64) -> Vec<u8> {
    [
        CHECKPOINT_LABEL,
        &tree_size.to_be_bytes(),
        root,
        &created_at.to_be_bytes(),
    ]
    .concat()
}

/// The highest log size an installation has seen and the root of its first `size`
/// events: a log shorter, or with another root at that size, is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPin {
    /// Events.
    pub size: u64,
    /// RFC 9162 root of the first `size` events.
    pub root: [u8; 32],
}

/// The bytes a manager signs for a revocation row: the revoked certificate, the reason,
/// the number of the CRL that lists it and the time, each from the row's own columns.
#[must_use]
pub fn revocation_bytes(
    target: &Fingerprint,
    reason: &str,
    crl_number: i64,
    revoked_at: i64,
) -> Vec<u8> {
    [
        REVOCATION_LABEL,
        target.as_bytes(),
        reason.as_bytes(),
        &crl_number.to_be_bytes(),
        &revoked_at.to_be_bytes(),
    ]
    .concat()
}

/// A UNIX time as a certificate's or CRL's time (the epoch for one out of range).
#[must_use]
pub fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A manager's next CRL: after `latest` (its entries kept, its number plus one; the first
/// is number 1), listing `serial` as revoked at `now` for `reason`, valid for `days`.
#[must_use]
pub fn next_crl(
    latest: Option<&pqbank_pki::Crl>,
    serial: &[u8],
    reason: RevocationReason,
    now: i64,
    days: i64,
) -> CrlBuilder {
    let (mut entries, number) = latest.map_or((Vec::new(), 1), |crl| {
        (crl.entries(), crl.number().saturating_add(1))
    });
    entries.push(RevokedEntry {
        serial: serial.to_vec(),
        revoked_at: at(now),
        reason,
    });
    CrlBuilder {
        number,
        this_update: at(now),
        next_update: at(now.saturating_add(days.saturating_mul(86_400))),
        entries,
    }
}

/// The renewal of `previous` by `issuer`, with serial `serial`, made at `now`: the same
/// subject, key, device, role and purpose, a lineage naming the issuer and the
/// certificate it replaces, this version of the defences.
///
/// # Errors
/// The previous certificate's key is not a composite key.
pub fn renewal(
    previous: &Certificate,
    issuer: &Certificate,
    serial: [u8; pqbank_pki::cert::SERIAL_LEN],
    now: i64,
) -> Result<CertificateBuilder, pqbank_pki::Error> {
    let mut claims = previous.claims().clone();
    claims.lineage = Some(pqbank_pki::Lineage {
        issuer: issuer.fingerprint(),
        replaces: Some(previous.fingerprint()),
    });
    claims.defence_version = Some(pqbank_pki::ext::DEFENCE_VERSION);
    Ok(CertificateBuilder {
        serial,
        subject: previous.subject_der().to_vec(),
        subject_key: pqbank_pki::CompositeVerifyingKey::from_bytes(previous.public_key())?,
        not_before: at(now.saturating_sub(RENEWAL_BACKDATE_SECS)),
        not_after: at(now.saturating_add(RENEWAL_VALID_SECS)),
        ca_path_len: None,
        claims,
    })
}

/// Purpose label of certificate delivery bundles.
pub const DELIVERY_PURPOSE: &str = "pqbank/certificate-delivery/v1";

/// Domain label of the bytes a device signs to read its own enrolment request.
pub const ENROLMENT_STATUS_LABEL: &[u8] = b"pqbank/enrolment-status/v1";

/// Days a staff certificate is valid.
pub const STAFF_CERT_DAYS: i64 = 365;

/// Symbols of the short code: no 0, 1, O, I or L, so it reads aloud without doubt.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Symbols in a short code (three groups of four: about 59 bits).
const CODE_LEN: usize = 12;

/// The short code of an enrolment request: SHA3-256 of the CSR and the recipient key,
/// read out in an unambiguous alphabet, grouped by four. The device shows it; the
/// manager types it; the service recomputes it from the stored request.
#[must_use]
pub fn short_code(csr_der: &[u8], recipient: &[u8]) -> String {
    use sha3::{Digest, Sha3_256};
    let digest = Sha3_256::new()
        .chain_update(csr_der)
        .chain_update(recipient)
        .finalize();
    let mut value = u128::from_be_bytes(digest[..16].try_into().unwrap_or_default());
    let base = CODE_ALPHABET.len() as u128;
    let mut code = String::with_capacity(CODE_LEN + 2);
    for i in 0..CODE_LEN {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(CODE_ALPHABET[(value % base) as usize]));
        value /= base;
    }
    code
}

/// The bytes a device signs (with the key its request's CSR names) to read the state of
/// its own enrolment request `id` at `created_at`.
#[must_use]
pub fn enrolment_status_bytes(id: i64, created_at: i64) -> Vec<u8> {
    [
        ENROLMENT_STATUS_LABEL,
        &id.to_be_bytes(),
        &created_at.to_be_bytes(),
    ]
    .concat()
}

/// A checked enrolment request, as a staff certificate is made from it.
#[derive(Debug, Clone, Copy)]
pub struct StaffRequest<'a> {
    /// The request's CSR: its key.
    pub csr: &'a pqbank_pki::CertificateRequest,
    /// The device the CSR names.
    pub device_hash: [u8; 32],
    /// The role asked for.
    pub role: pqbank_pki::Role,
    /// The staff member's number as the bank holds it: the certificate's StaffId claim,
    /// by which log verification knows whom the certificate speaks for.
    pub number: &'a str,
    /// The staff member's name as the bank holds it: the subject's common name (the
    /// bank's records name the holder, not the request, as a CA's profile does).
    pub name: &'a str,
}

/// The staff certificate a manager (`issuer`) issues for a checked request: subject
/// `O=pqbank, CN=<name>`, the CSR's key, all seven layers, the role's actions, the CSR's
/// device, the staff number the bank holds, serial `serial`, valid for [`STAFF_CERT_DAYS`]
/// from `now`.
#[must_use]
pub fn staff_certificate(
    request: StaffRequest<'_>,
    issuer: &Certificate,
    serial: [u8; pqbank_pki::cert::SERIAL_LEN],
    now: i64,
) -> CertificateBuilder {
    let StaffRequest {
        csr,
        device_hash,
        role,
        number,
        name,
    } = request;
    CertificateBuilder {
        serial,
        subject: pqbank_pki::DistinguishedName::new("pqbank", name).to_der(),
        subject_key: csr.public_key().clone(),
        not_before: at(now.saturating_sub(RENEWAL_BACKDATE_SECS)),
        not_after: at(now.saturating_add(STAFF_CERT_DAYS * 86_400)),
        ca_path_len: None,
        claims: pqbank_pki::StaffClaims {
            layers: pqbank_pki::Layer::ALL.to_vec(),
            role: Some(role),
            actions: role.actions().to_vec(),
            device_id_hash: Some(device_hash),
            lineage: Some(pqbank_pki::Lineage {
                issuer: issuer.fingerprint(),
                replaces: None,
            }),
            defence_version: Some(pqbank_pki::ext::DEFENCE_VERSION),
            staff_id: Some(number.to_owned()),
        },
    }
}
