//! Commands over the service: `pqbank demo`, `pqbank log verify`, and the service
//! benchmarks `pqbank bench login` and `pqbank bench verify`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use pqbank_db::Backend;
use pqbank_db_mysql::MySqlStore;
use pqbank_db_sqlite::SqliteStore;
use pqbank_pki::{CompositeSigningKey, Fingerprint};
use pqbank_service::{Config, Service, demo};
use serde_json::json;

use crate::CliError;

/// Where the embedded database and the installation's settings live.
fn data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("pqbank")
}

/// The settings file: the database and the pinned root.
fn settings_path() -> PathBuf {
    data_dir().join("settings.json")
}

/// `--db`, or the configured database, or the embedded SQLite file.
fn database_url(db: Option<&str>) -> String {
    if let Some(url) = db {
        return url.to_owned();
    }
    let from_settings = std::fs::read(settings_path())
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["database"].as_str().map(str::to_owned));
    from_settings.unwrap_or_else(|| format!("sqlite://{}", data_dir().join("pqbank.db").display()))
}

/// Runs `$body` with `$store` bound to the backend the URL names, migrated.
macro_rules! with_store {
    ($url:expr, $store:ident => $body:expr) => {{
        let url: String = $url;
        if url.starts_with("mysql://") {
            let $store = MySqlStore::connect(&url).await?;
            $store.migrate().await?;
            $body
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(&url)
                .to_owned();
            if let Some(parent) = std::path::Path::new(&path).parent() {
                std::fs::create_dir_all(parent)?;
            }
            let $store = SqliteStore::open(std::path::Path::new(&path)).await?;
            $store.migrate().await?;
            $body
        }
    }};
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Arguments of `pqbank demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Database URL (`sqlite://PATH` or `mysql://...`); default: the embedded SQLite file
    /// in the user's data folder.
    #[arg(long)]
    db: Option<String>,
    /// Customers to create.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    customers: u32,
    /// Signed transfers to post.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    transfers: u32,
}

pub fn demo(args: &DemoArgs) -> Result<ExitCode, CliError> {
    let url = database_url(args.db.as_deref());
    runtime()?.block_on(async {
        with_store!(url.clone(), store => {
            let (_, bank) = demo::build(store, demo_seed(), args.customers as usize, args.transfers as usize, now()).await?;
            let pin = bank.root.fingerprint();
            std::fs::create_dir_all(data_dir())?;
            let settings = json!({ "database": url, "pinnedRoot": pin.to_hex() });
            std::fs::write(settings_path(), serde_json::to_vec_pretty(&settings)?)?;
            println!("demo bank written to {url}");
            println!("pinned root (SHA3-256): {pin}");
            for p in bank.managers.iter().chain(&bank.tellers).chain([&bank.auditor]) {
                println!("  {:<8} {:<16} staff {:<3} certificate {}", p.role, p.name, p.staff_id, p.cert.fingerprint());
            }
            println!("settings: {}", settings_path().display());
            Ok(ExitCode::SUCCESS)
        })
    })
}

/// The demo's fixed seed: demo keys are reproducible and must never guard real money.
fn demo_seed() -> [u8; 32] {
    *b"pqbank demo bank: not for use!!!"
}

/// Arguments of `pqbank log verify`.
#[derive(Debug, Args)]
pub struct LogVerify {
    /// Database URL; default: the configured or embedded database.
    #[arg(long)]
    db: Option<String>,
    /// Pinned root fingerprint; default: from the settings.
    #[arg(long)]
    pin: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn pinned_root(pin: Option<&str>) -> Result<Fingerprint, CliError> {
    let text = match pin {
        Some(p) => p.to_owned(),
        None => std::fs::read(settings_path())
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["pinnedRoot"].as_str().map(str::to_owned))
            .ok_or_else(|| CliError("no pinned root: pass --pin or run `pqbank demo`".into()))?,
    };
    Ok(Fingerprint::from_hex(&text)?)
}

