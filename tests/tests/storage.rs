//! The storage story, run against every backend: a teller's day with the drawer,
//! deposits, withdrawals, transfers, refusals that change nothing, idempotent retries,
//! four-eyes approvals, voids, expiries, a drawer variance and its sign-off; and the
//! append-only tables refusing UPDATE and DELETE.

use pqbank_db::flows::{
    check_invariants, close_drawer, expire_pending, open_drawer, post_transfer, resolve_pending,
    sign_off_variance,
};
use pqbank_db::{
    ApprovalRequest, Backend, DrawerEventKind, DrawerEventRequest, RetryPolicy, SignedApproval,
    SignedDrawerEvent, StoreError,
};
use pqbank_ledger::{
    AccountKind, Currency, LedgerError, Policy, Resolution, TransferKind, TransferStatus,
};
use pqbank_tests::{Raw, Staff, account, customer, minor, on_every_backend, staff};

const EUR: Currency = Currency::EUR;

struct Bank {
    teller: Staff,
    manager: Staff,
    vault: i64,
    variance: i64,
    drawer: i64,
    alice: i64,
    bob: i64,
    alice_usd: i64,
}

async fn bank<B: Backend>(db: &B) -> Bank {
    let teller = staff(db, "T-1", "teller", 1).await;
    let manager = staff(db, "M-1", "manager", 2).await;
    let vault = account(db, "VAULT-EUR", None, AccountKind::BankInternal, EUR, None).await;
    let variance = account(db, "VAR-EUR", None, AccountKind::BankInternal, EUR, None).await;
    let drawer = account(db, "DRAWER-1", None, AccountKind::CashDrawer, EUR, Some(0)).await;
    let a = customer(db, "C-1", "Alice Archer").await;
    let b = customer(db, "C-2", "Bob Baker").await;
    let alice = account(
        db,
        "A-1",
        Some(a),
        AccountKind::Customer,
        EUR,
        Some(-10_000),
    )
    .await;
    let bob = account(db, "B-1", Some(b), AccountKind::Customer, EUR, Some(0)).await;
    let alice_usd = account(
        db,
        "A-2",
        Some(a),
        AccountKind::Customer,
        Currency::USD,
        Some(0),
    )
    .await;
    Bank {
        teller,
        manager,
        vault,
        variance,
        drawer,
        alice,
        bob,
        alice_usd,
    }
}

fn drawer_event(b: &Bank, kind: DrawerEventKind, counted: i64, key: &str) -> SignedDrawerEvent {
    let request = DrawerEventRequest {
        teller: b.teller.id,
        drawer: b.drawer,
        vault: b.vault,
        variance_account: b.variance,
        kind,
        counted_minor: counted,
        idempotency_key: key.into(),
        created_at: 100,
    };
    let signed = b.teller.sign(&request.canonical_bytes());
    SignedDrawerEvent { request, signed }
}

async fn balance<B: Backend>(db: &B, id: i64) -> i128 {
    db.account(id).await.unwrap().unwrap().balance()
}

