//! Log verification proves authority, not only authenticity, on both backends: rows a
//! database writer forges with keys that do exist, or edits in place, are each named with
//! table, row and reason. A staff key minting a certificate, a self-approval, a transfer
//! above the threshold recorded as posted, an act after revocation, an edited cache, an
//! expiry nobody logged, columns edited against their signed bytes.

use std::sync::atomic::Ordering;

use pqbank_db::Store;
use pqbank_ledger::{Resolution, TransferRequest};
use pqbank_pki::{Certificate, CompositeSigningKey, Role};
use pqbank_service::{Device, LogReport, ServiceError, VerifiedLog};
use pqbank_tests::{Bind, Raw, on_every_backend};

mod common;

use common::*;

/// The problems of a report, as (table, row, reason).
fn named(report: LogReport) -> Vec<(String, String, String)> {
    report
        .problems
        .into_iter()
        .map(|p| (p.table.to_owned(), p.row, p.reason))
        .collect()
}

fn problem(table: &str, row: impl Into<String>, reason: &str) -> (String, String, String) {
    (table.to_owned(), row.into(), reason.to_owned())
}

/// How verification names an account whose cached totals are not the signed journal's.
fn unjournaled(account: i64) -> (String, String, String) {
    problem(
        "account_balances",
        format!("#{account}"),
        "the cached totals are not those of the signed journal",
    )
}

async fn verified<S: Store>(b: &Bank<S>) -> Vec<(String, String, String)> {
    named(b.service.verify_log(&|_, _| {}).await.unwrap())
}

/// How verification names an event: its chain's certificate (the first 8 bytes of its
/// fingerprint, in hex) and its position.
fn event_row(certificate: &Certificate, seq: Option<u64>) -> String {
    let chain: String = certificate.fingerprint().as_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    match seq {
        Some(seq) => format!("{chain} #{seq}"),
        None => chain,
    }
}

/// The position of the newest event on a certificate's chain.
async fn newest_event<S: Store>(b: &Bank<S>, certificate: &Certificate) -> u64 {
    let chain = b
        .service
        .store()
        .events(certificate.fingerprint().as_bytes())
        .await
        .unwrap();
    chain.last().unwrap().event.seq
}

/// Writes a transfer row the way a database writer would, signed by `device` (whose
/// certificate is `signer`) with the status and expiry the writer chose, and, with
/// `logged`, the maker's `transfer.post` event on the signer's chain: a row whose bytes
/// and signatures all hold. Returns its id.
async fn write_transfer<S: Store + Raw>(
    store: &S,
    request: &TransferRequest,
    status: &str,
    signer: &Certificate,
    device: &Device,
    logged: bool,
) -> i64 {
    let bytes = request.canonical_bytes();
    let sql = format!(
        "INSERT INTO transfers (maker_staff_id, idempotency_key, request_hash, kind, \
         debit_account_id, credit_account_id, amount_minor, currency, memo, status, expires_at, \
         created_at, recorded_at, signed_bytes, signature, signer_fingerprint) \
         VALUES (?, '{}', ?, '{}', ?, ?, ?, 'EUR', '', '{status}', NULL, ?, ?, ?, ?, ?)",
        request.idempotency_key,
        request.kind.as_str()
    );
    let binds: [Bind; 10] = [
        request.maker.into(),
        request.request_hash().to_vec().into(),
        request.debit.into(),
        request.credit.into(),
        request.amount.minor().into(),
        request.created_at.into(),
        request.created_at.into(),
        bytes.clone().into(),
        device.sign_act(&bytes).unwrap().into(),
        signer.fingerprint().as_bytes().to_vec().into(),
    ];
    store.run(&sql, &binds).await.unwrap();
    let id = store
        .transfers()
        .await
        .unwrap()
        .iter()
        .find(|t| t.request.idempotency_key == request.idempotency_key)
        .unwrap()
        .id;
    if logged {
        let payload = [bytes, id.to_be_bytes().to_vec()].concat();
        store
            .append_event(
                signer.fingerprint().as_bytes(),
                "transfer.post",
                &payload,
                request.created_at,
                &device.event_signer(),
            )
            .await
            .unwrap();
    }
    id
}

/// Writes an approval row signed by `device` for certificate `signer`, as approver
/// `approver`, with the approver's `transfer.approve` event. Returns its id.
async fn write_approval<S: Store + Raw>(
    b: &Bank<S>,
    transfer: i64,
    approver: i64,
    signer: &Certificate,
    device: &Device,
) -> i64 {
    let store = b.service.store();
    let row = store
        .transfers()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.id == transfer)
        .unwrap();
    let now = b.clock.load(Ordering::SeqCst);
    let bytes = pqbank_db::ApprovalRequest {
        transfer_id: transfer,
        transfer_hash: row.request.request_hash(),
        approver,
        approver_is_manager: true,
        decision: Resolution::Post,
        created_at: now,
    }
    .canonical_bytes();
    let binds: [Bind; 6] = [
        transfer.into(),
        approver.into(),
        now.into(),
        bytes.clone().into(),
        device.sign_act(&bytes).unwrap().into(),
        signer.fingerprint().as_bytes().to_vec().into(),
    ];
    store
        .run(
            "INSERT INTO approvals (transfer_id, drawer_event_id, decision, approver_staff_id, \
             created_at, signed_bytes, signature, signer_fingerprint) \
             VALUES (?, NULL, 'post', ?, ?, ?, ?, ?)",
            &binds,
        )
        .await
        .unwrap();
    store
        .append_event(
            signer.fingerprint().as_bytes(),
            "transfer.approve",
            &bytes,
            now,
            &device.event_signer(),
        )
        .await
        .unwrap();
    store
        .signed_rows("approvals")
        .await
        .unwrap()
        .last()
        .unwrap()
        .id
}

/// A deposit the teller signed and logged, written straight into the journal as posted
/// (past the service's four-eyes rule); its id.
async fn written_as_posted<S: Store + Raw>(b: &Bank<S>, key: &str, amount: i64) -> i64 {
    let request = deposit(b, key, amount);
    write_transfer(
        b.service.store(),
        &request,
        "posted",
        &b.teller.cert,
        &b.teller.device,
        true,
    )
    .await
}

/// A pending deposit the teller posts through the service.
async fn pending_deposit<S: Store>(b: &Bank<S>, key: &str) -> i64 {
    let teller = login(b, &b.teller).await.unwrap();
    let outcome = b
        .service
        .post_transfer(&teller, &b.teller.device, deposit(b, key, 500_000))
        .await
        .unwrap();
    assert_eq!(outcome.status, pqbank_ledger::TransferStatus::Pending);
    outcome.id
}

