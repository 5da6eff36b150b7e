//! The demo bank builds on both backends: everyone can log in, the log verifies, and the
//! ledger's invariants hold.

use pqbank_db::flows::check_invariants;
use pqbank_service::demo;

async fn demo_bank<S: pqbank_db::Backend + pqbank_db::IdentityStore>(store: S) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (service, bank) = demo::build(store, [5; 32], 50, 300, now).await.unwrap();
    assert_eq!(
        (bank.managers.len(), bank.tellers.len(), bank.accounts.len()),
        (2, 3, 50)
    );
    for person in bank
        .managers
        .iter()
        .chain(&bank.tellers)
        .chain([&bank.auditor])
    {
        demo::login(&service, person)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", person.name));
    }
    let report = service.verify_log(&|_, _| {}).await.unwrap();
    assert_eq!(report.problems, vec![]);
    assert!(report.transfers >= 290, "{} transfers", report.transfers);
    assert!(check_invariants(service.store()).await.unwrap().is_sound());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_on_sqlite() {
    let db = pqbank_tests::sqlite().await;
    demo_bank(db.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_on_mariadb() {
    let db = pqbank_tests::mysql().await;
    demo_bank(db.store.clone()).await;
}
