//! The accountability report of a certificate (auditors only): its metadata, the time
//! and origin of its first intent, its signed event chain with the hash commitments, and
//! every act done under it; as JSON, signed by the auditor's device. Producing one is
//! itself logged on the auditor's chain.

use pqbank_db::Store;
use pqbank_pki::transcript::{SignedTranscript, Transcript};
use pqbank_pki::{Action, Fingerprint};
use serde_json::{Value, json};

use crate::{Device, Service, ServiceError, SessionToken};

pub use pqbank_api::SignedReport;

fn rfc3339(unix: i64) -> String {
    crate::service::at(unix)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| unix.to_string())
}

impl<S: Store> Service<S> {
    /// The accountability report of `subject`.
    pub async fn accountability_report(
        &self,
        token: &SessionToken,
        device: &Device,
        subject: Fingerprint,
    ) -> Result<SignedReport, ServiceError> {
        let auth = self.authorise(token, device, Action::AuditReport).await?;
        let json = self
            .report_as(&auth, &device.event_signer(), subject)
            .await?;
        Ok(SignedReport {
            signature: device.sign_act(&json)?,
            json,
            signer: auth.certificate,
        })
    }

    /// The report's bytes for an authorised auditor, its making chained with `sign`;
    /// the auditor signs them (here with the device, or on the workstation).
    pub(crate) async fn report_as(
        &self,
        auth: &crate::check::Authorised,
        sign: pqbank_db::Signer<'_>,
        subject: Fingerprint,
    ) -> Result<Vec<u8>, ServiceError> {
        let cert = self.certificate(&subject).await?;
        let events = self.store.events(subject.as_bytes()).await?;
        let first_intent = events
            .iter()
            .find(|e| e.event.kind == "login")
            .and_then(|e| {
                let signed = first_transcript(&e.event.payload)?;
                let t = Transcript::from_bytes(&signed.transcript).ok()?;
                Some(json!({ "time": rfc3339(t.time), "origin": t.origin, "event": e.event.seq }))
            });
        let acts: Vec<Value> = self
            .store
            .transfers()
            .await?
            .iter()
            .filter(|t| t.signed.signer == *subject.as_bytes())
            .map(act_json)
            .collect();
        let report = json!({
            "report": "pqbank accountability report",
            "generatedAt": rfc3339(self.now()),
            "certificate": certificate_json(&cert, subject),
            "firstIntent": first_intent,
            "chainHead": events.last().map(|e| hex::encode(e.hash)),
            "chain": events.iter().map(event_json).collect::<Vec<_>>(),
            "acts": acts,
        });
        let bytes = serde_json::to_vec_pretty(&report).map_err(crate::trace::device_failed)?;
        self.log(auth, sign, "audit.report", subject.as_bytes())
            .await?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            subject = %subject,
            "act signed: audit.report"
        );
        Ok(bytes)
    }
}

/// The report's account of the certificate: who, issued by whom, for what, until when.
fn certificate_json(cert: &pqbank_pki::Certificate, subject: Fingerprint) -> Value {
    let claims = cert.claims();
    json!({
        "fingerprint": subject.to_hex(),
        "subject": cert.subject_text(),
        "issuer": cert.issuer_text(),
        "role": claims.role.map(|r| r.as_str()),
        "staffId": claims.staff_id,
        "allowedActions": claims.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "defenceVersion": claims.defence_version,
        "lineage": claims.lineage.map(|l| json!({
            "issuer": l.issuer.to_hex(),
            "replaces": l.replaces.map(|r| r.to_hex()),
        })),
        "notBefore": rfc3339(cert.not_before().unix_timestamp()),
        "notAfter": rfc3339(cert.not_after().unix_timestamp()),
    })
}

/// One event of the certificate's chain, with its hash commitments.
fn event_json(e: &pqbank_db::EventRecord) -> Value {
    json!({
        "seq": e.event.seq,
        "kind": e.event.kind,
        "time": rfc3339(e.event.created_at),
        "prevHash": hex::encode(e.event.prev_hash),
        "hash": hex::encode(e.hash),
        "signature": hex::encode(&e.signature[..16.min(e.signature.len())]) + "…",
    })
}

/// One transfer the certificate signed.
fn act_json(t: &pqbank_db::TransferRow) -> Value {
    json!({
        "transfer": t.id,
        "kind": t.request.kind.as_str(),
        "amount": t.request.amount.to_string(),
        "debit": t.request.debit,
        "credit": t.request.credit,
        "status": t.status.as_str(),
        "time": rfc3339(t.recorded_at),
        "requestHash": hex::encode(t.request_hash),
    })
}

/// The signed transcript at the start of a login event's payload (transcript length
/// prefix, transcript, signature; the validated path follows).
fn first_transcript(payload: &[u8]) -> Option<SignedTranscript> {
    let len = u32::from_be_bytes(payload.get(..4)?.try_into().ok()?) as usize;
    let end = 4 + len + pqbank_pki::composite::SIGNATURE_LEN;
    SignedTranscript::from_bytes(payload.get(..end)?).ok()
}