/// Proves a teller's day on the ledger behaves as DESIGN.md says, and that every
/// invariant holds at the end.
async fn story<B: Backend>(db: &B) {
    let b = bank(db).await;
    let r = RetryPolicy::default();
    let p = Policy {
        approval_threshold_minor: 500_000,
        pending_ttl_secs: 3_600,
    };
    let t = &b.teller;

    // Open the drawer with a counted float of 2,000.00 from the vault.
    let float = t.transfer(
        "float-1",
        TransferKind::DrawerOpen,
        b.drawer,
        b.vault,
        minor(200_000, EUR),
        100,
    );
    let open = drawer_event(&b, DrawerEventKind::Open, 200_000, "open-1");
    open_drawer(db, &r, &open, &float, &p, 100).await.unwrap();
    assert_eq!(balance(db, b.drawer).await, 200_000);
    // Retrying the open returns the same event; opening again under another key is refused.
    assert!(open_drawer(db, &r, &open, &float, &p, 100).await.is_ok());
    let again = drawer_event(&b, DrawerEventKind::Open, 200_000, "open-2");
    let float2 = t.transfer(
        "float-2",
        TransferKind::DrawerOpen,
        b.drawer,
        b.vault,
        minor(200_000, EUR),
        100,
    );
    assert!(matches!(
        open_drawer(db, &r, &again, &float2, &p, 100).await,
        Err(StoreError::Drawer(_))
    ));

    // Deposit 1,500.00 cash for Alice; withdraw 300.00; transfer 200.00 to Bob.
    let dep = t.transfer(
        "dep-1",
        TransferKind::Deposit,
        b.drawer,
        b.alice,
        minor(150_000, EUR),
        110,
    );
    let first = post_transfer(db, &r, &dep, &p, 110).await.unwrap();
    assert_eq!(
        (first.status, first.replayed),
        (TransferStatus::Posted, false)
    );
    let wd = t.transfer(
        "wd-1",
        TransferKind::Withdrawal,
        b.alice,
        b.drawer,
        minor(30_000, EUR),
        111,
    );
    post_transfer(db, &r, &wd, &p, 111).await.unwrap();
    let tr = t.transfer(
        "tr-1",
        TransferKind::Transfer,
        b.alice,
        b.bob,
        minor(20_000, EUR),
        112,
    );
    post_transfer(db, &r, &tr, &p, 112).await.unwrap();
    assert_eq!(balance(db, b.alice).await, 100_000);
    assert_eq!(balance(db, b.bob).await, 20_000);
    assert_eq!(balance(db, b.drawer).await, 320_000);

    // A retry returns the first result; the same key with other content is refused.
    let retry = post_transfer(db, &r, &dep, &p, 120).await.unwrap();
    assert_eq!((retry.id, retry.replayed), (first.id, true));
    let other = t.transfer(
        "dep-1",
        TransferKind::Deposit,
        b.drawer,
        b.alice,
        minor(150_001, EUR),
        110,
    );
    assert_eq!(
        post_transfer(db, &r, &other, &p, 120).await,
        Err(StoreError::IdempotencyConflict)
    );

    // Refusals change nothing: Bob cannot go below zero, Alice only to her overdraft,
    // currencies never mix, and transfer kinds must fit their accounts.
    let before = db.accounts().await.unwrap();
    let over = t.transfer(
        "bob-over",
        TransferKind::Transfer,
        b.bob,
        b.alice,
        minor(20_001, EUR),
        130,
    );
    assert!(matches!(
        post_transfer(db, &r, &over, &p, 130).await,
        Err(StoreError::Ledger(LedgerError::InsufficientFunds { .. }))
    ));
    let od = t.transfer(
        "alice-od",
        TransferKind::Transfer,
        b.alice,
        b.bob,
        minor(110_001, EUR),
        130,
    );
    assert!(matches!(
        post_transfer(db, &r, &od, &p, 130).await,
        Err(StoreError::Ledger(LedgerError::InsufficientFunds { .. }))
    ));
    let fx = t.transfer(
        "fx",
        TransferKind::Transfer,
        b.alice,
        b.alice_usd,
        minor(100, EUR),
        130,
    );
    assert_eq!(
        post_transfer(db, &r, &fx, &p, 130).await,
        Err(StoreError::Ledger(LedgerError::CurrencyMismatch))
    );
    let kinds = t.transfer(
        "kinds",
        TransferKind::Deposit,
        b.alice,
        b.bob,
        minor(100, EUR),
        130,
    );
    assert!(matches!(
        post_transfer(db, &r, &kinds, &p, 130).await,
        Err(StoreError::Ledger(LedgerError::WrongAccountKinds { .. }))
    ));
    assert_eq!(
        db.accounts().await.unwrap(),
        before,
        "a refused transfer changed nothing"
    );

    // Alice may use her overdraft: 1,100.00 from a 1,000.00 balance takes her to -100.00.
    let od_ok = t.transfer(
        "alice-od-ok",
        TransferKind::Transfer,
        b.alice,
        b.bob,
        minor(110_000, EUR),
        131,
    );
    post_transfer(db, &r, &od_ok, &p, 131).await.unwrap();
    assert_eq!(balance(db, b.alice).await, -10_000);

    four_eyes(db, &b, &r, &p).await;
    drawer_close(db, &b, &r, &p).await;

    let report = check_invariants(db).await.unwrap();
    assert!(report.is_sound(), "{report:?}");
    assert_eq!(db.duplicate_keys().await.unwrap(), 0);
}

