//! The ledger's statements: the primitives of [`LedgerTx`](crate::LedgerTx), the
//! [`Backend`](crate::Backend) setup and reads, and the benchmark's bare baseline.

/// The journal's totals per account, on a connection or in a transaction of the database
/// `$db`: the module `ledger_rows` in the invoking crate. `$signed` names a signed 64-bit
/// `CAST`.
#[doc(hidden)]
#[macro_export]
macro_rules! ledger_rows {
    ($db:ty, $signed:literal) => {
        mod ledger_rows {
            use super::map_err;

            /// Totals per account from the journal: a transfer counts as posted when
            /// created posted or resolved "post", as pending while unresolved, and not at
            /// all once voided or expired.
            pub(super) async fn journal_totals(
                conn: &mut <$db as sqlx::Database>::Connection,
            ) -> $crate::Result<Vec<(i64, $crate::sql::Balances)>> {
                let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(concat!(
                    "WITH j AS ( ",
                    "SELECT t.debit_account_id AS d, t.credit_account_id AS c, ",
                    "t.amount_minor AS amt, ",
                    "CASE WHEN a.decision = 'post' OR (t.status = 'posted' AND a.id IS NULL) ",
                    "THEN 'p' WHEN t.status = 'pending' AND a.id IS NULL THEN 'q' ELSE 'x' END ",
                    "AS s ",
                    "FROM transfers t LEFT JOIN approvals a ON a.transfer_id = t.id), ",
                    "e AS ( ",
                    "SELECT d AS id, CASE WHEN s = 'p' THEN amt ELSE 0 END AS dp, 0 AS cp, ",
                    "CASE WHEN s = 'q' THEN amt ELSE 0 END AS dq, 0 AS cq FROM j ",
                    "UNION ALL ",
                    "SELECT c, 0, CASE WHEN s = 'p' THEN amt ELSE 0 END, 0, ",
                    "CASE WHEN s = 'q' THEN amt ELSE 0 END FROM j) ",
                    "SELECT acc.id, CAST(COALESCE(SUM(e.dp), 0) AS ",
                    $signed,
                    "), ",
                    "CAST(COALESCE(SUM(e.cp), 0) AS ",
                    $signed,
                    "), ",
                    "CAST(COALESCE(SUM(e.dq), 0) AS ",
                    $signed,
                    "), ",
                    "CAST(COALESCE(SUM(e.cq), 0) AS ",
                    $signed,
                    ") ",
                    "FROM accounts acc LEFT JOIN e ON e.id = acc.id GROUP BY acc.id ORDER BY acc.id"
                ))
                .fetch_all(conn)
                .await
                .map_err(map_err)?;
                Ok(rows
                    .into_iter()
                    .map(|(id, dp, cp, dq, cq)| {
                        (
                            id,
                            $crate::sql::Balances {
                                debits_posted: dp,
                                credits_posted: cp,
                                debits_pending: dq,
                                credits_pending: cq,
                            },
                        )
                    })
                    .collect())
            }
        }
    };
}

