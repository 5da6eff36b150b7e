//! Transfers and logins through a pqbank-server at 1, 4 and 16 workstations, beside the
//! bare SQL baseline on the same MariaDB in the same run:
//!
//! - `pqbank bench transfers|login --server URL --staff FILE` against a server started
//!   on its own (`bash scripts/server`), as the demo staff of its staff file, with the
//!   server's own rate limits (a bench at full speed needs them raised: `pqbank-server
//!   serve --session-rate`, ...); the baseline on a scratch database of `--db`;
//! - `pqbank bench server`: the server crate's own serving loop on a loopback port of
//!   this process, in front of a scratch database that the baseline shares, its rate
//!   limits lifted.
//!
//! Both speak TLS 1.3 with X25519MLKEM768, HTTP/1.1 and the signed-request gate; each
//! workstation is a `pqbank-client` with its own TLS connection and session, signing each
//! transfer and each request on its side. Both ends share this machine's cores, as a
//! branch server and a test client do on one host.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use pqbank_client::{ClientError, DeviceKey, Remote};
use pqbank_db_mysql::MySqlStore;
use pqbank_db_sqlite::SqliteStore;
use pqbank_ledger::{AccountKind, Amount, Currency, TransferKind, TransferRequest};
use pqbank_net::{TlsKey, VouchedKey};
use pqbank_pki::{CompositeSigningKey, Crl, Fingerprint, Role};
use pqbank_server::{App, State};
use pqbank_service::demo::{self, DemoPerson};
use pqbank_service::{Config, Service};

use crate::CliError;
use crate::service_cmds::{Figures, figures, now, runtime, with_scratch};

/// Arguments of `pqbank bench server`.
#[derive(Debug, Args)]
pub struct BenchServer {
    /// `sqlite` or a `mysql://user@host:port` server (scratch database).
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Workstations at once, one figure each.
    #[arg(long, value_delimiter = ',', default_values_t = [1u32, 4, 16])]
    workers: Vec<u32>,
    /// Seconds per figure.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    seconds: u64,
}

/// Most workstations one figure runs.
pub(crate) const WORKERS_MAX: u32 = 64;

/// Workstations of each figure when `--workers` is not given, through a server.
pub(crate) const WORKERS_THROUGH: [u32; 3] = [1, 4, 16];

/// Checks a `--workers` list.
pub(crate) fn check_workers(workers: &[u32]) -> Result<(), CliError> {
    if workers.is_empty() || workers.iter().any(|w| !(1..=WORKERS_MAX).contains(w)) {
        return Err(CliError(format!(
            "--workers takes counts from 1 to {WORKERS_MAX}"
        )));
    }
    Ok(())
}

pub fn bench_server(args: &BenchServer) -> Result<ExitCode, CliError> {
    check_workers(&args.workers)?;
    runtime()?.block_on(async { with_scratch!(&args.db, store => run(store, args).await) })
}

/// The demo seed of the bench's own banks (the in-process server's and the baseline's).
const SEED: [u8; 32] = *b"pqbank bench server: not for use";

async fn run<S: crate::bench::Bare + pqbank_db::Store + Clone + 'static>(
    store: S,
    args: &BenchServer,
) -> Result<ExitCode, CliError> {
    // The bare baseline writes through the store itself, beside the server's service.
    let (service, bank) = demo::build(store.clone(), SEED, 64, 64, now()).await?;
    let tls_key = TlsKey::generate()?;
    let key = demo::install_server(&service, &bank.root, SEED, &tls_key.hash(), now()).await?;
    let (certificate, key) = key.into_parts();
    let state = State {
        root: bank.root.fingerprint(),
        certificate,
        key,
        tls_key,
    };
    let crl = pqbank_db::IdentityStore::latest_crl(&store, state.root.as_bytes())
        .await?
        .ok_or_else(|| CliError("the demo bank has no root CRL".into()))?;
    let identity = pqbank_server::identity(&state, &bank.root, &Crl::from_der(&crl.der)?)?;
    let acceptor = pqbank_net::acceptor(&identity)?;
    let server_key = pqbank_service::ServerKey::new(
        state.certificate.clone(),
        CompositeSigningKey::from_seed(state.key.seed()),
    )?;
    drop(service);
    let served = Service::new(store.clone(), Config::new(state.root));
    // The bench measures the server, not its rate limits: one address and few sessions
    // make all the load.
    let unlimited = pqbank_server::RateLimits {
        address_rate: f64::MAX,
        address_burst: f64::MAX,
        session_rate: f64::MAX,
        session_burst: f64::MAX,
    };
    let served = served.with_server_key(Arc::new(server_key));
    served.seal_balances().await?;
    let app = App::with_rates(served, state.root, &unlimited);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(pqbank_server::serve(listener, acceptor, app.clone()));
    let funded = bank.accounts[..FUNDED.min(bank.accounts.len())].to_vec();
    let through = Arc::new(Through {
        addr,
        root: bank.root.fingerprint(),
        desks: bank.tellers.iter().map(Desk::of_demo).collect(),
        accounts: funded.clone(),
        run: run_id()?,
    });
    let bare = Arc::new(Baseline {
        store,
        makers: bank.tellers.iter().map(|t| t.staff_id).collect(),
        accounts: funded,
        run: through.run.clone(),
    });

    println!(
        "pqbank bench server: {}, {} s per figure, server on 127.0.0.1 (TLS 1.3, \
         X25519MLKEM768; rate limits lifted)",
        args.db, args.seconds
    );
    let duration = Duration::from_secs(args.seconds);
    transfers_table(&through, &bare, &args.workers, duration).await?;
    println!();
    logins_table(&through, &args.workers, duration).await?;
    server.abort();
    Ok(ExitCode::SUCCESS)
}

