//! The transport over loopback: the hybrid group is what both ends negotiate, a
//! classical-only client is refused, and a server whose TLS key the pinned root does not
//! vouch for (another key, another root, revoked, expired, no bundle) is refused by the
//! client inside the handshake, so the server receives no application byte.

mod common;

use std::sync::Arc;

use common::{Bank, PING, identity, serve_once, tls_key};
use pqbank_net::{Code, Error, VouchedKey, client_config, connect, connect_with, server_config};
use rustls::NamedGroup;
use rustls::crypto::CryptoProvider;
use rustls::crypto::aws_lc_rs::{default_provider, kx_group};
use time::{Duration, OffsetDateTime};
use tokio::io::AsyncWriteExt;

/// Connects with `config`, sends [`PING`] and closes; returns the client's group.
async fn ping(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<Option<NamedGroup>, Error> {
    let mut stream = connect_with(addr, config).await?;
    let group = stream
        .get_ref()
        .1
        .negotiated_key_exchange_group()
        .map(|g| g.name());
    stream
        .write_all(PING)
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    stream
        .shutdown()
        .await
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    Ok(group)
}

/// Runs one connection from a client pinning `pin` to a server presenting `identity`;
/// asserts the client refused with `code` and the server received nothing.
async fn assert_refused(
    identity: &pqbank_net::ServerIdentity,
    pin: pqbank_pki::Fingerprint,
    code: Code,
) {
    let config = server_config(identity).unwrap_or_else(|e| panic!("{e}"));
    let (addr, server) = serve_once(config).await;
    let client = client_config(VouchedKey::new(pin)).unwrap_or_else(|e| panic!("{e}"));
    let refused = ping(addr, client).await;
    let seen = server.await.unwrap_or_else(|e| panic!("server task: {e}"));
    match refused {
        Err(e) => assert_eq!(e.kind(), code, "refused for another reason: {e}"),
        Ok(_) => panic!("the client accepted the server; expected {}", code.as_str()),
    }
    assert!(seen.handshake.is_err(), "the server finished a handshake");
    assert_eq!(seen.bytes, 0, "application bytes reached the server");
}

/// Proves both ends negotiate X25519MLKEM768 and the application bytes then flow.
#[tokio::test]
async fn hybrid_group_on_both_ends() {
    let bank = Bank::new(1);
    let key = tls_key();
    let bundle = bank.bundle(bank.current_server(&key.hash(), 2), bank.crl(&[]));
    let identity = identity(key, &bundle);
    let (addr, server) =
        serve_once(server_config(&identity).unwrap_or_else(|e| panic!("{e}"))).await;
    let mut stream = connect(addr, &VouchedKey::new(bank.pin()))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let client_group = stream
        .get_ref()
        .1
        .negotiated_key_exchange_group()
        .map(|g| g.name());
    stream
        .write_all(PING)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stream.shutdown().await.unwrap_or_else(|e| panic!("{e}"));
    let seen = server.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(client_group, Some(NamedGroup::X25519MLKEM768));
    assert_eq!(seen.group, Some(NamedGroup::X25519MLKEM768));
    assert!(seen.handshake.is_ok());
    assert_eq!(seen.bytes, PING.len());
}

/// Proves a client that offers only the classical X25519 is refused by the server inside
/// the handshake (no group in common, so no hello retry can help), before any application
/// byte. The client is plain tokio-rustls, as a foreign client would be, so only the
/// server's defences are under test.
#[tokio::test]
async fn classical_only_client_is_refused() {
    let bank = Bank::new(1);
    let key = tls_key();
    let bundle = bank.bundle(bank.current_server(&key.hash(), 2), bank.crl(&[]));
    let identity = identity(key, &bundle);
    let (addr, server) =
        serve_once(server_config(&identity).unwrap_or_else(|e| panic!("{e}"))).await;
    let classical = CryptoProvider {
        kx_groups: vec![kx_group::X25519],
        ..default_provider()
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(classical))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap_or_else(|e| panic!("{e}"))
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(VouchedKey::new(bank.pin())))
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let client = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await;
    let mut sent = 0;
    let alert = match client {
        Ok(mut stream) => {
            if stream.write_all(PING).await.is_ok() {
                sent = PING.len();
            }
            None
        }
        Err(e) => e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .cloned(),
    };
    let seen = server.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sent, 0,
        "a classical-only client finished the handshake and sent"
    );
    assert_eq!(
        alert,
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::HandshakeFailure
        ))
    );
    assert_eq!(
        seen.handshake.as_ref().err().map(Error::kind),
        Some(Code::KxNotHybrid)
    );
    assert_eq!(seen.bytes, 0);
}