/// Implements [`LedgerTx`](crate::LedgerTx) for `$tx`, a tuple struct around the
/// backend's transaction. `$for_update` locks the accounts read by `lock_accounts`.
#[doc(hidden)]
#[macro_export]
macro_rules! impl_ledger_tx {
    ($tx:ident, $for_update:literal) => {
        impl $crate::LedgerTx for $tx {
            async fn transfer_by_key(
                &mut self,
                maker: i64,
                key: &str,
            ) -> $crate::Result<Option<$crate::TransferRow>> {
                let raw: Option<$crate::RawTransfer> = sqlx::query_as($crate::select_transfers!(
                    "WHERE t.maker_staff_id = ? AND t.idempotency_key = ?"
                ))
                .bind(maker)
                .bind(key)
                .fetch_optional(&mut *self.0)
                .await
                .map_err(map_err)?;
                raw.map($crate::RawTransfer::decode).transpose()
            }

            async fn transfer(&mut self, id: i64) -> $crate::Result<Option<$crate::TransferRow>> {
                let raw: Option<$crate::RawTransfer> =
                    sqlx::query_as($crate::select_transfers!("WHERE t.id = ?"))
                        .bind(id)
                        .fetch_optional(&mut *self.0)
                        .await
                        .map_err(map_err)?;
                raw.map($crate::RawTransfer::decode).transpose()
            }

            async fn lock_accounts(
                &mut self,
                ids: &[i64],
            ) -> $crate::Result<Vec<$crate::AccountRow>> {
                // One row at a time in ascending order: the fixed order that rules out
                // deadlocks between flows (where the backend locks rows; SQLite's writer
                // already holds the whole file).
                let mut rows = Vec::with_capacity(ids.len());
                for id in ids {
                    let raw: Option<$crate::RawAccount> = sqlx::query_as($crate::select_accounts!(
                        + ", b.last_transfer_id, b.seal",
                        "WHERE a.id = ?",
                        $for_update
                    ))
                    .bind(id)
                    .fetch_optional(&mut *self.0)
                    .await
                    .map_err(map_err)?;
                    let Some(raw) = raw else { continue };
                    let mut row = raw.decode()?;
                    // Under a seal, the journal's newest transfer touching the account, read
                    // once the row is locked: every transfer touching it was written under
                    // this lock, so none is missed.
                    if self.1.is_some() {
                        let (debit, credit): (Option<i64>, Option<i64>) = sqlx::query_as(
                            "SELECT (SELECT MAX(id) FROM transfers WHERE debit_account_id = ?), \
                             (SELECT MAX(id) FROM transfers WHERE credit_account_id = ?)",
                        )
                        .bind(id)
                        .bind(id)
                        .fetch_one(&mut *self.0)
                        .await
                        .map_err(map_err)?;
                        row.cache.journal_last = debit.max(credit);
                    }
                    rows.push(row);
                }
                Ok(rows)
            }

            async fn insert_transfer(
                &mut self,
                row: &$crate::NewTransferRow<'_>,
            ) -> $crate::Result<i64> {
                let r = &row.transfer.request;
                sqlx::query(
                    "INSERT INTO transfers (maker_staff_id, idempotency_key, request_hash, kind, \
                     debit_account_id, credit_account_id, amount_minor, currency, memo, status, \
                     expires_at, created_at, recorded_at, signed_bytes, signature, \
                     signer_fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(r.maker)
                .bind(&r.idempotency_key)
                .bind(&row.request_hash[..])
                .bind(r.kind.as_str())
                .bind(r.debit)
                .bind(r.credit)
                .bind(r.amount.minor())
                .bind(r.amount.currency().code())
                .bind(&r.memo)
                .bind(row.status.as_str())
                .bind(row.expires_at)
                .bind(r.created_at)
                .bind(row.recorded_at)
                .bind(&row.signed_bytes)
                .bind(&row.transfer.signed.signature)
                .bind(&row.transfer.signed.signer[..])
                .execute(&mut *self.0)
                .await
                .map(|done| inserted_id(&done))
                .map_err(map_err)
            }

            fn seal(&self) -> Option<&$crate::Seal> {
                self.1.as_ref()
            }

            async fn write_balances(
                &mut self,
                account: i64,
                b: &$crate::sql::Balances,
                last_transfer: Option<i64>,
                seal: Option<[u8; 32]>,
            ) -> $crate::Result<()> {
                sqlx::query(
                    "UPDATE account_balances SET debits_posted = ?, credits_posted = ?, \
                     debits_pending = ?, credits_pending = ?, last_transfer_id = ?, seal = ? \
                     WHERE account_id = ?",
                )
                .bind(b.debits_posted)
                .bind(b.credits_posted)
                .bind(b.debits_pending)
                .bind(b.credits_pending)
                .bind(last_transfer)
                .bind(seal.as_ref().map(|s| &s[..]))
                .bind(account)
                .execute(&mut *self.0)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn insert_approval(
                &mut self,
                row: &$crate::NewApprovalRow,
            ) -> $crate::Result<i64> {
                let (bytes, signed) = row.signed.clone().unzip();
                sqlx::query(
                    "INSERT INTO approvals (transfer_id, drawer_event_id, decision, \
                     approver_staff_id, created_at, signed_bytes, signature, signer_fingerprint) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(row.transfer_id)
                .bind(row.drawer_event_id)
                .bind(row.decision)
                .bind(row.approver)
                .bind(row.created_at)
                .bind(bytes)
                .bind(signed.as_ref().map(|s| s.signature.clone()))
                .bind(signed.as_ref().map(|s| s.signer.to_vec()))
                .execute(&mut *self.0)
                .await
                .map(|done| inserted_id(&done))
                .map_err(map_err)
            }

            async fn last_drawer_event(
                &mut self,
                drawer: i64,
            ) -> $crate::Result<Option<$crate::DrawerEventRow>> {
                let raw: Option<$crate::RawDrawerEvent> = sqlx::query_as(
                    $crate::select_drawer_events!(
                        "WHERE drawer_account_id = ? ORDER BY id DESC LIMIT 1"
                    ),
                )
                .bind(drawer)
                .fetch_optional(&mut *self.0)
                .await
                .map_err(map_err)?;
                raw.map($crate::RawDrawerEvent::decode).transpose()
            }

            async fn insert_drawer_event(
                &mut self,
                event: &$crate::SignedDrawerEvent,
                expected: Option<i64>,
                recorded_at: i64,
            ) -> $crate::Result<i64> {
                let e = &event.request;
                sqlx::query(
                    "INSERT INTO drawer_events (drawer_account_id, teller_staff_id, kind, \
                     idempotency_key, counted_minor, expected_minor, created_at, recorded_at, \
                     signed_bytes, signature, signer_fingerprint) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(e.drawer)
                .bind(e.teller)
                .bind(e.kind.as_str())
                .bind(&e.idempotency_key)
                .bind(e.counted_minor)
                .bind(expected)
                .bind(e.created_at)
                .bind(recorded_at)
                .bind(e.canonical_bytes())
                .bind(&event.signed.signature)
                .bind(&event.signed.signer[..])
                .execute(&mut *self.0)
                .await
                .map(|done| inserted_id(&done))
                .map_err(map_err)
            }

            async fn drawer_close(
                &mut self,
                event_id: i64,
            ) -> $crate::Result<Option<($crate::DrawerEventRow, bool)>> {
                let raw: Option<$crate::RawDrawerEvent> =
                    sqlx::query_as($crate::select_drawer_events!("WHERE id = ? AND kind = 'close'"))
                        .bind(event_id)
                        .fetch_optional(&mut *self.0)
                        .await
                        .map_err(map_err)?;
                let Some(raw) = raw else { return Ok(None) };
                let signed_off: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM approvals WHERE drawer_event_id = ?")
                        .bind(event_id)
                        .fetch_one(&mut *self.0)
                        .await
                        .map_err(map_err)?;
                Ok(Some((raw.decode()?, signed_off > 0)))
            }

            async fn journal_totals(
                &mut self,
            ) -> $crate::Result<Vec<(i64, $crate::sql::Balances)>> {
                ledger_rows::journal_totals(&mut self.0).await
            }

            async fn append_event(
                &mut self,
                certificate: &[u8; 32],
                kind: &str,
                payload: &[u8],
                created_at: i64,
                sign: $crate::Signer<'_>,
            ) -> $crate::Result<$crate::EventRecord> {
                let conn = &mut *self.0;
                identity_rows::append_event_in(conn, certificate, kind, payload, created_at, sign)
                    .await
            }

            async fn commit(self) -> $crate::Result<()> {
                self.0.commit().await.map_err(map_err)
            }
        }
    };
}

/// Implements [`Backend`](crate::Backend) for `$store` (a struct with a `pool` field)
/// with `$tx` as its transaction, and the benchmark's bare baseline.
#[doc(hidden)]
#[macro_export]
macro_rules! impl_backend {
    ($store:ty, $tx:ident, $migrator:expr, $for_update:literal) => {
        impl $crate::Backend for $store {
            type Tx = $tx;

            async fn begin(&self) -> $crate::Result<$tx> {
                let seal = self.seal.clone();
                begin_write(&self.pool).await.map(|tx| $tx(tx, seal))
            }

            fn with_seal(mut self, seal: $crate::Seal) -> Self {
                self.seal = Some(seal);
                self
            }

            async fn migrate(&self) -> $crate::Result<()> {
                $migrator
                    .run(&self.pool)
                    .await
                    .map_err(|e| $crate::StoreError::Migration(e.to_string()))
            }

            async fn create_staff(
                &self,
                staff: &$crate::NewStaff,
                now: i64,
                maker: Option<$crate::master::Maker<'_>>,
            ) -> $crate::Result<i64> {
                let mut tx = begin_write(&self.pool).await?;
                let done = sqlx::query(
                    "INSERT INTO staff (staff_number, display_name, role, created_at) \
                     VALUES (?, ?, ?, ?)",
                )
                .bind(&staff.number)
                .bind(&staff.display_name)
                .bind(&staff.role)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                let id = inserted_id(&done);
                let contents = $crate::master::staff_contents(staff);
                identity_rows::first_version_in(&mut *tx, $crate::master::STAFF_VERSION, id, &contents, now, maker)
                    .await?;
                tx.commit().await.map_err(map_err)?;
                Ok(id)
            }

            async fn create_customer(
                &self,
                customer: &$crate::NewCustomer,
                now: i64,
                maker: Option<$crate::master::Maker<'_>>,
            ) -> $crate::Result<i64> {
                let mut tx = begin_write(&self.pool).await?;
                let done = sqlx::query(
                    "INSERT INTO customers (customer_number, full_name, created_at) \
                     VALUES (?, ?, ?)",
                )
                .bind(&customer.number)
                .bind(&customer.full_name)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                let id = inserted_id(&done);
                let contents = $crate::master::customer_contents(customer);
                identity_rows::first_version_in(&mut *tx, $crate::master::CUSTOMER_VERSION, id, &contents, now, maker)
                    .await?;
                tx.commit().await.map_err(map_err)?;
                Ok(id)
            }

            async fn create_account(
                &self,
                account: &$crate::NewAccount,
                now: i64,
                maker: Option<$crate::master::Maker<'_>>,
            ) -> $crate::Result<i64> {
                let mut tx = begin_write(&self.pool).await?;
                let done = sqlx::query(
                    "INSERT INTO accounts (account_number, customer_id, kind, currency, \
                     floor_minor, closed, label, created_at) VALUES (?, ?, ?, ?, ?, FALSE, ?, ?)",
                )
                .bind(&account.number)
                .bind(account.customer_id)
                .bind(account.kind.as_str())
                .bind(account.currency.code())
                .bind(account.floor_minor)
                .bind(&account.label)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                let id = inserted_id(&done);
                let contents = $crate::master::account_contents(account, false);
                // A server seals the row of an account it opens for a signed version;
                // an unsigned one stays unsealed, and no flow moves money on it.
                let seal = self
                    .seal
                    .as_ref()
                    .filter(|_| maker.is_some())
                    .map(|s| s.of(id, &contents, &$crate::sql::Balances::default(), None));
                sqlx::query("INSERT INTO account_balances (account_id, seal) VALUES (?, ?)")
                    .bind(id)
                    .bind(seal.as_ref().map(|s| &s[..]))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                identity_rows::first_version_in(&mut *tx, $crate::master::ACCOUNT_VERSION, id, &contents, now, maker)
                    .await?;
                tx.commit().await.map_err(map_err)?;
                Ok(id)
            }

            async fn customers(&self) -> $crate::Result<Vec<$crate::CustomerRow>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                log_reads::customers_in(&mut conn).await
            }

            async fn account(&self, id: i64) -> $crate::Result<Option<$crate::AccountRow>> {
                let raw: Option<$crate::RawAccount> =
                    sqlx::query_as($crate::select_accounts!("WHERE a.id = ?"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map_err)?;
                raw.map($crate::RawAccount::decode).transpose()
            }

            async fn accounts(&self) -> $crate::Result<Vec<$crate::AccountRow>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                log_reads::accounts_in(&mut conn).await
            }

            async fn expired_pending(&self, now: i64) -> $crate::Result<Vec<i64>> {
                sqlx::query_scalar(
                    "SELECT t.id FROM transfers t LEFT JOIN approvals a ON a.transfer_id = t.id \
                     WHERE t.status = 'pending' AND t.expires_at < ? AND a.id IS NULL \
                     ORDER BY t.id",
                )
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)
            }

            async fn journal_totals(&self) -> $crate::Result<Vec<(i64, $crate::sql::Balances)>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                ledger_rows::journal_totals(&mut conn).await
            }

            async fn duplicate_keys(&self) -> $crate::Result<u64> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM (SELECT maker_staff_id, idempotency_key FROM transfers \
                     GROUP BY maker_staff_id, idempotency_key HAVING COUNT(*) > 1) dup",
                )
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn find_customers(
                &self,
                query: &str,
                limit: u32,
            ) -> $crate::Result<Vec<$crate::CustomerRow>> {
                // LIKE with the wildcards in the query escaped: a search is never a pattern.
                let escaped: String = query
                    .chars()
                    .flat_map(|c| match c {
                        '%' | '_' | '!' => vec!['!', c],
                        c => vec![c],
                    })
                    .collect();
                let pattern = format!("%{escaped}%");
                sqlx::query_as(
                    "SELECT id, customer_number AS number, full_name FROM customers \
                     WHERE full_name LIKE ? ESCAPE '!' OR customer_number LIKE ? ESCAPE '!' \
                     OR id IN (SELECT customer_id FROM accounts WHERE customer_id IS NOT NULL \
                     AND account_number LIKE ? ESCAPE '!') \
                     ORDER BY full_name, id LIMIT ?",
                )
                .bind(&pattern)
                .bind(&pattern)
                .bind(&pattern)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)
            }

            async fn customer_accounts(
                &self,
                customer: i64,
            ) -> $crate::Result<Vec<$crate::AccountRow>> {
                let by_customer = $crate::select_accounts!("WHERE a.customer_id = ? ORDER BY a.id");
                let raw: Vec<$crate::RawAccount> = sqlx::query_as(by_customer)
                    .bind(customer)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                raw.into_iter().map($crate::RawAccount::decode).collect()
            }

            async fn transfers(&self) -> $crate::Result<Vec<$crate::TransferRow>> {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                log_reads::transfers_in(&mut conn).await
            }
        }

        impl $store {
            /// The benchmark's bare baseline: the same schema and locking as a posted
            /// transfer, as one plain SQL transaction with no application logic (no
            /// idempotency lookup, no rules, no retry policy). The hashes and the
            /// signature are zeros of their real sizes.
            pub async fn bare_transfer(
                &self,
                maker: i64,
                key: &str,
                debit: i64,
                credit: i64,
                amount: i64,
            ) -> $crate::Result<()> {
                let mut tx = begin_write(&self.pool).await?;
                let (lo, hi) = (debit.min(credit), debit.max(credit));
                for id in [lo, hi] {
                    sqlx::query(concat!(
                        "SELECT b.debits_posted FROM accounts a JOIN account_balances b \
                         ON b.account_id = a.id WHERE a.id = ?",
                        $for_update
                    ))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                sqlx::query(
                    "INSERT INTO transfers (maker_staff_id, idempotency_key, request_hash, kind, \
                     debit_account_id, credit_account_id, amount_minor, currency, memo, status, \
                     expires_at, created_at, recorded_at, signed_bytes, signature, \
                     signer_fingerprint) VALUES (?, ?, ?, 'transfer', ?, ?, ?, 'EUR', '', \
                     'posted', NULL, 0, 0, ?, ?, ?)",
                )
                .bind(maker)
                .bind(key)
                .bind(&[0u8; 32][..])
                .bind(debit)
                .bind(credit)
                .bind(amount)
                .bind(&[0u8; 64][..])
                .bind(&[0u8; 3373][..])
                .bind(&[0u8; 32][..])
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                sqlx::query(
                    "UPDATE account_balances SET debits_posted = debits_posted + ? \
                     WHERE account_id = ?",
                )
                .bind(amount)
                .bind(debit)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                sqlx::query(
                    "UPDATE account_balances SET credits_posted = credits_posted + ? \
                     WHERE account_id = ?",
                )
                .bind(amount)
                .bind(credit)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }
        }
    };
}