/// Large transfers wait for a manager other than the maker; voids release, and so does
/// expiry.
async fn four_eyes<B: Backend>(db: &B, b: &Bank, r: &RetryPolicy, p: &Policy) {
    let t = &b.teller;
    let big = t.transfer(
        "big-1",
        TransferKind::Deposit,
        b.drawer,
        b.bob,
        minor(600_000, EUR),
        200,
    );
    let pending = post_transfer(db, r, &big, p, 200).await.unwrap();
    assert_eq!(pending.status, TransferStatus::Pending);
    assert_eq!(pending.expires_at, Some(200 + 3_600));
    let bob_before = balance(db, b.bob).await;
    let approval = |who: &pqbank_tests::Staff, manager: bool, decision: Resolution, at: i64| {
        let request = ApprovalRequest {
            transfer_id: pending.id,
            transfer_hash: big.request.request_hash(),
            approver: who.id,
            approver_is_manager: manager,
            decision,
            created_at: at,
        };
        let signed = who.sign(&request.canonical_bytes());
        SignedApproval { request, signed }
    };
    // The maker cannot approve, even claiming the manager role; a non-manager cannot.
    assert_eq!(
        resolve_pending(db, r, &approval(t, true, Resolution::Post, 210), 210).await,
        Err(StoreError::Ledger(LedgerError::SelfApproval))
    );
    let other_teller = pqbank_tests::Staff {
        id: b.manager.id,
        ..t.clone()
    };
    assert_eq!(
        resolve_pending(
            db,
            r,
            &approval(&other_teller, false, Resolution::Post, 210),
            210
        )
        .await,
        Err(StoreError::Ledger(LedgerError::ApproverNotManager))
    );
    assert_eq!(
        balance(db, b.bob).await,
        bob_before,
        "pending is not yet posted"
    );
    assert_eq!(
        resolve_pending(
            db,
            r,
            &approval(&b.manager, true, Resolution::Post, 220),
            220
        )
        .await,
        Ok(TransferStatus::Posted)
    );
    assert_eq!(balance(db, b.bob).await, bob_before + 600_000);
    assert_eq!(
        resolve_pending(
            db,
            r,
            &approval(&b.manager, true, Resolution::Void, 230),
            230
        )
        .await,
        Err(StoreError::Ledger(LedgerError::NotPending))
    );

    // A pending withdrawal reserves the funds; voiding releases them.
    let wd = t.transfer(
        "big-wd",
        TransferKind::Withdrawal,
        b.bob,
        b.drawer,
        minor(600_000, EUR),
        300,
    );
    let pending_wd = post_transfer(db, r, &wd, p, 300).await.unwrap();
    assert_eq!(pending_wd.status, TransferStatus::Pending);
    let bob = db.account(b.bob).await.unwrap().unwrap();
    assert_eq!(
        bob.balances.available(bob.kind.normal_side()),
        bob.balance() - 600_000
    );
    let void = ApprovalRequest {
        transfer_id: pending_wd.id,
        transfer_hash: wd.request.request_hash(),
        approver: b.manager.id,
        approver_is_manager: true,
        decision: Resolution::Void,
        created_at: 310,
    };
    let signed = b.manager.sign(&void.canonical_bytes());
    assert_eq!(
        resolve_pending(
            db,
            r,
            &SignedApproval {
                request: void,
                signed
            },
            310
        )
        .await,
        Ok(TransferStatus::Voided)
    );
    let bob = db.account(b.bob).await.unwrap().unwrap();
    assert_eq!(
        bob.balances.available(bob.kind.normal_side()),
        bob.balance()
    );

    // Another expires: the sweep releases it and a late approval is refused.
    let late = t.transfer(
        "big-late",
        TransferKind::Deposit,
        b.drawer,
        b.alice,
        minor(700_000, EUR),
        400,
    );
    let pending_late = post_transfer(db, r, &late, p, 400).await.unwrap();
    assert_eq!(expire_pending(db, r, 400 + 3_601).await, Ok(1));
    assert_eq!(
        db.transfers()
            .await
            .unwrap()
            .iter()
            .find(|x| x.id == pending_late.id)
            .map(|x| x.status),
        Some(TransferStatus::Expired)
    );
}

