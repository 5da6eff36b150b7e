//! `pqbank-server`: migrate with the admin account, install a demo bank, serve with the
//! runtime account. See the README's "The bank's server" and `scripts/server`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use pqbank_db::{Backend as _, IdentityStore as _};
use pqbank_db_mysql::MySqlStore;
use pqbank_net::TlsKey;
use pqbank_pki::chain::validate_server;
use pqbank_pki::{Certificate, Crl, ServerInput};
use pqbank_server::{App, RateLimits, State, identity, limits, serve, sweep};
use pqbank_service::{Config, ServerKey, Service, demo};
use time::OffsetDateTime;

#[derive(Parser)]
#[command(
    name = "pqbank-server",
    version,
    about = "The bank's server: the only process that holds the database"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Applies the schema's migrations, with the admin account (DDL and triggers).
    Migrate {
        /// mysql:// URL of the admin account.
        #[arg(long, env = "PQBANK_ADMIN_URL")]
        db: String,
    },
    /// Migrates an empty database and builds the demo bank in it, with a server
    /// certificate for a fresh TLS key; writes the server's state directory.
    Demo {
        /// mysql:// URL of the admin account.
        #[arg(long, env = "PQBANK_ADMIN_URL")]
        db: String,
        /// The state directory to write.
        #[arg(long, env = "PQBANK_STATE_DIR")]
        state: PathBuf,
        /// The demo's seed (64 hex digits); its staff's device keys derive from it.
        #[arg(long)]
        seed: Option<String>,
        /// Customers to make.
        #[arg(long, default_value_t = 50)]
        customers: usize,
        /// Transfers to make.
        #[arg(long, default_value_t = 300)]
        transfers: usize,
    },
    /// Serves the bank with the runtime account; refuses a schema that is not this
    /// build's.
    Serve {
        /// mysql:// URL of the runtime account.
        #[arg(long, env = "PQBANK_DATABASE_URL")]
        db: String,
        /// The state directory.
        #[arg(long, env = "PQBANK_STATE_DIR")]
        state: PathBuf,
        /// Address to listen on.
        #[arg(long, env = "PQBANK_LISTEN", default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        #[command(flatten)]
        rates: Rates,
    },
    /// Prints the root fingerprint a workstation pins.
    Fingerprint {
        /// The state directory.
        #[arg(long, env = "PQBANK_STATE_DIR")]
        state: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pqbank-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The request rates `serve` allows (limits.rs has the defaults and their reasons). A
/// branch behind one router shares one address; a benchmark measures the server, not
/// them, by raising them.
#[derive(clap::Args)]
struct Rates {
    /// Sustained requests per second from one address on the routes without a session
    /// (status, login).
    #[arg(long, env = "PQBANK_ADDRESS_RATE", default_value_t = limits::ADDRESS_RATE, value_parser = rate)]
    address_rate: f64,
    /// Requests at once from one address on those routes.
    #[arg(long, env = "PQBANK_ADDRESS_BURST", default_value_t = limits::ADDRESS_BURST, value_parser = rate)]
    address_burst: f64,
    /// Sustained signed requests per second on one session.
    #[arg(long, env = "PQBANK_SESSION_RATE", default_value_t = limits::SESSION_RATE, value_parser = rate)]
    session_rate: f64,
    /// Signed requests at once on one session.
    #[arg(long, env = "PQBANK_SESSION_BURST", default_value_t = limits::SESSION_BURST, value_parser = rate)]
    session_burst: f64,
}

/// A rate or burst: a number from 1 to [`limits::RATE_SETTING_MAX`].
fn rate(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|r| (1.0..=limits::RATE_SETTING_MAX).contains(r))
        .ok_or_else(|| format!("a rate is a number from 1 to {}", limits::RATE_SETTING_MAX))
}

/// The demo's staff file in the state directory.
const DEMO_STAFF: &str = "demo-staff.json";

type Failure = Box<dyn std::error::Error + Send + Sync>;