/// Proves a server presenting a TLS key other than the one its certificate vouches for
/// (a valid bundle, but for another key) is refused.
#[tokio::test]
async fn unvouched_key_is_refused() {
    let bank = Bank::new(1);
    let vouched = tls_key();
    let bundle = bank.bundle(bank.current_server(&vouched.hash(), 2), bank.crl(&[]));
    let identity = identity(tls_key(), &bundle);
    assert_refused(&identity, bank.pin(), Code::ServerKeyUnvouched).await;
}

/// Proves a server whose bundle is another bank's (root, server certificate and CRL) is
/// refused: its root is not the pinned one.
#[tokio::test]
async fn another_root_is_refused() {
    let ours = Bank::new(1);
    let theirs = Bank::new(3);
    let key = tls_key();
    let bundle = theirs.bundle(theirs.current_server(&key.hash(), 2), theirs.crl(&[]));
    let identity = identity(key, &bundle);
    assert_refused(&identity, ours.pin(), Code::RootMismatch).await;
}

/// Proves a server certificate issued by another root is refused even beside the pinned
/// root and its CRL in the bundle.
#[tokio::test]
async fn server_certificate_under_another_root_is_refused() {
    let ours = Bank::new(1);
    let theirs = Bank::new(3);
    let key = tls_key();
    let bundle = ours.bundle(theirs.current_server(&key.hash(), 2), ours.crl(&[]));
    let identity = identity(key, &bundle);
    assert_refused(&identity, ours.pin(), Code::ServerCertificateInvalid).await;
}

/// Proves a server certificate on the root's CRL is refused.
#[tokio::test]
async fn revoked_server_certificate_is_refused() {
    let bank = Bank::new(1);
    let key = tls_key();
    let server = bank.current_server(&key.hash(), 2);
    let crl = bank.crl(&[&server]);
    let identity = identity(key, &bank.bundle(server, crl));
    assert_refused(&identity, bank.pin(), Code::ServerCertificateRevoked).await;
}

/// Proves a client that has seen the root CRL revoking a server certificate refuses that
/// server when it presents the older CRL from before the revocation (still within its
/// nextUpdate), while a client that never saw the newer CRL would accept it: the
/// verifier's CRL pin, raised by the first handshake, is the defence.
#[tokio::test]
async fn older_root_crl_is_refused_once_a_newer_was_seen() {
    let bank = Bank::new(1);
    let (revoked_key, other_key) = (tls_key(), tls_key());
    let revoked = bank.current_server(&revoked_key.hash(), 2);
    let other = bank.current_server(&other_key.hash(), 3);
    let newer = bank.crl_numbered(2, &[&revoked]);
    let older = bank.crl_numbered(1, &[]);
    let verifier = VouchedKey::new(bank.pin());

    let honest = identity(other_key, &bank.bundle(other, newer));
    let (addr, server) = serve_once(server_config(&honest).unwrap_or_else(|e| panic!("{e}"))).await;
    let client = client_config(verifier.clone()).unwrap_or_else(|e| panic!("{e}"));
    ping(addr, client)
        .await
        .unwrap_or_else(|e| panic!("the honest server: {e}"));
    server.await.unwrap_or_else(|e| panic!("server task: {e}"));
    assert_eq!(verifier.crl_pin(), 2);

    let replaying = identity(revoked_key, &bank.bundle(revoked, older));
    let config = server_config(&replaying).unwrap_or_else(|e| panic!("{e}"));
    let (addr, server) = serve_once(config.clone()).await;
    let client = client_config(verifier.clone()).unwrap_or_else(|e| panic!("{e}"));
    let refused = ping(addr, client).await;
    let seen = server.await.unwrap_or_else(|e| panic!("server task: {e}"));
    assert!(refused.is_err(), "the replayed CRL was accepted");
    assert_eq!(seen.bytes, 0, "application bytes reached the server");

    // Without the pin the same server passes: the test shows the pin at work.
    let (addr, server) = serve_once(config).await;
    let fresh = client_config(VouchedKey::new(bank.pin())).unwrap_or_else(|e| panic!("{e}"));
    ping(addr, fresh)
        .await
        .unwrap_or_else(|e| panic!("a client without the pin: {e}"));
    server.await.unwrap_or_else(|e| panic!("server task: {e}"));
}

