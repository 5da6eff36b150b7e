//! Routes to service calls: each body parsed into its wire type (refused as
//! `request.malformed` if it is not), the call made, the answer written as JSON.

use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::StatusCode;
use pqbank_api::wire::{
    ApproveAnswer, ApproveBody, ChallengeAnswer, ChallengeBody, CheckpointBody, CloseBody,
    DECLARED_NAME_LEN_MAX, Empty, EnrolmentRequestAnswer, EnrolmentRequestBody,
    EnrolmentStatusBody, HeadAnswer, LogHead, LoginAnswer, LoginBody, OpenAnswer, OpenBody,
    PostAnswer, PostBody, PrepareAnswer, ProofBody, RenewAnswer, RenewBody, ReportAnswer,
    ResolveAnswer, ResolveBody, RevokeAnswer, RevokeBody, SearchBody, SignOffBody, StatusAnswer,
    SubjectBody,
};
use pqbank_api::{Request, RequestCode, Route};
use pqbank_db::Store;
use pqbank_pki::Fingerprint;
use pqbank_pki::transcript::SignedTranscript;
use pqbank_service::{ACT_SIGNATURES_MAX, SignedAt, SignedCount, SignedDecision, wire_views};
use serde::de::DeserializeOwned;

use crate::App;
use crate::answer::{Answer, Refusal, json};

/// A route that needs no session: the status, the login challenge and the login.
pub(crate) async fn open<S: Store>(
    app: &App<S>,
    route: Route,
    peer: SocketAddr,
    body: &[u8],
) -> Result<Answer, Refusal> {
    let service = &app.service;
    match route {
        Route::Status => {
            let _: Empty = parse(body)?;
            Ok(ok(&StatusAnswer {
                root: app.root.to_hex(),
                server_time: service.now(),
            }))
        }
        Route::LoginChallenge => {
            let asked: ChallengeBody = parse(body)?;
            let certificate = fingerprint(&asked.certificate)?;
            let device_id = base64(&asked.device_id, pqbank_api::DEVICE_ID_LEN_MAX)?;
            let origin = origin(peer, &asked.declared_name)?;
            let nonce = service.challenge(certificate, &device_id, &origin).await?;
            Ok(ok(&ChallengeAnswer {
                nonce: STANDARD.encode(nonce),
                origin,
            }))
        }
        Route::Login => {
            let login: LoginBody = parse(body)?;
            let certificate = fingerprint(&login.certificate)?;
            let device_id = base64(&login.device_id, pqbank_api::DEVICE_ID_LEN_MAX)?;
            let origin = origin(peer, &login.declared_name)?;
            let transcript = base64(&login.transcript, TRANSCRIPT_LEN_MAX)?;
            let signed = SignedTranscript::from_bytes(&transcript)
                .map_err(|_| Refusal::malformed("a signed login transcript"))?;
            let opened = service
                .login_at_server(certificate, &device_id, &origin, &signed)
                .await?;
            // The workstation holds the log to its own pin with this.
            let log = service
                .log_head_since(login.log_seen)
                .await?
                .map(|(c, proof)| LogHead {
                    tree_size: u64::try_from(c.tree_size).unwrap_or(0),
                    root: hex::encode(c.root),
                    created_at: c.created_at,
                    signature: STANDARD.encode(&c.signature),
                    consistency: proof.iter().map(hex::encode).collect(),
                });
            Ok(ok(&LoginAnswer {
                sealed_session: STANDARD.encode(&opened.sealed),
                staff_id: opened.staff_id,
                role: opened.role.as_str().to_owned(),
                idle_timeout_secs: opened.idle_timeout_secs,
                log,
            }))
        }
        Route::EnrolmentRequest => {
            let asked: EnrolmentRequestBody = parse(body)?;
            let csr = base64(&asked.csr, pqbank_pki::csr::DER_LEN_MAX)?;
            let recipient = base64(&asked.recipient, RECIPIENT_LEN_MAX)?;
            let role = asked
                .role
                .parse()
                .map_err(|_| Refusal::malformed("a role"))?;
            if asked.staff_number.len() > STAFF_NUMBER_LEN_MAX {
                return Err(Refusal::malformed("a staff number"));
            }
            let (id, _) = service
                .submit_enrolment(&csr, &recipient, &asked.staff_number, role)
                .await?;
            Ok(ok(&EnrolmentRequestAnswer { id }))
        }
        Route::EnrolmentStatus => {
            let asked: EnrolmentStatusBody = parse(body)?;
            let signature = base64(&asked.signature, pqbank_api::SIGNATURE_LEN)?;
            let request = service
                .enrolment_for_device(asked.id, asked.created_at, &signature)
                .await?;
            Ok(ok(&wire_views::enrolment_status(request)))
        }
        _ => Err(not_served()),
    }
}

