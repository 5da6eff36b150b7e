//! The demo bank builds on both backends: everyone can log in, the log verifies, and the
//! ledger's invariants hold.

use pqbank_db::flows::check_invariants;
use pqbank_service::demo;
use pqbank_tests::{Bind, Raw, on_every_backend};

async fn demo_bank<S: pqbank_db::Store>(store: S) {
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
async fn drawer_close<S: pqbank_db::Store>(store: S) {
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
    let closed = service
        .close_drawer(&session, &teller.device, expected - 500, "close-1")
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

/// What each posting left: transfers, and refusals on the maker's chain.
async fn counts<S: pqbank_db::Store + Raw>(store: &S) -> (i64, i64) {
    (
        store.count("transfers").await,
        store
            .count("accountability_events WHERE kind = 'refused'")
            .await,
    )
}

/// Proves the service, not the window, holds a teller to the counter's rules: an
/// internal kind (a drawer float, a variance, a drawer's return) and cash through
/// another teller's drawer or a closed one are refused with their codes, each refusal
/// logged on the teller's chain and no transfer written; the teller's own open drawer
/// still takes the deposit.
async fn teller_rules<S: pqbank_db::Store + Raw + Clone>(store: S) {
    use pqbank_ledger::{Amount, Currency, TransferKind, TransferRequest};
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (service, bank) = demo::build(store.clone(), [8; 32], 4, 0, now)
        .await
        .unwrap();
    let (tom, tara) = (&bank.tellers[0], &bank.tellers[1]);
    let session = demo::login(&service, tom).await.unwrap();
    let request = |kind, debit, credit, key: &str| TransferRequest {
        maker: tom.staff_id,
        idempotency_key: key.into(),
        kind,
        debit,
        credit,
        amount: Amount::from_minor(1_000, Currency::EUR).unwrap(),
        memo: String::new(),
        created_at: now,
    };
    let code = |r: Result<_, pqbank_service::ServiceError>| r.map(|_| ()).unwrap_err().code();
    let (mine, hers, customer) = (bank.drawers[0], bank.drawers[1], bank.accounts[0]);
    let before = counts(&store).await;
    // Each internal kind well formed (its account kinds right), so only the rule stops it.
    let state = service.drawer(&session, &tom.device).await.unwrap();
    let (vault, variance) = (state.vault.unwrap().id, state.variance.unwrap().id);
    let internal = "forbidden.action_not_allowed";
    let refused = [
        (TransferKind::DrawerOpen, mine, vault, internal),
        (TransferKind::VarianceOver, mine, variance, internal),
        (TransferKind::VarianceShort, variance, mine, internal),
        (TransferKind::DrawerClose, vault, mine, internal),
        (TransferKind::Deposit, hers, customer, "drawer.not_yours"),
        (TransferKind::Withdrawal, customer, hers, "drawer.not_yours"),
        (TransferKind::Deposit, customer, mine, "drawer.not_yours"),
    ];
    for (i, (kind, debit, credit, expected)) in refused.into_iter().enumerate() {
        let r = service
            .post_transfer(
                &session,
                &tom.device,
                request(kind, debit, credit, &format!("r{i}")),
            )
            .await;
        assert_eq!(code(r), expected, "{kind} {debit}->{credit}");
    }
    let (transfers, refusals) = counts(&store).await;
    assert_eq!(transfers, before.0, "no transfer written");
    assert_eq!(refusals, before.1 + 7, "each refusal on the chain");

    // Tara closes her drawer: her cash through it is refused too, and so is Tom's.
    let hers_session = demo::login(&service, tara).await.unwrap();
    let balance = service
        .store()
        .account(hers)
        .await
        .unwrap()
        .unwrap()
        .balance();
    service
        .close_drawer(&hers_session, &tara.device, balance as i64, "close-tara")
        .await
        .unwrap();
    let closed = TransferRequest {
        maker: tara.staff_id,
        ..request(TransferKind::Deposit, hers, customer, "t1")
    };
    assert_eq!(
        code(
            service
                .post_transfer(&hers_session, &tara.device, closed)
                .await
        ),
        "drawer.not_yours"
    );
    let own = service
        .post_transfer(
            &session,
            &tom.device,
            request(TransferKind::Deposit, mine, customer, "ok"),
        )
        .await
        .unwrap();
    assert!(own.id > 0);
    assert_eq!(
        service.verify_log(&|_, _| {}).await.unwrap().problems,
        vec![]
    );
}

on_every_backend!(teller_rules, |db| teller_rules(db.store.clone()));

const FORGED_REVOCATION: &str = "INSERT INTO revocations (certificate_fingerprint, reason, revoked_at, crl_number, \
     revoked_by, signed_bytes, signature, signer_fingerprint) VALUES (?, 'keyCompromise', 0, 99, ?, ?, ?, ?)";

/// Proves a revocation row written directly, with a manager's name but not their
/// signature (nor bytes of its own contents, nor a time the manager's certificate was
/// valid, nor the manager's act), is named by `verify_log`.
async fn forged_revocation<S>(store: S)
where
    S: pqbank_db::Store + Raw + Clone,
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
            // Dated 1970, long before the manager's certificate.
            ("revocations", "signed outside its certificate's validity"),
            (
                "revocations",
                "no matching act on the revoking manager's accountability chain"
            ),
        ]
    );
}