/// Proves a certificate a teller's key signed (a "manager" certificate no CA issued)
/// signs nothing: its approval is named for the chain's reason, though its signature,
/// bytes and event all hold and its staff row says manager.
async fn a_staff_key_mints_a_certificate<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let pending = pending_deposit(&b, "big").await;
    assert_eq!(verified(&b).await, vec![]);
    let key = CompositeSigningKey::from_seed(&[9; 64]);
    let minted = issue(
        "Mallory Minted",
        &key,
        Role::Manager,
        Some((&b.teller.cert, b.teller.device.key())),
        b"device-9",
        9,
    );
    let number = minted.claims().staff_id.clone().unwrap();
    let staff = pqbank_tests::staff(b.service.store(), &number, "manager", 0).await;
    b.service
        .record_certificate(&minted, staff.id, &b.teller.device)
        .await
        .unwrap();
    let device = Device::new(b"device-9", key);
    let approval = write_approval(&b, pending, staff.id, &minted, &device).await;
    let reason = "its certificate chain is not valid: \
                  certificate at depth 1 is not a CA but issued another certificate";
    let found = verified(&b).await;
    assert!(
        found.contains(&problem("approvals", format!("#{approval}"), reason)),
        "{found:?}"
    );
    assert!(
        found.contains(&problem(
            "accountability_events",
            event_row(&minted, None),
            &format!("the chain's certificate signs nothing: {reason}")
        )),
        "{found:?}"
    );
}

on_every_backend!(a_staff_key_mints_a_certificate, |db| {
    a_staff_key_mints_a_certificate(db.store.clone())
});

/// Proves an approval by the transfer's own maker is named, and so is one by a
/// certificate that may not approve, though the row, its signature and its event hold.
async fn self_approval<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let pending = pending_deposit(&b, "big").await;
    let approval = write_approval(
        &b,
        pending,
        b.teller.staff_id,
        &b.teller.cert,
        &b.teller.device,
    )
    .await;
    let row = format!("#{approval}");
    let event = event_row(&b.teller.cert, Some(newest_event(&b, &b.teller.cert).await));
    assert_eq!(
        verified(&b).await,
        [
            problem(
                "accountability_events",
                event,
                "its certificate does not allow transfer.approve"
            ),
            problem(
                "approvals",
                &row,
                "its certificate does not allow transfer.approve"
            ),
            problem("approvals", &row, "approved by its own maker"),
            // The cache still holds the deposit as pending: the writer did not move it.
            unjournaled(b.drawer),
            unjournaled(b.customer),
        ]
    );
}

on_every_backend!(self_approval_is_named, |db| self_approval(db.store.clone()));

/// Proves a transfer above the four-eyes threshold written as posted, signed by its
/// maker with its act on her chain, is named, and the cache that did not take it too.
async fn over_threshold_recorded_as_posted<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let id = written_as_posted(&b, "big-posted", 500_000).await;
    assert_eq!(
        verified(&b).await,
        [
            problem(
                "transfers",
                format!("#{id}"),
                "recorded as posted above the approval threshold"
            ),
            unjournaled(b.drawer),
            unjournaled(b.customer),
        ]
    );
}

on_every_backend!(over_threshold_recorded_as_posted, |db| {
    over_threshold_recorded_as_posted(db.store.clone())
});

/// Proves an act signed after its certificate was revoked is named, on its row and on
/// its chain, though signed with the right key by the staff member it names.
async fn act_after_revocation<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let manager = login(&b, &b.manager).await.unwrap();
    revoke_teller(&b, &manager).await.unwrap();
    assert_eq!(verified(&b).await, vec![]);
    b.clock.fetch_add(60, Ordering::SeqCst);
    let id = written_as_posted(&b, "after", 1_000).await;
    let found = verified(&b).await;
    let reason = "signed after its certificate was revoked";
    assert!(
        found.contains(&problem("transfers", format!("#{id}"), reason)),
        "{found:?}"
    );
    let row = event_row(&b.teller.cert, Some(newest_event(&b, &b.teller.cert).await));
    assert!(
        found.contains(&problem("accountability_events", row, reason)),
        "{found:?}"
    );
}

on_every_backend!(act_after_revocation, |db| act_after_revocation(
    db.store.clone()
));

/// Proves an edited cached balance is named by verification, account by account.
async fn edited_cache<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let teller = login(&b, &b.teller).await.unwrap();
    b.service
        .post_transfer(&teller, &b.teller.device, deposit(&b, "small", 5_000))
        .await
        .unwrap();
    assert_eq!(verified(&b).await, vec![]);
    b.service
        .store()
        .exec(&format!(
            "UPDATE account_balances SET credits_posted = credits_posted + 100000 \
             WHERE account_id = {}",
            b.customer
        ))
        .await;
    assert_eq!(verified(&b).await, [unjournaled(b.customer)]);
}

on_every_backend!(edited_cache_is_named, |db| edited_cache(db.store.clone()));

/// Proves an expiry is accepted only where a manager (or a bank server) logged it after
/// the transfer's time ran out: a manager's approval that comes too late logs the expiry
/// on her chain and the log verifies; an expiry row written by hand is named.
async fn expiries<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let late = pending_deposit(&b, "late").await;
    let hash = b
        .service
        .store()
        .transfers()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.id == late)
        .unwrap()
        .request_hash;
    b.clock.fetch_add(3_700, Ordering::SeqCst);
    let manager = login(&b, &b.manager).await.unwrap();
    let refused = b
        .service
        .resolve_transfer(&manager, &b.manager.device, late, hash, true)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ServiceError::Store(_)),
        "expired, not approved: {refused:?}"
    );
    let kinds: Vec<String> = b
        .service
        .store()
        .events(b.manager.cert.fingerprint().as_bytes())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.kind)
        .collect();
    assert_eq!(kinds.last().map(String::as_str), Some("transfer.expire"));
    assert_eq!(verified(&b).await, vec![]);

    let forged = pending_deposit(&b, "forged").await;
    let now = b.clock.load(Ordering::SeqCst);
    b.service
        .store()
        .run(
            "INSERT INTO approvals (transfer_id, drawer_event_id, decision, approver_staff_id, \
             created_at, signed_bytes, signature, signer_fingerprint) \
             VALUES (?, NULL, 'expire', NULL, ?, NULL, NULL, NULL)",
            &[forged.into(), (now + 4_000).into()],
        )
        .await
        .unwrap();
    let approval = b.service.store().signed_rows("approvals").await.unwrap();
    let row = format!("#{}", approval.last().unwrap().id);
    assert_eq!(
        verified(&b).await,
        [problem(
            "approvals",
            row,
            "an expiry no bank server or manager logged"
        )]
    );
}

on_every_backend!(expiries_are_logged, |db| expiries(db.store.clone()));

/// Proves columns edited in place against their signed bytes are named: a transfer's
/// request hash and its recorded time (the time its act was signed), and a drawer
/// event's count.
async fn edited_columns<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let teller = login(&b, &b.teller).await.unwrap();
    let small = b
        .service
        .post_transfer(&teller, &b.teller.device, deposit(&b, "small", 5_000))
        .await
        .unwrap();
    assert_eq!(verified(&b).await, vec![]);
    let db = b.service.store();
    db.exec("DROP TRIGGER transfers_append_only_u").await;
    db.exec(&format!(
        "UPDATE transfers SET request_hash = signer_fingerprint WHERE id = {}",
        small.id
    ))
    .await;
    db.exec(&format!(
        "UPDATE transfers SET recorded_at = recorded_at + 1 WHERE id = {}",
        small.id
    ))
    .await;
    db.exec("DROP TRIGGER drawer_events_append_only_u").await;
    db.exec("UPDATE drawer_events SET counted_minor = counted_minor + 1")
        .await;
    let event = db.signed_rows("drawer_events").await.unwrap()[0].id;
    assert_eq!(
        verified(&b).await,
        [
            problem(
                "transfers",
                format!("#{}", small.id),
                "the request hash is not the hash of the signed bytes"
            ),
            problem(
                "transfers",
                format!("#{}", small.id),
                "its recorded time is not its act's"
            ),
            problem(
                "drawer_events",
                format!("#{event}"),
                "the signed bytes are not the row's contents"
            ),
        ]
    );
}

