//! A workstation's client of `pqbank-server`: one kept-alive TLS connection
//! (`pqbank-net`: TLS 1.3, X25519MLKEM768 only, the server's key vouched for under the
//! pinned root), requests signed by the device's key, answers typed (`pqbank-api`'s
//! wire bodies) and refusals returned with the server's code.
//!
//! A [`Session`]'s requests go out one at a time, each with the next counter, so they
//! reach the server in the order they were signed: the server refuses a counter that is
//! not above the last one it accepted.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use pqbank_api::wire::{
    self, ActivityAnswer, ApproveAnswer, ApproveBody, ChainAnswer, ChallengeAnswer, ChallengeBody,
    CheckpointAnswer, CheckpointBody, CloseBody, CrlsAnswer, DrawerAnswer, DrawerEventView, Empty,
    EnrolmentRequestAnswer, EnrolmentRequestBody, EnrolmentStatusAnswer, EnrolmentStatusBody,
    EnrolmentsAnswer, ErrorBody, HeadAnswer, LogHead, LoginAnswer, LoginBody, OpenAnswer, OpenBody,
    PendingAnswer, PostAnswer, PostBody, PrepareAnswer, ProofAnswer, ProofBody, RenewAnswer,
    RenewBody, ReportAnswer, ResolveAnswer, ResolveBody, RevokeAnswer, RevokeBody, SearchAnswer,
    SearchBody, SignOffBody, StaffAnswer, StatusAnswer, SubjectBody, VariancesAnswer, VerifyAnswer,
};
use pqbank_api::{
    ACT_CONTEXT, LogPin, RequestHeader, Route, SignedReport, acts, body_hash, checkpoint_bytes,
    session_id,
};
use pqbank_ledger::{
    ApprovalRequest, DrawerAccounts, DrawerActs, Resolution, TransferRequest,
    variance_sign_off_bytes,
};
use pqbank_net::VouchedKey;
use pqbank_pki::bundle::{self, RecipientSecret};
use pqbank_pki::transcript::Transcript;
use pqbank_pki::{Certificate, CompositeSigningKey, Crl, Fingerprint, RevocationReason};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

/// Largest answer read.
pub const ANSWER_LEN_MAX: usize = 4 * 1024 * 1024;

/// A refusal or failure, with the code the window maps to a message and a layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ClientError {
    /// The server's code (`request.replayed`, `forbidden.action_not_allowed`, ...), or
    /// the transport's (`transport.server_key_unvouched`, ...).
    pub code: String,
    /// What happened.
    pub message: String,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
}

impl ClientError {
    fn local(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            status: None,
        }
    }
}

impl From<pqbank_net::Error> for ClientError {
    fn from(e: pqbank_net::Error) -> Self {
        Self::local(e.code(), e.to_string())
    }
}

/// A device: its identifier, the key its certificate holds, and its delivery key (the
/// server seals the session secret to it).
pub struct DeviceKey {
    /// The identifier (bound into the certificate as a hash).
    pub id: Vec<u8>,
    /// The composite key.
    pub key: CompositeSigningKey,
    /// The ML-KEM + X25519 delivery key registered at enrolment.
    pub recipient: RecipientSecret,
}

impl core::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceKey")
            .field("id", &String::from_utf8_lossy(&self.id))
            .finish_non_exhaustive()
    }
}

/// The connection to one server.
pub struct Remote {
    addr: SocketAddr,
    verifier: VouchedKey,
    connection: Mutex<Option<SendRequest<Full<Bytes>>>>,
}

impl core::fmt::Debug for Remote {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Remote")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// What went over the wire and what came back, for callers that build requests by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Remote {
    /// A client of the server at `addr`, whose TLS key the installation's `verifier`
    /// must find vouched for. Connects on first use.
    #[must_use]
    pub fn new(addr: SocketAddr, verifier: VouchedKey) -> Self {
        Self {
            addr,
            verifier,
            connection: Mutex::new(None),
        }
    }

