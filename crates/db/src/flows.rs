//! The ledger flows, written once over [`Backend`]: each runs in one transaction that
//! locks every account it touches up front in ascending id order, applies the pure
//! rules, writes, and commits; a transient conflict retries the whole transaction.

use core::future::Future;
use std::collections::BTreeMap;

use pqbank_ledger::{
    Balances, Policy, Resolution, TransferKind, TransferStatus, check_approver, decide, resolve,
};

use crate::{
    AccountRow, Backend, DrawerEventKind, DrawerEventRow, InvariantReport, LedgerTx,
    NewApprovalRow, NewTransferRow, Result, RetryPolicy, SignedApproval, SignedBy,
    SignedDrawerEvent, SignedTransfer, StoreError, TransferOutcome,
};

/// Runs `attempt` until it succeeds, fails for good, or the retries run out.
pub async fn with_retry<T, F, Fut>(retry: &RetryPolicy, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    for n in 1..=retry.attempts_max {
        match attempt().await {
            Err(StoreError::Transient(_)) if n < retry.attempts_max => {
                tokio::time::sleep(retry.backoff(n + 1)).await;
            }
            Err(StoreError::Transient(_)) => break,
            other => return other,
        }
    }
    Err(StoreError::Busy {
        attempts: retry.attempts_max,
    })
}

/// The accountability event an act writes in its own transaction: on the acting
/// certificate's chain, signed by the acting device.
pub struct Act<'a> {
    /// Fingerprint of the acting certificate.
    pub certificate: [u8; 32],
    /// Event kind, e.g. "transfer.post".
    pub kind: &'a str,
    /// Signs the event hash with the device key.
    pub sign: crate::Signer<'a>,
}

/// Posts a transfer, or reserves it pending approval; a retry with the same key and
/// content returns the first result.
pub async fn post_transfer<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    transfer: &SignedTransfer,
    policy: &Policy,
    now: i64,
) -> Result<TransferOutcome> {
    post_transfer_logged(db, retry, transfer, policy, now, None).await
}

