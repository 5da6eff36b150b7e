//! The calls `pqbank-server` serves: each takes the device's signed request, passes the
//! request gate ([`Service::authorise_request`]) and acts as the in-process call does,
//! with the server's key signing the events over the request (format v2).
//!
//! Every session route is here: logout, customer search, the caller's drawer with its
//! opening and closing, posting a transfer, the pending transfers and a manager's
//! decision on one, the variance queue and its sign-off, revocation, renewal, enrolment
//! approval, the staff, CRL and enrolment lists, and the auditor's checkpoint,
//! verification, proofs, chains, report and activity. Every act but a transfer is
//! signed on the workstation over the bytes the service rebuilds here. A new hire's
//! enrolment request and its status come before anyone signs in
//! ([`Service::submit_enrolment`], [`Service::enrolment_for_device`]).

use pqbank_api::{Request, Route};
use pqbank_db::{SignedBy, SignedTransfer, Store, TransferOutcome, TransferRow};
use pqbank_ledger::{TransferRequest, TransferStatus};
use pqbank_pki::{CompositeVerifyingKey, Role};

use crate::acts::{ActSigner, Decided, DrawerCount};
use crate::check::Authorised;
use crate::server_key::ServerSigner;
use crate::{DrawerState, Service, ServiceError};

/// A drawer count as the workstation signed its acts: the count, the teller's key, and
/// when they signed with one signature per act in the order `pqbank_ledger::DrawerActs`
/// builds them (open: event, float; close: event, variance if any, return if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCount {
    /// What the teller counted, minor units.
    pub counted_minor: i64,
    /// The teller's idempotency key.
    pub idempotency_key: String,
    /// The time and the acts' signatures.
    pub signed: SignedAt,
}

/// Acts signed on the workstation at `created_at`: one signature per part, in the order
/// the service builds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAt {
    /// When signed.
    pub created_at: i64,
    /// The signatures.
    pub signatures: Vec<Vec<u8>>,
}

impl SignedAt {
    fn signer<'a>(&'a self, key: &'a CompositeVerifyingKey) -> ActSigner<'a> {
        ActSigner::Workstation {
            key,
            created_at: self.created_at,
            signatures: &self.signatures,
        }
    }
}

/// What a revocation or renewal is signed over, as the service read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePrepared {
    /// The manager's certificate (DER).
    pub issuer: Vec<u8>,
    /// The target (DER).
    pub target: Vec<u8>,
    /// The manager's newest CRL (DER), if any.
    pub crl: Option<Vec<u8>>,
    /// Days until a new CRL's nextUpdate.
    pub crl_days: i64,
}

/// A manager's decision as the workstation signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDecision {
    /// The transfer.
    pub transfer_id: i64,
    /// The hash of the transfer reviewed.
    pub transfer_hash: [u8; 32],
    /// Post or void.
    pub post: bool,
    /// When signed.
    pub created_at: i64,
    /// The signature over the approval's bytes.
    pub signature: Vec<u8>,
}