on_every_backend!(edited_columns_are_named, |db| edited_columns(
    db.store.clone()
));

/// A withdrawal by the teller from the customer's account through the drawer.
fn withdrawal<S>(b: &Bank<S>, key: &str, amount: i64) -> TransferRequest {
    TransferRequest {
        kind: pqbank_ledger::TransferKind::Withdrawal,
        debit: b.customer,
        credit: b.drawer,
        ..deposit(b, key, amount)
    }
}

/// Proves a service holding a seal key (a bank server's) moves no money on a balance
/// row someone edited, or on an older sealed row put back to undo a withdrawal: the
/// flow is refused before anything is applied, and works again once the row is rebuilt
/// from the journal.
async fn sealed_balances<S: Store + Raw + 'static>(store: S) {
    use pqbank_db::StoreError;
    let b = bank(store.with_seal(pqbank_db::Seal::derive(b"the server's secret"))).await;
    let s = &b.service;
    let db = s.store();
    let teller = login(&b, &b.teller).await.unwrap();
    s.post_transfer(&teller, &b.teller.device, deposit(&b, "in", 5_000))
        .await
        .unwrap();
    db.exec("CREATE TABLE balances_before AS SELECT * FROM account_balances")
        .await;
    s.post_transfer(&teller, &b.teller.device, withdrawal(&b, "out", 3_000))
        .await
        .unwrap();
    let before = (
        db.accounts().await.unwrap(),
        db.transfers().await.unwrap().len(),
    );

    // The row from before the withdrawal, seal and all, put back: 5,000 on it again.
    let column = |c: &str| {
        format!(
            "{c} = (SELECT o.{c} FROM balances_before o WHERE o.account_id = account_balances.account_id)"
        )
    };
    let put_back = [
        "debits_posted",
        "credits_posted",
        "last_transfer_id",
        "seal",
    ]
    .map(column)
    .join(", ");
    // Each edit of the row is refused before anything is written.
    let refused_after = |set: String, key: &'static str| {
        let teller = &teller;
        let b = &b;
        async move {
            db.exec(&format!(
                "UPDATE account_balances SET {set} WHERE account_id = {}",
                b.customer
            ))
            .await;
            let e = s
                .post_transfer(
                    teller,
                    &b.teller.device,
                    withdrawal(b, &key.replace(' ', "-"), 4_000),
                )
                .await
                .unwrap_err();
            let unproven =
                matches!(e, ServiceError::Store(StoreError::CacheUnproven(id)) if id == b.customer);
            assert!(unproven, "{key}: {e:?}");
            assert_eq!(
                db.transfers().await.unwrap().len(),
                before.1,
                "{key}: nothing written"
            );
        }
    };
    refused_after(put_back, "an older sealed row put back").await;
    refused_after("debits_posted = 0".into(), "a total edited in place").await;

    // A server starting on it leaves it unsealed; the administrator's rebuild from the
    // journal mends it, and the teller's next withdrawal meets the true balance.
    let sealing = s.seal_balances().await.unwrap();
    assert_eq!(sealing.unproven, [b.customer]);
    let repaired = pqbank_db::flows::rebuild_balances(db, &pqbank_db::RetryPolicy::default())
        .await
        .unwrap();
    assert_eq!(repaired, [b.customer]);
    assert_eq!(db.accounts().await.unwrap(), before.0);
    let short = s
        .post_transfer(&teller, &b.teller.device, withdrawal(&b, "short", 4_000))
        .await
        .unwrap_err();
    assert!(
        matches!(
            short,
            ServiceError::Store(StoreError::Ledger(
                pqbank_ledger::LedgerError::InsufficientFunds { .. }
            ))
        ),
        "{short:?}"
    );
    s.post_transfer(&teller, &b.teller.device, withdrawal(&b, "fits", 2_000))
        .await
        .unwrap();
    assert_eq!(verified(&b).await, vec![]);
}

on_every_backend!(sealed_balances_refuse_an_edited_cache, |db| {
    sealed_balances(db.store.clone())
});

/// Proves whom a certificate speaks for is read from its signed StaffId claim, never
/// from the `certificates.staff_id` column: a teller's certificate recorded as the
/// auditor's signs no transfer as the auditor.
async fn staff_from_the_claim<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let key = CompositeSigningKey::from_seed(&[12; 64]);
    // The manager issues a teller's certificate naming the teller's number; whoever
    // writes the row records it for the auditor.
    let cert = issue(
        "Tom Teller",
        &key,
        Role::Teller,
        Some((&b.manager.cert, b.manager.device.key())),
        b"device-12",
        3,
    );
    b.service
        .record_certificate(&cert, b.auditor.staff_id, &b.manager.device)
        .await
        .unwrap();
    let device = Device::new(b"device-12", key);
    let request = TransferRequest {
        maker: b.auditor.staff_id,
        ..deposit(&b, "as-auditor", 1_000)
    };
    let id = write_transfer(b.service.store(), &request, "posted", &cert, &device, true).await;
    let found = verified(&b).await;
    assert!(
        found.contains(&problem(
            "transfers",
            format!("#{id}"),
            "the signing certificate is not the maker's"
        )),
        "{found:?}"
    );
}

on_every_backend!(staff_is_read_from_the_claim, |db| staff_from_the_claim(
    db.store.clone()
));

/// The manager as the maker of master data versions.
fn by<'a>(person: &Person, sign: &'a dyn pqbank_db::EventSign) -> pqbank_db::master::Maker<'a> {
    pqbank_db::master::Maker {
        certificate: *person.cert.fingerprint().as_bytes(),
        sign,
    }
}

/// Proves staff, customer and account rows edited in place are named against their
/// newest signed version: an account's floor and owner, a customer's name, a staff
/// member's role.
async fn edited_master_rows<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let db = b.service.store();
    let sign = b.manager.device.event_signer();
    let customer =
        pqbank_tests::customer_by(db, "C-1", "Ana Alves", Some(by(&b.manager, &sign)), START).await;
    assert_eq!(verified(&b).await, vec![]);
    db.exec(&format!(
        "UPDATE accounts SET floor_minor = -1000000 WHERE id = {}",
        b.customer
    ))
    .await;
    db.exec(&format!(
        "UPDATE accounts SET customer_id = {customer} WHERE id = {}",
        b.drawer
    ))
    .await;
    db.exec(&format!(
        "UPDATE customers SET full_name = 'Eve' WHERE id = {customer}"
    ))
    .await;
    db.exec(&format!(
        "UPDATE staff SET role = 'manager' WHERE id = {}",
        b.teller.staff_id
    ))
    .await;
    let edited = "its columns are not its newest signed version";
    let mut found = verified(&b).await;
    found.sort();
    let mut want = vec![
        problem("accounts", format!("#{}", b.drawer), edited),
        problem("accounts", format!("#{}", b.customer), edited),
        problem("customers", format!("#{customer}"), edited),
        problem("staff", format!("#{}", b.teller.staff_id), edited),
    ];
    want.sort();
    assert_eq!(found, want);
}

