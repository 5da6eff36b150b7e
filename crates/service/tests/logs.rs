//! Proves the operator's log of a whole story keeps no secret: with every event at TRACE
//! captured, a device is enrolled (a wrong code first), staff log in, a teller deposits
//! and makes a transfer above the four-eyes limit that a manager approves, a teller's
//! approval and a revoked certificate are refused, the auditor checkpoints, verifies the
//! log and signs a report; then no device seed, delivery key, session token, login nonce
//! or enrolment code appears in the log in hex (either case), base64 (standard or URL,
//! padded or not) or as Debug of its bytes, whole or any 8 bytes of it. The log must also
//! hold the story's non-secret lines (logins, a refusal with its code and layer, the
//! acts), and the scanner must find a secret planted in a copy of it, so the test fails if
//! the log is silent or the scan is blind. On SQLite: what is logged does not depend on
//! the backend.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use pqbank_db::{Backend, NewStaff};
use pqbank_db_sqlite::SqliteStore;
use pqbank_ledger::{Amount, Currency, TransferKind, TransferRequest, TransferStatus};
use pqbank_pki::bundle::{RecipientSecret, Suite};
use pqbank_pki::{Certificate, CompositeSigningKey, RevocationReason, Role};
use pqbank_service::demo::{self, DemoPerson};
use pqbank_service::{Device, Service, ServiceError, SessionToken};

const ORIGIN: &str = "10.0.0.7 branch-3";

/// Everything the log is written to, shared with the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The story's secrets, by what they are, each with every form it could take in a log.
#[derive(Default)]
struct Secrets(Vec<(String, Vec<String>)>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, bytes: &[u8]) {
        self.0.push((what.into(), forms(bytes)));
    }

    /// An enrolment code: as shown, and without its separators.
    fn add_code(&mut self, what: &str, code: &str) {
        self.0
            .push((what.into(), vec![code.to_owned(), code.replace('-', "")]));
    }

    /// The first secret found in `text`, with the form it was found in.
    fn leaked(&self, text: &str) -> Option<String> {
        self.0.iter().find_map(|(what, forms)| {
            forms
                .iter()
                .find(|f| text.contains(f.as_str()))
                .map(|f| format!("{what} as {f}"))
        })
    }
}

/// The forms a secret's bytes could take in a log line: hex in either case, base64
/// standard or URL with or without padding, Debug of the bytes; whole, and any 8 bytes
/// in a row (12 for base64), so a secret logged in part is found too.
fn forms(bytes: &[u8]) -> Vec<String> {
    let mut out = vec![
        format!("{bytes:?}"),
        hex::encode(bytes),
        hex::encode_upper(bytes),
        STANDARD.encode(bytes),
        URL_SAFE.encode(bytes),
    ];
    for w in bytes.windows(8) {
        out.extend([hex::encode(w), hex::encode_upper(w)]);
        out.push(format!("{w:?}").trim_matches(['[', ']']).to_owned());
    }
    for w in bytes.windows(12) {
        out.extend([STANDARD_NO_PAD.encode(w), URL_SAFE_NO_PAD.encode(w)]);
    }
    out
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0; N];
    getrandom::fill(&mut out).unwrap();
    out
}

/// A login with the challenge's nonce and the session's token kept as secrets.
async fn login(
    s: &Service<SqliteStore>,
    cert: &Certificate,
    device: &Device,
    secrets: &mut Secrets,
) -> Result<SessionToken, ServiceError> {
    let fp = cert.fingerprint();
    let nonce = s.challenge(fp, &device.id, ORIGIN).await?;
    secrets.add("a login nonce", &nonce);
    let signed = s.sign_transcript(device, nonce, fp, ORIGIN)?;
    let token = s.login(fp, device, ORIGIN, &signed).await?;
    secrets.add("a session token", token.as_bytes());
    Ok(token)
}

fn deposit(
    teller: &DemoPerson,
    drawer: i64,
    account: i64,
    minor: i64,
    key: &str,
) -> TransferRequest {
    TransferRequest {
        maker: teller.staff_id,
        idempotency_key: key.into(),
        kind: TransferKind::Deposit,
        debit: drawer,
        credit: account,
        amount: Amount::from_minor(minor, Currency::EUR).unwrap(),
        memo: "counter deposit".into(),
        created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    }
}

/// A new device is enrolled for a new hire: a wrong code is refused, the right one
/// issues, the device collects its certificate. Returns the hire's certificate and device.
async fn enrol(
    s: &Service<SqliteStore>,
    manager: (&SessionToken, &Device, &Certificate),
    secrets: &mut Secrets,
) -> (Certificate, Device) {
    let now = s.now();
    let staff = NewStaff {
        number: "T-77".into(),
        display_name: "Nia Novak".into(),
        role: "teller".into(),
    };
    let sign = manager.1.event_signer();
    let maker = pqbank_db::master::Maker {
        certificate: *manager.2.fingerprint().as_bytes(),
        sign: &sign,
    };
    s.store()
        .create_staff(&staff, now, Some(maker))
        .await
        .unwrap();
    let (seed, kem_seed, x25519) = (random::<64>(), random::<64>(), random::<32>());
    secrets.add("the new device's signing seed", &seed);
    secrets.add("the new device's ML-KEM seed", &kem_seed);
    secrets.add("the new device's X25519 key", &x25519);
    let device = Device::new(b"device-nia", CompositeSigningKey::from_seed(&seed));
    let recipient = RecipientSecret::from_seeds(Suite::MlKem512X25519, &kem_seed, &x25519);
    let (id, code) = s
        .request_enrolment(&device, &recipient, "T-77", Role::Teller)
        .await
        .unwrap();
    secrets.add_code("the enrolment code", &code);
    let wrong = "ABCD-EFGH-JKMN";
    secrets.add_code("a mistyped enrolment code", wrong);
    let refused = s.approve_enrolment(manager.0, manager.1, id, wrong).await;
    assert_eq!(refused.map_err(|e| e.code()), Err("enrolment".to_owned()));
    s.approve_enrolment(manager.0, manager.1, id, &code)
        .await
        .unwrap();
    let cert = s.collect_enrolment(id, &device, &recipient).await.unwrap();
    // The secret types' Debug is redacted too.
    for debug in [
        format!("{device:?}"),
        format!("{recipient:?}"),
        format!("{:?}", device.key()),
    ] {
        assert_eq!(secrets.leaked(&debug), None, "{debug}");
    }
    (cert, device)
}