impl<S: Store> Service<S> {
    /// The gate of a served call: the request passes every check for `route`; returns
    /// the caller, their certificate's key (for the acts in the body) and the signer of
    /// the call's events (the server, over the request's record).
    async fn enter<'k>(
        &'k self,
        route: Route,
        request: &Request<'_>,
    ) -> Result<(Authorised, CompositeVerifyingKey, ServerSigner<'k>), ServiceError> {
        if request.header().route != route {
            return Err(mismatch());
        }
        let key = self.server_key()?;
        let caller = self.authorise_request(request).await?;
        let auth = Authorised {
            staff_id: caller.staff_id,
            certificate: caller.certificate,
            role: caller.role,
        };
        Ok((auth, caller.key, ServerSigner::new(key, request.record())))
    }

    /// Ends the caller's session.
    pub async fn serve_logout(&self, request: &Request<'_>) -> Result<(), ServiceError> {
        self.enter(Route::Logout, request).await?;
        self.store
            .end_session(&request.header().session, self.now(), "logout")
            .await?;
        Ok(())
    }

    /// Customers by name or number, logged on the reader's chain.
    pub async fn serve_find_customers(
        &self,
        request: &Request<'_>,
        query: &str,
    ) -> Result<Vec<(pqbank_db::CustomerRow, Vec<pqbank_db::AccountRow>)>, ServiceError> {
        let (auth, _, sign) = self.enter(Route::CustomersSearch, request).await?;
        self.find_customers_as(&auth, &sign, query).await
    }

    /// The caller's drawer with its vault and variance account.
    pub async fn serve_drawer(&self, request: &Request<'_>) -> Result<DrawerState, ServiceError> {
        let (auth, ..) = self.enter(Route::Drawer, request).await?;
        self.drawer_of(auth.staff_id).await
    }

    /// A transfer its maker signed on the workstation: the service checks the signature
    /// with the caller's certificate, then the posting rules, and writes it with its act.
    pub async fn serve_post_transfer(
        &self,
        request: &Request<'_>,
        transfer: TransferRequest,
        signature: Vec<u8>,
    ) -> Result<TransferOutcome, ServiceError> {
        let (auth, key, sign) = self.enter(Route::TransferPost, request).await?;
        let signed = SignedTransfer {
            request: transfer,
            signed: SignedBy {
                signature,
                signer: *auth.certificate.as_bytes(),
            },
        };
        self.post_signed_as(&auth, &key, &signed, &sign).await
    }

    /// A manager's decision on a pending transfer, signed on the workstation over the
    /// approval's bytes for this caller: the service rebuilds them (approver = caller,
    /// manager = the certificate's role), checks the time and the signature with the
    /// caller's certificate, then resolves with the four-eyes rules of the ledger.
    pub async fn serve_resolve_transfer(
        &self,
        request: &Request<'_>,
        decision: SignedDecision,
    ) -> Result<TransferStatus, ServiceError> {
        let (auth, key, sign) = self.enter(Route::TransferResolve, request).await?;
        let by = ActSigner::Workstation {
            key: &key,
            created_at: decision.created_at,
            signatures: std::slice::from_ref(&decision.signature),
        };
        let decided = Decided {
            transfer_id: decision.transfer_id,
            transfer_hash: decision.transfer_hash,
            post: decision.post,
        };
        self.resolve_as(&auth, &sign, by, decided).await
    }

    /// Opens the caller's drawer with the acts signed on the workstation: the service
    /// finds the drawer, vault and variance account, rebuilds the open event and the
    /// float from them and the count, and checks both signatures.
    pub async fn serve_open_drawer(
        &self,
        request: &Request<'_>,
        count: SignedCount,
    ) -> Result<i64, ServiceError> {
        let (auth, key, sign) = self.enter(Route::DrawerOpen, request).await?;
        let by = count.signed.signer(&key);
        self.open_drawer_as(
            &auth,
            &sign,
            by,
            count.counted_minor,
            &count.idempotency_key,
        )
        .await
    }

    /// Closes the caller's drawer with the acts signed on the workstation against the
    /// balance it read (`expected_minor`): the service rebuilds the close event, the
    /// variance and the return from its own reads and checks each signature; a balance
    /// that moved since the read is refused by the flow, nothing written.
    pub async fn serve_close_drawer(
        &self,
        request: &Request<'_>,
        count: SignedCount,
        expected_minor: i64,
    ) -> Result<pqbank_db::DrawerEventRow, ServiceError> {
        let (auth, key, sign) = self.enter(Route::DrawerClose, request).await?;
        let by = count.signed.signer(&key);
        let drawer = DrawerCount {
            counted_minor: count.counted_minor,
            expected_minor: Some(expected_minor),
            key: &count.idempotency_key,
        };
        self.close_drawer_as(&auth, &sign, by, drawer).await
    }

    /// Drawer closings whose variance waits for a manager's sign-off.
    pub async fn serve_variance_queue(
        &self,
        request: &Request<'_>,
    ) -> Result<Vec<pqbank_db::DrawerEventRow>, ServiceError> {
        self.enter(Route::Variances, request).await?;
        Ok(self.store.pending_variances().await?)
    }

    /// A manager's sign-off of a close's variance, signed on the workstation over the
    /// sign-off's bytes for this caller.
    pub async fn serve_sign_off_variance(
        &self,
        request: &Request<'_>,
        event_id: i64,
        signature: Vec<u8>,
    ) -> Result<(), ServiceError> {
        let (auth, key, sign) = self.enter(Route::VarianceSignOff, request).await?;
        let by = ActSigner::Workstation {
            key: &key,
            created_at: self.now(),
            signatures: std::slice::from_ref(&signature),
        };
        self.sign_off_variance_as(&auth, &sign, by, event_id).await
    }

    /// Transfers waiting for a manager: a teller sees their own, a manager all.
    pub async fn serve_pending_transfers(
        &self,
        request: &Request<'_>,
    ) -> Result<Vec<TransferRow>, ServiceError> {
        let (auth, ..) = self.enter(Route::TransfersPending, request).await?;
        let mut rows = self.store.pending_transfers().await?;
        if auth.role != Role::Manager {
            rows.retain(|t| t.request.maker == auth.staff_id);
        }
        Ok(rows)
    }

    /// The sequenced log's size and root, for the auditor's workstation to sign.
    pub async fn serve_checkpoint_head(
        &self,
        request: &Request<'_>,
    ) -> Result<(u64, pqbank_audit::Hash), ServiceError> {
        self.enter(Route::CheckpointHead, request).await?;
        self.log_head().await
    }

    /// An auditor's checkpoint of the log's first `tree_size` events, signed on the
    /// workstation at `created_at` over the root the service computes for that size.
    pub async fn serve_checkpoint(
        &self,
        request: &Request<'_>,
        tree_size: u64,
        created_at: i64,
        signature: Vec<u8>,
    ) -> Result<pqbank_db::CheckpointRecord, ServiceError> {
        let (auth, key, sign) = self.enter(Route::Checkpoint, request).await?;
        let by = ActSigner::Workstation {
            key: &key,
            created_at,
            signatures: std::slice::from_ref(&signature),
        };
        self.checkpoint_as(&auth, &sign, by, tree_size).await
    }

    /// Verifies the whole log for an auditor (`audit.verify`).
    pub async fn serve_verify(
        &self,
        request: &Request<'_>,
    ) -> Result<crate::LogReport, ServiceError> {
        let (auth, _, sign) = self.enter(Route::Verify, request).await?;
        self.verify_log_as(&auth, &sign).await
    }

    /// An event's inclusion proof against the checkpoint of `tree_size` (`audit.read`).
    pub async fn serve_inclusion_proof(
        &self,
        request: &Request<'_>,
        event_id: i64,
        tree_size: u64,
    ) -> Result<crate::InclusionProof, ServiceError> {
        self.enter(Route::InclusionProof, request).await?;
        self.inclusion_proof(event_id, tree_size).await
    }

    /// A certificate's accountability chain, the read logged on the auditor's chain.
    pub async fn serve_chain(
        &self,
        request: &Request<'_>,
        subject: pqbank_pki::Fingerprint,
    ) -> Result<Vec<pqbank_db::EventRecord>, ServiceError> {
        let (auth, _, sign) = self.enter(Route::Chain, request).await?;
        self.chain_as(&auth, &sign, subject).await
    }

    /// The accountability report's bytes, for the auditor's workstation to sign; making
    /// it is logged on the auditor's chain.
    pub async fn serve_report(
        &self,
        request: &Request<'_>,
        subject: pqbank_pki::Fingerprint,
    ) -> Result<Vec<u8>, ServiceError> {
        let (auth, _, sign) = self.enter(Route::Report, request).await?;
        self.report_as(&auth, &sign, subject).await
    }

    /// Every event's certificate, kind and time, for the auditor's activity chart.
    pub async fn serve_activity(
        &self,
        request: &Request<'_>,
    ) -> Result<Vec<pqbank_db::views::EventSummary>, ServiceError> {
        self.enter(Route::Activity, request).await?;
        Ok(self.store.event_summaries().await?)
    }

    /// The staff, every certificate and every revocation: for a manager on
    /// [`Route::Staff`] (`cert.issue`), an auditor on [`Route::StaffAudit`] (`audit.read`).
    pub async fn serve_staff(
        &self,
        request: &Request<'_>,
    ) -> Result<crate::StaffOverview, ServiceError> {
        let route = request.header().route;
        if !matches!(route, Route::Staff | Route::StaffAudit) {
            return Err(mismatch());
        }
        self.enter(route, request).await?;
        self.staff_overview_read().await
    }

    /// The newest CRL of every CA: for a manager on [`Route::Crls`] (`cert.revoke`), an
    /// auditor on [`Route::CrlsAudit`] (`audit.read`).
    pub async fn serve_current_crls(
        &self,
        request: &Request<'_>,
    ) -> Result<Vec<(pqbank_db::CertificateRecord, pqbank_pki::Crl)>, ServiceError> {
        let route = request.header().route;
        if !matches!(route, Route::Crls | Route::CrlsAudit) {
            return Err(mismatch());
        }
        self.enter(route, request).await?;
        self.current_crls_read().await
    }

    /// Enrolment requests waiting for a manager, with her own certificate (DER): the
    /// issuer her workstation builds the certificates under.
    pub async fn serve_enrolment_queue(
        &self,
        request: &Request<'_>,
    ) -> Result<(Vec<pqbank_db::EnrolmentRecord>, Vec<u8>), ServiceError> {
        let (auth, ..) = self.enter(Route::Enrolments, request).await?;
        let issuer = self.certificate(&auth.certificate).await?;
        Ok((
            self.store.pending_enrolments().await?,
            issuer.der().to_vec(),
        ))
    }

    /// What a manager's workstation needs to sign a revocation or renewal of `target`:
    /// the manager's own certificate, the target (if the manager issued it; else
    /// refused, the refusal chained), the manager's newest CRL, and how long CRLs last.
    pub async fn serve_prepare_certificate(
        &self,
        request: &Request<'_>,
        target: pqbank_pki::Fingerprint,
    ) -> Result<CertificatePrepared, ServiceError> {
        let (auth, _, sign) = self.enter(Route::CertificatePrepare, request).await?;
        let target = self
            .issued_by_caller(&auth, &sign, pqbank_pki::Action::CertRevoke, target)
            .await?;
        let issuer = self.certificate(&auth.certificate).await?;
        let crl = self.store.latest_crl(auth.certificate.as_bytes()).await?;
        Ok(CertificatePrepared {
            issuer: issuer.der().to_vec(),
            target: target.der().to_vec(),
            crl: crl.map(|c| c.der),
            crl_days: self.config.crl_days,
        })
    }

    /// A revocation signed on the manager's workstation (the CRL's to-be-signed bytes,
    /// then the revocation's), rebuilt here from the manager's newest CRL.
    pub async fn serve_revoke(
        &self,
        request: &Request<'_>,
        target: pqbank_pki::Fingerprint,
        reason: pqbank_pki::RevocationReason,
        signed: SignedAt,
    ) -> Result<u64, ServiceError> {
        let (auth, key, sign) = self.enter(Route::CertificateRevoke, request).await?;
        let by = signed.signer(&key);
        self.revoke_as(&auth, &sign, by, target, reason).await
    }

    /// A renewal signed on the manager's workstation (the new certificate's to-be-signed
    /// bytes with the serial it chose, the CRL's, the revocation's), rebuilt here.
    pub async fn serve_renew(
        &self,
        request: &Request<'_>,
        old: pqbank_pki::Fingerprint,
        serial: [u8; pqbank_pki::cert::SERIAL_LEN],
        signed: SignedAt,
    ) -> Result<pqbank_pki::Certificate, ServiceError> {
        let (auth, key, sign) = self.enter(Route::CertificateRenew, request).await?;
        let by = signed.signer(&key);
        self.renew_as(&auth, &sign, by, old, serial).await
    }

    /// A manager's approval of an enrolment request, the certificate's to-be-signed
    /// bytes (built here from the request, with the serial her workstation chose) signed
    /// on her workstation; the device's delivery key is registered with it.
    pub async fn serve_approve_enrolment(
        &self,
        request: &Request<'_>,
        request_id: i64,
        typed_code: &str,
        serial: [u8; pqbank_pki::cert::SERIAL_LEN],
        signed: SignedAt,
    ) -> Result<pqbank_pki::Fingerprint, ServiceError> {
        let (auth, key, sign) = self.enter(Route::EnrolmentApprove, request).await?;
        let approval = crate::enrol::Approval {
            request_id,
            typed_code,
            serial,
        };
        self.approve_enrolment_as(&auth, &sign, signed.signer(&key), approval)
            .await
    }
}

/// A request signed for a route the call does not serve.
fn mismatch() -> ServiceError {
    ServiceError::Request(pqbank_api::RequestError::new(
        pqbank_api::RequestCode::RouteMismatch,
        "the request was signed for another route",
    ))
}
