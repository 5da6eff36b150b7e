//! Log verification's reads ([`crate::reads`]), on any connection: the store's pool
//! runs them one by one, a snapshot within its one read-only transaction.

/// The `SELECT` of the signed rows of `table` (to be followed by a condition and an
/// order), or `None` for a table that keeps none.
#[must_use]
pub fn signed_rows_select(table: &str) -> Option<&'static str> {
    Some(match table {
        "approvals" => {
            "SELECT id, COALESCE(approver_staff_id, 0) AS staff_id, transfer_id, \
             drawer_event_id, decision, created_at, \
             COALESCE(signed_bytes, X'') AS signed_bytes, \
             COALESCE(signature, X'') AS signature, \
             COALESCE(signer_fingerprint, X'') AS signer_fingerprint \
             FROM approvals"
        }
        "drawer_events" => {
            "SELECT id, teller_staff_id AS staff_id, drawer_account_id, kind, \
             idempotency_key, counted_minor, created_at, signed_bytes, signature, \
             signer_fingerprint FROM drawer_events"
        }
        "revocations" => {
            "SELECT id, revoked_by AS staff_id, certificate_fingerprint, reason, \
             crl_number, revoked_at AS created_at, signed_bytes, signature, \
             signer_fingerprint FROM revocations"
        }
        _ => return None,
    })
}

