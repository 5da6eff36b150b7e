//! The service's rows as the wire bodies of `pqbank_api::wire`: one mapping, used by
//! pqbank-server's routes and by [`crate::InProcess`], so both transports answer alike.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pqbank_api::wire::{
    AccountView, ActivityAnswer, ActivityPoint, CertificateView, ChainAnswer, CheckpointAnswer,
    CrlView, CrlsAnswer, CustomerHit, DrawerAnswer, DrawerEventView, EnrolmentStatusAnswer,
    EnrolmentView, EnrolmentsAnswer, EventView, Named, PendingAnswer, PendingItem, ProblemView,
    ProofAnswer, RevocationView, SearchAnswer, StaffAnswer, StaffView, VariancesAnswer,
    VerifyAnswer,
};
use pqbank_db::views::EventSummary;
use pqbank_db::{
    AccountRow, CertificateRecord, CheckpointRecord, CustomerRow, DrawerEventRow, EnrolmentRecord,
    EventRecord, Store, TransferRow,
};
use pqbank_pki::Crl;

use crate::{DrawerState, InclusionProof, LogReport, Service, ServiceError, StaffOverview};

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
        last_counted_minor: state.last.as_ref().map(|e| e.counted_minor),
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

/// Every staff member's name by identifier.
async fn staff_names<S: Store>(
    service: &Service<S>,
) -> Result<BTreeMap<i64, String>, ServiceError> {
    Ok(service
        .store
        .staff()
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect())
}

/// The names of `ids` among `names`, each once.
fn named(names: &BTreeMap<i64, String>, ids: impl IntoIterator<Item = i64>) -> Vec<Named> {
    let mut seen = BTreeMap::new();
    for id in ids {
        if let Some(name) = names.get(&id) {
            seen.insert(id, name.clone());
        }
    }
    seen.into_iter()
        .map(|(id, name)| Named { id, name })
        .collect()
}

/// Transfers waiting for a manager, with the numbers of their accounts and the names of
/// their makers.
///
/// # Errors
/// The store's.
pub async fn pending_answer<S: Store>(
    service: &Service<S>,
    rows: Vec<TransferRow>,
) -> Result<PendingAnswer, ServiceError> {
    let mut accounts = BTreeMap::new();
    for t in &rows {
        for id in [t.request.debit, t.request.credit] {
            if let std::collections::btree_map::Entry::Vacant(e) = accounts.entry(id)
                && let Some(a) = service.store.account(id).await?
            {
                e.insert(a.number);
            }
        }
    }
    let staff = staff_names(service).await?;
    let makers = named(&staff, rows.iter().map(|t| t.request.maker));
    Ok(PendingAnswer {
        accounts: accounts
            .into_iter()
            .map(|(id, name)| Named { id, name })
            .collect(),
        staff: makers,
        transfers: rows.into_iter().map(pending).collect(),
    })
}

/// Drawer closes whose variance waits for a manager, with their drawers and tellers.
///
/// # Errors
/// The store's.
pub async fn variances_answer<S: Store>(
    service: &Service<S>,
    rows: Vec<DrawerEventRow>,
) -> Result<VariancesAnswer, ServiceError> {
    let mut drawers = BTreeMap::new();
    for r in &rows {
        if let std::collections::btree_map::Entry::Vacant(e) = drawers.entry(r.drawer)
            && let Some(a) = service.store.account(r.drawer).await?
        {
            e.insert(account(&a));
        }
    }
    let staff = staff_names(service).await?;
    Ok(VariancesAnswer {
        staff: named(&staff, rows.iter().map(|r| r.teller)),
        drawers: drawers.into_values().collect(),
        closes: rows.into_iter().map(drawer_event).collect(),
    })
}

