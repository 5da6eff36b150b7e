//! A bank served by `pqbank-server` on a loopback port, for the remote tests: the
//! server crate's serving loop over real TLS in front of the real MariaDB, reached with
//! the runtime account `scripts/db-accounts` makes.

use std::net::SocketAddr;
use std::sync::Arc;

use pqbank_client::{DeviceKey, Remote, Session};
use pqbank_db::Backend as _;
use pqbank_db_mysql::MySqlStore;
use pqbank_net::{TlsKey, VouchedKey};
use pqbank_pki::{CompositeSigningKey, Crl};
use pqbank_server::{App, RateLimits, State, identity};
use pqbank_service::demo::{self, DemoBank, DemoPerson};
use pqbank_service::{Config, ServerKey, Service};

use crate::{MySqlAccounts, Raw, mysql_accounts};

/// The demo's seed.
const SEED: [u8; 32] = [0x42; 32];

/// A bank served by a pqbank-server on a loopback port.
pub struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The demo bank it serves.
    pub bank: DemoBank,
    /// The installation's service on the admin account (what a manager's in-process
    /// tools would be): used here to revoke and to verify.
    pub admin: Service<MySqlStore>,
    /// The database with the test server's own account.
    pub root_store: MySqlStore,
    /// The server's key (the test plays a server that signs what no device asked for).
    pub server_key: CompositeSigningKey,
    /// The server's certificate.
    pub server_certificate: pqbank_pki::Certificate,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _accounts: MySqlAccounts,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// How [`serve_with`] builds and serves its bank.
pub struct ServeOptions {
    /// Replaces the TLS key the server presents (a key nothing vouches for).
    pub presented: Option<TlsKey>,
    /// The demo's customers.
    pub customers: usize,
    /// The demo's transfers (its first deposits fund the customers).
    pub transfers: usize,
    /// The server's request rates.
    pub rates: RateLimits,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            presented: None,
            customers: 6,
            transfers: 0,
            rates: RateLimits::default(),
        }
    }
}

/// Migrates a fresh database with the admin account, builds the demo bank and its
/// server certificate for a new TLS key, creates the runtime account and serves with it.
/// `presented` replaces the TLS key the server presents (a key nothing vouches for).
pub async fn serve(presented: Option<TlsKey>) -> Served {
    serve_with(ServeOptions {
        presented,
        ..ServeOptions::default()
    })
    .await
}

/// [`serve`] with other options.
pub async fn serve_with(options: ServeOptions) -> Served {
    let ServeOptions {
        presented,
        customers,
        transfers,
        rates,
    } = options;
    let accounts = mysql_accounts().await;
    let admin_store = MySqlStore::connect(&accounts.admin_url()).await.unwrap();
    admin_store.migrate().await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (admin, bank) = demo::build(admin_store, SEED, customers, transfers, now)
        .await
        .unwrap();
    let tls_key = TlsKey::generate().unwrap();
    let key = demo::install_server(&admin, &bank.root, SEED, &tls_key.hash(), now)
        .await
        .unwrap();
    accounts.create_runtime().await;

    let (certificate, key) = key.into_parts();
    let state = State {
        root: bank.root.fingerprint(),
        certificate,
        key,
        tls_key: presented.unwrap_or(tls_key),
    };
    let runtime = MySqlStore::connect_checked(&accounts.runtime_url())
        .await
        .unwrap();
    let crl = pqbank_db::IdentityStore::latest_crl(&runtime, state.root.as_bytes())
        .await
        .unwrap()
        .unwrap();
    let crl = Crl::from_der(&crl.der).unwrap();
    let identity = identity(&state, &bank.root, &crl).unwrap();
    let acceptor = pqbank_net::acceptor(&identity).unwrap();
    let server_key = ServerKey::new(
        state.certificate.clone(),
        CompositeSigningKey::from_seed(state.key.seed()),
    )
    .unwrap();
    let service =
        Service::new(runtime, Config::new(state.root)).with_server_key(Arc::new(server_key));
    service.seal_balances().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(pqbank_server::serve(
        listener,
        acceptor,
        App::with_rates(service, state.root, &rates),
    ));
    Served {
        addr,
        server_key: CompositeSigningKey::from_seed(state.key.seed()),
        server_certificate: state.certificate.clone(),
        root_store: accounts.root().await,
        bank,
        admin,
        server,
        _accounts: accounts,
    }
}

