//! The embedded bank's side of [`pqbank_api::Bank`]: a signed-in staff member's calls
//! made on the service in this process, with the device's key here, answered with the
//! same wire bodies pqbank-server sends (`crate::wire_views`).

use std::sync::Arc;

use pqbank_api::wire::{
    ActivityAnswer, ApproveAnswer, ChainAnswer, CheckpointAnswer, CrlsAnswer, DrawerAnswer,
    DrawerEventView, EnrolmentsAnswer, ErrorBody, OpenAnswer, PendingAnswer, PostAnswer,
    ProofAnswer, RenewAnswer, ResolveAnswer, RevokeAnswer, SearchAnswer, StaffAnswer,
    VariancesAnswer, VerifyAnswer,
};
use pqbank_api::{Bank, BankResult, SignedReport};
use pqbank_db::Store;
use pqbank_ledger::TransferRequest;
use pqbank_pki::{Action, Fingerprint, RevocationReason, Role};

use crate::{Device, Service, ServiceError, SessionToken, wire_views};

/// A staff member signed in to the service in this process.
pub struct InProcess<S> {
    service: Arc<Service<S>>,
    device: Arc<Device>,
    token: SessionToken,
    certificate: Fingerprint,
    staff_id: i64,
    role: Role,
}

impl<S> core::fmt::Debug for InProcess<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InProcess")
            .field("staff_id", &self.staff_id)
            .finish_non_exhaustive()
    }
}

/// A service refusal as the wire carries it: the code and the sentence.
fn refusal(e: ServiceError) -> ErrorBody {
    if let ServiceError::Store(s) = &e {
        crate::log_store_error(s);
    }
    ErrorBody {
        code: e.code(),
        message: e.to_string(),
    }
}

impl<S> InProcess<S> {
    /// The action a list shared by managers and auditors is read under: an auditor's
    /// `audit.read`, else the manager's `managers` (as the server's two routes).
    fn read_as(&self, managers: Action) -> Action {
        if self.role == Role::Auditor {
            Action::AuditRead
        } else {
            managers
        }
    }
}

impl<S: Store> InProcess<S> {
    /// Signs in with `certificate` on `device` from `origin`: the challenge, the signed
    /// transcript and the login, as at the server.
    ///
    /// # Errors
    /// Any refusal of the login's seven layers.
    pub async fn login(
        service: Arc<Service<S>>,
        device: Arc<Device>,
        certificate: Fingerprint,
        origin: &str,
    ) -> BankResult<Self> {
        let nonce = service
            .challenge(certificate, &device.id, origin)
            .await
            .map_err(refusal)?;
        let signed = service
            .sign_transcript(&device, nonce, certificate, origin)
            .map_err(refusal)?;
        let token = service
            .login(certificate, &device, origin, &signed)
            .await
            .map_err(refusal)?;
        // Who signed in, from the certificate the login validated: its signed claims,
        // never the row's columns.
        let cert = service.certificate(&certificate).await.map_err(refusal)?;
        let staff_id = service.staff_of(&cert).await.map_err(refusal)?;
        let role = cert
            .claims()
            .role
            .ok_or_else(|| refusal(ServiceError::UnknownCertificate))?;
        Ok(Self {
            service,
            device,
            token,
            certificate,
            staff_id,
            role,
        })
    }
}

impl<S: Store> Bank for InProcess<S> {
    fn staff_id(&self) -> i64 {
        self.staff_id
    }

    fn role(&self) -> Role {
        self.role
    }

    fn certificate(&self) -> Fingerprint {
        self.certificate
    }