/// A server that presents one fixed certificate with one fixed key, matching or not.
#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Proves the handshake signature is checked with the vouched key: a server that presents
/// the genuine vouched certificate (copied from the real server) but signs with a key of
/// its own is refused, before any application byte.
#[tokio::test]
async fn vouched_certificate_without_its_key_is_refused() {
    let bank = Bank::new(1);
    let (vouched, thief) = (tls_key(), tls_key());
    let server = bank.current_server(&vouched.hash(), 2);
    let genuine = identity(vouched, &bank.bundle(server, bank.crl(&[])));
    let provider = pqbank_net::provider();
    let pkcs8 = rustls::pki_types::PrivatePkcs8KeyDer::from(thief.to_pkcs8_der().to_vec());
    let signing = provider
        .key_provider
        .load_private_key(pkcs8.into())
        .unwrap_or_else(|e| panic!("{e}"));
    let stolen = rustls::sign::CertifiedKey::new(vec![genuine.certificate().clone()], signing);
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap_or_else(|e| panic!("{e}"))
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(Arc::new(stolen))));
    let (addr, server) = serve_once(Arc::new(config)).await;
    let client = client_config(VouchedKey::new(bank.pin())).unwrap_or_else(|e| panic!("{e}"));
    let refused = ping(addr, client).await;
    let seen = server.await.unwrap_or_else(|e| panic!("server task: {e}"));
    assert!(
        refused.is_err(),
        "a server without the vouched key was accepted"
    );
    assert!(seen.handshake.is_err(), "the server finished a handshake");
    assert_eq!(seen.bytes, 0, "application bytes reached the server");
}

/// Proves a server certificate past its notAfter is refused.
#[tokio::test]
async fn expired_server_certificate_is_refused() {
    let bank = Bank::new(1);
    let key = tls_key();
    let now = OffsetDateTime::now_utc();
    let server = bank.server(
        &key.hash(),
        2,
        now - Duration::days(30),
        now - Duration::minutes(1),
    );
    let identity = identity(key, &bank.bundle(server, bank.crl(&[])));
    assert_refused(&identity, bank.pin(), Code::ServerCertificateExpired).await;
}

/// Proves an ordinary self-signed TLS certificate, with no vouching bundle, is refused.
#[tokio::test]
async fn certificate_without_bundle_is_refused() {
    let bank = Bank::new(1);
    let pair = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let params = rcgen::CertificateParams::new(vec!["pqbank-server".to_owned()])
        .unwrap_or_else(|e| panic!("{e}"));
    let cert = params.self_signed(&pair).unwrap_or_else(|e| panic!("{e}"));
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(pqbank_net::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap_or_else(|e| panic!("{e}"))
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap_or_else(|e| panic!("{e}"));
    let (addr, server) = serve_once(Arc::new(config)).await;
    let client = client_config(VouchedKey::new(bank.pin())).unwrap_or_else(|e| panic!("{e}"));
    let refused = ping(addr, client).await;
    let seen = server.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        refused.err().map(|e| e.kind()),
        Some(Code::ServerKeyUnvouched)
    );
    assert_eq!(seen.bytes, 0);
}
