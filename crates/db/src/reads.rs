//! What log verification reads, from one consistent snapshot of the database.
//!
//! Verification reads a dozen tables one after another; read from the pool, each
//! statement sees the rows committed when it ran, so an act committing between the read
//! of the journal and the read of its maker's chain would look like a row without its
//! act. A [`Snapshot`] is one read-only transaction that sees every table as of one
//! moment (SQLite's deferred read transaction; on MariaDB a `REPEATABLE READ`
//! transaction started `WITH CONSISTENT SNAPSHOT`): an act is in it whole or not at all.

use std::future::Future;

use crate::views::StaffRow;
use crate::{
    AccountRow, CertificateRecord, CheckpointRecord, CustomerRow, EventRecord, Result, SignedRow,
    TransferRow,
};

/// A 32-byte hash or fingerprint.
type Hash = [u8; 32];

/// The reads of log verification, all from one snapshot.
pub trait LogReads: Send {
    /// Staff in id order.
    fn staff(&mut self) -> impl Future<Output = Result<Vec<StaffRow>>> + Send;
    /// Every transfer with its resolution, in id order.
    fn transfers(&mut self) -> impl Future<Output = Result<Vec<TransferRow>>> + Send;
    /// The signed rows of `table` ("approvals", "drawer_events" or "revocations").
    fn signed_rows(
        &mut self,
        table: &'static str,
    ) -> impl Future<Output = Result<Vec<SignedRow>>> + Send;
    /// Every certificate that has events.
    fn event_certificates(&mut self) -> impl Future<Output = Result<Vec<Hash>>> + Send;
    /// A certificate's chain, in order.
    fn events(
        &mut self,
        certificate: &Hash,
    ) -> impl Future<Output = Result<Vec<EventRecord>>> + Send;
    /// A certificate by fingerprint.
    fn certificate(
        &mut self,
        fingerprint: &Hash,
    ) -> impl Future<Output = Result<Option<CertificateRecord>>> + Send;
    /// Every certificate, in issue order.
    fn all_certificates(&mut self) -> impl Future<Output = Result<Vec<CertificateRecord>>> + Send;
    /// Every customer, in id order.
    fn customers(&mut self) -> impl Future<Output = Result<Vec<CustomerRow>>> + Send;
    /// Every account with its cached totals, in id order.
    fn accounts(&mut self) -> impl Future<Output = Result<Vec<AccountRow>>> + Send;
    /// The (id, created_at) of every row of a master table ("staff", "customers" or
    /// "accounts"), in id order.
    fn created_times(
        &mut self,
        table: &'static str,
    ) -> impl Future<Output = Result<Vec<(i64, i64)>>> + Send;
    /// Every checkpoint, by size.
    fn checkpoints(&mut self) -> impl Future<Output = Result<Vec<CheckpointRecord>>> + Send;
    /// The event hashes of the first `size` log positions, in log order.
    fn log_leaves(&mut self, size: u64) -> impl Future<Output = Result<Vec<Hash>>> + Send;
    /// Ends the snapshot (its transaction rolled back: it wrote nothing).
    fn finish(self) -> impl Future<Output = Result<()>> + Send;
}

/// A store that reads consistent snapshots.
pub trait Snapshots: Send + Sync {
    /// One snapshot's reads.
    type Snapshot: LogReads;
    /// Starts a read-only snapshot of every table as of now.
    fn snapshot(&self) -> impl Future<Output = Result<Self::Snapshot>> + Send;
}
