//! Enrolment: the device makes its request (CSR with proof of possession, its
//! sealed-bundle key, a short code); a manager who compared the code issues the
//! certificate under the manager's CA certificate and seals it to the device; the device
//! opens the bundle.

use pqbank_db::{
    DeviceRecord, EnrolmentDecision, EnrolmentRecord, LoggedEvent, RowWrite, Stale, Store,
    StoreError,
};
use pqbank_pki::bundle::{self, RecipientPublic, RecipientSecret, SealRandomness};
use pqbank_pki::ext::device_id_hash;
use pqbank_pki::{
    Action, Certificate, CertificateRequest, CsrBuilder, DistinguishedName, Fingerprint, Role,
};
use subtle::ConstantTimeEq;

use crate::acts::ActSigner;
use crate::check::Authorised;
use crate::service::random;
use crate::{Device, Service, ServiceError, SessionToken};

pub use pqbank_api::acts::{DELIVERY_PURPOSE, short_code};

/// The QR code (SVG) a device shows beside its short code: the request id, the code and
/// the CSR's SHA3-256 fingerprint, so a manager's scanner can check all three.
pub fn enrolment_qr_svg(
    request_id: i64,
    code: &str,
    csr_fingerprint: &Fingerprint,
) -> Result<String, ServiceError> {
    let text = format!("pqbank-enrol:{request_id}:{code}:{csr_fingerprint}");
    let qr = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(crate::trace::device_failed)?;
    Ok(qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// Upper-cases and drops separators, so "abcd efgh-jkmn" matches "ABCD-EFGH-JKMN".
fn normalise(code: &str) -> Vec<u8> {
    code.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_uppercase())
        .collect()
}

impl<S: Store> Service<S> {
    /// The device side: makes the request for the staff member numbered `staff_number`
    /// in `role`; returns its id and the short code to show.
    pub async fn request_enrolment(
        &self,
        device: &Device,
        recipient: &RecipientSecret,
        staff_number: &str,
        role: Role,
    ) -> Result<(i64, String), ServiceError> {
        let csr = CsrBuilder {
            subject: DistinguishedName::new("pqbank", staff_number.trim()).to_der(),
            device_id_hash: Some(device_id_hash(&device.id)),
        }
        .sign(device.key(), &random()?)
        .map_err(crate::trace::device_failed)?;
        let recipient_bytes = recipient.public().to_bytes();
        self.submit_enrolment(csr.der(), &recipient_bytes, staff_number, role)
            .await
    }

    /// The member of staff with this identifier.
    async fn staff_member(
        &self,
        staff_id: i64,
    ) -> Result<pqbank_db::views::StaffRow, ServiceError> {
        self.store
            .staff()
            .await?
            .into_iter()
            .find(|m| m.id == staff_id)
            .ok_or(ServiceError::Enrolment(
                "no member of staff has that number",
            ))
    }

    /// An enrolment request as a device made it (in process, or sent to pqbank-server
    /// before anyone signs in): the CSR (its proof of possession checked by the parser,
    /// a device named), the delivery key, the new hire's staff number (as on their
    /// badge; case and surrounding blanks ignored), a role a manager issues. Returns its
    /// id and the short code the device shows.
    pub async fn submit_enrolment(
        &self,
        csr_der: &[u8],
        recipient: &[u8],
        staff_number: &str,
        role: Role,
    ) -> Result<(i64, String), ServiceError> {
        let csr = CertificateRequest::from_der(csr_der).map_err(ServiceError::Certificate)?;
        if csr.device_id_hash().is_none() {
            return Err(ServiceError::Enrolment("the request names no device"));
        }
        RecipientPublic::from_bytes(recipient).map_err(ServiceError::Certificate)?;
        if !matches!(role, Role::Teller | Role::Auditor) {
            return Err(ServiceError::Enrolment(
                "a manager issues teller and auditor certificates",
            ));
        }
        let member = self
            .store
            .staff()
            .await?
            .into_iter()
            .find(|m| m.number.eq_ignore_ascii_case(staff_number.trim()))
            .ok_or(ServiceError::Enrolment(
                "no member of staff has that number",
            ))?;
        // A device asks for the role the bank holds for its staff member, never another.
        if member.role != role.as_str() {
            return Err(ServiceError::Enrolment(
                "that member of staff does not hold the role asked for",
            ));
        }
        let staff_id = member.id;
        let code = short_code(csr.der(), recipient);
        let id = self
            .store
            .insert_enrolment(&EnrolmentRecord {
                id: 0,
                csr_fingerprint: *csr.fingerprint().as_bytes(),
                csr_der: csr.der().to_vec(),
                kem_recipient: recipient.to_vec(),
                short_code: code.clone(),
                staff_id,
                requested_role: role.as_str().to_owned(),
                status: "pending".into(),
                decided_by: None,
                decided_at: None,
                certificate: None,
                bundle: None,
                created_at: self.now(),
            })
            .await?;
        // The code is what the manager must type: it is shown, never logged.
        tracing::info!(
            request = id,
            staff_id,
            role = role.as_str(),
            csr = %csr.fingerprint(),
            "enrolment requested"
        );
        Ok((id, code))
    }

    /// A device reads its own request, having signed the request's id and the time with
    /// the key its CSR names (within the clock skew): the status and, once approved, the
    /// sealed certificate. Another device's signature reads nothing.
    pub async fn enrolment_for_device(
        &self,
        request_id: i64,
        created_at: i64,
        signature: &[u8],
    ) -> Result<EnrolmentRecord, ServiceError> {
        let request = self
            .store
            .enrolment(request_id)
            .await?
            .ok_or(ServiceError::Enrolment("no such request"))?;
        let csr =
            CertificateRequest::from_der(&request.csr_der).map_err(ServiceError::Certificate)?;
        let bytes = pqbank_api::acts::enrolment_status_bytes(request_id, created_at);
        if csr
            .public_key()
            .verify(&bytes, crate::ACT_CONTEXT, signature)
            .is_err()
        {
            return Err(ServiceError::Certificate(pqbank_pki::Error::DeviceMismatch));
        }
        if created_at.abs_diff(self.now()) > crate::CLOCK_SKEW_MAX_SECS.unsigned_abs() {
            return Err(ServiceError::Request(pqbank_api::RequestError::new(
                pqbank_api::RequestCode::Stale,
                "the request's time is too far from the bank's",
            )));
        }
        Ok(request)
    }

    /// A manager approves a request after typing the code the device shows: the
    /// certificate is issued under the manager's CA certificate and sealed to the device.
    pub async fn approve_enrolment(
        &self,
        token: &SessionToken,
        manager: &Device,
        request_id: i64,
        typed_code: &str,
    ) -> Result<Fingerprint, ServiceError> {
        let auth = self.authorise(token, manager, Action::CertIssue).await?;
        let sign = manager.event_signer();
        let approval = Approval {
            request_id,
            typed_code,
            serial: random()?,
        };
        self.approve_enrolment_as(&auth, &sign, ActSigner::Device(manager), approval)
            .await
    }

    /// [`Self::approve_enrolment`] for an authorised manager, the certificate's
    /// to-be-signed bytes built here and signed `by` the device here or the workstation,
    /// the act chained with `sign`.
    pub(crate) async fn approve_enrolment_as(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        by: ActSigner<'_>,
        approval: Approval<'_>,
    ) -> Result<Fingerprint, ServiceError> {
        let request_id = approval.request_id;
        let decided = self.issue_enrolment(auth, sign, by, approval).await;
        match &decided {
            Ok(issued) => tracing::info!(
                certificate = %auth.certificate,
                staff_id = auth.staff_id,
                request = request_id,
                issued = %issued,
                "enrolment approved: act signed: cert.issue"
            ),
            Err(e) => tracing::warn!(
                certificate = %auth.certificate,
                staff_id = auth.staff_id,
                request = request_id,
                code = e.code().as_str(),
                layer = crate::layer_name(&e.code()),
                "enrolment refused: {e}"
            ),
        }
        decided
    }

    /// [`Self::approve_enrolment_as`]'s issue: the certificate, the decision with the
    /// sealed certificate, the device's row with its delivery key and the manager's event
    /// commit together.
    async fn issue_enrolment(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        by: ActSigner<'_>,
        approval: Approval<'_>,
    ) -> Result<Fingerprint, ServiceError> {
        let action = Action::CertIssue;
        let request = self
            .store
            .enrolment(approval.request_id)
            .await?
            .ok_or(ServiceError::Enrolment("no such request"))?;
        let checked = decidable(&request, approval.typed_code)?;
        let issuer = self.certificate(&auth.certificate).await?;
        let member = self.staff_member(request.staff_id).await?;
        let created_at = self.act_time(auth, sign, action, by).await?;
        let tbs = pqbank_api::acts::staff_certificate(
            pqbank_api::acts::StaffRequest {
                csr: &checked.csr,
                device_hash: checked.device_hash,
                role: checked.role,
                number: &member.number,
                name: &member.name,
            },
            &issuer,
            approval.serial,
            created_at,
        )
        .tbs_issued_by(&issuer)
        .map_err(ServiceError::Certificate)?;
        let signature = self.sign_one(auth, sign, action, by, (&[], &tbs)).await?;
        let cert = Certificate::assemble(&tbs, &signature).map_err(ServiceError::Certificate)?;
        self.serial_is_free(auth, sign, action, &cert).await?;
        let record = self.certificate_record(&cert, Some(request.staff_id));
        let fingerprint = cert.fingerprint();
        let now = self.now();
        let decision = EnrolmentDecision {
            id: approval.request_id,
            status: "approved".into(),
            decided_by: auth.staff_id,
            decided_at: now,
            certificate: Some(*fingerprint.as_bytes()),
            bundle: Some(sealed_to(&request, &cert)?),
        };
        let device = DeviceRecord {
            device_id_hash: checked.device_hash,
            staff_id: request.staff_id,
            label: format!("enrolment {}", approval.request_id),
            kem_recipient: request.kem_recipient.clone(),
            created_at: now,
        };
        // A request decided meanwhile leaves no certificate, device or event behind.
        match self
            .store
            .commit_logged(
                &[
                    RowWrite::Certificate(&record),
                    RowWrite::EnrolmentDecision(&decision),
                    RowWrite::Device(&device),
                ],
                &[LoggedEvent {
                    certificate: *auth.certificate.as_bytes(),
                    kind: "cert.issue",
                    payload: fingerprint.as_bytes(),
                    created_at: now,
                    sign,
                }],
            )
            .await
        {
            Ok(_) => Ok(fingerprint),
            Err(StoreError::Stale(Stale::Enrolment)) => {
                Err(ServiceError::Enrolment("the request was already decided"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The device side: opens the delivery bundle and checks the certificate is its own.
    pub async fn collect_enrolment(
        &self,
        request_id: i64,
        device: &Device,
        recipient: &RecipientSecret,
    ) -> Result<Certificate, ServiceError> {
        let request = self
            .store
            .enrolment(request_id)
            .await?
            .ok_or(ServiceError::Enrolment("no such request"))?;
        let sealed = request
            .bundle
            .ok_or(ServiceError::Enrolment("not approved yet"))?;
        let der = bundle::open(recipient, DELIVERY_PURPOSE, &sealed)
            .map_err(ServiceError::Certificate)?;
        let cert = Certificate::from_der(&der).map_err(ServiceError::Certificate)?;
        let claims = cert.claims();
        if cert.public_key() != device.key().verifying_key().as_bytes()
            || claims.device_id_hash != Some(device_id_hash(&device.id))
        {
            return Err(ServiceError::Enrolment(
                "the delivered certificate is not this device's",
            ));
        }
        tracing::info!(
            request = request_id,
            certificate = %cert.fingerprint(),
            "enrolment collected"
        );
        Ok(cert)
    }
}

/// The checks a request passes before a manager may issue for it: still pending, the
/// typed code the one its own bytes give, a role a manager issues, a device named.
fn decidable(request: &EnrolmentRecord, typed_code: &str) -> Result<Decidable, ServiceError> {
    if request.status != "pending" {
        return Err(ServiceError::Enrolment("the request was already decided"));
    }
    // The code is recomputed from the request's own bytes, never read from the row:
    // a database writer who swaps the CSR or the delivery key cannot keep the code.
    let expected = short_code(&request.csr_der, &request.kem_recipient);
    if !bool::from(normalise(typed_code).ct_eq(&normalise(&expected))) {
        return Err(ServiceError::Enrolment(
            "the code does not match the device's",
        ));
    }
    let role: Role = request
        .requested_role
        .parse()
        .map_err(|_| ServiceError::Enrolment("unknown role"))?;
    if !matches!(role, Role::Teller | Role::Auditor) {
        return Err(ServiceError::Enrolment(
            "a manager issues teller and auditor certificates",
        ));
    }
    let csr = CertificateRequest::from_der(&request.csr_der).map_err(ServiceError::Certificate)?;
    let device_hash = csr
        .device_id_hash()
        .ok_or(ServiceError::Enrolment("the request names no device"))?;
    Ok(Decidable {
        csr,
        role,
        device_hash,
    })
}

/// A manager's approval before it is signed: the request, the code typed, the new
/// certificate's serial.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Approval<'a> {
    pub request_id: i64,
    pub typed_code: &'a str,
    pub serial: [u8; pqbank_pki::cert::SERIAL_LEN],
}

/// A request that passed [`decidable`].
struct Decidable {
    csr: CertificateRequest,
    role: Role,
    device_hash: [u8; 32],
}

/// The certificate sealed to the request's delivery key.
fn sealed_to(request: &EnrolmentRecord, cert: &Certificate) -> Result<Vec<u8>, ServiceError> {
    let recipient =
        RecipientPublic::from_bytes(&request.kem_recipient).map_err(ServiceError::Certificate)?;
    bundle::seal(
        &recipient,
        DELIVERY_PURPOSE,
        cert.der(),
        SealRandomness {
            kem: random()?,
            x25519: random()?,
        },
    )
    .map_err(ServiceError::Certificate)
}
