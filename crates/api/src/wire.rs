//! The bodies of requests and answers, as JSON. Binary values travel as standard
//! base64 text, fingerprints as lowercase hex. Every body is a JSON object; an error is
//! [`ErrorBody`] with an HTTP status saying which kind it is.

use pqbank_ledger::{
    AccountKind, Balances, Currency, DrawerEventKind, TransferRequest, TransferStatus,
};
use serde::{Deserialize, Serialize};

/// Content type of every body.
pub const CONTENT_TYPE: &str = "application/json";
/// HTTP header field carrying the signed request header (base64).
pub const HEADER_FIELD: &str = "pqbank-request";
/// HTTP header field carrying the composite signature over it (base64).
pub const SIGNATURE_FIELD: &str = "pqbank-signature";
/// Purpose of a session secret sealed to a device (pqbank-pki's bundle format).
pub const SESSION_PURPOSE: &str = "pqbank/session-secret/v1";
/// Longest name a workstation may declare for itself at login.
pub const DECLARED_NAME_LEN_MAX: usize = 64;

/// An error: a stable code (the window maps it to a message and a layer) and a
/// sentence for the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The code, e.g. `request.replayed`, `forbidden.action_not_allowed`.
    pub code: String,
    /// What happened, in words.
    pub message: String,
}

impl core::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A body with nothing in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// The bank's root and time, before anyone signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAnswer {
    /// Fingerprint of the root certificate the server serves under.
    pub root: String,
    /// The server's clock, UNIX seconds (a workstation's signed requests must be near).
    pub server_time: i64,
}

/// A login nonce is asked for a certificate on a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeBody {
    /// The certificate's fingerprint.
    pub certificate: String,
    /// The device identifier (base64).
    pub device_id: String,
    /// The name the workstation gives itself; recorded as declared, beside the address
    /// the server saw.
    pub declared_name: String,
}

/// The nonce and the origin the transcript must name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeAnswer {
    /// The nonce (base64).
    pub nonce: String,
    /// The origin as the server records it: the peer's address, the declared name.
    pub origin: String,
}

/// The signed login transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginBody {
    /// The certificate's fingerprint.
    pub certificate: String,
    /// The device identifier (base64).
    pub device_id: String,
    /// The name the workstation declared at the challenge.
    pub declared_name: String,
    /// The signed transcript's bytes (base64).
    pub transcript: String,
    /// The size of the log this workstation has pinned (0: none yet): the answer's log
    /// head comes with a consistency proof from it.
    #[serde(default)]
    pub log_seen: u64,
}

/// An opened session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAnswer {
    /// The session's secret sealed to the device's delivery key (pqbank-pki's bundle,
    /// purpose `pqbank/session-secret/v1`; base64): only that device opens it. Its
    /// SHA3-256 is the session id in request headers.
    pub sealed_session: String,
    /// The staff member.
    pub staff_id: i64,
    /// The role the certificate carries.
    pub role: String,
    /// A session idle longer than this is ended.
    pub idle_timeout_secs: i64,
    /// The newest checkpoint this server signed (one signed at this sign-in if it had
    /// none), with the consistency proof from the size the workstation said it had
    /// seen; none only for an empty log.
    #[serde(default)]
    pub log: Option<LogHead>,
}

/// Most hashes a consistency proof may carry: enough for a log of 2^32 events.
pub const CONSISTENCY_PROOF_LEN_MAX: usize = 64;

/// A checkpoint signed by the server a workstation is connected to, and the proof that
/// the log it covers extends the one the workstation pinned (RFC 9162, 2.1.4). The
/// signature is the server certificate's, with the act context, over
/// [`crate::checkpoint_bytes`]`(tree_size, root, created_at)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    /// Events covered.
    pub tree_size: u64,
    /// The tree's root (hex).
    pub root: String,
    /// When signed, UNIX seconds.
    pub created_at: i64,
    /// The server's composite signature (base64).
    pub signature: String,
    /// The consistency proof from the workstation's pinned size (hex hashes; empty when
    /// it had none or it is this size).
    pub consistency: Vec<String>,
}

/// A customer search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchBody {
    /// Name, customer number or account number.
    pub query: String,
}

/// An account, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// Identifier.
    pub id: i64,
    /// Account number.
    pub number: String,
    /// Kind.
    pub kind: AccountKind,
    /// Currency.
    pub currency: Currency,
    /// Posted and pending totals on both sides: the balance and what is available
    /// follow from them and the kind's normal side.
    pub balances: Balances,
    /// The lowest the available balance may go, if the account has a floor.
    pub floor_minor: Option<i64>,
    /// Closed accounts take no transfers.
    pub closed: bool,
}

