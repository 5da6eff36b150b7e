//! The ledger rules over an in-memory book: the model the property tests drive, and the
//! reference the storage backends are compared with.

use std::collections::BTreeMap;

use crate::{
    AccountState, Currency, Decision, LedgerError, Policy, Resolution, Side, TransferRequest,
    TransferStatus, check_approver, decide, resolve,
};

/// A transfer as the book keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The request.
    pub request: TransferRequest,
    /// Where it stands.
    pub status: TransferStatus,
    /// Expiry of a pending transfer.
    pub expires_at: Option<i64>,
}

/// Accounts and transfers in memory.
#[derive(Debug, Clone, Default)]
pub struct Book {
    accounts: BTreeMap<i64, AccountState>,
    transfers: Vec<Entry>,
    keys: BTreeMap<(i64, String), usize>,
}

impl Book {
    /// Adds an account.
    pub fn open_account(&mut self, account: AccountState) {
        self.accounts.insert(account.id, account);
    }

    /// An account.
    #[must_use]
    pub fn account(&self, id: i64) -> Option<&AccountState> {
        self.accounts.get(&id)
    }

    /// Every transfer, in order.
    #[must_use]
    pub fn transfers(&self) -> &[Entry] {
        &self.transfers
    }

    /// Posts or reserves a transfer; a retry with the same key and content returns the
    /// first result, the same key with other content is refused.
    pub fn transfer(
        &mut self,
        request: &TransferRequest,
        policy: &Policy,
        now: i64,
    ) -> Result<(usize, TransferStatus), LedgerError> {
        let key = (request.maker, request.idempotency_key.clone());
        if let Some(&index) = self.keys.get(&key) {
            let first = &self.transfers[index];
            if first.request.request_hash() != request.request_hash() {
                return Err(LedgerError::InvalidRequest(
                    "idempotency key reused with other content",
                ));
            }
            return Ok((index, first.status));
        }
        let (debit, credit) = self.pair(request.debit, request.credit)?;
        let Decision {
            status,
            expires_at,
            debit_after,
            credit_after,
        } = decide(request, debit, credit, policy, now)?;
        self.set_balances(request.debit, request.credit, debit_after, credit_after);
        self.transfers.push(Entry {
            request: request.clone(),
            status,
            expires_at,
        });
        let index = self.transfers.len() - 1;
        self.keys.insert(key, index);
        Ok((index, status))
    }

    /// A manager posts or voids a pending transfer.
    pub fn approve(
        &mut self,
        index: usize,
        approver: i64,
        approver_is_manager: bool,
        post: bool,
        now: i64,
    ) -> Result<(), LedgerError> {
        let entry = self.transfers.get(index).ok_or(LedgerError::NotPending)?;
        check_approver(entry.request.maker, approver, approver_is_manager)?;
        if entry.status != TransferStatus::Pending {
            return Err(LedgerError::NotPending);
        }
        if entry.expires_at.is_some_and(|at| now > at) {
            self.settle(index, Resolution::Expire)?;
            return Err(LedgerError::Expired);
        }
        self.settle(
            index,
            if post {
                Resolution::Post
            } else {
                Resolution::Void
            },
        )
    }

    /// Expires every pending transfer whose time has run out; returns how many.
    pub fn expire(&mut self, now: i64) -> Result<usize, LedgerError> {
        let due: Vec<usize> = (0..self.transfers.len())
            .filter(|i| {
                let e = &self.transfers[*i];
                e.status == TransferStatus::Pending && e.expires_at.is_some_and(|at| now > at)
            })
            .collect();
        for index in &due {
            self.settle(*index, Resolution::Expire)?;
        }
        Ok(due.len())
    }

    fn settle(&mut self, index: usize, resolution: Resolution) -> Result<(), LedgerError> {
        let request = self.transfers[index].request.clone();
        let (debit, credit) = self.pair(request.debit, request.credit)?;
        let (d, c) = resolve(
            resolution,
            request.amount.minor(),
            &debit.balances,
            &credit.balances,
        )?;
        self.set_balances(request.debit, request.credit, d, c);
        self.transfers[index].status = resolution.status();
        Ok(())
    }

    fn pair(&self, debit: i64, credit: i64) -> Result<(&AccountState, &AccountState), LedgerError> {
        let missing = LedgerError::InvalidRequest("no such account");
        Ok((
            self.accounts.get(&debit).ok_or(missing.clone())?,
            self.accounts.get(&credit).ok_or(missing)?,
        ))
    }

    fn set_balances(&mut self, debit: i64, credit: i64, d: crate::Balances, c: crate::Balances) {
        if let Some(a) = self.accounts.get_mut(&debit) {
            a.balances = d;
        }
        if let Some(a) = self.accounts.get_mut(&credit) {
            a.balances = c;
        }
    }

    /// Per currency, total debits minus total credits, posted and pending: both zero in a
    /// balanced book.
    #[must_use]
    pub fn imbalance(&self) -> BTreeMap<Currency, (i128, i128)> {
        let mut out: BTreeMap<Currency, (i128, i128)> = BTreeMap::new();
        for a in self.accounts.values() {
            let e = out.entry(a.currency).or_default();
            e.0 += i128::from(a.balances.debits_posted) - i128::from(a.balances.credits_posted);
            e.1 += i128::from(a.balances.debits_pending) - i128::from(a.balances.credits_pending);
        }
        out
    }

    /// Accounts whose available balance is below their floor.
    #[must_use]
    pub fn below_floor(&self) -> Vec<i64> {
        self.accounts
            .values()
            .filter(|a| {
                let normal = a.kind.normal_side();
                a.floor
                    .is_some_and(|f| a.balances.available(normal) < i128::from(f))
            })
            .map(|a| a.id)
            .collect()
    }

    /// Recomputes every account's totals from the transfers: the journal.
    #[must_use]
    pub fn recomputed(&self) -> BTreeMap<i64, crate::Balances> {
        let mut out: BTreeMap<i64, crate::Balances> = self
            .accounts
            .keys()
            .map(|k| (*k, crate::Balances::default()))
            .collect();
        for e in &self.transfers {
            let amount = e.request.amount.minor();
            let (d, c) = (e.request.debit, e.request.credit);
            let apply =
                |out: &mut BTreeMap<i64, crate::Balances>, id: i64, side: Side, pending: bool| {
                    let b = out.entry(id).or_default();
                    let slot = match (side, pending) {
                        (Side::Debit, false) => &mut b.debits_posted,
                        (Side::Credit, false) => &mut b.credits_posted,
                        (Side::Debit, true) => &mut b.debits_pending,
                        (Side::Credit, true) => &mut b.credits_pending,
                    };
                    *slot += amount;
                };
            match e.status {
                TransferStatus::Posted => {
                    apply(&mut out, d, Side::Debit, false);
                    apply(&mut out, c, Side::Credit, false);
                }
                TransferStatus::Pending => {
                    apply(&mut out, d, Side::Debit, true);
                    apply(&mut out, c, Side::Credit, true);
                }
                TransferStatus::Voided | TransferStatus::Expired => {}
            }
        }
        out
    }
}