on_every_backend!(forged_revocation, |db| forged_revocation(db.store.clone()));

/// Proves log verification reads one snapshot: a teller's deposit (its row and its act,
/// one transaction) that lands after the journal was read and before the teller's chain
/// is, is in neither, and the log proves itself. A forged row is still reported (the
/// forged-row tests).
async fn verify_during_acts<S: pqbank_db::Store + Clone + 'static>(store: S) {
    use pqbank_ledger::{Amount, Currency, TransferKind, TransferRequest};
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (service, bank) = demo::build(store, [10; 32], 3, 0, now).await.unwrap();
    let service = std::sync::Arc::new(service);
    // The teller whose chain is read last, so the deposit lands before it is read.
    let order = pqbank_db::IdentityStore::event_certificates(service.store())
        .await
        .unwrap();
    let (at, teller) = bank
        .tellers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let fp = *t.cert.fingerprint().as_bytes();
            (order.iter().position(|c| *c == fp).unwrap(), i)
        })
        .max()
        .unwrap();
    assert!(at > 0, "another chain is read first");
    let (person, drawer) = (&bank.tellers[teller], bank.drawers[teller]);
    let session = demo::login(&service, person).await.unwrap();
    let request = TransferRequest {
        maker: person.staff_id,
        idempotency_key: "during-verify".into(),
        kind: TransferKind::Deposit,
        debit: drawer,
        credit: bank.accounts[0],
        amount: Amount::from_minor(2_500, Currency::EUR).unwrap(),
        memo: String::new(),
        created_at: now,
    };
    let events_before = pqbank_db::IdentityStore::event_hashes(service.store())
        .await
        .unwrap()
        .len();
    let handle = tokio::runtime::Handle::current();
    let posted = std::sync::Mutex::new(false);
    let report = service
        .verify_log(&|done, _| {
            let mut posted = posted.lock().unwrap();
            if done == 1 && !*posted {
                *posted = true;
                tokio::task::block_in_place(|| {
                    handle
                        .block_on(service.post_transfer(&session, &person.device, request.clone()))
                        .unwrap();
                });
            }
        })
        .await
        .unwrap();
    assert!(
        *posted.lock().unwrap(),
        "the deposit landed mid-verification"
    );
    assert_eq!(report.problems, vec![]);
    assert_eq!(
        report.events, events_before,
        "the deposit's event is not in the snapshot"
    );
}

on_every_backend!(verify_during_acts, threads = 2, |db| verify_during_acts(
    db.store.clone()
));
