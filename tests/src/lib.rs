//! Test support: a fresh database per test on each backend (SQLite in a temporary
//! file; MariaDB in a uniquely named database that is dropped afterwards), a small bank,
//! and real composite signatures on every row.
#![forbid(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a failure is a test failure"
)]

pub mod server;

use std::future::Future;
use std::sync::Arc;

use pqbank_db::master::Maker;
use pqbank_db::{NewAccount, NewCustomer, NewStaff, SignedBy, SignedTransfer, StoreError};
use pqbank_db_mysql::MySqlStore;
use pqbank_db_sqlite::SqliteStore;
use pqbank_ledger::{AccountKind, Amount, Currency, TransferKind, TransferRequest};
use pqbank_pki::{CompositeSigningKey, Fingerprint};

/// The MariaDB server the tests use: `$PQBANK_TEST_MYSQL_URL`, else root on loopback.
#[must_use]
pub fn mysql_url() -> String {
    std::env::var("PQBANK_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// A fresh SQLite database in a temporary folder.
pub struct SqliteDb {
    /// The store.
    pub store: SqliteStore,
    dir: tempfile::TempDir,
}

/// Opens and migrates a fresh SQLite database.
pub async fn sqlite() -> SqliteDb {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(SQLITE_FILE))
        .await
        .unwrap();
    pqbank_db::Backend::migrate(&store).await.unwrap();
    SqliteDb { store, dir }
}

/// The database file's name in a [`SqliteDb`]'s folder.
const SQLITE_FILE: &str = "pqbank.db";

impl SqliteDb {
    /// The backend's name, as the `crash_writer` helper takes it.
    #[must_use]
    pub fn backend(&self) -> &'static str {
        "sqlite"
    }

    /// Where another process finds this database: the file's path.
    #[must_use]
    pub fn target(&self) -> String {
        self.dir.path().join(SQLITE_FILE).display().to_string()
    }
}

/// A uniquely named MariaDB database, dropped when this value is dropped.
pub struct MySqlDb {
    /// The store.
    pub store: MySqlStore,
    name: String,
}

/// Creates, connects to and migrates a uniquely named database. A server that cannot
/// be reached is a test failure, never a skip.
pub async fn mysql() -> MySqlDb {
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).unwrap();
    let name = format!(
        "pqbank_test_{}",
        random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let admin = MySqlStore::connect(&mysql_url()).await.unwrap_or_else(|e| {
        panic!(
            "MariaDB at {} is required (the test command starts it): {e}",
            mysql_url()
        )
    });
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin.pool())
        .await
        .unwrap();
    admin.pool().close().await;
    let store = MySqlStore::connect(&format!("{}/{name}", mysql_url()))
        .await
        .unwrap();
    pqbank_db::Backend::migrate(&store).await.unwrap();
    MySqlDb { store, name }
}

impl MySqlDb {
    /// The database's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The backend's name, as the `crash_writer` helper takes it.
    #[must_use]
    pub fn backend(&self) -> &'static str {
        "mysql"
    }

    /// Where another process finds this database: its URL.
    #[must_use]
    pub fn target(&self) -> String {
        format!("{}/{}", mysql_url(), self.name)
    }
}

impl Drop for MySqlDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Dropping runs outside the test's runtime, on a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = MySqlStore::connect(&mysql_url()).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name}"
                    )))
                    .execute(admin.pool())
                    .await;
                }
            });
        })
        .join();
    }
}

/// A uniquely named MariaDB database with an admin and a runtime account of its own,
/// made by the project's script (`scripts/db-accounts`) as an installation makes them;
/// the database and both accounts are dropped when this value is dropped.
pub struct MySqlAccounts {
    /// The database's name.
    pub name: String,
    /// The host part of both accounts: the test client as the server sees it.
    host: String,
    admin: (String, String),
    runtime: (String, String),
}

