//! What the desktop screens list, each behind the same checks as every other call:
//! a teller's pending transfers and drawer, a manager's queues and staff, an auditor's
//! chains and activity. Reads of accountability chains are themselves logged.

use pqbank_db::views::{EventSummary, RevocationView, StaffRow};
use pqbank_db::{
    AccountRow, CertificateRecord, DrawerEventKind, DrawerEventRow, EnrolmentRecord, EventRecord,
    Store, TransferRow,
};
use pqbank_ledger::{AccountKind, DrawerAccounts};
use pqbank_pki::{Action, Crl, Fingerprint, Role};

use crate::{Device, Service, ServiceError, SessionToken};

/// A teller's cash drawer as the service sees it.
#[derive(Debug, Clone)]
pub struct DrawerState {
    /// The teller's drawer, if one is theirs or free for them.
    pub drawer: Option<AccountRow>,
    /// Whether its newest event opened it.
    pub open: bool,
    /// The teller's newest drawer event.
    pub last: Option<DrawerEventRow>,
    /// The vault of the drawer's currency.
    pub vault: Option<AccountRow>,
    /// The variance account of the drawer's currency.
    pub variance: Option<AccountRow>,
}

impl DrawerState {
    /// The drawer's row and the accounts its acts move cash between, or why there are
    /// none.
    pub(crate) fn accounts(&self) -> Result<(&AccountRow, DrawerAccounts), ServiceError> {
        let drawer = self
            .drawer
            .as_ref()
            .ok_or(ServiceError::NoDrawer("no cash drawer is free for you"))?;
        match (&self.vault, &self.variance) {
            (Some(v), Some(w)) => Ok((
                drawer,
                DrawerAccounts {
                    drawer: drawer.id,
                    vault: v.id,
                    variance: w.id,
                    currency: drawer.currency,
                },
            )),
            _ => Err(ServiceError::NoDrawer(
                "the bank has no vault or variance account for the drawer's currency",
            )),
        }
    }
}

/// The staff, every certificate and every revocation, for the manager's and the
/// auditor's lists.
#[derive(Debug, Clone)]
pub struct StaffOverview {
    /// Staff in id order.
    pub staff: Vec<StaffRow>,
    /// Certificates in issue order.
    pub certificates: Vec<CertificateRecord>,
    /// Revocations.
    pub revocations: Vec<RevocationView>,
}

impl<S: Store> Service<S> {
    /// Transfers waiting for a manager: a teller sees the ones they made, a manager all.
    pub async fn pending_transfers(
        &self,
        token: &SessionToken,
        device: &Device,
    ) -> Result<Vec<TransferRow>, ServiceError> {
        let auth = self.authorise(token, device, Action::TransferPost).await?;
        let mut rows = self.store.pending_transfers().await?;
        if auth.role != Role::Manager {
            rows.retain(|t| t.request.maker == auth.staff_id);
        }
        Ok(rows)
    }

    /// The caller's cash drawer with the vault and variance accounts of its currency.
    pub async fn drawer(
        &self,
        token: &SessionToken,
        device: &Device,
    ) -> Result<DrawerState, ServiceError> {
        let auth = self.authorise(token, device, Action::DrawerOperate).await?;
        self.drawer_of(auth.staff_id).await
    }

    /// A teller's drawer: the one their newest drawer event names; for a teller who never
    /// had one, the first drawer nobody has opened. The vault and variance accounts are
    /// the bank's internal accounts named `VAULT-<currency>` and `VARIANCE-<currency>`
    /// (the one place that convention lives).
    pub(crate) async fn drawer_of(&self, staff_id: i64) -> Result<DrawerState, ServiceError> {
        let last = self.store.last_drawer_event_of(staff_id).await?;
        let accounts = self.store.bank_accounts().await?;
        let drawer = match &last {
            Some(e) => accounts.iter().find(|a| a.id == e.drawer),
            None => {
                let used = self.store.drawers_in_use().await?;
                accounts.iter().find(|a| {
                    a.kind == AccountKind::CashDrawer && !a.closed && !used.contains(&a.id)
                })
            }
        }
        .cloned();
        let internal = |prefix: &str| {
            let currency = drawer.as_ref()?.currency;
            let number = format!("{prefix}-{}", currency.code());
            accounts
                .iter()
                .find(|a| a.kind == AccountKind::BankInternal && a.number == number)
                .cloned()
        };
        Ok(DrawerState {
            open: last
                .as_ref()
                .is_some_and(|e| e.kind == DrawerEventKind::Open),
            vault: internal("VAULT"),
            variance: internal("VARIANCE"),
            drawer,
            last,
        })
    }

