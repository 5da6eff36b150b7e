//! `pqbank-server demo` as `scripts/server` runs it: on an empty database with the admin
//! account it builds the demo bank and the state directory, prints the root fingerprint,
//! and writes the demo staff file a branch workstation adopts (`pqbank branch-demo`),
//! readable by its owner only and naming the same root.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failure is a test failure"
)]

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use pqbank_tests::mysql_accounts;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_writes_a_staff_file_under_its_root() {
    let accounts = mysql_accounts().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out = Command::new(env!("CARGO_BIN_EXE_pqbank-server"))
        .args(["demo", "--customers", "3", "--transfers", "0"])
        .env("PQBANK_ADMIN_URL", accounts.admin_url())
        .env("PQBANK_STATE_DIR", &state)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let path = state.join("demo-staff.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "demo keys are the owner's only");
    let staff = pqbank_api::DemoStaff::from_json(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(staff.root, root);
    assert_eq!(
        staff.people.len(),
        6,
        "two managers, three tellers, an auditor"
    );
}

/// `serve` takes its request rates from flags or the environment, each a number from 1 to
/// the named most; anything else is refused before the state or the database is read.
#[test]
fn serve_refuses_a_rate_out_of_bounds() {
    let too_high = format!("{}", pqbank_server::limits::RATE_SETTING_MAX * 2.0);
    for (flag, env) in [
        (Some(("--session-rate", "0")), None),
        (Some(("--address-burst", too_high.as_str())), None),
        (None, Some(("PQBANK_SESSION_BURST", "many"))),
        (None, Some(("PQBANK_ADDRESS_RATE", "NaN"))),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pqbank-server"));
        command.args([
            "serve",
            "--db",
            "mysql://nobody@127.0.0.1:1/none",
            "--state",
            "/nonexistent",
        ]);
        if let Some((name, value)) = flag {
            command.args([name, value]);
        }
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        let out = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag:?} {env:?} accepted");
        assert!(
            stderr.contains("a rate is a number from 1 to"),
            "{flag:?} {env:?}: {stderr}"
        );
    }
}

/// The rates `serve` is given are the ones it keeps: with one signed request a second
/// and two at once per session, the third of three quick calls is refused as busy
/// (the default burst, 40, would take all three).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_the_rates_it_is_given() {
    let installed = pqbank_tests::server::install([0x23; 32], 3, 0).await;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_pqbank-server"))
        .args([
            "serve",
            "--listen",
            &addr.to_string(),
            "--session-burst",
            "2",
        ])
        .env("PQBANK_DATABASE_URL", installed.accounts.runtime_url())
        .env("PQBANK_STATE_DIR", installed.state.path())
        .env("PQBANK_SESSION_RATE", "1")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let remote = pqbank_client::Remote::new(
        addr,
        pqbank_net::VouchedKey::new(installed.bank.root.fingerprint()),
    );
    let teller = &installed.bank.tellers[0];
    let device = pqbank_tests::server::device_key(teller);
    let mut session = None;
    for _ in 0..200 {
        match remote
            .login(device.clone(), teller.cert.fingerprint(), "desk 1")
            .await
        {
            Ok(s) => {
                session = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    let session = session.expect("the server never served");
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(session.drawer(&remote).await.map_err(|e| e.code));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(answers[0].is_ok() && answers[1].is_ok(), "{answers:?}");
    assert_eq!(answers[2], Err("request.busy".to_owned()));
}

/// `serve` pins the log in its state directory (its size and root) and signs a
/// checkpoint of it on its own chain; once the newest sequenced events are deleted from
/// the database (their append-only trigger dropped first) and the log's head set back,
/// the next `serve` refuses to start, saying the log is shorter than the one it has seen,
/// and serves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_log_cut_short() {
    use pqbank_tests::Raw as _;
    let installed = pqbank_tests::server::install([0x24; 32], 3, 4).await;
    let serve = || {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_pqbank-server"));
        command
            .args(["serve", "--listen", &addr.to_string()])
            .env("PQBANK_DATABASE_URL", installed.accounts.runtime_url())
            .env("PQBANK_STATE_DIR", installed.state.path())
            .env("RUST_LOG", "warn");
        command
    };
    let mut first = serve().stdout(std::process::Stdio::null()).spawn().unwrap();
    let pin = installed.state.path().join("log.pin");
    let admin = installed.admin.store();
    let mut checkpointed = false;
    for _ in 0..200 {
        checkpointed = pin.exists() && admin.count("checkpoints").await == 1;
        if checkpointed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(checkpointed, "no pin or no checkpoint");
    let pinned = pqbank_server::read_log_pin(installed.state.path())
        .unwrap()
        .unwrap();
    assert!(pinned.size > 3, "{pinned:?}");
    assert_eq!(
        installed
            .admin
            .verify_log(&|_, _| {})
            .await
            .unwrap()
            .problems,
        vec![],
        "the server's checkpoint verifies"
    );

    // The newest three sequenced events, and their place in the log, gone.
    let cut = pinned.size - 3;
    admin.exec("DROP TRIGGER log_entries_append_only_d").await;
    admin
        .exec("DROP TRIGGER accountability_events_append_only_d")
        .await;
    admin
        .exec(&format!(
            "CREATE TABLE cut AS SELECT event_id FROM log_entries WHERE log_index >= {cut}"
        ))
        .await;
    admin
        .exec(&format!("DELETE FROM log_entries WHERE log_index >= {cut}"))
        .await;
    admin
        .exec("DELETE FROM accountability_events WHERE id IN (SELECT event_id FROM cut)")
        .await;
    admin
        .exec(&format!("UPDATE log_head SET size = {cut}"))
        .await;
    let mut second = serve()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if second.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = second.kill();
    let out = second.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "served a log cut short");
    assert!(
        stderr.contains("the log is shorter than the one this installation has seen"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("serving"));
}
