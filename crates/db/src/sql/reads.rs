//! Log verification's reads ([`crate::reads`]), on any connection: the store's pool
//! runs them one by one, a snapshot within its one read-only transaction.

/// The signed rows of `table`, or `None` for a table that keeps none.
#[must_use]
pub fn signed_rows_query(table: &str) -> Option<&'static str> {
    Some(match table {
        "approvals" => {
            "SELECT id, COALESCE(approver_staff_id, 0) AS staff_id, transfer_id, \
             drawer_event_id, decision, created_at, \
             COALESCE(signed_bytes, X'') AS signed_bytes, \
             COALESCE(signature, X'') AS signature, \
             COALESCE(signer_fingerprint, X'') AS signer_fingerprint \
             FROM approvals ORDER BY id"
        }
        "drawer_events" => {
            "SELECT id, teller_staff_id AS staff_id, drawer_account_id, kind, \
             idempotency_key, counted_minor, created_at, signed_bytes, signature, \
             signer_fingerprint FROM drawer_events ORDER BY id"
        }
        "revocations" => {
            "SELECT id, revoked_by AS staff_id, certificate_fingerprint, reason, \
             crl_number, revoked_at AS created_at, signed_bytes, signature, \
             signer_fingerprint FROM revocations ORDER BY id"
        }
        _ => return None,
    })
}

/// The (id, created_at) of a master table's rows, or `None` for another table.
#[must_use]
pub fn created_times_query(table: &str) -> Option<&'static str> {
    Some(match table {
        "staff" => "SELECT id, created_at FROM staff ORDER BY id",
        "customers" => "SELECT id, created_at FROM customers ORDER BY id",
        "accounts" => "SELECT id, created_at FROM accounts ORDER BY id",
        _ => return None,
    })
}

/// The event hashes of the first `?` log positions, in log order.
pub const LOG_LEAVES: &str = "SELECT e.event_hash FROM log_entries l \
     JOIN accountability_events e ON e.id = l.event_id \
     WHERE l.log_index < ? ORDER BY l.log_index";

/// Every checkpoint, by size.
pub const CHECKPOINTS: &str = "SELECT tree_size, root_hash, created_at, signed_bytes, signature, \
     signer_fingerprint FROM checkpoints ORDER BY tree_size";

/// Every certificate that has events.
pub const EVENT_CERTIFICATES: &str = "SELECT DISTINCT certificate_fingerprint \
     FROM accountability_events ORDER BY certificate_fingerprint";

/// Every customer, in id order.
pub const CUSTOMERS: &str =
    "SELECT id, customer_number AS number, full_name FROM customers ORDER BY id";