    /// Sends one request as given (path, content type, extra header fields, body) and
    /// returns the status and body: the typed calls go through here, and so do tests
    /// that send what a client never would.
    pub async fn send_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        fields: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<RawAnswer, ClientError> {
        let mut slot = self.connection.lock().await;
        let alive = match slot.as_mut() {
            Some(sender) => sender.ready().await.is_ok(),
            None => false,
        };
        if !alive {
            *slot = Some(self.connect().await?);
        }
        let sender = slot
            .as_mut()
            .ok_or_else(|| ClientError::local("transport.io", "no connection"))?;
        let mut request = hyper::Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, self.addr.to_string());
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        for (name, value) in fields {
            request = request.header(*name, value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::local("transport.request", e.to_string()))?;
        let sent = sender.send_request(request).await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(e) => {
                *slot = None;
                return Err(ClientError::local("transport.io", e.to_string()));
            }
        };
        let status = answer.status().as_u16();
        let body = Limited::new(answer.into_body(), ANSWER_LEN_MAX)
            .collect()
            .await
            .map_err(|e| {
                ClientError::local("transport.io", format!("the answer did not arrive: {e}"))
            })?
            .to_bytes()
            .to_vec();
        Ok(RawAnswer { status, body })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ClientError> {
        let tls = pqbank_net::connect(self.addr, &self.verifier).await?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| ClientError::local("transport.io", e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection to the server ended");
            }
        });
        Ok(sender)
    }

    /// A typed call: the body as JSON, the answer parsed, a refusal returned as its code.
    async fn call<B: Serialize, A: DeserializeOwned>(
        &self,
        route: Route,
        fields: &[(&str, String)],
        body: &B,
    ) -> Result<A, ClientError> {
        let body =
            serde_json::to_vec(body).map_err(|e| ClientError::local("internal", e.to_string()))?;
        let answer = self
            .send_raw(&route.path(), Some(wire::CONTENT_TYPE), fields, body)
            .await?;
        read_answer(&answer)
    }

    /// The server's root and clock.
    pub async fn status(&self) -> Result<StatusAnswer, ClientError> {
        self.call(Route::Status, &[], &Empty {}).await
    }

    /// A new hire's device asks for a certificate for the staff member numbered
    /// `staff_number` in `role` (see [`EnrolmentRequest::new`]). Returns the request's id
    /// and the short code to show the manager (computed here; it never travels).
    pub async fn request_enrolment(
        &self,
        device: &DeviceKey,
        staff_number: &str,
        role: pqbank_pki::Role,
    ) -> Result<(i64, String), ClientError> {
        let request = EnrolmentRequest::new(device, staff_number, role)?;
        let id = self.submit_enrolment(&request).await?;
        Ok((id, request.code()))
    }

    /// Sends an enrolment request made on this device; returns its id.
    pub async fn submit_enrolment(&self, request: &EnrolmentRequest) -> Result<i64, ClientError> {
        let body = EnrolmentRequestBody {
            csr: STANDARD.encode(request.csr.der()),
            recipient: STANDARD.encode(&request.recipient),
            staff_number: request.staff_number.clone(),
            role: request.role.as_str().to_owned(),
        };
        let answer: EnrolmentRequestAnswer = self.call(Route::EnrolmentRequest, &[], &body).await?;
        Ok(answer.id)
    }

    /// The state of this device's own enrolment request, read with its signature.
    pub async fn enrolment_status(
        &self,
        device: &DeviceKey,
        id: i64,
    ) -> Result<EnrolmentStatusAnswer, ClientError> {
        let body = enrolment_status_body(device, id, now())?;
        self.call(Route::EnrolmentStatus, &[], &body).await
    }

    /// This device's certificate, once a manager approved its request.
    pub async fn collect_enrolment(
        &self,
        device: &DeviceKey,
        id: i64,
    ) -> Result<Certificate, ClientError> {
        let status = self.enrolment_status(device, id).await?;
        open_delivery(device, &status)
    }

    /// Logs in: asks a challenge, signs the transcript naming the origin the server
    /// recorded, and opens a session. The server's log head is checked (its signature)
    /// but held to no pin: [`Remote::login_pinned`] is what an installation calls.
    pub async fn login(
        &self,
        device: Arc<DeviceKey>,
        certificate: Fingerprint,
        declared_name: &str,
    ) -> Result<Session, ClientError> {
        Ok(self
            .login_pinned(device, certificate, declared_name, None)
            .await?
            .0)
    }

    /// [`Remote::login`], holding the server's log to `pin` (the highest log size this
    /// installation has seen and its root): the login answer's checkpoint must be signed
    /// by the server this connection's TLS key was vouched for, cover at least as many
    /// events, and extend the pinned log (its consistency proof). Returns the session
    /// and the pin to keep from now on.
    ///
    /// # Errors
    /// Code `audit` when the log is shorter than the pin, diverges from it, or its head
    /// is not the server's; the login's own errors.
    pub async fn login_pinned(
        &self,
        device: Arc<DeviceKey>,
        certificate: Fingerprint,
        declared_name: &str,
        pin: Option<LogPin>,
    ) -> Result<(Session, Option<LogPin>), ClientError> {
        let challenge: ChallengeAnswer = self
            .call(
                Route::LoginChallenge,
                &[],
                &ChallengeBody {
                    certificate: certificate.to_hex(),
                    device_id: STANDARD.encode(&device.id),
                    declared_name: declared_name.to_owned(),
                },
            )
            .await?;
        let nonce: [u8; 32] = STANDARD
            .decode(&challenge.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| ClientError::local("transport.answer", "the nonce is malformed"))?;
        let signed = Transcript {
            nonce,
            certificate,
            device_id: device.id.clone(),
            time: now(),
            origin: challenge.origin,
        }
        .sign(&device.key, &random()?)
        .map_err(|e| ClientError::local("device", e.to_string()))?;
        let opened: LoginAnswer = self
            .call(
                Route::Login,
                &[],
                &LoginBody {
                    certificate: certificate.to_hex(),
                    device_id: STANDARD.encode(&device.id),
                    declared_name: declared_name.to_owned(),
                    transcript: STANDARD.encode(signed.to_bytes()),
                    log_seen: pin.map_or(0, |p| p.size),
                },
            )
            .await?;
        let sealed = STANDARD
            .decode(&opened.sealed_session)
            .map_err(|_| ClientError::local("transport.answer", "the session is malformed"))?;
        // The secret stays in zeroized memory; only its hash, the session id, is kept.
        let unsealed = bundle::open(&device.recipient, wire::SESSION_PURPOSE, &sealed).ok();
        let id = unsealed
            .as_deref()
            .and_then(|s| <&[u8; 32]>::try_from(s.as_slice()).ok())
            .map(session_id)
            .ok_or_else(|| {
                ClientError::local(
                    "transport.session_unsealed",
                    "the session secret is not sealed to this device",
                )
            })?;
        let pin = held_log(opened.log.as_ref(), pin, || {
            self.verifier.server_certificate().ok_or_else(|| {
                ClientError::local("transport.answer", "no server key was vouched for")
            })
        })?;
        let session = Session {
            id,
            device,
            certificate,
            staff_id: opened.staff_id,
            role: opened
                .role
                .parse()
                .map_err(|_| ClientError::local("transport.answer", "the role is unknown"))?,
            counter: Mutex::new(0),
        };
        Ok((session, pin))
    }
}

/// The workstation's log pin after a login answer carrying `head` (checked with the
/// certificate `server` gives): a server signs a head for any log but an empty one, so
/// with a pin above zero, an answer without one is a log cut to nothing, or a server
/// hiding it, and is refused.
fn held_log(
    head: Option<&LogHead>,
    pin: Option<LogPin>,
    server: impl FnOnce() -> Result<Certificate, ClientError>,
) -> Result<Option<LogPin>, ClientError> {
    match head {
        Some(head) => Ok(Some(check_log_head(head, pin, &server()?)?)),
        None if pin.is_some_and(|p| p.size > 0) => Err(ClientError::local(
            "audit",
            "the bank's server sent no log head to hold its log to the one this \
             workstation has seen; tell the bank's security team",
        )),
        None => Ok(pin),
    }
}

