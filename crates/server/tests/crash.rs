//! `kill -9` of the real `pqbank-server` binary while 16 workstations post through it,
//! on the real MariaDB with the runtime account: the server is restarted on the same
//! port, each workstation resends what was not acknowledged (the same signed transfer,
//! so the same idempotency key, under a new counter), and afterwards no acknowledged
//! transfer is lost, none is applied twice, the balances equal the journal and the log
//! verifies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failure is a test failure"
)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pqbank_client::{ClientError, Remote};
use pqbank_db::Backend as _;
use pqbank_db::flows::check_invariants;
use pqbank_ledger::{Amount, Currency, TransferKind, TransferRequest};
use pqbank_net::VouchedKey;

/// Workstations posting at once.
const WORKSTATIONS: usize = 16;
/// Transfers each posts.
const EACH: usize = 12;
/// Acknowledged transfers before the kill.
const KILL_AFTER: usize = 60;

fn start(state: &std::path::Path, db: &str, addr: SocketAddr) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pqbank-server"))
        .args(["serve", "--listen", &addr.to_string()])
        .env("PQBANK_DATABASE_URL", db)
        .env("PQBANK_STATE_DIR", state)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Posts `body` until the server acknowledges it, reconnecting through restarts.
async fn until_acknowledged(
    remote: &Remote,
    session: &pqbank_client::Session,
    body: &pqbank_api::wire::PostBody,
) -> (i64, bool, usize) {
    for resends in 0..600 {
        match session.post_signed(remote, body).await {
            Ok(answer) => return (answer.id, answer.replayed, resends),
            Err(ClientError { status: None, .. }) => {
                // No answer: the server is down or the connection broke mid-call.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("refused: {e}"),
        }
    }
    panic!("the server never came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_and_repeats_nothing() {
    let installed = pqbank_tests::server::install([0x17; 32], 8, 0).await;
    let (accounts, bank, dir) = (&installed.accounts, installed.bank, &installed.state);
    let service = &installed.admin;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut server = start(dir.path(), &accounts.runtime_url(), addr);

    let pin = bank.root.fingerprint();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let bank = Arc::new(bank);
    let mut workstations = Vec::new();
    for w in 0..WORKSTATIONS {
        let (bank, acknowledged) = (bank.clone(), acknowledged.clone());
        workstations.push(tokio::spawn(async move {
            let t = w % bank.tellers.len();
            let teller = &bank.tellers[t];
            let remote = Remote::new(addr, VouchedKey::new(pin));
            let device = pqbank_tests::server::device_key(teller);
            let mut session = None;
            for _ in 0..200 {
                match remote
                    .login(
                        device.clone(),
                        teller.cert.fingerprint(),
                        &format!("desk {w}"),
                    )
                    .await
                {
                    Ok(s) => {
                        session = Some(s);
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            let session = session.expect("the workstation never signed in");
            let (mut acks, mut resends, mut replays) = (BTreeMap::new(), 0, 0);
            for i in 0..EACH {
                let key = format!("crash-{w}-{i}");
                let transfer = TransferRequest {
                    maker: teller.staff_id,
                    idempotency_key: key.clone(),
                    kind: TransferKind::Deposit,
                    debit: bank.drawers[t],
                    credit: bank.accounts[(w + i) % bank.accounts.len()],
                    amount: Amount::from_minor(100 + i as i64, Currency::EUR).unwrap(),
                    memo: String::new(),
                    created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
                };
                // Signed once: every resend is the same act.
                let body = session.signed_transfer(transfer).unwrap();
                let (id, replayed, resent) = until_acknowledged(&remote, &session, &body).await;
                acknowledged.fetch_add(1, Ordering::SeqCst);
                acks.insert(key, id);
                resends += resent;
                replays += usize::from(replayed && resent > 0);
            }
            (acks, resends, replays)
        }));
    }

    // Kill the server mid-stream, then start it again on the same port.
    for _ in 0..1200 {
        if acknowledged.load(Ordering::SeqCst) >= KILL_AFTER {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let at_kill = acknowledged.load(Ordering::SeqCst);
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        (KILL_AFTER..WORKSTATIONS * EACH).contains(&at_kill),
        "killed after {at_kill} acknowledgements"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut server = start(dir.path(), &accounts.runtime_url(), addr);

    let (mut all, mut resends, mut replays) = (BTreeMap::new(), 0, 0);
    for w in workstations {
        let (acks, resent, replayed) = w.await.unwrap();
        all.extend(acks);
        resends += resent;
        replays += replayed;
    }
    eprintln!(
        "killed after {at_kill} acknowledgements; {resends} resends, {replays} answered as \
         already posted"
    );
    assert!(resends > 0, "no workstation noticed the kill");
    server.kill().unwrap();
    server.wait().unwrap();

    let root = accounts.root().await;
    assert_eq!(all.len(), WORKSTATIONS * EACH);
    let transfers = root.transfers().await.unwrap();
    let by_key: BTreeMap<_, _> = transfers
        .iter()
        .filter(|t| t.request.idempotency_key.starts_with("crash-"))
        .map(|t| (t.request.idempotency_key.clone(), t.id))
        .collect();
    assert_eq!(
        by_key, all,
        "an acknowledged transfer is missing or is another"
    );
    assert_eq!(root.duplicate_keys().await.unwrap(), 0);
    let invariants = check_invariants(&root).await.unwrap();
    assert!(invariants.is_sound(), "{invariants:?}");
    let report = service.verify_log(&|_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