impl Served {
    /// Adds the demo's new hire and her drawer on the admin account (as an installation
    /// tool would), then seals the new rows as the server does at its next start: no
    /// server moves money on an account row it has not sealed.
    pub async fn add_new_hire(&self, now: i64) {
        pqbank_service::demo::add_new_hire(&self.admin, &self.bank, now)
            .await
            .unwrap();
        let report = self.as_server(now).seal_balances().await.unwrap();
        assert!(!report.sealed.is_empty(), "the new drawer is sealed");
    }

    /// A service holding the server's key over the admin account, its clock at `now`:
    /// what the server's own jobs (sealing, checkpoints) run as.
    #[must_use]
    pub fn as_server(&self, now: i64) -> Service<MySqlStore> {
        let key = ServerKey::new(
            self.server_certificate.clone(),
            CompositeSigningKey::from_seed(self.server_key.seed()),
        )
        .unwrap();
        Service::new(
            self.admin.store().clone(),
            Config::new(self.bank.root.fingerprint()),
        )
        .with_server_key(Arc::new(key))
        .with_clock(Arc::new(move || now))
    }

    /// Signs the server's checkpoint of the log as its log keeper would at `now` (one
    /// must be due: the first always is, later ones five minutes after the last).
    pub async fn server_checkpoint(&self, now: i64) -> pqbank_db::CheckpointRecord {
        self.as_server(now)
            .server_checkpoint()
            .await
            .unwrap()
            .expect("a checkpoint is due")
    }

    /// A client with the installation's pin.
    #[must_use]
    pub fn remote(&self) -> Remote {
        Remote::new(self.addr, VouchedKey::new(self.bank.root.fingerprint()))
    }

    /// Signs `who` in through the server.
    pub async fn login(&self, remote: &Remote, who: &DemoPerson) -> Session {
        let device = device_key(who);
        remote
            .login(device, who.cert.fingerprint(), "branch-7 desk 2")
            .await
            .unwrap()
    }

    /// Rows that any call could write: transfers, events, refusals, ended sessions,
    /// approvals, login challenges, sessions.
    pub async fn written(&self) -> [i64; 7] {
        let db = &self.root_store;
        [
            db.count("transfers").await,
            db.count("accountability_events").await,
            db.count("accountability_events WHERE kind = 'refused'")
                .await,
            db.count("sessions WHERE ended_at IS NOT NULL").await,
            db.count("approvals").await,
            db.count("login_challenges").await,
            db.count("sessions").await,
        ]
    }
}

/// A demo staff member's device as a workstation holds it.
#[must_use]
pub fn device_key(who: &DemoPerson) -> Arc<DeviceKey> {
    Arc::new(DeviceKey {
        id: who.device.id.clone(),
        key: CompositeSigningKey::from_seed(who.device.key().seed()),
        recipient: pqbank_pki::bundle::RecipientSecret::from_seeds(
            who.recipient.suite(),
            who.recipient.kem_seed(),
            who.recipient.x25519_secret(),
        ),
    })
}

/// A bank installed for the `pqbank-server` binary: its database with both accounts,
/// the demo bank in it, and the server's state directory (certificate, keys, root).
pub struct Installed {
    /// The database and its accounts (dropped with this value).
    pub accounts: MySqlAccounts,
    /// The demo bank.
    pub bank: DemoBank,
    /// The installation's service on the admin account (to verify with).
    pub admin: Service<MySqlStore>,
    /// The state directory `serve --state` reads.
    pub state: tempfile::TempDir,
}

/// Migrates a fresh database with the admin account, builds a demo bank of `customers`
/// and `transfers` from `seed` with a server certificate for a new TLS key, creates the
/// runtime account and writes the server's state directory.
pub async fn install(seed: [u8; 32], customers: usize, transfers: usize) -> Installed {
    let accounts = mysql_accounts().await;
    let admin = MySqlStore::connect(&accounts.admin_url()).await.unwrap();
    admin.migrate().await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (service, bank) = demo::build(admin, seed, customers, transfers, now)
        .await
        .unwrap();
    let tls_key = TlsKey::generate().unwrap();
    let key = demo::install_server(&service, &bank.root, seed, &tls_key.hash(), now)
        .await
        .unwrap();
    accounts.create_runtime().await;
    let state = tempfile::tempdir().unwrap();
    let (certificate, key) = key.into_parts();
    State {
        root: bank.root.fingerprint(),
        certificate,
        key,
        tls_key,
    }
    .save(state.path())
    .unwrap();
    Installed {
        accounts,
        bank,
        admin: service,
        state,
    }
}
