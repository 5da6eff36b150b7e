//! Many tellers at once: 16 workers x 500 random transfers on MariaDB (4 workers on
//! SQLite), including retries of earlier idempotency keys, reuse of a key with other
//! content, transfers that must fail for insufficient funds and across currencies, and
//! large transfers that wait for approval. Afterwards: money per currency is conserved,
//! no balance is below its floor, the cached balances equal the journal, and every
//! accepted idempotency key appears exactly once.

use std::collections::BTreeMap;
use std::sync::Arc;

use pqbank_db::flows::{check_invariants, open_drawer, post_transfer, resolve_pending};
use pqbank_db::{
    ApprovalRequest, Backend, DrawerEventKind, DrawerEventRequest, RetryPolicy, SignedApproval,
    SignedDrawerEvent, SignedTransfer, StoreError,
};
use pqbank_ledger::{
    AccountKind, Currency, LedgerError, Policy, Resolution, TransferKind, TransferStatus,
};
use pqbank_tests::{Staff, account, customer, minor, on_every_backend, staff};

const OPS_PER_WORKER: usize = 500;
const EUR_CUSTOMERS: usize = 12;
const USD_CUSTOMERS: usize = 4;
const POLICY: Policy = Policy {
    approval_threshold_minor: 45_000,
    pending_ttl_secs: 86_400,
};

/// A small deterministic generator (xorshift64*), one per worker.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick(&mut self, items: &[i64]) -> i64 {
        items[self.below(items.len() as u64) as usize]
    }
}

struct Branch {
    tellers: Vec<(Staff, i64)>,
    manager: Staff,
    eur: Vec<i64>,
    usd: Vec<i64>,
}

async fn branch<B: Backend>(db: &B, workers: usize) -> Branch {
    let manager = staff(db, "M-1", "manager", 200).await;
    let vault = account(
        db,
        "VAULT-EUR",
        None,
        AccountKind::BankInternal,
        Currency::EUR,
        None,
    )
    .await;
    let vault_usd = account(
        db,
        "VAULT-USD",
        None,
        AccountKind::BankInternal,
        Currency::USD,
        None,
    )
    .await;
    let variance = account(
        db,
        "VAR-EUR",
        None,
        AccountKind::BankInternal,
        Currency::EUR,
        None,
    )
    .await;
    let mut tellers = Vec::new();
    for w in 0..workers {
        let t = staff(db, &format!("T-{w}"), "teller", w as u8 + 1).await;
        let drawer = account(
            db,
            &format!("DRAWER-{w}"),
            None,
            AccountKind::CashDrawer,
            Currency::EUR,
            Some(0),
        )
        .await;
        open(db, &t, drawer, vault, variance, 5_000_000, "open").await;
        tellers.push((t, drawer));
    }
    let usd_drawer = account(
        db,
        "DRAWER-USD",
        None,
        AccountKind::CashDrawer,
        Currency::USD,
        Some(0),
    )
    .await;
    open(
        db,
        &tellers[0].0,
        usd_drawer,
        vault_usd,
        variance,
        1_000_000,
        "open-usd",
    )
    .await;
    let mut eur = Vec::new();
    let mut usd = Vec::new();
    for c in 0..EUR_CUSTOMERS + USD_CUSTOMERS {
        let owner = customer(db, &format!("C-{c}"), &format!("Customer {c}")).await;
        let (currency, list, drawer) = if c < EUR_CUSTOMERS {
            (Currency::EUR, &mut eur, tellers[0].1)
        } else {
            (Currency::USD, &mut usd, usd_drawer)
        };
        let floor = if c % 2 == 0 { Some(0) } else { Some(-5_000) };
        let id = account(
            db,
            &format!("ACC-{c}"),
            Some(owner),
            AccountKind::Customer,
            currency,
            floor,
        )
        .await;
        let seed = tellers[0].0.transfer(
            &format!("seed-{c}"),
            TransferKind::Deposit,
            drawer,
            id,
            minor(40_000, currency),
            1,
        );
        post_transfer(db, &RetryPolicy::default(), &seed, &POLICY, 1)
            .await
            .unwrap();
        list.push(id);
    }
    Branch {
        tellers,
        manager,
        eur,
        usd,
    }
}