/// [`post_transfer`], with the act's accountability event (payload: the transfer's
/// canonical bytes then its id) committed in the same transaction. A retry that returns
/// the first result writes no second event.
pub async fn post_transfer_logged<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    transfer: &SignedTransfer,
    policy: &Policy,
    now: i64,
    act: Option<&Act<'_>>,
) -> Result<TransferOutcome> {
    transfer.request.validate()?;
    with_retry(retry, || async {
        let mut tx = db.begin().await?;
        let ids = [transfer.request.debit, transfer.request.credit];
        let mut locked = lock(&mut tx, &ids).await?;
        let outcome = apply_transfer(&mut tx, &mut locked, transfer, policy, now).await?;
        if let Some(act) = act
            && !outcome.replayed
        {
            let payload = [
                transfer.request.canonical_bytes(),
                outcome.id.to_be_bytes().to_vec(),
            ]
            .concat();
            tx.append_event(&act.certificate, act.kind, &payload, now, act.sign)
                .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    })
    .await
}

/// Locks the accounts a flow moves money between; under a seal, refuses (before anything
/// is applied) any whose row and cached totals its seal and the journal do not prove.
async fn lock<T: LedgerTx>(tx: &mut T, ids: &[i64]) -> Result<BTreeMap<i64, AccountRow>> {
    let locked = lock_unproven(tx, ids).await?;
    if let Some(seal) = tx.seal()
        && let Some(row) = locked.values().find(|r| {
            let contents = crate::master::account_row_contents(r);
            !r.cache.holds(seal, r.id, &contents, &r.balances)
        })
    {
        return Err(StoreError::CacheUnproven(row.id));
    }
    Ok(locked)
}

/// Locks `ids` in ascending order and returns them by id, proven or not.
async fn lock_unproven<T: LedgerTx>(tx: &mut T, ids: &[i64]) -> Result<BTreeMap<i64, AccountRow>> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let rows = tx.lock_accounts(&sorted).await?;
    if rows.len() != sorted.len() {
        return Err(StoreError::NotFound("account"));
    }
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// Applies one transfer inside a transaction whose accounts are already locked;
/// `locked` is kept current for further transfers in the same transaction.
async fn apply_transfer<T: LedgerTx>(
    tx: &mut T,
    locked: &mut BTreeMap<i64, AccountRow>,
    transfer: &SignedTransfer,
    policy: &Policy,
    now: i64,
) -> Result<TransferOutcome> {
    let request = &transfer.request;
    let hash = request.request_hash();
    if let Some(first) = tx
        .transfer_by_key(request.maker, &request.idempotency_key)
        .await?
    {
        if first.request_hash != hash {
            return Err(StoreError::IdempotencyConflict);
        }
        return Ok(TransferOutcome {
            id: first.id,
            status: first.status,
            expires_at: first.expires_at,
            replayed: true,
        });
    }
    let debit = locked
        .get(&request.debit)
        .ok_or(StoreError::NotFound("account"))?;
    let credit = locked
        .get(&request.credit)
        .ok_or(StoreError::NotFound("account"))?;
    let decision = decide(request, &debit.state(), &credit.state(), policy, now)?;
    let id = tx
        .insert_transfer(&NewTransferRow {
            transfer,
            signed_bytes: request.canonical_bytes(),
            request_hash: hash,
            status: decision.status,
            expires_at: decision.expires_at,
            recorded_at: now,
        })
        .await?;
    write(tx, locked, request.debit, decision.debit_after, Some(id)).await?;
    write(tx, locked, request.credit, decision.credit_after, Some(id)).await?;
    Ok(TransferOutcome {
        id,
        status: decision.status,
        expires_at: decision.expires_at,
        replayed: false,
    })
}

/// Rewrites a locked account's totals; `applied` is the transfer just applied to it
/// (`None`: a resolution, which keeps the row's newest transfer). Under a seal the row is
/// sealed again for its new totals.
async fn write<T: LedgerTx>(
    tx: &mut T,
    locked: &mut BTreeMap<i64, AccountRow>,
    id: i64,
    balances: Balances,
    applied: Option<i64>,
) -> Result<()> {
    let row = locked.get_mut(&id).ok_or(StoreError::NotFound("account"))?;
    let last = applied.or(row.cache.last_transfer);
    let contents = crate::master::account_row_contents(row);
    let seal = tx.seal().map(|s| s.of(id, &contents, &balances, last));
    tx.write_balances(id, &balances, last, seal).await?;
    row.balances = balances;
    row.cache = crate::CacheProof {
        last_transfer: last,
        seal: seal.map(|s| s.to_vec()),
        journal_last: last,
    };
    Ok(())
}

/// A manager posts or voids a pending transfer (four eyes: never the maker). A
/// transfer past its expiry is expired instead, and [`pqbank_ledger::LedgerError::Expired`]
/// returned.
pub async fn resolve_pending<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    approval: &SignedApproval,
    now: i64,
) -> Result<TransferStatus> {
    resolve_pending_logged(db, retry, approval, now, None).await
}

