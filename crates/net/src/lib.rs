//! pqbank's transport: TLS 1.3 (RFC 8446) with the hybrid key exchange X25519MLKEM768
//! (draft-ietf-tls-ecdhe-mlkem) and nothing else, on both ends, and a server whose TLS
//! key is trusted only because the bank's pinned post-quantum root vouches for it.
//!
//! - [`provider`]: rustls' aws-lc-rs provider restricted to X25519MLKEM768; every config
//!   here is built with it, never with a process-wide default.
//! - [`TlsKey`], [`ServerIdentity`]: the server's TLS key and its self-signed TLS
//!   certificate carrying the vouching bundle (`pqbank_pki::server`).
//! - [`VouchedKey`]: the client's `ServerCertVerifier`, holding the root fingerprint.
//! - [`acceptor`] / [`accept`], [`connect`]: the two ends over TCP, each checking after
//!   the handshake that the negotiated group is the hybrid one ([`require_hybrid`]).
//!
//! Session resumption is off on both ends: a resumed TLS 1.3 session skips the
//! certificate, and with it the CRL check of a server certificate revoked since.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod error;
mod identity;
mod verify;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::crypto::aws_lc_rs::{default_provider, kx_group};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, CommonState, NamedGroup, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

pub use error::{Code, Error};
pub use identity::{ServerIdentity, TlsKey};
pub use verify::VouchedKey;

/// The only key exchange group either end offers or accepts.
pub const KX_GROUP: NamedGroup = NamedGroup::X25519MLKEM768;
/// Longest a handshake may take, on either end, before the connection is dropped.
pub const HANDSHAKE_TIMEOUT_MS: u64 = 10_000;

/// The aws-lc-rs provider with X25519MLKEM768 as its only key exchange group.
#[must_use]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        kx_groups: vec![kx_group::X25519MLKEM768],
        ..default_provider()
    })
}

/// The server's config: TLS 1.3 only, the hybrid group only, no client certificate
/// (devices prove themselves by signing each request), no session tickets.
pub fn server_config(identity: &ServerIdentity) -> Result<Arc<ServerConfig>, Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![identity.certificate().clone()], identity.private_key())
        .map_err(|e| Error::Config(e.to_string()))?;
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    Ok(Arc::new(config))
}

/// A tokio-rustls acceptor over [`server_config`].
pub fn acceptor(identity: &ServerIdentity) -> Result<TlsAcceptor, Error> {
    Ok(TlsAcceptor::from(server_config(identity)?))
}

/// Accepts one TLS connection within [`HANDSHAKE_TIMEOUT_MS`] and checks its group.
pub async fn accept(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
) -> Result<server::TlsStream<TcpStream>, Error> {
    let stream = tokio::time::timeout(handshake_timeout(), acceptor.accept(tcp))
        .await
        .map_err(|_| Error::Timeout)?
        .map_err(Error::from_io)?;
    require_hybrid(stream.get_ref().1)?;
    Ok(stream)
}

/// The client's config: TLS 1.3 only, the hybrid group only, the server's key checked by
/// `verifier`, no resumption.
pub fn client_config(verifier: VouchedKey) -> Result<Arc<ClientConfig>, Error> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

/// Connects to the server at `addr` whose key `verifier`'s pinned root must vouch for. A
/// refused key fails the handshake, before any request byte is sent. Keep one verifier per
/// installation (seeded with the installation's root CRL pin): it remembers the newest
/// root CRL it accepted and refuses an older one on every later connection.
pub async fn connect(
    addr: SocketAddr,
    verifier: &VouchedKey,
) -> Result<client::TlsStream<TcpStream>, Error> {
    connect_with(addr, client_config(verifier.clone())?).await
}

/// [`connect`] with a config of the caller's (a CRL pin, or a test's classical client).
pub async fn connect_with(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> Result<client::TlsStream<TcpStream>, Error> {
    let handshake = async {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| Error::Io(Arc::new(e)))?;
        // The name is not checked (see `VouchedKey`); an address sends no SNI.
        let name = ServerName::IpAddress(addr.ip().into());
        TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(Error::from_io)
    };
    let stream = tokio::time::timeout(handshake_timeout(), handshake)
        .await
        .map_err(|_| Error::Timeout)??;
    require_hybrid(stream.get_ref().1)?;
    Ok(stream)
}

/// Refuses a connection whose negotiated group is not [`KX_GROUP`] or whose version is
/// not TLS 1.3; the providers allow nothing else, and this says so after the fact.
pub fn require_hybrid(state: &CommonState) -> Result<(), Error> {
    if state.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        return Err(Error::Tls12Refused);
    }
    match state.negotiated_key_exchange_group() {
        Some(group) if group.name() == KX_GROUP => Ok(()),
        _ => Err(Error::KxNotHybrid),
    }
}

fn handshake_timeout() -> Duration {
    Duration::from_millis(HANDSHAKE_TIMEOUT_MS)
}