/// A customer found, with their accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerHit {
    /// Identifier.
    pub id: i64,
    /// Customer number.
    pub number: String,
    /// Full name.
    pub full_name: String,
    /// The customer's accounts.
    pub accounts: Vec<AccountView>,
}

/// Customers found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchAnswer {
    /// In the order the bank lists them.
    pub customers: Vec<CustomerHit>,
}

/// The caller's drawer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerAnswer {
    /// The teller's drawer, if one is theirs or free for them.
    pub drawer: Option<AccountView>,
    /// Whether its newest event opened it.
    pub open: bool,
    /// The vault of the drawer's currency.
    pub vault: Option<AccountView>,
    /// The variance account of the drawer's currency.
    pub variance: Option<AccountView>,
    /// What the teller counted at the drawer's newest open or close.
    #[serde(default)]
    pub last_counted_minor: Option<i64>,
}

/// A transfer its maker signed on the workstation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostBody {
    /// The request, whose canonical bytes were signed.
    pub transfer: TransferRequest,
    /// The maker's composite signature over them (base64).
    pub signature: String,
}

/// What posting returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostAnswer {
    /// The transfer's identifier.
    pub id: i64,
    /// Posted, or pending a manager.
    pub status: TransferStatus,
    /// Expiry if pending.
    pub expires_at: Option<i64>,
    /// True if this was a retry answered with the first result.
    pub replayed: bool,
}

/// A transfer waiting for a manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingItem {
    /// Identifier.
    pub id: i64,
    /// SHA3-256 of the transfer's signed bytes (hex): what an approval names.
    pub request_hash: String,
    /// The request as signed.
    pub transfer: TransferRequest,
    /// Expiry.
    pub expires_at: Option<i64>,
}

/// Transfers waiting for a manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAnswer {
    /// Oldest first.
    pub transfers: Vec<PendingItem>,
    /// The number of every account they move money between.
    #[serde(default)]
    pub accounts: Vec<Named>,
    /// The name of every maker.
    #[serde(default)]
    pub staff: Vec<Named>,
}

/// A row's identifier and the words a screen shows for it (an account's number, a staff
/// member's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    /// Identifier.
    pub id: i64,
    /// Number or name.
    pub name: String,
}

/// A manager's decision on a pending transfer, signed on the workstation: the signed
/// bytes are the ledger's approval bytes for (transfer, hash, the caller, the decision,
/// `created_at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveBody {
    /// The transfer.
    pub transfer_id: i64,
    /// The hash of the transfer the manager reviewed (hex).
    pub transfer_hash: String,
    /// Post (true) or void (false).
    pub post: bool,
    /// When the manager signed, UNIX seconds (within the clock skew of the server's).
    pub created_at: i64,
    /// The composite signature over the approval's bytes (base64).
    pub signature: String,
}

/// The transfer's status after the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveAnswer {
    /// Posted or voided.
    pub status: TransferStatus,
}

/// A drawer opened with acts signed on the workstation: the open event and the float,
/// built by `pqbank_ledger::DrawerActs::open` from the accounts of [`DrawerAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenBody {
    /// The counted float, minor units.
    pub counted_minor: i64,
    /// The teller's idempotency key.
    pub idempotency_key: String,
    /// When the teller signed, UNIX seconds.
    pub created_at: i64,
    /// The signatures (base64), in the order the acts are built.
    pub signatures: Vec<String>,
}

/// The open event's identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenAnswer {
    /// The drawer event.
    pub event_id: i64,
}

/// A drawer closed with acts signed on the workstation against the balance it read:
/// built by `pqbank_ledger::DrawerActs::close(expected_minor)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseBody {
    /// The counted cash, minor units.
    pub counted_minor: i64,
    /// The drawer's balance the close is counted against.
    pub expected_minor: i64,
    /// The teller's idempotency key.
    pub idempotency_key: String,
    /// When the teller signed, UNIX seconds.
    pub created_at: i64,
    /// The signatures (base64), in the order the acts are built.
    pub signatures: Vec<String>,
}

/// A drawer event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerEventView {
    /// Identifier.
    pub id: i64,
    /// The drawer account.
    pub drawer: i64,
    /// The teller.
    pub teller: i64,
    /// Open or close.
    pub kind: DrawerEventKind,
    /// The teller's idempotency key.
    pub idempotency_key: String,
    /// What the teller counted.
    pub counted_minor: i64,
    /// The balance it was counted against (a close).
    pub expected_minor: Option<i64>,
    /// Counted minus expected (a close).
    pub variance_minor: Option<i64>,
    /// When the teller signed.
    pub created_at: i64,
}

/// Drawer closes whose variance waits for a manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariancesAnswer {
    /// Oldest first.
    pub closes: Vec<DrawerEventView>,
    /// Their drawers (number and currency).
    #[serde(default)]
    pub drawers: Vec<AccountView>,
    /// Their tellers' names.
    #[serde(default)]
    pub staff: Vec<Named>,
}