pub fn log_verify(args: &LogVerify) -> Result<ExitCode, CliError> {
    let url = database_url(args.db.as_deref());
    let pin = pinned_root(args.pin.as_deref())?;
    runtime()?.block_on(async {
        with_store!(url, store => {
            let service = Service::new(store, Config::new(pin));
            let progress = |done: usize, total: usize| {
                if !args.json {
                    let width = 40;
                    let filled = (done * width).checked_div(total).unwrap_or(width).min(width);
                    eprint!("\r[{}{}] {done}/{total}", "#".repeat(filled), ".".repeat(width - filled));
                }
            };
            let report = service.verify_log(&progress).await?;
            if !args.json {
                eprintln!();
            }
            let problems: Vec<_> = report.problems.iter().map(|p| json!({ "table": p.table, "row": p.row, "reason": p.reason })).collect();
            if args.json {
                let out = json!({ "transfers": report.transfers, "events": report.events, "problems": problems });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("checked {} transfers and {} events", report.transfers, report.events);
                for p in &report.problems {
                    println!("BAD {} {}: {}", p.table, p.row, p.reason);
                }
                if report.problems.is_empty() {
                    println!("the log proves itself: every signature, link and checkpoint verifies");
                }
            }
            Ok(if report.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        })
    })
}

/// Arguments of `pqbank bench verify` and `pqbank bench login`.
#[derive(Debug, Args)]
pub struct BenchService {
    /// `sqlite` for a temporary file, or a `mysql://user@host:port` server (a scratch
    /// database is created and dropped).
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Transfers in the demo log (bench verify) or logins to time (bench login).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    count: u32,
}

/// Runs `$body` on a scratch database of the kind `--db` names.
macro_rules! with_scratch {
    ($db:expr, $store:ident => $body:expr) => {{
        let db: &str = $db;
        if let Some(server) = db.strip_prefix("mysql://") {
            let base = format!("mysql://{}", server.split('/').next().unwrap_or_default());
            let name = format!("pqbank_bench_{}", hex::encode(crate::files::random::<6>()?));
            let admin = MySqlStore::connect(&base).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(admin.pool())
                .await?;
            let result: Result<ExitCode, CliError> = async {
                let $store = MySqlStore::connect(&format!("{base}/{name}")).await?;
                $store.migrate().await?;
                $body
            }
            .await;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
                .execute(admin.pool())
                .await?;
            result
        } else {
            let dir = tempfile::tempdir()?;
            let $store = SqliteStore::open(&dir.path().join("bench.db")).await?;
            $store.migrate().await?;
            $body
        }
    }};
}

pub fn bench_verify(args: &BenchService) -> Result<ExitCode, CliError> {
    runtime()?.block_on(async {
        with_scratch!(&args.db, store => {
            let (service, _) = demo::build(store, demo_seed(), 50, args.count as usize, now()).await?;
            let started = Instant::now();
            let report = service.verify_log(&|_, _| {}).await?;
            let elapsed = started.elapsed().as_secs_f64();
            let items = report.events + report.transfers;
            let key = CompositeSigningKey::from_seed(&[9; 64]);
            let sig = key.sign(b"bench", b"", &[0; 32])?;
            let n = 500;
            let t0 = Instant::now();
            for _ in 0..n {
                key.verifying_key().verify(b"bench", b"", sig.as_bytes())?;
            }
            let raw = f64::from(n) / t0.elapsed().as_secs_f64();
            println!("pqbank bench verify: {} ({} events, {} transfers, {} problems)", args.db, report.events, report.transfers, report.problems.len());
            println!("log verification: {:.0} signed rows/s ({:.2} s)", items as f64 / elapsed, elapsed);
            println!("raw composite verify on this machine: {raw:.0}/s");
            Ok(ExitCode::SUCCESS)
        })
    })
}

pub fn bench_login(args: &BenchService) -> Result<ExitCode, CliError> {
    runtime()?.block_on(async {
        with_scratch!(&args.db, store => {
            let (service, bank) = demo::build(store, demo_seed(), 5, 0, now()).await?;
            let mut latencies = Vec::with_capacity(args.count as usize);
            for i in 0..args.count as usize {
                let who = &bank.tellers[i % bank.tellers.len()];
                let t0 = Instant::now();
                demo::login(&service, who).await?;
                latencies.push(t0.elapsed());
            }
            latencies.sort_unstable();
            let pick = |q: usize| latencies[(latencies.len() - 1) * q / 100].as_secs_f64() * 1000.0;
            println!("pqbank bench login: {}, {} logins (challenge, device signature, chain and CRL checks, nonce, session, signed intent)", args.db, latencies.len());
            println!("p50 {:.2} ms, p99 {:.2} ms", pick(50), pick(99));
            Ok(ExitCode::SUCCESS)
        })
    })
}
