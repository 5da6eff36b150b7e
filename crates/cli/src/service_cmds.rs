//! Commands over the service: `pqbank demo`, `pqbank log verify`, and the service
//! benchmarks `pqbank bench login` and `pqbank bench verify`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use pqbank_db_mysql::MySqlStore;
use pqbank_db_sqlite::SqliteStore;
use std::sync::Arc;

use pqbank_api::Bank as _;
use pqbank_pki::{CompositeSigningKey, Fingerprint};
use pqbank_service::{Config, InProcess, Service, demo};
use serde_json::json;

use crate::CliError;

/// Where the embedded database and the installation's settings live.
pub(crate) fn data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("pqbank")
}

/// The settings file: the database and the pinned root.
pub(crate) fn settings_path() -> PathBuf {
    data_dir().join("settings.json")
}

/// The installation's CRL pins, kept in the data folder beside the settings (outside the
/// database, so deleting a CRL row cannot roll revocation back).
pub(crate) fn crl_pins() -> Result<std::sync::Arc<pqbank_service::FileCrlPins>, CliError> {
    Ok(std::sync::Arc::new(pqbank_service::FileCrlPins::open(
        &data_dir(),
    )?))
}

/// `--db`, or the configured database, or the embedded SQLite file.
pub(crate) fn database_url(db: Option<&str>) -> String {
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
macro_rules! with_store_impl {
    ($url:expr, $store:ident => $body:expr) => {{
        let url: String = $url;
        if url.starts_with("mysql://") {
            let $store = pqbank_db_mysql::MySqlStore::connect(&url).await?;
            pqbank_db::Backend::migrate(&$store).await?;
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
            let $store = pqbank_db_sqlite::SqliteStore::open(std::path::Path::new(&path)).await?;
            pqbank_db::Backend::migrate(&$store).await?;
            $body
        }
    }};
}

pub(crate) use with_store_impl as with_store;

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub(crate) fn now() -> i64 {
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
    // A demo bank is a new installation (its keys come from a fixed seed): the CRL pins
    // of an earlier one start over with it.
    match std::fs::remove_file(data_dir().join(pqbank_service::FileCrlPins::FILE_NAME)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    let bank = runtime()?.block_on(async {
        with_store!(url.clone(), store => {
            let (_, bank) = demo::build(store, demo_seed(), args.customers as usize, args.transfers as usize, now()).await?;
            Ok::<_, CliError>(bank)
        })
    })?;
    // This machine acts as the demo auditor's device: its key goes to the OS keyring.
    let auditor = &bank.auditor;
    let device = match store_device_key(DEMO_AUDITOR_ITEM, auditor.device.key().seed()) {
        Ok(()) => json!({
            "keyring": DEMO_AUDITOR_ITEM,
            "id": hex::encode(&auditor.device.id),
            "certificate": auditor.cert.fingerprint().to_hex(),
        }),
        Err(e) => {
            eprintln!(
                "pqbank: warning: {}; the demo auditor's key was not stored, so `pqbank audit report` cannot sign here",
                e.0
            );
            serde_json::Value::Null
        }
    };
    let pin = bank.root.fingerprint();
    std::fs::create_dir_all(data_dir())?;
    let settings = json!({ "database": url, "pinnedRoot": pin.to_hex(), "device": device });
    std::fs::write(settings_path(), serde_json::to_vec_pretty(&settings)?)?;
    println!("demo bank written to {url}");
    println!("pinned root (SHA3-256): {pin}");
    for p in bank
        .managers
        .iter()
        .chain(&bank.tellers)
        .chain([&bank.auditor])
    {
        println!(
            "  {:<8} {:<16} staff {:<3} certificate {}",
            p.role,
            p.name,
            p.staff_id,
            p.cert.fingerprint()
        );
    }
    println!("settings: {}", settings_path().display());
    Ok(ExitCode::SUCCESS)
}

/// The keyring item of the demo auditor's device key.
const DEMO_AUDITOR_ITEM: &str = "demo-auditor";
/// The keyring service name of pqbank's device keys.
pub(crate) const KEYRING_SERVICE: &str = "pqbank";

/// Stores a device's signing seed in the OS keyring (the sealed-bundle keys are derived
/// from it for the demo; enrolled devices store their own).
fn store_device_key(item: &str, seed: &[u8; 64]) -> Result<(), CliError> {
    use pqbank_keystore::KeyStore;
    let keyring = pqbank_keystore::OsKeyring::new(KEYRING_SERVICE)?;
    let mut secrets = pqbank_keystore::DeviceSecrets::generate()?;
    secrets.signing_seed = *seed;
    keyring.store(item, &secrets)?;
    Ok(())
}

/// This machine's device from the settings: its identifier, certificate and the key in
/// the OS keyring.
fn this_device() -> Result<(pqbank_service::Device, Fingerprint), CliError> {
    use pqbank_keystore::KeyStore;
    let settings: serde_json::Value = std::fs::read(settings_path())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| CliError("no settings: run `pqbank demo` first".into()))?;
    let device = &settings["device"];
    let (Some(item), Some(id), Some(cert)) = (
        device["keyring"].as_str(),
        device["id"].as_str(),
        device["certificate"].as_str(),
    ) else {
        return Err(CliError(
            "this machine has no device in the settings".into(),
        ));
    };
    let secrets = pqbank_keystore::OsKeyring::new(KEYRING_SERVICE)?.load(item)?;
    let key = CompositeSigningKey::from_seed(&zeroize::Zeroizing::new(secrets.signing_seed));
    Ok((
        pqbank_service::Device::new(&hex::decode(id)?, key),
        Fingerprint::from_hex(cert)?,
    ))
}

/// Arguments of `pqbank branch-demo`.
#[derive(Debug, Args)]
pub struct BranchDemo {
    /// The branch's pqbank-server, `https://host:port`.
    #[arg(long)]
    server: String,
    /// The demo's staff file (`demo-staff.json` in the server's state directory).
    #[arg(long)]
    staff: PathBuf,
}

pub fn branch_demo(args: &BranchDemo) -> Result<ExitCode, CliError> {
    let bytes = crate::files::read(&args.staff)?;
    let staff = pqbank_api::DemoStaff::from_json(&bytes).map_err(CliError)?;
    let keys: pqbank_workstation::Keys =
        Arc::new(pqbank_keystore::OsKeyring::new(KEYRING_SERVICE)?);
    let adopted = runtime()?.block_on(pqbank_workstation::adopt_demo_branch(
        &data_dir(),
        &staff,
        &keys,
        &args.server,
    ))?;
    println!(
        "this machine is a branch workstation of {}: {adopted} demo staff keys in the keyring, root {}",
        args.server.trim(),
        staff.root
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `pqbank audit report`.
#[derive(Debug, Args)]
pub struct AuditReport {
    /// Fingerprint of the certificate to report on.
    #[arg(long)]
    cert: String,
    /// json (signed, with a .sig file beside it) or pdf.
    #[arg(long, default_value = "json", value_parser = ["json", "pdf"])]
    format: String,
    /// Where to write the report.
    #[arg(long)]
    out: PathBuf,
    /// Database URL; default: the configured or embedded database.
    #[arg(long)]
    db: Option<String>,
}

/// A branch workstation's auditor, when the settings name a server (`pqbank
/// branch-demo`, or the desktop's settings screen): the server's URL, the pinned root and
/// the first auditor's device held here.
fn branch_auditor()
-> Result<Option<(String, Fingerprint, pqbank_client::DeviceKey, Fingerprint)>, CliError> {
    use pqbank_keystore::KeyStore;
    let Ok(settings) = pqbank_workstation::Settings::load(&settings_path()) else {
        return Ok(None);
    };
    let Some(server) = settings.server.clone() else {
        return Ok(None);
    };
    let pin = Fingerprint::from_hex(settings.pinned_root.as_deref().unwrap_or_default())?;
    let auditor = settings
        .devices
        .iter()
        .find(|d| d.role == pqbank_pki::Role::Auditor && !d.certificate.is_empty())
        .ok_or_else(|| CliError("this branch workstation holds no auditor's device".into()))?;
    let secrets = pqbank_keystore::OsKeyring::new(KEYRING_SERVICE)?.load(&auditor.keyring)?;
    let device = pqbank_workstation::device_key(hex::decode(&auditor.id)?, &secrets);
    Ok(Some((
        server,
        pin,
        device,
        Fingerprint::from_hex(&auditor.certificate)?,
    )))
}

/// Signs a branch's auditor in at its server (TLS under the pinned root), holding the
/// server's log to the pin the workstation keeps in the data folder, as the desktop does.
async fn sign_in(
    server: &str,
    pin: Fingerprint,
    device: pqbank_client::DeviceKey,
    certificate: Fingerprint,
) -> Result<pqbank_client::ServerBank, CliError> {
    let addr = pqbank_workstation::server_addr(server)?;
    let remote = pqbank_client::Remote::new(addr, pqbank_net::VouchedKey::new(pin));
    let log_pin = pqbank_service::FileLogPin::open(&data_dir())?;
    let (session, seen) = remote
        .login_pinned(
            Arc::new(device),
            certificate,
            "pqbank-cli",
            log_pin.pinned(&pin)?,
        )
        .await?;
    if let Some(seen) = seen {
        log_pin.raise(&pin, &seen)?;
    }
    Ok(pqbank_client::ServerBank { remote, session })
}

pub fn audit_report(args: &AuditReport) -> Result<ExitCode, CliError> {
    let subject = Fingerprint::from_hex(&args.cert)?;
    let branch = if args.db.is_none() {
        branch_auditor()?
    } else {
        None
    };
    let signed = match branch {
        // A branch workstation asks its server, through the same interface.
        Some((server, pin, device, certificate)) => runtime()?.block_on(async {
            let auditor = sign_in(&server, pin, device, certificate).await?;
            let signed = auditor.report(subject).await?;
            auditor.logout().await?;
            Ok::<_, CliError>(signed)
        })?,
        None => in_process_report(args, subject)?,
    };
    write_report(args, &signed)
}

fn in_process_report(
    args: &AuditReport,
    subject: Fingerprint,
) -> Result<pqbank_api::SignedReport, CliError> {
    let pin = pinned_root(None)?;
    let (device, certificate) = this_device()?;
    let url = database_url(args.db.as_deref());
    runtime()?.block_on(async {
        with_store!(url, store => {
            // Signed in as the auditor and asked through the `Bank` interface, as a
            // workstation does.
            let service = Arc::new(Service::new(store, Config::new(pin)).with_crl_pins(crl_pins()?));
            let auditor = InProcess::login(service, Arc::new(device), certificate, "127.0.0.1 pqbank-cli").await?;
            let signed = auditor.report(subject).await?;
            auditor.logout().await?;
            Ok::<_, CliError>(signed)
        })
    })
}

fn write_report(
    args: &AuditReport,
    signed: &pqbank_api::SignedReport,
) -> Result<ExitCode, CliError> {
    if args.format == "pdf" {
        crate::files::write_new(&args.out, &pqbank_service::report_pdf(signed), 0o644)?;
    } else {
        crate::files::write_new(&args.out, &signed.json, 0o644)?;
        let sig = args.out.with_extension("json.sig");
        let envelope = json!({ "signer": signed.signer.to_hex(), "context": "pqbank/act/v1", "signature": hex::encode(&signed.signature) });
        crate::files::write_new(&sig, &serde_json::to_vec_pretty(&envelope)?, 0o644)?;
    }
    println!("report written to {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// The demo's fixed seed: demo keys are reproducible and must never guard real money.
fn demo_seed() -> [u8; 32] {
    *b"pqbank demo bank: not for use!!!"
}

/// Arguments of `pqbank log verify`.
#[derive(Debug, Args)]
pub struct LogVerify {
    /// Database URL (an auditor's check of a copy, here); default: through this branch's
    /// pqbank-server as its auditor when the settings name one, else the embedded
    /// database.
    #[arg(long)]
    db: Option<String>,
    /// Pinned root fingerprint; default: from the settings.
    #[arg(long)]
    pin: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Verify every row again. By default a verification starts from the last clean one
    /// of the same database (kept in the data folder) and reads only what came after: it
    /// sees rows inserted or removed below what it verified, but not a verified row
    /// edited in place, which a full run names.
    #[arg(long)]
    full: bool,
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
    let branch = if args.db.is_none() {
        branch_auditor()?
    } else {
        None
    };
    if let Some((server, pin, device, certificate)) = branch {
        // A branch workstation holds no database: its auditor asks the server, through
        // the same interface as the window's Verify screen.
        let pin = match &args.pin {
            Some(p) => Fingerprint::from_hex(p)?,
            None => pin,
        };
        let report = runtime()?.block_on(async {
            let auditor = sign_in(&server, pin, device, certificate).await?;
            let report = auditor.verify_log().await?;
            auditor.logout().await?;
            Ok::<_, CliError>(report)
        })?;
        let problems: Vec<_> = report
            .problems
            .iter()
            .map(|p| (p.table.as_str(), p.row.clone(), p.reason.as_str()))
            .collect();
        if !args.json {
            println!(
                "verified by the bank's server at {server} for this branch's auditor \
                 ({certificate}); `pqbank log verify --db URL` checks a copy of its database here"
            );
        }
        return print_verification(
            args.json,
            Some(&server),
            (report.transfers, report.events, false),
            &problems,
        );
    }
    let url = database_url(args.db.as_deref());
    let pin = pinned_root(args.pin.as_deref())?;
    let record = pqbank_service::FileVerifiedLog::open(&data_dir(), &url)?;
    runtime()?.block_on(async {
        with_store!(url, store => {
            let service = Service::new(store, Config::new(pin)).with_crl_pins(crl_pins()?);
            let interactive = !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let progress = |done: usize, total: usize| {
                // Redraw on a terminal only, about a hundred times in all.
                let step = (total / 100).max(1);
                if interactive && (done.is_multiple_of(step) || done == total) {
                    let width = 40;
                    let filled = (done * width).checked_div(total).unwrap_or(width).min(width);
                    eprint!("\r[{}{}] {done}/{total}", "#".repeat(filled), ".".repeat(width - filled));
                }
            };
            let from = if args.full { None } else { record.read(&pin)? };
            let (report, proven) = service.verify_log_from(from.as_ref(), &progress).await?;
            if interactive {
                eprintln!();
            }
            if let Some(proven) = &proven {
                record.write(proven)?;
            }
            if let Some(from) = from.as_ref().filter(|_| !args.json) {
                println!(
                    "from the last clean verification ({} transfers and {} events, at {}); \
                     `--full` checks every row again",
                    from.transfers,
                    from.events,
                    time::OffsetDateTime::from_unix_timestamp(from.verified_at)
                        .map_or_else(|_| from.verified_at.to_string(), crate::pki::rfc3339)
                );
            }
            let problems: Vec<_> = report
                .problems
                .iter()
                .map(|p| (p.table, p.row.to_string(), p.reason.as_str()))
                .collect();
            let counts = (report.transfers as u64, report.events as u64, report.incremental);
            print_verification(args.json, None, counts, &problems)
        })
    })
}

/// Prints a verification (JSON, or lines naming every bad row); exit 1 when a row is bad.
/// `counts` are the transfers and events checked, and whether only the new ones were.
fn print_verification(
    as_json: bool,
    server: Option<&str>,
    (transfers, events, incremental): (u64, u64, bool),
    problems: &[(&str, String, &str)],
) -> Result<ExitCode, CliError> {
    if as_json {
        let problems: Vec<_> = problems
            .iter()
            .map(|(table, row, reason)| json!({ "table": table, "row": row, "reason": reason }))
            .collect();
        let mut out = json!({
            "transfers": transfers,
            "events": events,
            "incremental": incremental,
            "problems": problems,
        });
        if let Some(server) = server {
            out["server"] = json!(server);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let new = if incremental { "new " } else { "" };
        println!("checked {transfers} {new}transfers and {events} {new}events");
        for (table, row, reason) in problems {
            println!("BAD {table} {row}: {reason}");
        }
        if problems.is_empty() {
            println!("the log proves itself: every signature, link and checkpoint verifies");
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Arguments of `pqbank bench verify`.
#[derive(Debug, Args)]
pub struct BenchService {
    /// `sqlite` for a temporary file, or a `mysql://user@host:port` server (a scratch
    /// database is created and dropped).
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Transfers in the demo log.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    count: u32,
}

/// Runs `$body` on a scratch database of the kind `--db` names.
macro_rules! with_scratch_impl {
    ($db:expr, $store:ident => $body:expr) => {{
        let db: &str = $db;
        if let Some(server) = db.strip_prefix("mysql://") {
            let base = format!("mysql://{}", server.split('/').next().unwrap_or_default());
            let name = format!("pqbank_bench_{}", hex::encode(crate::files::random::<6>()?));
            let admin = MySqlStore::connect(&base).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(admin.pool())
                .await?;
            let result: Result<std::process::ExitCode, CliError> = async {
                let $store = MySqlStore::connect(&format!("{base}/{name}")).await?;
                pqbank_db::Backend::migrate(&$store).await?;
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
            pqbank_db::Backend::migrate(&$store).await?;
            $body
        }
    }};
}

pub(crate) use with_scratch_impl as with_scratch;

pub fn bench_verify(args: &BenchService) -> Result<ExitCode, CliError> {
    runtime()?.block_on(async {
        with_scratch!(&args.db, store => {
            let count = args.count as usize;
            let (service, bank) = demo::build(store, demo_seed(), 50, count, now()).await?;
            let started = Instant::now();
            let (report, proven) = service.verify_log_from(None, &|_, _| {}).await?;
            let elapsed = started.elapsed().as_secs_f64();
            // A tenth more, then a verification from the state the full one left.
            let more = (count / 10).max(1);
            demo::post_transfers(&service, &bank, count..count + more).await?;
            let started = Instant::now();
            let (since, _) = service.verify_log_from(proven.as_ref(), &|_, _| {}).await?;
            let incremental = started.elapsed().as_secs_f64();
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
            println!(
                "incremental verification of {} new transfers and {} new events: {:.2} s \
                 ({} problems), beside the full run's {elapsed:.2} s",
                since.transfers, since.events, incremental, since.problems.len()
            );
            println!("raw composite verify on this machine: {raw:.0}/s");
            Ok(ExitCode::SUCCESS)
        })
    })
}

/// Arguments of `pqbank bench login`.
#[derive(Debug, Args)]
pub struct BenchLogin {
    /// `sqlite` for a temporary file, or a `mysql://user@host:port` server (a scratch
    /// database is created and dropped).
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Logins to time, in this process's service.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    count: u32,
    /// Workstations signing in at once through `--server`, one figure each.
    #[arg(long, value_delimiter = ',', requires = "server")]
    workers: Vec<u32>,
    /// Seconds per figure through `--server`.
    #[arg(long, default_value_t = 10, requires = "server", value_parser = clap::value_parser!(u64).range(1..=600))]
    seconds: u64,
    #[command(flatten)]
    through: Through,
}

pub fn bench_login(args: &BenchLogin) -> Result<ExitCode, CliError> {
    if let (Some(server), Some(staff)) = (&args.through.server, &args.through.staff) {
        let workers = workers_or(&args.workers, &crate::bench_server::WORKERS_THROUGH);
        return crate::bench_server::logins_through_server(server, staff, &workers, args.seconds);
    }
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

/// Transfers each worker signs beforehand for phase (b), per second of the phase: more
/// than a worker posts through the checks on this kind of machine.
const PRESIGNED_PER_SECOND: usize = 400;

/// Arguments of `pqbank bench transfers`.
#[derive(Debug, Args)]
pub struct BenchTransfers {
    /// `sqlite` or a `mysql://user@host:port` server (scratch database); with
    /// `--server`, the MariaDB of the bare SQL baseline.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Concurrent tellers, one figure each (default 4; through a server 1,4,16).
    #[arg(long, value_delimiter = ',')]
    workers: Vec<u32>,
    /// Seconds per phase.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    seconds: u64,
    #[command(flatten)]
    through: Through,
}

/// A pqbank-server started on its own, for `bench transfers` and `bench login`.
#[derive(Debug, Args)]
pub struct Through {
    /// Through this pqbank-server (`https://host:port`), as the tellers of `--staff`.
    #[arg(long, requires = "staff")]
    server: Option<String>,
    /// The server demo's staff file (`demo-staff.json` in its state directory).
    #[arg(long, requires = "server")]
    staff: Option<PathBuf>,
}

pub(crate) struct Figures {
    pub(crate) per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

pub(crate) fn figures(mut latencies: Vec<std::time::Duration>, elapsed: f64) -> Figures {
    latencies.sort_unstable();
    let pick = |q: usize| {
        latencies
            .get(latencies.len().saturating_sub(1) * q / 100)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Figures {
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: pick(50),
        p99_ms: pick(99),
    }
}

pub fn bench_transfers(args: &BenchTransfers) -> Result<ExitCode, CliError> {
    if let (Some(server), Some(staff)) = (&args.through.server, &args.through.staff) {
        let workers = workers_or(&args.workers, &crate::bench_server::WORKERS_THROUGH);
        return crate::bench_server::transfers_through_server(
            server,
            staff,
            &args.db,
            &workers,
            args.seconds,
        );
    }
    let workers = workers_or(&args.workers, &[4]);
    crate::bench_server::check_workers(&workers)?;
    let [workers] = workers[..] else {
        return Err(CliError(
            "--workers takes one count without --server (the phases share one bank)".into(),
        ));
    };
    runtime()?.block_on(async {
        with_scratch!(&args.db, store => transfers_phases(store, &args.db, workers, args.seconds).await)
    })
}

/// The `--workers` given, or `default`.
fn workers_or(given: &[u32], default: &[u32]) -> Vec<u32> {
    if given.is_empty() { default } else { given }.to_vec()
}

/// Three phases on one demo bank: (a) the whole path, device signatures included;
/// (b) the database side alone: transfers signed beforehand, then checked, written and
/// chained (the act's event signature is a placeholder here, since in a branch each
/// teller's device makes it); (c) the bare SQL baseline.
async fn transfers_phases<S: crate::bench::Bare + pqbank_db::Store + Clone>(
    store: S,
    db: &str,
    workers: u32,
    seconds: u64,
) -> Result<ExitCode, CliError> {
    // The bare baseline writes through the store itself, beside the service on it.
    let (service, bank) = demo::build(store.clone(), demo_seed(), 64, 64, now()).await?;
    let service = std::sync::Arc::new(service);
    let bank = std::sync::Arc::new(bank);
    let mut sessions = Vec::new();
    for t in &bank.tellers {
        sessions.push(demo::login(&service, t).await?);
    }
    let sessions = std::sync::Arc::new(sessions);
    let duration = std::time::Duration::from_secs(seconds);
    let mut results = Vec::new();
    for phase in 0..3u8 {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Phase (b)'s transfers are signed before the clock starts.
        let ready = std::sync::Arc::new(tokio::sync::Barrier::new(workers as usize + 1));
        let budget = usize::try_from(seconds)
            .unwrap_or(1)
            .saturating_mul(PRESIGNED_PER_SECOND);
        let mut handles = Vec::new();
        for w in 0..workers as usize {
            let (service, store, bank, sessions, stop, ready) = (
                service.clone(),
                store.clone(),
                bank.clone(),
                sessions.clone(),
                stop.clone(),
                ready.clone(),
            );
            handles.push(tokio::spawn(async move {
                let t = w % bank.tellers.len();
                let teller = &bank.tellers[t];
                let placeholder = vec![0u8; pqbank_pki::composite::SIGNATURE_LEN];
                let event_sign = move |_: &[u8; 32]| Ok(placeholder.clone());
                let make = |n: usize| -> Result<
                    Option<(pqbank_ledger::TransferRequest, i64, i64)>,
                    CliError,
                > {
                    let a = bank.accounts[(w * 7 + n) % bank.accounts.len()];
                    let b = bank.accounts[(w * 7 + n * 3 + 1) % bank.accounts.len()];
                    if a == b {
                        return Ok(None);
                    }
                    Ok(Some((
                        pqbank_ledger::TransferRequest {
                            maker: teller.staff_id,
                            idempotency_key: format!("p{phase}-w{w}-{n}"),
                            kind: pqbank_ledger::TransferKind::Transfer,
                            debit: a,
                            credit: b,
                            amount: pqbank_ledger::Amount::from_minor(
                                1,
                                pqbank_ledger::Currency::EUR,
                            )?,
                            memo: String::new(),
                            created_at: now(),
                        },
                        a,
                        b,
                    )))
                };
                let mut presigned = Vec::new();
                if phase == 1 {
                    for n in 0..budget {
                        if let Some((request, _, _)) = make(n)? {
                            presigned.push(pqbank_db::SignedTransfer {
                                signed: pqbank_db::SignedBy {
                                    signature: teller
                                        .device
                                        .sign_act(&request.canonical_bytes())?,
                                    signer: *teller.cert.fingerprint().as_bytes(),
                                },
                                request,
                            });
                        }
                    }
                }
                ready.wait().await;
                let mut latencies = Vec::new();
                let mut n = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let t0 = Instant::now();
                    match phase {
                        0 => {
                            let Some((request, _, _)) = make(n)? else {
                                continue;
                            };
                            let t0 = Instant::now();
                            service
                                .post_transfer(&sessions[t], &teller.device, request)
                                .await?;
                            latencies.push(t0.elapsed());
                            continue;
                        }
                        1 => {
                            let Some(signed) = presigned.get(n - 1) else {
                                break;
                            };
                            service
                                .post_presigned_transfer(
                                    &sessions[t],
                                    &teller.device,
                                    signed,
                                    &event_sign,
                                )
                                .await?;
                        }
                        _ => {
                            let Some((_, a, b)) = make(n)? else { continue };
                            let key = format!("bare-w{w}-{n}");
                            let retry = pqbank_db::RetryPolicy::default();
                            pqbank_db::flows::with_retry(&retry, || {
                                store.bare(teller.staff_id, &key, a, b)
                            })
                            .await?;
                        }
                    }
                    latencies.push(t0.elapsed());
                }
                Ok::<_, CliError>(latencies)
            }));
        }
        ready.wait().await;
        let started = Instant::now();
        tokio::time::sleep(duration).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.map_err(|e| CliError(e.to_string()))??);
        }
        results.push(figures(all, started.elapsed().as_secs_f64()));
    }
    println!("pqbank bench transfers: {db}, {workers} workers, {seconds} s per phase");
    println!(
        "{:<44} {:>12} {:>9} {:>9}",
        "", "transfers/s", "p50 ms", "p99 ms"
    );
    let names = [
        "(a) whole path, device signatures included",
        "(b) database side: checked, written, chained",
        "bare SQL baseline",
    ];
    for (name, f) in names.iter().zip(&results) {
        println!(
            "{name:<44} {:>12.1} {:>9.2} {:>9.2}",
            f.per_second, f.p50_ms, f.p99_ms
        );
    }
    println!(
        "ratio bare / (a): {:.2}",
        results[2].per_second / results[0].per_second
    );
    println!(
        "ratio bare / (b): {:.2}",
        results[2].per_second / results[1].per_second
    );
    Ok(ExitCode::SUCCESS)
}
