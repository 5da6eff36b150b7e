//! The `pqbank` binary end to end on files: root, manager and teller from a fresh
//! folder, verification (valid, revoked, rollback, wrong device), the draft's composite
//! certificate, key file modes, no overwrites, and `--help` on every command.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;

fn pqbank(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pqbank"))
        .current_dir(dir)
        .env("XDG_DATA_HOME", dir)
        .env("PQBANK_KEY_PASSPHRASE", "test passphrase for key files")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run pqbank: {e}"))
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = pqbank(dir, args);
    assert!(
        out.status.success(),
        "pqbank {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out:?}"))
}

/// Root, manager, teller, CRLs: issues, verifies, revokes and detects a rollback.
#[test]
fn offline_pki_end_to_end() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = tmp.path();
    ok(d, &["ca", "init", "--out", "ca", "--org", "Test Bank"]);
    let mode = std::fs::metadata(d.join("ca/root.key")).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o600), "root key file mode");
    ok(
        d,
        &[
            "csr",
            "new",
            "--name",
            "Mary Manager",
            "--org",
            "Test Bank",
            "--device-id",
            "mgr-01",
            "--key-out",
            "mgr.key",
            "--out",
            "mgr.csr",
        ],
    );
    ok(
        d,
        &[
            "cert",
            "issue",
            "--csr",
            "mgr.csr",
            "--ca-cert",
            "ca/root.crt",
            "--ca-key",
            "ca/root.key",
            "--role",
            "manager",
            "--staff-id",
            "M-1",
            "--out",
            "mgr.crt",
        ],
    );
    ok(
        d,
        &[
            "csr",
            "new",
            "--name",
            "Tom Teller",
            "--org",
            "Test Bank",
            "--device-id",
            "tel-01",
            "--key-out",
            "tel.key",
            "--out",
            "tel.csr",
        ],
    );
    ok(
        d,
        &[
            "cert",
            "issue",
            "--csr",
            "tel.csr",
            "--ca-cert",
            "mgr.crt",
            "--ca-key",
            "mgr.key",
            "--role",
            "teller",
            "--staff-id",
            "T-1",
            "--out",
            "tel.crt",
        ],
    );
    ok(
        d,
        &[
            "crl",
            "new",
            "--first",
            "--ca-cert",
            "ca/root.crt",
            "--ca-key",
            "ca/root.key",
            "--out",
            "root.crl",
        ],
    );
    ok(
        d,
        &[
            "crl",
            "new",
            "--first",
            "--ca-cert",
            "mgr.crt",
            "--ca-key",
            "mgr.key",
            "--out",
            "mgr1.crl",
        ],
    );

    let verify = |crl: &str, extra: &[&str]| {
        let mut args = vec![
            "cert",
            "verify",
            "tel.crt",
            "--root",
            "ca/root.crt",
            "--chain",
            "mgr.crt",
            "--crl",
            crl,
            "root.crl",
            "--require-crl",
            "--require-staff",
            "--json",
        ];
        args.extend_from_slice(extra);
        pqbank(d, &args)
    };
    let out = verify(
        "mgr1.crl",
        &["--action", "transfer.post", "--device-id", "tel-01"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json(&out)["staffCertificate"], true);

    let out = verify("mgr1.crl", &["--action", "transfer.approve"]);
    assert_eq!(
        (out.status.code(), json(&out)["code"].clone()),
        (Some(1), "action_not_allowed".into())
    );
    let out = verify("mgr1.crl", &["--device-id", "someone-else"]);
    assert_eq!(
        (out.status.code(), json(&out)["code"].clone()),
        (Some(1), "device_mismatch".into())
    );
    let out = verify("mgr1.crl", &["--at", "2099-01-01T00:00:00Z"]);
    assert_eq!(json(&out)["code"], "expired");

    ok(
        d,
        &[
            "crl",
            "revoke",
            "--ca-cert",
            "mgr.crt",
            "--ca-key",
            "mgr.key",
            "--cert",
            "tel.crt",
            "--reason",
            "keyCompromise",
            "--previous",
            "mgr1.crl",
            "--out",
            "mgr2.crl",
        ],
    );
    let out = verify("mgr2.crl", &[]);
    assert_eq!(
        (out.status.code(), json(&out)["code"].clone()),
        (Some(1), "revoked".into())
    );
    let shown: serde_json::Value =
        serde_json::from_str(&ok(d, &["crl", "show", "mgr2.crl", "--json"])).unwrap_or_default();
    assert_eq!(shown["number"], 2);
    assert_eq!(shown["entries"][0]["reason"], "keyCompromise");

    let mgr: serde_json::Value =
        serde_json::from_str(&ok(d, &["cert", "inspect", "mgr.crt", "--json"])).unwrap_or_default();
    let pin = format!("{}=2", mgr["fingerprint"].as_str().unwrap_or_default());
    let out = verify("mgr1.crl", &["--crl-pin", &pin]);
    assert_eq!(
        (out.status.code(), json(&out)["code"].clone()),
        (Some(1), "crl_rollback".into())
    );

    // A CA's CRL numbers never start over: without --previous, --first is required.
    let out = pqbank(
        d,
        &[
            "crl",
            "new",
            "--ca-cert",
            "mgr.crt",
            "--ca-key",
            "mgr.key",
            "--out",
            "again.crl",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    // Outputs are never overwritten.
    let out = pqbank(d, &["ca", "init", "--out", "ca"]);
    assert_eq!(out.status.code(), Some(2));
    // A key readable by others is refused.
    std::fs::set_permissions(d.join("mgr.key"), std::fs::Permissions::from_mode(0o644))
        .unwrap_or_default();
    let out = pqbank(
        d,
        &[
            "crl",
            "new",
            "--first",
            "--ca-cert",
            "mgr.crt",
            "--ca-key",
            "mgr.key",
            "--out",
            "x.crl",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("readable by others"));
}

/// The official vectors the PKI crate's known-answer tests use.
fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pki/tests/vectors")
}

/// Proves `cert verify` on the draft's x5c certificate for id-MLDSA65-Ed25519-SHA512,
/// written to a file in PEM and in DER, says valid and "not a pqbank staff certificate".
#[test]
fn draft_x5c_certificate_verifies() {
    let path = vectors_dir().join("composite-sigs/testvectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let x5c = file["tests"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["tcId"] == "id-MLDSA65-Ed25519-SHA512"))
        .and_then(|t| t["x5c"].as_str())
        .unwrap_or_else(|| panic!("x5c missing"));
    let der = base64::engine::general_purpose::STANDARD
        .decode(x5c)
        .unwrap_or_default();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = tmp.path();
    std::fs::write(d.join("x5c.der"), &der).unwrap_or_else(|e| panic!("{e}"));
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        x5c
    );
    std::fs::write(d.join("x5c.pem"), pem).unwrap_or_else(|e| panic!("{e}"));
    for name in ["x5c.der", "x5c.pem"] {
        let out = ok(
            d,
            &[
                "cert",
                "verify",
                name,
                "--root",
                name,
                "--at",
                "2026-06-01T00:00:00Z",
            ],
        );
        assert_eq!(
            out.trim(),
            "valid (not a pqbank staff certificate)",
            "{name}"
        );
    }
    let inspected = ok(d, &["cert", "inspect", "x5c.pem"]);
    assert!(inspected.contains("id-MLDSA65-Ed25519-SHA512"));
    assert!(inspected.contains("not a pqbank staff certificate"));
}

/// Proves every command answers `--help` with its usage.
#[test]
fn help_on_every_command() {
    let commands: &[&[&str]] = &[
        &[],
        &["ca"],
        &["ca", "init"],
        &["csr"],
        &["csr", "new"],
        &["cert"],
        &["cert", "issue"],
        &["cert", "inspect"],
        &["cert", "verify"],
        &["crl"],
        &["crl", "new"],
        &["crl", "revoke"],
        &["crl", "show"],
        &["bench"],
        &["bench", "ledger"],
        &["bench", "login"],
        &["bench", "verify"],
        &["demo"],
        &["log"],
        &["log", "verify"],
        &["audit"],
        &["audit", "report"],
        &["init"],
    ];
    let tmp = std::env::temp_dir();
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let out = ok(&tmp, &args);
        assert!(out.contains("Usage:"), "{command:?}: {out}");
    }
}

/// Proves garbage input is a clear error with exit status 2, not a panic.
#[test]
fn garbage_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = tmp.path();
    std::fs::write(
        d.join("junk.crt"),
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap_or_default();
    let out = pqbank(d, &["cert", "inspect", "junk.crt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.crt"));
}

/// Proves `pqbank demo` builds the demo bank in the embedded SQLite file of the user's
/// data folder, remembers the pinned root, and `pqbank log verify` then exits 0, the
/// next run starting from the state it kept (and `--full` from nothing); both commands
/// leave their lines in the day's log file of the data folder.
#[test]
fn demo_then_log_verify() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pqbank"))
            .env("XDG_DATA_HOME", tmp.path())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let out = run(&["demo", "--customers", "5", "--transfers", "20"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tmp.path().join("pqbank/pqbank.db").exists());
    let out = run(&["log", "verify", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(report["problems"], serde_json::json!([]));
    assert!(report["transfers"].as_u64().unwrap_or(0) >= 20);
    assert_eq!(report["incremental"], serde_json::json!(false));
    // The next run starts from the state the clean one left in the data folder: nothing
    // new to read; `--full` reads every row again.
    let kept = std::fs::read_dir(tmp.path().join("pqbank"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("verified-log-"));
    assert!(kept, "a clean verification keeps its state");
    let again: serde_json::Value =
        serde_json::from_slice(&run(&["log", "verify", "--json"]).stdout).unwrap_or_default();
    assert_eq!(again["incremental"], serde_json::json!(true));
    assert_eq!(again["transfers"], serde_json::json!(0));
    assert_eq!(again["problems"], serde_json::json!([]));
    let full: serde_json::Value =
        serde_json::from_slice(&run(&["log", "verify", "--full", "--json"]).stdout)
            .unwrap_or_default();
    assert_eq!(full["incremental"], serde_json::json!(false));
    assert_eq!(full["transfers"], report["transfers"]);
    // A wrong pin: no signer's chain ends at it, and the command says so with exit 1.
    let out = run(&["log", "verify", "--pin", &"00".repeat(32)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("its certificate chain does not end at the pinned root")
    );
    let log = std::fs::read_to_string(pqbank_workstation::log_file(&tmp.path().join("pqbank")))
        .unwrap_or_else(|e| panic!("no log file: {e}"));
    assert!(log.contains("act signed: transfer.post"), "{log}");
    assert!(log.contains("log verified"), "{log}");
    assert!(
        log.contains("bad row"),
        "the wrong pin's findings are logged: {log}"
    );
}

/// Proves `pqbank audit report` on the demo bank: this machine's demo auditor device
/// (its key in the OS keyring) logs in and writes the signed JSON with its signature
/// file, and the PDF. Needs the Secret Service, as the test command provides.
#[test]
fn audit_report_from_the_demo() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pqbank"))
            .env("XDG_DATA_HOME", tmp.path())
            .current_dir(tmp.path())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let out = run(&["demo", "--customers", "5", "--transfers", "12"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "the demo auditor's key must reach the OS keyring: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let teller = listing
        .lines()
        .find(|l| l.contains("Tom Teller"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("no teller in {listing}"))
        .to_owned();
    let out = run(&["audit", "report", "--cert", &teller, "--out", "report.json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("report.json")).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(report["certificate"]["fingerprint"], teller.as_str());
    assert!(tmp.path().join("report.json.sig").exists());
    // The auditor's login saw the root's and the manager's CRLs: both are pinned on disk.
    let pins: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("pqbank/crl-pins.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(pins["pins"].as_object().map(|m| m.len()), Some(2), "{pins}");
    let out = run(&[
        "audit",
        "report",
        "--cert",
        &teller,
        "--format",
        "pdf",
        "--out",
        "report.pdf",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(tmp.path().join("report.pdf"))
            .unwrap_or_default()
            .starts_with(b"%PDF-1.4")
    );
    // The report was logged: the log still proves itself with the auditor's events in it.
    let out = run(&["log", "verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Proves `pqbank init`: the root key sealed in an encrypted key file (refused without a
/// passphrase), the first manager's key in the OS keyring, and a log that verifies; a
/// second init on the same machine is refused.
#[test]
fn init_a_new_installation() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run = |args: &[&str], passphrase: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pqbank"));
        cmd.env("XDG_DATA_HOME", tmp.path())
            .env_remove("PQBANK_ROOT_PASSPHRASE")
            .args(args);
        if let Some(p) = passphrase {
            cmd.env("PQBANK_ROOT_PASSPHRASE", p);
        }
        cmd.output().unwrap_or_else(|e| panic!("{e}"))
    };
    let out = run(&["init", "--manager", "Mary Manager"], None);
    assert_eq!(out.status.code(), Some(2), "no passphrase");
    let out = run(&["init", "--manager", "Mary Manager"], Some("short"));
    assert_eq!(out.status.code(), Some(2), "a weak passphrase");
    let out = run(
        &["init", "--manager", "Mary Manager"],
        Some("a long enough root passphrase"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tmp.path().join("pqbank/keys/root-ca.pqbkey").exists());
    // The installation pins both first CRLs outside the database.
    let pins: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("pqbank/crl-pins.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    let numbers: Vec<u64> = pins["pins"]
        .as_object()
        .map(|m| m.values().filter_map(serde_json::Value::as_u64).collect())
        .unwrap_or_default();
    assert_eq!(numbers, [1, 1], "{pins}");
    let out = run(&["log", "verify"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run(
        &["init", "--manager", "Mary Manager"],
        Some("a long enough root passphrase"),
    );
    assert_eq!(out.status.code(), Some(2), "already set up");
}

/// Proves `pqbank branch-demo`: a server demo's staff file puts the staff's keys in the
/// OS keyring and names the server and its root in the settings (no database); a
/// malformed file or a server that is not an address writes nothing. Needs the Secret
/// Service, as the test command provides.
#[test]
fn branch_demo_adopts_a_server_demo_staff() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = tmp.path();
    let person = serde_json::json!({
        "name": "Tom Teller", "role": "teller", "certificate": "cd".repeat(32),
        "device_id": "01".repeat(16), "signing_seed": "11".repeat(64),
        "kem_seed": "22".repeat(64), "x25519": "33".repeat(32),
    });
    let staff = serde_json::json!({ "root": "ab".repeat(32), "people": [person] });
    std::fs::write(d.join("staff.json"), staff.to_string()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("bad.json"), b"{\"root\": 1}").unwrap_or_else(|e| panic!("{e}"));
    let settings = d.join("pqbank/settings.json");
    for args in [
        ["--server", "https://127.0.0.1:8443", "--staff", "bad.json"],
        [
            "--server",
            "mysql://root@127.0.0.1:3306/pqbank",
            "--staff",
            "staff.json",
        ],
    ] {
        let out = pqbank(d, &[&["branch-demo"], &args[..]].concat());
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(!settings.exists(), "{args:?} wrote settings");
    }
    let out = ok(
        d,
        &[
            "branch-demo",
            "--server",
            "https://127.0.0.1:8443",
            "--staff",
            "staff.json",
        ],
    );
    assert!(out.contains("1 demo staff keys"), "{out}");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&settings).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(written["server"], "https://127.0.0.1:8443");
    assert_eq!(written["pinnedRoot"], "ab".repeat(32));
    assert!(written.get("database").is_none(), "no database: {written}");
    assert_eq!(written["devices"][0]["certificate"], "cd".repeat(32));
    let item = written["devices"][0]["keyring"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    use pqbank_keystore::KeyStore as _;
    let keys = pqbank_keystore::OsKeyring::new("pqbank").unwrap_or_else(|e| panic!("{e}"));
    let secrets = keys.load(&item).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(secrets.signing_seed, [0x11; 64]);
    keys.delete(&item).unwrap_or_else(|e| panic!("{e}"));
}

/// Proves `pqbank audit report` and `pqbank log verify` on a branch workstation go
/// through its pqbank-server: the server demo's staff adopted with `branch-demo`, the
/// auditor signs in at the server (TLS under the pinned root) and signs the report the
/// server made; the verification is the server's, on the auditor's chain there. Needs the Secret
/// Service and MariaDB, as the test command provides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_report_through_a_branch_server() {
    use pqbank_tests::Raw as _;
    let served = pqbank_tests::server::serve(None).await;
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = tmp.path().to_path_buf();
    let staff = serde_json::to_vec(&pqbank_service::demo::staff(&served.bank))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("staff.json"), staff).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("https://{}", served.addr);
    let teller = served.bank.tellers[0].cert.fingerprint().to_hex();
    let auditor = served.bank.auditor.cert.fingerprint().to_hex();
    // The binary runs beside this runtime, which serves the bank meanwhile.
    let dir = d.clone();
    let cert = teller.clone();
    tokio::task::spawn_blocking(move || {
        ok(
            &dir,
            &["branch-demo", "--server", &url, "--staff", "staff.json"],
        );
        ok(
            &dir,
            &["audit", "report", "--cert", &cert, "--out", "report.json"],
        );
        // The log's verification too: the branch holds no database to read.
        let said = ok(&dir, &["log", "verify"]);
        assert!(said.contains("verified by the bank's server"), "{said}");
        assert!(said.contains("the log proves itself"), "{said}");
        let out = pqbank(&dir, &["log", "verify", "--json"]);
        assert!(out.status.success(), "{out:?}");
        let verified = json(&out);
        assert_eq!(verified["server"], url.as_str());
        assert!(
            verified["events"].as_u64().unwrap_or_default() > 0,
            "{verified}"
        );
        assert_eq!(verified["problems"], serde_json::json!([]));
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        served
            .root_store
            .count("accountability_events WHERE kind = 'audit.verify'")
            .await,
        2,
        "both verifications are on the auditor's chain at the server"
    );
    let report = std::fs::read_to_string(d.join("report.json")).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.contains(&teller), "the report is the teller's");
    let sig: serde_json::Value = serde_json::from_slice(
        &std::fs::read(d.join("report.json.sig")).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sig["signer"], auditor.as_str());
    // The server's log names the auditor's sign-in, and proves itself.
    let verified = served
        .admin
        .verify_log(&|_, _| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
}

/// The numbers of the table row of `workstations` in a bench's output.
fn bench_row(out: &str, workstations: u32) -> Vec<f64> {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(&workstations.to_string()))
        .unwrap_or_else(|| panic!("no row of {workstations} workstations in {out}"))
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap_or_else(|e| panic!("{n}: {e}")))
        .collect()
}

/// Proves `pqbank bench transfers|login --server URL --staff FILE`: against a
/// pqbank-server started on its own (served by this test process; the bench is another
/// process that knows only its address and the demo's staff file), each count of
/// workstations gets its figures beside the bare SQL baseline, and the transfers are the
/// server's, in its log, which still proves itself. A server whose rate limits refuse
/// the bench stops it with what to do, rather than printing the limit as a figure.
/// Needs MariaDB, as the test command provides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_through_a_server_started_on_its_own() {
    use pqbank_tests::server::{ServeOptions, serve_with};
    let lifted = pqbank_server::RateLimits {
        address_rate: 1e6,
        address_burst: 1e6,
        session_rate: 1e6,
        session_burst: 1e6,
    };
    let served = serve_with(ServeOptions {
        customers: 6,
        transfers: 6,
        rates: lifted,
        ..ServeOptions::default()
    })
    .await;
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = tmp.path().to_path_buf();
    let staff = serde_json::to_vec(&pqbank_service::demo::staff(&served.bank))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("staff.json"), staff).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("https://{}", served.addr);
    let before = served.written().await[0];
    let (dir, server) = (d.clone(), url.clone());
    let (transfers, logins) = tokio::task::spawn_blocking(move || {
        let through = ["--server", &server, "--staff", "staff.json"];
        let db = pqbank_tests::mysql_url();
        let transfers = ok(
            &dir,
            &[
                &["bench", "transfers", "--db", &db, "--workers", "1,2"][..],
                &through,
                &["--seconds", "1"],
            ]
            .concat(),
        );
        let logins = ok(
            &dir,
            &[
                &["bench", "login", "--workers", "2"][..],
                &through,
                &["--seconds", "1"],
            ]
            .concat(),
        );
        (transfers, logins)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    for w in [1, 2] {
        let row = bench_row(&transfers, w);
        assert_eq!(row.len(), 7, "{transfers}");
        assert!(
            row[0] > 0.0 && row[3] > 0.0,
            "both sides posted: {transfers}"
        );
    }
    assert!(bench_row(&logins, 2)[0] > 0.0, "{logins}");
    assert!(
        served.written().await[0] > before,
        "the transfers were the server's"
    );
    let verified = served
        .admin
        .verify_log(&|_, _| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);

    // A session may sign two requests at once and one a second: the bench's search
    // passes, its transfers do not.
    let limited = serve_with(ServeOptions {
        customers: 6,
        transfers: 6,
        rates: pqbank_server::RateLimits {
            session_rate: 1.0,
            session_burst: 2.0,
            ..lifted
        },
        ..ServeOptions::default()
    })
    .await;
    let server = format!("https://{}", limited.addr);
    let staff = serde_json::to_vec(&pqbank_service::demo::staff(&limited.bank))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("limited.json"), staff).unwrap_or_else(|e| panic!("{e}"));
    let out = tokio::task::spawn_blocking(move || {
        pqbank(
            &d,
            &[
                "bench",
                "transfers",
                "--server",
                &server,
                "--staff",
                "limited.json",
                "--db",
                &pqbank_tests::mysql_url(),
                "--workers",
                "1",
                "--seconds",
                "2",
            ],
        )
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("request.busy") && stderr.contains("--session-rate"),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("\n1 "),
        "no figure of a limit"
    );
}