    async fn find_customers(&self, query: &str) -> BankResult<SearchAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let found = s.find_customers(t, d, query).await.map_err(refusal)?;
        Ok(wire_views::search(found))
    }

    async fn drawer(&self) -> BankResult<DrawerAnswer> {
        let state = self
            .service
            .drawer(&self.token, &self.device)
            .await
            .map_err(refusal)?;
        Ok(wire_views::drawer(&state))
    }

    async fn open_drawer(&self, counted_minor: i64, key: &str) -> BankResult<OpenAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let event_id = s
            .open_drawer(t, d, counted_minor, key)
            .await
            .map_err(refusal)?;
        Ok(OpenAnswer { event_id })
    }

    async fn close_drawer(&self, counted_minor: i64, key: &str) -> BankResult<DrawerEventView> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let row = s
            .close_drawer(t, d, counted_minor, key)
            .await
            .map_err(refusal)?;
        Ok(wire_views::drawer_event(row))
    }

    async fn post_transfer(&self, transfer: TransferRequest) -> BankResult<PostAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let outcome = s.post_transfer(t, d, transfer).await.map_err(refusal)?;
        Ok(PostAnswer {
            id: outcome.id,
            status: outcome.status,
            expires_at: outcome.expires_at,
            replayed: outcome.replayed,
        })
    }

    async fn pending_transfers(&self) -> BankResult<PendingAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let rows = s.pending_transfers(t, d).await.map_err(refusal)?;
        wire_views::pending_answer(s, rows).await.map_err(refusal)
    }

    async fn resolve_transfer(
        &self,
        id: i64,
        request_hash: &str,
        post: bool,
    ) -> BankResult<ResolveAnswer> {
        let hash = hex::decode(request_hash.trim())
            .ok()
            .and_then(|h| <[u8; 32]>::try_from(h).ok())
            .ok_or_else(|| ErrorBody {
                code: pqbank_api::RequestCode::Malformed.to_string(),
                message: "the transfer hash is malformed".into(),
            })?;
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let status = s
            .resolve_transfer(t, d, id, hash, post)
            .await
            .map_err(refusal)?;
        Ok(ResolveAnswer { status })
    }

    async fn variance_queue(&self) -> BankResult<VariancesAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let rows = s.variance_queue(t, d).await.map_err(refusal)?;
        wire_views::variances_answer(s, rows).await.map_err(refusal)
    }

    async fn sign_off_variance(&self, event_id: i64) -> BankResult<()> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        s.sign_off_variance(t, d, event_id).await.map_err(refusal)
    }

    async fn checkpoint(&self) -> BankResult<CheckpointAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let record = s.checkpoint(t, d).await.map_err(refusal)?;
        Ok(wire_views::checkpoint(&record))
    }

    async fn verify_log(&self) -> BankResult<VerifyAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let auth = s
            .authorise(t, d, Action::AuditVerify)
            .await
            .map_err(refusal)?;
        let report = s
            .verify_log_as(&auth, &d.event_signer())
            .await
            .map_err(refusal)?;
        Ok(wire_views::verify(report))
    }

    async fn inclusion_proof(&self, event_id: i64, tree_size: u64) -> BankResult<ProofAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        s.authorise(t, d, Action::AuditRead)
            .await
            .map_err(refusal)?;
        let p = s
            .inclusion_proof(event_id, tree_size)
            .await
            .map_err(refusal)?;
        Ok(wire_views::proof(&p))
    }

    async fn chain(&self, subject: Fingerprint) -> BankResult<ChainAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let events = s.chain(t, d, subject).await.map_err(refusal)?;
        Ok(wire_views::chain(events))
    }

    async fn report(&self, subject: Fingerprint) -> BankResult<SignedReport> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        s.accountability_report(t, d, subject)
            .await
            .map_err(refusal)
    }

    async fn activity(&self) -> BankResult<ActivityAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let events = s.activity(t, d).await.map_err(refusal)?;
        Ok(wire_views::activity(events))
    }

    async fn staff(&self) -> BankResult<StaffAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let overview = s
            .staff_overview(t, d, self.read_as(Action::CertIssue))
            .await
            .map_err(refusal)?;
        Ok(wire_views::staff(overview))
    }

    async fn crls(&self) -> BankResult<CrlsAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let crls = s
            .current_crls(t, d, self.read_as(Action::CertRevoke))
            .await
            .map_err(refusal)?;
        Ok(wire_views::crls(crls))
    }

    async fn enrolment_queue(&self) -> BankResult<EnrolmentsAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let queue = s.enrolment_queue(t, d).await.map_err(refusal)?;
        let issuer = s.certificate(&self.certificate).await.map_err(refusal)?;
        wire_views::enrolments_answer(s, queue, issuer.der())
            .await
            .map_err(refusal)
    }

    async fn approve_enrolment(
        &self,
        request_id: i64,
        typed_code: &str,
    ) -> BankResult<ApproveAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let issued = s
            .approve_enrolment(t, d, request_id, typed_code)
            .await
            .map_err(refusal)?;
        Ok(ApproveAnswer {
            certificate: issued.to_hex(),
        })
    }

    async fn revoke(
        &self,
        certificate: Fingerprint,
        reason: RevocationReason,
    ) -> BankResult<RevokeAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let crl_number = s.revoke(t, d, certificate, reason).await.map_err(refusal)?;
        Ok(RevokeAnswer { crl_number })
    }

    async fn renew(&self, certificate: Fingerprint) -> BankResult<RenewAnswer> {
        use base64::Engine as _;
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let renewed = s.renew(t, d, certificate).await.map_err(refusal)?;
        Ok(RenewAnswer {
            certificate: base64::engine::general_purpose::STANDARD.encode(renewed.der()),
            fingerprint: renewed.fingerprint().to_hex(),
        })
    }

    async fn logout(&self) -> BankResult<()> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        s.authorise(t, d, Action::CustomerRead)
            .await
            .map_err(refusal)?;
        let id = pqbank_api::session_id(t.as_bytes());
        s.store
            .end_session(&id, s.now(), "logout")
            .await
            .map_err(|e| refusal(e.into()))
    }
}