/// A manager's sign-off of a close's variance, signed over
/// `pqbank_ledger::variance_sign_off_bytes(event_id, the caller)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOffBody {
    /// The close event.
    pub event_id: i64,
    /// The composite signature (base64).
    pub signature: String,
}

/// The sequenced log's size and its tree's root, for a checkpoint to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadAnswer {
    /// Events in the log.
    pub tree_size: u64,
    /// The RFC 9162 root of their tree (hex).
    pub root: String,
}

/// An auditor's checkpoint, signed over
/// `pqbank_service::checkpoint_bytes(tree_size, root, created_at)` with the root the
/// server computes for that size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointBody {
    /// Events covered.
    pub tree_size: u64,
    /// When the auditor signed, UNIX seconds.
    pub created_at: i64,
    /// The composite signature (base64).
    pub signature: String,
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointAnswer {
    /// Events covered.
    pub tree_size: u64,
    /// The tree's root (hex).
    pub root: String,
    /// When signed.
    pub created_at: i64,
    /// The signer's certificate (hex).
    pub signer: String,
}

/// A verification's findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyAnswer {
    /// Transfers checked.
    pub transfers: u64,
    /// Events checked.
    pub events: u64,
    /// Every bad row; empty when the log proves itself.
    pub problems: Vec<ProblemView>,
}

/// One bad row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemView {
    /// The table.
    pub table: String,
    /// The row.
    pub row: String,
    /// What is wrong.
    pub reason: String,
}

/// An event's inclusion proof is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofBody {
    /// The event.
    pub event_id: i64,
    /// The checkpoint's size.
    pub tree_size: u64,
}

/// An inclusion proof (hashes in hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofAnswer {
    /// The event's leaf index.
    pub index: u64,
    /// The checkpoint's size.
    pub tree_size: u64,
    /// The leaf hash.
    pub leaf: String,
    /// The checkpoint's root.
    pub root: String,
    /// The audit path.
    pub path: Vec<String>,
}

/// A certificate named by its fingerprint (hex): its chain, its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectBody {
    /// The certificate.
    pub certificate: String,
}

/// One accountability event, every field the chain's hash covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// Storage order.
    pub id: i64,
    /// Position in its chain.
    pub seq: u64,
    /// The certificate whose chain holds it (hex).
    pub certificate: String,
    /// The hash of the event before it (hex).
    pub prev_hash: String,
    /// Kind, e.g. `transfer.post`.
    pub kind: String,
    /// Payload (base64).
    pub payload: String,
    /// When, UNIX seconds.
    pub created_at: i64,
    /// The server whose key links it (hex), for a served event.
    pub server: Option<String>,
    /// The device's signed request it answers (base64), for a served event.
    pub request: String,
    /// Its hash (hex).
    pub hash: String,
    /// The signature over the hash (base64).
    pub signature: String,
}

/// A certificate's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainAnswer {
    /// In chain order.
    pub events: Vec<EventView>,
}

/// The report's bytes for the auditor to sign (base64 of the JSON as made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportAnswer {
    /// The report.
    pub json: String,
}

/// One event of the activity chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPoint {
    /// The certificate (hex).
    pub certificate: String,
    /// Kind.
    pub kind: String,
    /// When.
    pub created_at: i64,
}

/// Every event's certificate, kind and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityAnswer {
    /// In storage order.
    pub events: Vec<ActivityPoint>,
}

/// A staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffView {
    /// Identifier.
    pub id: i64,
    /// Staff number.
    pub number: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: String,
}

/// A certificate the bank holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    /// SHA3-256 of the DER (hex).
    pub fingerprint: String,
    /// The DER (base64): a workstation parses and checks what it shows.
    pub der: String,
    /// The issuer's certificate (hex), none for the root.
    pub issuer: Option<String>,
    /// The certificate this one renews (hex).
    pub replaces: Option<String>,
    /// The staff member, for staff certificates.
    pub staff_id: Option<i64>,
    /// Role.
    pub role: String,
    /// Validity window, UNIX seconds.
    pub not_before: i64,
    /// Validity window, UNIX seconds.
    pub not_after: i64,
}

/// A revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationView {
    /// The revoked certificate (hex).
    pub certificate: String,
    /// The reason.
    pub reason: String,
    /// When.
    pub revoked_at: i64,
    /// The CRL that lists it.
    pub crl_number: i64,
}

/// The staff, every certificate and every revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAnswer {
    /// In id order.
    pub staff: Vec<StaffView>,
    /// In issue order.
    pub certificates: Vec<CertificateView>,
    /// In revocation order.
    pub revocations: Vec<RevocationView>,
}