/// Longest delivery key read (an ML-KEM-512 + X25519 recipient is under 1 KiB).
const RECIPIENT_LEN_MAX: usize = 4 * 1024;

/// Longest staff number read.
const STAFF_NUMBER_LEN_MAX: usize = 32;

/// Longest enrolment code read (twelve symbols and separators).
const CODE_LEN_MAX: usize = 32;

/// A route of a session: the request passed [`pqbank_api::decode`]; the service checks
/// its signature, chain and counter before acting.
pub(crate) async fn signed<S: Store>(
    app: &App<S>,
    route: Route,
    request: &Request<'_>,
) -> Result<Answer, Refusal> {
    let service = &app.service;
    let body = request.body();
    match route {
        Route::Logout => {
            let _: Empty = parse(body)?;
            service.serve_logout(request).await?;
            Ok(ok(&Empty {}))
        }
        Route::CustomersSearch => {
            let search: SearchBody = parse(body)?;
            let found = service.serve_find_customers(request, &search.query).await?;
            Ok(ok(&wire_views::search(found)))
        }
        Route::Drawer => {
            let _: Empty = parse(body)?;
            let state = service.serve_drawer(request).await?;
            Ok(ok(&wire_views::drawer(&state)))
        }
        Route::TransferPost => {
            let post: PostBody = parse(body)?;
            let signature = base64(&post.signature, pqbank_api::SIGNATURE_LEN)?;
            let outcome = service
                .serve_post_transfer(request, post.transfer, signature)
                .await?;
            Ok(ok(&PostAnswer {
                id: outcome.id,
                status: outcome.status,
                expires_at: outcome.expires_at,
                replayed: outcome.replayed,
            }))
        }
        Route::TransfersPending => {
            let _: Empty = parse(body)?;
            let rows = service.serve_pending_transfers(request).await?;
            Ok(ok(&wire_views::pending_answer(service, rows).await?))
        }
        Route::TransferResolve => {
            let resolve: ResolveBody = parse(body)?;
            let transfer_hash = hex::decode(&resolve.transfer_hash)
                .ok()
                .and_then(|h| <[u8; 32]>::try_from(h).ok())
                .ok_or_else(|| Refusal::malformed("a transfer hash"))?;
            let status = service
                .serve_resolve_transfer(
                    request,
                    SignedDecision {
                        transfer_id: resolve.transfer_id,
                        transfer_hash,
                        post: resolve.post,
                        created_at: resolve.created_at,
                        signature: base64(&resolve.signature, pqbank_api::SIGNATURE_LEN)?,
                    },
                )
                .await?;
            Ok(ok(&ResolveAnswer { status }))
        }
        Route::DrawerOpen => {
            let open: OpenBody = parse(body)?;
            let count = SignedCount {
                counted_minor: open.counted_minor,
                idempotency_key: open.idempotency_key,
                signed: signed_at(open.created_at, &open.signatures)?,
            };
            let event_id = service.serve_open_drawer(request, count).await?;
            Ok(ok(&OpenAnswer { event_id }))
        }
        Route::DrawerClose => {
            let close: CloseBody = parse(body)?;
            let count = SignedCount {
                counted_minor: close.counted_minor,
                idempotency_key: close.idempotency_key,
                signed: signed_at(close.created_at, &close.signatures)?,
            };
            let row = service
                .serve_close_drawer(request, count, close.expected_minor)
                .await?;
            Ok(ok(&wire_views::drawer_event(row)))
        }
        Route::Variances => {
            let _: Empty = parse(body)?;
            let rows = service.serve_variance_queue(request).await?;
            Ok(ok(&wire_views::variances_answer(service, rows).await?))
        }
        Route::VarianceSignOff => {
            let sign_off: SignOffBody = parse(body)?;
            let signature = base64(&sign_off.signature, pqbank_api::SIGNATURE_LEN)?;
            service
                .serve_sign_off_variance(request, sign_off.event_id, signature)
                .await?;
            Ok(ok(&Empty {}))
        }
        Route::CheckpointHead => {
            let _: Empty = parse(body)?;
            let (tree_size, root) = service.serve_checkpoint_head(request).await?;
            Ok(ok(&HeadAnswer {
                tree_size,
                root: hex::encode(root),
            }))
        }
        Route::Checkpoint => {
            let asked: CheckpointBody = parse(body)?;
            let signature = base64(&asked.signature, pqbank_api::SIGNATURE_LEN)?;
            let c = service
                .serve_checkpoint(request, asked.tree_size, asked.created_at, signature)
                .await?;
            Ok(ok(&wire_views::checkpoint(&c)))
        }
        Route::Verify => {
            let _: Empty = parse(body)?;
            let report = service.serve_verify(request).await?;
            Ok(ok(&wire_views::verify(report)))
        }
        Route::InclusionProof => {
            let asked: ProofBody = parse(body)?;
            let p = service
                .serve_inclusion_proof(request, asked.event_id, asked.tree_size)
                .await?;
            Ok(ok(&wire_views::proof(&p)))
        }
        Route::Chain => {
            let asked: SubjectBody = parse(body)?;
            let events = service
                .serve_chain(request, fingerprint(&asked.certificate)?)
                .await?;
            Ok(ok(&wire_views::chain(events)))
        }
        Route::Report => {
            let asked: SubjectBody = parse(body)?;
            let json = service
                .serve_report(request, fingerprint(&asked.certificate)?)
                .await?;
            Ok(ok(&ReportAnswer {
                json: STANDARD.encode(json),
            }))
        }
        Route::Activity => {
            let _: Empty = parse(body)?;
            let events = service.serve_activity(request).await?;
            Ok(ok(&wire_views::activity(events)))
        }
        Route::Staff | Route::StaffAudit => {
            let _: Empty = parse(body)?;
            let o = service.serve_staff(request).await?;
            Ok(ok(&wire_views::staff(o)))
        }
        Route::Crls | Route::CrlsAudit => {
            let _: Empty = parse(body)?;
            let crls = service.serve_current_crls(request).await?;
            Ok(ok(&wire_views::crls(crls)))
        }
        Route::Enrolments => {
            let _: Empty = parse(body)?;
            let (queue, issuer) = service.serve_enrolment_queue(request).await?;
            Ok(ok(
                &wire_views::enrolments_answer(service, queue, &issuer).await?
            ))
        }
        Route::EnrolmentApprove => {
            let asked: ApproveBody = parse(body)?;
            if asked.code.len() > CODE_LEN_MAX {
                return Err(Refusal::malformed("an enrolment code"));
            }
            let serial = hex::decode(&asked.serial)
                .ok()
                .and_then(|s| <[u8; pqbank_pki::cert::SERIAL_LEN]>::try_from(s).ok())
                .ok_or_else(|| Refusal::malformed("a 16-byte serial number"))?;
            let signed = SignedAt {
                created_at: asked.created_at,
                signatures: vec![base64(&asked.signature, pqbank_api::SIGNATURE_LEN)?],
            };
            let issued = service
                .serve_approve_enrolment(request, asked.request_id, &asked.code, serial, signed)
                .await?;
            Ok(ok(&ApproveAnswer {
                certificate: issued.to_hex(),
            }))
        }
        Route::CertificatePrepare => {
            let asked: SubjectBody = parse(body)?;
            let p = service
                .serve_prepare_certificate(request, fingerprint(&asked.certificate)?)
                .await?;
            Ok(ok(&PrepareAnswer {
                issuer: STANDARD.encode(&p.issuer),
                target: STANDARD.encode(&p.target),
                crl: p.crl.map(|c| STANDARD.encode(c)),
                crl_days: p.crl_days,
            }))
        }
        Route::CertificateRevoke => {
            let asked: RevokeBody = parse(body)?;
            let signed = signed_at(asked.created_at, &asked.signatures)?;
            let crl_number = service
                .serve_revoke(
                    request,
                    fingerprint(&asked.certificate)?,
                    asked.reason,
                    signed,
                )
                .await?;
            Ok(ok(&RevokeAnswer { crl_number }))
        }
        Route::CertificateRenew => {
            let asked: RenewBody = parse(body)?;
            let serial = hex::decode(&asked.serial)
                .ok()
                .and_then(|s| <[u8; pqbank_pki::cert::SERIAL_LEN]>::try_from(s).ok())
                .ok_or_else(|| Refusal::malformed("a 16-byte serial number"))?;
            let signed = signed_at(asked.created_at, &asked.signatures)?;
            let renewed = service
                .serve_renew(request, fingerprint(&asked.certificate)?, serial, signed)
                .await?;
            Ok(ok(&RenewAnswer {
                certificate: STANDARD.encode(renewed.der()),
                fingerprint: renewed.fingerprint().to_hex(),
            }))
        }
        _ => Err(not_served()),
    }
}

