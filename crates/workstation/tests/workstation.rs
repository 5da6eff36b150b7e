//! The workstation end to end on both links, below the window: the embedded bank (a
//! first run builds the demo bank) and a branch's pqbank-server over TLS on MariaDB;
//! sign-in with keys from the key store, the four-eyes flow, role refusals, bad input,
//! and the log verifying itself. (The window itself is driven by
//! `src-tauri/tests/e2e.rs` with the real keyring; here a memory key store stands in.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pqbank_keystore::{DeviceSecrets, KeyStore, KeystoreError};
use pqbank_workstation::{
    Options, ReportFormat, RevocationReason, TransferForm, TransferKind, TransferStatus, UiError,
    Workstation, layer_of,
};

#[derive(Default)]
struct MemoryKeys(Mutex<HashMap<String, DeviceSecrets>>);

impl KeyStore for MemoryKeys {
    fn store(&self, name: &str, secrets: &DeviceSecrets) -> Result<(), KeystoreError> {
        self.0.lock().unwrap().insert(name.into(), secrets.clone());
        Ok(())
    }
    fn load(&self, name: &str) -> Result<DeviceSecrets, KeystoreError> {
        self.0
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| KeystoreError::NotFound(name.into()))
    }
    fn delete(&self, name: &str) -> Result<(), KeystoreError> {
        self.0.lock().unwrap().remove(name);
        Ok(())
    }
}

async fn open(
    dir: &std::path::Path,
    database: Option<String>,
    keys: Arc<MemoryKeys>,
) -> Workstation {
    Workstation::open(Options {
        data_dir: dir.to_path_buf(),
        database,
        keys,
        origin: "test workstation".into(),
    })
    .await
    .expect("workstation opens")
}

/// The certificate of the identity named `name` this workstation holds.
async fn certificate_of(ws: &Workstation, name: &str) -> String {
    ws.state()
        .await
        .unwrap()
        .identities
        .into_iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("{name} is held here"))
        .certificate
}

async fn sign_in(ws: &Workstation, name: &str) {
    let result = ws
        .login(certificate_of(ws, name).await)
        .await
        .expect("sign-in");
    assert_eq!(result.layers.len(), 7, "every layer is reported as checked");
}

fn code(r: Result<impl std::fmt::Debug, UiError>) -> String {
    r.expect_err("refused").code.to_string()
}

