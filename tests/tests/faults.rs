//! Faults: a lock held elsewhere is retried with backoff and then reported with nothing
//! applied; a writer killed mid-stream leaves a consistent ledger; a corrupted balance
//! cache is found and recomputed from the journal.

use std::process::Command;
use std::time::Duration;

use pqbank_db::flows::{check_invariants, post_transfer, rebuild_balances};
use pqbank_db::{Backend, RetryPolicy, StoreError};
use pqbank_ledger::{AccountKind, Currency, Policy, TransferKind};
use pqbank_tests::{Staff, account, minor, staff};

const EUR: Currency = Currency::EUR;
const FEW_RETRIES: RetryPolicy = RetryPolicy {
    attempts_max: 3,
    backoff_base_ms: 5,
    backoff_cap_ms: 20,
};

async fn two_accounts<B: Backend>(db: &B) -> (Staff, i64, i64) {
    let t = staff(db, "T-1", "teller", 1).await;
    let a = account(db, "A", None, AccountKind::Customer, EUR, Some(-1_000_000)).await;
    let b = account(db, "B", None, AccountKind::Customer, EUR, Some(-1_000_000)).await;
    (t, a, b)
}

/// Proves a transfer blocked by a lock held elsewhere is retried a bounded number of
/// times, reported as busy, and leaves no trace; once the lock is gone it posts.
async fn blocked_then_reported<B: Backend>(db: &B, t: &Staff, a: i64, b: i64) {
    let transfer = t.transfer("blocked", TransferKind::Transfer, a, b, minor(500, EUR), 1);
    let result = post_transfer(db, &FEW_RETRIES, &transfer, &Policy::default(), 1).await;
    assert_eq!(result, Err(StoreError::Busy { attempts: 3 }));
    assert!(db.transfers().await.unwrap().is_empty(), "nothing applied");
}

#[tokio::test]
async fn lock_wait_on_mariadb_is_retried_then_reported() {
    let fixture = pqbank_tests::mysql().await;
    let (t, a, b) = two_accounts(&fixture.store).await;
    let url = format!("{}/{}", pqbank_tests::mysql_url(), fixture.name());
    let short = pqbank_db_mysql::MySqlStore::connect_with_lock_wait(&url, 1)
        .await
        .unwrap();
    let mut holder = fixture.store.pool().begin().await.unwrap();
    sqlx::query("SELECT id FROM accounts WHERE id = ? FOR UPDATE")
        .bind(a)
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    blocked_then_reported(&short, &t, a, b).await;
    holder.rollback().await.unwrap();
    let transfer = t.transfer("blocked", TransferKind::Transfer, a, b, minor(500, EUR), 1);
    assert!(
        post_transfer(&short, &FEW_RETRIES, &transfer, &Policy::default(), 1)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn busy_sqlite_is_retried_then_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pqbank.db");
    let store = pqbank_db_sqlite::SqliteStore::open_with_busy_timeout(&path, 50)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let (t, a, b) = two_accounts(&store).await;
    let other = pqbank_db_sqlite::SqliteStore::open(&path).await.unwrap();
    let holder = other.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
    blocked_then_reported(&store, &t, a, b).await;
    drop(holder);
    let transfer = t.transfer("blocked", TransferKind::Transfer, a, b, minor(500, EUR), 1);
    assert!(
        post_transfer(&store, &FEW_RETRIES, &transfer, &Policy::default(), 1)
            .await
            .is_ok()
    );
}

/// Kills a writer process with SIGKILL while it posts transfers, then checks that every
/// transfer it committed is whole and the cached balances equal the journal.
async fn killed_writer<B: Backend>(db: &B, backend: &str, target: &str) {
    let (t, a, b) = two_accounts(db).await;
    let c = account(db, "C", None, AccountKind::Customer, EUR, Some(-1_000_000)).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash_writer"))
        .args([
            backend,
            target,
            &t.id.to_string(),
            &a.to_string(),
            &b.to_string(),
            &c.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it has committed something, then kill it mid-stream.
    for _ in 0..200 {
        if db.transfers().await.unwrap().len() > 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let committed = db.transfers().await.unwrap().len();
    assert!(
        committed > 50,
        "the writer committed {committed} transfers before the kill"
    );
    let report = check_invariants(db).await.unwrap();
    assert!(report.is_sound(), "{report:?}");
    assert_eq!(
        rebuild_balances(db, &FEW_RETRIES).await.unwrap(),
        Vec::<i64>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_writer_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pqbank.db");
    let store = pqbank_db_sqlite::SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    killed_writer(&store, "sqlite", path.to_str().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_writer_on_mariadb() {
    let fixture = pqbank_tests::mysql().await;
    let url = format!("{}/{}", pqbank_tests::mysql_url(), fixture.name());
    killed_writer(&fixture.store, "mysql", &url).await;
}

/// Proves a balance cache edited behind the ledger's back is found, named, and rebuilt
/// from the journal.
async fn corrupted_cache<B: Backend>(
    db: &B,
    corrupt: impl std::future::Future<Output = ()>,
    a: i64,
) {
    let report = check_invariants(db).await.unwrap();
    assert!(report.is_sound());
    corrupt.await;
    let report = check_invariants(db).await.unwrap();
    assert_eq!(report.cache_mismatch, vec![a]);
    assert_eq!(rebuild_balances(db, &FEW_RETRIES).await.unwrap(), vec![a]);
    assert!(check_invariants(db).await.unwrap().is_sound());
}

#[tokio::test]
async fn corrupted_cache_on_sqlite() {
    let db = pqbank_tests::sqlite().await;
    let (t, a, b) = two_accounts(&db.store).await;
    let transfer = t.transfer("x", TransferKind::Transfer, a, b, minor(700, EUR), 1);
    post_transfer(&db.store, &FEW_RETRIES, &transfer, &Policy::default(), 1)
        .await
        .unwrap();
    let corrupt = async {
        sqlx::query("UPDATE account_balances SET credits_posted = credits_posted + 1000000 WHERE account_id = ?")
            .bind(a)
            .execute(db.store.pool())
            .await
            .unwrap();
    };
    corrupted_cache(&db.store, corrupt, a).await;
}

#[tokio::test]
async fn corrupted_cache_on_mariadb() {
    let db = pqbank_tests::mysql().await;
    let (t, a, b) = two_accounts(&db.store).await;
    let transfer = t.transfer("x", TransferKind::Transfer, a, b, minor(700, EUR), 1);
    post_transfer(&db.store, &FEW_RETRIES, &transfer, &Policy::default(), 1)
        .await
        .unwrap();
    let corrupt = async {
        sqlx::query("UPDATE account_balances SET credits_posted = credits_posted + 1000000 WHERE account_id = ?")
            .bind(a)
            .execute(db.store.pool())
            .await
            .unwrap();
    };
    corrupted_cache(&db.store, corrupt, a).await;
}
