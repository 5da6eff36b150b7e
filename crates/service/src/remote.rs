//! The calls `pqbank-server` serves: each takes the device's signed request, passes the
//! request gate ([`Service::authorise_request`]) and acts as the in-process call does,
//! with the server's key signing the events over the request (format v2).
//!
//! Served so far: logout, customer search, the caller's drawer, posting a transfer the
//! maker signed on the workstation, and the pending transfers. The other acts still sign
//! inside the service with the device's key and are in-process only (docs/plans/server.md).

use pqbank_api::{Request, Route};
use pqbank_db::{SignedBy, SignedTransfer, Store, TransferOutcome, TransferRow};
use pqbank_ledger::TransferRequest;
use pqbank_pki::Role;

use crate::check::Authorised;
use crate::server_key::ServerSigner;
use crate::{DrawerState, Service, ServiceError};

impl<S: Store> Service<S> {
    /// The gate of a served call: the request passes every check for `route`, and its
    /// events will be signed by the server over the request's record.
    async fn enter<'k>(
        &'k self,
        route: Route,
        request: &Request<'_>,
    ) -> Result<(Authorised, ServerSigner<'k>), ServiceError> {
        if request.header().route != route {
            return Err(ServiceError::Request(pqbank_api::RequestError::new(
                pqbank_api::RequestCode::RouteMismatch,
                "the request was signed for another route",
            )));
        }
        let key = self.server_key()?;
        let caller = self.authorise_request(request).await?;
        let auth = Authorised {
            staff_id: caller.staff_id,
            certificate: caller.certificate,
            role: caller.role,
        };
        Ok((auth, ServerSigner::new(key, request.record())))
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
        let (auth, sign) = self.enter(Route::CustomersSearch, request).await?;
        self.find_customers_as(&auth, &sign, query).await
    }

    /// The caller's drawer with its vault and variance account.
    pub async fn serve_drawer(&self, request: &Request<'_>) -> Result<DrawerState, ServiceError> {
        let (auth, _) = self.enter(Route::Drawer, request).await?;
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
        let (auth, sign) = self.enter(Route::TransferPost, request).await?;
        let signed = SignedTransfer {
            request: transfer,
            signed: SignedBy {
                signature,
                signer: *auth.certificate.as_bytes(),
            },
        };
        self.post_signed_as(&auth, &signed, &sign).await
    }

    /// Transfers waiting for a manager: a teller sees their own, a manager all.
    pub async fn serve_pending_transfers(
        &self,
        request: &Request<'_>,
    ) -> Result<Vec<TransferRow>, ServiceError> {
        let (auth, _) = self.enter(Route::TransfersPending, request).await?;
        let mut rows = self.store.pending_transfers().await?;
        if auth.role != Role::Manager {
            rows.retain(|t| t.request.maker == auth.staff_id);
        }
        Ok(rows)
    }
}
