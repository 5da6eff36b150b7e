//! The one interface a staff member's tools call once signed in, whatever carries it:
//! the embedded bank's service in process (`pqbank_service::InProcess`) or pqbank-server
//! over TLS (`pqbank_client::Session` with its `Remote`). Both answer with the wire
//! bodies of [`crate::wire`] and refuse with a code and a sentence ([`ErrorBody`]), so a
//! screen, the CLI or a test written against [`Bank`] runs unchanged on either.
//!
//! Signing in, and what a device does before anyone signs in (asking to be enrolled,
//! reading its request), happen before a `Bank` exists: `InProcess::login` and
//! `pqbank_client::Remote::login` make one.

use core::future::Future;

use pqbank_ledger::TransferRequest;
use pqbank_pki::{Fingerprint, RevocationReason, Role};

use crate::wire::{
    ActivityAnswer, ApproveAnswer, ChainAnswer, CheckpointAnswer, CrlsAnswer, DrawerAnswer,
    DrawerEventView, EnrolmentsAnswer, ErrorBody, OpenAnswer, PendingAnswer, PostAnswer,
    ProofAnswer, RenewAnswer, ResolveAnswer, RevokeAnswer, SearchAnswer, StaffAnswer,
    VariancesAnswer, VerifyAnswer,
};

/// What a call answers: its body, or the refusal's code and sentence.
pub type BankResult<T> = Result<T, ErrorBody>;

/// An accountability report as the bank made it, signed by the auditor's device over
/// its exact bytes (the act context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedReport {
    /// The report (JSON).
    pub json: Vec<u8>,
    /// The auditor's certificate.
    pub signer: Fingerprint,
    /// The composite signature over `json`.
    pub signature: Vec<u8>,
}

/// A signed-in staff member's bank.
pub trait Bank: Send + Sync {
    /// The signed-in staff member.
    fn staff_id(&self) -> i64;
    /// The role of the certificate signed in with.
    fn role(&self) -> Role;
    /// The certificate signed in with.
    fn certificate(&self) -> Fingerprint;
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
    /// A manager posts (`post`) or voids the pending transfer `id` whose hash (hex) she
    /// reviewed: a transfer changed since is refused, never decided.
    fn resolve_transfer(
        &self,
        id: i64,
        request_hash: &str,
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
    /// An event's inclusion proof against the checkpoint of `tree_size` (an auditor's).
    fn inclusion_proof(
        &self,
        event_id: i64,
        tree_size: u64,
    ) -> impl Future<Output = BankResult<ProofAnswer>> + Send;
    /// A certificate's accountability chain (the read is logged on the auditor's chain).
    fn chain(&self, subject: Fingerprint) -> impl Future<Output = BankResult<ChainAnswer>> + Send;
    /// A certificate's accountability report, signed by this device.
    fn report(&self, subject: Fingerprint)
    -> impl Future<Output = BankResult<SignedReport>> + Send;
    /// Every event's certificate, kind and time (an auditor's chart).
    fn activity(&self) -> impl Future<Output = BankResult<ActivityAnswer>> + Send;
    /// The staff, every certificate and every revocation: a manager's (as she issues)
    /// or an auditor's (as he reads).
    fn staff(&self) -> impl Future<Output = BankResult<StaffAnswer>> + Send;
    /// The newest CRL of every CA: a manager's (as she revokes) or an auditor's.
    fn crls(&self) -> impl Future<Output = BankResult<CrlsAnswer>> + Send;
    /// Enrolment requests waiting for a manager.
    fn enrolment_queue(&self) -> impl Future<Output = BankResult<EnrolmentsAnswer>> + Send;
    /// A manager approves an enrolment request after typing the code the new hire's
    /// screen shows: the certificate is issued under hers and sealed to the device.
    fn approve_enrolment(
        &self,
        request_id: i64,
        typed_code: &str,
    ) -> impl Future<Output = BankResult<ApproveAnswer>> + Send;
    /// A manager revokes a certificate she issued.
    fn revoke(
        &self,
        certificate: Fingerprint,
        reason: RevocationReason,
    ) -> impl Future<Output = BankResult<RevokeAnswer>> + Send;
    /// A manager renews a certificate she issued.
    fn renew(
        &self,
        certificate: Fingerprint,
    ) -> impl Future<Output = BankResult<RenewAnswer>> + Send;
    /// Ends the session.
    fn logout(&self) -> impl Future<Output = BankResult<()>> + Send;
}
