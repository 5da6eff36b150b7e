//! Storage for who may act: certificates, CRLs, single-use login challenges, sessions,
//! and each certificate's hash chain of signed events.

use core::future::Future;

use pqbank_audit::Hash;
use pqbank_audit::chain::Event;

use crate::Result;

/// A certificate as stored: the DER and the fields the service looks up by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    /// SHA3-256 of the DER.
    pub fingerprint: Hash,
    /// The DER.
    pub der: Vec<u8>,
    /// Serial number INTEGER content octets.
    pub serial: Vec<u8>,
    /// Fingerprint of the issuer's certificate (none for the root).
    pub issuer: Option<Hash>,
    /// Fingerprint of the certificate this one renews.
    pub replaces: Option<Hash>,
    /// The staff member, for staff certificates.
    pub staff_id: Option<i64>,
    /// Role.
    pub role: String,
    /// Validity window, UNIX seconds.
    pub not_before: i64,
    /// Validity window, UNIX seconds.
    pub not_after: i64,
    /// When stored.
    pub created_at: i64,
}

/// A CRL as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlRecord {
    /// Fingerprint of the issuing CA's certificate.
    pub issuer: Hash,
    /// CRL number.
    pub number: i64,
    /// SHA3-256 of the DER.
    pub fingerprint: Hash,
    /// The DER.
    pub der: Vec<u8>,
    /// thisUpdate.
    pub this_update: i64,
    /// nextUpdate.
    pub next_update: i64,
    /// When stored.
    pub created_at: i64,
}

/// A single-use login challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The server's nonce.
    pub nonce: Hash,
    /// The certificate that asked.
    pub certificate: Hash,
    /// The device it must come from.
    pub device_id_hash: Hash,
    /// Where the request came from.
    pub origin: String,
    /// Issued, UNIX seconds.
    pub issued_at: i64,
    /// Expires, UNIX seconds.
    pub expires_at: i64,
    /// Consumed, if it has been.
    pub consumed_at: Option<i64>,
}

/// A login session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA3-256 of the session token (the token itself is never stored).
    pub id: Hash,
    /// The certificate logged in.
    pub certificate: Hash,
    /// The staff member.
    pub staff_id: i64,
    /// Highest CRL number seen for the certificate's issuer at login.
    pub pinned_crl_number: i64,
    /// Opened.
    pub created_at: i64,
    /// Last call.
    pub last_seen_at: i64,
    /// Idle timeout.
    pub idle_timeout_secs: i64,
    /// Ended, if it has.
    pub ended_at: Option<i64>,
    /// Why it ended.
    pub end_reason: Option<String>,
}

/// A stored event of a certificate's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Storage order (auto-increment). Not yet a stable log index: ids are handed out at
    /// insert, not at commit, so a checkpoint must sequence leaves itself (see the
    /// service-layer issue's notes) before relying on this order.
    pub id: i64,
    /// The event.
    pub event: Event,
    /// Its hash, as stored.
    pub hash: Hash,
    /// The device's signature over the hash.
    pub signature: Vec<u8>,
}

/// A staff member's device as the bank knows it: the key its session secrets are
/// sealed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// SHA3-256 of the device identifier (as certificates bind it).
    pub device_id_hash: Hash,
    /// The staff member.
    pub staff_id: i64,
    /// A name for people.
    pub label: String,
    /// The device's ML-KEM + X25519 recipient key (the enrolment's delivery key).
    pub kem_recipient: Vec<u8>,
    /// When.
    pub created_at: i64,
}

/// A device's request for a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentRecord {
    /// Identifier.
    pub id: i64,
    /// SHA3-256 of the CSR DER.
    pub csr_fingerprint: Hash,
    /// The CSR.
    pub csr_der: Vec<u8>,
    /// The device's sealed-bundle recipient key.
    pub kem_recipient: Vec<u8>,
    /// The short code the manager compares.
    pub short_code: String,
    /// The staff member it is for.
    pub staff_id: i64,
    /// The role asked for.
    pub requested_role: String,
    /// "pending", "approved" or "rejected".
    pub status: String,
    /// The manager who decided.
    pub decided_by: Option<i64>,
    /// When.
    pub decided_at: Option<i64>,
    /// The issued certificate.
    pub certificate: Option<Hash>,
    /// The sealed delivery bundle.
    pub bundle: Option<Vec<u8>>,
    /// When requested.
    pub created_at: i64,
}

