//! `pqbank bench server`: transfers and logins through a pqbank-server, beside the bare
//! SQL baseline on the same database in the same run, at 1, 4 and 16 workstations.
//!
//! The server is the server crate's own serving loop (TLS 1.3 with X25519MLKEM768,
//! HTTP/1.1, the signed-request gate, server-signed events) on a loopback port of this
//! process, in front of a scratch database; each workstation is a `pqbank-client` with
//! its own TLS connection and session, signing each transfer and each request on its
//! side. Both ends share this machine's cores, as a branch server and a test client do
//! on one host.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use pqbank_client::{DeviceKey, Remote};
use pqbank_db_mysql::MySqlStore;
use pqbank_db_sqlite::SqliteStore;
use pqbank_ledger::{Amount, Currency, TransferKind, TransferRequest};
use pqbank_net::{TlsKey, VouchedKey};
use pqbank_pki::{CompositeSigningKey, Crl};
use pqbank_server::{App, State};
use pqbank_service::demo::{self, DemoBank, DemoPerson};
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
const WORKERS_MAX: u32 = 64;

pub fn bench_server(args: &BenchServer) -> Result<ExitCode, CliError> {
    if args.workers.iter().any(|w| !(1..=WORKERS_MAX).contains(w)) {
        return Err(CliError(format!(
            "--workers takes counts from 1 to {WORKERS_MAX}"
        )));
    }
    runtime()?.block_on(async { with_scratch!(&args.db, store => run(store, args).await) })
}