/// A body's time and its acts' signatures.
fn signed_at(created_at: i64, texts: &[String]) -> Result<SignedAt, Refusal> {
    Ok(SignedAt {
        created_at,
        signatures: signatures(texts)?,
    })
}

/// The acts' signatures of a body: at most [`ACT_SIGNATURES_MAX`], each of a composite
/// signature's length.
fn signatures(texts: &[String]) -> Result<Vec<Vec<u8>>, Refusal> {
    if texts.len() > ACT_SIGNATURES_MAX {
        return Err(Refusal::malformed("at most three act signatures"));
    }
    texts
        .iter()
        .map(|t| base64(t, pqbank_api::SIGNATURE_LEN))
        .collect()
}

/// Longest signed login transcript read.
const TRANSCRIPT_LEN_MAX: usize = 8 * 1024;

fn ok<T: serde::Serialize>(body: &T) -> Answer {
    json(StatusCode::OK, body)
}

fn not_served() -> Refusal {
    Refusal {
        code: RequestCode::RouteUnknown.to_string(),
        message: "this server does not serve that route yet".into(),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|_| Refusal::malformed("the JSON this route takes"))
}

fn base64(text: &str, max: usize) -> Result<Vec<u8>, Refusal> {
    Ok(pqbank_api::from_text(text, max)?)
}

fn fingerprint(text: &str) -> Result<Fingerprint, Refusal> {
    Fingerprint::from_hex(text).map_err(|_| Refusal::malformed("a certificate fingerprint"))
}

/// The login origin: the address the server saw, with the name the workstation declared
/// beside it, marked as declared (only the address is the server's own observation).
fn origin(peer: SocketAddr, declared: &str) -> Result<String, Refusal> {
    let printable = declared
        .chars()
        .all(|c| !c.is_control() && c != '(' && c != ')');
    if declared.is_empty() || declared.len() > DECLARED_NAME_LEN_MAX || !printable {
        return Err(Refusal {
            code: RequestCode::Malformed.to_string(),
            message: format!(
                "the declared workstation name must be 1 to {DECLARED_NAME_LEN_MAX} printable \
                 bytes without parentheses"
            ),
        });
    }
    Ok(format!("{} (declared: {declared})", peer.ip()))
}