    /// Staff, certificates and revocations: for a manager (`cert.issue`) or an auditor
    /// (`audit.read`); `as_action` says which of the two the caller acts under.
    pub async fn staff_overview(
        &self,
        token: &SessionToken,
        device: &Device,
        as_action: Action,
    ) -> Result<StaffOverview, ServiceError> {
        if !matches!(as_action, Action::CertIssue | Action::AuditRead) {
            return Err(ServiceError::Forbidden(
                pqbank_pki::Error::ActionNotAllowed {
                    action: as_action.as_str().to_owned(),
                },
            ));
        }
        self.authorise(token, device, as_action).await?;
        self.staff_overview_read().await
    }

    /// The staff, their certificates and the revocations, for a caller already allowed.
    pub(crate) async fn staff_overview_read(&self) -> Result<StaffOverview, ServiceError> {
        Ok(StaffOverview {
            staff: self.store.staff().await?,
            certificates: self.store.all_certificates().await?,
            revocations: self.store.revocations().await?,
        })
    }

    /// Drawer closings whose variance waits for a manager's sign-off.
    pub async fn variance_queue(
        &self,
        token: &SessionToken,
        device: &Device,
    ) -> Result<Vec<DrawerEventRow>, ServiceError> {
        self.authorise(token, device, Action::VarianceApprove)
            .await?;
        Ok(self.store.pending_variances().await?)
    }

    /// The newest CRL of every CA certificate (managers and the root), for a manager
    /// (`cert.revoke`) or an auditor (`audit.read`).
    pub async fn current_crls(
        &self,
        token: &SessionToken,
        device: &Device,
        as_action: Action,
    ) -> Result<Vec<(CertificateRecord, Crl)>, ServiceError> {
        if !matches!(as_action, Action::CertRevoke | Action::AuditRead) {
            return Err(ServiceError::Forbidden(
                pqbank_pki::Error::ActionNotAllowed {
                    action: as_action.as_str().to_owned(),
                },
            ));
        }
        self.authorise(token, device, as_action).await?;
        self.current_crls_read().await
    }

    /// The newest CRL of every CA certificate, for a caller already allowed.
    pub(crate) async fn current_crls_read(
        &self,
    ) -> Result<Vec<(CertificateRecord, Crl)>, ServiceError> {
        let mut out = Vec::new();
        for ca in self.store.all_certificates().await? {
            if !matches!(ca.role.as_str(), "manager" | "root") {
                continue;
            }
            if let Some(latest) = self.store.latest_crl(&ca.fingerprint).await? {
                let crl = Crl::from_der(&latest.der).map_err(ServiceError::Certificate)?;
                out.push((ca, crl));
            }
        }
        Ok(out)
    }

    /// Enrolment requests waiting for a manager.
    pub async fn enrolment_queue(
        &self,
        token: &SessionToken,
        device: &Device,
    ) -> Result<Vec<EnrolmentRecord>, ServiceError> {
        self.authorise(token, device, Action::DeviceEnrol).await?;
        Ok(self.store.pending_enrolments().await?)
    }

    /// A certificate's accountability chain, for an auditor; the read is logged on the
    /// auditor's own chain.
    pub async fn chain(
        &self,
        token: &SessionToken,
        device: &Device,
        subject: Fingerprint,
    ) -> Result<Vec<EventRecord>, ServiceError> {
        let auth = self.authorise(token, device, Action::AuditRead).await?;
        self.chain_as(&auth, &device.event_signer(), subject).await
    }

    /// [`Self::chain`] for an authorised auditor, the read chained with `sign`.
    pub(crate) async fn chain_as(
        &self,
        auth: &crate::check::Authorised,
        sign: pqbank_db::Signer<'_>,
        subject: Fingerprint,
    ) -> Result<Vec<EventRecord>, ServiceError> {
        let events = self.store.events(subject.as_bytes()).await?;
        self.log(auth, sign, "audit.read", subject.as_bytes())
            .await?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            subject = %subject,
            "chain read: audit.read"
        );
        Ok(events)
    }

    /// Every event's certificate, kind and time, for the auditor's activity chart.
    pub async fn activity(
        &self,
        token: &SessionToken,
        device: &Device,
    ) -> Result<Vec<EventSummary>, ServiceError> {
        self.authorise(token, device, Action::AuditRead).await?;
        Ok(self.store.event_summaries().await?)
    }
}