/// [`resolve_pending`], with the approver's accountability event (payload: the
/// approval's canonical bytes) committed in the same transaction.
pub async fn resolve_pending_logged<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    approval: &SignedApproval,
    now: i64,
    act: Option<&Act<'_>>,
) -> Result<TransferStatus> {
    let request = &approval.request;
    if request.decision == Resolution::Expire {
        return Err(StoreError::Ledger(
            pqbank_ledger::LedgerError::InvalidRequest("expiry is not an approval"),
        ));
    }
    let expired = with_retry(retry, || async {
        let mut tx = db.begin().await?;
        let row = tx
            .transfer(request.transfer_id)
            .await?
            .ok_or(StoreError::NotFound("transfer"))?;
        check_approver(
            row.request.maker,
            request.approver,
            request.approver_is_manager,
        )?;
        if row.request_hash != request.transfer_hash {
            return Err(StoreError::Ledger(
                pqbank_ledger::LedgerError::InvalidRequest(
                    "the approval names another transfer's content",
                ),
            ));
        }
        let mut locked = lock(&mut tx, &[row.request.debit, row.request.credit]).await?;
        // Re-read under the account locks: a concurrent approval may have won.
        let row = tx
            .transfer(request.transfer_id)
            .await?
            .ok_or(StoreError::NotFound("transfer"))?;
        if row.status != TransferStatus::Pending {
            return Err(StoreError::Ledger(pqbank_ledger::LedgerError::NotPending));
        }
        let expired = row.expires_at.is_some_and(|at| now > at);
        let (resolution, signed) = if expired {
            (Resolution::Expire, None)
        } else {
            (
                request.decision,
                Some((request.canonical_bytes(), approval.signed.clone())),
            )
        };
        settle(
            &mut tx,
            &mut locked,
            &row,
            resolution,
            Some(request.approver).filter(|_| !expired),
            signed,
            // A signed approval keeps the time its approver signed (its bytes carry it);
            // an expiry is stamped now.
            if expired { now } else { request.created_at },
        )
        .await?;
        // The approver's act, or, when it came too late, the expiry it found: logged on
        // the approver's chain, so the expiry is signed like any other resolution.
        if let Some(act) = act {
            let (kind, payload) = if expired {
                ("transfer.expire", row.id.to_be_bytes().to_vec())
            } else {
                (act.kind, request.canonical_bytes())
            };
            tx.append_event(&act.certificate, kind, &payload, now, act.sign)
                .await?;
        }
        tx.commit().await?;
        Ok(expired)
    })
    .await?;
    if expired {
        return Err(StoreError::Ledger(pqbank_ledger::LedgerError::Expired));
    }
    Ok(request.decision.status())
}

/// Writes a resolution and moves or releases the reserved amounts.
async fn settle<T: LedgerTx>(
    tx: &mut T,
    locked: &mut BTreeMap<i64, AccountRow>,
    row: &crate::TransferRow,
    resolution: Resolution,
    approver: Option<i64>,
    signed: Option<(Vec<u8>, SignedBy)>,
    now: i64,
) -> Result<()> {
    let (debit, credit) = (row.request.debit, row.request.credit);
    let debit_row = locked.get(&debit).ok_or(StoreError::NotFound("account"))?;
    let credit_row = locked.get(&credit).ok_or(StoreError::NotFound("account"))?;
    let (d, c) = resolve(
        resolution,
        row.request.amount.minor(),
        &debit_row.balances,
        &credit_row.balances,
    )?;
    tx.insert_approval(&NewApprovalRow {
        transfer_id: Some(row.id),
        drawer_event_id: None,
        decision: match resolution {
            Resolution::Post => "post",
            Resolution::Void => "void",
            Resolution::Expire => "expire",
        },
        approver,
        created_at: now,
        signed,
    })
    .await?;
    write(tx, locked, debit, d, None).await?;
    write(tx, locked, credit, c, None).await
}

/// Expires every pending transfer whose time has run out; returns how many.
pub async fn expire_pending<B: Backend>(db: &B, retry: &RetryPolicy, now: i64) -> Result<usize> {
    expire_due(db, retry, now, None).await.map(|ids| ids.len())
}

