//! Row types, the signed requests the flows store, and the two traits a backend
//! implements.

use core::future::Future;

use pqbank_ledger::{
    AccountKind, AccountState, Balances, Currency, TransferRequest, TransferStatus,
};
use serde::Serialize;

use crate::Result;

pub use pqbank_ledger::{APPROVAL_LABEL, DRAWER_LABEL, DrawerEventKind, DrawerEventRequest};

/// Who signed a row: the composite signature over the row's canonical bytes and the
/// SHA3-256 fingerprint of the signer's certificate. The service layer signs and
/// verifies; storage keeps both with the exact bytes that were signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBy {
    /// Composite signature.
    pub signature: Vec<u8>,
    /// Fingerprint of the signer's certificate.
    pub signer: [u8; 32],
}

/// A transfer request with its maker's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransfer {
    /// The request; its canonical bytes are what was signed.
    pub request: TransferRequest,
    /// The signature.
    pub signed: SignedBy,
}

/// A stored transfer with its current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRow {
    /// Identifier.
    pub id: i64,
    /// The request as signed.
    pub request: TransferRequest,
    /// SHA3-256 of the canonical bytes.
    pub request_hash: [u8; 32],
    /// Status when created (posted or pending).
    pub created_status: TransferStatus,
    /// Current status (a pending transfer may since be posted, voided or expired).
    pub status: TransferStatus,
    /// Expiry of a pending transfer.
    pub expires_at: Option<i64>,
    /// The exact bytes the maker signed.
    pub signed_bytes: Vec<u8>,
    /// The maker's signature.
    pub signed: SignedBy,
    /// When storage recorded it.
    pub recorded_at: i64,
}

/// What posting a transfer returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TransferOutcome {
    /// The transfer's identifier.
    pub id: i64,
    /// Its status.
    pub status: TransferStatus,
    /// Expiry if pending.
    pub expires_at: Option<i64>,
    /// True if this was a retry answered with the first result.
    pub replayed: bool,
}

pub use pqbank_ledger::ApprovalRequest;

/// An approval with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedApproval {
    /// The decision.
    pub request: ApprovalRequest,
    /// The approver's signature.
    pub signed: SignedBy,
}

/// A row of the append-only approvals table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApprovalRow {
    /// The pending transfer resolved, if any.
    pub transfer_id: Option<i64>,
    /// The drawer close event signed off, if any.
    pub drawer_event_id: Option<i64>,
    /// "post", "void", "expire" or "sign_off".
    pub decision: &'static str,
    /// The approver; none for an expiry.
    pub approver: Option<i64>,
    /// When.
    pub created_at: i64,
    /// The signed bytes and signature; none for an expiry.
    pub signed: Option<(Vec<u8>, SignedBy)>,
}

/// A transfer row about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransferRow<'a> {
    /// The signed request.
    pub transfer: &'a SignedTransfer,
    /// Its canonical bytes.
    pub signed_bytes: Vec<u8>,
    /// Their SHA3-256.
    pub request_hash: [u8; 32],
    /// Posted or pending.
    pub status: TransferStatus,
    /// Expiry if pending.
    pub expires_at: Option<i64>,
    /// When storage records it.
    pub recorded_at: i64,
}

/// A drawer event with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDrawerEvent {
    /// The event.
    pub request: DrawerEventRequest,
    /// The teller's signature.
    pub signed: SignedBy,
}

/// A stored drawer event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrawerEventRow {
    /// Identifier.
    pub id: i64,
    /// Drawer account.
    pub drawer: i64,
    /// Teller.
    pub teller: i64,
    /// Open or close.
    pub kind: DrawerEventKind,
    /// The teller's idempotency key.
    pub idempotency_key: String,
    /// Counted amount.
    pub counted_minor: i64,
    /// Expected amount (close only).
    pub expected_minor: Option<i64>,
    /// Counted minus expected (close only).
    pub variance_minor: Option<i64>,
    /// When.
    pub created_at: i64,
}

/// A new customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomer {
    /// Customer number.
    pub number: String,
    /// Full name.
    pub full_name: String,
}

