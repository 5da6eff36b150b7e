//! pqbank's storage layer, backend-neutral.
//!
//! A backend ([`Backend`], implemented by `pqbank-db-mysql` and `pqbank-db-sqlite`)
//! supplies transactions with a handful of primitive statements ([`LedgerTx`]); the
//! ledger flows in [`flows`] are written once over them: lock the accounts in a fixed
//! order, apply the pure rules of `pqbank-ledger`, write, commit, and retry the whole
//! transaction with backoff when the database reports a deadlock, a lock wait or a busy
//! file. Nothing is ever half applied. The statements themselves are written once too, in
//! [`sql`], and expanded for each backend from its few dialect fragments.
#![forbid(unsafe_code)]

mod code;
pub mod flows;
mod identity;
pub mod master;
mod raw;
pub mod reads;
mod retry;
mod rows;
pub mod schema;
mod seal;
pub mod sql;
pub mod views;

pub use code::StoreCode;
pub use identity::{
    CertificateRecord, Challenge, CheckpointRecord, CrlRecord, DeviceRecord, EnrolmentDecision,
    EnrolmentRecord, EventRecord, EventSign, IdentityStore, LoggedEvent, RawCertificate,
    RawChallenge, RawCheckpoint, RawCrl, RawEnrolment, RawEvent, RawSession, RevocationRecord,
    RowWrite, SessionRecord, SignError, SignedRow, Signer, hashes, sign_event,
};
pub use raw::{RawAccount, RawDrawerEvent, RawTransfer};
pub use retry::RetryPolicy;
pub use rows::*;
pub use seal::{CacheProof, Seal};

use pqbank_ledger::LedgerError;

/// A whole store: the ledger, the identity records and the screens' reads. The service
/// runs over any store; both backends are one.
pub trait Store: Backend + IdentityStore + views::ViewStore + reads::Snapshots {}

impl<S: Backend + IdentityStore + views::ViewStore + reads::Snapshots> Store for S {}

/// Everything that can go wrong in storage.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The ledger rules refused the operation.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The idempotency key was used before for a different request.
    #[error("idempotency key already used for a different request")]
    IdempotencyConflict,
    /// A row the operation needs does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A cash drawer is not in the state the operation needs.
    #[error("cash drawer: {0}")]
    Drawer(&'static str),
    /// A conflict the database reported (deadlock, lock wait, busy, duplicate key): the
    /// whole transaction is retried.
    #[error("transient conflict: {0}")]
    Transient(String),
    /// Still conflicting after every retry; nothing was applied.
    #[error("the database stayed busy after {attempts} attempts; nothing was applied")]
    Busy {
        /// Attempts made.
        attempts: u32,
    },
    /// An append-only table refused an UPDATE or DELETE.
    #[error("append-only table: rows cannot be changed or removed")]
    AppendOnly,
    /// A row an act depends on was no longer in the state it needs (a login challenge
    /// used or expired, an enrolment request already decided); nothing was written.
    #[error("{0} is no longer pending; nothing was written")]
    Stale(Stale),
    /// An account's cached totals are not proven by its seal and the journal (someone
    /// edited or put back the balance row in the database); nothing was applied.
    #[error("the cached balance of account {0} is not the journal's; nothing was applied")]
    CacheUnproven(i64),
    /// The acting device could not sign the act's event; nothing was written.
    #[error("the device could not sign: {0}; nothing was written")]
    Signing(String),
    /// Any other database failure (detail for the log, not the screen).
    #[error("database error: {0}")]
    Database(String),
    /// The schema could not be migrated.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The database's schema is not the one this build's migrations make, and this
    /// connection does not migrate (the server's runtime account cannot).
    #[error(transparent)]
    Schema(schema::SchemaMismatch),
}

impl StoreError {
    /// A stable machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// What [`StoreError::Stale`] found no longer pending.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// A login challenge: used, expired or never issued.
    Challenge,
    /// An enrolment request: already decided.
    Enrolment,
}

impl core::fmt::Display for Stale {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Challenge => "the login challenge",
            Self::Enrolment => "the enrolment request",
        })
    }
}

/// Shorthand.
pub type Result<T, E = StoreError> = core::result::Result<T, E>;