async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Migrate { db } => {
            let store = MySqlStore::connect(&db).await?;
            store.migrate().await?;
            println!("migrated");
        }
        Command::Demo {
            db,
            state,
            seed,
            customers,
            transfers,
        } => {
            let seed = match seed {
                Some(hex_seed) => parse_seed(&hex_seed)?,
                None => random_seed()?,
            };
            let store = MySqlStore::connect(&db).await?;
            store.migrate().await?;
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let (service, bank) = demo::build(store, seed, customers, transfers, now).await?;
            let tls_key = TlsKey::generate()?;
            let key =
                demo::install_server(&service, &bank.root, seed, &tls_key.hash(), now).await?;
            let (certificate, key) = key.into_parts();
            State {
                root: bank.root.fingerprint(),
                certificate,
                key,
                tls_key,
            }
            .save(&state)?;
            // The demo staff's keys, for a branch workstation to adopt (`pqbank
            // branch-demo`): demo keys only, readable by this user only.
            let staff = serde_json::to_vec_pretty(&demo::staff(&bank))?;
            pqbank_server::write_private(&state, DEMO_STAFF, &staff)?;
            println!("{}", bank.root.fingerprint().to_hex());
        }
        Command::Serve {
            db,
            state,
            listen,
            rates,
        } => {
            let dir = state;
            let state = State::load(&dir)?;
            let store = MySqlStore::connect_checked(&db).await?;
            let root = root_of(&store, &state).await?;
            let crl = store
                .latest_crl(state.root.as_bytes())
                .await?
                .ok_or("the database holds no CRL of the root")?;
            let crl = Crl::from_der(&crl.der)?;
            validate_server(&ServerInput {
                server: &state.certificate,
                root: &root,
                pinned_root: state.root,
                at: OffsetDateTime::now_utc(),
                crl: &crl,
                crl_pin: None,
            })
            .map_err(|e| format!("the server certificate does not validate: {e}"))?;
            let identity = identity(&state, &root, &crl)?;
            let acceptor = pqbank_net::acceptor(&identity)?;
            let key = ServerKey::new(
                state.certificate.clone(),
                pqbank_pki::CompositeSigningKey::from_seed(state.key.seed()),
            )?;
            let service =
                Service::new(store, Config::new(state.root)).with_server_key(Arc::new(key));
            service.seal_balances().await?;
            // The log must hold the pin before anything is served (see keep_log).
            if let Some(pin) = pqbank_server::read_log_pin(&dir)? {
                service.check_log_pin(&pin).await?;
            }
            let listener = tokio::net::TcpListener::bind(listen).await?;
            tracing::info!(%listen, root = %state.root, "serving");
            println!(
                "serving on https://{} under root {}",
                listener.local_addr()?,
                state.root
            );
            let rates = RateLimits {
                address_rate: rates.address_rate,
                address_burst: rates.address_burst,
                session_rate: rates.session_rate,
                session_burst: rates.session_burst,
            };
            if rates != RateLimits::default() {
                tracing::warn!(?rates, "request rates other than the defaults");
            }
            let app = App::with_rates(service, state.root, &rates);
            let sweeper = tokio::spawn(sweep(app.clone()));
            let keeper = app.clone();
            tokio::select! {
                served = serve(listener, acceptor, app) => served?,
                kept = pqbank_server::keep_log(keeper.service(), &dir) => {
                    sweeper.abort();
                    let Err(e) = kept;
                    return Err(format!("the server stopped: {e}").into());
                }
                _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
            }
            sweeper.abort();
        }
        Command::Fingerprint { state } => {
            println!("{}", State::load(&state)?.root.to_hex());
        }
    }
    Ok(())
}

/// The root certificate, as stored, checked against the pin the state holds.
async fn root_of(store: &MySqlStore, state: &State) -> Result<Certificate, Failure> {
    let record = store
        .certificate(state.root.as_bytes())
        .await?
        .ok_or("the database holds no certificate of the pinned root")?;
    let root = Certificate::from_der(&record.der)?;
    if root.fingerprint() != state.root {
        return Err("the stored root is not the pinned one".into());
    }
    Ok(root)
}

fn parse_seed(text: &str) -> Result<[u8; 32], Failure> {
    hex::decode(text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| "the seed must be 64 hex digits".into())
}

fn random_seed() -> Result<[u8; 32], Failure> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness: {e}"))?;
    Ok(seed)
}