async fn run<S: crate::bench::Bare + pqbank_db::Store + Clone + 'static>(
    store: S,
    args: &BenchServer,
) -> Result<ExitCode, CliError> {
    let seed = *b"pqbank bench server: not for use";
    // The bare baseline writes through the store itself, beside the server's service.
    let (service, bank) = demo::build(store.clone(), seed, 64, 64, now()).await?;
    let tls_key = TlsKey::generate()?;
    let key = demo::install_server(&service, &bank.root, seed, &tls_key.hash(), now()).await?;
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
    let app = App::with_rates(
        served.with_server_key(Arc::new(server_key)),
        state.root,
        &unlimited,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(pqbank_server::serve(listener, acceptor, app.clone()));
    let bank = Arc::new(bank);
    let duration = Duration::from_secs(args.seconds);

    println!(
        "pqbank bench server: {}, {} s per figure, server on 127.0.0.1 (TLS 1.3, \
         X25519MLKEM768; rate limits lifted)",
        args.db, args.seconds
    );
    println!(
        "{:<14} {:>12} {:>9} {:>9}   {:>12} {:>9} {:>9}   {:>7}",
        "workstations", "through/s", "p50 ms", "p99 ms", "bare SQL/s", "p50 ms", "p99 ms", "ratio"
    );
    for (round, &w) in args.workers.iter().enumerate() {
        let through = timed(w, duration, |i, stop| {
            let bank = bank.clone();
            async move { post_through(addr, &bank, i, round, stop).await }
        })
        .await?;
        let bare = timed(w, duration, |i, stop| {
            let (bank, store) = (bank.clone(), store.clone());
            async move { post_bare(&store, &bank, i, round, stop).await }
        })
        .await?;
        println!(
            "{w:<14} {:>12.1} {:>9.2} {:>9.2}   {:>12.1} {:>9.2} {:>9.2}   {:>7.3}",
            through.per_second,
            through.p50_ms,
            through.p99_ms,
            bare.per_second,
            bare.p50_ms,
            bare.p99_ms,
            through.per_second / bare.per_second
        );
    }
    println!();
    println!(
        "{:<14} {:>12} {:>9} {:>9}",
        "workstations", "logins/s", "p50 ms", "p99 ms"
    );
    for &w in &args.workers {
        let logins = timed(w, duration, |i, stop| {
            let bank = bank.clone();
            async move { login_through(addr, &bank, i, stop).await }
        })
        .await?;
        println!(
            "{w:<14} {:>12.1} {:>9.2} {:>9.2}",
            logins.per_second, logins.p50_ms, logins.p99_ms
        );
    }
    server.abort();
    Ok(ExitCode::SUCCESS)
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

fn teller(bank: &DemoBank, i: usize) -> &DemoPerson {
    &bank.tellers[i % bank.tellers.len()]
}

/// Accounts the demo's first deposits funded (its drawers' floats run out after some
/// dozens), between which the bench moves cents.
const FUNDED: usize = 24;

/// The `n`th transfer of workstation `i` in round `round`: one cent between two funded
/// customers' accounts.
fn transfer(bank: &DemoBank, i: usize, round: usize, n: usize) -> Option<TransferRequest> {
    let funded = &bank.accounts[..FUNDED.min(bank.accounts.len())];
    let a = funded[(i * 7 + n) % funded.len()];
    let b = funded[(i * 7 + n * 3 + 1) % funded.len()];
    (a != b).then(|| TransferRequest {
        maker: teller(bank, i).staff_id,
        idempotency_key: format!("s{round}-w{i}-{n}"),
        kind: TransferKind::Transfer,
        debit: a,
        credit: b,
        amount: Amount::from_minor(1, Currency::EUR).unwrap_or_else(|_| unreachable!()),
        memo: String::new(),
        created_at: now(),
    })
}

fn device(person: &DemoPerson) -> Arc<DeviceKey> {
    Arc::new(DeviceKey {
        id: person.device.id.clone(),
        key: CompositeSigningKey::from_seed(person.device.key().seed()),
        recipient: pqbank_pki::bundle::RecipientSecret::from_seeds(
            person.recipient.suite(),
            person.recipient.kem_seed(),
            person.recipient.x25519_secret(),
        ),
    })
}

/// One workstation: signs in, then posts transfers it signs, each through the server.
async fn post_through(
    addr: std::net::SocketAddr,
    bank: &DemoBank,
    i: usize,
    round: usize,
    stop: Arc<AtomicBool>,
) -> Result<Vec<Duration>, CliError> {
    let remote = Remote::new(addr, VouchedKey::new(bank.root.fingerprint()));
    let who = teller(bank, i);
    let session = remote
        .login(device(who), who.cert.fingerprint(), &format!("bench {i}"))
        .await?;
    let mut latencies = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let Some(request) = transfer(bank, i, round, n) else {
            continue;
        };
        let t0 = Instant::now();
        session.post_transfer(&remote, request).await?;
        latencies.push(t0.elapsed());
    }
    Ok(latencies)
}

/// The baseline: the same transfers' bare SQL (lock, update two balances, insert).
async fn post_bare<S: crate::bench::Bare>(
    store: &S,
    bank: &DemoBank,
    i: usize,
    round: usize,
    stop: Arc<AtomicBool>,
) -> Result<Vec<Duration>, CliError> {
    let mut latencies = Vec::new();
    let mut n = 0;
    let retry = pqbank_db::RetryPolicy::default();
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let Some(request) = transfer(bank, i, round, n) else {
            continue;
        };
        let key = format!("bare-{}", request.idempotency_key);
        let t0 = Instant::now();
        pqbank_db::flows::with_retry(&retry, || {
            store.bare(request.maker, &key, request.debit, request.credit)
        })
        .await?;
        latencies.push(t0.elapsed());
    }
    Ok(latencies)
}

/// One workstation signing in again and again (challenge, signed transcript, session).
async fn login_through(
    addr: std::net::SocketAddr,
    bank: &DemoBank,
    i: usize,
    stop: Arc<AtomicBool>,
) -> Result<Vec<Duration>, CliError> {
    let remote = Remote::new(addr, VouchedKey::new(bank.root.fingerprint()));
    let who = teller(bank, i);
    let device = device(who);
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        remote
            .login(
                device.clone(),
                who.cert.fingerprint(),
                &format!("bench {i}"),
            )
            .await?;
        latencies.push(t0.elapsed());
    }
    Ok(latencies)
}