/// The whole story, its secrets added as they are made.
async fn story(s: &Service<SqliteStore>, bank: &demo::DemoBank, secrets: &mut Secrets) {
    let (maria, tom, audrey) = (&bank.managers[0], &bank.tellers[0], &bank.auditor);
    let manager = login(s, &maria.cert, &maria.device, secrets).await.unwrap();
    let (hire_cert, hire_device) = enrol(s, (&manager, &maria.device, &maria.cert), secrets).await;
    let hire = login(s, &hire_cert, &hire_device, secrets).await.unwrap();
    assert_eq!(secrets.leaked(&format!("{hire:?}")), None);

    let teller = login(s, &tom.cert, &tom.device, secrets).await.unwrap();
    let account = bank.accounts[0];
    let small = deposit(tom, bank.drawers[0], account, 10_000, "story-small");
    let posted = s.post_transfer(&teller, &tom.device, small).await.unwrap();
    assert_eq!(posted.status, TransferStatus::Posted);
    let big = deposit(tom, bank.drawers[0], account, 1_500_000, "story-big");
    let hash = big.request_hash();
    let pending = s.post_transfer(&teller, &tom.device, big).await.unwrap();
    assert_eq!(pending.status, TransferStatus::Pending);
    // A teller cannot approve (layer 4); the manager can.
    let refused = s
        .resolve_transfer(&teller, &tom.device, pending.id, hash, true)
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("forbidden.action_not_allowed".to_owned())
    );
    let status = s
        .resolve_transfer(&manager, &maria.device, pending.id, hash, true)
        .await
        .unwrap();
    assert_eq!(status, TransferStatus::Posted);

    // The hire's certificate is revoked; their next call is refused (layer 5).
    s.revoke(
        &manager,
        &maria.device,
        hire_cert.fingerprint(),
        RevocationReason::KeyCompromise,
    )
    .await
    .unwrap();
    let refused = s.find_customers(&hire, &hire_device, "Ada").await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("certificate.revoked".to_owned())
    );

    let auditor = login(s, &audrey.cert, &audrey.device, secrets)
        .await
        .unwrap();
    s.checkpoint(&auditor, &audrey.device).await.unwrap();
    let report = s.verify_log(&|_, _| {}).await.unwrap();
    assert_eq!(report.problems, vec![]);
    s.accountability_report(&auditor, &audrey.device, tom.cert.fingerprint())
        .await
        .unwrap();
}

/// The story's log lines that must be there: the test fails on a silent log.
fn assert_expected_lines(log: &str) {
    for line in [
        "login accepted",
        "enrolment requested",
        "enrolment refused",
        "enrolment approved",
        "act signed: transfer.post",
        "act signed: transfer.approve",
        "act signed: cert.revoke",
        "act signed: checkpoint",
        "log verified",
        "act signed: audit.report",
    ] {
        assert!(log.contains(line), "no {line:?} in the log:\n{log}");
    }
    let refusal = |code: &str, layer: &str| {
        log.lines().any(|l| {
            l.contains("call refused")
                && l.contains(&format!("code=\"{code}\""))
                && l.contains(&format!("layer=\"{layer}\""))
        })
    };
    assert!(
        refusal("forbidden.action_not_allowed", "4 purpose-locking"),
        "no refusal by layer 4 in the log:\n{log}"
    );
    assert!(
        refusal("certificate.revoked", "5 crl-pinning"),
        "no refusal by layer 5 in the log:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_of_a_whole_story_keeps_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test binary");

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("pqbank.db"))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let seed = random::<32>();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (service, bank) = demo::build(store, seed, 4, 4, now).await.unwrap();
    let mut secrets = Secrets::default();
    secrets.add("the demo seed", &seed);
    for p in bank
        .managers
        .iter()
        .chain(&bank.tellers)
        .chain([&bank.auditor])
    {
        secrets.add(format!("{}'s device seed", p.name), p.device.key().seed());
    }
    story(&service, &bank, &mut secrets).await;

    let log = captured.text();
    assert_expected_lines(&log);
    if let Some(leak) = secrets.leaked(&log) {
        panic!("the log holds {leak}");
    }
    // The scan is not blind: a seed in part as hex, whole as Debug, in part as base64.
    let tom_seed = bank.tellers[0].device.key().seed();
    for planted in [
        hex::encode(&tom_seed[20..30]),
        format!("{tom_seed:?}"),
        URL_SAFE_NO_PAD.encode(&tom_seed[3..40]),
    ] {
        let copy = format!("{log}\nkey={planted}");
        assert!(secrets.leaked(&copy).is_some(), "{planted} not found");
    }
}
