//! `pqbank`: the command line of pqbank.
//!
//! Offline PKI operations over files: create the root CA, make a device's key and
//! request, issue certificates from requests, inspect and verify them, revoke and show
//! CRLs; and benchmarks. Exit status: 0 success (for `cert verify`: valid), 1 `cert verify` found the
//! chain invalid (the reason is printed as a stable code), 2 any other error.
#![forbid(unsafe_code)]

mod bench;
mod bench_server;
mod files;
mod init;
mod pki;
mod service_cmds;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// pqbank: post-quantum PKI and ledger for bank staff.
#[derive(Debug, Parser)]
#[command(name = "pqbank", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The root certificate authority.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Certificate signing requests.
    #[command(subcommand)]
    Csr(CsrCommand),
    /// Certificates.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Certificate revocation lists.
    #[command(subcommand)]
    Crl(CrlCommand),
    /// Benchmarks that print their figures.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Set up a new installation: root CA (key sealed offline), first manager on this device.
    Init(init::InitArgs),
    /// Build a demo bank (fixed demo keys: never for real money) and remember it.
    Demo(service_cmds::DemoArgs),
    /// Make this machine a branch workstation of a pqbank-server's demo bank: its staff's
    /// keys into the keyring, the server and its root into the settings.
    BranchDemo(service_cmds::BranchDemo),
    /// The accountability log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Auditor reports.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// The accountability report of a certificate, signed by this machine's auditor device.
    Report(service_cmds::AuditReport),
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Verify every signature, link and checkpoint; exit 1 naming every bad row.
    Verify(service_cmds::LogVerify),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Transfers per second and posting latency, application beside bare SQL.
    Ledger(bench::BenchLedger),
    /// Full logins: p50 and p99 in this process, or through a pqbank-server at 1, 4 and
    /// 16 workstations (`--server URL --staff FILE`).
    Login(service_cmds::BenchLogin),
    /// Log verification rate beside the raw composite-verify rate.
    Verify(service_cmds::BenchService),
    /// Transfers through the service: whole path, database side alone, bare SQL; or
    /// through a pqbank-server at 1, 4 and 16 workstations beside bare SQL
    /// (`--server URL --staff FILE --db mysql://...`).
    Transfers(service_cmds::BenchTransfers),
    /// Transfers and logins through a pqbank-server over TLS at 1, 4 and 16
    /// workstations, beside bare SQL on the same database.
    Server(bench_server::BenchServer),
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Create the root CA: a new composite key and a self-signed certificate.
    Init(pki::CaInit),
}

#[derive(Debug, Subcommand)]
enum CsrCommand {
    /// Make a new device key and a request for a certificate (proof of possession).
    New(pki::CsrNew),
}

#[derive(Debug, Subcommand)]
enum CertCommand {
    /// Issue a certificate from a request, signed by a CA.
    Issue(pki::CertIssue),
    /// Show a certificate's fields and pqbank claims.
    Inspect(pki::CertInspect),
    /// Validate a certificate chain against a root (exit 0 valid, 1 invalid).
    Verify(pki::CertVerify),
}

#[derive(Debug, Subcommand)]
enum CrlCommand {
    /// Sign a new CRL with no entries, or carry a previous one forward with the next number.
    New(pki::CrlNew),
    /// Revoke a certificate: a new CRL with the next number that lists it.
    Revoke(pki::CrlRevoke),
    /// Show a CRL.
    Show(pki::CrlShow),
}

/// A failure of the command itself (as opposed to an invalid chain).
#[derive(Debug)]
pub struct CliError(String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Warnings go to standard error too; the file keeps the detail. The arguments are
    // never logged: a database URL can carry a password.
    if let Err(e) = pqbank_workstation::logs::install(&service_cmds::data_dir(), true) {
        eprintln!(
            "pqbank: no log file ({}); logging to standard error only",
            e.message
        );
    }
    let result = match cli.command {
        Command::Ca(CaCommand::Init(args)) => pki::ca_init(&args),
        Command::Csr(CsrCommand::New(args)) => pki::csr_new(&args),
        Command::Cert(CertCommand::Issue(args)) => pki::cert_issue(&args),
        Command::Cert(CertCommand::Inspect(args)) => pki::cert_inspect(&args),
        Command::Cert(CertCommand::Verify(args)) => pki::cert_verify(&args),
        Command::Crl(CrlCommand::New(args)) => pki::crl_new(&args),
        Command::Crl(CrlCommand::Revoke(args)) => pki::crl_revoke(&args),
        Command::Crl(CrlCommand::Show(args)) => pki::crl_show(&args),
        Command::Bench(BenchCommand::Ledger(args)) => bench::bench_ledger(&args),
        Command::Bench(BenchCommand::Login(args)) => service_cmds::bench_login(&args),
        Command::Bench(BenchCommand::Verify(args)) => service_cmds::bench_verify(&args),
        Command::Bench(BenchCommand::Transfers(args)) => service_cmds::bench_transfers(&args),
        Command::Bench(BenchCommand::Server(args)) => bench_server::bench_server(&args),
        Command::Demo(args) => service_cmds::demo(&args),
        Command::BranchDemo(args) => service_cmds::branch_demo(&args),
        Command::Init(args) => init::init(&args),
        Command::Log(LogCommand::Verify(args)) => service_cmds::log_verify(&args),
        Command::Audit(AuditCommand::Report(args)) => service_cmds::audit_report(&args),
    };
    match result {
        Ok(code) => code,
        Err(CliError(message)) => {
            tracing::error!(target: pqbank_workstation::logs::FILE_ONLY, "command failed: {message}");
            eprintln!("pqbank: {message}");
            ExitCode::from(2)
        }
    }
}
