//! The MySQL / MariaDB backend of pqbank's storage: the shared database of a branch.
//!
//! InnoDB row locks: the flows lock every account a transaction touches with
//! `SELECT ... FOR UPDATE`, one at a time in ascending id order, so two tellers never
//! deadlock on each other by design. A deadlock (1213, also what Galera reports on a
//! certification conflict), a lock wait timeout (1205) or a duplicate idempotency key
//! (1062) is transient: the flows retry the whole transaction.
#![forbid(unsafe_code)]

mod identity;

use std::str::FromStr;

use pqbank_db::{
    AccountRow, Backend, DrawerEventRow, LedgerTx, NewAccount, NewApprovalRow, NewCustomer,
    NewStaff, NewTransferRow, RawAccount, RawDrawerEvent, RawTransfer, Result, SignedDrawerEvent,
    StoreError, TransferRow,
};
use pqbank_ledger::Balances;
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPoolOptions};
use sqlx::{MySql, MySqlPool, Transaction};

/// Connections in the pool: enough for 16 concurrent tellers and the readers.
const POOL_CONNECTIONS_MAX: u32 = 40;

/// A MySQL or MariaDB database.
#[derive(Debug, Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
}

impl MySqlStore {
    /// Connects to a `mysql://` URL.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with_lock_wait(url, LOCK_WAIT_SECS).await
    }

    /// Connects with a session lock wait timeout of `seconds` (InnoDB's default is 50).
    pub async fn connect_with_lock_wait(url: &str, seconds: u32) -> Result<Self> {
        let options = MySqlConnectOptions::from_str(url).map_err(map_err)?;
        let pool = MySqlPoolOptions::new()
            .max_connections(POOL_CONNECTIONS_MAX)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SET SESSION innodb_lock_wait_timeout = {seconds}"
                    )))
                    .execute(&mut *conn)
                    .await?;
                    // Every read in a flow sees the latest committed rows, so the re-read
                    // after the account locks sees a concurrent winner; REPEATABLE READ
                    // would keep the snapshot of the transaction's first read.
                    sqlx::query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                        .execute(&mut *conn)
                        .await
                        .map(|_| ())
                })
            })
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(Self { pool })
    }

    /// The pool, for tests and benchmarks that need raw SQL.
    #[must_use]
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }
}

/// How long a statement waits for a row lock before the flows retry: short, since a
/// teller's transaction holds its locks for milliseconds.
const LOCK_WAIT_SECS: u32 = 5;

/// MySQL error numbers that mean "try the whole transaction again".
const ER_LOCK_DEADLOCK: u16 = 1213;
const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
const ER_DUP_ENTRY: u16 = 1062;

/// Maps a driver error: deadlocks, lock wait timeouts and duplicate keys are transient;
/// the append-only triggers' SIGNAL is [`StoreError::AppendOnly`].
pub fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => {
            let number = db
                .try_downcast_ref::<MySqlDatabaseError>()
                .map(MySqlDatabaseError::number);
            if db.message().contains("append-only") {
                StoreError::AppendOnly
            } else if matches!(
                number,
                Some(ER_LOCK_DEADLOCK | ER_LOCK_WAIT_TIMEOUT | ER_DUP_ENTRY)
            ) {
                StoreError::Transient(db.message().to_owned())
            } else {
                StoreError::Database(db.message().to_owned())
            }
        }
        sqlx::Error::PoolTimedOut => StoreError::Transient("connection pool timed out".into()),
        other => StoreError::Database(other.to_string()),
    }
}

/// `SELECT` of the columns [`RawTransfer`] decodes, followed by `$tail`.
macro_rules! transfer_select {
    ($tail:literal) => {
        concat!(
            "SELECT t.id, t.maker_staff_id, t.idempotency_key, t.request_hash, t.kind, ",
            "t.debit_account_id, t.credit_account_id, t.amount_minor, t.currency, t.memo, t.status, ",
            "t.expires_at, t.created_at, t.recorded_at, t.signed_bytes, t.signature, ",
            "t.signer_fingerprint, a.decision FROM transfers t ",
            "LEFT JOIN approvals a ON a.transfer_id = t.id ",
            $tail
        )
    };
}