async fn open<B: Backend>(
    db: &B,
    t: &Staff,
    drawer: i64,
    vault: i64,
    variance: i64,
    float: i64,
    key: &str,
) {
    let currency = db.account(drawer).await.unwrap().unwrap().currency;
    let request = DrawerEventRequest {
        teller: t.id,
        drawer,
        vault,
        variance_account: variance,
        kind: DrawerEventKind::Open,
        counted_minor: float,
        idempotency_key: key.into(),
        created_at: 1,
    };
    let event = SignedDrawerEvent {
        signed: t.sign(&request.canonical_bytes()),
        request,
    };
    let transfer = t.transfer(
        &format!("{key}-float"),
        TransferKind::DrawerOpen,
        drawer,
        vault,
        minor(float, currency),
        1,
    );
    open_drawer(db, &RetryPolicy::default(), &event, &transfer, &POLICY, 1)
        .await
        .unwrap();
}

/// What one worker saw.
#[derive(Default)]
struct Tally {
    accepted: BTreeMap<(i64, String), i64>,
    pending: Vec<(i64, [u8; 32])>,
    refused: usize,
    busy: usize,
}

/// One teller submitting `OPS_PER_WORKER` random operations.
async fn worker<B: Backend>(db: Arc<B>, branch: Arc<Branch>, w: usize) -> Tally {
    let (teller, drawer) = branch.tellers[w].clone();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (w as u64 + 1));
    let retry = RetryPolicy::default();
    let mut sent: Vec<SignedTransfer> = Vec::new();
    let mut tally = Tally::default();
    for n in 0..OPS_PER_WORKER {
        let key = format!("w{w}-{n}");
        let roll = rng.below(100);
        let eur = |rng: &mut Rng| rng.pick(&branch.eur);
        let transfer = match roll {
            0..30 => {
                let (a, b) = distinct(&mut rng, &branch.eur);
                teller.transfer(
                    &key,
                    TransferKind::Transfer,
                    a,
                    b,
                    minor(1 + rng.below(30_000) as i64, Currency::EUR),
                    10,
                )
            }
            30..48 => teller.transfer(
                &key,
                TransferKind::Deposit,
                drawer,
                eur(&mut rng),
                minor(1 + rng.below(50_000) as i64, Currency::EUR),
                10,
            ),
            48..66 => teller.transfer(
                &key,
                TransferKind::Withdrawal,
                eur(&mut rng),
                drawer,
                minor(1 + rng.below(50_000) as i64, Currency::EUR),
                10,
            ),
            66..76 => {
                let (a, b) = distinct(&mut rng, &branch.usd);
                teller.transfer(
                    &key,
                    TransferKind::Transfer,
                    a,
                    b,
                    minor(1 + rng.below(20_000) as i64, Currency::USD),
                    10,
                )
            }
            76..88 if !sent.is_empty() => sent[rng.below(sent.len() as u64) as usize].clone(),
            88..92 if !sent.is_empty() => {
                // Same key, other content: must be refused if the first was accepted.
                let mut other = sent[rng.below(sent.len() as u64) as usize].clone();
                other.request.memo.push_str(" (changed)");
                other
            }
            92..96 => teller.transfer(
                &key,
                TransferKind::Withdrawal,
                eur(&mut rng),
                drawer,
                minor(1_000_000_000_000, Currency::EUR),
                10,
            ),
            _ => teller.transfer(
                &key,
                TransferKind::Transfer,
                eur(&mut rng),
                rng.pick(&branch.usd),
                minor(100, Currency::EUR),
                10,
            ),
        };
        let id = (
            transfer.request.maker,
            transfer.request.idempotency_key.clone(),
        );
        match post_transfer(&*db, &retry, &transfer, &POLICY, 10).await {
            Ok(outcome) => {
                if let Some(first) = tally.accepted.get(&id) {
                    assert!(
                        outcome.replayed && outcome.id == *first,
                        "a retry was applied again"
                    );
                } else {
                    tally.accepted.insert(id, outcome.id);
                    if outcome.status == TransferStatus::Pending {
                        tally
                            .pending
                            .push((outcome.id, transfer.request.request_hash()));
                    }
                }
                sent.push(transfer);
            }
            Err(StoreError::IdempotencyConflict) => {
                assert!(
                    tally.accepted.contains_key(&id),
                    "conflict on a key never accepted"
                );
                tally.refused += 1;
            }
            Err(StoreError::Ledger(
                LedgerError::InsufficientFunds { .. } | LedgerError::CurrencyMismatch,
            )) => {
                assert!(
                    !tally.accepted.contains_key(&id) || roll >= 88,
                    "refused a retry of an accepted transfer"
                );
                tally.refused += 1;
            }
            Err(StoreError::Busy { .. }) => tally.busy += 1,
            Err(e) => panic!("worker {w} op {n}: {e}"),
        }
    }
    tally
}