on_every_backend!(edited_master_rows_are_named, |db| edited_master_rows(
    db.store.clone()
));

/// Proves master data nobody allowed made is named: an account inserted directly, and
/// a staff member whose version a teller signed (a teller may not administer staff),
/// the version named on the teller's chain.
async fn unsigned_master_rows<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let db = b.service.store();
    db.exec(
        "INSERT INTO accounts (account_number, customer_id, kind, currency, floor_minor, \
         closed, label, created_at) VALUES ('FORGED', NULL, 'customer', 'EUR', NULL, 0, \
         'FORGED', 0)",
    )
    .await;
    db.exec(
        "INSERT INTO account_balances (account_id) \
         SELECT id FROM accounts WHERE account_number = 'FORGED'",
    )
    .await;
    let forged = db.accounts().await.unwrap().last().unwrap().id;
    let sign = b.teller.device.event_signer();
    let staff = pqbank_db::NewStaff {
        number: "manager-99".into(),
        display_name: "Mallory".into(),
        role: "manager".into(),
    };
    let mallory = db
        .create_staff(&staff, START, Some(by(&b.teller, &sign)))
        .await
        .unwrap();
    let version = newest_event(&b, &b.teller.cert).await;
    let mut found = verified(&b).await;
    found.sort();
    let mut want = vec![
        problem(
            "accounts",
            format!("#{forged}"),
            "no signed version made it",
        ),
        problem("staff", format!("#{mallory}"), "no signed version made it"),
        problem(
            "accountability_events",
            event_row(&b.teller.cert, Some(version)),
            "its certificate does not allow staff.admin",
        ),
    ];
    want.sort();
    assert_eq!(found, want);
}

on_every_backend!(unsigned_master_rows_are_named, |db| unsigned_master_rows(
    db.store.clone()
));

/// Proves a service holding a seal key moves no money on an account whose row was
/// edited (its floor lowered to let a withdrawal through): refused before anything is
/// applied, left unsealed by a server starting on it, and served again once the row is
/// its signed version.
async fn sealed_account_rows<S: Store + Raw + 'static>(store: S) {
    use pqbank_db::StoreError;
    let b = bank(store.with_seal(pqbank_db::Seal::derive(b"the server's secret"))).await;
    let s = &b.service;
    let db = s.store();
    let teller = login(&b, &b.teller).await.unwrap();
    s.post_transfer(&teller, &b.teller.device, deposit(&b, "in", 5_000))
        .await
        .unwrap();
    db.exec(&format!(
        "UPDATE accounts SET floor_minor = -1000000 WHERE id = {}",
        b.customer
    ))
    .await;
    let transfers = db.transfers().await.unwrap().len();
    let e = s
        .post_transfer(
            &teller,
            &b.teller.device,
            withdrawal(&b, "overdrawn", 9_000),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, ServiceError::Store(StoreError::CacheUnproven(id)) if id == b.customer),
        "{e:?}"
    );
    assert_eq!(
        db.transfers().await.unwrap().len(),
        transfers,
        "nothing written"
    );
    let sealing = s.seal_balances().await.unwrap();
    assert_eq!(
        (sealing.unsigned, sealing.sealed),
        (vec![b.customer], vec![])
    );
    db.exec(&format!(
        "UPDATE accounts SET floor_minor = 0 WHERE id = {}",
        b.customer
    ))
    .await;
    let short = s
        .post_transfer(&teller, &b.teller.device, withdrawal(&b, "short", 9_000))
        .await
        .unwrap_err();
    assert!(
        matches!(
            short,
            ServiceError::Store(StoreError::Ledger(
                pqbank_ledger::LedgerError::InsufficientFunds { .. }
            ))
        ),
        "{short:?}"
    );
    assert_eq!(verified(&b).await, vec![]);
}

on_every_backend!(sealed_accounts_refuse_an_edited_row, |db| {
    sealed_account_rows(db.store.clone())
});

/// Proves every stored certificate must be matched by its issuance on its issuer's
/// chain: a certificate the manager's key really signed, stored without the manager's
/// `cert.issue` event (as a database writer holding a leaked key would), is named.
async fn unlogged_certificates<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    assert_eq!(verified(&b).await, vec![]);
    let key = CompositeSigningKey::from_seed(&[13; 64]);
    let cert = issue(
        "Una Unlogged",
        &key,
        Role::Teller,
        Some((&b.manager.cert, b.manager.device.key())),
        b"device-13",
        13,
    );
    b.service
        .store()
        .insert_certificate(&pqbank_db::CertificateRecord {
            fingerprint: *cert.fingerprint().as_bytes(),
            der: cert.der().to_vec(),
            serial: cert.serial().to_vec(),
            issuer: Some(*b.manager.cert.fingerprint().as_bytes()),
            replaces: None,
            // Its claim names `teller-13`, who is not on the staff.
            staff_id: None,
            role: "teller".into(),
            not_before: cert.not_before().unix_timestamp(),
            not_after: cert.not_after().unix_timestamp(),
            created_at: 0,
        })
        .await
        .unwrap();
    assert_eq!(
        verified(&b).await,
        [problem(
            "certificates",
            event_row(&cert, None),
            "no issuance of it is logged on its issuer's chain"
        )]
    );
}

on_every_backend!(unlogged_certificates_are_named, |db| unlogged_certificates(
    db.store.clone()
));

/// The bank's root certificate's fingerprint, as its manager's lineage names it.
fn root_of<S>(b: &Bank<S>) -> pqbank_pki::Fingerprint {
    b.manager.cert.claims().lineage.unwrap().issuer
}

/// Appends a `policy.version` event raising the threshold to 1,000,000.00 on `chain`,
/// signed by `device`, as a database writer holding that key would.
async fn forge_policy<S: Store>(b: &Bank<S>, chain: &pqbank_pki::Fingerprint, device: &Device) {
    let policy = pqbank_ledger::Policy {
        approval_threshold_minor: 100_000_000,
        ..POLICY
    };
    let payload = pqbank_db::master::version_payload(
        pqbank_db::master::VersionOf {
            id: pqbank_db::master::POLICY_ID,
            version: 2,
        },
        &pqbank_db::master::policy_contents(&policy),
    );
    b.service
        .store()
        .append_event(
            chain.as_bytes(),
            pqbank_db::master::POLICY_VERSION,
            &payload,
            b.clock.load(Ordering::SeqCst),
            &device.event_signer(),
        )
        .await
        .unwrap();
}

/// Proves the four-eyes policy is the one the root signed: a manager who signs a policy
/// version on her own chain raising the threshold changes nothing (a transfer above
/// the root's threshold still waits) and her version is named.
async fn policy_off_the_root<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    forge_policy(&b, &b.manager.cert.fingerprint(), &b.manager.device).await;
    let seq = newest_event(&b, &b.manager.cert).await;
    let teller = login(&b, &b.teller).await.unwrap();
    let big = b
        .service
        .post_transfer(&teller, &b.teller.device, deposit(&b, "big", 500_000))
        .await
        .unwrap();
    assert_eq!(big.status, pqbank_ledger::TransferStatus::Pending);
    assert_eq!(
        verified(&b).await,
        [problem(
            "accountability_events",
            event_row(&b.manager.cert, Some(seq)),
            "its certificate does not allow policy.set"
        )]
    );
}