/// A write transaction; row locks are taken by [`LedgerTx::lock_accounts`].
pub struct MySqlTx(Transaction<'static, MySql>);

impl LedgerTx for MySqlTx {
    async fn transfer_by_key(&mut self, maker: i64, key: &str) -> Result<Option<TransferRow>> {
        let raw: Option<RawTransfer> = sqlx::query_as(transfer_select!(
            "WHERE t.maker_staff_id = ? AND t.idempotency_key = ?"
        ))
        .bind(maker)
        .bind(key)
        .fetch_optional(&mut *self.0)
        .await
        .map_err(map_err)?;
        raw.map(RawTransfer::decode).transpose()
    }

    async fn transfer(&mut self, id: i64) -> Result<Option<TransferRow>> {
        let raw: Option<RawTransfer> = sqlx::query_as(transfer_select!("WHERE t.id = ?"))
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await
            .map_err(map_err)?;
        raw.map(RawTransfer::decode).transpose()
    }

    async fn lock_accounts(&mut self, ids: &[i64]) -> Result<Vec<AccountRow>> {
        // One row at a time in ascending order: the fixed order that rules out deadlocks
        // between flows.
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            let raw: Option<RawAccount> = sqlx::query_as(ACCOUNT_BY_ID_FOR_UPDATE)
                .bind(id)
                .fetch_optional(&mut *self.0)
                .await
                .map_err(map_err)?;
            if let Some(raw) = raw {
                rows.push(raw.decode()?);
            }
        }
        Ok(rows)
    }

    async fn insert_transfer(&mut self, row: &NewTransferRow<'_>) -> Result<i64> {
        let r = &row.transfer.request;
        sqlx::query(
            "INSERT INTO transfers (maker_staff_id, idempotency_key, request_hash, kind, \
             debit_account_id, credit_account_id, amount_minor, currency, memo, status, expires_at, \
             created_at, recorded_at, signed_bytes, signature, signer_fingerprint) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .map(|r| r.last_insert_id() as i64)
        .map_err(map_err)
    }

    async fn write_balances(&mut self, account: i64, b: &Balances) -> Result<()> {
        sqlx::query(
            "UPDATE account_balances SET debits_posted = ?, credits_posted = ?, \
             debits_pending = ?, credits_pending = ? WHERE account_id = ?",
        )
        .bind(b.debits_posted)
        .bind(b.credits_posted)
        .bind(b.debits_pending)
        .bind(b.credits_pending)
        .bind(account)
        .execute(&mut *self.0)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_approval(&mut self, row: &NewApprovalRow) -> Result<i64> {
        let (bytes, signed) = row.signed.clone().unzip();
        sqlx::query(
            "INSERT INTO approvals (transfer_id, drawer_event_id, decision, approver_staff_id, \
             created_at, signed_bytes, signature, signer_fingerprint) \
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
        .map(|r| r.last_insert_id() as i64)
        .map_err(map_err)
    }

    async fn last_drawer_event(&mut self, drawer: i64) -> Result<Option<DrawerEventRow>> {
        let raw: Option<RawDrawerEvent> = sqlx::query_as(
            "SELECT id, drawer_account_id, teller_staff_id, kind, idempotency_key, counted_minor, \
             expected_minor, created_at FROM drawer_events WHERE drawer_account_id = ? \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(drawer)
        .fetch_optional(&mut *self.0)
        .await
        .map_err(map_err)?;
        raw.map(RawDrawerEvent::decode).transpose()
    }

    async fn insert_drawer_event(
        &mut self,
        event: &SignedDrawerEvent,
        expected: Option<i64>,
        recorded_at: i64,
    ) -> Result<i64> {
        let e = &event.request;
        sqlx::query(
            "INSERT INTO drawer_events (drawer_account_id, teller_staff_id, kind, idempotency_key, \
             counted_minor, expected_minor, created_at, recorded_at, signed_bytes, signature, \
             signer_fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .map(|r| r.last_insert_id() as i64)
        .map_err(map_err)
    }

    async fn drawer_close(&mut self, event_id: i64) -> Result<Option<(DrawerEventRow, bool)>> {
        let raw: Option<RawDrawerEvent> = sqlx::query_as(
            "SELECT id, drawer_account_id, teller_staff_id, kind, idempotency_key, counted_minor, \
             expected_minor, created_at FROM drawer_events WHERE id = ? AND kind = 'close'",
        )
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

    async fn journal_totals(&mut self) -> Result<Vec<(i64, Balances)>> {
        journal_totals(&mut self.0).await
    }

    async fn append_event(
        &mut self,
        certificate: &[u8; 32],
        kind: &str,
        payload: &[u8],
        created_at: i64,
        sign: pqbank_db::Signer<'_>,
    ) -> Result<pqbank_db::EventRecord> {
        identity::append_event_in(&mut self.0, certificate, kind, payload, created_at, sign).await
    }

    async fn commit(self) -> Result<()> {
        self.0.commit().await.map_err(map_err)
    }
}

const ACCOUNT_BY_ID: &str = "SELECT a.id, a.account_number, a.customer_id, a.kind, a.currency, \
     a.floor_minor, a.closed, a.label, b.debits_posted, b.credits_posted, b.debits_pending, \
     b.credits_pending FROM accounts a JOIN account_balances b ON b.account_id = a.id WHERE a.id = ?";
const ACCOUNT_BY_ID_FOR_UPDATE: &str = "SELECT a.id, a.account_number, a.customer_id, a.kind, \
     a.currency, a.floor_minor, a.closed, a.label, b.debits_posted, b.credits_posted, \
     b.debits_pending, b.credits_pending FROM accounts a JOIN account_balances b \
     ON b.account_id = a.id WHERE a.id = ? FOR UPDATE";

impl Backend for MySqlStore {
    type Tx = MySqlTx;

    async fn begin(&self) -> Result<MySqlTx> {
        self.pool.begin().await.map(MySqlTx).map_err(map_err)
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("../../migrations/mysql")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    async fn create_staff(&self, staff: &NewStaff, now: i64) -> Result<i64> {
        sqlx::query(
            "INSERT INTO staff (staff_number, display_name, role, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&staff.number)
        .bind(&staff.display_name)
        .bind(&staff.role)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|r| r.last_insert_id() as i64)
        .map_err(map_err)
    }

    async fn create_customer(&self, customer: &NewCustomer, now: i64) -> Result<i64> {
        sqlx::query(
            "INSERT INTO customers (customer_number, full_name, created_at) VALUES (?, ?, ?)",
        )
        .bind(&customer.number)
        .bind(&customer.full_name)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|r| r.last_insert_id() as i64)
        .map_err(map_err)
    }

    async fn create_account(&self, account: &NewAccount, now: i64) -> Result<i64> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let id = sqlx::query(
            "INSERT INTO accounts (account_number, customer_id, kind, currency, floor_minor, closed, label, created_at) \
             VALUES (?, ?, ?, ?, ?, FALSE, ?, ?)",
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
        .map_err(map_err)?
        .last_insert_id() as i64;
        sqlx::query("INSERT INTO account_balances (account_id) VALUES (?)")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(id)
    }

    async fn account(&self, id: i64) -> Result<Option<AccountRow>> {
        let raw: Option<RawAccount> = sqlx::query_as(ACCOUNT_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        raw.map(RawAccount::decode).transpose()
    }

    async fn accounts(&self) -> Result<Vec<AccountRow>> {
        let raw: Vec<RawAccount> = sqlx::query_as(
            "SELECT a.id, a.account_number, a.customer_id, a.kind, a.currency, a.floor_minor, a.closed, \
             a.label, b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending \
             FROM accounts a JOIN account_balances b ON b.account_id = a.id ORDER BY a.id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        raw.into_iter().map(RawAccount::decode).collect()
    }

    async fn expired_pending(&self, now: i64) -> Result<Vec<i64>> {
        sqlx::query_scalar(
            "SELECT t.id FROM transfers t LEFT JOIN approvals a ON a.transfer_id = t.id \
             WHERE t.status = 'pending' AND t.expires_at < ? AND a.id IS NULL ORDER BY t.id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn journal_totals(&self) -> Result<Vec<(i64, Balances)>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        journal_totals(&mut conn).await
    }

    async fn duplicate_keys(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT maker_staff_id, idempotency_key FROM transfers \
             GROUP BY maker_staff_id, idempotency_key HAVING COUNT(*) > 1) dup",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn find_customers(&self, query: &str, limit: u32) -> Result<Vec<pqbank_db::CustomerRow>> {
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

    async fn customer_accounts(&self, customer: i64) -> Result<Vec<AccountRow>> {
        let raw: Vec<RawAccount> = sqlx::query_as(
            "SELECT a.id, a.account_number, a.customer_id, a.kind, a.currency, a.floor_minor, a.closed, \
             a.label, b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending \
             FROM accounts a JOIN account_balances b ON b.account_id = a.id WHERE a.customer_id = ? ORDER BY a.id",
        )
        .bind(customer)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        raw.into_iter().map(RawAccount::decode).collect()
    }

    async fn transfers(&self) -> Result<Vec<TransferRow>> {
        let raw: Vec<RawTransfer> = sqlx::query_as(transfer_select!("ORDER BY t.id"))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        raw.into_iter().map(RawTransfer::decode).collect()
    }
}

async fn journal_totals(conn: &mut sqlx::MySqlConnection) -> Result<Vec<(i64, Balances)>> {
    let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(JOURNAL_TOTALS)
        .fetch_all(conn)
        .await
        .map_err(map_err)?;
    Ok(rows
        .into_iter()
        .map(|(id, dp, cp, dq, cq)| {
            (
                id,
                Balances {
                    debits_posted: dp,
                    credits_posted: cp,
                    debits_pending: dq,
                    credits_pending: cq,
                },
            )
        })
        .collect())
}

/// Totals per account from the journal: a transfer counts as posted when created posted
/// or resolved "post", as pending while unresolved, and not at all once voided or expired.
const JOURNAL_TOTALS: &str = "WITH j AS ( \
       SELECT t.debit_account_id AS d, t.credit_account_id AS c, t.amount_minor AS amt, \
         CASE WHEN a.decision = 'post' OR (t.status = 'posted' AND a.id IS NULL) THEN 'p' \
              WHEN t.status = 'pending' AND a.id IS NULL THEN 'q' ELSE 'x' END AS s \
       FROM transfers t LEFT JOIN approvals a ON a.transfer_id = t.id), \
     e AS ( \
       SELECT d AS id, CASE WHEN s = 'p' THEN amt ELSE 0 END AS dp, 0 AS cp, \
              CASE WHEN s = 'q' THEN amt ELSE 0 END AS dq, 0 AS cq FROM j \
       UNION ALL \
       SELECT c, 0, CASE WHEN s = 'p' THEN amt ELSE 0 END, 0, CASE WHEN s = 'q' THEN amt ELSE 0 END FROM j) \
     SELECT acc.id, CAST(COALESCE(SUM(e.dp), 0) AS SIGNED), CAST(COALESCE(SUM(e.cp), 0) AS SIGNED), \
       CAST(COALESCE(SUM(e.dq), 0) AS SIGNED), CAST(COALESCE(SUM(e.cq), 0) AS SIGNED) \
     FROM accounts acc LEFT JOIN e ON e.id = acc.id GROUP BY acc.id ORDER BY acc.id";

impl MySqlStore {
    /// The benchmark's bare baseline: the same schema and locking as a posted transfer,
    /// as one plain SQL transaction with no application logic (no idempotency lookup,
    /// no rules, no retry policy).
    pub async fn bare_transfer(
        &self,
        maker: i64,
        key: &str,
        debit: i64,
        credit: i64,
        amount: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let (lo, hi) = (debit.min(credit), debit.max(credit));
        for id in [lo, hi] {
            sqlx::query(
                "SELECT b.debits_posted FROM accounts a JOIN account_balances b ON b.account_id = a.id \
                 WHERE a.id = ? FOR UPDATE",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        sqlx::query(
            "INSERT INTO transfers (maker_staff_id, idempotency_key, request_hash, kind, \
             debit_account_id, credit_account_id, amount_minor, currency, memo, status, expires_at, \
             created_at, recorded_at, signed_bytes, signature, signer_fingerprint) \
             VALUES (?, ?, REPEAT(X'00', 32), 'transfer', ?, ?, ?, 'EUR', '', 'posted', NULL, 0, 0, \
             REPEAT(X'00', 64), REPEAT(X'00', 3373), REPEAT(X'00', 32))",
        )
        .bind(maker)
        .bind(key)
        .bind(debit)
        .bind(credit)
        .bind(amount)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "UPDATE account_balances SET debits_posted = debits_posted + ? WHERE account_id = ?",
        )
        .bind(amount)
        .bind(debit)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "UPDATE account_balances SET credits_posted = credits_posted + ? WHERE account_id = ?",
        )
        .bind(amount)
        .bind(credit)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }
}

pqbank_db::impl_view_store!(MySqlStore);