async fn four_eyes_flow(ws: &Workstation) {
    let state = ws.state().await.unwrap();
    assert!(state.demo);
    assert_eq!(
        state.identities.len(),
        6,
        "two managers, three tellers, an auditor"
    );

    sign_in(ws, "Tom Teller").await;
    let drawer = ws.drawer().await.unwrap();
    assert!(drawer.open, "demo drawers are open");
    let drawer_account = drawer.account.unwrap();
    let ada = ws.find_customers("Ada".into()).await.unwrap();
    let account = ada[0].accounts[0].clone();
    // An account number finds its customer too.
    let by_number = ws.find_customers(account.number.clone()).await.unwrap();
    assert_eq!(by_number.len(), 1);
    assert_eq!(by_number[0].id, ada[0].id);
    let pending_before = ws.pending_transfers().await.unwrap().len();

    // Bad input changes nothing.
    let form = |kind: TransferKind, amount: i64, key: &str| TransferForm {
        kind,
        debit: drawer_account.id,
        credit: account.id,
        amount_minor: amount,
        currency: "EUR".into(),
        memo: "counter deposit".into(),
        idempotency_key: key.into(),
    };
    // A kind Rust has no name for never reaches the workstation: the form the window
    // sends does not deserialise.
    let mut gift = serde_json::to_value(form(TransferKind::Deposit, 100, "k1")).unwrap();
    gift["kind"] = "gift".into();
    assert!(serde_json::from_value::<TransferForm>(gift).is_err());
    assert_eq!(
        code(
            ws.post_transfer(form(TransferKind::DrawerOpen, 100, "k1"))
                .await
        ),
        "forbidden.action_not_allowed"
    );
    assert_eq!(
        code(ws.post_transfer(form(TransferKind::Deposit, 0, "k1")).await),
        "input.amount"
    );
    // Cash through someone else's drawer is refused, whatever the window sends.
    let other_drawer = TransferForm {
        debit: drawer_account.id + 1,
        ..form(TransferKind::Deposit, 100, "k2")
    };
    assert_eq!(
        code(ws.post_transfer(other_drawer).await),
        "drawer.not_yours"
    );
    assert_eq!(ws.pending_transfers().await.unwrap().len(), pending_before);

    // Above the limit: pending, and a retry with the same key is the same transfer.
    let posted = ws
        .post_transfer(form(TransferKind::Deposit, 1_500_000, "big-1"))
        .await
        .unwrap();
    assert_eq!(posted.status, TransferStatus::Pending);
    assert_eq!(posted.debit_number, drawer_account.number);
    // A retry after a lost answer comes later; it still returns the first result.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let again = ws
        .post_transfer(form(TransferKind::Deposit, 1_500_000, "big-1"))
        .await
        .unwrap();
    assert_eq!((again.id, again.replayed), (posted.id, true));
    let pending = ws.pending_transfers().await.unwrap();
    let hash = pending.last().unwrap().request_hash.clone();
    assert_eq!(pending.len(), pending_before + 1);
    assert_eq!(pending.last().unwrap().maker_name, "Tom Teller");

    // A teller cannot approve, list staff, revoke or verify.
    assert!(
        code(ws.resolve_transfer(posted.id, hash.clone(), true).await).starts_with("forbidden.")
    );
    assert!(code(ws.staff().await).starts_with("forbidden."));
    assert!(code(ws.verify_log(&|_, _| {}).await).starts_with("forbidden."));
    ws.logout().await;

    sign_in(ws, "Maria Manager").await;
    assert_eq!(
        ws.resolve_transfer(posted.id, hash.clone(), true)
            .await
            .unwrap(),
        TransferStatus::Posted
    );
    let staff = ws.staff().await.unwrap();
    assert!(
        staff
            .iter()
            .any(|s| s.name == "Nia Novak" && s.certificates.is_empty())
    );
    ws.logout().await;

    sign_in(ws, "Tom Teller").await;
    let after = ws.find_customers("Ada".into()).await.unwrap();
    let balance = after[0].accounts[0].balance_minor;
    assert_eq!(
        balance - account.balance_minor,
        1_500_000,
        "posted exactly once"
    );

    // Closing the drawer 5.00 short leaves a variance for a manager.
    let cash = ws.drawer().await.unwrap().account.unwrap().balance_minor;
    let closed = ws.close_drawer(cash - 500, "close-1".into()).await.unwrap();
    assert_eq!((closed.expected_minor, closed.variance_minor), (cash, -500));
    assert!(code(ws.variance_queue().await).starts_with("forbidden."));
    ws.logout().await;

    sign_in(ws, "Marco Manager").await;
    let waiting = ws.variance_queue().await.unwrap();
    let v = waiting
        .iter()
        .find(|v| v.event == closed.event)
        .expect("queued");
    assert_eq!(
        (v.teller_name.as_str(), v.variance_minor),
        ("Tom Teller", -500)
    );
    ws.sign_off_variance(closed.event).await.unwrap();
    assert!(
        ws.variance_queue()
            .await
            .unwrap()
            .iter()
            .all(|v| v.event != closed.event)
    );
    // Revoking a teller puts them on the issuer's next CRL, named, and refuses their
    // sign-in. A manager revokes only what they issued: find Theo's issuer.
    let theo = state
        .identities
        .iter()
        .find(|i| i.name == "Theo Teller")
        .unwrap();
    let issuer = ws
        .staff()
        .await
        .unwrap()
        .iter()
        .flat_map(|s| s.certificates.clone())
        .find(|c| c.fingerprint == theo.certificate)
        .and_then(|c| c.issuer)
        .expect("Theo's issuer");
    let revoker = state
        .identities
        .iter()
        .find(|i| i.certificate == issuer)
        .map(|i| i.name.clone())
        .expect("the issuing manager is held here");
    ws.logout().await;
    sign_in(ws, &revoker).await;
    let number = ws
        .revoke(
            theo.certificate.clone(),
            RevocationReason::AffiliationChanged,
        )
        .await
        .unwrap();
    let crls = ws.crls().await.unwrap();
    let crl = crls
        .iter()
        .find(|l| l.issuer == issuer)
        .expect("the issuer's CRL");
    assert_eq!(u64::from(crl.number), number);
    assert!(
        crl.entries
            .iter()
            .any(|e| e.name.as_deref() == Some("Theo Teller")
                && e.reason == RevocationReason::AffiliationChanged)
    );
    ws.logout().await;
    let refused = ws
        .login(theo.certificate.clone())
        .await
        .expect_err("revoked");
    assert_eq!(
        (refused.code.as_str(), refused.layer),
        ("certificate.revoked", Some(5))
    );

    // The auditor: the log proves itself, a report is written, a teller's chain browsed.
    sign_in(ws, "Audrey Auditor").await;
    assert!(
        code(
            ws.post_transfer(form(TransferKind::Deposit, 100, "aud"))
                .await
        )
        .starts_with("forbidden.")
    );
    let seen = Mutex::new(0);
    let report = ws
        .verify_log(&|done, _| *seen.lock().unwrap() = done)
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(*seen.lock().unwrap() > 0, "the end was reported");
    let tom = state
        .identities
        .iter()
        .find(|i| i.name == "Tom Teller")
        .unwrap();
    let chain = ws.chain(tom.certificate.clone()).await.unwrap();
    assert!(chain.iter().any(|e| e.kind == "login"));
    let last = chain.last().unwrap();
    let proof = ws
        .inclusion_proof(last.id, last.hash.clone())
        .await
        .unwrap();
    assert!(proof.verified);
    let forged = ws.inclusion_proof(last.id, "00".repeat(32)).await.unwrap();
    assert!(!forged.verified, "a proof for another hash fails");
    let file = ws
        .export_report(tom.certificate.clone(), ReportFormat::Pdf)
        .await
        .unwrap();
    assert!(std::fs::read(&file.path).unwrap().starts_with(b"%PDF"));
    // Nor does a format Rust has no name for.
    assert!(serde_json::from_value::<ReportFormat>("exe".into()).is_err());
    assert!(!ws.activity().await.unwrap().is_empty());
    ws.logout().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_first_run_builds_the_demo_and_the_four_eyes_flow_holds() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MemoryKeys::default());
    let ws = open(dir.path(), None, keys.clone()).await;
    assert_eq!(ws.state().await.unwrap().backend, "sqlite");
    four_eyes_flow(&ws).await;
    drop(ws);
    // A second start opens the same bank under the same pinned root.
    let pin = pqbank_workstation::Settings::load(&dir.path().join("settings.json"))
        .unwrap()
        .pinned_root;
    let again = open(dir.path(), None, keys).await;
    assert_eq!(Some(again.state().await.unwrap().pinned_root), pin);
}