/// Enrolment requests waiting for a manager, with the new hires' names, and the
/// manager's own certificate (DER).
///
/// # Errors
/// The store's.
pub async fn enrolments_answer<S: Store>(
    service: &Service<S>,
    queue: Vec<EnrolmentRecord>,
    issuer: &[u8],
) -> Result<EnrolmentsAnswer, ServiceError> {
    let staff: BTreeMap<i64, pqbank_db::views::StaffRow> = service
        .store
        .staff()
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    Ok(EnrolmentsAnswer {
        issuer: STANDARD.encode(issuer),
        requests: queue
            .into_iter()
            .map(|e| {
                let member = staff.get(&e.staff_id);
                EnrolmentView {
                    id: e.id,
                    csr: STANDARD.encode(&e.csr_der),
                    name: member.map(|m| m.name.clone()).unwrap_or_default(),
                    staff_number: member.map(|m| m.number.clone()).unwrap_or_default(),
                    staff_id: e.staff_id,
                    requested_role: e.requested_role,
                    created_at: e.created_at,
                }
            })
            .collect(),
    })
}

/// A certificate the bank holds.
#[must_use]
pub fn certificate(c: CertificateRecord) -> CertificateView {
    CertificateView {
        fingerprint: hex::encode(c.fingerprint),
        der: STANDARD.encode(&c.der),
        issuer: c.issuer.map(hex::encode),
        replaces: c.replaces.map(hex::encode),
        staff_id: c.staff_id,
        role: c.role,
        not_before: c.not_before,
        not_after: c.not_after,
    }
}

/// The staff, their certificates and the revocations.
#[must_use]
pub fn staff(o: StaffOverview) -> StaffAnswer {
    StaffAnswer {
        staff: o
            .staff
            .into_iter()
            .map(|s| StaffView {
                id: s.id,
                number: s.number,
                name: s.name,
                role: s.role,
            })
            .collect(),
        certificates: o.certificates.into_iter().map(certificate).collect(),
        revocations: o
            .revocations
            .into_iter()
            .map(|r| RevocationView {
                certificate: hex::encode(r.certificate),
                reason: r.reason,
                revoked_at: r.revoked_at,
                crl_number: r.crl_number,
            })
            .collect(),
    }
}

/// The newest CRL of every CA.
#[must_use]
pub fn crls(crls: Vec<(CertificateRecord, Crl)>) -> CrlsAnswer {
    CrlsAnswer {
        crls: crls
            .into_iter()
            .map(|(ca, crl)| CrlView {
                issuer: hex::encode(ca.fingerprint),
                der: STANDARD.encode(crl.der()),
            })
            .collect(),
    }
}

/// An accountability event, every field its hash covers.
#[must_use]
pub fn event(e: EventRecord) -> EventView {
    EventView {
        id: e.id,
        seq: e.event.seq,
        certificate: hex::encode(e.event.certificate),
        prev_hash: hex::encode(e.event.prev_hash),
        kind: e.event.kind,
        payload: STANDARD.encode(&e.event.payload),
        created_at: e.event.created_at,
        server: e.event.server.map(hex::encode),
        request: STANDARD.encode(&e.event.request),
        hash: hex::encode(e.hash),
        signature: STANDARD.encode(&e.signature),
    }
}

/// A certificate's chain.
#[must_use]
pub fn chain(events: Vec<EventRecord>) -> ChainAnswer {
    ChainAnswer {
        events: events.into_iter().map(event).collect(),
    }
}

/// Every event's certificate, kind and time.
#[must_use]
pub fn activity(events: Vec<EventSummary>) -> ActivityAnswer {
    ActivityAnswer {
        events: events
            .into_iter()
            .map(|e| ActivityPoint {
                certificate: hex::encode(e.certificate),
                kind: e.kind,
                created_at: e.created_at,
            })
            .collect(),
    }
}

/// An event's inclusion proof.
#[must_use]
pub fn proof(p: &InclusionProof) -> ProofAnswer {
    ProofAnswer {
        index: p.index,
        tree_size: p.tree_size,
        leaf: hex::encode(p.leaf),
        root: hex::encode(p.root),
        path: p.path.iter().map(hex::encode).collect(),
    }
}

/// A device's own enrolment request: its state and, once approved, the certificate
/// sealed to the device.
#[must_use]
pub fn enrolment_status(request: EnrolmentRecord) -> EnrolmentStatusAnswer {
    EnrolmentStatusAnswer {
        status: request.status,
        certificate: request.certificate.map(hex::encode),
        bundle: request.bundle.map(|b| STANDARD.encode(b)),
    }
}
