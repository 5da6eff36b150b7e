//! What the screens receive and send. Money is integer minor units with the currency's
//! exponent beside it (never a float, never a formatted string); fingerprints and hashes
//! are lowercase hex; times are UNIX seconds (UTC).

// The domain's own enums cross as they are (their `specta` feature gives their types).
pub use pqbank_ledger::{AccountKind, TransferKind, TransferStatus};
pub use pqbank_pki::Role;
pub use pqbank_pki::crl::RevocationReason;
use serde::{Deserialize, Serialize};
use specta::Type;

use crate::{ErrorCode, WorkstationErrorCode};

/// An error for the screen: a stable code to branch on, a message for people, and the
/// security layer that refused, when one did (1 to 7, as DESIGN.md numbers them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, thiserror::Error)]
#[error("{message} ({code})")]
pub struct UiError {
    /// Stable code (`ServiceError::code`, or the workstation's own).
    pub code: ErrorCode,
    /// Message.
    pub message: String,
    /// The layer that refused.
    pub layer: Option<u8>,
}

impl UiError {
    /// An error with no layer.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            layer: None,
        }
    }

    /// A file could not be read or written (the system's reason goes to the log).
    pub fn io(path: &std::path::Path, e: &std::io::Error) -> Self {
        let message = format!("{} could not be read or written", path.display());
        Self::logged(WorkstationErrorCode::Io, message, e)
    }
}

/// Where a certificate stands in the manager's and auditor's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum CertificateState {
    /// Valid now and not revoked.
    Active,
    /// Past its notAfter.
    Expired,
    /// On its issuer's CRL.
    Revoked,
}

/// Where an enrolment request stands, as the new device sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum EnrolmentStatus {
    /// Waiting for a manager.
    Pending,
    /// Approved, and the certificate collected by this device.
    Approved,
    /// Rejected by a manager.
    Rejected,
}

/// The file format of an exported accountability report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// The signed JSON, with its detached signature beside it.
    Json,
    /// A PDF rendering of the same report.
    Pdf,
}

/// How the workstation is set up, before and after login.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AppState {
    /// "sqlite" (the embedded bank) or "server" (a branch's pqbank-server).
    pub backend: String,
    /// Where: the SQLite file, or the server's URL.
    pub location: String,
    /// The pinned root's fingerprint.
    pub pinned_root: String,
    /// True when this is the demo bank.
    pub demo: bool,
    /// Identities whose device keys this machine holds.
    pub identities: Vec<Identity>,
    /// The signed-in session, if any.
    pub session: Option<SessionInfo>,
    /// Seconds of inactivity before the screen locks.
    pub idle_lock_secs: u32,
}

/// A certificate this machine can log in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// Certificate fingerprint.
    pub certificate: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Device identifier (hex).
    pub device: String,
    /// A pending enrolment request instead of a certificate.
    pub enrolment: Option<i64>,
}

/// The signed-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// Who.
    pub identity: Identity,
    /// Staff id.
    pub staff_id: i64,
    /// When the session began.
    pub since: i64,
}

/// One of the seven layers, as login checked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LayerCheck {
    /// 1 to 7.
    pub number: u8,
    /// The layer's name in the certificate ("hybrid-signature", ...).
    pub name: String,
    /// What was checked, in words.
    pub checked: String,
}

/// A successful login.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LoginResult {
    /// The session.
    pub session: SessionInfo,
    /// Every layer checked.
    pub layers: Vec<LayerCheck>,
}

/// An account as a teller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// Identifier.
    pub id: i64,
    /// Account number.
    pub number: String,
    /// Kind.
    pub kind: AccountKind,
    /// Currency code.
    pub currency: String,
    /// Digits after the decimal point.
    pub exponent: u8,
    /// Posted balance, minor units.
    pub balance_minor: i64,
    /// Available (balance less reservations), minor units.
    pub available_minor: i64,
    /// Lowest balance allowed, if any.
    pub floor_minor: Option<i64>,
    /// Closed.
    pub closed: bool,
}

/// A customer and their accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CustomerHit {
    /// Identifier.
    pub id: i64,
    /// Customer number.
    pub number: String,
    /// Name.
    pub name: String,
    /// Accounts.
    pub accounts: Vec<AccountView>,
}

/// A transfer to post, as the teller's form sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TransferForm {
    /// A deposit, withdrawal or transfer (the workstation refuses the other kinds).
    pub kind: TransferKind,
    /// Account debited (for a deposit: the teller's drawer).
    pub debit: i64,
    /// Account credited (for a withdrawal: the teller's drawer).
    pub credit: i64,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// Currency code; must be the accounts'.
    pub currency: String,
    /// Memo.
    pub memo: String,
    /// Made by the form once per intended transfer: a retry with it is safe.
    pub idempotency_key: String,
}

/// A transfer as listed and as a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TransferView {
    /// Identifier.
    pub id: i64,
    /// Kind.
    pub kind: TransferKind,
    /// Status.
    pub status: TransferStatus,
    /// Debited account id.
    pub debit: i64,
    /// Credited account id.
    pub credit: i64,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Currency.
    pub currency: String,
    /// Digits after the decimal point.
    pub exponent: u8,
    /// Memo.
    pub memo: String,
    /// Maker's staff id.
    pub maker: i64,
    /// Maker's name.
    pub maker_name: String,
    /// Debited account's number.
    pub debit_number: String,
    /// Credited account's number.
    pub credit_number: String,
    /// When it was made.
    pub created_at: i64,
    /// Until when a pending transfer waits.
    pub expires_at: Option<i64>,
    /// The signed request's hash (what an approver signs over).
    pub request_hash: String,
    /// True when a retry returned the first result.
    pub replayed: bool,
}

