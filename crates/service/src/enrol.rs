//! Enrolment: the device makes its request (CSR with proof of possession, its
//! sealed-bundle key, a short code); a manager who compared the code issues the
//! certificate under the manager's CA certificate and seals it to the device; the device
//! opens the bundle.

use pqbank_db::{
    EnrolmentDecision, EnrolmentRecord, LoggedEvent, RowWrite, Stale, Store, StoreError,
};
use pqbank_pki::bundle::{self, RecipientPublic, RecipientSecret, SealRandomness};
use pqbank_pki::cert::Issuer;
use pqbank_pki::ext::{DEFENCE_VERSION, device_id_hash};
use pqbank_pki::{
    Action, Certificate, CertificateBuilder, CertificateRequest, CsrBuilder, DistinguishedName,
    Fingerprint, Layer, Lineage, Role, StaffClaims,
};
use sha3::{Digest, Sha3_256};
use subtle::ConstantTimeEq;

use crate::service::{at, random};
use crate::{Device, Service, ServiceError, SessionToken};

/// Symbols of the short code: no 0, 1, O, I or L, so it reads aloud without doubt.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Symbols in a short code (three groups of four: about 59 bits).
const CODE_LEN: usize = 12;
/// Purpose label of certificate delivery bundles.
pub const DELIVERY_PURPOSE: &str = "pqbank/certificate-delivery/v1";
/// Days a staff certificate is valid.
const STAFF_CERT_DAYS: i64 = 365;

/// The short code of a request: SHA3-256 of the CSR and the recipient key, read out in
/// an unambiguous alphabet, grouped by four.
#[must_use]
pub fn short_code(csr_der: &[u8], recipient: &[u8]) -> String {
    let digest = Sha3_256::new()
        .chain_update(csr_der)
        .chain_update(recipient)
        .finalize();
    let mut value = u128::from_be_bytes(digest[..16].try_into().unwrap_or_default());
    let base = CODE_ALPHABET.len() as u128;
    let mut code = String::with_capacity(CODE_LEN + 2);
    for i in 0..CODE_LEN {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(CODE_ALPHABET[(value % base) as usize]));
        value /= base;
    }
    code
}

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
    /// The device side: makes the request for `staff_id` in `role`; returns its id and
    /// the short code to show.
    pub async fn request_enrolment(
        &self,
        device: &Device,
        recipient: &RecipientSecret,
        name: &str,
        staff_id: i64,
        role: Role,
    ) -> Result<(i64, String), ServiceError> {
        let csr = CsrBuilder {
            subject: DistinguishedName::new("pqbank", name).to_der(),
            device_id_hash: Some(device_id_hash(&device.id)),
        }
        .sign(device.key(), &random()?)
        .map_err(crate::trace::device_failed)?;
        let recipient_bytes = recipient.public().to_bytes();
        let code = short_code(csr.der(), &recipient_bytes);
        let id = self
            .store
            .insert_enrolment(&EnrolmentRecord {
                id: 0,
                csr_fingerprint: *csr.fingerprint().as_bytes(),
                csr_der: csr.der().to_vec(),
                kem_recipient: recipient_bytes,
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
        let decided = self
            .issue_enrolment(&auth, manager, request_id, typed_code)
            .await;
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

    /// [`Self::approve_enrolment`] once the manager's call is authorised.
    async fn issue_enrolment(
        &self,
        auth: &crate::check::Authorised,
        manager: &Device,
        request_id: i64,
        typed_code: &str,
    ) -> Result<Fingerprint, ServiceError> {
        let request = self
            .store
            .enrolment(request_id)
            .await?
            .ok_or(ServiceError::UnknownCertificate)?;
        let checked = decidable(&request, typed_code)?;
        let issuer = self.certificate(&auth.certificate).await?;
        let now = self.now();
        let cert = staff_certificate(&checked, request.staff_id, &issuer, manager, now)?;
        let record = self.certificate_record(&cert, Some(request.staff_id));
        let fingerprint = cert.fingerprint();
        let decision = EnrolmentDecision {
            id: request_id,
            status: "approved".into(),
            decided_by: auth.staff_id,
            decided_at: now,
            certificate: Some(*fingerprint.as_bytes()),
            bundle: Some(sealed_to(&request, &cert)?),
        };
        // The certificate, the decision and the manager's event commit together: a
        // request decided meanwhile leaves no certificate and no event behind.
        let sign = manager.event_signer();
        match self
            .store
            .commit_logged(
                &[
                    RowWrite::Certificate(&record),
                    RowWrite::EnrolmentDecision(&decision),
                ],
                &[LoggedEvent {
                    certificate: *auth.certificate.as_bytes(),
                    kind: "cert.issue",
                    payload: fingerprint.as_bytes(),
                    created_at: now,
                    sign: &sign,
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
            .ok_or(ServiceError::UnknownCertificate)?;
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

/// A request that passed [`decidable`].
struct Decidable {
    csr: CertificateRequest,
    role: Role,
    device_hash: [u8; 32],
}

/// The staff certificate for a checked request, issued under the manager's CA
/// certificate with the manager's device key: all seven layers, the role's actions, the
/// request's device, valid for [`STAFF_CERT_DAYS`].
fn staff_certificate(
    Decidable {
        csr,
        role,
        device_hash,
    }: &Decidable,
    staff_id: i64,
    issuer: &Certificate,
    manager: &Device,
    now: i64,
) -> Result<Certificate, ServiceError> {
    let role = *role;
    CertificateBuilder {
        serial: random()?,
        subject: csr.subject_der().to_vec(),
        subject_key: csr.public_key().clone(),
        not_before: at(now - 300),
        not_after: at(now + STAFF_CERT_DAYS * 86_400),
        ca_path_len: None,
        claims: StaffClaims {
            layers: Layer::ALL.to_vec(),
            role: Some(role),
            actions: role.actions().to_vec(),
            device_id_hash: Some(*device_hash),
            lineage: Some(Lineage {
                issuer: issuer.fingerprint(),
                replaces: None,
            }),
            defence_version: Some(DEFENCE_VERSION),
            staff_id: Some(format!("S-{staff_id}")),
        },
    }
    .sign(
        Issuer::Ca {
            certificate: issuer,
            key: manager.key(),
        },
        &random()?,
    )
    .map_err(ServiceError::Certificate)
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