/// A manager's signed revocation of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRecord {
    /// The revoked certificate.
    pub certificate: Hash,
    /// RFC 5280 reason name.
    pub reason: String,
    /// When.
    pub revoked_at: i64,
    /// The CRL that lists it.
    pub crl_number: i64,
    /// The manager.
    pub revoked_by: i64,
    /// The signed bytes.
    pub signed_bytes: Vec<u8>,
    /// The manager's signature.
    pub signature: Vec<u8>,
    /// The manager's certificate.
    pub signer: Hash,
}

/// A signed row of the approvals, drawer_events or revocations table, for verification.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SignedRow {
    /// The row's id.
    pub id: i64,
    /// For approvals: the transfer resolved.
    #[sqlx(default)]
    pub transfer_id: Option<i64>,
    /// For approvals: the drawer close signed off.
    #[sqlx(default)]
    pub drawer_event_id: Option<i64>,
    /// For approvals: the decision ("post", "void", "expire", "sign_off").
    #[sqlx(default)]
    pub decision: Option<String>,
    /// For approvals and drawer events: when, as recorded; for revocations: when revoked.
    #[sqlx(default)]
    pub created_at: Option<i64>,
    /// For revocations: the revoked certificate's fingerprint.
    #[sqlx(default)]
    pub certificate_fingerprint: Option<Vec<u8>>,
    /// For revocations: the RFC 5280 reason name.
    #[sqlx(default)]
    pub reason: Option<String>,
    /// For revocations: the number of the CRL that lists it.
    #[sqlx(default)]
    pub crl_number: Option<i64>,
    /// For drawer events: the drawer account.
    #[sqlx(default)]
    pub drawer_account_id: Option<i64>,
    /// For drawer events: "open" or "close".
    #[sqlx(default)]
    pub kind: Option<String>,
    /// For drawer events: the teller's idempotency key.
    #[sqlx(default)]
    pub idempotency_key: Option<String>,
    /// For drawer events: the counted cash, minor units.
    #[sqlx(default)]
    pub counted_minor: Option<i64>,
    /// The staff member who signed, as the row records it.
    pub staff_id: i64,
    /// The signed bytes.
    pub signed_bytes: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
    /// The signer's certificate fingerprint.
    pub signer_fingerprint: Vec<u8>,
}

/// A signed checkpoint of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRecord {
    /// Leaves folded in.
    pub tree_size: i64,
    /// RFC 9162 root over the first `tree_size` leaves.
    pub root: Hash,
    /// When.
    pub created_at: i64,
    /// The signed bytes.
    pub signed_bytes: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
    /// The signer's certificate fingerprint.
    pub signer: Hash,
}

/// Why a device could not sign an event (its key store or the OS randomness failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignError(pub String);

/// Who signs an event's hash. In process, the acting device itself (format v1: a closure
/// over its key is one). At a bank server, the server's key, over the device's signed
/// request, which the event then carries (format v2). Signing may fail: the write it
/// belongs to is then rolled back and [`crate::StoreError::Signing`] returned, so no event
/// is ever stored without its signature.
pub trait EventSign: Send + Sync {
    /// The fingerprint of the server certificate whose key signs; `None` for the device.
    fn server(&self) -> Option<Hash> {
        None
    }

    /// The device's signed request the server acts on; empty for the device.
    fn request(&self) -> &[u8] {
        &[]
    }

    /// Signs the event's hash.
    fn sign(&self, hash: &Hash) -> core::result::Result<Vec<u8>, SignError>;
}

impl<F> EventSign for F
where
    F: Fn(&Hash) -> core::result::Result<Vec<u8>, SignError> + Send + Sync,
{
    fn sign(&self, hash: &Hash) -> core::result::Result<Vec<u8>, SignError> {
        self(hash)
    }
}

