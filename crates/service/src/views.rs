//! What the desktop screens list, each behind the same checks as every other call:
//! a teller's pending transfers and drawer, a manager's queues and staff, an auditor's
//! chains and activity. Reads of accountability chains are themselves logged.

use pqbank_db::views::{EventSummary, RevocationView, StaffRow, ViewStore};
use pqbank_db::{
    AccountRow, Backend, CertificateRecord, DrawerEventRow, EnrolmentRecord, EventRecord,
    IdentityStore, TransferRow,
};
use pqbank_pki::{Action, Crl, Fingerprint, Role};

use crate::{Device, Service, ServiceError, SessionToken};

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

impl<S: Backend + IdentityStore + ViewStore> Service<S> {
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

    /// The caller's cash drawer as its newest event leaves it (none before the first
    /// opening).
    pub async fn my_drawer(
        &self,
        token: &SessionToken,
        device: &Device,
    ) -> Result<Option<DrawerEventRow>, ServiceError> {
        let auth = self.authorise(token, device, Action::DrawerOperate).await?;
        Ok(self.store.last_drawer_event_of(auth.staff_id).await?)
    }

    /// The bank's own accounts (vaults, variance, drawers), for the drawer screens.
    pub async fn internal_accounts(
        &self,
        token: &SessionToken,
        device: &Device,
    ) -> Result<Vec<AccountRow>, ServiceError> {
        self.authorise(token, device, Action::DrawerOperate).await?;
        let mut rows = self.store.accounts().await?;
        rows.retain(|a| a.customer_id.is_none());
        Ok(rows)
    }

    /// Cash drawers never opened by anyone: a teller without a drawer takes one.
    pub async fn free_drawers(
        &self,
        token: &SessionToken,
        device: &Device,
    ) -> Result<Vec<AccountRow>, ServiceError> {
        self.authorise(token, device, Action::DrawerOperate).await?;
        let used = self.store.drawers_in_use().await?;
        let mut rows = self.store.accounts().await?;
        rows.retain(|a| {
            a.kind == pqbank_ledger::AccountKind::CashDrawer && !a.closed && !used.contains(&a.id)
        });
        Ok(rows)
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
        let events = self.store.events(subject.as_bytes()).await?;
        self.log(&auth, device, "audit.read", subject.as_bytes())
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
