//! The MySQL / MariaDB backend of pqbank's storage: the shared database of a branch.
//!
//! InnoDB row locks: the flows lock every account a transaction touches with
//! `SELECT ... FOR UPDATE`, one at a time in ascending id order, so two tellers never
//! deadlock on each other by design. A deadlock (1213, also what Galera reports on a
//! certification conflict), a lock wait timeout (1205) or a duplicate idempotency key
//! (1062) is transient: the flows retry the whole transaction.
//!
//! The statements are pqbank-db's ([`pqbank_db::sql`]); this crate holds MySQL's dialect:
//! the session settings, `FOR UPDATE`, `LAST_INSERT_ID`, `CAST(.. AS SIGNED)` and the
//! error numbers that mean "retry".
//!
//! Connecting never migrates. The admin account migrates ([`pqbank_db::Backend::migrate`],
//! `pqbank init`, later `pqbank-server migrate`); the server's runtime account cannot (scripts/sql/runtime.sql
//! grants no DDL), and [`MySqlStore::connect_checked`] refuses a schema that is not exactly
//! this build's migrations.
//!
//! TLS: the URL's `ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/ca.pem` makes sqlx connect over
//! rustls (aws-lc-rs) and check the server's certificate and host name.
#![forbid(unsafe_code)]

use std::str::FromStr;

use pqbank_db::schema::AppliedMigration;
use pqbank_db::{Result, StoreError};
use sqlx::migrate::Migrator;
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPoolOptions, MySqlQueryResult};
use sqlx::{MySql, MySqlPool, Transaction};

/// This build's migrations (migrations/mysql), as [`pqbank_db::Backend::migrate`] runs
/// them and [`MySqlStore::check_schema`] expects them applied.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/mysql");

/// Connections in the pool: enough for 16 concurrent tellers and the readers.
const POOL_CONNECTIONS_MAX: u32 = 40;

/// A MySQL or MariaDB database.
#[derive(Debug, Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
    seal: Option<pqbank_db::Seal>,
}

impl MySqlStore {
    /// Connects to a `mysql://` URL. Never migrates: the caller migrates with an account
    /// that may ([`pqbank_db::Backend::migrate`]) or checks the schema
    /// ([`MySqlStore::check_schema`]).
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
        Ok(Self { pool, seal: None })
    }

    /// Connects without migrating and refuses a schema that is not exactly this build's
    /// ([`MySqlStore::check_schema`]): how the server opens the database with its runtime
    /// account.
    pub async fn connect_checked(url: &str) -> Result<Self> {
        let store = Self::connect(url).await?;
        store.check_schema().await?;
        Ok(store)
    }

    /// Compares the migrations the database applied (`_sqlx_migrations`) with this
    /// build's: [`StoreError::Schema`] names a missing migration (`schema_outdated`: run
    /// `migrate` with the admin account), or an unknown, changed or failed one
    /// (`schema_unknown`). Needs SELECT only.
    pub async fn check_schema(&self) -> Result<()> {
        let applied: Vec<AppliedMigration> = match sqlx::query_as(
            "SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await
        {
            Ok(rows) => rows,
            // Never migrated: every migration is missing.
            Err(sqlx::Error::Database(e))
                if e.try_downcast_ref::<MySqlDatabaseError>()
                    .map(MySqlDatabaseError::number)
                    == Some(ER_NO_SUCH_TABLE) =>
            {
                Vec::new()
            }
            Err(e) => return Err(map_err(e)),
        };
        pqbank_db::schema::compare(&applied, &MIGRATOR).map_err(StoreError::from)
    }

    /// The pool, for tests and benchmarks that need raw SQL (feature `test-support`).
    #[cfg(feature = "test-support")]
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
/// The table does not exist.
const ER_NO_SUCH_TABLE: u16 = 1146;

/// Maps a driver error: deadlocks, lock wait timeouts and duplicate keys are transient;
/// the append-only triggers' SIGNAL is [`StoreError::AppendOnly`].
pub fn map_err(e: sqlx::Error) -> StoreError {
    pqbank_db::sql::map_driver_error(e, |db| {
        let number = db
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(MySqlDatabaseError::number);
        matches!(
            number,
            Some(ER_LOCK_DEADLOCK | ER_LOCK_WAIT_TIMEOUT | ER_DUP_ENTRY)
        )
    })
}

/// A write transaction, with the store's seal; row locks are taken by
/// [`pqbank_db::LedgerTx::lock_accounts`].
pub struct MySqlTx(Transaction<'static, MySql>, Option<pqbank_db::Seal>);

/// Starts a transaction; its row locks are taken by the statements' `FOR UPDATE`.
async fn begin_write(pool: &MySqlPool) -> Result<Transaction<'static, MySql>> {
    pool.begin().await.map_err(map_err)
}

/// The id of the row an `INSERT` wrote (`LAST_INSERT_ID()`, as the server reports it).
fn inserted_id(done: &MySqlQueryResult) -> i64 {
    done.last_insert_id() as i64
}

pqbank_db::impl_sql_backend! {
    database: sqlx::MySql, store: MySqlStore, tx: MySqlTx,
    // The pool's sessions read committed rows (see `connect_with_lock_wait`); a snapshot
    // is one REPEATABLE READ transaction, its consistent read taken as it starts.
    snapshot: MySqlSnapshot,
    snapshot_begin: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; \
                     START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
    migrator: MIGRATOR,
    for_update: " FOR UPDATE",
    signed: "SIGNED",
}
