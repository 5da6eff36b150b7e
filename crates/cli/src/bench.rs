//! `pqbank bench ledger`: transfers per second and posting latency of the application
//! path (the ledger flows) beside a bare SQL baseline with the same schema and locking,
//! on a scratch database that is removed afterwards.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use pqbank_db::flows::{check_invariants, post_transfer};
use pqbank_db::{Backend, NewAccount, NewStaff, RetryPolicy, SignedBy, SignedTransfer};
use pqbank_db_mysql::MySqlStore;
use pqbank_db_sqlite::SqliteStore;
use pqbank_ledger::{AccountKind, Amount, Currency, Policy, TransferKind, TransferRequest};
use serde_json::json;

use crate::CliError;

/// Customer accounts the transfers move between.
const ACCOUNTS: i64 = 64;

/// Arguments of `pqbank bench ledger`.
#[derive(Debug, Args)]
pub struct BenchLedger {
    /// `sqlite` for a temporary SQLite file, or a `mysql://user@host:port` server on which
    /// a scratch database is created and dropped.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Concurrent tellers.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Seconds per phase (application, then bare SQL).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The bare baseline each backend offers.
pub(crate) trait Bare: Backend + 'static {
    fn bare(
        &self,
        maker: i64,
        key: &str,
        debit: i64,
        credit: i64,
    ) -> impl Future<Output = pqbank_db::Result<()>> + Send;
}

impl Bare for SqliteStore {
    fn bare(
        &self,
        maker: i64,
        key: &str,
        debit: i64,
        credit: i64,
    ) -> impl Future<Output = pqbank_db::Result<()>> + Send {
        self.bare_transfer(maker, key, debit, credit, 1)
    }
}

impl Bare for MySqlStore {
    fn bare(
        &self,
        maker: i64,
        key: &str,
        debit: i64,
        credit: i64,
    ) -> impl Future<Output = pqbank_db::Result<()>> + Send {
        self.bare_transfer(maker, key, debit, credit, 1)
    }
}