on_every_backend!(a_policy_off_the_root_is_named_and_ignored, |db| {
    policy_off_the_root(db.store.clone())
});

/// Proves a policy version on the root's chain not signed by the root's key (a
/// manager's, here) is named, and that a service started over it posts nothing.
async fn forged_root_policy<S: Store + Raw + Clone + 'static>(store: S) {
    let mut b = bank(store.clone()).await;
    let root = root_of(&b);
    forge_policy(&b, &root, &b.manager.device).await;
    let chain = b.service.store().events(root.as_bytes()).await.unwrap();
    let seq = chain.last().unwrap().event.seq;
    let clock = b.clock.clone();
    b.service = pqbank_service::Service::new(store, pqbank_service::Config::new(root))
        .with_clock(std::sync::Arc::new(move || clock.load(Ordering::SeqCst)));
    let teller = login(&b, &b.teller).await.unwrap();
    assert_eq!(
        b.service
            .post_transfer(&teller, &b.teller.device, deposit(&b, "small", 5_000))
            .await,
        Err(ServiceError::Audit(
            "the root's chain does not prove the bank's policy"
        ))
    );
    let chain_name: String = root.as_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        verified(&b).await,
        [problem(
            "accountability_events",
            format!("{chain_name} #{seq}"),
            "the signature is not the certificate's"
        )]
    );
}

on_every_backend!(a_forged_root_policy_is_named_and_stops_posting, |db| {
    forged_root_policy(db.store.clone())
});

/// Proves only the pinned root's key signs the bank's policy: another key (a manager's)
/// is refused before anything is written, so no version the service would refuse, and
/// stop posting over, reaches the root's chain.
async fn policy_signed_by_another_key<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let root = root_of(&b);
    let before = b
        .service
        .store()
        .events(root.as_bytes())
        .await
        .unwrap()
        .len();
    assert_eq!(
        b.service.sign_policy(&POLICY, &b.manager.device).await,
        Err(ServiceError::Audit(
            "only the pinned root's key signs the bank's policy"
        ))
    );
    let after = b
        .service
        .store()
        .events(root.as_bytes())
        .await
        .unwrap()
        .len();
    assert_eq!(after, before);
    b.service
        .sign_policy(&POLICY, &root_device())
        .await
        .unwrap();
    let teller = login(&b, &b.teller).await.unwrap();
    b.service
        .post_transfer(&teller, &b.teller.device, deposit(&b, "small", 5_000))
        .await
        .unwrap();
    assert_eq!(verified(&b).await, vec![]);
}

on_every_backend!(a_policy_signed_by_another_key_is_refused, |db| {
    policy_signed_by_another_key(db.store.clone())
});

/// Bytes as an SQL hex literal's digits.
fn sql_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Proves a revocation lists the serial of the certificate itself, not its row's
/// `serial` column: a database writer who sets the teller's serial column to the
/// auditor's serial makes the manager's CRL revoke the teller all the same, the auditor
/// still signs in, and verification names the edited row.
async fn revocation_from_the_der<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let db = b.service.store();
    db.exec("DROP TRIGGER certificates_append_only_u").await;
    db.exec(&format!(
        "UPDATE certificates SET serial = X'{}' WHERE fingerprint = X'{}'",
        sql_hex(b.auditor.cert.serial()),
        sql_hex(b.teller.cert.fingerprint().as_bytes())
    ))
    .await;
    let edited = problem(
        "certificates",
        event_row(&b.teller.cert, None),
        "its columns are not its certificate's",
    );
    assert_eq!(verified(&b).await, std::slice::from_ref(&edited));
    let manager = login(&b, &b.manager).await.unwrap();
    let teller = login(&b, &b.teller).await.unwrap();
    revoke_teller(&b, &manager).await.unwrap();
    let refused = b
        .service
        .post_transfer(&teller, &b.teller.device, deposit(&b, "after", 100))
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("certificate.revoked".to_string())
    );
    login(&b, &b.auditor).await.unwrap();
    assert_eq!(verified(&b).await, [edited]);
}

on_every_backend!(a_revocation_lists_the_certificates_own_serial, |db| {
    revocation_from_the_der(db.store.clone())
});

/// Proves the service believes a certificate row only as far as its DER: the teller's
/// `staff_id` column set to the auditor's leaves the teller signing in as the teller
/// (their own deposit posts, as the teller's), and the teller's DER written under the
/// auditor's fingerprint is refused at sign-in; verification names both edits.
async fn certificate_rows_from_the_der<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let db = b.service.store();
    let teller_row = format!(
        "WHERE fingerprint = X'{}'",
        sql_hex(b.teller.cert.fingerprint().as_bytes())
    );
    db.exec("DROP TRIGGER certificates_append_only_u").await;
    db.exec(&format!(
        "UPDATE certificates SET staff_id = {} {teller_row}",
        b.auditor.staff_id
    ))
    .await;
    let teller = login(&b, &b.teller).await.unwrap();
    let posted = b
        .service
        .post_transfer(&teller, &b.teller.device, deposit(&b, "own", 100))
        .await
        .unwrap();
    let row = common::posted(&b.service)
        .await
        .into_iter()
        .find(|t| t.id == posted.id)
        .unwrap();
    assert_eq!(row.request.maker, b.teller.staff_id);
    let edited = problem(
        "certificates",
        event_row(&b.teller.cert, None),
        "its columns are not its certificate's",
    );
    assert_eq!(verified(&b).await, [edited]);

    // The teller's DER under the auditor's fingerprint: the auditor, whose chain no
    // call has validated yet (the service keeps chains it validated from bytes that
    // hashed right), is refused.
    db.exec(&format!(
        "UPDATE certificates SET der = X'{}' WHERE fingerprint = X'{}'",
        sql_hex(b.teller.cert.der()),
        sql_hex(b.auditor.cert.fingerprint().as_bytes())
    ))
    .await;
    assert_eq!(
        login(&b, &b.auditor).await.map(|_| ()),
        Err(ServiceError::Audit(
            "a stored certificate's bytes are not the certificate its fingerprint names"
        ))
    );
    let found = verified(&b).await;
    assert!(
        found.contains(&problem(
            "certificates",
            event_row(&b.auditor.cert, None),
            "its bytes are not the certificate its fingerprint names",
        )),
        "{found:?}"
    );
}

on_every_backend!(certificate_rows_are_read_from_their_der, |db| {
    certificate_rows_from_the_der(db.store.clone())
});

