//! Accounts, transfers and the decision whether a transfer posts, waits for approval or
//! is refused.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};
use sha3::{Digest, Sha3_256};

use crate::{Amount, Currency, LedgerError};

/// Domain label of a transfer's canonical bytes.
pub const TRANSFER_LABEL: &[u8] = b"pqbank/transfer/v1";
/// Longest idempotency key.
pub const IDEMPOTENCY_KEY_LEN_MAX: usize = 64;
/// Longest memo.
pub const MEMO_LEN_MAX: usize = 140;

/// A side of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Debit.
    Debit,
    /// Credit.
    Credit,
}

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $t:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        // One table: the stored text is the serialised one, and the window's type.
        pub enum $name { $($(#[$vm])* #[serde(rename = $t)] $v,)+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [Self] = &[$(Self::$v,)+];

            /// The stable text form, as stored.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$v => $t,)+ }
            }
        }

        impl FromStr for $name {
            type Err = LedgerError;
            fn from_str(s: &str) -> Result<Self, LedgerError> {
                match s {
                    $($t => Ok(Self::$v),)+
                    _ => Err(LedgerError::InvalidRequest(concat!("unknown ", stringify!($name)))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// What an account is.
    AccountKind {
        /// A customer's account: credit-normal (the bank owes the customer).
        Customer => "customer",
        /// A teller's cash drawer: debit-normal (cash on hand), never below zero.
        CashDrawer => "cash_drawer",
        /// The bank's own accounts: vault, cash variance.
        BankInternal => "bank_internal",
    }
}

text_enum! {
    /// What a transfer does; each kind fixes the kinds of its two accounts.
    TransferKind {
        /// Cash in: debit the drawer, credit the customer.
        Deposit => "deposit",
        /// Cash out: debit the customer, credit the drawer.
        Withdrawal => "withdrawal",
        /// Between two customer accounts.
        Transfer => "transfer",
        /// Opening float: debit the drawer, credit the vault.
        DrawerOpen => "drawer_open",
        /// Closing: debit the vault, credit the drawer with the counted cash.
        DrawerClose => "drawer_close",
        /// Counted more than expected: debit the drawer, credit the variance account.
        VarianceOver => "variance_over",
        /// Counted less than expected: debit the variance account, credit the drawer.
        VarianceShort => "variance_short",
    }
}

text_enum! {
    /// Where a transfer stands.
    TransferStatus {
        /// Applied to the balances.
        Posted => "posted",
        /// Reserved, waiting for a manager.
        Pending => "pending",
        /// Refused by a manager; the reservation is released.
        Voided => "voided",
        /// Not approved in time; the reservation is released.
        Expired => "expired",
    }
}

impl TransferKind {
    /// The account kinds this transfer debits and credits.
    #[must_use]
    pub const fn accounts(self) -> (AccountKind, AccountKind) {
        use AccountKind::*;
        match self {
            Self::Deposit => (CashDrawer, Customer),
            Self::Withdrawal => (Customer, CashDrawer),
            Self::Transfer => (Customer, Customer),
            Self::DrawerOpen | Self::VarianceOver => (CashDrawer, BankInternal),
            Self::DrawerClose | Self::VarianceShort => (BankInternal, CashDrawer),
        }
    }

    /// True for the customer-facing kinds that the four-eyes rule applies to.
    #[must_use]
    pub const fn is_customer_facing(self) -> bool {
        matches!(self, Self::Deposit | Self::Withdrawal | Self::Transfer)
    }
}

impl AccountKind {
    /// The side on which this kind of account grows.
    #[must_use]
    pub const fn normal_side(self) -> Side {
        match self {
            Self::Customer => Side::Credit,
            Self::CashDrawer | Self::BankInternal => Side::Debit,
        }
    }
}

/// An account's four totals, in minor units; never negative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Balances {
    /// Sum of posted debits.
    pub debits_posted: i64,
    /// Sum of posted credits.
    pub credits_posted: i64,
    /// Sum of pending debits.
    pub debits_pending: i64,
    /// Sum of pending credits.
    pub credits_pending: i64,
}

impl Balances {
    /// Posted balance on the account's normal side.
    #[must_use]
    pub fn balance(&self, normal: Side) -> i128 {
        let (up, down) = match normal {
            Side::Credit => (self.credits_posted, self.debits_posted),
            Side::Debit => (self.debits_posted, self.credits_posted),
        };
        i128::from(up) - i128::from(down)
    }

    /// What the account can still give: the posted balance less pending reductions.
    #[must_use]
    pub fn available(&self, normal: Side) -> i128 {
        let reserved = match normal {
            Side::Credit => self.debits_pending,
            Side::Debit => self.credits_pending,
        };
        self.balance(normal) - i128::from(reserved)
    }

    fn add(&self, side: Side, pending: bool, amount: i64) -> Result<Self, LedgerError> {
        let mut next = *self;
        let slot = match (side, pending) {
            (Side::Debit, false) => &mut next.debits_posted,
            (Side::Credit, false) => &mut next.credits_posted,
            (Side::Debit, true) => &mut next.debits_pending,
            (Side::Credit, true) => &mut next.credits_pending,
        };
        *slot = slot.checked_add(amount).ok_or(LedgerError::Overflow)?;
        Ok(next)
    }

    fn release(&self, side: Side, amount: i64) -> Result<Self, LedgerError> {
        let mut next = *self;
        let slot = match side {
            Side::Debit => &mut next.debits_pending,
            Side::Credit => &mut next.credits_pending,
        };
        *slot = slot
            .checked_sub(amount)
            .filter(|v| *v >= 0)
            .ok_or(LedgerError::Overflow)?;
        Ok(next)
    }
}

/// An account as the ledger rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    /// Identifier.
    pub id: i64,
    /// Kind.
    pub kind: AccountKind,
    /// Currency.
    pub currency: Currency,
    /// Lowest balance allowed on the normal side, in minor units: 0 for drawers, minus
    /// the overdraft for customers, `None` for internal accounts without a limit.
    pub floor: Option<i64>,
    /// A closed account takes no new transfers.
    pub closed: bool,
    /// Totals.
    pub balances: Balances,
}

/// The four-eyes policy and the life of a pending transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Customer-facing transfers above this many minor units wait for a manager.
    pub approval_threshold_minor: i64,
    /// Seconds a pending transfer waits before it expires.
    pub pending_ttl_secs: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            approval_threshold_minor: 1_000_000,
            pending_ttl_secs: 24 * 3600,
        }
    }
}