/// [`expire_pending`], returning the ids of the transfers it expired; with `act`, each
/// expiry is logged (payload: the transfer's id) in the transaction that writes it, so
/// no expiry stands without the signed event log verification matches it to.
pub async fn expire_due<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    now: i64,
    act: Option<&Act<'_>>,
) -> Result<Vec<i64>> {
    let due = db.expired_pending(now).await?;
    let mut expired = Vec::new();
    for id in due {
        let done = with_retry(retry, || async {
            let mut tx = db.begin().await?;
            let Some(row) = tx.transfer(id).await? else {
                return Ok(false);
            };
            let mut locked = lock(&mut tx, &[row.request.debit, row.request.credit]).await?;
            let row = tx
                .transfer(id)
                .await?
                .ok_or(StoreError::NotFound("transfer"))?;
            if row.status != TransferStatus::Pending {
                return Ok(false);
            }
            settle(
                &mut tx,
                &mut locked,
                &row,
                Resolution::Expire,
                None,
                None,
                now,
            )
            .await?;
            if let Some(act) = act {
                tx.append_event(&act.certificate, act.kind, &id.to_be_bytes(), now, act.sign)
                    .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
        .await?;
        if done {
            expired.push(id);
        }
    }
    Ok(expired)
}

/// Opens a drawer: the teller's counted float moves from the vault in the same
/// transaction as the signed open event.
pub async fn open_drawer<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    event: &SignedDrawerEvent,
    float: &SignedTransfer,
    policy: &Policy,
    now: i64,
) -> Result<i64> {
    open_drawer_logged(db, retry, event, float, policy, now, None).await
}

/// [`open_drawer`], with the teller's accountability event (payload: the float
/// transfer's canonical bytes then its id) committed in the same transaction.
pub async fn open_drawer_logged<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    event: &SignedDrawerEvent,
    float: &SignedTransfer,
    policy: &Policy,
    now: i64,
    act: Option<&Act<'_>>,
) -> Result<i64> {
    let e = &event.request;
    let f = &float.request;
    if e.kind != DrawerEventKind::Open
        || f.kind != TransferKind::DrawerOpen
        || f.debit != e.drawer
        || f.credit != e.vault
        || f.amount.minor() != e.counted_minor
        || f.maker != e.teller
    {
        return Err(StoreError::Drawer(
            "the float transfer does not match the counted float",
        ));
    }
    with_retry(retry, || async {
        let mut tx = db.begin().await?;
        let mut locked = lock(&mut tx, &[e.drawer, e.vault]).await?;
        if let Some(last) = tx.last_drawer_event(e.drawer).await? {
            if last.kind == DrawerEventKind::Open
                && last.teller == e.teller
                && last.idempotency_key == e.idempotency_key
            {
                return Ok(last.id);
            }
            if last.kind == DrawerEventKind::Open {
                return Err(StoreError::Drawer("the drawer is already open"));
            }
        }
        let drawer = locked
            .get(&e.drawer)
            .ok_or(StoreError::NotFound("account"))?;
        let pending = drawer.balances.debits_pending != 0 || drawer.balances.credits_pending != 0;
        if drawer.balance() != 0 || pending {
            return Err(StoreError::Drawer("a closed drawer must be empty"));
        }
        let outcome = apply_transfer(&mut tx, &mut locked, float, policy, now).await?;
        if outcome.replayed {
            return Err(StoreError::Drawer("the float transfer was already used"));
        }
        if let Some(act) = act {
            let payload = [f.canonical_bytes(), outcome.id.to_be_bytes().to_vec()].concat();
            tx.append_event(&act.certificate, act.kind, &payload, now, act.sign)
                .await?;
        }
        let id = tx.insert_drawer_event(event, None, now).await?;
        tx.commit().await?;
        Ok(id)
    })
    .await
}

/// Closes a drawer: the counted cash is compared with the drawer's balance; the
/// variance (if any) and the return of the counted cash to the vault are posted with
/// the close event in one transaction. The teller signs both transfers, made from the
/// balance they were shown; if it changed meanwhile, nothing is applied.
pub async fn close_drawer<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    event: &SignedDrawerEvent,
    variance: Option<&SignedTransfer>,
    close: Option<&SignedTransfer>,
    policy: &Policy,
    now: i64,
) -> Result<DrawerEventRow> {
    close_drawer_logged(db, retry, event, variance, close, policy, now, None).await
}

