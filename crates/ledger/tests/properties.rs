//! Property tests: any sequence of deposits, withdrawals, transfers, approvals, voids,
//! expiries and retries keeps the ledger's invariants: money per currency is conserved,
//! no account is below its floor, the cached totals equal the journal, and each
//! idempotency key is applied at most once.

use pqbank_ledger::{
    AccountKind, AccountState, Amount, Balances, Book, Currency, Policy, TransferKind,
    TransferRequest, TransferStatus,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Transfer {
        kind: usize,
        from: usize,
        to: usize,
        amount: i64,
        maker: i64,
        key: u8,
    },
    Approve {
        index: usize,
        approver: i64,
        manager: bool,
        post: bool,
    },
    Expire,
    Tick(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..3, 0usize..2, any::<bool>(), 1i64..3_000, 1i64..4, any::<u8>())
            .prop_map(|(kind, currency, swap, amount, maker, key)| {
                // Accounts that fit the kind: drawer (base), customers (base + 1, base + 2).
                let base = currency * 3;
                let (from, to) = match (kind, swap) {
                    (0, _) => (base, base + 1 + usize::from(swap)),
                    (1, _) => (base + 1 + usize::from(swap), base),
                    (_, false) => (base + 1, base + 2),
                    (_, true) => (base + 2, base + 1),
                };
                Op::Transfer { kind, from, to, amount, maker, key }
            }),
        1 => (0usize..3, 0usize..6, 0usize..6, 1i64..3_000, 1i64..4, any::<u8>())
            .prop_map(|(kind, from, to, amount, maker, key)| Op::Transfer { kind, from, to, amount, maker, key }),
        2 => (0usize..64, 1i64..5, any::<bool>(), any::<bool>())
            .prop_map(|(index, approver, manager, post)| Op::Approve { index, approver, manager, post }),
        1 => Just(Op::Expire),
        1 => (0i64..200).prop_map(Op::Tick),
    ]
}

/// Two customers and a drawer per currency; EUR accounts are 1..=3, JPY 4..=6.
fn book() -> Book {
    let mut book = Book::default();
    for (base, currency) in [(1, Currency::EUR), (4, Currency::JPY)] {
        book.open_account(account(base, AccountKind::CashDrawer, currency, Some(0)));
        book.open_account(account(
            base + 1,
            AccountKind::Customer,
            currency,
            Some(-500),
        ));
        book.open_account(account(base + 2, AccountKind::Customer, currency, Some(0)));
    }
    book
}

fn account(id: i64, kind: AccountKind, currency: Currency, floor: Option<i64>) -> AccountState {
    AccountState {
        id,
        kind,
        currency,
        floor,
        closed: false,
        balances: Balances::default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Proves the invariants hold after every step of any sequence of operations.
    #[test]
    fn invariants_hold(ops in proptest::collection::vec(op(), 1..120)) {
        let mut book = book();
        let policy = Policy { approval_threshold_minor: 1_500, pending_ttl_secs: 100 };
        let mut now = 0i64;
        for op in ops {
            match op {
                Op::Transfer { kind, from, to, amount, maker, key } => {
                    let kind = [TransferKind::Deposit, TransferKind::Withdrawal, TransferKind::Transfer][kind];
                    let currency = if from < 3 { Currency::EUR } else { Currency::JPY };
                    let request = TransferRequest {
                        maker,
                        idempotency_key: format!("k{}", key % 16),
                        kind,
                        debit: from as i64 + 1,
                        credit: to as i64 + 1,
                        amount: Amount::from_minor(amount, currency).map_err(|e| TestCaseError::fail(e.to_string()))?,
                        memo: String::new(),
                        created_at: now,
                    };
                    let before = book.clone();
                    let first = book
                        .transfers()
                        .iter()
                        .position(|e| e.request.maker == request.maker && e.request.idempotency_key == request.idempotency_key);
                    match (book.transfer(&request, &policy, now), first) {
                        // A retry of an accepted key returns the first result and changes nothing.
                        (Ok((index, _)), Some(i)) => {
                            prop_assert_eq!(index, i);
                            prop_assert_eq!(book.transfers(), before.transfers());
                        }
                        (Ok((index, _)), None) => prop_assert_eq!(index, before.transfers().len()),
                        // A refusal changes nothing at all.
                        (Err(_), _) => {
                            prop_assert_eq!(book.transfers(), before.transfers());
                            for id in 1..=6 {
                                prop_assert_eq!(book.account(id), before.account(id));
                            }
                        }
                    }
                }
                Op::Approve { index, approver, manager, post } => {
                    let _ = book.approve(index, approver, manager, post, now);
                }
                Op::Expire => { let _ = book.expire(now); }
                Op::Tick(secs) => now += secs,
            }
            for (currency, (posted, pending)) in book.imbalance() {
                prop_assert_eq!((posted, pending), (0, 0), "{} unbalanced", currency);
            }
            prop_assert!(book.below_floor().is_empty(), "below floor: {:?}", book.below_floor());
            for (id, totals) in book.recomputed() {
                prop_assert_eq!(Some(&totals), book.account(id).map(|a| &a.balances));
            }
            let mut keys: Vec<(i64, &str)> = book.transfers().iter().map(|e| (e.request.maker, e.request.idempotency_key.as_str())).collect();
            let n = keys.len();
            keys.sort_unstable();
            keys.dedup();
            prop_assert_eq!(keys.len(), n, "an idempotency key was applied twice");
        }
    }

    /// Proves the maker can never approve, and only managers can.
    #[test]
    fn four_eyes(maker in 1i64..5, approver in 1i64..5, manager in any::<bool>()) {
        let mut book = book();
        let policy = Policy { approval_threshold_minor: 10, pending_ttl_secs: 100 };
        let request = TransferRequest {
            maker, idempotency_key: "k".into(), kind: TransferKind::Deposit, debit: 1, credit: 2,
            amount: Amount::from_minor(50, Currency::EUR).map_err(|e| TestCaseError::fail(e.to_string()))?,
            memo: String::new(), created_at: 0,
        };
        let (index, status) = book.transfer(&request, &policy, 0).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(status, TransferStatus::Pending);
        let result = book.approve(index, approver, manager, true, 1);
        prop_assert_eq!(result.is_ok(), maker != approver && manager);
    }
}
