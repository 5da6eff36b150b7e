//! Read-only views the desktop screens list: staff, certificates and their revocations,
//! the enrolment queue, pending transfers, a teller's drawer, and the log's activity.
//!
//! The SQL is the same on both backends (`?` placeholders, no dialect features), so it
//! lives here once and [`impl_view_store`] implements the trait for a backend's store
//! (through [`impl_sql_backend`](crate::impl_sql_backend), with the other traits).

use std::future::Future;

use pqbank_audit::Hash;

use crate::{
    AccountRow, CertificateRecord, DrawerEventRow, EnrolmentRecord, RawCertificate, RawDrawerEvent,
    RawEnrolment, RawTransfer, Result, StoreError, TransferRow,
};

/// A member of staff.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StaffRow {
    /// Identifier.
    pub id: i64,
    /// Staff number (the certificate's staff identifier).
    pub number: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: String,
}

/// A revocation as listed (its signature is checked by log verification, not here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationView {
    /// The revoked certificate.
    pub certificate: Hash,
    /// Reason.
    pub reason: String,
    /// When, UNIX seconds.
    pub revoked_at: i64,
    /// The CRL that first lists it.
    pub crl_number: i64,
}

/// One accountability event, without its body: for activity charts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    /// The certificate whose chain holds it.
    pub certificate: Hash,
    /// Kind.
    pub kind: String,
    /// When, UNIX seconds.
    pub created_at: i64,
}

/// Staff in id order.
pub const STAFF: &str =
    "SELECT id, staff_number AS number, display_name AS name, role FROM staff ORDER BY id";
/// Staff with a given number (MariaDB compares it case-insensitively; the caller keeps
/// only the exact match).
pub const STAFF_BY_NUMBER: &str = "SELECT id, staff_number FROM staff WHERE staff_number = ?";

/// The id of the row whose staff number is exactly `number`, of `rows` read with
/// [`STAFF_BY_NUMBER`].
#[must_use]
pub fn exact_staff(rows: Vec<(i64, String)>, number: &str) -> Option<i64> {
    rows.into_iter()
        .find(|(_, n)| n == number)
        .map(|(id, _)| id)
}

/// Every certificate, in issue order.
pub const CERTIFICATES: &str = crate::select_certificates!("ORDER BY id");
/// Every revocation.
pub const REVOCATIONS: &str = "SELECT certificate_fingerprint, reason, revoked_at, crl_number \
     FROM revocations ORDER BY id";
/// Enrolment requests still waiting for a manager.
pub const PENDING_ENROLMENTS: &str =
    crate::select_enrolments!("WHERE status = 'pending' ORDER BY id");
/// Transfers still pending (no approval row yet), oldest first.
pub const PENDING_TRANSFERS: &str =
    crate::select_transfers!("WHERE t.status = 'pending' AND a.id IS NULL ORDER BY t.id");
/// A teller's newest drawer event.
pub const LAST_DRAWER_EVENT_OF: &str =
    crate::select_drawer_events!("WHERE teller_staff_id = ? ORDER BY id DESC LIMIT 1");
/// Drawer closings with a variance that no manager has signed off yet.
pub const PENDING_VARIANCES: &str = "SELECT d.id, d.drawer_account_id, d.teller_staff_id, \
     d.kind, d.idempotency_key, d.counted_minor, d.expected_minor, d.created_at \
     FROM drawer_events d LEFT JOIN approvals a ON a.drawer_event_id = d.id \
     WHERE d.kind = 'close' AND d.expected_minor IS NOT NULL \
     AND d.counted_minor <> d.expected_minor AND a.id IS NULL ORDER BY d.id";
/// Drawer accounts that have ever been opened.
pub const DRAWERS_IN_USE: &str =
    "SELECT DISTINCT drawer_account_id FROM drawer_events ORDER BY drawer_account_id";
/// Every event's certificate, kind and time.
pub const EVENT_SUMMARIES: &str =
    "SELECT certificate_fingerprint, kind, created_at FROM accountability_events ORDER BY id";

fn hash(bytes: &[u8], what: &'static str) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Database(format!("stored row does not decode: {what}")))
}

/// Decodes revocation rows.
pub fn revocations(rows: Vec<(Vec<u8>, String, i64, i64)>) -> Result<Vec<RevocationView>> {
    rows.into_iter()
        .map(|(fp, reason, revoked_at, crl_number)| {
            Ok(RevocationView {
                certificate: hash(&fp, "revoked certificate")?,
                reason,
                revoked_at,
                crl_number,
            })
        })
        .collect()
}

/// Decodes event summaries.
pub fn event_summaries(rows: Vec<(Vec<u8>, String, i64)>) -> Result<Vec<EventSummary>> {
    rows.into_iter()
        .map(|(fp, kind, created_at)| {
            Ok(EventSummary {
                certificate: hash(&fp, "event certificate")?,
                kind,
                created_at,
            })
        })
        .collect()
}

/// Decodes certificate rows.
pub fn certificates(rows: Vec<RawCertificate>) -> Result<Vec<CertificateRecord>> {
    rows.into_iter().map(RawCertificate::decode).collect()
}

/// Decodes enrolment rows.
pub fn enrolments(rows: Vec<RawEnrolment>) -> Result<Vec<EnrolmentRecord>> {
    rows.into_iter().map(RawEnrolment::decode).collect()
}