impl Policy {
    /// True if the transfer must wait for a manager.
    #[must_use]
    pub fn requires_approval(&self, kind: TransferKind, amount: Amount) -> bool {
        kind.is_customer_facing() && amount.minor() > self.approval_threshold_minor
    }
}

/// What a teller (or the drawer flow) asks the ledger to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    /// The staff member who makes the transfer.
    pub maker: i64,
    /// Unique per maker; a retry with the same key returns the first result.
    pub idempotency_key: String,
    /// Kind.
    pub kind: TransferKind,
    /// Account debited.
    pub debit: i64,
    /// Account credited.
    pub credit: i64,
    /// Amount.
    pub amount: Amount,
    /// Free text for the statement.
    pub memo: String,
    /// When the maker signed, UNIX seconds.
    pub created_at: i64,
}

impl TransferRequest {
    /// Checks the key and memo bounds.
    pub fn validate(&self) -> Result<(), LedgerError> {
        let key = &self.idempotency_key;
        if key.is_empty()
            || key.len() > IDEMPOTENCY_KEY_LEN_MAX
            || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(LedgerError::InvalidRequest(
                "idempotency key must be 1 to 64 visible ASCII characters",
            ));
        }
        if self.memo.chars().count() > MEMO_LEN_MAX {
            return Err(LedgerError::InvalidRequest(
                "memo longer than 140 characters",
            ));
        }
        if self.debit == self.credit {
            return Err(LedgerError::SameAccount);
        }
        Ok(())
    }

    /// The bytes the maker signs: a domain label and every field, length-prefixed.
    #[must_use]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.memo.len());
        out.extend_from_slice(TRANSFER_LABEL);
        out.extend_from_slice(&self.maker.to_be_bytes());
        push_str(&mut out, &self.idempotency_key);
        push_str(&mut out, self.kind.as_str());
        out.extend_from_slice(&self.debit.to_be_bytes());
        out.extend_from_slice(&self.credit.to_be_bytes());
        out.extend_from_slice(&self.amount.minor().to_be_bytes());
        push_str(&mut out, self.amount.currency().code());
        push_str(&mut out, &self.memo);
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out
    }

    /// SHA3-256 of the canonical bytes: what idempotency compares.
    #[must_use]
    pub fn request_hash(&self) -> [u8; 32] {
        Sha3_256::digest(self.canonical_bytes()).into()
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// What a transfer does to its two accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Posted or pending.
    pub status: TransferStatus,
    /// For a pending transfer, when it expires.
    pub expires_at: Option<i64>,
    /// The debited account's totals afterwards.
    pub debit_after: Balances,
    /// The credited account's totals afterwards.
    pub credit_after: Balances,
}