/// Proves a second policy version is in force from its signing on, for the service and
/// for verification alike: a deposit the first version posts, the same amount after a
/// lower threshold is signed waits for a manager, and one written as posted after it is
/// named; the first version's posted deposit stays clean.
async fn two_policy_versions<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let teller = login(&b, &b.teller).await.unwrap();
    let before = b
        .service
        .post_transfer(&teller, &b.teller.device, deposit(&b, "v1", 50_000))
        .await
        .unwrap();
    assert_eq!(before.status, pqbank_ledger::TransferStatus::Posted);
    b.clock.fetch_add(10, Ordering::SeqCst);
    let lower = pqbank_ledger::Policy {
        approval_threshold_minor: 20_000,
        ..POLICY
    };
    b.service.sign_policy(&lower, &root_device()).await.unwrap();
    b.clock.fetch_add(10, Ordering::SeqCst);
    let after = b
        .service
        .post_transfer(&teller, &b.teller.device, deposit(&b, "v2", 50_000))
        .await
        .unwrap();
    assert_eq!(after.status, pqbank_ledger::TransferStatus::Pending);
    assert_eq!(verified(&b).await, vec![]);
    let id = written_as_posted(&b, "v2-posted", 50_000).await;
    let found = verified(&b).await;
    assert!(
        found.contains(&problem(
            "transfers",
            format!("#{id}"),
            "recorded as posted above the approval threshold"
        )),
        "{found:?}"
    );
    assert!(
        !found
            .iter()
            .any(|(table, row, _)| table == "transfers" && *row == format!("#{}", before.id)),
        "{found:?}"
    );
}

on_every_backend!(a_second_policy_version_holds_from_its_signing, |db| {
    two_policy_versions(db.store.clone())
});

/// Proves a session row is held to its certificate on every call: the teller's session
/// edited to name the auditor posts nothing, as anyone.
async fn session_row_edited<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let teller = login(&b, &b.teller).await.unwrap();
    b.service
        .store()
        .exec(&format!(
            "UPDATE sessions SET staff_id = {}",
            b.auditor.staff_id
        ))
        .await;
    let as_auditor = TransferRequest {
        maker: b.auditor.staff_id,
        ..deposit(&b, "as-auditor", 100)
    };
    assert_eq!(
        b.service
            .post_transfer(&teller, &b.teller.device, as_auditor)
            .await
            .map(|_| ()),
        Err(ServiceError::Audit(
            "the session's staff member is not its certificate's"
        ))
    );
    assert_eq!(common::posted(&b.service).await, vec![]);
}

on_every_backend!(a_session_row_is_held_to_its_certificate, |db| {
    session_row_edited(db.store.clone())
});

/// Proves a master row's creation time is held to its first signed version's: a
/// customer account's `created_at` moved by a second is named.
async fn master_created_at<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    assert_eq!(verified(&b).await, vec![]);
    b.service
        .store()
        .exec(&format!(
            "UPDATE accounts SET created_at = created_at + 1 WHERE id = {}",
            b.customer
        ))
        .await;
    assert_eq!(
        verified(&b).await,
        [problem(
            "accounts",
            format!("#{}", b.customer),
            "its creation time is not its first signed version's"
        )]
    );
}

on_every_backend!(a_master_rows_creation_time_is_its_first_versions, |db| {
    master_created_at(db.store.clone())
});

/// A full verification that names nothing, and the state it proves.
async fn proven<S: Store>(b: &Bank<S>) -> VerifiedLog {
    let (report, state) = b.service.verify_log_from(None, &|_, _| {}).await.unwrap();
    assert_eq!(named(report), vec![]);
    state.unwrap()
}

/// What a verification from `state` names; the state it proves when it names nothing.
async fn verified_from<S: Store>(
    b: &Bank<S>,
    state: &VerifiedLog,
) -> (Vec<(String, String, String)>, Option<VerifiedLog>) {
    let (report, next) = b
        .service
        .verify_log_from(Some(state), &|_, _| {})
        .await
        .unwrap();
    assert!(report.incremental);
    assert_eq!(next.is_some(), report.problems.is_empty());
    (named(report), next)
}

/// A state without what only says when and how much it read.
fn proof(state: &VerifiedLog) -> VerifiedLog {
    VerifiedLog {
        verified_at: 0,
        transfers: 0,
        events: 0,
        ..state.clone()
    }
}

/// Proves a verification from an earlier one's state reads only the rows that came
/// after, and proves what a full verification of the same log proves: over a teller's
/// postings, a pending transfer resolved a round later, a checkpoint each round, a
/// drawer close and a revocation, each incremental state is the full run's.
async fn incremental_is_full<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let manager = login(&b, &b.manager).await.unwrap();
    let auditor = login(&b, &b.auditor).await.unwrap();
    let mut state = proven(&b).await;
    let mut waiting: Option<(i64, [u8; 32])> = None;
    for round in 0..3 {
        b.clock.fetch_add(60, Ordering::SeqCst);
        let teller = login(&b, &b.teller).await.unwrap();
        let s = &b.service;
        let mut new = 0;
        if round < 2 {
            s.post_transfer(
                &teller,
                &b.teller.device,
                deposit(&b, &format!("s{round}"), 900),
            )
            .await
            .unwrap();
            let big = s
                .post_transfer(
                    &teller,
                    &b.teller.device,
                    deposit(&b, &format!("b{round}"), 500_000),
                )
                .await
                .unwrap();
            new += 2;
            if let Some((id, hash)) = waiting.take() {
                s.resolve_transfer(&manager, &b.manager.device, id, hash, round == 1)
                    .await
                    .unwrap();
            }
            let row = s.store().transfers().await.unwrap();
            let row = row.iter().find(|t| t.id == big.id).unwrap();
            waiting = Some((big.id, row.request_hash));
        } else {
            let (id, hash) = waiting.take().unwrap();
            s.resolve_transfer(&manager, &b.manager.device, id, hash, false)
                .await
                .unwrap();
            s.close_drawer(&teller, &b.teller.device, 1, "close")
                .await
                .unwrap();
            new += posted(s).await.len() - 4;
            revoke_teller(&b, &manager).await.unwrap();
        }
        s.checkpoint(&auditor, &b.auditor.device).await.unwrap();
        let (found, next) = verified_from(&b, &state).await;
        assert_eq!(found, vec![], "round {round}");
        let next = next.unwrap();
        let full = proven(&b).await;
        assert_eq!(proof(&next), proof(&full), "round {round}");
        assert_eq!(next.transfers, full.transfers, "round {round}");
        assert_eq!(next.events, full.events, "round {round}");
        let (report, _) = b
            .service
            .verify_log_from(Some(&state), &|_, _| {})
            .await
            .unwrap();
        assert_eq!(report.transfers, new, "round {round}");
        state = next;
    }
}

on_every_backend!(an_incremental_run_proves_what_a_full_run_proves, |db| {
    incremental_is_full(db.store.clone())
});

/// Proves rows written after a verification are named by a run from its state as a
/// full run names them: a transfer over the threshold recorded as posted, an approval
/// of an earlier pending transfer by its own maker, an approval of an earlier transfer
/// that was never pending.
async fn new_rows_named_from_a_state<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let earlier = pending_deposit(&b, "earlier").await;
    let teller = login(&b, &b.teller).await.unwrap();
    let small = b
        .service
        .post_transfer(&teller, &b.teller.device, deposit(&b, "small", 900))
        .await
        .unwrap()
        .id;
    let state = proven(&b).await;
    b.clock.fetch_add(60, Ordering::SeqCst);
    let over = written_as_posted(&b, "over", 500_000).await;
    let own = write_approval(
        &b,
        earlier,
        b.teller.staff_id,
        &b.teller.cert,
        &b.teller.device,
    )
    .await;
    let never = write_approval(
        &b,
        small,
        b.manager.staff_id,
        &b.manager.cert,
        &b.manager.device,
    )
    .await;
    let found = verified_from(&b, &state).await.0;
    for expected in [
        problem(
            "transfers",
            format!("#{over}"),
            "recorded as posted above the approval threshold",
        ),
        problem("approvals", format!("#{own}"), "approved by its own maker"),
        problem(
            "approvals",
            format!("#{never}"),
            "resolves a transfer that was never pending",
        ),
        unjournaled(b.customer),
    ] {
        assert!(found.contains(&expected), "{expected:?} in {found:?}");
    }
    assert_eq!(found, verified(&b).await);
}

