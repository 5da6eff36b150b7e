//! The server's HTTP/1.1 over TLS: connections accepted under a cap, the handshake and
//! the header fields under timeouts, each request bounded in size and time, checked for
//! method, route and content type before its body is read, and rate-limited per address
//! and per session before the service sees it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use pqbank_api::wire::{CONTENT_TYPE as JSON, HEADER_FIELD, SIGNATURE_FIELD};
use pqbank_api::{HEADER_LEN_MAX, RequestCode, Route, SIGNATURE_LEN};
use pqbank_db::Store;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::answer::{Answer, Refusal};
use crate::limits::{
    ADDRESS_BURST, ADDRESS_RATE, BODY_BYTES_MAX, CONNECTION_LIFETIME, CONNECTIONS_MAX,
    HEADER_BYTES_MAX, HEADER_READ_TIMEOUT, REQUEST_TIMEOUT, SESSION_BURST, SESSION_RATE,
    VERIFY_TIMEOUT,
};
use crate::rate::RateTable;
use crate::{App, dispatch};

/// The rate tables of one server.
#[derive(Debug)]
pub(crate) struct Rates {
    addresses: RateTable<std::net::IpAddr>,
    sessions: RateTable<[u8; 32]>,
}

impl Rates {
    pub(crate) fn new(limits: &RateLimits) -> Self {
        Self {
            addresses: RateTable::new(limits.address_rate, limits.address_burst),
            sessions: RateTable::new(limits.session_rate, limits.session_burst),
        }
    }
}

/// Request rates: per address for the routes without a session (status, login), per
/// session for the others. A branch's workstations may share one address behind its
/// router, so signed requests are counted by their session, never by their address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    /// Sustained requests per second from one address, on routes without a session.
    pub address_rate: f64,
    /// Burst from one address.
    pub address_burst: f64,
    /// Sustained requests per second on one session.
    pub session_rate: f64,
    /// Burst on one session.
    pub session_burst: f64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            address_rate: ADDRESS_RATE,
            address_burst: ADDRESS_BURST,
            session_rate: SESSION_RATE,
            session_burst: SESSION_BURST,
        }
    }
}

/// Serves `listener` until the task is dropped: each connection on its own task, at
/// most [`CONNECTIONS_MAX`] at once.
pub async fn serve<S: Store + 'static>(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Arc<App<S>>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors and the like: the listener itself is fine.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let tls = match pqbank_net::accept(&acceptor, tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::info!(%peer, code = e.code(), "TLS handshake refused: {e}");
                    return;
                }
            };
            let service = service_fn(move |request| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(answer(&app, peer, request).await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(HEADER_BYTES_MAX)
                .serve_connection(TokioIo::new(tls), service);
            match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "connection ended"),
                Err(_) => tracing::debug!(%peer, "connection closed: lifetime reached"),
            }
        });
    }
}

/// One request's answer, within [`REQUEST_TIMEOUT`] (the log's verification within
/// [`VERIFY_TIMEOUT`], its body still within [`REQUEST_TIMEOUT`]).
async fn answer<S: Store>(app: &App<S>, peer: SocketAddr, request: Request<Incoming>) -> Answer {
    let started = Instant::now();
    let path = request.uri().path().to_owned();
    let limit = if Route::from_path(&path) == Some(Route::Verify) {
        VERIFY_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    let answer = match tokio::time::timeout(limit, respond(app, peer, request)).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(refusal)) => refusal.answer(),
        Err(_) => Refusal::from(RequestCode::Timeout).answer(),
    };
    tracing::debug!(
        %peer,
        path,
        status = answer.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "served"
    );
    answer
}

/// Checks, in order and before the body is read: the method, the route, the address's
/// rate (routes without a session), the content type, the declared length; then reads the body within its limit
/// and hands it to the route.
async fn respond<S: Store>(
    app: &App<S>,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Answer, Refusal> {
    if request.method() != Method::POST {
        return Err(RequestCode::Method.into());
    }
    let route = Route::from_path(request.uri().path()).ok_or(RequestCode::RouteUnknown)?;
    if !route.authenticated() && !app.rates.addresses.take(peer.ip(), Instant::now()) {
        return Err(RequestCode::Busy.into());
    }
    let json = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(JSON));
    if !json {
        return Err(RequestCode::ContentType.into());
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_BYTES_MAX as u64) {
        return Err(RequestCode::TooLarge.into());
    }
    let signed = if route.authenticated() {
        Some(signed_fields(&request)?)
    } else {
        None
    };
    let body = tokio::time::timeout(REQUEST_TIMEOUT, read_body(request.into_body()))
        .await
        .map_err(|_| Refusal::from(RequestCode::Timeout))??;
    match signed {
        None => dispatch::open(app, route, peer, &body).await,
        Some((header, signature)) => {
            let request = pqbank_api::decode(route, &header, &signature, &body)?;
            if !app
                .rates
                .sessions
                .take(request.header().session, Instant::now())
            {
                return Err(RequestCode::Busy.into());
            }
            dispatch::signed(app, route, &request).await
        }
    }
}

/// The signed header and the signature from their header fields.
fn signed_fields(request: &Request<Incoming>) -> Result<(Vec<u8>, Vec<u8>), Refusal> {
    let field = |name: &str, max: usize| -> Result<Vec<u8>, Refusal> {
        let text = request
            .headers()
            .get(name)
            .ok_or(RequestCode::Unsigned)?
            .to_str()
            .map_err(|_| Refusal::from(RequestCode::Malformed))?;
        Ok(pqbank_api::from_text(text, max)?)
    };
    Ok((
        field(HEADER_FIELD, HEADER_LEN_MAX)?,
        field(SIGNATURE_FIELD, SIGNATURE_LEN)?,
    ))
}

/// The whole body, refused past [`BODY_BYTES_MAX`] whatever the client declared.
async fn read_body(body: Incoming) -> Result<Bytes, Refusal> {
    match Limited::new(body, BODY_BYTES_MAX).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(RequestCode::TooLarge.into()),
        Err(_) => Err(Refusal::malformed("a complete body")),
    }
}
