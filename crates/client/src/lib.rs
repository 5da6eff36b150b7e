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
    self, ChallengeAnswer, ChallengeBody, DrawerAnswer, Empty, ErrorBody, LoginAnswer, LoginBody,
    PendingAnswer, PendingItem, PostAnswer, PostBody, ResolveAnswer, ResolveBody, SearchAnswer,
    SearchBody, StatusAnswer,
};
use pqbank_api::{ACT_CONTEXT, RequestHeader, Route, body_hash, session_id};
use pqbank_ledger::{ApprovalRequest, Resolution, TransferRequest};
use pqbank_net::VouchedKey;
use pqbank_pki::bundle::{self, RecipientSecret};
use pqbank_pki::transcript::Transcript;
use pqbank_pki::{CompositeSigningKey, Fingerprint};
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

    /// Logs in: asks a challenge, signs the transcript naming the origin the server
    /// recorded, and opens a session.
    pub async fn login(
        &self,
        device: Arc<DeviceKey>,
        certificate: Fingerprint,
        declared_name: &str,
    ) -> Result<Session, ClientError> {
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
        Ok(Session {
            id,
            device,
            certificate,
            staff_id: opened.staff_id,
            role: opened.role,
            counter: Mutex::new(0),
        })
    }
}

/// A signed-in session: the device signs each request with the next counter.
pub struct Session {
    id: [u8; 32],
    device: Arc<DeviceKey>,
    certificate: Fingerprint,
    /// The staff member.
    pub staff_id: i64,
    /// The role the certificate carries.
    pub role: String,
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
            role: self.role.clone(),
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

    /// The body of a transfer signed by this session's device, as the maker.
    pub fn signed_transfer(&self, transfer: TransferRequest) -> Result<PostBody, ClientError> {
        let signature = self
            .device
            .key
            .sign(&transfer.canonical_bytes(), ACT_CONTEXT, &random()?)
            .map_err(|e| ClientError::local("device", e.to_string()))?;
        Ok(PostBody {
            transfer,
            signature: STANDARD.encode(signature.as_bytes()),
        })
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
        item: &PendingItem,
        post: bool,
    ) -> Result<ResolveAnswer, ClientError> {
        let transfer_hash: [u8; 32] = hex::decode(&item.request_hash)
            .ok()
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| {
                ClientError::local("transport.answer", "the transfer hash is malformed")
            })?;
        let created_at = now();
        let approval = ApprovalRequest {
            transfer_id: item.id,
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
        let signature = self
            .device
            .key
            .sign(&approval.canonical_bytes(), ACT_CONTEXT, &random()?)
            .map_err(|e| ClientError::local("device", e.to_string()))?;
        self.call(
            remote,
            Route::TransferResolve,
            &ResolveBody {
                transfer_id: item.id,
                transfer_hash: item.request_hash.clone(),
                post,
                created_at,
                signature: STANDARD.encode(signature.as_bytes()),
            },
        )
        .await
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

fn random() -> Result<[u8; 32], ClientError> {
    let mut out = [0u8; 32];
    getrandom::fill(&mut out)
        .map_err(|e| ClientError::local("device", format!("no randomness: {e}")))?;
    Ok(out)
}