/// `pqbank bench transfers --server URL --staff FILE`: one-cent transfers between the
/// demo's funded customers through a server started on its own, beside the bare SQL
/// baseline on a scratch database of `db` (MariaDB, as the server's).
pub(crate) fn transfers_through_server(
    server: &str,
    staff: &std::path::Path,
    db: &str,
    workers: &[u32],
    seconds: u64,
) -> Result<ExitCode, CliError> {
    check_workers(workers)?;
    if !db.starts_with("mysql://") {
        return Err(CliError(
            "the baseline beside a server is bare SQL on its kind of database: pass \
             --db mysql://user@host:port (a scratch database is made there and dropped)"
                .into(),
        ));
    }
    let target = Through::of_staff_file(server, staff)?;
    runtime()?.block_on(async {
        let mut through = target;
        through.accounts = funded_accounts(&through).await?;
        let through = Arc::new(through);
        with_scratch!(db, store => {
            let (service, bank) = demo::build(store.clone(), SEED, 24, 24, now()).await?;
            drop(service);
            let bare = Arc::new(Baseline {
                store,
                makers: bank.tellers.iter().map(|t| t.staff_id).collect(),
                accounts: bank.accounts[..FUNDED.min(bank.accounts.len())].to_vec(),
                run: through.run.clone(),
            });
            println!(
                "pqbank bench transfers: through {server} ({} tellers' devices, {} funded \
                 accounts; the server's own rate limits), bare SQL on a scratch database of \
                 {}, {seconds} s per figure",
                through.desks.len(),
                through.accounts.len(),
                db.split('@').next_back().unwrap_or_default(),
            );
            transfers_table(&through, &bare, workers, Duration::from_secs(seconds)).await?;
            Ok(ExitCode::SUCCESS)
        })
    })
}

/// `pqbank bench login --server URL --staff FILE`: full sign-ins of the demo's tellers
/// through a server started on its own.
pub(crate) fn logins_through_server(
    server: &str,
    staff: &std::path::Path,
    workers: &[u32],
    seconds: u64,
) -> Result<ExitCode, CliError> {
    check_workers(workers)?;
    let through = Arc::new(Through::of_staff_file(server, staff)?);
    runtime()?.block_on(async {
        println!(
            "pqbank bench login: through {server} ({} tellers' devices; the server's own \
             rate limits), {seconds} s per figure",
            through.desks.len()
        );
        logins_table(&through, workers, Duration::from_secs(seconds)).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The transfers table: each count of workstations through the server, then bare.
async fn transfers_table<S: crate::bench::Bare + Clone + 'static>(
    through: &Arc<Through>,
    bare: &Arc<Baseline<S>>,
    workers: &[u32],
    duration: Duration,
) -> Result<(), CliError> {
    println!(
        "{:<14} {:>12} {:>9} {:>9}   {:>12} {:>9} {:>9}   {:>7}",
        "workstations", "through/s", "p50 ms", "p99 ms", "bare SQL/s", "p50 ms", "p99 ms", "ratio"
    );
    for (round, &w) in workers.iter().enumerate() {
        let on_server = timed(w, duration, |i, stop| {
            let through = through.clone();
            async move { post_through(&through, i, round, stop).await }
        })
        .await?;
        let on_sql = timed(w, duration, |i, stop| {
            let bare = bare.clone();
            async move { post_bare(&bare, i, round, stop).await }
        })
        .await?;
        println!(
            "{w:<14} {:>12.1} {:>9.2} {:>9.2}   {:>12.1} {:>9.2} {:>9.2}   {:>7.3}",
            on_server.per_second,
            on_server.p50_ms,
            on_server.p99_ms,
            on_sql.per_second,
            on_sql.p50_ms,
            on_sql.p99_ms,
            on_server.per_second / on_sql.per_second
        );
    }
    Ok(())
}

/// The logins table: each count of workstations signing in again and again.
async fn logins_table(
    through: &Arc<Through>,
    workers: &[u32],
    duration: Duration,
) -> Result<(), CliError> {
    println!(
        "{:<14} {:>12} {:>9} {:>9}",
        "workstations", "logins/s", "p50 ms", "p99 ms"
    );
    for &w in workers {
        let logins = timed(w, duration, |i, stop| {
            let through = through.clone();
            async move { login_through(&through, i, stop).await }
        })
        .await?;
        println!(
            "{w:<14} {:>12.1} {:>9.2} {:>9.2}",
            logins.per_second, logins.p50_ms, logins.p99_ms
        );
    }
    Ok(())
}

/// Runs `workers` tasks made by `task` for `duration` and measures what they did.
async fn timed<F, Fut>(workers: u32, duration: Duration, task: F) -> Result<Figures, CliError>
where
    F: Fn(usize, Arc<AtomicBool>) -> Fut,
    Fut: Future<Output = Result<Vec<Duration>, CliError>> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles: Vec<_> = (0..workers as usize)
        .map(|i| tokio::spawn(task(i, stop.clone())))
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.map_err(|e| CliError(e.to_string()))??);
    }
    Ok(figures(all, started.elapsed().as_secs_f64()))
}