/// Eight random bytes in hex: names and passwords no other test shares.
fn random_hex() -> String {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a fresh database and its admin account with `scripts/db-accounts admin`; the
/// runtime account comes after the migrations ([`MySqlAccounts::create_runtime`]).
pub async fn mysql_accounts() -> MySqlAccounts {
    let tag = random_hex();
    let root = MySqlStore::connect(&mysql_url()).await.unwrap_or_else(|e| {
        panic!(
            "MariaDB at {} is required (the test command starts it): {e}",
            mysql_url()
        )
    });
    let host: String = sqlx::query_scalar("SELECT SUBSTRING_INDEX(USER(), '@', -1)")
        .fetch_one(root.pool())
        .await
        .unwrap();
    root.pool().close().await;
    let accounts = MySqlAccounts {
        name: format!("pqbank_priv_{tag}"),
        host,
        admin: (format!("pqbank_ad_{tag}"), random_hex()),
        runtime: (format!("pqbank_rt_{tag}"), random_hex()),
    };
    accounts.run_script("admin", &accounts.admin).await;
    accounts
}

impl MySqlAccounts {
    /// The admin account's URL: it owns the schema and migrates.
    #[must_use]
    pub fn admin_url(&self) -> String {
        self.url(&self.admin)
    }

    /// The runtime account's URL: what the server runs with.
    #[must_use]
    pub fn runtime_url(&self) -> String {
        self.url(&self.runtime)
    }

    /// The runtime account's user name.
    #[must_use]
    pub fn runtime_user(&self) -> &str {
        &self.runtime.0
    }

    /// Creates the runtime account with `scripts/db-accounts runtime` (after the
    /// migrations: its grants name the tables).
    pub async fn create_runtime(&self) {
        self.run_script("runtime", &self.runtime).await;
    }

    /// A connection to the database with the test server's own account (root).
    pub async fn root(&self) -> MySqlStore {
        MySqlStore::connect(&format!("{}/{}", mysql_url(), self.name))
            .await
            .unwrap()
    }

    fn url(&self, (user, password): &(String, String)) -> String {
        let server = mysql_url();
        let address = server.rsplit('@').next().unwrap_or("127.0.0.1:3306");
        format!("mysql://{user}:{password}@{address}/{}", self.name)
    }

    /// Runs `scripts/db-accounts <role>` for this database and the account, and the SQL it
    /// writes as the test server's own account, as an installer pipes it into `mariadb`.
    async fn run_script(&self, role: &str, (user, password): &(String, String)) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/db-accounts");
        let out = std::process::Command::new("bash")
            .args([script, role, &self.name, &self.host])
            .env("PQBANK_DB_USER", user)
            .env("PQBANK_DB_PASSWORD", password)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/db-accounts {role}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sql = String::from_utf8(out.stdout).unwrap();
        let root = MySqlStore::connect(&mysql_url()).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(root.pool())
            .await
            .unwrap_or_else(|e| panic!("scripts/sql/{role}.sql: {e}"));
        root.pool().close().await;
    }
}

impl Drop for MySqlAccounts {
    fn drop(&mut self) {
        let statements = [
            format!("DROP DATABASE IF EXISTS `{}`", self.name),
            format!("DROP USER IF EXISTS `{}`@`{}`", self.admin.0, self.host),
            format!("DROP USER IF EXISTS `{}`@`{}`", self.runtime.0, self.host),
        ];
        // Dropping runs outside the test's runtime, on a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(root) = MySqlStore::connect(&mysql_url()).await {
                    for statement in statements {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(statement))
                            .execute(root.pool())
                            .await;
                    }
                }
            });
        })
        .join();
    }
}

/// A staff member with a device key.
#[derive(Clone)]
pub struct Staff {
    /// Database id.
    pub id: i64,
    /// The composite key their device signs with.
    pub key: Arc<CompositeSigningKey>,
    /// Fingerprint standing in for their certificate's.
    pub fingerprint: [u8; 32],
}

impl Staff {
    /// Signs `bytes`.
    #[must_use]
    pub fn sign(&self, bytes: &[u8]) -> SignedBy {
        let sig = self.key.sign(bytes, b"pqbank/row/v1", &[0; 32]).unwrap();
        SignedBy {
            signature: sig.into_bytes(),
            signer: self.fingerprint,
        }
    }

    /// A signed transfer request.
    #[must_use]
    pub fn transfer(
        &self,
        key: &str,
        kind: TransferKind,
        debit: i64,
        credit: i64,
        amount: Amount,
        now: i64,
    ) -> SignedTransfer {
        let request = TransferRequest {
            maker: self.id,
            idempotency_key: key.into(),
            kind,
            debit,
            credit,
            amount,
            memo: format!("{kind} test"),
            created_at: now,
        };
        let signed = self.sign(&request.canonical_bytes());
        SignedTransfer { request, signed }
    }
}

/// Adds a staff member with a deterministic key, unsigned (for tests of the ledger alone).
pub async fn staff<B: pqbank_db::Backend>(db: &B, number: &str, role: &str, seed: u8) -> Staff {
    staff_by(db, number, role, seed, None, 0).await
}

/// [`staff`], its first version made by `maker` at `now` (see `pqbank_db::master`).
pub async fn staff_by<B: pqbank_db::Backend>(
    db: &B,
    number: &str,
    role: &str,
    seed: u8,
    maker: Option<Maker<'_>>,
    now: i64,
) -> Staff {
    let id = db
        .create_staff(
            &NewStaff {
                number: number.into(),
                display_name: number.into(),
                role: role.into(),
            },
            now,
            maker,
        )
        .await
        .unwrap();
    let key = CompositeSigningKey::from_seed(&[seed; 64]);
    let fingerprint = *Fingerprint::of(key.verifying_key().as_bytes()).as_bytes();
    Staff {
        id,
        key: Arc::new(key),
        fingerprint,
    }
}

/// Opens an account, unsigned (for tests of the ledger alone).
pub async fn account<B: pqbank_db::Backend>(
    db: &B,
    number: &str,
    customer: Option<i64>,
    kind: AccountKind,
    currency: Currency,
    floor: Option<i64>,
) -> i64 {
    let account = NewAccount {
        number: number.into(),
        customer_id: customer,
        kind,
        currency,
        floor_minor: floor,
        label: number.into(),
    };
    account_by(db, &account, None, 0).await
}

