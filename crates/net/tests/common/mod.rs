//! A bank's root, its CRL and server certificates, and a one-connection TLS server that
//! counts the application bytes it receives.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use pqbank_net::{Error, ServerIdentity, TlsKey};
use pqbank_pki::cert::Issuer;
use pqbank_pki::crl::{CrlBuilder, RevokedEntry};
use pqbank_pki::ext::DEFENCE_VERSION;
use pqbank_pki::server::VouchingBundle;
use pqbank_pki::{
    Certificate, CertificateBuilder, CompositeSigningKey, Crl, DistinguishedName, Fingerprint,
    Layer, Lineage, RevocationReason, Role, StaffClaims, TlsKeyHash,
};
use time::{Duration, OffsetDateTime};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A bank: its root key and certificate.
pub struct Bank {
    pub root_key: CompositeSigningKey,
    pub root: Certificate,
}

impl Bank {
    /// A root made from `seed`; two seeds make two banks.
    pub fn new(seed: u8) -> Self {
        let root_key = CompositeSigningKey::from_seed(&[seed; 64]);
        let now = OffsetDateTime::now_utc();
        let root = CertificateBuilder {
            serial: [seed; 16],
            subject: DistinguishedName::new("pqbank test bank", "pqbank test root").to_der(),
            subject_key: root_key.verifying_key().clone(),
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(365),
            ca_path_len: Some(1),
            claims: StaffClaims {
                layers: Layer::ALL.to_vec(),
                role: Some(Role::Root),
                actions: Role::Root.actions().to_vec(),
                defence_version: Some(DEFENCE_VERSION),
                ..StaffClaims::default()
            },
        }
        .sign(Issuer::SelfSigned(&root_key), &[0; 32])
        .unwrap_or_else(|e| panic!("root: {e}"));
        Self { root_key, root }
    }

    /// The pin a workstation of this bank holds.
    pub fn pin(&self) -> Fingerprint {
        self.root.fingerprint()
    }

    /// The root's CRL, revoking `revoked`.
    pub fn crl(&self, revoked: &[&Certificate]) -> Crl {
        self.crl_numbered(1, revoked)
    }

    /// The root's CRL number `number`, revoking `revoked`.
    pub fn crl_numbered(&self, number: u64, revoked: &[&Certificate]) -> Crl {
        let now = OffsetDateTime::now_utc();
        CrlBuilder {
            number,
            this_update: now - Duration::hours(1),
            next_update: now + Duration::days(7),
            entries: revoked
                .iter()
                .map(|c| RevokedEntry {
                    serial: c.serial().to_vec(),
                    revoked_at: now - Duration::minutes(30),
                    reason: RevocationReason::KeyCompromise,
                })
                .collect(),
        }
        .sign(&self.root, &self.root_key, &[0; 32])
        .unwrap_or_else(|e| panic!("crl: {e}"))
    }

    /// A server certificate by this root vouching for `tls_key`, valid in the window.
    pub fn server(
        &self,
        tls_key: &TlsKeyHash,
        serial: u8,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Certificate {
        let key = CompositeSigningKey::from_seed(&[serial; 64]);
        CertificateBuilder {
            serial: [serial; 16],
            subject: DistinguishedName::new("pqbank test bank", "pqbank-server").to_der(),
            subject_key: key.verifying_key().clone(),
            not_before,
            not_after,
            ca_path_len: None,
            claims: StaffClaims {
                layers: vec![
                    Layer::HybridSignature,
                    Layer::Sha3Fingerprint,
                    Layer::CrlPinning,
                ],
                lineage: Some(Lineage {
                    issuer: self.root.fingerprint(),
                    replaces: None,
                }),
                defence_version: Some(DEFENCE_VERSION),
                ..StaffClaims::default()
            },
        }
        .sign_server(
            Issuer::Ca {
                certificate: &self.root,
                key: &self.root_key,
            },
            tls_key,
            &[0; 32],
        )
        .unwrap_or_else(|e| panic!("server: {e}"))
    }

    /// A server certificate valid now, for a month.
    pub fn current_server(&self, tls_key: &TlsKeyHash, serial: u8) -> Certificate {
        let now = OffsetDateTime::now_utc();
        self.server(
            tls_key,
            serial,
            now - Duration::hours(1),
            now + Duration::days(30),
        )
    }

    /// The bundle of `server` with this root and `crl`.
    pub fn bundle(&self, server: Certificate, crl: Crl) -> VouchingBundle {
        VouchingBundle {
            server,
            root: self.root.clone(),
            crl,
        }
    }
}

/// A server identity: `key` presenting `bundle`.
pub fn identity(key: TlsKey, bundle: &VouchingBundle) -> ServerIdentity {
    let now = OffsetDateTime::now_utc();
    ServerIdentity::new(
        key,
        bundle,
        now - Duration::hours(1),
        now + Duration::days(30),
    )
    .unwrap_or_else(|e| panic!("identity: {e}"))
}

/// A fresh TLS key.
pub fn tls_key() -> TlsKey {
    TlsKey::generate().unwrap_or_else(|e| panic!("TLS key: {e}"))
}

/// What the test server saw of its one connection.
#[derive(Debug)]
pub struct Seen {
    /// The handshake's outcome on the server.
    pub handshake: Result<(), Error>,
    /// The group the server negotiated, if the handshake finished.
    pub group: Option<rustls::NamedGroup>,
    /// Application bytes received.
    pub bytes: usize,
}

/// A server on 127.0.0.1 that takes one connection with `config` and reads it to the end.
pub async fn serve_once(
    config: std::sync::Arc<rustls::ServerConfig>,
) -> (std::net::SocketAddr, JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let task = tokio::spawn(async move {
        let (tcp, _) = listener
            .accept()
            .await
            .unwrap_or_else(|e| panic!("accept: {e}"));
        match pqbank_net::accept(&acceptor, tcp).await {
            Err(e) => Seen {
                handshake: Err(e),
                group: None,
                bytes: 0,
            },
            Ok(mut stream) => {
                let group = stream
                    .get_ref()
                    .1
                    .negotiated_key_exchange_group()
                    .map(|g| g.name());
                let mut received = Vec::new();
                let read = stream.read_to_end(&mut received).await;
                Seen {
                    handshake: Ok(()),
                    group,
                    bytes: read.map_or(received.len(), |_| received.len()),
                }
            }
        }
    });
    (addr, task)
}

/// The message a client sends once connected.
pub const PING: &[u8] = b"ping";
