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
            .resolve_transfer(large.id, &"00".repeat(32), true)
            .await
            .unwrap_err()
            .code,
        "forbidden.action_not_allowed"
    );
    let queue = manager.pending_transfers().await.unwrap();
    let item = queue.transfers.iter().find(|t| t.id == large.id).unwrap();
    // The queue names what a manager reviews: the accounts' numbers and the maker.
    let named = |list: &[pqbank_api::wire::Named], id: i64| {
        list.iter().find(|n| n.id == id).map(|n| n.name.clone())
    };
    assert_eq!(named(&queue.accounts, till.id), Some(till.number.clone()));
    assert_eq!(
        named(&queue.accounts, account),
        Some(found.customers[0].accounts[0].number.clone())
    );
    assert!(named(&queue.staff, me).is_some_and(|n| !n.is_empty()));
    assert_eq!(
        manager
            .resolve_transfer(item.id, "not a hash", true)
            .await
            .unwrap_err()
            .code,
        "request.malformed",
        "a malformed hash is refused alike on both links, nothing decided"
    );
    assert_eq!(
        manager
            .resolve_transfer(item.id, &"00".repeat(32), true)
            .await
            .unwrap_err()
            .code
            .split('.')
            .next(),
        Some("store"),
        "a transfer other than the one reviewed is refused"
    );
    assert_eq!(
        manager
            .resolve_transfer(item.id, &item.request_hash, true)
            .await
            .unwrap()
            .status,
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
    assert!(variances.drawers.iter().any(|d| d.id == till.id));
    assert!(variances.staff.iter().any(|n| n.id == me));
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
    // Who verified is on record, on the auditor's own chain.
    let own = auditor.chain(auditor.certificate()).await.unwrap();
    assert!(own.events.iter().any(|e| e.kind == "audit.verify"));

    // The auditor reads the teller's chain, proves its newest event is in the
    // checkpointed log, and has the teller's report signed on his device.
    let subject = teller.certificate();
    let chain = auditor.chain(subject).await.unwrap();
    let last = chain.events.last().unwrap();
    let proof = auditor
        .inclusion_proof(last.id, checkpoint.tree_size)
        .await
        .unwrap();
    let hash: [u8; 32] = hex::decode(&last.hash).unwrap().try_into().unwrap();
    let root: [u8; 32] = hex::decode(&checkpoint.root).unwrap().try_into().unwrap();
    let path: Vec<[u8; 32]> = proof
        .path
        .iter()
        .map(|p| hex::decode(p).unwrap().try_into().unwrap())
        .collect();
    pqbank_audit::merkle::verify_inclusion(
        &pqbank_audit::merkle::leaf_hash(&hash),
        proof.index,
        proof.tree_size,
        &path,
        &root,
    )
    .unwrap();
    let report = auditor.report(subject).await.unwrap();
    assert_eq!(report.signer, auditor.certificate());
    let auditor_key = pqbank_pki::Certificate::from_der(
        &base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            &auditor
                .staff()
                .await
                .unwrap()
                .certificates
                .iter()
                .find(|c| c.fingerprint == auditor.certificate().to_hex())
                .unwrap()
                .der,
        )
        .unwrap(),
    )
    .unwrap();
    pqbank_pki::CompositeVerifyingKey::from_bytes(auditor_key.public_key())
        .unwrap()
        .verify(&report.json, pqbank_api::ACT_CONTEXT, &report.signature)
        .unwrap();
    assert!(
        auditor
            .activity()
            .await
            .unwrap()
            .events
            .iter()
            .any(|e| e.certificate == subject.to_hex())
    );
    assert_eq!(
        teller.chain(subject).await.unwrap_err().code,
        "forbidden.action_not_allowed"
    );

    // The manager renews a teller certificate she issued, then revokes the renewal: the
    // CRLs and the staff list say so, on whichever bank.
    let staff = manager.staff().await.unwrap();
    let mine = manager.certificate().to_hex();
    let issued = staff
        .certificates
        .iter()
        .find(|c| {
            c.issuer.as_deref() == Some(mine.as_str())
                && c.role == "teller"
                && c.fingerprint != subject.to_hex()
        })
        .expect("a teller certificate the manager issued");
    let old = pqbank_pki::Fingerprint::from_hex(&issued.fingerprint).unwrap();
    let renewed = manager.renew(old).await.unwrap();
    let new = pqbank_pki::Fingerprint::from_hex(&renewed.fingerprint).unwrap();
    let revoked = manager
        .revoke(new, pqbank_pki::RevocationReason::KeyCompromise)
        .await
        .unwrap();
    let crls = manager.crls().await.unwrap();
    let crl = crls.crls.iter().find(|c| c.issuer == mine).unwrap();
    let crl = pqbank_pki::Crl::from_der(
        &base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &crl.der).unwrap(),
    )
    .unwrap();
    assert_eq!(crl.number(), revoked.crl_number);
    assert_eq!(crl.len(), 2, "the old one superseded, the renewal revoked");
    let revocations = manager.staff().await.unwrap().revocations;
    assert!(
        revocations
            .iter()
            .any(|r| r.certificate == renewed.fingerprint)
    );
    assert_eq!(
        teller
            .revoke(old, pqbank_pki::RevocationReason::KeyCompromise)
            .await
            .unwrap_err()
            .code,
        "forbidden.action_not_allowed"
    );
    assert!(manager.enrolment_queue().await.unwrap().requests.is_empty());

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