/// [`close_drawer`], with one accountability event per closing transfer (payload: its
/// canonical bytes then its id) committed in the same transaction.
#[allow(
    clippy::too_many_arguments,
    reason = "the close event, both transfers and the act belong together"
)]
pub async fn close_drawer_logged<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    event: &SignedDrawerEvent,
    variance: Option<&SignedTransfer>,
    close: Option<&SignedTransfer>,
    policy: &Policy,
    now: i64,
    act: Option<&Act<'_>>,
) -> Result<DrawerEventRow> {
    let e = &event.request;
    if e.kind != DrawerEventKind::Close || e.counted_minor < 0 {
        return Err(StoreError::Drawer("not a close event"));
    }
    with_retry(retry, || async {
        let mut tx = db.begin().await?;
        let mut locked = lock(&mut tx, &[e.drawer, e.vault, e.variance_account]).await?;
        let last = tx.last_drawer_event(e.drawer).await?;
        match &last {
            Some(l)
                if l.kind == DrawerEventKind::Close
                    && l.teller == e.teller
                    && l.idempotency_key == e.idempotency_key =>
            {
                return Ok(l.clone());
            }
            Some(l) if l.kind == DrawerEventKind::Open && l.teller == e.teller => {}
            Some(l) if l.kind == DrawerEventKind::Open => {
                return Err(StoreError::Drawer(
                    "the drawer was opened by another teller",
                ));
            }
            _ => return Err(StoreError::Drawer("the drawer is not open")),
        }
        let drawer = locked
            .get(&e.drawer)
            .ok_or(StoreError::NotFound("account"))?;
        if drawer.balances.debits_pending != 0 || drawer.balances.credits_pending != 0 {
            return Err(StoreError::Drawer(
                "transfers on this drawer are still pending",
            ));
        }
        let expected = i64::try_from(drawer.balance())
            .map_err(|_| StoreError::Drawer("balance out of range"))?;
        check_close_transfers(e, expected, variance, close)?;
        for t in variance.into_iter().chain(close) {
            let outcome = apply_transfer(&mut tx, &mut locked, t, policy, now).await?;
            if outcome.replayed {
                return Err(StoreError::Drawer("a closing transfer was already used"));
            }
            if let Some(act) = act {
                let payload = [
                    t.request.canonical_bytes(),
                    outcome.id.to_be_bytes().to_vec(),
                ]
                .concat();
                tx.append_event(&act.certificate, act.kind, &payload, now, act.sign)
                    .await?;
            }
        }
        let id = tx.insert_drawer_event(event, Some(expected), now).await?;
        tx.commit().await?;
        Ok(DrawerEventRow {
            id,
            drawer: e.drawer,
            teller: e.teller,
            kind: DrawerEventKind::Close,
            idempotency_key: e.idempotency_key.clone(),
            counted_minor: e.counted_minor,
            expected_minor: Some(expected),
            variance_minor: e.counted_minor.checked_sub(expected),
            created_at: e.created_at,
        })
    })
    .await
}

/// The variance and close transfers must be exactly what the count implies.
fn check_close_transfers(
    e: &crate::DrawerEventRequest,
    expected: i64,
    variance: Option<&SignedTransfer>,
    close: Option<&SignedTransfer>,
) -> Result<()> {
    let diff = e
        .counted_minor
        .checked_sub(expected)
        .ok_or(StoreError::Drawer("count out of range"))?;
    let want_variance = match diff {
        0 => None,
        d if d > 0 => Some((TransferKind::VarianceOver, e.drawer, e.variance_account, d)),
        d => Some((
            TransferKind::VarianceShort,
            e.variance_account,
            e.drawer,
            -d,
        )),
    };
    let want_close = (e.counted_minor > 0).then_some((
        TransferKind::DrawerClose,
        e.vault,
        e.drawer,
        e.counted_minor,
    ));
    let shape = |t: Option<&SignedTransfer>| {
        t.map(|t| {
            (
                t.request.kind,
                t.request.debit,
                t.request.credit,
                t.request.amount.minor(),
            )
        })
    };
    let makers_ok = variance
        .into_iter()
        .chain(close)
        .all(|t| t.request.maker == e.teller);
    if shape(variance) != want_variance || shape(close) != want_close || !makers_ok {
        return Err(StoreError::Drawer(
            "the drawer balance changed since it was counted; count again",
        ));
    }
    Ok(())
}

