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
