//! The gate of a signed request, as `pqbank-server` receives one over the network: the
//! device signed the request's header (route, session, device, counter, clock, body
//! hash), and the service checks it with the session certificate's key before anything
//! is written, then claims the counter so that no request is accepted twice or out of
//! order. The chain checks are the in-process gate's (`Service::authorise`), with the
//! device identifier the header carries.

use pqbank_api::{Request, RequestCode, RequestError, RequestHeader};
use pqbank_db::Store;
use pqbank_pki::{Certificate, CompositeVerifyingKey, Fingerprint, Role};

use crate::{Service, ServiceError};

/// How far a request's clock may be from the service's, either way, in seconds.
pub const CLOCK_SKEW_MAX_SECS: i64 = 120;

/// What a signed request that passed every check may act as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The staff member.
    pub staff_id: i64,
    /// Their session's certificate.
    pub certificate: Fingerprint,
    /// The role their validated certificate carries.
    pub role: Role,
    /// Their certificate's key, which signed the request: acts in the body are checked
    /// with it too.
    pub key: CompositeVerifyingKey,
}

impl<S: Store> Service<S> {
    /// Every signed request's gate: session alive and not idle, the client's clock
    /// within [`CLOCK_SKEW_MAX_SECS`], the signature made by the session certificate's
    /// key over this header, the chain valid now (device bound to the header's device,
    /// action listed and permitted by the role), and the counter above the session's last.
    ///
    /// A request whose signature does not verify writes nothing and leaves the session
    /// as it was (whoever learnt a session's id cannot end it). A chain that no longer
    /// validates ends the session, as in process.
    pub async fn authorise_request(&self, request: &Request<'_>) -> Result<Caller, ServiceError> {
        let header = request.header();
        let action = header
            .route
            .action()
            .ok_or(ServiceError::Request(RequestError::new(
                RequestCode::RouteMismatch,
                "the route needs no session",
            )))?;
        let (session, now) = self.live_session(&header.session, action).await?;
        if header.client_time.abs_diff(now) > CLOCK_SKEW_MAX_SECS.unsigned_abs() {
            return Err(self.refused_request(action, &session.certificate, RequestCode::Stale));
        }
        let certificate = Fingerprint::from_bytes(session.certificate);
        let record = self
            .store
            .certificate(&session.certificate)
            .await?
            .ok_or(ServiceError::UnknownCertificate)?;
        let leaf = crate::service::decoded(&record)?;
        let key = verify_signature(&leaf, request).inspect_err(|e| {
            crate::trace::refused(action.as_str(), Some(&certificate), e);
        })?;
        let issuer = leaf.claims().lineage.map(|l| l.issuer);
        let pins = Self::pins(issuer, session.pinned_crl_number);
        let role = match self
            .validate_chain_from(record, &header.device_id, Some(action), &pins)
            .await
        {
            Ok((leaf, _)) => {
                self.session_is_its_staff(session.staff_id, &leaf).await?;
                leaf.claims().role.unwrap_or(Role::Teller)
            }
            Err(ServiceError::Certificate(e)) => {
                self.store
                    .end_session(&header.session, now, e.code())
                    .await?;
                let refusal = ServiceError::Certificate(e);
                crate::trace::refused(action.as_str(), Some(&certificate), &refusal);
                return Err(refusal);
            }
            Err(ServiceError::Forbidden(e)) if self.server_key.is_some() => {
                // The signature is the device's: the refusal goes on its chain, signed by
                // the server over the refused request.
                let auth = crate::check::Authorised {
                    staff_id: session.staff_id,
                    certificate,
                    role: Role::Teller,
                };
                // Claimed first, so each request leaves at most one refusal.
                self.claim(request, action, &session.certificate, now)
                    .await?;
                let key = self.server_key()?;
                let sign = crate::server_key::ServerSigner::new(key, request.record());
                return Err(self.refuse(&auth, &sign, action, e).await);
            }
            Err(other) => {
                crate::trace::refused(action.as_str(), Some(&certificate), &other);
                return Err(other);
            }
        };
        let counter = self
            .claim(request, action, &session.certificate, now)
            .await?;
        tracing::debug!(
            action = action.as_str(),
            certificate = %certificate,
            staff_id = session.staff_id,
            counter,
            "request authorised"
        );
        Ok(Caller {
            staff_id: session.staff_id,
            certificate,
            role,
            key,
        })
    }

    /// Claims the request's counter on its session: refused as replayed if the counter
    /// was used or passed already.
    async fn claim(
        &self,
        request: &Request<'_>,
        action: pqbank_pki::Action,
        certificate: &[u8; 32],
        now: i64,
    ) -> Result<i64, ServiceError> {
        let header = request.header();
        let counter = i64::try_from(header.counter)
            .map_err(|_| self.refused_request(action, certificate, RequestCode::Replayed))?;
        if !self
            .store
            .claim_counter(&header.session, now, counter)
            .await?
        {
            return Err(self.refused_request(action, certificate, RequestCode::Replayed));
        }
        Ok(counter)
    }

    fn refused_request(
        &self,
        action: pqbank_pki::Action,
        certificate: &[u8; 32],
        code: RequestCode,
    ) -> ServiceError {
        let reason = match code {
            RequestCode::Stale => "the request's clock is too far from the bank's",
            _ => "the request was already received, or came out of order",
        };
        let refusal = ServiceError::Request(RequestError::new(code, reason));
        crate::trace::refused(
            action.as_str(),
            Some(&Fingerprint::from_bytes(*certificate)),
            &refusal,
        );
        refusal
    }
}

/// The header's signature, made by the certificate's key under the act context.
fn verify_signature(
    leaf: &Certificate,
    request: &Request<'_>,
) -> Result<CompositeVerifyingKey, ServiceError> {
    let key =
        CompositeVerifyingKey::from_bytes(leaf.public_key()).map_err(ServiceError::Certificate)?;
    let digest = RequestHeader::digest(request.header_bytes());
    key.verify(&digest, crate::device::ACT_CONTEXT, request.signature())
        .map_err(|_| ServiceError::Certificate(pqbank_pki::Error::DeviceMismatch))?;
    Ok(key)
}
