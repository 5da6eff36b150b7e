//! The calls `pqbank-server` serves: each takes the device's signed request, passes the
//! request gate ([`Service::authorise_request`]) and acts as the in-process call does,
//! with the server's key signing the events over the request (format v2).
//!
//! Served so far: logout, customer search, the caller's drawer, posting a transfer the
//! maker signed on the workstation, the pending transfers, and a manager's decision on
//! one, signed on the workstation. The other acts still sign
//! inside the service with the device's key and are in-process only (docs/plans/server.md).

use pqbank_api::{Request, Route};
use pqbank_db::{
    ApprovalRequest, SignedApproval, SignedBy, SignedTransfer, Store, TransferOutcome, TransferRow,
};
use pqbank_ledger::{Resolution, TransferRequest, TransferStatus};
use pqbank_pki::{Action, CompositeVerifyingKey, Role};

use crate::check::Authorised;
use crate::server_key::ServerSigner;
use crate::{DrawerState, Service, ServiceError};

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
        let approval = ApprovalRequest {
            transfer_id: decision.transfer_id,
            transfer_hash: decision.transfer_hash,
            approver: auth.staff_id,
            approver_is_manager: auth.role == Role::Manager,
            decision: if decision.post {
                Resolution::Post
            } else {
                Resolution::Void
            },
            created_at: decision.created_at,
        };
        let action = Action::TransferApprove;
        if decision.created_at.abs_diff(self.now()) > crate::CLOCK_SKEW_MAX_SECS.unsigned_abs() {
            let stale = ServiceError::Request(pqbank_api::RequestError::new(
                pqbank_api::RequestCode::Stale,
                "the act's time is too far from the bank's",
            ));
            return Err(self.refuse_as(&auth, &sign, action, stale).await);
        }
        let bytes = approval.canonical_bytes();
        self.check_act(&auth, &key, &sign, action, &bytes, &decision.signature)
            .await?;
        let signed = SignedBy {
            signature: decision.signature,
            signer: *auth.certificate.as_bytes(),
        };
        let signed = SignedApproval {
            request: approval,
            signed,
        };
        self.resolve_signed_as(&auth, &signed, &sign).await
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
}