on_every_backend!(new_rows_are_named_from_a_state, |db| {
    new_rows_named_from_a_state(db.store.clone())
});

/// Proves a run from a state names an act signed after a revocation it proved, and
/// holds earlier rows to what it proved: an edited cache, an account's floor edited, an
/// earlier pending transfer edited in place and then approved.
async fn earlier_proofs_hold<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let manager = login(&b, &b.manager).await.unwrap();
    let waiting = pending_deposit(&b, "waiting").await;
    revoke_teller(&b, &manager).await.unwrap();
    let state = proven(&b).await;
    b.clock.fetch_add(60, Ordering::SeqCst);
    let after = written_as_posted(&b, "after", 1_000).await;
    let found = verified_from(&b, &state).await.0;
    let reason = "signed after its certificate was revoked";
    assert!(
        found.contains(&problem("transfers", format!("#{after}"), reason)),
        "{found:?}"
    );
    b.service
        .store()
        .exec(&format!(
            "UPDATE account_balances SET credits_posted = credits_posted + 1 WHERE account_id = {}",
            b.drawer
        ))
        .await;
    b.service
        .store()
        .exec(&format!(
            "UPDATE accounts SET floor_minor = -1 WHERE id = {}",
            b.customer
        ))
        .await;
    // An earlier pending transfer's amount raised in place, then approved: the run reads
    // the row the new approval names again.
    let db = b.service.store();
    db.exec("DROP TRIGGER transfers_append_only_u").await;
    db.exec(&format!(
        "UPDATE transfers SET amount_minor = amount_minor + 1 WHERE id = {waiting}"
    ))
    .await;
    write_approval(
        &b,
        waiting,
        b.manager.staff_id,
        &b.manager.cert,
        &b.manager.device,
    )
    .await;
    let found = verified_from(&b, &state).await.0;
    for expected in [
        problem(
            "transfers",
            format!("#{waiting}"),
            "changed since it was verified: its signed bytes or its signature no longer hold",
        ),
        unjournaled(b.drawer),
        problem(
            "accounts",
            format!("#{}", b.customer),
            "its columns are not its newest signed version",
        ),
    ] {
        assert!(found.contains(&expected), "{expected:?} in {found:?}");
    }
}

on_every_backend!(earlier_proofs_hold_from_a_state, |db| {
    earlier_proofs_hold(db.store.clone())
});

/// Proves a run from a state names the newest events of a chain deleted with their
/// journal row (the tail no checkpoint covers yet, which a full run cannot tell from a
/// log that never had it).
async fn newest_removed<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let teller = login(&b, &b.teller).await.unwrap();
    let auditor = login(&b, &b.auditor).await.unwrap();
    let s = &b.service;
    s.post_transfer(&teller, &b.teller.device, deposit(&b, "first", 700))
        .await
        .unwrap();
    s.checkpoint(&auditor, &b.auditor.device).await.unwrap();
    let newest = s
        .post_transfer(&teller, &b.teller.device, deposit(&b, "newest", 800))
        .await
        .unwrap();
    let state = proven(&b).await;
    let marks = &state.tables["transfers"];
    let (mark, count) = (marks.mark, marks.count);
    assert_eq!(mark, newest.id);
    let db = s.store();
    for table in [
        "transfers",
        "accountability_events",
        "log_entries",
        "checkpoints",
    ] {
        db.exec(&format!("DROP TRIGGER {table}_append_only_d"))
            .await;
    }
    let event = db
        .events(b.teller.cert.fingerprint().as_bytes())
        .await
        .unwrap()
        .pop()
        .unwrap();
    db.exec(&format!(
        "DELETE FROM log_entries WHERE event_id = {}",
        event.id
    ))
    .await;
    db.exec(&format!(
        "DELETE FROM accountability_events WHERE id = {}",
        event.id
    ))
    .await;
    db.exec(&format!("DELETE FROM transfers WHERE id = {}", newest.id))
        .await;
    let found = verified_from(&b, &state).await.0;
    for expected in [
        problem(
            "accountability_events",
            event_row(&b.teller.cert, None),
            "its chain is shorter than verified: its newest events were removed",
        ),
        counted(mark, count - 1, count),
    ] {
        assert!(found.contains(&expected), "{expected:?} in {found:?}");
    }
}

on_every_backend!(the_newest_events_removed_are_named_from_a_state, |db| {
    newest_removed(db.store.clone())
});

/// How a run from a state names rows inserted or removed at or below its mark.
fn counted(mark: i64, stored: i64, verified: i64) -> (String, String, String) {
    problem(
        "transfers",
        format!("ids up to #{mark}"),
        &format!(
            "the rows at or below the verified mark are not those verified ({stored} where \
             {verified} were): rows were inserted or removed (a full verification names them)"
        ),
    )
}

/// Proves a run from a state names what was inserted or removed below what it proved,
/// which it does not read again: a journal row inserted below the verified mark, a
/// verified row deleted in its place (the count kept), a verified row deleted, a
/// verified checkpoint deleted, and a log position below the verified frontier deleted.
async fn inserted_or_removed_below<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let teller = login(&b, &b.teller).await.unwrap();
    let auditor = login(&b, &b.auditor).await.unwrap();
    let s = &b.service;
    let first = s
        .post_transfer(&teller, &b.teller.device, deposit(&b, "first", 700))
        .await
        .unwrap()
        .id;
    let checkpoint = s.checkpoint(&auditor, &b.auditor.device).await.unwrap();
    let state = proven(&b).await;
    let marks = &state.tables["transfers"];
    let (mark, count) = (marks.mark, marks.count);
    let db = s.store();
    db.exec(&format!(
        "INSERT INTO transfers (id, maker_staff_id, idempotency_key, request_hash, kind, \
         debit_account_id, credit_account_id, amount_minor, currency, memo, status, expires_at, \
         created_at, recorded_at, signed_bytes, signature, signer_fingerprint) \
         SELECT -1, maker_staff_id, 'inserted', X'{}', kind, debit_account_id, \
         credit_account_id, amount_minor, currency, memo, status, expires_at, created_at, \
         recorded_at, signed_bytes, signature, signer_fingerprint FROM transfers WHERE id = {first}",
        sql_hex(&[5; 32])
    ))
    .await;
    let found = verified_from(&b, &state).await.0;
    assert!(
        found.contains(&counted(mark, count + 1, count)),
        "{found:?}"
    );
    for table in ["transfers", "log_entries", "checkpoints"] {
        db.exec(&format!("DROP TRIGGER {table}_append_only_d"))
            .await;
    }
    // A verified row removed and another put below the mark: the count holds, the ids
    // do not.
    db.exec(&format!("DELETE FROM transfers WHERE id = {first}"))
        .await;
    let found = verified_from(&b, &state).await.0;
    assert!(found.contains(&counted(mark, count, count)), "{found:?}");
    db.exec("DELETE FROM transfers WHERE id = -1").await;
    db.exec(&format!(
        "DELETE FROM checkpoints WHERE tree_size = {}",
        checkpoint.tree_size
    ))
    .await;
    db.exec("DELETE FROM log_entries WHERE log_index = 0").await;
    let found = verified_from(&b, &state).await.0;
    for expected in [
        counted(mark, count - 1, count),
        problem(
            "checkpoints",
            format!("size {}", checkpoint.tree_size),
            "a verified checkpoint was removed",
        ),
        problem(
            "log_entries",
            format!("positions below {}", checkpoint.tree_size),
            "log positions below the verified checkpoint were removed",
        ),
    ] {
        assert!(found.contains(&expected), "{expected:?} in {found:?}");
    }
}