/// A CA's newest CRL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrlView {
    /// The issuing CA's certificate (hex).
    pub issuer: String,
    /// The CRL's DER (base64): a workstation parses and checks its signature.
    pub der: String,
}

/// The newest CRL of every CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrlsAnswer {
    /// One per CA.
    pub crls: Vec<CrlView>,
}

/// An enrolment request waiting for a manager (the short code is not sent: the manager
/// types the one the new hire's screen shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentView {
    /// Identifier.
    pub id: i64,
    /// The CSR's DER (base64).
    pub csr: String,
    /// The new hire.
    pub staff_id: i64,
    /// The new hire's staff number (the certificate's StaffId claim).
    pub staff_number: String,
    /// The new hire's name (the certificate's subject is made from it).
    pub name: String,
    /// The role asked for.
    pub requested_role: String,
    /// When asked.
    pub created_at: i64,
}

/// Enrolment requests waiting for a manager, and her own certificate (DER, base64): the
/// issuer of what she approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentsAnswer {
    /// The caller's certificate (DER, base64).
    pub issuer: String,
    /// Oldest first.
    pub requests: Vec<EnrolmentView>,
}

/// What a revocation or renewal of a certificate is signed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepareAnswer {
    /// The manager's own certificate (DER, base64): the CRL's and the renewal's issuer.
    pub issuer: String,
    /// The target certificate (DER, base64).
    pub target: String,
    /// The manager's newest CRL (DER, base64), if any.
    pub crl: Option<String>,
    /// Days until a new CRL's nextUpdate.
    pub crl_days: i64,
}

/// A revocation signed on the manager's workstation: the signatures over the next CRL's
/// to-be-signed bytes (`pqbank_api::acts::next_crl`, no context) and over the
/// revocation's bytes (`pqbank_api::acts::revocation_bytes`, the act context).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeBody {
    /// The certificate revoked (hex).
    pub certificate: String,
    /// Why.
    pub reason: pqbank_pki::RevocationReason,
    /// When signed (the revocation's time and the CRL's thisUpdate).
    pub created_at: i64,
    /// The signatures (base64).
    pub signatures: Vec<String>,
}

/// The number of the CRL that lists the revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeAnswer {
    /// CRL number.
    pub crl_number: u64,
}

/// A renewal signed on the manager's workstation: the signatures over the renewed
/// certificate's to-be-signed bytes (`pqbank_api::acts::renewal` with `serial`), the next
/// CRL's (revoking the old one as superseded) and the revocation's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewBody {
    /// The certificate renewed (hex).
    pub certificate: String,
    /// The new certificate's serial (hex, 16 bytes), chosen at random by the workstation.
    pub serial: String,
    /// When signed.
    pub created_at: i64,
    /// The signatures (base64).
    pub signatures: Vec<String>,
}

/// The renewed certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewAnswer {
    /// DER (base64).
    pub certificate: String,
    /// Its fingerprint (hex).
    pub fingerprint: String,
}

/// A new hire's enrolment request, before anyone signs in: the CSR their device signed
/// (its key and device identifier hash), the delivery key the certificate is sealed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentRequestBody {
    /// The CSR (DER, base64).
    pub csr: String,
    /// The ML-KEM-512 + X25519 delivery key (base64).
    pub recipient: String,
    /// The new hire's staff number, as on their badge.
    pub staff_number: String,
    /// `teller` or `auditor`.
    pub role: String,
}

/// The request's identifier (the short code is the device's to compute and show:
/// `pqbank_api::acts::short_code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentRequestAnswer {
    /// Identifier.
    pub id: i64,
}

/// A device reads its own request, signed with its CSR's key over
/// `pqbank_api::acts::enrolment_status_bytes(id, created_at)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentStatusBody {
    /// The request.
    pub id: i64,
    /// When signed.
    pub created_at: i64,
    /// The composite signature (base64).
    pub signature: String,
}

/// The request's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentStatusAnswer {
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// The certificate issued (hex), once approved.
    pub certificate: Option<String>,
    /// The certificate sealed to the delivery key (base64), once approved.
    pub bundle: Option<String>,
}

/// A manager's approval: the code the new hire's screen showed, and her signature over
/// the certificate's to-be-signed bytes (`pqbank_api::acts::staff_certificate` with
/// `serial`, no context).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApproveBody {
    /// The request.
    pub request_id: i64,
    /// The code as typed.
    pub code: String,
    /// The certificate's serial (hex, 16 bytes).
    pub serial: String,
    /// When signed.
    pub created_at: i64,
    /// The composite signature (base64).
    pub signature: String,
}

/// The certificate issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApproveAnswer {
    /// Its fingerprint (hex).
    pub certificate: String,
}
