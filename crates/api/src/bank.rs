//! The one interface a staff member's tools call once signed in, whatever carries it:
//! the embedded bank's service in process (`pqbank_service::InProcess`) or pqbank-server
//! over TLS (`pqbank_client::Session` with its `Remote`). Both answer with the wire
//! bodies of [`crate::wire`] and refuse with a code and a sentence ([`ErrorBody`]), so a
//! screen, the CLI or a test written against [`Bank`] runs unchanged on either.
//!
//! The calls not yet on it (the manager's certificate and enrolment acts, the lists, the
//! auditor's proofs, chains and report) are served and have their client methods; they
//! join this interface as the desktop moves onto it (docs/plans/server.md).

use core::future::Future;

use pqbank_ledger::TransferRequest;

use crate::wire::{
    CheckpointAnswer, DrawerAnswer, DrawerEventView, ErrorBody, OpenAnswer, PendingAnswer,
    PendingItem, PostAnswer, ResolveAnswer, SearchAnswer, VariancesAnswer, VerifyAnswer,
};

/// What a call answers: its body, or the refusal's code and sentence.
pub type BankResult<T> = Result<T, ErrorBody>;

/// A signed-in staff member's bank.
pub trait Bank: Send + Sync {
    /// The signed-in staff member.
    fn staff_id(&self) -> i64;
    /// Customers by name or number (the search is logged on the caller's chain).
    fn find_customers(&self, query: &str) -> impl Future<Output = BankResult<SearchAnswer>> + Send;
    /// The caller's drawer with its vault and variance account.
    fn drawer(&self) -> impl Future<Output = BankResult<DrawerAnswer>> + Send;
    /// Opens the caller's drawer with the counted float.
    fn open_drawer(
        &self,
        counted_minor: i64,
        key: &str,
    ) -> impl Future<Output = BankResult<OpenAnswer>> + Send;
    /// Closes the caller's drawer with the counted cash.
    fn close_drawer(
        &self,
        counted_minor: i64,
        key: &str,
    ) -> impl Future<Output = BankResult<DrawerEventView>> + Send;
    /// Posts a transfer the caller makes (signed by the caller's device).
    fn post_transfer(
        &self,
        transfer: TransferRequest,
    ) -> impl Future<Output = BankResult<PostAnswer>> + Send;
    /// Transfers waiting for a manager: a teller's own, all for a manager.
    fn pending_transfers(&self) -> impl Future<Output = BankResult<PendingAnswer>> + Send;
    /// A manager posts (`post`) or voids a pending transfer as shown.
    fn resolve_transfer(
        &self,
        item: &PendingItem,
        post: bool,
    ) -> impl Future<Output = BankResult<ResolveAnswer>> + Send;
    /// Drawer closes whose variance waits for a manager.
    fn variance_queue(&self) -> impl Future<Output = BankResult<VariancesAnswer>> + Send;
    /// A manager signs off a close's variance.
    fn sign_off_variance(&self, event_id: i64) -> impl Future<Output = BankResult<()>> + Send;
    /// An auditor signs a checkpoint of the log.
    fn checkpoint(&self) -> impl Future<Output = BankResult<CheckpointAnswer>> + Send;
    /// An auditor verifies the whole log.
    fn verify_log(&self) -> impl Future<Output = BankResult<VerifyAnswer>> + Send;
    /// Ends the session.
    fn logout(&self) -> impl Future<Output = BankResult<()>> + Send;
}