on_every_backend!(what_was_inserted_or_removed_below_a_state_is_named, |db| {
    inserted_or_removed_below(db.store.clone())
});

/// Proves a journal row that commits after a later one (MariaDB hands ids out at
/// insert, not at commit) is read from its hole by the next run from the state that did
/// not see it, not taken for a row inserted below the mark; and that run proves what a
/// full one does. (A flow commits its act and cache with the row; here they are written
/// just after it, which the run, reading one snapshot later, cannot tell apart.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_is_read_from_its_hole() {
    let db = pqbank_tests::mysql().await;
    let b = bank(db.store.clone()).await;
    let state = proven(&b).await;
    // Between the bank's own accounts, whose rows the later transfer does not lock (the
    // late row's foreign keys hold them until it commits).
    let internal = |number: &'static str| {
        sqlx::query_scalar::<_, i64>("SELECT id FROM accounts WHERE account_number = ?")
            .bind(number)
            .fetch_one(db.store.pool())
    };
    let request = TransferRequest {
        debit: internal("VAULT-EUR").await.unwrap(),
        credit: internal("VARIANCE-EUR").await.unwrap(),
        ..deposit(&b, "late", 300)
    };
    let bytes = request.canonical_bytes();
    let mut tx = db.store.pool().begin().await.unwrap();
    sqlx::query(
        "INSERT INTO transfers (maker_staff_id, idempotency_key, request_hash, kind, \
         debit_account_id, credit_account_id, amount_minor, currency, memo, status, expires_at, \
         created_at, recorded_at, signed_bytes, signature, signer_fingerprint) \
         VALUES (?, 'late', ?, 'deposit', ?, ?, ?, 'EUR', '', 'posted', NULL, ?, ?, ?, ?, ?)",
    )
    .bind(request.maker)
    .bind(request.request_hash().to_vec())
    .bind(request.debit)
    .bind(request.credit)
    .bind(request.amount.minor())
    .bind(request.created_at)
    .bind(request.created_at)
    .bind(bytes.clone())
    .bind(b.teller.device.sign_act(&bytes).unwrap())
    .bind(b.teller.cert.fingerprint().as_bytes().to_vec())
    .execute(&mut *tx)
    .await
    .unwrap();
    let late: i64 = sqlx::query_scalar("SELECT CAST(LAST_INSERT_ID() AS SIGNED)")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let teller = login(&b, &b.teller).await.unwrap();
    let after = b
        .service
        .post_transfer(&teller, &b.teller.device, deposit(&b, "after", 400))
        .await
        .unwrap();
    assert!(after.id > late);
    let (found, between) = verified_from(&b, &state).await;
    assert_eq!(found, vec![]);
    let between = between.unwrap();
    assert!(between.tables["transfers"].holes.contains(&late));
    tx.commit().await.unwrap();
    // Its act and its amounts, as its flow writes them with it.
    use pqbank_db::IdentityStore;
    let store = b.service.store();
    store
        .append_event(
            b.teller.cert.fingerprint().as_bytes(),
            "transfer.post",
            &[bytes, late.to_be_bytes().to_vec()].concat(),
            request.created_at,
            &b.teller.device.event_signer(),
        )
        .await
        .unwrap();
    let amount = request.amount.minor();
    store
        .exec(&format!(
            "UPDATE account_balances SET debits_posted = debits_posted + {amount} \
             WHERE account_id = {}",
            request.debit
        ))
        .await;
    store
        .exec(&format!(
            "UPDATE account_balances SET credits_posted = credits_posted + {amount} \
             WHERE account_id = {}",
            request.credit
        ))
        .await;
    let (report, next) = b
        .service
        .verify_log_from(Some(&between), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(named(report.clone()), vec![]);
    assert_eq!(report.transfers, 1);
    let next = next.unwrap();
    assert!(!next.tables["transfers"].holes.contains(&late));
    assert_eq!(proof(&next), proof(&proven(&b).await));
}

/// Proves a revocation signed with a time before acts a state proved (a manager's
/// workstation clock behind the server's) makes the next run a full one, which names
/// those acts as a full run does, rather than leaving them as proven.
async fn backdated_revocation<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let state = proven(&b).await;
    b.clock.fetch_add(60, Ordering::SeqCst);
    let teller = login(&b, &b.teller).await.unwrap();
    let late = b
        .service
        .post_transfer(&teller, &b.teller.device, deposit(&b, "before", 1_000))
        .await
        .unwrap()
        .id;
    let (found, state) = verified_from(&b, &state).await;
    assert_eq!(found, vec![]);
    b.clock.fetch_sub(30, Ordering::SeqCst);
    let manager = login(&b, &b.manager).await.unwrap();
    revoke_teller(&b, &manager).await.unwrap();
    b.clock.fetch_add(60, Ordering::SeqCst);
    let (report, _) = b
        .service
        .verify_log_from(state.as_ref(), &|_, _| {})
        .await
        .unwrap();
    assert!(!report.incremental, "the run fell back to a full one");
    let found = named(report);
    assert!(
        found.contains(&problem(
            "transfers",
            format!("#{late}"),
            "signed after its certificate was revoked"
        )),
        "{found:?}"
    );
    assert_eq!(found, verified(&b).await);
}

on_every_backend!(a_backdated_revocation_makes_the_next_run_full, |db| {
    backdated_revocation(db.store.clone())
});

/// Proves an event put at a negative position of a chain (where no run reads) is named
/// by a full run, and by a run from a state.
async fn negative_positions<S: Store + Raw + 'static>(store: S) {
    let b = bank(store).await;
    let state = proven(&b).await;
    let db = b.service.store();
    let event = db
        .events(b.teller.cert.fingerprint().as_bytes())
        .await
        .unwrap()
        .pop()
        .unwrap();
    db.exec(&format!(
        "INSERT INTO accountability_events (certificate_fingerprint, seq, prev_hash, \
         event_hash, kind, payload, created_at, signature, server_fingerprint, request) \
         SELECT certificate_fingerprint, -1, prev_hash, event_hash, kind, payload, \
         created_at, signature, server_fingerprint, request FROM accountability_events \
         WHERE id = {}",
        event.id
    ))
    .await;
    let expected = problem(
        "accountability_events",
        event_row(&b.teller.cert, None),
        "its chain has events at negative positions",
    );
    let full = verified(&b).await;
    assert!(full.contains(&expected), "{full:?}");
    let found = verified_from(&b, &state).await.0;
    assert!(found.contains(&expected), "{found:?}");
}

on_every_backend!(events_at_negative_positions_are_named, |db| {
    negative_positions(db.store.clone())
});