/// A manager other than the teller signs off a drawer close with a variance.
pub async fn sign_off_variance<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    event_id: i64,
    approver: i64,
    approver_is_manager: bool,
    signed: (Vec<u8>, SignedBy),
    now: i64,
) -> Result<i64> {
    sign_off_variance_logged(
        db,
        retry,
        event_id,
        approver,
        approver_is_manager,
        signed,
        now,
        None,
    )
    .await
}

/// [`sign_off_variance`], with the approver's accountability event (payload: the signed
/// sign-off bytes) committed in the same transaction.
#[allow(
    clippy::too_many_arguments,
    reason = "the close, the approver, the signed sign-off and the act belong together"
)]
pub async fn sign_off_variance_logged<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    event_id: i64,
    approver: i64,
    approver_is_manager: bool,
    signed: (Vec<u8>, SignedBy),
    now: i64,
    act: Option<&Act<'_>>,
) -> Result<i64> {
    with_retry(retry, || async {
        let mut tx = db.begin().await?;
        let (event, signed_off) = tx
            .drawer_close(event_id)
            .await?
            .ok_or(StoreError::NotFound("drawer close"))?;
        check_approver(event.teller, approver, approver_is_manager)?;
        if signed_off {
            return Err(StoreError::Drawer("the variance is already signed off"));
        }
        if event.variance_minor.unwrap_or(0) == 0 {
            return Err(StoreError::Drawer("the close has no variance to sign off"));
        }
        let id = tx
            .insert_approval(&NewApprovalRow {
                transfer_id: None,
                drawer_event_id: Some(event_id),
                decision: "sign_off",
                approver: Some(approver),
                created_at: now,
                signed: Some(signed.clone()),
            })
            .await?;
        if let Some(act) = act {
            tx.append_event(&act.certificate, act.kind, &signed.0, now, act.sign)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    })
    .await
}

/// Checks the ledger's invariants over the whole database: debits equal credits per
/// currency, no account below its floor, cached totals equal the journal.
pub async fn check_invariants<B: Backend>(db: &B) -> Result<InvariantReport> {
    let accounts = db.accounts().await?;
    let journal: BTreeMap<i64, Balances> = db.journal_totals().await?.into_iter().collect();
    let mut report = InvariantReport::default();
    let mut per_currency: BTreeMap<String, (i128, i128)> = BTreeMap::new();
    for a in &accounts {
        let b = a.balances;
        let e = per_currency.entry(a.currency.to_string()).or_default();
        e.0 += i128::from(b.debits_posted) - i128::from(b.credits_posted);
        e.1 += i128::from(b.debits_pending) - i128::from(b.credits_pending);
        let normal = a.kind.normal_side();
        if a.floor_minor
            .is_some_and(|f| b.available(normal) < i128::from(f))
        {
            report.below_floor.push(a.id);
        }
        if journal.get(&a.id).copied().unwrap_or_default() != b {
            report.cache_mismatch.push(a.id);
        }
    }
    report.imbalance = per_currency
        .into_iter()
        .filter(|(_, (p, q))| *p != 0 || *q != 0)
        .map(|(c, (p, q))| (c, p, q))
        .collect();
    Ok(report)
}

/// Rewrites every account's cached totals from the journal, under the locks of all
/// accounts; returns the ids whose cache was wrong.
pub async fn rebuild_balances<B: Backend>(db: &B, retry: &RetryPolicy) -> Result<Vec<i64>> {
    let ids: Vec<i64> = db.accounts().await?.iter().map(|a| a.id).collect();
    with_retry(retry, || async {
        let mut tx = db.begin().await?;
        let mut locked = lock_unproven(&mut tx, &ids).await?;
        let mut repaired = Vec::new();
        for (id, totals) in tx.journal_totals().await? {
            if let Some(row) = locked.get(&id)
                && row.balances != totals
            {
                let newest = row.cache.journal_last;
                write(&mut tx, &mut locked, id, totals, newest).await?;
                repaired.push(id);
            }
        }
        tx.commit().await?;
        Ok(repaired)
    })
    .await
}

/// What [`seal_balances`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealReport {
    /// Accounts sealed now: their totals were the journal's and their row their newest
    /// signed version.
    pub sealed: Vec<i64>,
    /// Accounts whose cached totals are not the journal's: left unsealed, so no flow
    /// moves money on them until an administrator rebuilds them from the journal.
    pub unproven: Vec<i64>,
    /// Accounts whose row is not its newest signed version: left unsealed, so no flow
    /// moves money on them.
    pub unsigned: Vec<i64>,
}

