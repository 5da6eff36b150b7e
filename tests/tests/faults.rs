//! Faults: a lock held elsewhere is retried with backoff and then reported with nothing
//! applied; a writer killed mid-stream leaves a consistent ledger; a corrupted balance
//! cache is found and recomputed from the journal.

use std::process::Command;
use std::time::Duration;

use pqbank_db::flows::{check_invariants, post_transfer, rebuild_balances};
use pqbank_db::{Backend, RetryPolicy, StoreError};
use pqbank_ledger::{AccountKind, Currency, Policy, TransferKind};
use pqbank_tests::{Raw, Staff, account, minor, on_every_backend, staff};

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

/// MariaDB's form of the fault, single because the mechanism is the backend's own: a row
/// lock held by another transaction, waited on for the session's lock wait timeout.
#[tokio::test]
async fn lock_wait_on_mariadb_is_retried_then_reported() {
    let fixture = pqbank_tests::mysql().await;
    let (t, a, b) = two_accounts(&fixture.store).await;
    let short = pqbank_db_mysql::MySqlStore::connect_with_lock_wait(&fixture.target(), 1)
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

/// SQLite's form of the fault, single because the mechanism is the backend's own: the
/// file's write lock held by another connection, waited on for the busy timeout.
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

on_every_backend!(killed_writer, |db| killed_writer(
    &db.store,
    db.backend(),
    &db.target()
));

/// Proves a balance cache edited behind the ledger's back is found, named, and rebuilt
/// from the journal.
async fn corrupted_cache<B: Backend + Raw>(db: &B) {
    let (t, a, b) = two_accounts(db).await;
    let transfer = t.transfer("x", TransferKind::Transfer, a, b, minor(700, EUR), 1);
    post_transfer(db, &FEW_RETRIES, &transfer, &Policy::default(), 1)
        .await
        .unwrap();
    let report = check_invariants(db).await.unwrap();
    assert!(report.is_sound());
    db.run(
        "UPDATE account_balances SET credits_posted = credits_posted + 1000000 WHERE account_id = ?",
        &[a.into()],
    )
    .await
    .unwrap();
    let report = check_invariants(db).await.unwrap();
    assert_eq!(report.cache_mismatch, vec![a]);
    assert_eq!(rebuild_balances(db, &FEW_RETRIES).await.unwrap(), vec![a]);
    assert!(check_invariants(db).await.unwrap().is_sound());
}

on_every_backend!(corrupted_cache, super::corrupted_cache);