/// Holds a server's log head to `pin`: signed by `server`'s key (the act context, over
/// [`checkpoint_bytes`]), no shorter than the pin, and consistent with it (RFC 9162,
/// 2.1.4.2). The head as the new pin.
///
/// # Errors
/// Code `audit` for a head not signed by the server, a log shorter than the pin or
/// diverging from it; `transport.answer` for a malformed head.
pub fn check_log_head(
    head: &LogHead,
    pin: Option<LogPin>,
    server: &Certificate,
) -> Result<LogPin, ClientError> {
    let malformed = || ClientError::local("transport.answer", "the log head is malformed");
    let hash = |h: &str| {
        hex::decode(h)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(malformed)
    };
    if head.consistency.len() > wire::CONSISTENCY_PROOF_LEN_MAX {
        return Err(malformed());
    }
    let root = hash(&head.root)?;
    let proof = head
        .consistency
        .iter()
        .map(|h| hash(h))
        .collect::<Result<Vec<_>, _>>()?;
    let signature = pqbank_api::from_text(&head.signature, pqbank_api::SIGNATURE_LEN)
        .map_err(|_| malformed())?;
    let key = pqbank_pki::composite::CompositeVerifyingKey::from_bytes(server.public_key())
        .map_err(|_| malformed())?;
    let signed = checkpoint_bytes(head.tree_size, &root, head.created_at);
    if key.verify(&signed, ACT_CONTEXT, &signature).is_err() {
        return Err(ClientError::local(
            "audit",
            "the bank's log head is not signed by the server this workstation reached",
        ));
    }
    if let Some(pin) = pin {
        if head.tree_size < pin.size {
            return Err(ClientError::local(
                "audit",
                "the bank's log is shorter than the one this workstation has seen: \
                 events were removed; tell the bank's security team",
            ));
        }
        let consistent = pin.size == 0
            || pqbank_audit::merkle::verify_consistency(
                pin.size,
                head.tree_size,
                &pin.root,
                &root,
                &proof,
            )
            .is_ok();
        if !consistent {
            return Err(ClientError::local(
                "audit",
                "the bank's log diverges from the one this workstation has seen: \
                 events were rewritten; tell the bank's security team",
            ));
        }
    }
    Ok(LogPin {
        size: head.tree_size,
        root,
    })
}

/// A signed-in session: the device signs each request with the next counter.
pub struct Session {
    id: [u8; 32],
    device: Arc<DeviceKey>,
    certificate: Fingerprint,
    /// The staff member.
    pub staff_id: i64,
    /// The role the certificate carries.
    pub role: pqbank_pki::Role,
    counter: Mutex<u64>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("certificate", &self.certificate)
            .field("staff_id", &self.staff_id)
            .finish_non_exhaustive()
    }
}

