//! The service's rows as the wire bodies of `pqbank_api::wire`: one mapping, used by
//! pqbank-server's routes and by [`crate::InProcess`], so both transports answer alike.

use pqbank_api::wire::{
    AccountView, CheckpointAnswer, CustomerHit, DrawerAnswer, DrawerEventView, PendingItem,
    ProblemView, SearchAnswer, VerifyAnswer,
};
use pqbank_db::{AccountRow, CheckpointRecord, CustomerRow, DrawerEventRow, TransferRow};

use crate::{DrawerState, LogReport};

/// An account.
#[must_use]
pub fn account(a: &AccountRow) -> AccountView {
    AccountView {
        id: a.id,
        number: a.number.clone(),
        kind: a.kind,
        currency: a.currency,
        balances: a.balances,
        floor_minor: a.floor_minor,
        closed: a.closed,
    }
}

/// Customers found, with their accounts.
#[must_use]
pub fn search(found: Vec<(CustomerRow, Vec<AccountRow>)>) -> SearchAnswer {
    SearchAnswer {
        customers: found
            .into_iter()
            .map(|(c, accounts)| CustomerHit {
                id: c.id,
                number: c.number,
                full_name: c.full_name,
                accounts: accounts.iter().map(account).collect(),
            })
            .collect(),
    }
}

/// A teller's drawer.
#[must_use]
pub fn drawer(state: &DrawerState) -> DrawerAnswer {
    DrawerAnswer {
        drawer: state.drawer.as_ref().map(account),
        open: state.open,
        vault: state.vault.as_ref().map(account),
        variance: state.variance.as_ref().map(account),
    }
}

/// A drawer event.
#[must_use]
pub fn drawer_event(e: DrawerEventRow) -> DrawerEventView {
    DrawerEventView {
        id: e.id,
        drawer: e.drawer,
        teller: e.teller,
        kind: e.kind,
        idempotency_key: e.idempotency_key,
        counted_minor: e.counted_minor,
        expected_minor: e.expected_minor,
        variance_minor: e.variance_minor,
        created_at: e.created_at,
    }
}

/// A transfer waiting for a manager.
#[must_use]
pub fn pending(t: TransferRow) -> PendingItem {
    PendingItem {
        id: t.id,
        request_hash: hex::encode(t.request_hash),
        transfer: t.request,
        expires_at: t.expires_at,
    }
}

/// A stored checkpoint.
#[must_use]
pub fn checkpoint(c: &CheckpointRecord) -> CheckpointAnswer {
    CheckpointAnswer {
        tree_size: u64::try_from(c.tree_size).unwrap_or(0),
        root: hex::encode(c.root),
        created_at: c.created_at,
        signer: hex::encode(c.signer),
    }
}

/// A verification's findings.
#[must_use]
pub fn verify(report: LogReport) -> VerifyAnswer {
    VerifyAnswer {
        transfers: report.transfers as u64,
        events: report.events as u64,
        problems: report
            .problems
            .into_iter()
            .map(|p| ProblemView {
                table: p.table.to_owned(),
                row: p.row,
                reason: p.reason,
            })
            .collect(),
    }
}