/// A stored customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CustomerRow {
    /// Identifier.
    pub id: i64,
    /// Customer number.
    pub number: String,
    /// Full name.
    pub full_name: String,
}

/// A new account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// Account number.
    pub number: String,
    /// Owner, for customer accounts.
    pub customer_id: Option<i64>,
    /// Kind.
    pub kind: AccountKind,
    /// Currency.
    pub currency: Currency,
    /// Floor in minor units (see [`AccountState::floor`]).
    pub floor_minor: Option<i64>,
    /// Label.
    pub label: String,
}

/// A stored account with its cached totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Identifier.
    pub id: i64,
    /// Account number.
    pub number: String,
    /// Owner.
    pub customer_id: Option<i64>,
    /// Kind.
    pub kind: AccountKind,
    /// Currency.
    pub currency: Currency,
    /// Floor.
    pub floor_minor: Option<i64>,
    /// Closed.
    pub closed: bool,
    /// Label.
    pub label: String,
    /// Cached totals.
    pub balances: Balances,
    /// What proves the cached totals when the account is locked under a seal
    /// ([`crate::Seal`]); empty when read otherwise.
    pub cache: crate::CacheProof,
}

impl AccountRow {
    /// The state the ledger rules decide on.
    #[must_use]
    pub fn state(&self) -> AccountState {
        AccountState {
            id: self.id,
            kind: self.kind,
            currency: self.currency,
            floor: self.floor_minor,
            closed: self.closed,
            balances: self.balances,
        }
    }

    /// Posted balance on the account's normal side.
    #[must_use]
    pub fn balance(&self) -> i128 {
        self.balances.balance(self.kind.normal_side())
    }
}

/// A new staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    /// Staff number.
    pub number: String,
    /// Name.
    pub display_name: String,
    /// "manager", "teller" or "auditor".
    pub role: String,
}

/// What the invariant check found; all empty in a sound ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvariantReport {
    /// Currencies whose debits and credits differ: (currency, posted, pending).
    pub imbalance: Vec<(String, i128, i128)>,
    /// Accounts whose available balance is below their floor.
    pub below_floor: Vec<i64>,
    /// Accounts whose cached totals differ from the journal.
    pub cache_mismatch: Vec<i64>,
}

impl InvariantReport {
    /// True if every invariant holds.
    #[must_use]
    pub fn is_sound(&self) -> bool {
        self.imbalance.is_empty() && self.below_floor.is_empty() && self.cache_mismatch.is_empty()
    }
}

