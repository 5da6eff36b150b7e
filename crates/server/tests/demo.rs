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
