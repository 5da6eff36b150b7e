//! The codes of [`StoreError`] as values.

use pqbank_ledger::LedgerCode;

use crate::StoreError;
use crate::schema::SchemaMismatch;

/// The code of a [`StoreError`], the ledger's refusals included: not `non_exhaustive`,
/// so that a new code breaks every exhaustive mapping of it (the window's messages among
/// them) at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreCode {
    /// `invalid_amount`.
    InvalidAmount,
    /// `insufficient_funds`.
    InsufficientFunds,
    /// `currency_mismatch`.
    CurrencyMismatch,
    /// `wrong_account_kinds`.
    WrongAccountKinds,
    /// `same_account`.
    SameAccount,
    /// `account_closed`.
    AccountClosed,
    /// `overflow`.
    Overflow,
    /// `self_approval`.
    SelfApproval,
    /// `approver_not_manager`.
    ApproverNotManager,
    /// `not_pending`.
    NotPending,
    /// `expired`.
    Expired,
    /// `invalid_request`.
    InvalidRequest,
    /// `idempotency_conflict`.
    IdempotencyConflict,
    /// `not_found`.
    NotFound,
    /// `drawer_state`.
    DrawerState,
    /// `transient`.
    Transient,
    /// `busy`.
    Busy,
    /// `append_only`.
    AppendOnly,
    /// `stale`.
    Stale,
    /// `cache_unproven`: a balance row its seal and the journal do not prove.
    CacheUnproven,
    /// `signing`.
    Signing,
    /// `database`.
    Database,
    /// `migration`.
    Migration,
    /// `schema_outdated`: migrations of this build are not applied.
    SchemaOutdated,
    /// `schema_unknown`: the database applied migrations this build does not have, or
    /// others than this build's.
    SchemaUnknown,
}

impl StoreCode {
    /// Every code.
    pub const ALL: &'static [Self] = &[
        Self::InvalidAmount,
        Self::InsufficientFunds,
        Self::CurrencyMismatch,
        Self::WrongAccountKinds,
        Self::SameAccount,
        Self::AccountClosed,
        Self::Overflow,
        Self::SelfApproval,
        Self::ApproverNotManager,
        Self::NotPending,
        Self::Expired,
        Self::InvalidRequest,
        Self::IdempotencyConflict,
        Self::NotFound,
        Self::DrawerState,
        Self::Transient,
        Self::Busy,
        Self::AppendOnly,
        Self::Stale,
        Self::CacheUnproven,
        Self::Signing,
        Self::Database,
        Self::Migration,
        Self::SchemaOutdated,
        Self::SchemaUnknown,
    ];

    /// The stable text.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidAmount => "invalid_amount",
            Self::InsufficientFunds => "insufficient_funds",
            Self::CurrencyMismatch => "currency_mismatch",
            Self::WrongAccountKinds => "wrong_account_kinds",
            Self::SameAccount => "same_account",
            Self::AccountClosed => "account_closed",
            Self::Overflow => "overflow",
            Self::SelfApproval => "self_approval",
            Self::ApproverNotManager => "approver_not_manager",
            Self::NotPending => "not_pending",
            Self::Expired => "expired",
            Self::InvalidRequest => "invalid_request",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::NotFound => "not_found",
            Self::DrawerState => "drawer_state",
            Self::Transient => "transient",
            Self::Busy => "busy",
            Self::AppendOnly => "append_only",
            Self::Stale => "stale",
            Self::CacheUnproven => "cache_unproven",
            Self::Signing => "signing",
            Self::Database => "database",
            Self::Migration => "migration",
            Self::SchemaOutdated => "schema_outdated",
            Self::SchemaUnknown => "schema_unknown",
        }
    }
}

impl From<LedgerCode> for StoreCode {
    fn from(code: LedgerCode) -> Self {
        match code {
            LedgerCode::InvalidAmount => Self::InvalidAmount,
            LedgerCode::InsufficientFunds => Self::InsufficientFunds,
            LedgerCode::CurrencyMismatch => Self::CurrencyMismatch,
            LedgerCode::WrongAccountKinds => Self::WrongAccountKinds,
            LedgerCode::SameAccount => Self::SameAccount,
            LedgerCode::AccountClosed => Self::AccountClosed,
            LedgerCode::Overflow => Self::Overflow,
            LedgerCode::SelfApproval => Self::SelfApproval,
            LedgerCode::ApproverNotManager => Self::ApproverNotManager,
            LedgerCode::NotPending => Self::NotPending,
            LedgerCode::Expired => Self::Expired,
            LedgerCode::InvalidRequest => Self::InvalidRequest,
        }
    }
}

impl StoreError {
    /// The code as a value, for callers that map it exhaustively.
    #[must_use]
    pub fn kind(&self) -> StoreCode {
        match self {
            Self::Ledger(e) => e.kind().into(),
            Self::IdempotencyConflict => StoreCode::IdempotencyConflict,
            Self::NotFound(_) => StoreCode::NotFound,
            Self::Drawer(_) => StoreCode::DrawerState,
            Self::Transient(_) => StoreCode::Transient,
            Self::Busy { .. } => StoreCode::Busy,
            Self::AppendOnly => StoreCode::AppendOnly,
            Self::Stale(_) => StoreCode::Stale,
            Self::CacheUnproven(_) => StoreCode::CacheUnproven,
            Self::Signing(_) => StoreCode::Signing,
            Self::Database(_) => StoreCode::Database,
            Self::Migration(_) => StoreCode::Migration,
            Self::Schema(SchemaMismatch::Missing { .. }) => StoreCode::SchemaOutdated,
            Self::Schema(
                SchemaMismatch::Unknown { .. }
                | SchemaMismatch::Changed { .. }
                | SchemaMismatch::Failed { .. },
            ) => StoreCode::SchemaUnknown,
        }
    }
}