/// Closing the drawer short: the variance is posted, the cash returns to the vault, and
/// only a manager other than the teller signs the variance off.
async fn drawer_close<B: Backend>(db: &B, b: &Bank, r: &RetryPolicy, p: &Policy) {
    let t = &b.teller;
    let expected = i64::try_from(balance(db, b.drawer).await).unwrap();
    let counted = expected - 1_000;
    let variance = t.transfer(
        "close-var",
        TransferKind::VarianceShort,
        b.variance,
        b.drawer,
        minor(1_000, EUR),
        500,
    );
    let back = t.transfer(
        "close-back",
        TransferKind::DrawerClose,
        b.vault,
        b.drawer,
        minor(counted, EUR),
        500,
    );
    let close = drawer_event(b, DrawerEventKind::Close, counted, "close-1");
    // A count made from a stale balance is refused whole.
    let stale = t.transfer(
        "close-stale",
        TransferKind::DrawerClose,
        b.vault,
        b.drawer,
        minor(counted + 5, EUR),
        500,
    );
    assert!(matches!(
        close_drawer(db, r, &close, Some(&variance), Some(&stale), p, 500).await,
        Err(StoreError::Drawer(_))
    ));
    let event = close_drawer(db, r, &close, Some(&variance), Some(&back), p, 500)
        .await
        .unwrap();
    assert_eq!(
        (event.expected_minor, event.variance_minor),
        (Some(expected), Some(-1_000))
    );
    assert_eq!(balance(db, b.drawer).await, 0);
    let signed = |s: &Staff| {
        (
            format!("sign-off {}", event.id).into_bytes(),
            s.sign(b"sign-off"),
        )
    };
    assert_eq!(
        sign_off_variance(db, r, event.id, t.id, true, signed(t), 510).await,
        Err(StoreError::Ledger(LedgerError::SelfApproval))
    );
    assert!(
        sign_off_variance(db, r, event.id, b.manager.id, true, signed(&b.manager), 510)
            .await
            .is_ok()
    );
    assert!(matches!(
        sign_off_variance(db, r, event.id, b.manager.id, true, signed(&b.manager), 511).await,
        Err(StoreError::Drawer(_))
    ));
}

on_every_backend!(teller_day, super::story);

/// Proves UPDATE and DELETE on the financial and audit tables are refused by trigger,
/// and the rows stay as they were.
async fn append_only<B: Backend + Raw>(store: &B) {
    let b = bank(store).await;
    seed_rows(store, &b).await;
    for sql in AUDIT_ROWS {
        store.exec(sql).await;
    }
    for sql in APPEND_ONLY_STATEMENTS {
        let err = store.run(sql, &[]).await;
        assert_eq!(err.err(), Some(StoreError::AppendOnly), "{sql}");
    }
    assert_rows_intact(store).await;
    assert_eq!(count_rows(store).await, vec![1; 6]);
}

on_every_backend!(append_only, super::append_only);

const APPEND_ONLY_STATEMENTS: &[&str] = &[
    "UPDATE transfers SET amount_minor = amount_minor + 1",
    "DELETE FROM transfers",
    "UPDATE approvals SET decision = 'post'",
    "DELETE FROM approvals",
    "UPDATE drawer_events SET counted_minor = 0",
    "DELETE FROM drawer_events",
    "UPDATE certificates SET role = 'manager'",
    "DELETE FROM certificates",
    "UPDATE revocations SET reason = 'superseded'",
    "DELETE FROM revocations",
    "UPDATE crls SET crl_number = 0",
    "DELETE FROM crls",
    "UPDATE accountability_events SET kind = 'nothing'",
    "DELETE FROM accountability_events",
    "UPDATE checkpoints SET tree_size = 0",
    "DELETE FROM checkpoints",
    "UPDATE log_entries SET log_index = log_index + 1",
    "DELETE FROM log_entries",
];

