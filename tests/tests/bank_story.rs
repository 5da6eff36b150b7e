//! One story of a branch's day, written once against `pqbank_api::Bank` and run over
//! both transports: the embedded bank (the service in process, on SQLite) and
//! pqbank-server (over TLS with X25519MLKEM768, on MariaDB with the runtime account).
//! The same calls give the same answers and the same refusal codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failure is a test failure"
)]

use std::sync::Arc;

use pqbank_api::Bank;
use pqbank_client::ServerBank;
use pqbank_ledger::{Amount, Currency, TransferKind, TransferRequest, TransferStatus};
use pqbank_pki::CompositeSigningKey;
use pqbank_service::demo::{self, DemoPerson};
use pqbank_service::{Device, InProcess, Service};
use pqbank_tests::server::serve;

fn deposit(maker: i64, drawer: i64, account: i64, minor: i64, key: &str) -> TransferRequest {
    TransferRequest {
        maker,
        idempotency_key: key.into(),
        kind: TransferKind::Deposit,
        debit: drawer,
        credit: account,
        amount: Amount::from_minor(minor, Currency::EUR).unwrap(),
        memo: "cash in".into(),
        created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    }
}

/// A teller's, a manager's and an auditor's day, on whichever bank they are signed in to.
async fn story(teller: &impl Bank, manager: &impl Bank, auditor: &impl Bank) {
    // The teller finds a customer and deposits through their open drawer.
    let found = teller.find_customers("Ada").await.unwrap();
    let account = found.customers[0].accounts[0].id;
    let drawer = teller.drawer().await.unwrap();
    assert!(drawer.open);
    let till = drawer.drawer.unwrap();
    let me = teller.staff_id();
    let small = teller
        .post_transfer(deposit(me, till.id, account, 10_000, "story-1"))
        .await
        .unwrap();
    assert_eq!(small.status, TransferStatus::Posted);
    let again = teller
        .post_transfer(deposit(me, till.id, account, 10_000, "story-1"))
        .await
        .unwrap();
    assert!(
        again.replayed && again.id == small.id,
        "a retry gets the first result"
    );

    // Above the four-eyes limit: pending until a manager posts it.
    let large = teller
        .post_transfer(deposit(me, till.id, account, 2_500_000, "story-2"))
        .await
        .unwrap();
    assert_eq!(large.status, TransferStatus::Pending);
    assert_eq!(
        teller
            .resolve_transfer(
                &teller.pending_transfers().await.unwrap().transfers[0],
                true
            )
            .await
            .unwrap_err()
            .code,
        "forbidden.action_not_allowed"
    );
    let queue = manager.pending_transfers().await.unwrap();
    let item = queue.transfers.iter().find(|t| t.id == large.id).unwrap();
    assert_eq!(
        manager.resolve_transfer(item, true).await.unwrap().status,
        TransferStatus::Posted
    );

    // An internal kind from a teller is refused by the service.
    let mut internal = deposit(me, till.id, account, 100, "story-3");
    internal.kind = TransferKind::DrawerOpen;
    assert_eq!(
        teller.post_transfer(internal).await.unwrap_err().code,
        "forbidden.action_not_allowed"
    );

    // The drawer closed one euro short; the manager signs the variance off.
    let till = teller.drawer().await.unwrap().drawer.unwrap();
    let balance = i64::try_from(till.balances.balance(till.kind.normal_side())).unwrap();
    let closed = teller
        .close_drawer(balance - 100, "story-close")
        .await
        .unwrap();
    assert_eq!(closed.variance_minor, Some(-100));
    assert_eq!(
        teller.variance_queue().await.unwrap_err().code,
        "forbidden.action_not_allowed"
    );
    let variances = manager.variance_queue().await.unwrap();
    assert!(variances.closes.iter().any(|c| c.id == closed.id));
    manager.sign_off_variance(closed.id).await.unwrap();
    assert!(manager.variance_queue().await.unwrap().closes.is_empty());

    // The next morning's float.
    teller.open_drawer(40_000, "story-open").await.unwrap();
    assert!(teller.drawer().await.unwrap().open);

    // The auditor checkpoints and verifies; a teller may do neither.
    assert_eq!(
        teller.checkpoint().await.unwrap_err().code,
        "forbidden.action_not_allowed"
    );
    let checkpoint = auditor.checkpoint().await.unwrap();
    assert!(checkpoint.tree_size > 0);
    let verified = auditor.verify_log().await.unwrap();
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);

    // Signed out: the next call is refused.
    teller.logout().await.unwrap();
    assert_eq!(teller.drawer().await.unwrap_err().code, "session_ended");
}

/// A demo person's device, owned.
fn device(who: &DemoPerson) -> Arc<Device> {
    Arc::new(Device::new(
        &who.device.id,
        CompositeSigningKey::from_seed(who.device.key().seed()),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_story_in_process_on_the_embedded_bank() {
    let db = pqbank_tests::sqlite().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (service, bank) = demo::build(db.store.clone(), [0x42; 32], 6, 0, now)
        .await
        .unwrap();
    let service: Arc<Service<_>> = Arc::new(service);
    let sign_in = |who: &DemoPerson| {
        InProcess::login(
            service.clone(),
            device(who),
            who.cert.fingerprint(),
            "127.0.0.1 (declared: embedded)",
        )
    };
    let teller = sign_in(&bank.tellers[0]).await.unwrap();
    let manager = sign_in(&bank.managers[0]).await.unwrap();
    let auditor = sign_in(&bank.auditor).await.unwrap();
    story(&teller, &manager, &auditor).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_story_through_the_server() {
    let served = serve(None).await;
    let bank = &served.bank;
    let mut signed_in = Vec::new();
    for who in [&bank.tellers[0], &bank.managers[0], &bank.auditor] {
        let remote = served.remote();
        let session = served.login(&remote, who).await;
        signed_in.push(ServerBank { remote, session });
    }
    let [teller, manager, auditor] = <[ServerBank; 3]>::try_from(signed_in).unwrap();
    story(&teller, &manager, &auditor).await;
    // The server's own view of its log agrees.
    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
