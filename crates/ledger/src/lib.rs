//! pqbank's ledger rules, pure: no I/O, no clock (time arrives as UNIX seconds).
//!
//! Double entry in the manner of TigerBeetle: every transfer debits one account and
//! credits another by the same positive amount of one currency; each account keeps
//! posted and pending totals on both sides, so its balance is derived, never stored as
//! a free number. A transfer above the four-eyes threshold is created pending: the
//! amount is reserved on the side that reduces the debited account, and it is posted or
//! voided later by a manager other than its maker, or expires.
//!
//! The storage crates lock the two accounts, call [`decide`] with their state, and write
//! what it returns; [`Book`] is the same rules over an in-memory map, for property tests.
#![forbid(unsafe_code)]

mod book;
mod drawer;
mod money;
mod transfer;

pub use book::Book;
pub use drawer::{
    ClosingActs, DRAWER_KEY_LEN_MAX, DRAWER_LABEL, DrawerAccounts, DrawerActs, DrawerEventKind,
    DrawerEventRequest, VARIANCE_SIGN_OFF_LABEL, variance_sign_off_bytes,
};
pub use money::{Amount, Currency, MoneyError, format_minor};
pub use transfer::{
    APPROVAL_LABEL, AccountKind, AccountState, ApprovalRequest, Balances, Decision, Policy,
    Resolution, Side, TransferKind, TransferRequest, TransferStatus, check_approver, decide,
    resolve,
};

/// Why the ledger refused an operation.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// An amount could not be parsed or computed.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The debited account would go below its limit.
    #[error("insufficient funds: available {available} minor units, needed {needed}")]
    InsufficientFunds {
        /// What the account can still give.
        available: i64,
        /// What the transfer asks.
        needed: i64,
    },
    /// The accounts, or the amount, are in different currencies.
    #[error("accounts of different currencies never exchange value")]
    CurrencyMismatch,
    /// The transfer kind does not fit the kinds of its accounts.
    #[error("{kind} needs a {debit} to debit and a {credit} to credit")]
    WrongAccountKinds {
        /// The transfer kind.
        kind: &'static str,
        /// The account kind it debits.
        debit: &'static str,
        /// The account kind it credits.
        credit: &'static str,
    },
    /// Debit and credit are the same account.
    #[error("a transfer needs two different accounts")]
    SameAccount,
    /// The account is closed.
    #[error("the account is closed")]
    AccountClosed,
    /// A total would overflow.
    #[error("the account totals would overflow")]
    Overflow,
    /// The maker tried to approve their own transfer.
    #[error("the maker of a transfer cannot approve it")]
    SelfApproval,
    /// The approver is not a manager.
    #[error("only a manager can approve")]
    ApproverNotManager,
    /// The transfer is not pending (already posted, voided or expired).
    #[error("the transfer is not pending")]
    NotPending,
    /// The pending transfer's time ran out.
    #[error("the pending transfer has expired")]
    Expired,
    /// An idempotency key or memo is too long, or empty.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
}

impl LedgerError {
    /// A stable machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The code as a value, for callers that map it exhaustively.
    #[must_use]
    pub fn kind(&self) -> LedgerCode {
        match self {
            Self::Money(_) => LedgerCode::InvalidAmount,
            Self::InsufficientFunds { .. } => LedgerCode::InsufficientFunds,
            Self::CurrencyMismatch => LedgerCode::CurrencyMismatch,
            Self::WrongAccountKinds { .. } => LedgerCode::WrongAccountKinds,
            Self::SameAccount => LedgerCode::SameAccount,
            Self::AccountClosed => LedgerCode::AccountClosed,
            Self::Overflow => LedgerCode::Overflow,
            Self::SelfApproval => LedgerCode::SelfApproval,
            Self::ApproverNotManager => LedgerCode::ApproverNotManager,
            Self::NotPending => LedgerCode::NotPending,
            Self::Expired => LedgerCode::Expired,
            Self::InvalidRequest(_) => LedgerCode::InvalidRequest,
        }
    }
}

/// The code of a [`LedgerError`]: not `non_exhaustive`, so that a new code breaks every
/// exhaustive mapping of it (the window's messages among them) at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedgerCode {
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
}

impl LedgerCode {
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
        }
    }
}