/// The reads on a connection of the database `$db`: the module `log_reads` in the
/// invoking crate, used by the store's methods (on a pooled connection) and by its
/// snapshot type `$snapshot` (on its one read-only transaction, begun with the
/// `$begin` statement), which this also defines.
#[doc(hidden)]
#[macro_export]
macro_rules! impl_log_reads {
    ($db:ty, $store:ty, $snapshot:ident, $begin:literal) => {
        mod log_reads {
            use super::map_err;

            type Conn = <$db as sqlx::Database>::Connection;

            pub(crate) async fn staff_in(
                conn: &mut Conn,
            ) -> $crate::Result<Vec<$crate::views::StaffRow>> {
                sqlx::query_as($crate::views::STAFF)
                    .fetch_all(conn)
                    .await
                    .map_err(map_err)
            }

            pub(crate) async fn transfers_in(
                conn: &mut Conn,
            ) -> $crate::Result<Vec<$crate::TransferRow>> {
                let raw: Vec<$crate::RawTransfer> =
                    sqlx::query_as($crate::select_transfers!("ORDER BY t.id"))
                        .fetch_all(conn)
                        .await
                        .map_err(map_err)?;
                $crate::views::transfers(raw)
            }

            pub(crate) async fn signed_rows_in(
                conn: &mut Conn,
                table: &'static str,
            ) -> $crate::Result<Vec<$crate::SignedRow>> {
                let query = $crate::sql::reads::signed_rows_query(table)
                    .ok_or($crate::StoreError::NotFound("signed table"))?;
                sqlx::query_as(query).fetch_all(conn).await.map_err(map_err)
            }

            pub(crate) async fn created_times_in(
                conn: &mut Conn,
                table: &'static str,
            ) -> $crate::Result<Vec<(i64, i64)>> {
                let query = $crate::sql::reads::created_times_query(table)
                    .ok_or($crate::StoreError::NotFound("master table"))?;
                sqlx::query_as(query).fetch_all(conn).await.map_err(map_err)
            }

            pub(crate) async fn event_certificates_in(
                conn: &mut Conn,
            ) -> $crate::Result<Vec<$crate::sql::Hash>> {
                let rows: Vec<Vec<u8>> = sqlx::query_scalar($crate::sql::reads::EVENT_CERTIFICATES)
                    .fetch_all(conn)
                    .await
                    .map_err(map_err)?;
                $crate::sql::fixed_hashes(&rows, "fingerprint length")
            }

            pub(crate) async fn events_in(
                conn: &mut Conn,
                certificate: &$crate::sql::Hash,
            ) -> $crate::Result<Vec<$crate::EventRecord>> {
                let raw: Vec<$crate::RawEvent> = sqlx::query_as($crate::select_events!(
                    "WHERE certificate_fingerprint = ? ORDER BY seq"
                ))
                .bind(&certificate[..])
                .fetch_all(conn)
                .await
                .map_err(map_err)?;
                raw.into_iter().map($crate::RawEvent::decode).collect()
            }

            pub(crate) async fn certificate_in(
                conn: &mut Conn,
                fingerprint: &$crate::sql::Hash,
            ) -> $crate::Result<Option<$crate::CertificateRecord>> {
                let raw: Option<$crate::RawCertificate> =
                    sqlx::query_as($crate::select_certificates!("WHERE fingerprint = ?"))
                        .bind(&fingerprint[..])
                        .fetch_optional(conn)
                        .await
                        .map_err(map_err)?;
                raw.map($crate::RawCertificate::decode).transpose()
            }

            pub(crate) async fn all_certificates_in(
                conn: &mut Conn,
            ) -> $crate::Result<Vec<$crate::CertificateRecord>> {
                let rows = sqlx::query_as($crate::views::CERTIFICATES)
                    .fetch_all(conn)
                    .await
                    .map_err(map_err)?;
                $crate::views::certificates(rows)
            }

            pub(crate) async fn customers_in(
                conn: &mut Conn,
            ) -> $crate::Result<Vec<$crate::CustomerRow>> {
                sqlx::query_as($crate::sql::reads::CUSTOMERS)
                    .fetch_all(conn)
                    .await
                    .map_err(map_err)
            }

            pub(crate) async fn accounts_in(
                conn: &mut Conn,
            ) -> $crate::Result<Vec<$crate::AccountRow>> {
                let raw: Vec<$crate::RawAccount> =
                    sqlx::query_as($crate::select_accounts!("ORDER BY a.id"))
                        .fetch_all(conn)
                        .await
                        .map_err(map_err)?;
                raw.into_iter().map($crate::RawAccount::decode).collect()
            }

            pub(crate) async fn checkpoints_in(
                conn: &mut Conn,
            ) -> $crate::Result<Vec<$crate::CheckpointRecord>> {
                let raw: Vec<$crate::RawCheckpoint> =
                    sqlx::query_as($crate::sql::reads::CHECKPOINTS)
                        .fetch_all(conn)
                        .await
                        .map_err(map_err)?;
                raw.into_iter().map($crate::RawCheckpoint::decode).collect()
            }

            pub(crate) async fn log_leaves_in(
                conn: &mut Conn,
                size: u64,
            ) -> $crate::Result<Vec<$crate::sql::Hash>> {
                let rows: Vec<Vec<u8>> = sqlx::query_scalar($crate::sql::reads::LOG_LEAVES)
                    .bind(i64::try_from(size).unwrap_or(i64::MAX))
                    .fetch_all(conn)
                    .await
                    .map_err(map_err)?;
                $crate::hashes(&rows)
            }
        }

        /// One read-only transaction that sees every table as of its start
        /// ([`pqbank_db::reads`]); rolled back when finished or dropped.
        pub struct $snapshot(sqlx::Transaction<'static, $db>);

        impl $crate::reads::Snapshots for $store {
            type Snapshot = $snapshot;

            async fn snapshot(&self) -> $crate::Result<$snapshot> {
                let mut tx = self.pool.begin_with($begin).await.map_err(map_err)?;
                // The snapshot is taken here at the latest (SQLite's deferred transaction
                // takes it at its first read), not at verification's first table.
                sqlx::query("SELECT MAX(log_index) FROM log_entries")
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                Ok($snapshot(tx))
            }
        }

        impl $crate::reads::LogReads for $snapshot {
            async fn staff(&mut self) -> $crate::Result<Vec<$crate::views::StaffRow>> {
                log_reads::staff_in(&mut self.0).await
            }
            async fn transfers(&mut self) -> $crate::Result<Vec<$crate::TransferRow>> {
                log_reads::transfers_in(&mut self.0).await
            }
            async fn signed_rows(
                &mut self,
                table: &'static str,
            ) -> $crate::Result<Vec<$crate::SignedRow>> {
                log_reads::signed_rows_in(&mut self.0, table).await
            }
            async fn event_certificates(&mut self) -> $crate::Result<Vec<$crate::sql::Hash>> {
                log_reads::event_certificates_in(&mut self.0).await
            }
            async fn events(
                &mut self,
                certificate: &$crate::sql::Hash,
            ) -> $crate::Result<Vec<$crate::EventRecord>> {
                log_reads::events_in(&mut self.0, certificate).await
            }
            async fn certificate(
                &mut self,
                fingerprint: &$crate::sql::Hash,
            ) -> $crate::Result<Option<$crate::CertificateRecord>> {
                log_reads::certificate_in(&mut self.0, fingerprint).await
            }
            async fn all_certificates(&mut self) -> $crate::Result<Vec<$crate::CertificateRecord>> {
                log_reads::all_certificates_in(&mut self.0).await
            }
            async fn customers(&mut self) -> $crate::Result<Vec<$crate::CustomerRow>> {
                log_reads::customers_in(&mut self.0).await
            }
            async fn accounts(&mut self) -> $crate::Result<Vec<$crate::AccountRow>> {
                log_reads::accounts_in(&mut self.0).await
            }
            async fn created_times(
                &mut self,
                table: &'static str,
            ) -> $crate::Result<Vec<(i64, i64)>> {
                log_reads::created_times_in(&mut self.0, table).await
            }
            async fn checkpoints(&mut self) -> $crate::Result<Vec<$crate::CheckpointRecord>> {
                log_reads::checkpoints_in(&mut self.0).await
            }
            async fn log_leaves(&mut self, size: u64) -> $crate::Result<Vec<$crate::sql::Hash>> {
                log_reads::log_leaves_in(&mut self.0, size).await
            }
            async fn finish(self) -> $crate::Result<()> {
                self.0.rollback().await.map_err(map_err)
            }
        }
    };
}