/// Decides a transfer against the two locked accounts at `now` (the ledger's clock, not
/// the maker's: a pending transfer's expiry runs from when the ledger accepted it).
pub fn decide(
    request: &TransferRequest,
    debit: &AccountState,
    credit: &AccountState,
    policy: &Policy,
    now: i64,
) -> Result<Decision, LedgerError> {
    request.validate()?;
    if request.amount.minor() <= 0 {
        return Err(LedgerError::Money(crate::MoneyError::Zero));
    }
    if debit.id != request.debit || credit.id != request.credit {
        return Err(LedgerError::InvalidRequest(
            "accounts do not match the request",
        ));
    }
    if debit.closed || credit.closed {
        return Err(LedgerError::AccountClosed);
    }
    let (want_debit, want_credit) = request.kind.accounts();
    if debit.kind != want_debit || credit.kind != want_credit {
        return Err(LedgerError::WrongAccountKinds {
            kind: request.kind.as_str(),
            debit: want_debit.as_str(),
            credit: want_credit.as_str(),
        });
    }
    let currency = request.amount.currency();
    if debit.currency != currency || credit.currency != currency {
        return Err(LedgerError::CurrencyMismatch);
    }
    let amount = request.amount.minor();
    check_floor(debit, Side::Debit, amount)?;
    check_floor(credit, Side::Credit, amount)?;
    let pending = policy.requires_approval(request.kind, request.amount);
    Ok(Decision {
        status: if pending {
            TransferStatus::Pending
        } else {
            TransferStatus::Posted
        },
        expires_at: pending.then(|| now.saturating_add(policy.pending_ttl_secs)),
        debit_after: debit.balances.add(Side::Debit, pending, amount)?,
        credit_after: credit.balances.add(Side::Credit, pending, amount)?,
    })
}

/// An entry on `side` reduces the account when that is not its normal side; then the
/// available balance must stay at or above the floor.
fn check_floor(account: &AccountState, side: Side, amount: i64) -> Result<(), LedgerError> {
    let normal = account.kind.normal_side();
    let Some(floor) = account.floor else {
        return Ok(());
    };
    if side == normal {
        return Ok(());
    }
    let available = account.balances.available(normal) - i128::from(floor);
    if available < i128::from(amount) {
        return Err(LedgerError::InsufficientFunds {
            available: i64::try_from(available.max(0)).unwrap_or(i64::MAX),
            needed: amount,
        });
    }
    Ok(())
}

/// How a pending transfer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// A manager posts it.
    Post,
    /// A manager voids it.
    Void,
    /// Its time ran out.
    Expire,
}

impl Resolution {
    /// The status it leaves the transfer in.
    #[must_use]
    pub const fn status(self) -> TransferStatus {
        match self {
            Self::Post => TransferStatus::Posted,
            Self::Void => TransferStatus::Voided,
            Self::Expire => TransferStatus::Expired,
        }
    }
}

/// Applies a resolution of a pending transfer of `amount` to its two accounts' totals.
pub fn resolve(
    resolution: Resolution,
    amount: i64,
    debit: &Balances,
    credit: &Balances,
) -> Result<(Balances, Balances), LedgerError> {
    let debit = debit.release(Side::Debit, amount)?;
    let credit = credit.release(Side::Credit, amount)?;
    match resolution {
        Resolution::Post => Ok((
            debit.add(Side::Debit, false, amount)?,
            credit.add(Side::Credit, false, amount)?,
        )),
        Resolution::Void | Resolution::Expire => Ok((debit, credit)),
    }
}

/// The four-eyes rule: the approver is a manager and not the maker.
pub fn check_approver(
    maker: i64,
    approver: i64,
    approver_is_manager: bool,
) -> Result<(), LedgerError> {
    if maker == approver {
        return Err(LedgerError::SelfApproval);
    }
    if !approver_is_manager {
        return Err(LedgerError::ApproverNotManager);
    }
    Ok(())
}

/// Domain label of an approval's canonical bytes.
pub const APPROVAL_LABEL: &[u8] = b"pqbank/approval/v1";

/// A manager's decision on a pending transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// The transfer.
    pub transfer_id: i64,
    /// SHA3-256 of the transfer the approver reviewed: a changed transfer is not approved.
    pub transfer_hash: [u8; 32],
    /// The approver.
    pub approver: i64,
    /// Whether the approver holds the manager role (checked by the service).
    pub approver_is_manager: bool,
    /// Post or void.
    pub decision: Resolution,
    /// When the approver signed, UNIX seconds.
    pub created_at: i64,
}

impl ApprovalRequest {
    /// The bytes the approver signs.
    #[must_use]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = APPROVAL_LABEL.to_vec();
        out.extend_from_slice(&self.transfer_id.to_be_bytes());
        out.extend_from_slice(&self.transfer_hash);
        out.extend_from_slice(&self.approver.to_be_bytes());
        out.push(match self.decision {
            Resolution::Post => 1,
            Resolution::Void => 2,
            Resolution::Expire => 3,
        });
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out
    }
}