pub fn bench_ledger(args: &BenchLedger) -> Result<std::process::ExitCode, CliError> {
    if args.workers == 0 || args.seconds == 0 {
        return Err(CliError(
            "--workers and --seconds must be at least 1".into(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.db != "sqlite" && !args.db.starts_with("mysql://") {
        return Err(CliError("--db must be `sqlite` or a mysql:// URL".into()));
    }
    let backend = if args.db == "sqlite" {
        "sqlite"
    } else {
        "mysql"
    };
    runtime.block_on(async {
        crate::service_cmds::with_scratch!(&args.db, store => report(args, backend, run(store, args).await?))
    })
}

/// Throughput and latency of one phase.
struct Phase {
    transfers: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

struct Results {
    app: Phase,
    bare: Phase,
    sound: bool,
}

async fn run<B: Bare>(store: B, args: &BenchLedger) -> Result<Results, CliError> {
    store
        .migrate()
        .await
        .map_err(|e| CliError(format!("setup: {e}")))?;
    let mut makers = Vec::new();
    for w in 0..args.workers {
        let staff = NewStaff {
            number: format!("B-{w}"),
            display_name: format!("Bench {w}"),
            role: "teller".into(),
        };
        makers.push(store.create_staff(&staff, 0, None).await?);
    }
    let mut accounts = Vec::new();
    for a in 0..ACCOUNTS {
        let account = NewAccount {
            number: format!("BENCH-{a}"),
            customer_id: None,
            kind: AccountKind::Customer,
            currency: Currency::EUR,
            floor_minor: Some(-1_000_000_000_000),
            label: format!("bench {a}"),
        };
        accounts.push(store.create_account(&account, 0, None).await?);
    }
    let store = Arc::new(store);
    let accounts = Arc::new(accounts);
    let seconds = Duration::from_secs(args.seconds);
    let app = phase(
        &store,
        &makers,
        &accounts,
        seconds,
        |db, maker, n, debit, credit| async move {
            let transfer = signed_transfer(maker, &format!("app-{n}"), debit, credit)?;
            post_transfer(
                &*db,
                &RetryPolicy::default(),
                &transfer,
                &Policy::default(),
                0,
            )
            .await?;
            Ok(())
        },
    )
    .await
    .map_err(|e| CliError(format!("application phase: {}", e.0)))?;
    let bare = phase(
        &store,
        &makers,
        &accounts,
        seconds,
        |db, maker, n, debit, credit| async move {
            // The same bounded retry on a busy file or a deadlock as the application gets.
            let key = format!("bare-{n}");
            let retry = RetryPolicy::default();
            pqbank_db::flows::with_retry(&retry, || db.bare(maker, &key, debit, credit)).await?;
            Ok(())
        },
    )
    .await
    .map_err(|e| CliError(format!("bare phase: {}", e.0)))?;
    let sound = check_invariants(&*store)
        .await
        .map_err(|e| CliError(format!("invariant check: {e}")))?
        .is_sound();
    Ok(Results { app, bare, sound })
}

/// A transfer of one cent with a placeholder signature: this layer stores signatures,
/// the service layer makes and checks them (see `pqbank bench transfers`).
fn signed_transfer(
    maker: i64,
    key: &str,
    debit: i64,
    credit: i64,
) -> Result<SignedTransfer, CliError> {
    Ok(SignedTransfer {
        request: TransferRequest {
            maker,
            idempotency_key: key.into(),
            kind: TransferKind::Transfer,
            debit,
            credit,
            amount: Amount::from_minor(1, Currency::EUR)?,
            memo: String::new(),
            created_at: 0,
        },
        signed: SignedBy {
            signature: vec![0; 3373],
            signer: [0; 32],
        },
    })
}

/// Runs `op` from every worker until the time is up; returns the phase's figures.
async fn phase<B, F, Fut>(
    store: &Arc<B>,
    makers: &[i64],
    accounts: &Arc<Vec<i64>>,
    duration: Duration,
    op: F,
) -> Result<Phase, CliError>
where
    B: Bare,
    F: Fn(Arc<B>, i64, u64, i64, i64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), CliError>> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut handles = Vec::new();
    for (w, maker) in makers.iter().copied().enumerate() {
        let (store, accounts, stop, op) =
            (store.clone(), accounts.clone(), stop.clone(), op.clone());
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ (w as u64 + 1);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let len = accounts.len() as u64;
                let a = (state % len) as usize;
                let b = (a + 1 + ((state >> 32) % (len - 1)) as usize) % accounts.len();
                let t0 = Instant::now();
                op(
                    store.clone(),
                    maker,
                    n * 1000 + w as u64,
                    accounts[a],
                    accounts[b],
                )
                .await?;
                latencies.push(t0.elapsed());
                n += 1;
            }
            Ok::<_, CliError>(latencies)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.map_err(|e| CliError(e.to_string()))??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pick = |q: usize| {
        all.get(all.len().saturating_sub(1) * q / 100)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(Phase {
        transfers: all.len(),
        per_second: all.len() as f64 / elapsed,
        p50_ms: pick(50),
        p99_ms: pick(99),
    })
}

fn report(
    args: &BenchLedger,
    backend: &str,
    r: Results,
) -> Result<std::process::ExitCode, CliError> {
    let ratio = r.bare.per_second / r.app.per_second;
    if args.json {
        let phase = |p: &Phase| json!({ "transfers": p.transfers, "perSecond": p.per_second, "p50Ms": p.p50_ms, "p99Ms": p.p99_ms });
        let out = json!({
            "backend": backend, "workers": args.workers, "seconds": args.seconds,
            "application": phase(&r.app), "bare": phase(&r.bare), "ratio": ratio, "invariantsSound": r.sound,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "pqbank bench ledger: {backend}, {} workers, {} s per phase",
            args.workers, args.seconds
        );
        println!(
            "{:<14} {:>12} {:>9} {:>9}",
            "", "transfers/s", "p50 ms", "p99 ms"
        );
        for (name, p) in [("application", &r.app), ("bare SQL", &r.bare)] {
            println!(
                "{name:<14} {:>12.1} {:>9.2} {:>9.2}",
                p.per_second, p.p50_ms, p.p99_ms
            );
        }
        println!("overhead ratio (bare / application throughput): {ratio:.2}");
        println!(
            "invariants after both phases: {}",
            if r.sound { "sound" } else { "BROKEN" }
        );
    }
    if r.sound {
        Ok(std::process::ExitCode::SUCCESS)
    } else {
        Err(CliError(
            "the ledger's invariants do not hold after the benchmark".into(),
        ))
    }
}