/// The ids of a table at or below `?`, in order, or `None` for a table whose rows
/// verification does not hold to their ids.
#[must_use]
pub fn ids_through_query(table: &str) -> Option<&'static str> {
    Some(match table {
        "transfers" => "SELECT id FROM transfers WHERE id <= ? ORDER BY id",
        "approvals" => "SELECT id FROM approvals WHERE id <= ? ORDER BY id",
        "drawer_events" => "SELECT id FROM drawer_events WHERE id <= ? ORDER BY id",
        "revocations" => "SELECT id FROM revocations WHERE id <= ? ORDER BY id",
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

/// The event hashes of log positions from `?` up to `?`, in log order.
pub const LOG_LEAVES_BETWEEN: &str = "SELECT e.event_hash FROM log_entries l \
     JOIN accountability_events e ON e.id = l.event_id \
     WHERE l.log_index >= ? AND l.log_index < ? ORDER BY l.log_index";

/// How many log positions there are below `?`.
pub const LOG_POSITIONS_BELOW: &str = "SELECT COUNT(*) FROM log_entries WHERE log_index < ?";

/// Every chain with its number of events and highest position.
pub const CHAIN_HEADS: &str = "SELECT certificate_fingerprint, COUNT(*), MIN(seq), MAX(seq) \
     FROM accountability_events GROUP BY certificate_fingerprint \
     ORDER BY certificate_fingerprint";

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
                transfers_where(conn, "1 = 1").await
            }

            pub(crate) async fn signed_rows_in(
                conn: &mut Conn,
                table: &'static str,
            ) -> $crate::Result<Vec<$crate::SignedRow>> {
                signed_rows_where(conn, table, "1 = 1").await
            }

            pub(crate) async fn signed_rows_where(
                conn: &mut Conn,
                table: &'static str,
                condition: &str,
            ) -> $crate::Result<Vec<$crate::SignedRow>> {
                let select = $crate::sql::reads::signed_rows_select(table)
                    .ok_or($crate::StoreError::NotFound("signed table"))?;
                // A fixed SELECT and a condition of integers ([`crate::reads::Since`]).
                let query = format!("{select} WHERE {condition} ORDER BY id");
                sqlx::query_as(sqlx::AssertSqlSafe(query))
                    .fetch_all(conn)
                    .await
                    .map_err(map_err)
            }

            pub(crate) async fn transfers_where(
                conn: &mut Conn,
                condition: &str,
            ) -> $crate::Result<Vec<$crate::TransferRow>> {
                // A fixed SELECT and a condition of integers ([`crate::reads::Since`]).
                let query = format!(
                    "{} WHERE {condition} ORDER BY t.id",
                    $crate::select_transfers!()
                );
                let raw: Vec<$crate::RawTransfer> = sqlx::query_as(sqlx::AssertSqlSafe(query))
                    .fetch_all(conn)
                    .await
                    .map_err(map_err)?;
                $crate::views::transfers(raw)
            }

            pub(crate) async fn ids_through_in(
                conn: &mut Conn,
                table: &'static str,
                mark: i64,
            ) -> $crate::Result<Vec<i64>> {
                let query = $crate::sql::reads::ids_through_query(table)
                    .ok_or($crate::StoreError::NotFound("counted table"))?;
                sqlx::query_scalar(query)
                    .bind(mark)
                    .fetch_all(conn)
                    .await
                    .map_err(map_err)
            }

            pub(crate) async fn chain_heads_in(
                conn: &mut Conn,
            ) -> $crate::Result<Vec<$crate::reads::ChainHead>> {
                let rows: Vec<(Vec<u8>, i64, i64, i64)> =
                    sqlx::query_as($crate::sql::reads::CHAIN_HEADS)
                        .fetch_all(conn)
                        .await
                        .map_err(map_err)?;
                let certificates: Vec<Vec<u8>> = rows.iter().map(|r| r.0.clone()).collect();
                let certificates = $crate::sql::fixed_hashes(&certificates, "fingerprint length")?;
                Ok(certificates
                    .into_iter()
                    .zip(rows)
                    .map(
                        |(certificate, (_, events, min_seq, max_seq))| $crate::reads::ChainHead {
                            certificate,
                            events,
                            min_seq,
                            max_seq,
                        },
                    )
                    .collect())
            }

            pub(crate) async fn events_from_in(
                conn: &mut Conn,
                certificate: &$crate::sql::Hash,
                from: u64,
            ) -> $crate::Result<Vec<$crate::EventRecord>> {
                let raw: Vec<$crate::RawEvent> = sqlx::query_as($crate::select_events!(
                    "WHERE certificate_fingerprint = ? AND seq >= ? ORDER BY seq"
                ))
                .bind(&certificate[..])
                .bind(i64::try_from(from).unwrap_or(i64::MAX))
                .fetch_all(conn)
                .await
                .map_err(map_err)?;
                raw.into_iter().map($crate::RawEvent::decode).collect()
            }

            pub(crate) async fn log_leaves_between_in(
                conn: &mut Conn,
                from: u64,
                to: u64,
            ) -> $crate::Result<Vec<$crate::sql::Hash>> {
                let rows: Vec<Vec<u8>> = sqlx::query_scalar($crate::sql::reads::LOG_LEAVES_BETWEEN)
                    .bind(i64::try_from(from).unwrap_or(i64::MAX))
                    .bind(i64::try_from(to).unwrap_or(i64::MAX))
                    .fetch_all(conn)
                    .await
                    .map_err(map_err)?;
                $crate::hashes(&rows)
            }

            pub(crate) async fn log_positions_below_in(
                conn: &mut Conn,
                size: u64,
            ) -> $crate::Result<i64> {
                sqlx::query_scalar($crate::sql::reads::LOG_POSITIONS_BELOW)
                    .bind(i64::try_from(size).unwrap_or(i64::MAX))
                    .fetch_one(conn)
                    .await
                    .map_err(map_err)
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
                log_leaves_between_in(conn, 0, size).await
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
            async fn signed_rows(
                &mut self,
                table: &'static str,
            ) -> $crate::Result<Vec<$crate::SignedRow>> {
                log_reads::signed_rows_in(&mut self.0, table).await
            }
            async fn event_certificates(&mut self) -> $crate::Result<Vec<$crate::sql::Hash>> {
                log_reads::event_certificates_in(&mut self.0).await
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
            async fn chain_heads(&mut self) -> $crate::Result<Vec<$crate::reads::ChainHead>> {
                log_reads::chain_heads_in(&mut self.0).await
            }
            async fn events_from(
                &mut self,
                certificate: &$crate::sql::Hash,
                from: u64,
            ) -> $crate::Result<Vec<$crate::EventRecord>> {
                log_reads::events_from_in(&mut self.0, certificate, from).await
            }
            async fn transfers_since(
                &mut self,
                since: &$crate::reads::Since,
            ) -> $crate::Result<Vec<$crate::TransferRow>> {
                log_reads::transfers_where(&mut self.0, &since.condition("t.id")).await
            }
            async fn transfers_by_ids(
                &mut self,
                ids: &[i64],
            ) -> $crate::Result<Vec<$crate::TransferRow>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let condition = format!("t.id IN ({})", $crate::reads::id_list(ids));
                log_reads::transfers_where(&mut self.0, &condition).await
            }
            async fn signed_rows_since(
                &mut self,
                table: &'static str,
                since: &$crate::reads::Since,
            ) -> $crate::Result<Vec<$crate::SignedRow>> {
                log_reads::signed_rows_where(&mut self.0, table, &since.condition("id")).await
            }
            async fn signed_rows_by_ids(
                &mut self,
                table: &'static str,
                ids: &[i64],
            ) -> $crate::Result<Vec<$crate::SignedRow>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let condition = format!("id IN ({})", $crate::reads::id_list(ids));
                log_reads::signed_rows_where(&mut self.0, table, &condition).await
            }
            async fn ids_through(
                &mut self,
                table: &'static str,
                mark: i64,
            ) -> $crate::Result<Vec<i64>> {
                log_reads::ids_through_in(&mut self.0, table, mark).await
            }
            async fn log_leaves_between(
                &mut self,
                from: u64,
                to: u64,
            ) -> $crate::Result<Vec<$crate::sql::Hash>> {
                log_reads::log_leaves_between_in(&mut self.0, from, to).await
            }
            async fn log_positions_below(&mut self, size: u64) -> $crate::Result<i64> {
                log_reads::log_positions_below_in(&mut self.0, size).await
            }
            async fn finish(self) -> $crate::Result<()> {
                self.0.rollback().await.map_err(map_err)
            }
        }
    };
}