fn distinct(rng: &mut Rng, items: &[i64]) -> (i64, i64) {
    let a = rng.below(items.len() as u64) as usize;
    let b = (a + 1 + rng.below(items.len() as u64 - 1) as usize) % items.len();
    (items[a], items[b])
}

async fn run<B: Backend + 'static>(db: B, workers: usize) {
    let db = Arc::new(db);
    let branch = Arc::new(branch(&*db, workers).await);
    let handles: Vec<_> = (0..workers)
        .map(|w| tokio::spawn(worker(db.clone(), branch.clone(), w)))
        .collect();
    let mut tallies = Vec::new();
    for h in handles {
        tallies.push(h.await.unwrap());
    }
    // A manager resolves every pending transfer: post the even ones, void the odd.
    let retry = RetryPolicy::default();
    for (i, (id, hash)) in tallies.iter().flat_map(|t| t.pending.iter()).enumerate() {
        let request = ApprovalRequest {
            transfer_id: *id,
            transfer_hash: *hash,
            approver: branch.manager.id,
            approver_is_manager: true,
            decision: if i % 2 == 0 {
                Resolution::Post
            } else {
                Resolution::Void
            },
            created_at: 20,
        };
        let signed = SignedApproval {
            signed: branch.manager.sign(&request.canonical_bytes()),
            request,
        };
        resolve_pending(&*db, &retry, &signed, 20).await.unwrap();
    }

    let report = check_invariants(&*db).await.unwrap();
    assert!(report.is_sound(), "{report:?}");
    assert_eq!(
        db.duplicate_keys().await.unwrap(),
        0,
        "an idempotency key was applied twice"
    );
    let rows = db.transfers().await.unwrap();
    let stored: BTreeMap<(i64, String), i64> = rows
        .iter()
        .map(|r| ((r.request.maker, r.request.idempotency_key.clone()), r.id))
        .collect();
    let mut accepted = 0;
    for tally in &tallies {
        for (key, id) in &tally.accepted {
            assert_eq!(
                stored.get(key),
                Some(id),
                "accepted key {key:?} is not stored exactly once"
            );
            accepted += 1;
        }
    }
    let setup = workers + 1 + EUR_CUSTOMERS + USD_CUSTOMERS;
    assert_eq!(
        rows.len(),
        accepted + setup,
        "a transfer was stored that no worker saw accepted"
    );
    let refused: usize = tallies.iter().map(|t| t.refused).sum();
    let busy: usize = tallies.iter().map(|t| t.busy).sum();
    let pending: usize = tallies.iter().map(|t| t.pending.len()).sum();
    assert!(
        refused > 0 && pending > 0,
        "the mix must include refusals and pending transfers"
    );
    // Busy is allowed by design (reported, nothing applied), but must stay rare.
    assert!(
        busy * 100 <= workers * OPS_PER_WORKER,
        "{busy} operations stayed busy after retries"
    );
    println!(
        "{workers} workers x {OPS_PER_WORKER}: {accepted} accepted ({pending} pending, resolved), {refused} refused, {busy} busy after retries; invariants hold"
    );
}

/// Tellers at once: 16 on MariaDB; 4 on SQLite, whose writers queue for the one file
/// lock, so more would only make the run longer without new interleavings.
fn tellers(backend: &str) -> usize {
    if backend == "sqlite" { 4 } else { 16 }
}

on_every_backend!(many_tellers, threads = 4, |db| run(
    db.store.clone(),
    tellers(db.backend())
));