/// An event's signer, as the store takes it.
pub type Signer<'a> = &'a dyn EventSign;

/// Calls a signer for an event hash: a failure, or an empty signature, is an error.
pub fn sign_event(sign: Signer<'_>, hash: &Hash) -> Result<Vec<u8>> {
    match sign.sign(hash) {
        Ok(signature) if !signature.is_empty() => Ok(signature),
        Ok(_) => Err(crate::StoreError::Signing(
            "the device returned an empty signature".into(),
        )),
        Err(e) => Err(crate::StoreError::Signing(e.0)),
    }
}

/// The decision on a pending enrolment request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentDecision {
    /// The request.
    pub id: i64,
    /// "approved" or "rejected".
    pub status: String,
    /// The manager who decided.
    pub decided_by: i64,
    /// When.
    pub decided_at: i64,
    /// The issued certificate.
    pub certificate: Option<Hash>,
    /// The sealed delivery bundle.
    pub bundle: Option<Vec<u8>>,
}

/// One row an act writes; [`IdentityStore::commit_logged`] commits a list of them with
/// the act's accountability events, all or nothing.
#[derive(Debug, Clone, Copy)]
pub enum RowWrite<'a> {
    /// Stores a certificate (append-only).
    Certificate(&'a CertificateRecord),
    /// Stores a CRL.
    Crl(&'a CrlRecord),
    /// Stores a signed revocation (once per certificate).
    Revocation(&'a RevocationRecord),
    /// Stores a signed checkpoint.
    Checkpoint(&'a CheckpointRecord),
    /// Decides a pending enrolment request; [`crate::StoreError::Stale`] if it was no
    /// longer pending.
    EnrolmentDecision(&'a EnrolmentDecision),
    /// Consumes a login challenge issued for `certificate`, exactly once: of any number of
    /// concurrent acts, one gets it; the others (and any act on a used, expired or unknown
    /// nonce) fail with [`crate::StoreError::Stale`].
    ConsumeChallenge {
        /// The nonce.
        nonce: &'a Hash,
        /// The certificate it was issued for.
        certificate: &'a Hash,
        /// Now: a challenge that expired before is not consumed.
        now: i64,
    },
    /// Opens a session.
    Session(&'a SessionRecord),
    /// Registers a device and its delivery key (once per device identifier: a second
    /// row for the same identifier fails the act).
    Device(&'a DeviceRecord),
}

/// An accountability event an act appends to a certificate's chain.
#[derive(Clone, Copy)]
pub struct LoggedEvent<'a> {
    /// The chain: the acting certificate's fingerprint.
    pub certificate: Hash,
    /// Event kind, e.g. "cert.issue".
    pub kind: &'a str,
    /// The payload.
    pub payload: &'a [u8],
    /// When.
    pub created_at: i64,
    /// Signs the event hash with the acting device's key.
    pub sign: Signer<'a>,
}

impl core::fmt::Debug for LoggedEvent<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoggedEvent")
            .field("kind", &self.kind)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The identity tables of a backend.
pub trait IdentityStore: Send + Sync {
    /// Stores a certificate (append-only; storing the same fingerprint twice is an error).
    fn insert_certificate(
        &self,
        record: &CertificateRecord,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A certificate by fingerprint.
    fn certificate(
        &self,
        fingerprint: &Hash,
    ) -> impl Future<Output = Result<Option<CertificateRecord>>> + Send;
    /// Stores a CRL.
    fn insert_crl(&self, record: &CrlRecord) -> impl Future<Output = Result<()>> + Send;
    /// The CRL with the highest number from an issuer.
    fn latest_crl(&self, issuer: &Hash) -> impl Future<Output = Result<Option<CrlRecord>>> + Send;
    /// Stores a new challenge.
    fn insert_challenge(&self, challenge: &Challenge) -> impl Future<Output = Result<()>> + Send;
    /// A challenge by nonce, consumed or not (consuming it is a separate, single write).
    fn challenge(&self, nonce: &Hash) -> impl Future<Output = Result<Option<Challenge>>> + Send;
    /// Consumes a challenge exactly once: of any number of concurrent callers, one gets
    /// it; an expired, consumed or unknown nonce gives `None`.
    fn consume_challenge(
        &self,
        nonce: &Hash,
        now: i64,
    ) -> impl Future<Output = Result<Option<Challenge>>> + Send;
    /// Opens a session.
    fn insert_session(&self, session: &SessionRecord) -> impl Future<Output = Result<()>> + Send;
    /// A session by id.
    fn session(&self, id: &Hash) -> impl Future<Output = Result<Option<SessionRecord>>> + Send;
    /// Records a call on a live session; false if it has ended.
    fn touch_session(&self, id: &Hash, now: i64) -> impl Future<Output = Result<bool>> + Send;
    /// Records a signed request's call on a live session if `counter` is above the
    /// session's last one, in one statement; false if the session has ended or the
    /// counter was already used or passed (a replayed or reordered request).
    fn claim_counter(
        &self,
        id: &Hash,
        now: i64,
        counter: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Ends a session with a reason.
    fn end_session(
        &self,
        id: &Hash,
        now: i64,
        reason: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Appends an event to the certificate's chain: reads the head, builds the next
    /// event, has `sign` sign its hash, and writes it; a concurrent append is retried.
    fn append_event(
        &self,
        certificate: &Hash,
        kind: &str,
        payload: &[u8],
        created_at: i64,
        sign: Signer<'_>,
    ) -> impl Future<Output = Result<EventRecord>> + Send;
    /// A certificate's chain, in order.
    fn events(&self, certificate: &Hash) -> impl Future<Output = Result<Vec<EventRecord>>> + Send;
    /// Stores a device (its staff member and recipient key).
    fn insert_device(&self, device: &DeviceRecord) -> impl Future<Output = Result<()>> + Send;
    /// A device by the hash of its identifier.
    fn device(
        &self,
        device_id_hash: &Hash,
    ) -> impl Future<Output = Result<Option<DeviceRecord>>> + Send;
    /// Stores a new enrolment request; returns its id.
    fn insert_enrolment(
        &self,
        record: &EnrolmentRecord,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// An enrolment request.
    fn enrolment(&self, id: i64) -> impl Future<Output = Result<Option<EnrolmentRecord>>> + Send;
    /// Gives every committed, unsequenced event the next log index, in one transaction
    /// under the log head's lock; returns the new log size.
    fn sequence_events(&self) -> impl Future<Output = Result<u64>> + Send;
    /// The event hashes of the first `size` log positions, in log order.
    fn log_leaves(&self, size: u64) -> impl Future<Output = Result<Vec<Hash>>> + Send;
    /// The log index of a sequenced event.
    fn log_index(&self, event_id: i64) -> impl Future<Output = Result<Option<u64>>> + Send;
    /// Writes an act's rows and appends its accountability events (each signed by its
    /// signer, in order) in one transaction: if any write, any signature or the commit
    /// fails, nothing is written. A transient conflict retries the whole transaction.
    fn commit_logged(
        &self,
        writes: &[RowWrite<'_>],
        events: &[LoggedEvent<'_>],
    ) -> impl Future<Output = Result<Vec<EventRecord>>> + Send;
    /// The signed rows of `table` ("approvals", "drawer_events" or "revocations").
    fn signed_rows(
        &self,
        table: &'static str,
    ) -> impl Future<Output = Result<Vec<SignedRow>>> + Send;
    /// Every checkpoint, by size.
    fn checkpoints(&self) -> impl Future<Output = Result<Vec<CheckpointRecord>>> + Send;
    /// Every certificate that has events.
    fn event_certificates(&self) -> impl Future<Output = Result<Vec<Hash>>> + Send;
    /// Every event hash in storage order (see [`EventRecord::id`] on why checkpoints must
    /// sequence these before folding them).
    fn event_hashes(&self) -> impl Future<Output = Result<Vec<Hash>>> + Send;
}

pub(crate) fn hash(bytes: &[u8], what: &'static str) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| crate::StoreError::Database(format!("stored row does not decode: {what}")))
}

fn opt_hash(bytes: Option<Vec<u8>>, what: &'static str) -> Result<Option<Hash>> {
    bytes.map(|b| hash(&b, what)).transpose()
}

/// A certificates row as both backends return it.
#[derive(Debug, sqlx::FromRow)]
#[allow(
    missing_docs,
    reason = "the fields are the columns of the certificates table"
)]
pub struct RawCertificate {
    pub fingerprint: Vec<u8>,
    pub der: Vec<u8>,
    pub serial: Vec<u8>,
    pub issuer_fingerprint: Option<Vec<u8>>,
    pub replaces_fingerprint: Option<Vec<u8>>,
    pub staff_id: Option<i64>,
    pub role: String,
    pub not_before: i64,
    pub not_after: i64,
    pub created_at: i64,
}

impl RawCertificate {
    /// Decodes into a record.
    pub fn decode(self) -> Result<CertificateRecord> {
        Ok(CertificateRecord {
            fingerprint: hash(&self.fingerprint, "certificate fingerprint")?,
            der: self.der,
            serial: self.serial,
            issuer: opt_hash(self.issuer_fingerprint, "issuer fingerprint")?,
            replaces: opt_hash(self.replaces_fingerprint, "replaced fingerprint")?,
            staff_id: self.staff_id,
            role: self.role,
            not_before: self.not_before,
            not_after: self.not_after,
            created_at: self.created_at,
        })
    }
}

/// A crls row.
#[derive(Debug, sqlx::FromRow)]
#[allow(missing_docs, reason = "the fields are the columns of the crls table")]
pub struct RawCrl {
    pub issuer_fingerprint: Vec<u8>,
    pub crl_number: i64,
    pub fingerprint: Vec<u8>,
    pub der: Vec<u8>,
    pub this_update: i64,
    pub next_update: i64,
    pub created_at: i64,
}

impl RawCrl {
    /// Decodes into a record.
    pub fn decode(self) -> Result<CrlRecord> {
        Ok(CrlRecord {
            issuer: hash(&self.issuer_fingerprint, "CRL issuer")?,
            number: self.crl_number,
            fingerprint: hash(&self.fingerprint, "CRL fingerprint")?,
            der: self.der,
            this_update: self.this_update,
            next_update: self.next_update,
            created_at: self.created_at,
        })
    }
}

/// A login_challenges row.
#[derive(Debug, sqlx::FromRow)]
#[allow(
    missing_docs,
    reason = "the fields are the columns of the login_challenges table"
)]
pub struct RawChallenge {
    pub nonce: Vec<u8>,
    pub certificate_fingerprint: Vec<u8>,
    pub device_id_hash: Vec<u8>,
    pub origin: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

impl RawChallenge {
    /// Decodes into a challenge.
    pub fn decode(self) -> Result<Challenge> {
        Ok(Challenge {
            nonce: hash(&self.nonce, "nonce")?,
            certificate: hash(&self.certificate_fingerprint, "challenge certificate")?,
            device_id_hash: hash(&self.device_id_hash, "challenge device")?,
            origin: self.origin,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            consumed_at: self.consumed_at,
        })
    }
}

/// A sessions row.
#[derive(Debug, sqlx::FromRow)]
#[allow(
    missing_docs,
    reason = "the fields are the columns of the sessions table"
)]
pub struct RawSession {
    pub id: Vec<u8>,
    pub certificate_fingerprint: Vec<u8>,
    pub staff_id: i64,
    pub pinned_crl_number: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub idle_timeout_secs: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
}

impl RawSession {
    /// Decodes into a record.
    pub fn decode(self) -> Result<SessionRecord> {
        Ok(SessionRecord {
            id: hash(&self.id, "session id")?,
            certificate: hash(&self.certificate_fingerprint, "session certificate")?,
            staff_id: self.staff_id,
            pinned_crl_number: self.pinned_crl_number,
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            idle_timeout_secs: self.idle_timeout_secs,
            ended_at: self.ended_at,
            end_reason: self.end_reason,
        })
    }
}

/// An accountability_events row.
#[derive(Debug, sqlx::FromRow)]
#[allow(
    missing_docs,
    reason = "the fields are the columns of the accountability_events table"
)]
pub struct RawEvent {
    pub id: i64,
    pub certificate_fingerprint: Vec<u8>,
    pub seq: i64,
    pub prev_hash: Vec<u8>,
    pub event_hash: Vec<u8>,
    pub kind: String,
    pub payload: Vec<u8>,
    pub created_at: i64,
    pub signature: Vec<u8>,
    pub server_fingerprint: Option<Vec<u8>>,
    pub request: Option<Vec<u8>>,
}

impl RawEvent {
    /// Decodes into a record (the stored hash is kept as stored, for verification).
    pub fn decode(self) -> Result<EventRecord> {
        Ok(EventRecord {
            id: self.id,
            event: Event {
                certificate: hash(&self.certificate_fingerprint, "event certificate")?,
                seq: u64::try_from(self.seq)
                    .map_err(|_| crate::StoreError::Database("negative event sequence".into()))?,
                prev_hash: hash(&self.prev_hash, "previous hash")?,
                kind: self.kind,
                payload: self.payload,
                created_at: self.created_at,
                server: self
                    .server_fingerprint
                    .map(|s| hash(&s, "event server"))
                    .transpose()?,
                request: self.request.unwrap_or_default(),
            },
            hash: hash(&self.event_hash, "event hash")?,
            signature: self.signature,
        })
    }
}

/// An enrolment_requests row.
#[derive(Debug, sqlx::FromRow)]
#[allow(
    missing_docs,
    reason = "the fields are the columns of the enrolment_requests table"
)]
pub struct RawEnrolment {
    pub id: i64,
    pub csr_fingerprint: Vec<u8>,
    pub csr_der: Vec<u8>,
    pub kem_recipient: Vec<u8>,
    pub short_code: String,
    pub staff_id: Option<i64>,
    pub requested_role: String,
    pub status: String,
    pub decided_by: Option<i64>,
    pub decided_at: Option<i64>,
    pub certificate_fingerprint: Option<Vec<u8>>,
    pub bundle: Option<Vec<u8>>,
    pub created_at: i64,
}

impl RawEnrolment {
    /// Decodes into a record.
    pub fn decode(self) -> Result<EnrolmentRecord> {
        Ok(EnrolmentRecord {
            id: self.id,
            csr_fingerprint: hash(&self.csr_fingerprint, "CSR fingerprint")?,
            csr_der: self.csr_der,
            kem_recipient: self.kem_recipient,
            short_code: self.short_code,
            staff_id: self
                .staff_id
                .ok_or_else(|| crate::StoreError::Database("enrolment without staff".into()))?,
            requested_role: self.requested_role,
            status: self.status,
            decided_by: self.decided_by,
            decided_at: self.decided_at,
            certificate: opt_hash(self.certificate_fingerprint, "enrolled certificate")?,
            bundle: self.bundle,
            created_at: self.created_at,
        })
    }
}

/// A checkpoints row.
#[derive(Debug, sqlx::FromRow)]
#[allow(
    missing_docs,
    reason = "the fields are the columns of the checkpoints table"
)]
pub struct RawCheckpoint {
    pub tree_size: i64,
    pub root_hash: Vec<u8>,
    pub created_at: i64,
    pub signed_bytes: Vec<u8>,
    pub signature: Vec<u8>,
    pub signer_fingerprint: Vec<u8>,
}

impl RawCheckpoint {
    /// Decodes into a record.
    pub fn decode(self) -> Result<CheckpointRecord> {
        Ok(CheckpointRecord {
            tree_size: self.tree_size,
            root: hash(&self.root_hash, "checkpoint root")?,
            created_at: self.created_at,
            signed_bytes: self.signed_bytes,
            signature: self.signature,
            signer: hash(&self.signer_fingerprint, "checkpoint signer")?,
        })
    }
}

/// Decodes a list of 32-byte hashes read from storage.
pub fn hashes(rows: &[Vec<u8>]) -> Result<Vec<Hash>> {
    rows.iter().map(|h| hash(h, "hash")).collect()
}
