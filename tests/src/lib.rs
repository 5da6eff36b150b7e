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

use std::sync::Arc;

use pqbank_db::{NewAccount, NewCustomer, NewStaff, SignedBy, SignedTransfer};
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
    _dir: tempfile::TempDir,
}

/// Opens and migrates a fresh SQLite database.
pub async fn sqlite() -> SqliteDb {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("pqbank.db"))
        .await
        .unwrap();
    pqbank_db::Backend::migrate(&store).await.unwrap();
    SqliteDb { store, _dir: dir }
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

/// Adds a staff member with a deterministic key.
pub async fn staff<B: pqbank_db::Backend>(db: &B, number: &str, role: &str, seed: u8) -> Staff {
    let id = db
        .create_staff(
            &NewStaff {
                number: number.into(),
                display_name: number.into(),
                role: role.into(),
            },
            0,
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

/// Opens an account.
pub async fn account<B: pqbank_db::Backend>(
    db: &B,
    number: &str,
    customer: Option<i64>,
    kind: AccountKind,
    currency: Currency,
    floor: Option<i64>,
) -> i64 {
    db.create_account(
        &NewAccount {
            number: number.into(),
            customer_id: customer,
            kind,
            currency,
            floor_minor: floor,
            label: number.into(),
        },
        0,
    )
    .await
    .unwrap()
}

/// Adds a customer.
pub async fn customer<B: pqbank_db::Backend>(db: &B, number: &str, name: &str) -> i64 {
    db.create_customer(
        &NewCustomer {
            number: number.into(),
            full_name: name.into(),
        },
        0,
    )
    .await
    .unwrap()
}

/// An amount in minor units.
#[must_use]
pub fn minor(units: i64, currency: Currency) -> Amount {
    Amount::from_minor(units, currency).unwrap()
}

/// Generates one `#[tokio::test]` per backend from an async body taking `&impl Backend`.
#[macro_export]
macro_rules! on_every_backend {
    ($(#[$meta:meta])* $name:ident, $body:path) => {
        $(#[$meta])*
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::sqlite().await;
                $body(&db.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                let db = $crate::mysql().await;
                $body(&db.store).await;
            }
        }
    };
}