/// A request as the device signed it: its header fields and body, ready to send (and,
/// in tests, to send twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCall {
    /// The route.
    pub route: Route,
    /// The header fields (the signed header and the signature, base64).
    pub fields: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Session {
    /// The session's certificate.
    #[must_use]
    pub fn certificate(&self) -> Fingerprint {
        self.certificate
    }

    /// The same session (id and device identifier) with requests signed by `key`: what
    /// anyone who learnt the session's id could send. The server must refuse it.
    #[must_use]
    pub fn signed_by(&self, key: CompositeSigningKey) -> Self {
        Self {
            id: self.id,
            device: Arc::new(DeviceKey {
                id: self.device.id.clone(),
                key,
                recipient: RecipientSecret::from_seeds(
                    self.device.recipient.suite(),
                    self.device.recipient.kem_seed(),
                    self.device.recipient.x25519_secret(),
                ),
            }),
            certificate: self.certificate,
            staff_id: self.staff_id,
            role: self.role,
            counter: Mutex::new(0),
        }
    }

    /// Signs `body` for `route` with the next counter, to be sent with [`Self::send`].
    pub async fn sign<B: Serialize>(
        &self,
        route: Route,
        body: &B,
    ) -> Result<SignedCall, ClientError> {
        let mut counter = self.counter.lock().await;
        *counter += 1;
        self.sign_with(route, body, *counter)
    }

    /// Signs `body` for `route` with the counter given (tests replay and reorder).
    pub fn sign_with<B: Serialize>(
        &self,
        route: Route,
        body: &B,
        counter: u64,
    ) -> Result<SignedCall, ClientError> {
        let body =
            serde_json::to_vec(body).map_err(|e| ClientError::local("internal", e.to_string()))?;
        let header = RequestHeader {
            route,
            session: self.id,
            device_id: self.device.id.clone(),
            counter,
            client_time: now(),
            body_hash: body_hash(&body),
        };
        let (bytes, signature) = header
            .sign(&self.device.key, &random()?)
            .map_err(|e| ClientError::local("device", e.to_string()))?;
        Ok(SignedCall {
            route,
            fields: vec![
                (wire::HEADER_FIELD, pqbank_api::to_text(&bytes)),
                (wire::SIGNATURE_FIELD, pqbank_api::to_text(&signature)),
            ],
            body,
        })
    }

    /// Sends a signed call as it is.
    pub async fn send(&self, remote: &Remote, call: &SignedCall) -> Result<RawAnswer, ClientError> {
        remote
            .send_raw(
                &call.route.path(),
                Some(wire::CONTENT_TYPE),
                &call.fields,
                call.body.clone(),
            )
            .await
    }

    async fn call<B: Serialize, A: DeserializeOwned>(
        &self,
        remote: &Remote,
        route: Route,
        body: &B,
    ) -> Result<A, ClientError> {
        // The counter stays locked until the answer: the next request is signed after.
        let mut counter = self.counter.lock().await;
        *counter += 1;
        let call = self.sign_with(route, body, *counter)?;
        let answer = self.send(remote, &call).await?;
        drop(counter);
        read_answer(&answer)
    }

    /// Ends the session at the server.
    pub async fn logout(&self, remote: &Remote) -> Result<(), ClientError> {
        let _: Empty = self.call(remote, Route::Logout, &Empty {}).await?;
        Ok(())
    }

    /// Customers by name or number.
    pub async fn find_customers(
        &self,
        remote: &Remote,
        query: &str,
    ) -> Result<SearchAnswer, ClientError> {
        self.call(
            remote,
            Route::CustomersSearch,
            &SearchBody {
                query: query.to_owned(),
            },
        )
        .await
    }

    /// The caller's drawer.
    pub async fn drawer(&self, remote: &Remote) -> Result<DrawerAnswer, ClientError> {
        self.call(remote, Route::Drawer, &Empty {}).await
    }

    /// An act's bytes signed by this session's device under the act context (base64).
    pub fn sign_act(&self, bytes: &[u8]) -> Result<String, ClientError> {
        let signature = self
            .device
            .key
            .sign(bytes, ACT_CONTEXT, &random()?)
            .map_err(|e| ClientError::local("device", e.to_string()))?;
        Ok(STANDARD.encode(signature.as_bytes()))
    }

    /// The body of a transfer signed by this session's device, as the maker.
    pub fn signed_transfer(&self, transfer: TransferRequest) -> Result<PostBody, ClientError> {
        Ok(PostBody {
            signature: self.sign_act(&transfer.canonical_bytes())?,
            transfer,
        })
    }

    /// The accounts of the caller's drawer acts, as the server found them.
    fn drawer_acts<'k>(
        &self,
        drawer: &'k DrawerAnswer,
        counted_minor: i64,
        key: &'k str,
    ) -> Result<(DrawerActs<'k>, &'k wire::AccountView), ClientError> {
        let (Some(account), Some(vault), Some(variance)) =
            (&drawer.drawer, &drawer.vault, &drawer.variance)
        else {
            return Err(ClientError::local(
                "drawer.none",
                "the bank has no drawer, vault or variance account for you",
            ));
        };
        let acts = DrawerActs {
            teller: self.staff_id,
            accounts: DrawerAccounts {
                drawer: account.id,
                vault: vault.id,
                variance: variance.id,
                currency: account.currency,
            },
            counted_minor,
            key,
            created_at: now(),
        };
        Ok((acts, account))
    }

    /// Opens the caller's drawer with the counted float: reads the drawer, builds the
    /// open event and the float from its accounts, signs both here.
    pub async fn open_drawer(
        &self,
        remote: &Remote,
        counted_minor: i64,
        key: &str,
    ) -> Result<OpenAnswer, ClientError> {
        let drawer = self.drawer(remote).await?;
        let (acts, _) = self.drawer_acts(&drawer, counted_minor, key)?;
        let (event, float) = acts
            .open()
            .map_err(|e| ClientError::local(e.code(), e.to_string()))?;
        let body = OpenBody {
            counted_minor,
            idempotency_key: key.to_owned(),
            created_at: acts.created_at,
            signatures: vec![
                self.sign_act(&event.canonical_bytes())?,
                self.sign_act(&float.canonical_bytes())?,
            ],
        };
        self.call(remote, Route::DrawerOpen, &body).await
    }

    /// Closes the caller's drawer with the counted cash: reads the drawer and its
    /// balance, builds the close, the variance and the return against it, signs each
    /// here. A balance that moves before the close arrives is refused (`store.drawer`),
    /// nothing written; closing again reads it afresh.
    pub async fn close_drawer(
        &self,
        remote: &Remote,
        counted_minor: i64,
        key: &str,
    ) -> Result<DrawerEventView, ClientError> {
        let drawer = self.drawer(remote).await?;
        let (acts, account) = self.drawer_acts(&drawer, counted_minor, key)?;
        let expected_minor = i64::try_from(account.balances.balance(account.kind.normal_side()))
            .map_err(|_| {
                ClientError::local("transport.answer", "the drawer's balance is out of range")
            })?;
        let closing = acts
            .close(expected_minor)
            .map_err(|e| ClientError::local(e.code(), e.to_string()))?;
        let signatures = closing
            .signed_bytes()
            .iter()
            .map(|b| self.sign_act(b))
            .collect::<Result<_, _>>()?;
        let body = CloseBody {
            counted_minor,
            expected_minor,
            idempotency_key: key.to_owned(),
            created_at: acts.created_at,
            signatures,
        };
        self.call(remote, Route::DrawerClose, &body).await
    }

    /// Drawer closes whose variance waits for a manager.
    pub async fn variance_queue(&self, remote: &Remote) -> Result<VariancesAnswer, ClientError> {
        self.call(remote, Route::Variances, &Empty {}).await
    }

    /// A manager signs off a close's variance, signed here.
    pub async fn sign_off_variance(
        &self,
        remote: &Remote,
        event_id: i64,
    ) -> Result<(), ClientError> {
        let body = SignOffBody {
            event_id,
            signature: self.sign_act(&variance_sign_off_bytes(event_id, self.staff_id))?,
        };
        let _: Empty = self.call(remote, Route::VarianceSignOff, &body).await?;
        Ok(())
    }

    /// Posts a transfer signed here.
    pub async fn post_transfer(
        &self,
        remote: &Remote,
        transfer: TransferRequest,
    ) -> Result<PostAnswer, ClientError> {
        let body = self.signed_transfer(transfer)?;
        self.post_signed(remote, &body).await
    }

    /// Posts a transfer signed before (a retry sends the same signed transfer).
    pub async fn post_signed(
        &self,
        remote: &Remote,
        body: &PostBody,
    ) -> Result<PostAnswer, ClientError> {
        self.call(remote, Route::TransferPost, body).await
    }

    /// A manager's decision on a pending transfer, signed here over the approval's bytes
    /// (this session's staff member as the approver).
    pub async fn resolve_transfer(
        &self,
        remote: &Remote,
        id: i64,
        request_hash: &str,
        post: bool,
    ) -> Result<ResolveAnswer, ClientError> {
        let request_hash = request_hash.trim();
        let transfer_hash: [u8; 32] = hex::decode(request_hash)
            .ok()
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| {
                // The caller's input, refused before anything is sent, with the code the
                // service gives it in process.
                ClientError::local(
                    &pqbank_api::RequestCode::Malformed.to_string(),
                    "the transfer hash is malformed",
                )
            })?;
        let created_at = now();
        let approval = ApprovalRequest {
            transfer_id: id,
            transfer_hash,
            approver: self.staff_id,
            // Not signed: the service sets it from the certificate.
            approver_is_manager: false,
            decision: if post {
                Resolution::Post
            } else {
                Resolution::Void
            },
            created_at,
        };
        let signature = self.sign_act(&approval.canonical_bytes())?;
        self.call(
            remote,
            Route::TransferResolve,
            &ResolveBody {
                transfer_id: id,
                transfer_hash: request_hash.to_owned(),
                post,
                created_at,
                signature,
            },
        )
        .await
    }

    /// Signs a checkpoint of the log as the server sequenced it: reads its size and
    /// root, signs them here. The server recomputes the root for that size and refuses a
    /// signature over any other.
    pub async fn checkpoint(&self, remote: &Remote) -> Result<CheckpointAnswer, ClientError> {
        let head: HeadAnswer = self.call(remote, Route::CheckpointHead, &Empty {}).await?;
        let root: [u8; 32] = hex::decode(&head.root)
            .ok()
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| ClientError::local("transport.answer", "the log's root is malformed"))?;
        let created_at = now();
        let body = CheckpointBody {
            tree_size: head.tree_size,
            created_at,
            signature: self.sign_act(&checkpoint_bytes(head.tree_size, &root, created_at))?,
        };
        let stored: CheckpointAnswer = self.call(remote, Route::Checkpoint, &body).await?;
        // What comes back must be what was signed here, or nothing of it is trusted.
        if stored.tree_size != head.tree_size || stored.root != head.root {
            return Err(ClientError::local(
                "transport.answer",
                "the stored checkpoint is not the one signed",
            ));
        }
        Ok(stored)
    }

    /// Verifies the whole log at the server.
    pub async fn verify_log(&self, remote: &Remote) -> Result<VerifyAnswer, ClientError> {
        self.call(remote, Route::Verify, &Empty {}).await
    }

    /// An event's inclusion proof against the checkpoint of `tree_size`.
    pub async fn inclusion_proof(
        &self,
        remote: &Remote,
        event_id: i64,
        tree_size: u64,
    ) -> Result<ProofAnswer, ClientError> {
        let body = ProofBody {
            event_id,
            tree_size,
        };
        self.call(remote, Route::InclusionProof, &body).await
    }

    /// A certificate's accountability chain.
    pub async fn chain(
        &self,
        remote: &Remote,
        subject: Fingerprint,
    ) -> Result<ChainAnswer, ClientError> {
        let body = SubjectBody {
            certificate: subject.to_hex(),
        };
        self.call(remote, Route::Chain, &body).await
    }

    /// A certificate's accountability report as the server made it, and this session's
    /// device's signature over its exact bytes.
    pub async fn accountability_report(
        &self,
        remote: &Remote,
        subject: Fingerprint,
    ) -> Result<(Vec<u8>, Vec<u8>), ClientError> {
        let body = SubjectBody {
            certificate: subject.to_hex(),
        };
        let answer: ReportAnswer = self.call(remote, Route::Report, &body).await?;
        let json = STANDARD
            .decode(&answer.json)
            .map_err(|_| ClientError::local("transport.answer", "the report is not base64"))?;
        let signature = self
            .device
            .key
            .sign(&json, ACT_CONTEXT, &random()?)
            .map_err(|e| ClientError::local("device", e.to_string()))?;
        Ok((json, signature.into_bytes()))
    }

    /// Every event's certificate, kind and time.
    pub async fn activity(&self, remote: &Remote) -> Result<ActivityAnswer, ClientError> {
        self.call(remote, Route::Activity, &Empty {}).await
    }

    /// The staff, certificates and revocations: as a manager ([`Route::Staff`]) or an
    /// auditor ([`Route::StaffAudit`]).
    pub async fn staff(&self, remote: &Remote, route: Route) -> Result<StaffAnswer, ClientError> {
        self.call(remote, route, &Empty {}).await
    }

    /// The newest CRL of every CA: as a manager ([`Route::Crls`]) or an auditor
    /// ([`Route::CrlsAudit`]).
    pub async fn current_crls(
        &self,
        remote: &Remote,
        route: Route,
    ) -> Result<CrlsAnswer, ClientError> {
        self.call(remote, route, &Empty {}).await
    }

    /// Enrolment requests waiting for a manager.
    pub async fn enrolment_queue(&self, remote: &Remote) -> Result<EnrolmentsAnswer, ClientError> {
        self.call(remote, Route::Enrolments, &Empty {}).await
    }

    /// Bytes signed by this session's device with no context, as X.509 signs a
    /// certificate's or CRL's to-be-signed bytes (base64).
    fn sign_tbs(&self, tbs: &[u8]) -> Result<String, ClientError> {
        let signature = self
            .device
            .key
            .sign(tbs, &[], &random()?)
            .map_err(|e| ClientError::local("device", e.to_string()))?;
        Ok(STANDARD.encode(signature.as_bytes()))
    }

    /// What a revocation or renewal of `target` is signed over, parsed: the manager's
    /// certificate, the target, the newest CRL, the CRL lifetime in days.
    async fn prepare(
        &self,
        remote: &Remote,
        target: Fingerprint,
    ) -> Result<(Certificate, Certificate, Option<Crl>, i64), ClientError> {
        let body = SubjectBody {
            certificate: target.to_hex(),
        };
        let p: PrepareAnswer = self.call(remote, Route::CertificatePrepare, &body).await?;
        let der = |text: &str| {
            STANDARD
                .decode(text)
                .map_err(|_| ClientError::local("transport.answer", "not base64"))
        };
        let cert = |text: &str| {
            Certificate::from_der(&der(text)?)
                .map_err(|e| ClientError::local("transport.answer", e.to_string()))
        };
        let crl = match &p.crl {
            Some(text) => Some(
                Crl::from_der(&der(text)?)
                    .map_err(|e| ClientError::local("transport.answer", e.to_string()))?,
            ),
            None => None,
        };
        Ok((cert(&p.issuer)?, cert(&p.target)?, crl, p.crl_days))
    }

    /// The next CRL's and the revocation's signatures for revoking `target` at `now`.
    fn sign_revocation(
        &self,
        (issuer, target, latest, days): &(Certificate, Certificate, Option<Crl>, i64),
        reason: RevocationReason,
        now: i64,
    ) -> Result<[String; 2], ClientError> {
        let crl = acts::next_crl(latest.as_ref(), target.serial(), reason, now, *days);
        let tbs = crl
            .tbs(issuer)
            .map_err(|e| ClientError::local("device", e.to_string()))?;
        let number = i64::try_from(crl.number).unwrap_or(i64::MAX);
        let row = acts::revocation_bytes(&target.fingerprint(), reason.as_str(), number, now);
        Ok([self.sign_tbs(&tbs)?, self.sign_act(&row)?])
    }

    /// Revokes a certificate this session's manager issued: reads the newest CRL, builds
    /// and signs the next one and the revocation here.
    pub async fn revoke(
        &self,
        remote: &Remote,
        target: Fingerprint,
        reason: RevocationReason,
    ) -> Result<RevokeAnswer, ClientError> {
        let prepared = self.prepare(remote, target).await?;
        let created_at = now();
        let body = RevokeBody {
            certificate: target.to_hex(),
            reason,
            created_at,
            signatures: self
                .sign_revocation(&prepared, reason, created_at)?
                .to_vec(),
        };
        self.call(remote, Route::CertificateRevoke, &body).await
    }

    /// Renews a certificate this session's manager issued: builds and signs the renewed
    /// certificate (a random serial), the next CRL and the revocation of the old one here.
    pub async fn renew(
        &self,
        remote: &Remote,
        old: Fingerprint,
    ) -> Result<RenewAnswer, ClientError> {
        let prepared = self.prepare(remote, old).await?;
        let created_at = now();
        let serial: [u8; pqbank_pki::cert::SERIAL_LEN] = random::<16>()?;
        let (issuer, previous, ..) = &prepared;
        let tbs = acts::renewal(previous, issuer, serial, created_at)
            .and_then(|b| b.tbs_issued_by(issuer))
            .map_err(|e| ClientError::local("device", e.to_string()))?;
        let [crl, row] =
            self.sign_revocation(&prepared, RevocationReason::Superseded, created_at)?;
        let body = RenewBody {
            certificate: old.to_hex(),
            serial: hex::encode(serial),
            created_at,
            signatures: vec![self.sign_tbs(&tbs)?, crl, row],
        };
        self.call(remote, Route::CertificateRenew, &body).await
    }

    /// Approves an enrolment request after the manager typed the code the new hire's
    /// screen shows: the certificate is built here from the request (a random serial)
    /// and signed here; the server checks the code and rebuilds it.
    pub async fn approve_enrolment(
        &self,
        remote: &Remote,
        queue: &EnrolmentsAnswer,
        request: &wire::EnrolmentView,
        typed_code: &str,
    ) -> Result<ApproveAnswer, ClientError> {
        let malformed = |what: &str| ClientError::local("transport.answer", what.to_owned());
        let der = |text: &str| STANDARD.decode(text).map_err(|_| malformed("not base64"));
        let issuer =
            Certificate::from_der(&der(&queue.issuer)?).map_err(|e| malformed(&e.to_string()))?;
        // She issues under her own certificate, and only the roles a manager issues.
        if issuer.fingerprint() != self.certificate {
            return Err(malformed(
                "an issuer that is not this manager's certificate",
            ));
        }
        let csr = pqbank_pki::CertificateRequest::from_der(&der(&request.csr)?)
            .map_err(|e| malformed(&e.to_string()))?;
        let device_hash = csr
            .device_id_hash()
            .ok_or_else(|| malformed("the request names no device"))?;
        let role: pqbank_pki::Role = request
            .requested_role
            .parse()
            .map_err(|_| malformed("an unknown role"))?;
        if !matches!(role, pqbank_pki::Role::Teller | pqbank_pki::Role::Auditor) {
            return Err(malformed("a role a manager does not issue"));
        }
        let serial: [u8; pqbank_pki::cert::SERIAL_LEN] = random::<16>()?;
        let created_at = now();
        let tbs = acts::staff_certificate(
            acts::StaffRequest {
                csr: &csr,
                device_hash,
                role,
                number: &request.staff_number,
                name: &request.name,
            },
            &issuer,
            serial,
            created_at,
        )
        .tbs_issued_by(&issuer)
        .map_err(|e| ClientError::local("device", e.to_string()))?;
        let body = ApproveBody {
            request_id: request.id,
            code: typed_code.to_owned(),
            serial: hex::encode(serial),
            created_at,
            signature: self.sign_tbs(&tbs)?,
        };
        self.call(remote, Route::EnrolmentApprove, &body).await
    }

    /// Transfers waiting for a manager.
    pub async fn pending_transfers(&self, remote: &Remote) -> Result<PendingAnswer, ClientError> {
        self.call(remote, Route::TransfersPending, &Empty {}).await
    }
}