/// Opens `account`, its first version made by `maker` at `now`.
pub async fn account_by<B: pqbank_db::Backend>(
    db: &B,
    account: &NewAccount,
    maker: Option<Maker<'_>>,
    now: i64,
) -> i64 {
    db.create_account(account, now, maker).await.unwrap()
}

/// Adds a customer, unsigned (for tests of the ledger alone).
pub async fn customer<B: pqbank_db::Backend>(db: &B, number: &str, name: &str) -> i64 {
    customer_by(db, number, name, None, 0).await
}

/// [`customer`], its first version made by `maker` at `now`.
pub async fn customer_by<B: pqbank_db::Backend>(
    db: &B,
    number: &str,
    name: &str,
    maker: Option<Maker<'_>>,
    now: i64,
) -> i64 {
    db.create_customer(
        &NewCustomer {
            number: number.into(),
            full_name: name.into(),
        },
        now,
        maker,
    )
    .await
    .unwrap()
}

/// An amount in minor units.
#[must_use]
pub fn minor(units: i64, currency: Currency) -> Amount {
    Amount::from_minor(units, currency).unwrap()
}

/// A value bound to a raw statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    /// An integer.
    Int(i64),
    /// Bytes.
    Bytes(Vec<u8>),
}

impl From<i64> for Bind {
    fn from(n: i64) -> Self {
        Self::Int(n)
    }
}

impl From<Vec<u8>> for Bind {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Bytes(bytes)
    }
}

/// Raw SQL on a backend, as someone with database access (or a fault) would run it.
pub trait Raw: Sync {
    /// Runs a statement with `binds` in order; a failure is mapped as the backend maps
    /// its errors.
    fn run(
        &self,
        sql: &str,
        binds: &[Bind],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Runs a statement that must succeed.
    fn exec(&self, sql: &str) -> impl Future<Output = ()> + Send {
        async move {
            self.run(sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    /// Rows in a table.
    fn count(&self, table: &str) -> impl Future<Output = i64> + Send;

    /// A statement that makes every INSERT into `table` fail (fault injection).
    fn fault(table: &str) -> String;
}

/// Implements [`Raw`] for a store with a `pool()`, its backend's `map_err` and the
/// trigger that injects a fault (`{table}` in it is the table's name).
macro_rules! impl_raw {
    ($store:ty, $map_err:path, $fault:literal) => {
        impl Raw for $store {
            async fn run(&self, sql: &str, binds: &[Bind]) -> Result<u64, StoreError> {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
                for bind in binds {
                    query = match bind {
                        Bind::Int(n) => query.bind(*n),
                        Bind::Bytes(bytes) => query.bind(bytes.clone()),
                    };
                }
                query
                    .execute(self.pool())
                    .await
                    .map(|done| done.rows_affected())
                    .map_err($map_err)
            }

            async fn count(&self, table: &str) -> i64 {
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(self.pool())
                    .await
                    .unwrap()
            }

            fn fault(table: &str) -> String {
                format!($fault, table = table)
            }
        }
    };
}

impl_raw!(
    SqliteStore,
    pqbank_db_sqlite::map_err,
    "CREATE TRIGGER fault_{table} BEFORE INSERT ON {table} \
     BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
);
impl_raw!(
    MySqlStore,
    pqbank_db_mysql::map_err,
    "CREATE TRIGGER fault_{table} BEFORE INSERT ON {table} FOR EACH ROW \
     SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault'"
);

/// Generates `mod $name { fn sqlite(), fn mysql() }`: one `#[tokio::test]` per backend on
/// a multi-threaded runtime, each on a fresh database ([`sqlite`], [`mysql`]), dropped
/// when the test ends.
///
/// - `on_every_backend!(name, path)` awaits `path(&db.store)`;
/// - `on_every_backend!(name, |db| expr)` awaits `expr`, with the fresh [`SqliteDb`] or
///   [`MySqlDb`] as `db` (for a test that wants the store by value, its `backend()` or
///   its `target()`); the expression is written once and expanded for each backend;
/// - `threads = N` before either picks the runtime's worker threads (default 2).
///
/// The expression sees the items of the module that invokes the macro.
#[macro_export]
macro_rules! on_every_backend {
    ($(#[$meta:meta])* $name:ident, threads = $threads:tt, |$db:ident| $call:expr) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports, reason = "the expression names the parent's items")]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn sqlite() {
                let $db = $crate::sqlite().await;
                $call.await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn mysql() {
                let $db = $crate::mysql().await;
                $call.await;
            }
        }
    };
    ($(#[$meta:meta])* $name:ident, threads = $threads:tt, $body:path) => {
        $crate::on_every_backend!($(#[$meta])* $name, threads = $threads, |db| $body(&db.store));
    };
    ($(#[$meta:meta])* $name:ident, |$db:ident| $call:expr) => {
        $crate::on_every_backend!($(#[$meta])* $name, threads = 2, |$db| $call);
    };
    ($(#[$meta:meta])* $name:ident, $body:path) => {
        $crate::on_every_backend!($(#[$meta])* $name, threads = 2, |db| $body(&db.store));
    };
}
