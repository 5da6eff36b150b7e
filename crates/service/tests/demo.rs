//! The demo bank builds on both backends: everyone can log in, the log verifies, and the
//! ledger's invariants hold.

use pqbank_db::flows::check_invariants;
use pqbank_service::demo;
use pqbank_tests::{Bind, Raw, on_every_backend};

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

on_every_backend!(demo_bank, |db| demo_bank(db.store.clone()));

/// Proves closing a drawer through the service: a short count posts the variance and
/// returns the cash, the teller cannot sign off their own variance, a manager can, and
/// the log still proves itself.
async fn drawer_close<S: pqbank_db::Backend + pqbank_db::IdentityStore>(store: S) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (service, bank) = demo::build(store, [6; 32], 6, 12, now).await.unwrap();
    let teller = &bank.tellers[0];
    let session = demo::login(&service, teller).await.unwrap();
    let drawer = bank.drawers[0];
    let expected = service
        .store()
        .account(drawer)
        .await
        .unwrap()
        .unwrap()
        .balance() as i64;
    let accounts = service.store().accounts().await.unwrap();
    let id_of = |number: &str| {
        accounts
            .iter()
            .find(|a| a.number == number)
            .map(|a| a.id)
            .unwrap()
    };
    let (vault, variance) = (id_of("VAULT-EUR"), id_of("VARIANCE-EUR"));
    let closed = service
        .close_drawer(
            &session,
            &teller.device,
            drawer,
            vault,
            variance,
            expected - 500,
            "close-1",
        )
        .await
        .unwrap();
    assert_eq!(closed.variance_minor, Some(-500));
    assert_eq!(
        service
            .store()
            .account(drawer)
            .await
            .unwrap()
            .unwrap()
            .balance(),
        0
    );
    assert!(
        service
            .sign_off_variance(&session, &teller.device, closed.id)
            .await
            .is_err(),
        "not the teller"
    );
    let manager = &bank.managers[0];
    let m = demo::login(&service, manager).await.unwrap();
    service
        .sign_off_variance(&m, &manager.device, closed.id)
        .await
        .unwrap();
    assert_eq!(
        service.verify_log(&|_, _| {}).await.unwrap().problems,
        vec![]
    );
    assert!(check_invariants(service.store()).await.unwrap().is_sound());
}

on_every_backend!(drawer_close, |db| drawer_close(db.store.clone()));

const FORGED_REVOCATION: &str = "INSERT INTO revocations (certificate_fingerprint, reason, revoked_at, crl_number, \
     revoked_by, signed_bytes, signature, signer_fingerprint) VALUES (?, 'keyCompromise', 0, 99, ?, ?, ?, ?)";

/// Proves a revocation row written directly, with a manager's name but not their
/// signature (nor bytes of its own contents, nor the manager's act), is named by
/// `verify_log`.
async fn forged_revocation<S>(store: S)
where
    S: pqbank_db::Backend + pqbank_db::IdentityStore + Raw + Clone,
{
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (service, bank) = demo::build(store.clone(), [7; 32], 3, 3, now)
        .await
        .unwrap();
    let target = bank.tellers[1].cert.fingerprint().as_bytes().to_vec();
    let manager = &bank.managers[0];
    let forged: [Bind; 5] = [
        target.into(),
        manager.staff_id.into(),
        vec![1u8; 20].into(),
        vec![2u8; 3373].into(),
        manager.cert.fingerprint().as_bytes().to_vec().into(),
    ];
    store.run(FORGED_REVOCATION, &forged).await.unwrap();
    let report = service.verify_log(&|_, _| {}).await.unwrap();
    let rows: Vec<(&str, &str)> = report
        .problems
        .iter()
        .map(|p| (p.table, p.reason.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("revocations", "the signed bytes are not the row's contents"),
            ("revocations", "the signature does not verify"),
            (
                "revocations",
                "no matching act on the revoking manager's accountability chain"
            ),
        ]
    );
}

on_every_backend!(forged_revocation, |db| forged_revocation(db.store.clone()));