/// The typed answer, or the refusal the server gave.
pub fn read_answer<A: DeserializeOwned>(answer: &RawAnswer) -> Result<A, ClientError> {
    if answer.status == StatusCode::OK.as_u16() {
        return serde_json::from_slice(&answer.body).map_err(|e| {
            ClientError::local("transport.answer", format!("the answer is malformed: {e}"))
        });
    }
    match serde_json::from_slice::<ErrorBody>(&answer.body) {
        Ok(e) => Err(ClientError {
            code: e.code,
            message: e.message,
            status: Some(answer.status),
        }),
        Err(_) => Err(ClientError {
            code: "transport.answer".into(),
            message: format!("the server answered {} without a code", answer.status),
            status: Some(answer.status),
        }),
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A new hire's enrolment request, made on their device: the CSR signed with the
/// device's key (its subject the staff number: the bank names the certificate's holder
/// from its own records), the device's identifier hashed into it, and the delivery key
/// the certificate will be sealed to.
#[derive(Debug, Clone)]
pub struct EnrolmentRequest {
    /// The CSR.
    pub csr: pqbank_pki::CertificateRequest,
    /// The delivery key (ML-KEM-512 + X25519, public).
    pub recipient: Vec<u8>,
    /// The staff number asked for, trimmed.
    pub staff_number: String,
    /// The role asked for.
    pub role: pqbank_pki::Role,
}

impl EnrolmentRequest {
    /// Builds and signs the request on `device`.
    ///
    /// # Errors
    /// `device` if the key cannot sign.
    pub fn new(
        device: &DeviceKey,
        staff_number: &str,
        role: pqbank_pki::Role,
    ) -> Result<Self, ClientError> {
        let staff_number = staff_number.trim().to_owned();
        let csr = pqbank_pki::CsrBuilder {
            subject: pqbank_pki::DistinguishedName::new("pqbank", &staff_number).to_der(),
            device_id_hash: Some(pqbank_pki::ext::device_id_hash(&device.id)),
        }
        .sign(&device.key, &random()?)
        .map_err(|e| ClientError::local("device", e.to_string()))?;
        Ok(Self {
            csr,
            recipient: device.recipient.public().to_bytes(),
            staff_number,
            role,
        })
    }

    /// The short code the device shows its manager, from the request's own bytes.
    #[must_use]
    pub fn code(&self) -> String {
        acts::short_code(self.csr.der(), &self.recipient)
    }
}

/// A device's signed read of its own enrolment request `id` at `created_at`.
///
/// # Errors
/// `device` if the key cannot sign.
pub fn enrolment_status_body(
    device: &DeviceKey,
    id: i64,
    created_at: i64,
) -> Result<EnrolmentStatusBody, ClientError> {
    let signature = device
        .key
        .sign(
            &acts::enrolment_status_bytes(id, created_at),
            ACT_CONTEXT,
            &random()?,
        )
        .map_err(|e| ClientError::local("device", e.to_string()))?;
    Ok(EnrolmentStatusBody {
        id,
        created_at,
        signature: STANDARD.encode(signature.as_bytes()),
    })
}

/// The certificate an approved request delivers: the bundle opened with the device's
/// delivery key, the certificate checked to be for this device's key and identifier.
///
/// # Errors
/// `enrolment` if the request is not approved, the bundle does not open or the
/// certificate is another device's; `transport.answer` if the answer is malformed.
pub fn open_delivery(
    device: &DeviceKey,
    status: &EnrolmentStatusAnswer,
) -> Result<Certificate, ClientError> {
    let sealed = status
        .bundle
        .as_ref()
        .ok_or_else(|| ClientError::local("enrolment", "not approved yet"))?;
    let sealed = STANDARD
        .decode(sealed)
        .map_err(|_| ClientError::local("transport.answer", "the bundle is not base64"))?;
    let der = bundle::open(&device.recipient, acts::DELIVERY_PURPOSE, &sealed)
        .map_err(|e| ClientError::local("enrolment", e.to_string()))?;
    let cert =
        Certificate::from_der(&der).map_err(|e| ClientError::local("enrolment", e.to_string()))?;
    if cert.public_key() != device.key.verifying_key().as_bytes()
        || cert.claims().device_id_hash != Some(pqbank_pki::ext::device_id_hash(&device.id))
    {
        return Err(ClientError::local(
            "enrolment",
            "the delivered certificate is not this device's",
        ));
    }
    Ok(cert)
}

fn random<const N: usize>() -> Result<[u8; N], ClientError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)
        .map_err(|e| ClientError::local("device", format!("no randomness: {e}")))?;
    Ok(out)
}

