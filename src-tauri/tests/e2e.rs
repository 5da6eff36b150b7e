//! End to end: the real app binary in a real window (Xvfb), driven through tauri-driver
//! and WebKitWebDriver, with device keys in the real Secret Service. `scripts/test`
//! provides the display, the D-Bus session with an unlocked gnome-keyring, and
//! tauri-driver; without them these tests fail and say so.
//!
//! Branch mode, the whole flow: the app works with a pqbank-server (its serving loop
//! over TLS with X25519MLKEM768, on a loopback port of this test, in front of the real
//! MariaDB with the runtime account) and holds no database. Enrol a teller device,
//! approve it as a manager, sign in as the new teller, open a drawer, take a deposit
//! above the four-eyes limit, approve it as a manager, see it posted, verify the log and
//! export the report as the auditor; then a manager on a second workstation revokes the
//! teller, whose next action is refused. Each role's main screen is saved under
//! `docs/screenshots/`.
//!
//! Embedded mode, shorter: a first run builds the demo bank in the SQLite file with its
//! staff's keys in the keyring, a manager sees the embedded file in the settings, and
//! the auditor verifies the log.

mod driver;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use driver::{click, connect, find, start_driver, type_into, wait_text};
use fantoccini::{Client, Locator};

async fn sign_in(c: &Client, name: &str) {
    click(
        c,
        &format!(r#"tr[data-testid="identity"][data-name="{name}"] [data-testid="sign-in"]"#),
    )
    .await;
    wait_text(c, r#"[data-testid="signed-in-as"]"#, name).await;
}

async fn sign_out(c: &Client) {
    click(c, r#"[data-testid="sign-out"]"#).await;
    find(c, r#"[data-testid="identities"]"#).await;
}

async fn screenshot(c: &Client, name: &str) {
    // A screenshot right after a change can be stale.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let png = c.screenshot().await.expect("screenshot");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots folder");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
}

/// "EUR 1,234.56" -> 123456.
fn minor(text: &str) -> i64 {
    let digits: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '−' || *c == '-')
        .collect();
    let negative = digits.starts_with('−') || digits.starts_with('-');
    let value: i64 = digits
        .trim_start_matches(['−', '-'])
        .parse()
        .unwrap_or_else(|_| panic!("not an amount: {text}"));
    if negative { -value } else { value }
}

async fn first_account_balance(c: &Client, query: &str) -> (String, i64) {
    type_into(c, r#"[data-testid="search"]"#, query).await;
    find(c, r#"[data-testid="search"]"#)
        .await
        .send_keys("\u{E007}")
        .await
        .expect("enter");
    let row = find(c, r#"tr[data-testid="account"]"#).await;
    let number = row
        .attr("data-number")
        .await
        .unwrap()
        .expect("account number");
    let balance = row
        .find(Locator::Css("td.num"))
        .await
        .expect("balance cell")
        .text()
        .await
        .unwrap();
    (number, minor(&balance))
}

/// The auditor's verdict once verification has given one (either way).
async fn verdict(c: &Client) -> String {
    for _ in 0..300 {
        if let Ok(e) = c
            .find(Locator::Css(r#"[data-testid="verify-result"]"#))
            .await
        {
            let text = e.text().await.unwrap_or_default();
            if text.contains("proves itself") || text.contains("bad rows") {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("verification gave no verdict");
}

fn settings(data: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(data.join("pqbank/settings.json")).unwrap()).unwrap()
}

fn certificate_of(data: &Path, name: &str) -> String {
    settings(data)["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .and_then(|d| d["certificate"].as_str())
        .unwrap_or_else(|| panic!("{name} has no certificate here"))
        .to_owned()
}

/// One window at a time: two apps and their drivers would share the two cores.
static ONE_WINDOW: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The OS keyring, as the app opens it.
async fn keyring() -> pqbank_workstation::Keys {
    let keys = tokio::task::spawn_blocking(|| {
        pqbank_keystore::OsKeyring::new(pqbank_workstation::KEYRING_SERVICE)
    })
    .await
    .unwrap()
    .expect("keyring");
    Arc::new(keys)
}

/// A branch workstation's data folder for a server's demo bank, as an installation
/// leaves it: the settings name the server and its root, the keyring holds the demo
/// staff's device keys. No database is configured.
async fn branch_of(served: &pqbank_tests::server::Served, data: &Path) {
    let url = format!("https://{}", served.addr);
    let keys = keyring().await;
    let staff = pqbank_service::demo::staff(&served.bank);
    pqbank_workstation::adopt_demo_branch(&data.join("pqbank"), &staff, &keys, &url)
        .await
        .expect("demo keys into the keyring, settings written");
    // The Secret Service client blocks on its own runtime when dropped.
    tokio::task::spawn_blocking(move || drop(keys))
        .await
        .expect("keyring closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_window_enrols_deposits_approves_verifies_and_revokes_through_the_server() {
    let _one = ONE_WINDOW.lock().await;
    let served = pqbank_tests::server::serve(None).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    served.add_new_hire(i64::try_from(now).unwrap()).await;
    let data = tempfile::tempdir().unwrap();
    branch_of(&served, data.path()).await;
    let driver = start_driver(data.path());
    let c = connect(&driver, env!("CARGO_BIN_EXE_pqbank-desktop")).await;
    let server_url = format!("https://{}", served.addr);

    find(
        &c,
        r#"tr[data-testid="identity"][data-name="Maria Manager"]"#,
    )
    .await;
    screenshot(&c, "login").await;

    // Enrol this device for the new hire; the code is shown large.
    click(&c, r#"[data-testid="enrol-device"]"#).await;
    type_into(&c, r#"[data-testid="enrol-staff"]"#, "T-NEW").await;
    click(&c, r#"[data-testid="enrol-submit"]"#).await;
    let code = find(&c, r#"[data-testid="enrol-code"]"#)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        code.split('-')
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_alphanumeric())),
        "groups of four for reading aloud: {code}"
    );
    wait_text(&c, r#"[data-testid="enrol-state"]"#, "Waiting").await;
    click(&c, r#"[data-testid="enrol-done"]"#).await;

    // A manager types the code and issues the certificate.
    sign_in(&c, "Maria Manager").await;
    click(&c, r#"[data-testid="tab-enrolments"]"#).await;
    type_into(
        &c,
        r#"tr[data-testid="enrolment"] [data-testid="enrolment-code"]"#,
        &code,
    )
    .await;
    click(&c, r#"[data-testid="approve-enrolment"]"#).await;
    wait_text(
        &c,
        r#"[data-testid="manager-message"]"#,
        "Certificate issued",
    )
    .await;
    // The workstation's settings are a manager's screen; they name the bank in use.
    click(&c, r#"[data-testid="tab-settings"]"#).await;
    wait_text(&c, r#"[data-testid="settings-database"]"#, &server_url).await;
    sign_out(&c).await;

    // The device opens its delivery bundle and keeps the certificate.
    click(&c, r#"[data-testid="enrolment-status"]"#).await;
    wait_text(&c, r#"[data-testid="enrol-state"]"#, "Approved").await;
    click(&c, r#"[data-testid="enrol-done"]"#).await;

    // The new teller signs in, opens a free drawer and takes a large deposit.
    sign_in(&c, "Nia Novak").await;
    type_into(&c, r#"[data-testid="counted"]"#, "20,000.00").await;
    click(&c, r#"[data-testid="open-drawer"]"#).await;
    wait_text(&c, r#"[data-testid="drawer-state"]"#, "open").await;
    let (account, before) = first_account_balance(&c, "Ada").await;
    click(
        &c,
        &format!(r#"tr[data-number="{account}"] [data-testid="use-to"]"#),
    )
    .await;
    click(&c, r#"[data-testid="kind-deposit"]"#).await;
    type_into(&c, r#"[data-testid="amount"]"#, "12,000.00").await;
    click(&c, r#"[data-testid="review-button"]"#).await;
    wait_text(&c, r#"[data-testid="review-amount"]"#, "12,000.00").await;
    click(&c, r#"[data-testid="confirm"]"#).await;
    wait_text(
        &c,
        r#"[data-testid="receipt-status"]"#,
        "Awaiting manager approval",
    )
    .await;
    let receipt = find(&c, r#"[data-testid="receipt"] h3"#)
        .await
        .text()
        .await
        .unwrap();
    let id: i64 = receipt
        .trim_start_matches("Receipt #")
        .trim()
        .parse()
        .expect("receipt id");
    screenshot(&c, "teller").await;
    sign_out(&c).await;

    // Another manager approves it (the maker could not).
    sign_in(&c, "Marco Manager").await;
    find(
        &c,
        &format!(r#"tr[data-testid="approval"][data-id="{id}"]"#),
    )
    .await;
    screenshot(&c, "manager").await;
    click(
        &c,
        &format!(r#"tr[data-testid="approval"][data-id="{id}"] [data-testid="approve"]"#),
    )
    .await;
    wait_text(&c, r#"[data-testid="manager-message"]"#, "posted").await;
    click(&c, r#"[data-testid="tab-staff"]"#).await;
    find(
        &c,
        r#"tr[data-testid="certificate"][data-name="Nia Novak"]"#,
    )
    .await;
    sign_out(&c).await;

    // The teller sees the deposit posted on the customer's account.
    sign_in(&c, "Nia Novak").await;
    let (again, after) = first_account_balance(&c, "Ada").await;
    assert_eq!(again, account);
    assert_eq!(
        after - before,
        1_200_000,
        "the deposit is posted exactly once"
    );
    sign_out(&c).await;

    // The auditor verifies the whole log and exports the new teller's report.
    sign_in(&c, "Audrey Auditor").await;
    click(&c, r#"[data-testid="verify"]"#).await;
    let verdict = verdict(&c).await;
    if !verdict.contains("The log proves itself") {
        // Name the rows, so a failure says which row verification refused.
        let problems = match c.find(Locator::Css(r#"[data-testid="problems"]"#)).await {
            Ok(table) => table.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        panic!("the log did not prove itself: {verdict:?}\n{problems}");
    }
    screenshot(&c, "auditor").await;
    click(&c, r#"[data-testid="tab-chains"]"#).await;
    click(
        &c,
        r#"tr[data-testid="chain-certificate"][data-name="Nia Novak"] [data-testid="open-chain"]"#,
    )
    .await;
    find(&c, r#"[data-testid="timeline"] li"#).await;
    click(&c, r#"[data-testid="prove"]"#).await;
    wait_text(&c, r#"[data-testid="proof"]"#, "Verified").await;
    for format in ["json", "pdf"] {
        click(&c, &format!(r#"[data-testid="export-{format}"]"#)).await;
        let text = wait_text(&c, r#"[data-testid="report-file"]"#, &format!(".{format}")).await;
        let path = text
            .split_whitespace()
            .find(|w| w.ends_with(&format!(".{format}")))
            .expect("report path");
        let bytes = std::fs::read(path).expect("report file");
        if format == "pdf" {
            assert!(bytes.starts_with(b"%PDF"));
        } else {
            let json: serde_json::Value = serde_json::from_slice(&bytes).expect("report JSON");
            assert!(
                json.to_string()
                    .contains(&certificate_of(data.path(), "Nia Novak"))
            );
        }
    }
    sign_out(&c).await;

    // The teller is signed in when a manager on another workstation revokes her.
    sign_in(&c, "Nia Novak").await;
    let other = pqbank_workstation::Workstation::open(pqbank_workstation::Options {
        data_dir: data.path().join("pqbank"),
        database: None,
        keys: keyring().await,
        origin: "e2e second workstation".into(),
    })
    .await
    .expect("second workstation");
    other
        .login(certificate_of(data.path(), "Maria Manager"))
        .await
        .expect("manager signs in");
    other
        .revoke(
            certificate_of(data.path(), "Nia Novak"),
            pqbank_workstation::RevocationReason::KeyCompromise,
        )
        .await
        .expect("revocation");

    // Her next action is refused, and she is back at sign-in.
    type_into(&c, r#"[data-testid="search"]"#, "Ben").await;
    find(&c, r#"[data-testid="search"]"#)
        .await
        .send_keys("\u{E007}")
        .await
        .unwrap();
    let notice = wait_text(&c, r#"[data-testid="login-notice"]"#, "revoked").await;
    assert!(
        notice.contains("CRL pinning"),
        "the refusing layer is named: {notice}"
    );
    sign_in_refused(&c, "Nia Novak").await;

    c.close().await.expect("session closed");
    // The Secret Service client blocks on its own runtime when dropped.
    tokio::task::spawn_blocking(move || drop(other))
        .await
        .expect("second workstation closed");
    // The server's own view of its log agrees with the auditor's screen.
    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_window_builds_the_demo_bank_and_verifies_its_log() {
    let _one = ONE_WINDOW.lock().await;
    let data = tempfile::tempdir().unwrap();
    let driver = start_driver(data.path());
    let c = connect(&driver, env!("CARGO_BIN_EXE_pqbank-desktop")).await;

    // First run: the demo bank is built and its staff keys go to the keyring.
    find(
        &c,
        r#"tr[data-testid="identity"][data-name="Maria Manager"]"#,
    )
    .await;
    sign_in(&c, "Maria Manager").await;
    click(&c, r#"[data-testid="tab-settings"]"#).await;
    wait_text(&c, r#"[data-testid="settings-database"]"#, "sqlite://").await;
    sign_out(&c).await;
    sign_in(&c, "Audrey Auditor").await;
    click(&c, r#"[data-testid="verify"]"#).await;
    let verdict = verdict(&c).await;
    assert!(verdict.contains("The log proves itself"), "{verdict}");
    sign_out(&c).await;
    c.close().await.expect("session closed");
}

async fn sign_in_refused(c: &Client, name: &str) {
    click(
        c,
        &format!(r#"tr[data-testid="identity"][data-name="{name}"] [data-testid="sign-in"]"#),
    )
    .await;
    wait_text(c, r#"[data-testid="login-error"]"#, "revoked").await;
    wait_text(c, r#"[data-testid="failed-layer"]"#, "CRL pinning").await;
}