/// Decodes transfer rows.
pub fn transfers(rows: Vec<RawTransfer>) -> Result<Vec<TransferRow>> {
    rows.into_iter().map(RawTransfer::decode).collect()
}

/// Decodes a drawer event row.
pub fn drawer_event(row: Option<RawDrawerEvent>) -> Result<Option<DrawerEventRow>> {
    row.map(RawDrawerEvent::decode).transpose()
}

/// The read-only views of a backend.
pub trait ViewStore: Send + Sync {
    /// Staff in id order.
    fn staff(&self) -> impl Future<Output = Result<Vec<StaffRow>>> + Send;
    /// The id of the member of staff whose number is exactly `number`.
    fn staff_id_by_number(&self, number: &str) -> impl Future<Output = Result<Option<i64>>> + Send;
    /// Every certificate, in issue order.
    fn all_certificates(&self) -> impl Future<Output = Result<Vec<CertificateRecord>>> + Send;
    /// Every revocation.
    fn revocations(&self) -> impl Future<Output = Result<Vec<RevocationView>>> + Send;
    /// Enrolment requests still pending.
    fn pending_enrolments(&self) -> impl Future<Output = Result<Vec<EnrolmentRecord>>> + Send;
    /// Transfers waiting for a manager.
    fn pending_transfers(&self) -> impl Future<Output = Result<Vec<TransferRow>>> + Send;
    /// A teller's newest drawer event.
    fn last_drawer_event_of(
        &self,
        staff_id: i64,
    ) -> impl Future<Output = Result<Option<DrawerEventRow>>> + Send;
    /// Drawer closings with a variance waiting for a manager's sign-off.
    fn pending_variances(&self) -> impl Future<Output = Result<Vec<DrawerEventRow>>> + Send;
    /// Drawer accounts that have ever been opened (the others are free to assign).
    fn drawers_in_use(&self) -> impl Future<Output = Result<Vec<i64>>> + Send;
    /// The bank's own accounts (drawers, vaults, variance), without customer accounts.
    fn bank_accounts(&self) -> impl Future<Output = Result<Vec<AccountRow>>> + Send;
    /// Every event's certificate, kind and time.
    fn event_summaries(&self) -> impl Future<Output = Result<Vec<EventSummary>>> + Send;
}

/// Implements [`ViewStore`] for a backend store with a `pool` field and a `map_err`
/// function in scope (the SQL above is the same on every backend).
#[macro_export]
macro_rules! impl_view_store {
    ($store:ty) => {
        impl $crate::views::ViewStore for $store {
            async fn staff(&self) -> $crate::Result<Vec<$crate::views::StaffRow>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                log_reads::staff_in(&mut conn).await
            }
            async fn staff_id_by_number(&self, number: &str) -> $crate::Result<Option<i64>> {
                let rows = sqlx::query_as($crate::views::STAFF_BY_NUMBER)
                    .bind(number)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok($crate::views::exact_staff(rows, number))
            }
            async fn all_certificates(&self) -> $crate::Result<Vec<$crate::CertificateRecord>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                log_reads::all_certificates_in(&mut conn).await
            }
            async fn revocations(&self) -> $crate::Result<Vec<$crate::views::RevocationView>> {
                let rows = sqlx::query_as($crate::views::REVOCATIONS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                $crate::views::revocations(rows)
            }
            async fn pending_enrolments(&self) -> $crate::Result<Vec<$crate::EnrolmentRecord>> {
                let rows = sqlx::query_as($crate::views::PENDING_ENROLMENTS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                $crate::views::enrolments(rows)
            }
            async fn pending_transfers(&self) -> $crate::Result<Vec<$crate::TransferRow>> {
                let rows = sqlx::query_as($crate::views::PENDING_TRANSFERS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                $crate::views::transfers(rows)
            }
            async fn last_drawer_event_of(
                &self,
                staff_id: i64,
            ) -> $crate::Result<Option<$crate::DrawerEventRow>> {
                let row = sqlx::query_as($crate::views::LAST_DRAWER_EVENT_OF)
                    .bind(staff_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                $crate::views::drawer_event(row)
            }
            async fn pending_variances(&self) -> $crate::Result<Vec<$crate::DrawerEventRow>> {
                let rows: Vec<$crate::RawDrawerEvent> =
                    sqlx::query_as($crate::views::PENDING_VARIANCES)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map_err)?;
                rows.into_iter()
                    .map($crate::RawDrawerEvent::decode)
                    .collect()
            }
            async fn bank_accounts(&self) -> $crate::Result<Vec<$crate::AccountRow>> {
                let raw: Vec<$crate::RawAccount> = sqlx::query_as($crate::select_accounts!(
                    "WHERE a.customer_id IS NULL ORDER BY a.id"
                ))
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                raw.into_iter().map($crate::RawAccount::decode).collect()
            }
            async fn drawers_in_use(&self) -> $crate::Result<Vec<i64>> {
                sqlx::query_scalar($crate::views::DRAWERS_IN_USE)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)
            }
            async fn event_summaries(&self) -> $crate::Result<Vec<$crate::views::EventSummary>> {
                let rows = sqlx::query_as($crate::views::EVENT_SUMMARIES)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                $crate::views::event_summaries(rows)
            }
        }
    };
}
