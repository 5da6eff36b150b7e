//! The embedded bank's side of [`pqbank_api::Bank`]: a signed-in staff member's calls
//! made on the service in this process, with the device's key here, answered with the
//! same wire bodies pqbank-server sends (`crate::wire_views`).

use std::sync::Arc;

use pqbank_api::wire::{
    CheckpointAnswer, DrawerAnswer, DrawerEventView, ErrorBody, OpenAnswer, PendingAnswer,
    PendingItem, PostAnswer, ResolveAnswer, SearchAnswer, VariancesAnswer, VerifyAnswer,
};
use pqbank_api::{Bank, BankResult};
use pqbank_db::Store;
use pqbank_ledger::TransferRequest;
use pqbank_pki::{Action, Fingerprint};

use crate::{Device, Service, ServiceError, SessionToken, wire_views};

/// A staff member signed in to the service in this process.
pub struct InProcess<S> {
    service: Arc<Service<S>>,
    device: Arc<Device>,
    token: SessionToken,
    staff_id: i64,
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
        let staff_id = service
            .store
            .certificate(certificate.as_bytes())
            .await
            .map_err(|e| refusal(e.into()))?
            .and_then(|c| c.staff_id)
            .ok_or_else(|| refusal(ServiceError::UnknownCertificate))?;
        Ok(Self {
            service,
            device,
            token,
            staff_id,
        })
    }
}

impl<S: Store> Bank for InProcess<S> {
    fn staff_id(&self) -> i64 {
        self.staff_id
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
        Ok(PendingAnswer {
            transfers: rows.into_iter().map(wire_views::pending).collect(),
        })
    }

    async fn resolve_transfer(&self, item: &PendingItem, post: bool) -> BankResult<ResolveAnswer> {
        let hash = hex::decode(&item.request_hash)
            .ok()
            .and_then(|h| <[u8; 32]>::try_from(h).ok())
            .ok_or_else(|| ErrorBody {
                code: pqbank_api::RequestCode::Malformed.to_string(),
                message: "the transfer hash is malformed".into(),
            })?;
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let status = s
            .resolve_transfer(t, d, item.id, hash, post)
            .await
            .map_err(refusal)?;
        Ok(ResolveAnswer { status })
    }

    async fn variance_queue(&self) -> BankResult<VariancesAnswer> {
        let (s, t, d) = (&self.service, &self.token, &*self.device);
        let rows = s.variance_queue(t, d).await.map_err(refusal)?;
        Ok(VariancesAnswer {
            closes: rows.into_iter().map(wire_views::drawer_event).collect(),
        })
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
        s.authorise(t, d, Action::AuditVerify)
            .await
            .map_err(refusal)?;
        let report = s.verify_log(&|_, _| {}).await.map_err(refusal)?;
        Ok(wire_views::verify(report))
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