/// A teller's workstation: the device it signs with and the certificate it signs in
/// with.
struct Desk {
    device: Arc<DeviceKey>,
    certificate: Fingerprint,
}

impl Desk {
    fn of_demo(person: &DemoPerson) -> Self {
        Self {
            device: Arc::new(DeviceKey {
                id: person.device.id.clone(),
                key: CompositeSigningKey::from_seed(person.device.key().seed()),
                recipient: pqbank_pki::bundle::RecipientSecret::from_seeds(
                    person.recipient.suite(),
                    person.recipient.kem_seed(),
                    person.recipient.x25519_secret(),
                ),
            }),
            certificate: person.cert.fingerprint(),
        }
    }
}

/// A bank through a server: where it listens, the root that vouches for it, the tellers'
/// desks, the accounts the transfers move cents between, and this run's mark in their
/// idempotency keys (a server's database outlives a run).
struct Through {
    addr: SocketAddr,
    root: Fingerprint,
    desks: Vec<Desk>,
    accounts: Vec<i64>,
    run: String,
}

impl Through {
    /// The server at `url` and the tellers of a server demo's staff file.
    fn of_staff_file(url: &str, path: &std::path::Path) -> Result<Self, CliError> {
        let addr = pqbank_workstation::server_addr(url)?;
        let staff =
            pqbank_api::DemoStaff::from_json(&crate::files::read(path)?).map_err(CliError)?;
        let mut desks = Vec::new();
        for person in staff.people.iter().filter(|p| p.role == Role::Teller) {
            let keys = person.keys().map_err(CliError)?;
            let secrets = pqbank_keystore::DeviceSecrets {
                signing_seed: keys.signing_seed,
                kem_seed: keys.kem_seed,
                x25519: keys.x25519,
            };
            desks.push(Desk {
                device: Arc::new(pqbank_workstation::device_key(keys.device_id, &secrets)),
                certificate: Fingerprint::from_bytes(keys.certificate),
            });
        }
        if desks.is_empty() {
            return Err(CliError("the staff file names no teller".into()));
        }
        Ok(Self {
            addr,
            root: Fingerprint::from_hex(&staff.root)?,
            desks,
            accounts: Vec::new(),
            run: run_id()?,
        })
    }

    fn remote(&self) -> Remote {
        Remote::new(self.addr, VouchedKey::new(self.root))
    }

    fn desk(&self, i: usize) -> &Desk {
        &self.desks[i % self.desks.len()]
    }
}

/// The bare SQL baseline: a store, the makers and accounts its transfers name.
struct Baseline<S> {
    store: S,
    makers: Vec<i64>,
    accounts: Vec<i64>,
    run: String,
}

/// A fresh mark for this run's idempotency keys.
fn run_id() -> Result<String, CliError> {
    Ok(hex::encode(crate::files::random::<4>()?))
}

/// Accounts the demo's first deposits funded (its drawers' floats run out after some
/// dozens), between which the bench moves cents.
const FUNDED: usize = 24;

/// Least a customer account must have to be moved cents from, in minor units.
const FUNDED_MINOR_MIN: i128 = 100;

