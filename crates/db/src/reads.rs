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
    /// The signed rows of `table` ("approvals", "drawer_events" or "revocations").
    fn signed_rows(
        &mut self,
        table: &'static str,
    ) -> impl Future<Output = Result<Vec<SignedRow>>> + Send;
    /// Every certificate that has events.
    fn event_certificates(&mut self) -> impl Future<Output = Result<Vec<Hash>>> + Send;
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
    /// Every chain's certificate with its number of events and lowest and highest
    /// positions.
    fn chain_heads(&mut self) -> impl Future<Output = Result<Vec<ChainHead>>> + Send;
    /// A certificate's chain from position `from`, in order.
    fn events_from(
        &mut self,
        certificate: &Hash,
        from: u64,
    ) -> impl Future<Output = Result<Vec<EventRecord>>> + Send;
    /// The transfers [`Since`] a mark, with their resolutions, in id order.
    fn transfers_since(
        &mut self,
        since: &Since,
    ) -> impl Future<Output = Result<Vec<TransferRow>>> + Send;
    /// The transfers of these ids, with their resolutions, in id order.
    fn transfers_by_ids(
        &mut self,
        ids: &[i64],
    ) -> impl Future<Output = Result<Vec<TransferRow>>> + Send;
    /// The signed rows of `table` [`Since`] a mark, in id order.
    fn signed_rows_since(
        &mut self,
        table: &'static str,
        since: &Since,
    ) -> impl Future<Output = Result<Vec<SignedRow>>> + Send;
    /// The signed rows of `table` of these ids, in id order.
    fn signed_rows_by_ids(
        &mut self,
        table: &'static str,
        ids: &[i64],
    ) -> impl Future<Output = Result<Vec<SignedRow>>> + Send;
    /// The ids of `table` ("transfers", "approvals", "drawer_events" or "revocations")
    /// at or below `mark`, in order.
    fn ids_through(
        &mut self,
        table: &'static str,
        mark: i64,
    ) -> impl Future<Output = Result<Vec<i64>>> + Send;
    /// The event hashes of log positions `from` up to (not including) `to`, in order.
    fn log_leaves_between(
        &mut self,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<Hash>>> + Send;
    /// How many log positions there are below `size`.
    fn log_positions_below(&mut self, size: u64) -> impl Future<Output = Result<i64>> + Send;
    /// Ends the snapshot (its transaction rolled back: it wrote nothing).
    fn finish(self) -> impl Future<Output = Result<()>> + Send;
}

/// A chain as its rows stand: its certificate, how many events it has and its lowest
/// and highest positions (a whole chain has `max_seq + 1` events from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// The chain's certificate.
    pub certificate: Hash,
    /// How many events it has.
    pub events: i64,
    /// Its lowest position.
    pub min_seq: i64,
    /// Its highest position.
    pub max_seq: i64,
}

/// The rows of a table not read before: every id above `mark`, and the `holes` below it
/// (ids a verification did not see, which a transaction that committed late may fill).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Since {
    /// The highest id read before (0: none).
    pub mark: i64,
    /// Ids at or below `mark` not read before.
    pub holes: Vec<i64>,
}

impl Since {
    /// Every row: nothing was read before.
    #[must_use]
    pub const fn all() -> Self {
        Self {
            mark: i64::MIN,
            holes: Vec::new(),
        }
    }

    /// The SQL condition on `column` (an integer column the caller names): above the
    /// mark, or one of the holes (integers, so written into the statement).
    #[must_use]
    pub fn condition(&self, column: &str) -> String {
        if self.mark == i64::MIN {
            return "1 = 1".into();
        }
        let mut sql = format!("{column} > {}", self.mark);
        if !self.holes.is_empty() {
            sql.push_str(&format!(" OR {column} IN ({})", id_list(&self.holes)));
        }
        sql
    }
}

/// Integers as an SQL list: `1,2,3`.
#[must_use]
pub fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// A store that reads consistent snapshots.
pub trait Snapshots: Send + Sync {
    /// One snapshot's reads.
    type Snapshot: LogReads;
    /// Starts a read-only snapshot of every table as of now.
    fn snapshot(&self) -> impl Future<Output = Result<Self::Snapshot>> + Send;
}
