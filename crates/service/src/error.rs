//! The service's errors: a stable code for the UI, and a message for people. Raw detail
//! (database text, crypto and I/O errors) stays in the value and the operator's log,
//! never in the message.

use core::fmt;

use pqbank_db::{StoreCode, StoreError};

/// Why the service refused or failed a call.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The session is unknown, ended, or idle too long.
    #[error("the session has ended; log in again")]
    SessionEnded,
    /// The certificate chain no longer validates (revoked, expired, rollback, ...).
    #[error("certificate refused: {0}")]
    Certificate(pqbank_pki::Error),
    /// The login transcript or challenge does not hold.
    #[error("login refused: {0}")]
    Login(pqbank_pki::Error),
    /// The nonce was already used, has expired, or was never issued.
    #[error("the login challenge is unknown, expired or already used")]
    ChallengeUsed,
    /// The certificate's purpose or role does not allow the action.
    #[error("not allowed: {0}")]
    Forbidden(pqbank_pki::Error),
    /// The certificate is not stored, or its issuer chain is incomplete.
    #[error("unknown certificate")]
    UnknownCertificate,
    /// The ledger or storage refused.
    #[error("{}", store_message(.0))]
    Store(StoreError),
    /// A proof or checkpoint cannot be made as asked.
    #[error("audit: {0}")]
    Audit(&'static str),
    /// An enrolment request cannot be decided or collected as asked.
    #[error("enrolment: {0}")]
    Enrolment(&'static str),
    /// The device's keys or the OS randomness failed (the detail is for the log).
    #[error("this device could not sign or prepare the request")]
    Device(String),
    /// The installation's pins (CRL numbers, the log's size and root) cannot be read or
    /// written (the detail is for the log).
    #[error(
        "this installation's record of the newest revocation lists and log it has seen \
         cannot be read or written"
    )]
    CrlPins(String),
    /// A signed request was refused before its certificate was asked (its bytes, its
    /// clock, its counter).
    #[error("{0}")]
    Request(pqbank_api::RequestError),
    /// Cash named a drawer that is not the caller's own open drawer.
    #[error("cash goes through your own open drawer: open it first")]
    DrawerNotYours,
    /// The caller has no drawer to open, or the bank lacks the drawer's vault or
    /// variance account.
    #[error("{0}")]
    NoDrawer(&'static str),
}

impl From<StoreError> for ServiceError {
    /// A device that could not sign an act's event is a device failure, not a storage one
    /// (the store rolled the act back).
    fn from(e: StoreError) -> Self {
        crate::trace::log_store_error(&e);
        match e {
            StoreError::Signing(detail) => Self::Device(format!("could not sign: {detail}")),
            other => Self::Store(other),
        }
    }
}

/// What people read of a storage error: the ledger's refusals as they are (they name
/// the rule), the database's own failures as a plain sentence (their text is logged).
fn store_message(e: &StoreError) -> String {
    match e {
        StoreError::Database(_) => "the database failed; nothing was changed".into(),
        StoreError::Migration(_) => "the database schema could not be brought up to date".into(),
        StoreError::Transient(_) => "a temporary database conflict; nothing was changed".into(),
        StoreError::Signing(_) => "the device could not sign; nothing was written".into(),
        other => other.to_string(),
    }
}

impl ServiceError {
    /// A stable machine-readable code: the UI branches on this, never on the message.
    #[must_use]
    pub fn code(&self) -> String {
        self.kind().to_string()
    }

    /// The code as a value, for callers that map it exhaustively (the window's codes).
    #[must_use]
    pub fn kind(&self) -> ServiceCode {
        match self {
            Self::SessionEnded => ServiceCode::SessionEnded,
            Self::Certificate(e) => ServiceCode::Certificate(e.kind()),
            Self::Login(e) => ServiceCode::Login(e.kind()),
            Self::ChallengeUsed => ServiceCode::ChallengeUsed,
            Self::Forbidden(e) => ServiceCode::Forbidden(e.kind()),
            Self::UnknownCertificate => ServiceCode::UnknownCertificate,
            Self::Store(e) => ServiceCode::Store(e.kind()),
            Self::Audit(_) => ServiceCode::Audit,
            Self::Enrolment(_) => ServiceCode::Enrolment,
            Self::Device(_) => ServiceCode::Device,
            Self::CrlPins(_) => ServiceCode::CrlPins,
            Self::Request(e) => ServiceCode::Request(e.code),
            Self::DrawerNotYours => ServiceCode::DrawerNotYours,
            Self::NoDrawer(_) => ServiceCode::NoDrawer,
        }
    }
}

/// The code of a [`ServiceError`]; its text ([`fmt::Display`]) is [`ServiceError::code`].
/// Not `non_exhaustive`: a new code breaks every exhaustive mapping of it (the window's
/// messages among them) at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceCode {
    /// `session_ended`.
    SessionEnded,
    /// `certificate.<pki code>`.
    Certificate(pqbank_pki::ErrorCode),
    /// `login.<pki code>`.
    Login(pqbank_pki::ErrorCode),
    /// `challenge_used`.
    ChallengeUsed,
    /// `forbidden.<pki code>`.
    Forbidden(pqbank_pki::ErrorCode),
    /// `unknown_certificate`.
    UnknownCertificate,
    /// `store.<store code>`.
    Store(StoreCode),
    /// `audit`.
    Audit,
    /// `enrolment`.
    Enrolment,
    /// `device`.
    Device,
    /// `crl_pins`.
    CrlPins,
    /// `request.<request code>`.
    Request(pqbank_api::RequestCode),
    /// `drawer.not_yours`.
    DrawerNotYours,
    /// `drawer.none`.
    NoDrawer,
}

impl fmt::Display for ServiceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SessionEnded => f.write_str("session_ended"),
            Self::Certificate(c) => write!(f, "certificate.{}", c.as_str()),
            Self::Login(c) => write!(f, "login.{}", c.as_str()),
            Self::ChallengeUsed => f.write_str("challenge_used"),
            Self::Forbidden(c) => write!(f, "forbidden.{}", c.as_str()),
            Self::UnknownCertificate => f.write_str("unknown_certificate"),
            Self::Store(c) => write!(f, "store.{}", c.as_str()),
            Self::Audit => f.write_str("audit"),
            Self::Enrolment => f.write_str("enrolment"),
            Self::Device => f.write_str("device"),
            Self::CrlPins => f.write_str("crl_pins"),
            Self::Request(c) => write!(f, "{c}"),
            Self::DrawerNotYours => f.write_str("drawer.not_yours"),
            Self::NoDrawer => f.write_str("drawer.none"),
        }
    }
}