/// A session at pqbank-server with the connection it travels on: the remote side of
/// [`pqbank_api::Bank`].
#[derive(Debug)]
pub struct ServerBank {
    /// The connection.
    pub remote: Remote,
    /// The signed-in session.
    pub session: Session,
}

impl ServerBank {
    /// The route of a list shared by managers and auditors: each role has its own.
    fn read_route(&self, managers: Route, auditors: Route) -> Route {
        if self.session.role == pqbank_pki::Role::Auditor {
            auditors
        } else {
            managers
        }
    }
}

fn wire_error(e: ClientError) -> ErrorBody {
    ErrorBody {
        code: e.code,
        message: e.message,
    }
}

impl pqbank_api::Bank for ServerBank {
    fn staff_id(&self) -> i64 {
        self.session.staff_id
    }

    fn role(&self) -> pqbank_pki::Role {
        self.session.role
    }

    fn certificate(&self) -> Fingerprint {
        self.session.certificate
    }

    async fn find_customers(&self, query: &str) -> pqbank_api::BankResult<SearchAnswer> {
        let answer = self.session.find_customers(&self.remote, query).await;
        answer.map_err(wire_error)
    }

    async fn drawer(&self) -> pqbank_api::BankResult<DrawerAnswer> {
        self.session.drawer(&self.remote).await.map_err(wire_error)
    }