/// One row in each append-only table that the ledger flows do not write yet, in SQL
/// both backends accept (hex literals for the 32-byte hashes).
const AUDIT_ROWS: &[&str] = &[
    "INSERT INTO certificates (fingerprint, der, serial, role, not_before, not_after, created_at) \
     VALUES (X'0101010101010101010101010101010101010101010101010101010101010101', X'30', X'01', 'teller', 0, 1, 0)",
    "INSERT INTO revocations (certificate_fingerprint, reason, revoked_at, crl_number, revoked_by, signed_bytes, signature, signer_fingerprint) \
     VALUES (X'0101010101010101010101010101010101010101010101010101010101010101', 'keyCompromise', 1, 1, 1, X'00', X'00', X'0202020202020202020202020202020202020202020202020202020202020202')",
    "INSERT INTO crls (issuer_fingerprint, crl_number, fingerprint, der, this_update, next_update, created_at) \
     VALUES (X'0303030303030303030303030303030303030303030303030303030303030303', 1, X'0404040404040404040404040404040404040404040404040404040404040404', X'30', 0, 1, 0)",
    "INSERT INTO accountability_events (certificate_fingerprint, seq, prev_hash, event_hash, kind, payload, created_at, signature) \
     VALUES (X'0101010101010101010101010101010101010101010101010101010101010101', 0, X'0000000000000000000000000000000000000000000000000000000000000000', X'0505050505050505050505050505050505050505050505050505050505050505', 'login', X'00', 0, X'00')",
    "INSERT INTO checkpoints (tree_size, root_hash, created_at, signed_bytes, signature, signer_fingerprint) \
     VALUES (1, X'0606060606060606060606060606060606060606060606060606060606060606', 0, X'00', X'00', X'0202020202020202020202020202020202020202020202020202020202020202')",
    "INSERT INTO log_entries (log_index, event_id) SELECT 0, id FROM accountability_events",
];

async fn seed_rows<B: Backend>(db: &B, b: &Bank) {
    let r = RetryPolicy::default();
    let p = Policy {
        approval_threshold_minor: 100,
        pending_ttl_secs: 10,
    };
    let float = b.teller.transfer(
        "f",
        TransferKind::DrawerOpen,
        b.drawer,
        b.vault,
        minor(50, EUR),
        1,
    );
    open_drawer(
        db,
        &r,
        &drawer_event(b, DrawerEventKind::Open, 50, "o"),
        &float,
        &p,
        1,
    )
    .await
    .unwrap();
    let big = b.teller.transfer(
        "big",
        TransferKind::Deposit,
        b.drawer,
        b.bob,
        minor(500, EUR),
        1,
    );
    post_transfer(db, &r, &big, &p, 1).await.unwrap();
    expire_pending(db, &r, 100).await.unwrap();
}

/// Counts the rows of every append-only table: one each for the audit tables.
async fn count_rows<B: Raw>(store: &B) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "certificates",
        "revocations",
        "crls",
        "accountability_events",
        "checkpoints",
        "log_entries",
    ] {
        out.push(store.count(table).await);
    }
    out
}

async fn assert_rows_intact<B: Backend>(db: &B) {
    let transfers = db.transfers().await.unwrap();
    assert_eq!(transfers.len(), 2);
    assert_eq!(transfers[1].status, TransferStatus::Expired);
    assert_eq!(transfers[1].request.amount.minor(), 500);
}

/// Proves two managers approving the same pending transfer at the same moment: exactly
/// one resolution is written, the other is told it is no longer pending, and the
/// amount moves once.
async fn racing_approvals<B: Backend + Clone + 'static>(db: &B) {
    let b = bank(db).await;
    let other = staff(db, "M-2", "manager", 3).await;
    let r = RetryPolicy::default();
    let p = Policy {
        approval_threshold_minor: 100,
        pending_ttl_secs: 3_600,
    };
    let big = b.teller.transfer(
        "race",
        TransferKind::Deposit,
        b.drawer,
        b.bob,
        minor(10_000, EUR),
        1,
    );
    let pending = post_transfer(db, &r, &big, &p, 1).await.unwrap();
    let tasks: Vec<_> = [b.manager.clone(), other]
        .into_iter()
        .map(|m| {
            let db = db.clone();
            let request = ApprovalRequest {
                transfer_id: pending.id,
                transfer_hash: big.request.request_hash(),
                approver: m.id,
                approver_is_manager: true,
                decision: Resolution::Post,
                created_at: 2,
            };
            let approval = SignedApproval {
                signed: m.sign(&request.canonical_bytes()),
                request,
            };
            tokio::spawn(async move {
                resolve_pending(&db, &RetryPolicy::default(), &approval, 2).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    results.sort_by_key(|r| r.is_err());
    assert_eq!(
        results,
        vec![
            Ok(TransferStatus::Posted),
            Err(StoreError::Ledger(LedgerError::NotPending))
        ]
    );
    assert_eq!(balance(db, b.bob).await, 10_000);
    assert!(check_invariants(db).await.unwrap().is_sound());
}

on_every_backend!(racing_approvals, super::racing_approvals);
