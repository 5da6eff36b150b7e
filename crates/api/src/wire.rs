//! The bodies of requests and answers, as JSON. Binary values travel as standard
//! base64 text, fingerprints as lowercase hex. Every body is a JSON object; an error is
//! [`ErrorBody`] with an HTTP status saying which kind it is.

use pqbank_ledger::{AccountKind, Currency, TransferRequest, TransferStatus};
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