    async fn open_drawer(
        &self,
        counted_minor: i64,
        key: &str,
    ) -> pqbank_api::BankResult<OpenAnswer> {
        let answer = self
            .session
            .open_drawer(&self.remote, counted_minor, key)
            .await;
        answer.map_err(wire_error)
    }

    async fn close_drawer(
        &self,
        counted_minor: i64,
        key: &str,
    ) -> pqbank_api::BankResult<DrawerEventView> {
        let answer = self
            .session
            .close_drawer(&self.remote, counted_minor, key)
            .await;
        answer.map_err(wire_error)
    }

    async fn post_transfer(&self, transfer: TransferRequest) -> pqbank_api::BankResult<PostAnswer> {
        let answer = self.session.post_transfer(&self.remote, transfer).await;
        answer.map_err(wire_error)
    }

    async fn pending_transfers(&self) -> pqbank_api::BankResult<PendingAnswer> {
        let answer = self.session.pending_transfers(&self.remote).await;
        answer.map_err(wire_error)
    }

    async fn resolve_transfer(
        &self,
        id: i64,
        request_hash: &str,
        post: bool,
    ) -> pqbank_api::BankResult<ResolveAnswer> {
        let answer = self
            .session
            .resolve_transfer(&self.remote, id, request_hash, post)
            .await;
        answer.map_err(wire_error)
    }