/// Seals every account the store's seal does not prove yet but the journal and the
/// signed versions do (a bank just installed or migrated, or a server with a new key):
/// under the locks of all accounts, a row whose totals equal the journal's, and whose
/// contents equal `versions` (each account's newest signed version, as the caller
/// verified them), is sealed at the journal's newest transfer touching it. A row that
/// differs is left as it is and named. Without a seal on the store, nothing is done.
pub async fn seal_balances<B: Backend>(
    db: &B,
    retry: &RetryPolicy,
    versions: &BTreeMap<i64, Vec<u8>>,
) -> Result<SealReport> {
    let ids: Vec<i64> = db.accounts().await?.iter().map(|a| a.id).collect();
    with_retry(retry, || async {
        let mut tx = db.begin().await?;
        let Some(seal) = tx.seal().cloned() else {
            return Ok(SealReport::default());
        };
        let mut locked = lock_unproven(&mut tx, &ids).await?;
        let journal: BTreeMap<i64, Balances> = tx.journal_totals().await?.into_iter().collect();
        let mut report = SealReport::default();
        for id in &ids {
            let Some(row) = locked.get(id) else { continue };
            let contents = crate::master::account_row_contents(row);
            if row.cache.holds(&seal, row.id, &contents, &row.balances) {
                continue;
            }
            if journal.get(id).copied().unwrap_or_default() != row.balances {
                report.unproven.push(*id);
                continue;
            }
            if versions.get(id) != Some(&contents) {
                report.unsigned.push(*id);
                continue;
            }
            let (totals, newest) = (row.balances, row.cache.journal_last);
            write(&mut tx, &mut locked, *id, totals, newest).await?;
            report.sealed.push(*id);
        }
        tx.commit().await?;
        Ok(report)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves transient errors are retried up to the bound and then reported as busy,
    /// while a permanent error is returned at once.
    #[tokio::test]
    async fn retries_are_bounded() {
        let policy = RetryPolicy {
            attempts_max: 4,
            backoff_base_ms: 1,
            backoff_cap_ms: 2,
        };
        let mut calls = 0;
        let result: Result<()> = with_retry(&policy, || {
            calls += 1;
            async { Err(StoreError::Transient("deadlock".into())) }
        })
        .await;
        assert_eq!((result, calls), (Err(StoreError::Busy { attempts: 4 }), 4));
        let mut calls = 0;
        let result: Result<()> = with_retry(&policy, || {
            calls += 1;
            async { Err(StoreError::NotFound("account")) }
        })
        .await;
        assert_eq!((result, calls), (Err(StoreError::NotFound("account")), 1));
        let mut calls = 0;
        let result = with_retry(&policy, || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(StoreError::Transient("busy".into()))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result, Ok(3));
    }
}
