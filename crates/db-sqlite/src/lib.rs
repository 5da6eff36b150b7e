//! The SQLite backend of pqbank's storage.
//!
//! Writers take the database lock up front (`BEGIN IMMEDIATE`), so two tellers never
//! interleave a read and a write; a writer that finds the file busy waits up to the busy
//! timeout and is then retried by the flows. WAL journal with `synchronous = FULL`: a
//! committed transfer survives a power cut.
//!
//! The statements are pqbank-db's ([`pqbank_db::sql`]); this crate holds SQLite's
//! dialect: the connection options, `BEGIN IMMEDIATE`, no row-lock clause, the rowid of
//! an insert, `CAST(.. AS INTEGER)` and the busy and locked codes.
#![forbid(unsafe_code)]

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use pqbank_db::{Result, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// Connections in the pool.
const POOL_CONNECTIONS_MAX: u32 = 8;
/// How long a writer waits for the lock before the flows retry.
const BUSY_TIMEOUT_MS: u64 = 2_000;

/// A SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    seal: Option<pqbank_db::Seal>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        Self::with_options(SqliteConnectOptions::new().filename(path), BUSY_TIMEOUT_MS).await
    }

    /// Opens with a busy timeout of `busy_timeout_ms` before a locked file counts as a
    /// transient conflict.
    pub async fn open_with_busy_timeout(path: &Path, busy_timeout_ms: u64) -> Result<Self> {
        Self::with_options(SqliteConnectOptions::new().filename(path), busy_timeout_ms).await
    }

    /// Opens a `sqlite:` URL.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::with_options(
            SqliteConnectOptions::from_str(url).map_err(map_err)?,
            BUSY_TIMEOUT_MS,
        )
        .await
    }

    async fn with_options(options: SqliteConnectOptions, busy_timeout_ms: u64) -> Result<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_millis(busy_timeout_ms));
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_CONNECTIONS_MAX)
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(Self { pool, seal: None })
    }

    /// The pool, for tests and benchmarks that need raw SQL (feature `test-support`).
    #[cfg(feature = "test-support")]
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Maps a driver error: busy and locked are transient, as is a unique violation (a
/// concurrent writer with the same key won; the retry reads its row); the append-only
/// triggers' abort is [`StoreError::AppendOnly`].
pub fn map_err(e: sqlx::Error) -> StoreError {
    pqbank_db::sql::map_driver_error(e, |db| {
        let code: i64 = db.code().and_then(|c| c.parse().ok()).unwrap_or(0);
        matches!(code & 0xff, 5 | 6) || db.is_unique_violation()
    })
}

/// A write transaction holding SQLite's reserved lock, with the store's seal.
pub struct SqliteTx(Transaction<'static, Sqlite>, Option<pqbank_db::Seal>);

/// Starts a write transaction holding SQLite's reserved lock.
async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)
}

/// The id of the row an `INSERT` wrote: its rowid (every `id` is `INTEGER PRIMARY KEY`).
fn inserted_id(done: &SqliteQueryResult) -> i64 {
    done.last_insert_rowid()
}

pqbank_db::impl_sql_backend! {
    database: sqlx::Sqlite, store: SqliteStore, tx: SqliteTx,
    // A deferred transaction: its first read takes the WAL snapshot it keeps.
    snapshot: SqliteSnapshot,
    snapshot_begin: "BEGIN",
    migrator: sqlx::migrate!("../../migrations/sqlite"),
    // BEGIN IMMEDIATE already holds the whole file: there are no row locks to take.
    for_update: "",
    signed: "INTEGER",
}