/// One database transaction with the primitive statements the flows need. Dropping it
/// without [`LedgerTx::commit`] rolls back.
pub trait LedgerTx: Send {
    /// The transfer a maker made with `key`, with its current status.
    fn transfer_by_key(
        &mut self,
        maker: i64,
        key: &str,
    ) -> impl Future<Output = Result<Option<TransferRow>>> + Send;
    /// A transfer by id, with its current status.
    fn transfer(&mut self, id: i64) -> impl Future<Output = Result<Option<TransferRow>>> + Send;
    /// The seal this transaction's balance rows are checked against and written with,
    /// if the store holds one ([`Backend::with_seal`]).
    fn seal(&self) -> Option<&crate::Seal>;
    /// Locks the accounts in ascending id order (no deadlocks by design) and reads them;
    /// under a seal, each with what proves its cached totals ([`crate::CacheProof`]).
    fn lock_accounts(
        &mut self,
        ids: &[i64],
    ) -> impl Future<Output = Result<Vec<AccountRow>>> + Send;
    /// Appends a transfer; returns its id.
    fn insert_transfer(
        &mut self,
        row: &NewTransferRow<'_>,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// Rewrites an account's cached totals, with the newest transfer applied to it and
    /// the row's seal (none without a seal key).
    fn write_balances(
        &mut self,
        account: i64,
        balances: &Balances,
        last_transfer: Option<i64>,
        seal: Option<[u8; 32]>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Appends an approval.
    fn insert_approval(&mut self, row: &NewApprovalRow)
    -> impl Future<Output = Result<i64>> + Send;
    /// The newest event of a drawer.
    fn last_drawer_event(
        &mut self,
        drawer: i64,
    ) -> impl Future<Output = Result<Option<DrawerEventRow>>> + Send;
    /// Appends a drawer event.
    fn insert_drawer_event(
        &mut self,
        event: &SignedDrawerEvent,
        expected: Option<i64>,
        recorded_at: i64,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// A drawer close event and whether it has been signed off.
    fn drawer_close(
        &mut self,
        event_id: i64,
    ) -> impl Future<Output = Result<Option<(DrawerEventRow, bool)>>> + Send;
    /// Totals per account recomputed from the journal (transfers and resolutions).
    fn journal_totals(&mut self) -> impl Future<Output = Result<Vec<(i64, Balances)>>> + Send;
    /// Appends the next event of a certificate's chain in this transaction, so an act
    /// and its accountability event commit or fail together.
    fn append_event(
        &mut self,
        certificate: &[u8; 32],
        kind: &str,
        payload: &[u8],
        created_at: i64,
        sign: crate::Signer<'_>,
    ) -> impl Future<Output = Result<crate::EventRecord>> + Send;
    /// Commits.
    fn commit(self) -> impl Future<Output = Result<()>> + Send;
}

/// A storage backend.
pub trait Backend: Send + Sync {
    /// Its transaction type.
    type Tx: LedgerTx;
    /// The store, its flows checking and writing every balance row under `seal`: a
    /// bank server's ([`crate::Seal`]).
    #[must_use]
    fn with_seal(self, seal: crate::Seal) -> Self
    where
        Self: Sized;
    /// Starts a write transaction.
    fn begin(&self) -> impl Future<Output = Result<Self::Tx>> + Send;
    /// Runs the forward-only migrations.
    fn migrate(&self) -> impl Future<Output = Result<()>> + Send;
    /// Adds a staff member; returns the id. With a maker, its first version
    /// ([`crate::master`]) joins the maker's chain in the same transaction.
    fn create_staff(
        &self,
        staff: &NewStaff,
        now: i64,
        maker: Option<crate::master::Maker<'_>>,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// Adds a customer; returns the id. With a maker, as [`Self::create_staff`].
    fn create_customer(
        &self,
        customer: &NewCustomer,
        now: i64,
        maker: Option<crate::master::Maker<'_>>,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// Opens an account with zero totals; returns the id. With a maker, as
    /// [`Self::create_staff`].
    fn create_account(
        &self,
        account: &NewAccount,
        now: i64,
        maker: Option<crate::master::Maker<'_>>,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// Every customer, in id order.
    fn customers(&self) -> impl Future<Output = Result<Vec<CustomerRow>>> + Send;
    /// An account.
    fn account(&self, id: i64) -> impl Future<Output = Result<Option<AccountRow>>> + Send;
    /// Every account.
    fn accounts(&self) -> impl Future<Output = Result<Vec<AccountRow>>> + Send;
    /// Pending transfers (without a resolution) that expire before `now`.
    fn expired_pending(&self, now: i64) -> impl Future<Output = Result<Vec<i64>>> + Send;
    /// Totals per account recomputed from the journal (transfers and resolutions).
    fn journal_totals(&self) -> impl Future<Output = Result<Vec<(i64, Balances)>>> + Send;
    /// Number of transfers per (maker, idempotency key) that occur more than once.
    fn duplicate_keys(&self) -> impl Future<Output = Result<u64>> + Send;
    /// Customers whose name, customer number or one of whose account numbers contains
    /// `query` (case-insensitive), by name.
    fn find_customers(
        &self,
        query: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<CustomerRow>>> + Send;
    /// A customer's accounts.
    fn customer_accounts(
        &self,
        customer: i64,
    ) -> impl Future<Output = Result<Vec<AccountRow>>> + Send;
    /// Every transfer, in id order.
    fn transfers(&self) -> impl Future<Output = Result<Vec<TransferRow>>> + Send;
}