/// A branch workstation of the server's demo bank: its settings name the server and
/// the root, and its keyring holds the demo staff's keys.
async fn branch(
    served: &pqbank_tests::server::Served,
    dir: &std::path::Path,
) -> (Workstation, Arc<MemoryKeys>) {
    let url = format!("https://{}", served.addr);
    let keys = Arc::new(MemoryKeys::default());
    let staff = pqbank_service::demo::staff(&served.bank);
    pqbank_workstation::adopt_demo_branch(dir, &staff, &(keys.clone() as _), &url)
        .await
        .unwrap();
    (open(dir, None, keys.clone()).await, keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_works_through_pqbank_server_and_holds_no_database() {
    let served = pqbank_tests::server::serve(None).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    served.add_new_hire(now).await;
    let checkpoint = served.server_checkpoint(now).await;
    let dir = tempfile::tempdir().unwrap();
    let (ws, keys) = branch(&served, dir.path()).await;
    let state = ws.state().await.unwrap();
    assert_eq!(state.backend, "server");
    assert_eq!(state.location, format!("https://{}", served.addr));
    four_eyes_flow(&ws).await;
    // Every sign-in held the server's log to this machine's pin, and raised the pin to
    // the server's checkpoint.
    let log_pin = pqbank_service::FileLogPin::open(dir.path()).unwrap();
    let bank = served.bank.root.fingerprint();
    let pinned = log_pin.pinned(&bank).unwrap().expect("the log is pinned");
    assert_eq!(
        (pinned.size, pinned.root),
        (checkpoint.tree_size as u64, checkpoint.root)
    );

    // The settings screen trusts a server only if its TLS key is vouched for under the
    // root typed: another root is refused before a request is sent, and nothing saved.
    sign_in(&ws, "Maria Manager").await;
    let settings_path = dir.path().join("settings.json");
    let before = pqbank_workstation::Settings::load(&settings_path).unwrap();
    let url = format!("https://{}", served.addr);
    let refused = code(ws.configure(url.clone(), "ab".repeat(32)).await);
    assert!(refused.starts_with("transport."), "{refused}");
    assert_eq!(
        pqbank_workstation::Settings::load(&settings_path).unwrap(),
        before
    );
    let pin = served.bank.root.fingerprint().to_hex();
    assert!(ws.configure(url, pin).await.unwrap().starts_with("Saved."));
    ws.logout().await;

    // A server whose log is shorter than this machine has seen (its newest events
    // deleted with the checkpoint that covered them, here: a pin above the log) is
    // refused at sign-in after a restart, whoever signs in.
    log_pin
        .raise(
            &bank,
            &pqbank_service::LogPin {
                size: pinned.size + 100,
                ..pinned
            },
        )
        .unwrap();
    drop(ws);
    let ws = open(dir.path(), None, keys.clone()).await;
    let maria = certificate_of(&ws, "Maria Manager").await;
    assert_eq!(code(ws.login(maria).await), "audit");

    // The newest root CRL the server's handshakes showed is kept on this machine: after
    // a restart, a server presenting an older one than this installation has seen (as
    // if the root's newest CRL had been withheld) is refused before a request is sent.
    use pqbank_service::CrlPins as _;
    let root = served.bank.root.fingerprint();
    let pins = pqbank_service::FileCrlPins::open(dir.path()).unwrap();
    assert!(pins.pinned(&root).unwrap().is_some_and(|n| n >= 1));
    pins.raise(&root, 99).unwrap();
    drop((ws, pins));
    let restarted = open(dir.path(), None, keys).await;
    let maria = certificate_of(&restarted, "Maria Manager").await;
    let refused = restarted.login(maria).await.unwrap_err();
    assert!(
        refused.code.as_str().starts_with("transport."),
        "{refused:?}"
    );

    // Nothing of a database is on this machine: no file, no URL in the settings.
    assert!(!dir.path().join("pqbank.db").exists());
    let settings = pqbank_workstation::Settings::load(&dir.path().join("settings.json")).unwrap();
    assert_eq!(settings.database, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workstation_refuses_a_shared_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let err = Workstation::open(Options {
        data_dir: dir.path().to_path_buf(),
        database: Some("mysql://root@127.0.0.1:3306/pqbank".into()),
        keys: Arc::new(MemoryKeys::default()),
        origin: "test workstation".into(),
    })
    .await
    .expect_err("a workstation holds no database credentials");
    assert_eq!(err.code.as_str(), "input.database");
    assert!(
        !dir.path().join("settings.json").exists(),
        "nothing written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_without_a_pin_is_not_adopted() {
    let db = pqbank_tests::sqlite().await;
    drop(db);
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MemoryKeys::default());
    let first = open(dir.path(), None, keys.clone()).await;
    drop(first);
    // Another workstation pointed at the same database without a pinned root refuses it.
    let settings = pqbank_workstation::Settings::load(&dir.path().join("settings.json")).unwrap();
    let other = tempfile::tempdir().unwrap();
    let err = Workstation::open(Options {
        data_dir: other.path().to_path_buf(),
        database: settings.database,
        keys,
        origin: "other".into(),
    })
    .await
    .expect_err("no pin, no trust");
    assert_eq!(err.code.as_str(), "setup.unpinned");
}

#[test]
fn refusals_name_their_layer() {
    assert_eq!(layer_of("certificate.revoked"), Some(5));
    assert_eq!(layer_of("certificate.crl_rollback"), Some(5));
    assert_eq!(layer_of("login.nonce_mismatch"), Some(7));
    assert_eq!(layer_of("challenge_used"), Some(7));
    assert_eq!(layer_of("forbidden.action_not_allowed"), Some(4));
    assert_eq!(layer_of("certificate.device_mismatch"), Some(3));
    assert_eq!(layer_of("certificate.root_not_pinned"), Some(2));
    assert_eq!(layer_of("certificate.chain_signature"), Some(1));
    assert_eq!(layer_of("certificate.lineage_mismatch"), Some(6));
    assert_eq!(layer_of("store.insufficient_funds"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_screen_checks_before_saving() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MemoryKeys::default());
    let ws = open(dir.path(), None, keys.clone()).await;
    let settings_path = dir.path().join("settings.json");
    let before = pqbank_workstation::Settings::load(&settings_path).unwrap();
    let this_bank = before.database.clone().unwrap();
    let pin = before.pinned_root.clone().unwrap();

    // Only a signed-in manager may change where this workstation puts its trust.
    assert_eq!(
        code(ws.configure(this_bank.clone(), pin.clone()).await),
        "session_ended"
    );
    sign_in(&ws, "Tom Teller").await;
    assert!(code(ws.configure(this_bank.clone(), pin.clone()).await).starts_with("forbidden."));
    assert!(code(ws.settings_view().await).starts_with("forbidden."));
    ws.logout().await;
    sign_in(&ws, "Maria Manager").await;

    // Refusals change nothing.
    assert_eq!(
        code(ws.configure("postgres://x".into(), String::new()).await),
        "input.database"
    );
    assert_eq!(
        code(
            ws.configure("mysql://root@127.0.0.1:3306/pqbank".into(), pin.clone())
                .await
        ),
        "input.database",
        "a workstation never takes the shared database's credentials"
    );
    assert_eq!(
        code(ws.configure("https://127.0.0.1".into(), pin.clone()).await),
        "input.server"
    );
    assert_eq!(
        code(
            ws.configure("https://127.0.0.1:8443".into(), String::new())
                .await
        ),
        "setup.unpinned"
    );
    assert_eq!(
        code(ws.configure(this_bank.clone(), "xyz".into()).await),
        "input.root"
    );
    assert_eq!(
        code(ws.configure(this_bank.clone(), String::new()).await),
        "setup.unpinned"
    );
    assert_eq!(
        code(ws.configure(this_bank.clone(), "ab".repeat(32)).await),
        "setup.root_not_found"
    );
    // A root row planted in the database is not a root: it must be a genuine
    // self-signed CA certificate hashing to the pin (here: a teller's certificate).
    let tom = ws
        .state()
        .await
        .unwrap()
        .identities
        .iter()
        .find(|i| i.name == "Tom Teller")
        .unwrap()
        .certificate
        .clone();
    assert_eq!(
        code(ws.configure(this_bank.clone(), tom).await),
        "setup.root_not_found"
    );
    let fresh = format!("sqlite://{}", dir.path().join("other.db").display());
    assert_eq!(
        code(ws.configure(fresh.clone(), pin.clone()).await),
        "setup.root_not_found"
    );
    assert_eq!(
        pqbank_workstation::Settings::load(&settings_path).unwrap(),
        before
    );

    // The right root for this bank is accepted.
    assert!(
        ws.configure(this_bank.clone(), pin.clone())
            .await
            .unwrap()
            .starts_with("Saved.")
    );

    // An empty database gets a demo bank on the next start; the old bank's identities
    // are not offered there.
    let message = ws.configure(fresh.clone(), String::new()).await.unwrap();
    assert!(message.contains("empty"), "{message}");
    drop(ws);
    let next = open(dir.path(), None, keys).await;
    let state = next.state().await.unwrap();
    assert_ne!(state.pinned_root, pin);
    assert_eq!(state.identities.len(), 6, "only the new bank's identities");
    sign_in(&next, "Maria Manager").await;
    assert_eq!(next.settings_view().await.unwrap().bank, fresh);
}