    async fn variance_queue(&self) -> pqbank_api::BankResult<VariancesAnswer> {
        let answer = self.session.variance_queue(&self.remote).await;
        answer.map_err(wire_error)
    }

    async fn sign_off_variance(&self, event_id: i64) -> pqbank_api::BankResult<()> {
        let answer = self.session.sign_off_variance(&self.remote, event_id).await;
        answer.map_err(wire_error)
    }

    async fn checkpoint(&self) -> pqbank_api::BankResult<CheckpointAnswer> {
        let answer = self.session.checkpoint(&self.remote).await;
        answer.map_err(wire_error)
    }

    async fn verify_log(&self) -> pqbank_api::BankResult<VerifyAnswer> {
        let answer = self.session.verify_log(&self.remote).await;
        answer.map_err(wire_error)
    }

    async fn inclusion_proof(
        &self,
        event_id: i64,
        tree_size: u64,
    ) -> pqbank_api::BankResult<ProofAnswer> {
        let answer = self
            .session
            .inclusion_proof(&self.remote, event_id, tree_size)
            .await;
        answer.map_err(wire_error)
    }

    async fn chain(&self, subject: Fingerprint) -> pqbank_api::BankResult<ChainAnswer> {
        let answer = self.session.chain(&self.remote, subject).await;
        answer.map_err(wire_error)
    }

    async fn report(&self, subject: Fingerprint) -> pqbank_api::BankResult<SignedReport> {
        let answer = self
            .session
            .accountability_report(&self.remote, subject)
            .await;
        let (json, signature) = answer.map_err(wire_error)?;
        Ok(SignedReport {
            json,
            signer: self.session.certificate,
            signature,
        })
    }

    async fn activity(&self) -> pqbank_api::BankResult<ActivityAnswer> {
        self.session
            .activity(&self.remote)
            .await
            .map_err(wire_error)
    }

    async fn staff(&self) -> pqbank_api::BankResult<StaffAnswer> {
        let route = self.read_route(Route::Staff, Route::StaffAudit);
        let answer = self.session.staff(&self.remote, route).await;
        answer.map_err(wire_error)
    }

    async fn crls(&self) -> pqbank_api::BankResult<CrlsAnswer> {
        let route = self.read_route(Route::Crls, Route::CrlsAudit);
        let answer = self.session.current_crls(&self.remote, route).await;
        answer.map_err(wire_error)
    }

    async fn enrolment_queue(&self) -> pqbank_api::BankResult<EnrolmentsAnswer> {
        let answer = self.session.enrolment_queue(&self.remote).await;
        answer.map_err(wire_error)
    }

    async fn approve_enrolment(
        &self,
        request_id: i64,
        typed_code: &str,
    ) -> pqbank_api::BankResult<ApproveAnswer> {
        let queue = self
            .session
            .enrolment_queue(&self.remote)
            .await
            .map_err(wire_error)?;
        let request = queue
            .requests
            .iter()
            .find(|r| r.id == request_id)
            .ok_or_else(|| ErrorBody {
                code: "enrolment".into(),
                message: "no such request is waiting".into(),
            })?;
        let answer = self
            .session
            .approve_enrolment(&self.remote, &queue, request, typed_code)
            .await;
        answer.map_err(wire_error)
    }

    async fn revoke(
        &self,
        certificate: Fingerprint,
        reason: RevocationReason,
    ) -> pqbank_api::BankResult<RevokeAnswer> {
        let answer = self.session.revoke(&self.remote, certificate, reason).await;
        answer.map_err(wire_error)
    }

    async fn renew(&self, certificate: Fingerprint) -> pqbank_api::BankResult<RenewAnswer> {
        let answer = self.session.renew(&self.remote, certificate).await;
        answer.map_err(wire_error)
    }

    async fn logout(&self) -> pqbank_api::BankResult<()> {
        self.session.logout(&self.remote).await.map_err(wire_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_server() -> Result<Certificate, ClientError> {
        Err(ClientError::local("test", "no certificate is needed here"))
    }

    /// Proves a login answer without a log head is refused once the workstation has
    /// pinned a log, and is no refusal before it has.
    #[test]
    fn an_answer_without_a_head_is_refused_with_a_pin() {
        let pin = LogPin {
            size: 3,
            root: [7; 32],
        };
        let refused = held_log(None, Some(pin), no_server).map_err(|e| e.code);
        assert_eq!(refused, Err("audit".to_owned()));
        assert_eq!(held_log(None, None, no_server).ok(), Some(None));
        let empty = LogPin {
            size: 0,
            root: [0; 32],
        };
        assert_eq!(
            held_log(None, Some(empty), no_server).ok(),
            Some(Some(empty))
        );
    }
}