/// The demo customers' accounts through the server with at least
/// [`FUNDED_MINOR_MIN`] in euros, found as a teller finds them (the demo's customer
/// numbers start `C-`).
async fn funded_accounts(through: &Through) -> Result<Vec<i64>, CliError> {
    let remote = through.remote();
    let desk = through.desk(0);
    let session = remote
        .login(desk.device.clone(), desk.certificate, "pqbank bench")
        .await
        .map_err(refused)?;
    let found = session
        .find_customers(&remote, "C-")
        .await
        .map_err(refused)?;
    session.logout(&remote).await.map_err(refused)?;
    let accounts: Vec<i64> = found
        .customers
        .iter()
        .flat_map(|c| &c.accounts)
        .filter(|a| {
            a.kind == AccountKind::Customer
                && a.currency == Currency::EUR
                && !a.closed
                && a.balances.available(a.kind.normal_side()) >= FUNDED_MINOR_MIN
        })
        .map(|a| a.id)
        .take(FUNDED)
        .collect();
    if accounts.len() < 2 {
        return Err(CliError(
            "the server's bank has fewer than two funded customer accounts (demo customers \
             C-...) to move cents between"
                .into(),
        ));
    }
    Ok(accounts)
}

/// A refusal from the server, with what to do when it is its rate limits.
fn refused(e: ClientError) -> CliError {
    if e.code == "request.busy" {
        CliError(format!(
            "{e}: the server's rate limits refused the bench, so it would measure them, not \
             the server; serve it with higher ones to measure it (pqbank-server serve \
             --session-rate 1000000 --session-burst 1000000 --address-rate 1000000 \
             --address-burst 1000000, or the PQBANK_SESSION_RATE, ... variables for \
             scripts/server)"
        ))
    } else {
        CliError(e.to_string())
    }
}

/// The `n`th transfer of workstation `i` in round `round`: one cent between two of
/// `accounts`, made by `maker`.
fn transfer(
    accounts: &[i64],
    maker: i64,
    key: String,
    i: usize,
    n: usize,
) -> Option<TransferRequest> {
    let a = accounts[(i * 7 + n) % accounts.len()];
    let b = accounts[(i * 7 + n * 3 + 1) % accounts.len()];
    (a != b).then(|| TransferRequest {
        maker,
        idempotency_key: key,
        kind: TransferKind::Transfer,
        debit: a,
        credit: b,
        amount: Amount::from_minor(1, Currency::EUR).unwrap_or_else(|_| unreachable!()),
        memo: String::new(),
        created_at: now(),
    })
}

/// One workstation: signs in, then posts transfers it signs, each through the server.
async fn post_through(
    through: &Through,
    i: usize,
    round: usize,
    stop: Arc<AtomicBool>,
) -> Result<Vec<Duration>, CliError> {
    let remote = through.remote();
    let desk = through.desk(i);
    let session = remote
        .login(desk.device.clone(), desk.certificate, &format!("bench {i}"))
        .await
        .map_err(refused)?;
    let mut latencies = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("{}-s{round}-w{i}-{n}", through.run);
        let Some(request) = transfer(&through.accounts, session.staff_id, key, i, n) else {
            continue;
        };
        let t0 = Instant::now();
        session
            .post_transfer(&remote, request)
            .await
            .map_err(refused)?;
        latencies.push(t0.elapsed());
    }
    session.logout(&remote).await.map_err(refused)?;
    Ok(latencies)
}

/// The baseline: the same transfers' bare SQL (lock, update two balances, insert).
async fn post_bare<S: crate::bench::Bare>(
    bare: &Baseline<S>,
    i: usize,
    round: usize,
    stop: Arc<AtomicBool>,
) -> Result<Vec<Duration>, CliError> {
    let mut latencies = Vec::new();
    let mut n = 0;
    let retry = pqbank_db::RetryPolicy::default();
    let maker = bare.makers[i % bare.makers.len()];
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("bare-{}-s{round}-w{i}-{n}", bare.run);
        let Some(request) = transfer(&bare.accounts, maker, key, i, n) else {
            continue;
        };
        let t0 = Instant::now();
        pqbank_db::flows::with_retry(&retry, || {
            bare.store.bare(
                request.maker,
                &request.idempotency_key,
                request.debit,
                request.credit,
            )
        })
        .await?;
        latencies.push(t0.elapsed());
    }
    Ok(latencies)
}

/// One workstation signing in again and again (challenge, signed transcript, session);
/// the sessions are left to expire, as the in-process figures always did.
async fn login_through(
    through: &Through,
    i: usize,
    stop: Arc<AtomicBool>,
) -> Result<Vec<Duration>, CliError> {
    let remote = through.remote();
    let desk = through.desk(i);
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        remote
            .login(desk.device.clone(), desk.certificate, &format!("bench {i}"))
            .await
            .map_err(refused)?;
        latencies.push(t0.elapsed());
    }
    Ok(latencies)
}