/// The teller's drawer and the bank accounts its operations use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DrawerView {
    /// The drawer account.
    pub account: Option<AccountView>,
    /// Open now.
    pub open: bool,
    /// The vault account (floats come from and go back to it).
    pub vault: Option<AccountView>,
    /// The variance account.
    pub variance: Option<AccountView>,
    /// The newest drawer event's counted amount.
    pub last_counted_minor: Option<i64>,
}

/// What closing a drawer found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DrawerClosed {
    /// The close event.
    pub event: i64,
    /// Counted.
    pub counted_minor: i64,
    /// Expected from the ledger.
    pub expected_minor: i64,
    /// Counted less expected.
    pub variance_minor: i64,
}

/// A certificate in the manager's and auditor's lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    /// Fingerprint.
    pub fingerprint: String,
    /// Serial, hex.
    pub serial: String,
    /// Role.
    pub role: Role,
    /// Issuer's fingerprint.
    pub issuer: Option<String>,
    /// The certificate it replaces.
    pub replaces: Option<String>,
    /// Not before.
    pub not_before: i64,
    /// Not after.
    pub not_after: i64,
    /// Active, expired or revoked.
    pub state: CertificateState,
    /// Revocation reason.
    pub revoked_reason: Option<RevocationReason>,
    /// Revocation time.
    pub revoked_at: Option<i64>,
}

/// A member of staff with their certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct StaffView {
    /// Identifier.
    pub id: i64,
    /// Staff number.
    pub number: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Certificates, newest first.
    pub certificates: Vec<CertificateView>,
}

/// An enrolment request waiting for a manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct EnrolmentView {
    /// Request id.
    pub id: i64,
    /// Staff id.
    pub staff_id: i64,
    /// Staff name.
    pub name: String,
    /// Requested role.
    pub role: Role,
    /// When.
    pub created_at: i64,
    /// The request's fingerprint (never the code: the manager types that from the device).
    pub request: String,
}

/// The device side of an enrolment: what the new device shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct EnrolmentTicket {
    /// Request id.
    pub id: i64,
    /// The short code, grouped for reading aloud.
    pub code: String,
    /// The request as a QR code, SVG.
    pub qr_svg: String,
    /// Where the request stands.
    pub status: EnrolmentStatus,
}

/// One event of an accountability chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// Storage id (for proofs).
    pub id: i64,
    /// Position in the chain.
    pub seq: i64,
    /// Kind ("login", "transfer.post", "refused", ...).
    pub kind: String,
    /// When.
    pub created_at: i64,
    /// The event's hash.
    pub hash: String,
    /// The previous event's hash.
    pub prev_hash: String,
    /// The payload: text when it is printable, else hex.
    pub payload: String,
}

/// A bad row found by log verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ProblemView {
    /// Table.
    pub table: String,
    /// Row.
    pub row: String,
    /// Why, in words.
    pub reason: String,
}

/// The result of verifying the whole log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct VerifyView {
    /// Transfers checked.
    pub transfers: u32,
    /// Events checked.
    pub events: u32,
    /// Every bad row.
    pub problems: Vec<ProblemView>,
    /// When it ran.
    pub verified_at: i64,
}

/// An inclusion proof and the verdict computed here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ProofView {
    /// Leaf index.
    pub index: u32,
    /// Checkpoint size.
    pub tree_size: u32,
    /// Checkpoint root.
    pub root: String,
    /// Audit path.
    pub path: Vec<String>,
    /// True when the path leads from this event's hash to the checkpoint's root.
    pub verified: bool,
}

/// An exported report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ReportFile {
    /// Where it was written.
    pub path: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Bytes.
    pub bytes: u32,
}

/// Events per day and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ActivityPoint {
    /// The day, "YYYY-MM-DD" (UTC).
    pub day: String,
    /// The signer's role; none for a certificate not stored in this database.
    pub role: Option<Role>,
    /// Events.
    pub events: u32,
}

/// A drawer closing whose variance waits for a manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct VarianceView {
    /// The closing's drawer event.
    pub event: i64,
    /// The teller's staff id.
    pub teller: i64,
    /// The teller's name.
    pub teller_name: String,
    /// The drawer's account number.
    pub drawer_number: String,
    /// Counted.
    pub counted_minor: i64,
    /// Expected.
    pub expected_minor: i64,
    /// Counted less expected.
    pub variance_minor: i64,
    /// Currency.
    pub currency: String,
    /// Digits after the decimal point.
    pub exponent: u8,
    /// When the drawer was closed.
    pub created_at: i64,
}

/// An entry of a CRL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CrlEntryView {
    /// Serial, hex.
    pub serial: String,
    /// Whose certificate, when it is stored here.
    pub name: Option<String>,
    /// RFC 5280 reason.
    pub reason: RevocationReason,
    /// When.
    pub revoked_at: i64,
}

/// An issuer's newest CRL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CrlView {
    /// The issuer's certificate fingerprint.
    pub issuer: String,
    /// The issuer's name.
    pub issuer_name: String,
    /// CRL number.
    pub number: u32,
    /// This update.
    pub this_update: i64,
    /// Next update, if any.
    pub next_update: Option<i64>,
    /// Entries.
    pub entries: Vec<CrlEntryView>,
}

/// The settings screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// The bank in use: the server's URL or the embedded file's.
    pub bank: String,
    /// The pinned root's fingerprint.
    pub pinned_root: String,
    /// True when `PQBANK_DATABASE_URL` chooses the database (it overrides the settings).
    pub from_environment: bool,
}
