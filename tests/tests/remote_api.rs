//! The remote API, end to end on real parts: a `pqbank-server` (the server crate's
//! serving loop, on a loopback port) over real TLS 1.3 with X25519MLKEM768, in front of
//! the real MariaDB reached with the runtime account `scripts/db-accounts` makes, and the
//! workstation's client signing with the demo staff's device keys. Each refusal is named
//! by its code and changes nothing but what is documented (a refusal event on the
//! caller's chain, a session ended); the log then verifies, server-signed events and the
//! devices' requests they keep included.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failure is a test failure"
)]

use std::sync::Arc;

use pqbank_api::Route;
use pqbank_api::wire::PostAnswer;
use pqbank_client::{ClientError, DeviceKey, read_answer};
use pqbank_ledger::{Amount, Currency, TransferKind, TransferRequest, TransferStatus};
use pqbank_net::{TlsKey, VouchedKey};
use pqbank_pki::{CompositeSigningKey, RevocationReason};
use pqbank_service::demo::{self, DemoPerson};
use pqbank_tests::Raw;
use pqbank_tests::server::serve;

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
        memo: "cash in".into(),
        created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    }
}

fn code<T: core::fmt::Debug>(result: Result<T, ClientError>) -> String {
    result.unwrap_err().code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teller_works_through_the_server_and_every_forgery_is_refused() {
    let served = serve(None).await;
    let remote = served.remote();
    let bank = &served.bank;
    let (tom, tara) = (&bank.tellers[0], &bank.tellers[1]);

    // The server serves under the pinned root; a teller signs in from this address.
    let status = remote.status().await.unwrap();
    assert_eq!(status.root, bank.root.fingerprint().to_hex());
    let session = served.login(&remote, tom).await;
    assert_eq!(
        (session.staff_id, session.role.as_str()),
        (tom.staff_id, "teller")
    );
    let logins = served
        .root_store
        .count("accountability_events WHERE kind = 'login' AND server_fingerprint IS NOT NULL")
        .await;
    assert_eq!(logins, 1, "the login event is the server's");
    let origin: String =
        sqlx::query_scalar("SELECT origin FROM login_challenges WHERE origin <> '127.0.0.1 demo'")
            .fetch_one(served.root_store.pool())
            .await
            .unwrap();
    assert_eq!(origin, "127.0.0.1 (declared: branch-7 desk 2)");

    // Search, drawer, a deposit through the teller's own open drawer.
    let found = session.find_customers(&remote, "Ada").await.unwrap();
    let account = found.customers[0].accounts[0].id;
    let drawer = session.drawer(&remote).await.unwrap();
    assert!(drawer.open);
    let till = drawer.drawer.unwrap().id;
    let posted = session
        .post_transfer(&remote, deposit(tom, till, account, 12_345, "remote-1"))
        .await
        .unwrap();
    assert_eq!(posted.status, TransferStatus::Posted);

    // The same signed request again: refused as replayed, nothing written.
    let body = session
        .signed_transfer(deposit(tom, till, account, 500, "remote-2"))
        .unwrap();
    let call = session.sign(Route::TransferPost, &body).await.unwrap();
    let first: PostAnswer = read_answer(&session.send(&remote, &call).await.unwrap()).unwrap();
    let before = served.written().await;
    let again = session.send(&remote, &call).await.unwrap();
    assert_eq!(
        (again.status, code(read_answer::<PostAnswer>(&again))),
        (409, "request.replayed".into())
    );
    // Reordered: a request signed with an older counter.
    let older = session.sign_with(Route::TransferPost, &body, 1).unwrap();
    assert_eq!(
        code(read_answer::<PostAnswer>(
            &session.send(&remote, &older).await.unwrap()
        )),
        "request.replayed"
    );
    // No signature at all.
    let unsigned = remote
        .send_raw(
            &Route::TransferPost.path(),
            Some("application/json"),
            &[],
            call.body.clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        (unsigned.status, code(read_answer::<PostAnswer>(&unsigned))),
        (401, "request.unsigned".into())
    );
    // The header signed by another device's key (Tara's, over Tom's session).
    let mut wrong = session.sign(Route::TransferPost, &body).await.unwrap();
    let taras = session.signed_by(CompositeSigningKey::from_seed(tara.device.key().seed()));
    wrong.fields = taras
        .sign_with(Route::TransferPost, &body, 1_000)
        .unwrap()
        .fields;
    assert_eq!(
        code(read_answer::<PostAnswer>(
            &session.send(&remote, &wrong).await.unwrap()
        )),
        "certificate.device_mismatch"
    );
    // A body changed after signing.
    let mut altered = session.sign(Route::TransferPost, &body).await.unwrap();
    altered.body = serde_json::to_vec(
        &session
            .signed_transfer(deposit(tom, till, account, 900_000, "remote-3"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        code(read_answer::<PostAnswer>(
            &session.send(&remote, &altered).await.unwrap()
        )),
        "request.body_altered"
    );
    assert_eq!(
        served.written().await,
        before,
        "no refusal above wrote anything"
    );
    assert_eq!(first.status, TransferStatus::Posted);

    // A teller's internal kind and cash through another teller's drawer: refused by
    // the service at the server, each refusal logged on Tom's chain, no transfer.
    let taras_till = bank.drawers[1];
    let mut internal = deposit(tom, till, bank.drawers[1], 100, "remote-4");
    internal.kind = TransferKind::DrawerOpen;
    assert_eq!(
        code(session.post_transfer(&remote, internal).await),
        "forbidden.action_not_allowed"
    );
    assert_eq!(
        code(
            session
                .post_transfer(&remote, deposit(tom, taras_till, account, 100, "remote-5"))
                .await
        ),
        "drawer.not_yours"
    );
    let [transfers, _, refusals, ..] = served.written().await;
    assert_eq!((transfers, refusals), (before[0], before[2] + 2));

    // A transfer Tom's device did not sign (another key's signature on his request).
    let mut unsigned_act = session
        .signed_transfer(deposit(tom, till, account, 100, "remote-6"))
        .unwrap();
    unsigned_act.signature = taras
        .signed_transfer(deposit(tom, till, account, 100, "remote-6"))
        .unwrap()
        .signature;
    assert_eq!(
        code(session.post_signed(&remote, &unsigned_act).await),
        "forbidden.device_mismatch"
    );

    // Pending: a large deposit waits for a manager and the teller sees it.
    let large = session
        .post_transfer(&remote, deposit(tom, till, account, 2_500_000, "remote-7"))
        .await
        .unwrap();
    assert_eq!(large.status, TransferStatus::Pending);
    let pending = session.pending_transfers(&remote).await.unwrap();
    assert_eq!(
        pending.transfers.iter().map(|t| t.id).collect::<Vec<_>>(),
        [large.id]
    );

    // Tom cannot approve it (his role); Maria, a manager, approves it from her
    // workstation, her approval signed there, and not a transfer other than the one shown.
    assert_eq!(
        code(
            session
                .resolve_transfer(
                    &remote,
                    pending.transfers[0].id,
                    &pending.transfers[0].request_hash,
                    true
                )
                .await
        ),
        "forbidden.action_not_allowed"
    );
    let maria = served.login(&remote, &bank.managers[0]).await;
    let queue = maria.pending_transfers(&remote).await.unwrap();
    let item = queue.transfers.iter().find(|t| t.id == large.id).unwrap();
    let refused = code(
        maria
            .resolve_transfer(&remote, item.id, &"00".repeat(32), true)
            .await,
    );
    assert!(refused.starts_with("store."), "{refused}");
    // An approval whose signature is another key's, under Maria's genuine request.
    let forged = pqbank_api::wire::ResolveBody {
        transfer_id: item.id,
        transfer_hash: item.request_hash.clone(),
        post: true,
        created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        signature: {
            let approval = pqbank_ledger::ApprovalRequest {
                transfer_id: item.id,
                transfer_hash: <[u8; 32]>::try_from(hex::decode(&item.request_hash).unwrap())
                    .unwrap(),
                approver: maria.staff_id,
                approver_is_manager: false,
                decision: pqbank_ledger::Resolution::Post,
                created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
            };
            let other = CompositeSigningKey::from_seed(bank.managers[1].device.key().seed());
            let signature = other
                .sign(
                    &approval.canonical_bytes(),
                    pqbank_api::ACT_CONTEXT,
                    &[3; 32],
                )
                .unwrap();
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                signature.as_bytes(),
            )
        },
    };
    let call = maria.sign(Route::TransferResolve, &forged).await.unwrap();
    let answer = maria.send(&remote, &call).await.unwrap();
    assert_eq!(
        code(read_answer::<pqbank_api::wire::ResolveAnswer>(&answer)),
        "forbidden.device_mismatch"
    );
    // Maria's workstation clock runs 30 s behind the bank's (within the skew): the
    // approval keeps the time she signed, and the log below still verifies it.
    let behind = time::OffsetDateTime::now_utc().unix_timestamp() - 30;
    let approval = pqbank_ledger::ApprovalRequest {
        transfer_id: item.id,
        transfer_hash: <[u8; 32]>::try_from(hex::decode(&item.request_hash).unwrap()).unwrap(),
        approver: maria.staff_id,
        approver_is_manager: false,
        decision: pqbank_ledger::Resolution::Post,
        created_at: behind,
    };
    let genuine = pqbank_api::wire::ResolveBody {
        created_at: behind,
        signature: maria.sign_act(&approval.canonical_bytes()).unwrap(),
        ..forged
    };
    let call = maria.sign(Route::TransferResolve, &genuine).await.unwrap();
    let resolved: pqbank_api::wire::ResolveAnswer =
        read_answer(&maria.send(&remote, &call).await.unwrap()).unwrap();
    assert_eq!(resolved.status, TransferStatus::Posted);
    assert!(
        session
            .pending_transfers(&remote)
            .await
            .unwrap()
            .transfers
            .is_empty()
    );

    // The log proves itself, server-signed events included.
    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    // A server-signed event edited in the database is named.
    served
        .root_store
        .exec("DROP TRIGGER accountability_events_append_only_u")
        .await;
    served
        .root_store
        .exec(
            "UPDATE accountability_events SET request = CONCAT(request, 'x') \
             WHERE kind = 'customer.read' AND server_fingerprint IS NOT NULL",
        )
        .await;
    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.table == "accountability_events"),
        "{:?}",
        report.problems
    );

    // Logged out: the session refuses the next request.
    session.logout(&remote).await.unwrap();
    assert_eq!(code(session.drawer(&remote).await), "session_ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_revoked_mid_session_is_refused_at_its_next_request() {
    let served = serve(None).await;
    let remote = served.remote();
    let bank = &served.bank;
    let tom = &bank.tellers[0];
    let session = served.login(&remote, tom).await;
    session.drawer(&remote).await.unwrap();

    let manager = &bank.managers[0];
    let token = demo::login(&served.admin, manager).await.unwrap();
    served
        .admin
        .revoke(
            &token,
            &manager.device,
            tom.cert.fingerprint(),
            RevocationReason::KeyCompromise,
        )
        .await
        .unwrap();

    let before = served.written().await;
    assert_eq!(code(session.drawer(&remote).await), "certificate.revoked");
    let after = served.written().await;
    assert_eq!(
        after[0..3],
        before[0..3],
        "nothing but the session's end is written"
    );
    assert_eq!(after[3], before[3] + 1, "the session is ended");
    assert_eq!(code(session.drawer(&remote).await), "session_ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_tls_key_nothing_vouches_for_gets_no_request() {
    let served = serve(Some(TlsKey::generate().unwrap())).await;
    let before = served.written().await;
    let challenges = served.root_store.count("login_challenges").await;
    let remote = served.remote();
    assert_eq!(
        code(remote.status().await),
        "transport.server_key_unvouched"
    );
    let device = pqbank_tests::server::device_key(&served.bank.tellers[0]);
    assert_eq!(
        code(
            remote
                .login(device, served.bank.tellers[0].cert.fingerprint(), "desk")
                .await
        ),
        "transport.server_key_unvouched"
    );
    assert_eq!(served.written().await, before);
    assert_eq!(
        served.root_store.count("login_challenges").await,
        challenges,
        "no request reached the service"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classical_only_client_is_refused_by_the_server() {
    let served = serve(None).await;
    let challenges = served.root_store.count("login_challenges").await;
    let provider = rustls::crypto::CryptoProvider {
        kx_groups: vec![rustls::crypto::aws_lc_rs::kx_group::X25519],
        ..rustls::crypto::aws_lc_rs::default_provider()
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(VouchedKey::new(served.bank.root.fingerprint())))
        .with_no_client_auth();
    let refused = pqbank_net::connect_with(served.addr, Arc::new(config))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(refused.code(), "transport.handshake", "{refused}");
    assert_eq!(
        served.root_store.count("login_challenges").await,
        challenges
    );
}

/// A server key signing events over whatever request it is given.
struct Rogue<'a> {
    key: &'a CompositeSigningKey,
    server: [u8; 32],
    request: Vec<u8>,
}

impl pqbank_db::EventSign for Rogue<'_> {
    fn server(&self) -> Option<[u8; 32]> {
        Some(self.server)
    }

    fn request(&self) -> &[u8] {
        &self.request
    }

    fn sign(&self, hash: &[u8; 32]) -> Result<Vec<u8>, pqbank_db::SignError> {
        self.key
            .sign(hash, pqbank_service::SERVER_EVENT_CONTEXT, &[7; 32])
            .map(|s| s.into_bytes())
            .map_err(|e| pqbank_db::SignError(e.to_string()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_events_no_device_asked_for_are_named() {
    let served = serve(None).await;
    let remote = served.remote();
    let tom = &served.bank.tellers[0];
    let session = served.login(&remote, tom).await;
    session.find_customers(&remote, "Ada").await.unwrap();
    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    let db = &served.root_store;
    let kept: Vec<u8> = sqlx::query_scalar(
        "SELECT request FROM accountability_events WHERE kind = 'customer.read' \
         AND server_fingerprint IS NOT NULL",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let server: Vec<u8> = sqlx::query_scalar(
        "SELECT server_fingerprint FROM accountability_events WHERE server_fingerprint IS NOT NULL LIMIT 1",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let server: [u8; 32] = server.try_into().unwrap();
    let chain = *tom.cert.fingerprint().as_bytes();
    let append = |request: Vec<u8>, kind: &'static str| {
        let rogue = Rogue {
            key: &served.server_key,
            server,
            request,
        };
        async move {
            pqbank_db::IdentityStore::append_event(db, &chain, kind, b"forged", 1, &rogue)
                .await
                .unwrap()
                .event
                .seq
        }
    };
    // The server's key over Tom's request, used a second time for the same kind.
    let twice = append(kept.clone(), "customer.read").await;
    // Over a request Tom's device did not sign (its signature, with a byte flipped).
    let mut unsigned = kept.clone();
    *unsigned.last_mut().unwrap() ^= 1;
    let forged = append(unsigned, "transfer.post").await;
    // With no request at all, for an act.
    let bare = append(Vec::new(), "customer.read").await;

    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    let name = |seq: u64| format!("{} #{seq}", &tom.cert.fingerprint().to_hex()[..16]);
    let reason_of = |seq: u64| {
        report
            .problems
            .iter()
            .find(|p| p.row == name(seq))
            .map(|p| p.reason.clone())
            .unwrap_or_else(|| panic!("#{seq} not named: {:?}", report.problems))
    };
    assert_eq!(reason_of(twice), "the device's request was used twice");
    assert_eq!(
        reason_of(forged),
        "the request it keeps is not signed by the certificate's device"
    );
    assert_eq!(
        reason_of(bare),
        "a bank server signed it without the device's request"
    );

    // An event's server signature that is another event's: not a bank server's.
    db.exec("DROP TRIGGER accountability_events_append_only_u")
        .await;
    db.exec(
        "UPDATE accountability_events a JOIN accountability_events b \
         ON b.kind = 'login' AND b.server_fingerprint IS NOT NULL \
         SET a.signature = b.signature \
         WHERE a.kind = 'customer.read' AND a.server_fingerprint IS NOT NULL \
         AND a.payload <> 'forged'",
    )
    .await;
    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.reason == "the signature is not a bank server's"),
        "{:?}",
        report.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_expires_pending_transfers_on_the_servers_chain() {
    let served = serve(None).await;
    let remote = served.remote();
    let tom = &served.bank.tellers[0];
    let session = served.login(&remote, tom).await;
    let till = session.drawer(&remote).await.unwrap().drawer.unwrap().id;
    let account = served.bank.accounts[0];
    let large = session
        .post_transfer(&remote, deposit(tom, till, account, 2_500_000, "to-expire"))
        .await
        .unwrap();
    assert_eq!(large.status, TransferStatus::Pending);

    // The server's sweep, two days on.
    let later = time::OffsetDateTime::now_utc().unix_timestamp() + 2 * 86_400;
    let key = pqbank_service::ServerKey::new(
        served.server_certificate.clone(),
        CompositeSigningKey::from_seed(served.server_key.seed()),
    )
    .unwrap();
    let sweeper = pqbank_service::Service::new(
        served.root_store.clone(),
        pqbank_service::Config::new(served.bank.root.fingerprint()),
    )
    .with_server_key(Arc::new(key))
    .with_clock(Arc::new(move || later));
    assert_eq!(sweeper.sweep_expired().await.unwrap(), [large.id]);
    assert_eq!(sweeper.sweep_expired().await.unwrap(), Vec::<i64>::new());
    let logged = served
        .root_store
        .count("accountability_events WHERE kind = 'transfer.expire'")
        .await;
    assert_eq!(logged, 1, "one sweep event, on the server's chain");
    assert!(
        session
            .pending_transfers(&remote)
            .await
            .unwrap()
            .transfers
            .is_empty()
    );
    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_secret_is_sealed_to_the_device() {
    let served = serve(None).await;
    let remote = served.remote();
    let (tom, tara) = (&served.bank.tellers[0], &served.bank.tellers[1]);

    // Tom's device key with another delivery key: the server seals to Tom's registered
    // one, so the answer opens only on Tom's device.
    let taras = pqbank_tests::server::device_key(tara);
    let impostor = Arc::new(DeviceKey {
        id: tom.device.id.clone(),
        key: CompositeSigningKey::from_seed(tom.device.key().seed()),
        recipient: pqbank_pki::bundle::RecipientSecret::from_seeds(
            taras.recipient.suite(),
            taras.recipient.kem_seed(),
            taras.recipient.x25519_secret(),
        ),
    });
    assert_eq!(
        code(remote.login(impostor, tom.cert.fingerprint(), "desk").await),
        "transport.session_unsealed"
    );

    // A device the bank holds no delivery key for is refused before any session opens.
    served
        .root_store
        .exec("DELETE FROM devices WHERE label LIKE 'Tom Teller%'")
        .await;
    let sessions = served.root_store.count("sessions").await;
    assert_eq!(
        code(
            remote
                .login(
                    pqbank_tests::server::device_key(tom),
                    tom.cert.fingerprint(),
                    "desk"
                )
                .await
        ),
        "enrolment"
    );
    assert_eq!(served.root_store.count("sessions").await, sessions);
}

/// A close's acts as a workstation would sign them, against `accounts` and `expected`:
/// the genuine ones, or a forger's.
fn close_body(
    session: &pqbank_client::Session,
    accounts: pqbank_ledger::DrawerAccounts,
    (counted_minor, expected_minor): (i64, i64),
    key: &str,
) -> pqbank_api::wire::CloseBody {
    let acts = pqbank_ledger::DrawerActs {
        teller: session.staff_id,
        accounts,
        counted_minor,
        key,
        created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    let signatures = acts
        .close(expected_minor)
        .unwrap()
        .signed_bytes()
        .iter()
        .map(|b| session.sign_act(b).unwrap())
        .collect();
    pqbank_api::wire::CloseBody {
        counted_minor,
        expected_minor,
        idempotency_key: key.into(),
        created_at: acts.created_at,
        signatures,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teller_closes_and_opens_the_drawer_through_the_server_and_a_manager_signs_off() {
    let served = serve(None).await;
    let remote = served.remote();
    let bank = &served.bank;
    let tom = served.login(&remote, &bank.tellers[0]).await;
    let drawer = tom.drawer(&remote).await.unwrap();
    let till = drawer.drawer.clone().unwrap();
    let balance = i64::try_from(till.balances.balance(till.kind.normal_side())).unwrap();
    let accounts = pqbank_ledger::DrawerAccounts {
        drawer: till.id,
        vault: drawer.vault.as_ref().unwrap().id,
        variance: drawer.variance.as_ref().unwrap().id,
        currency: till.currency,
    };
    let drawer_events = || served.root_store.count("drawer_events");
    let (events_before, written_before) = (drawer_events().await, served.written().await);

    // Forgeries of the close, each refused by the service's rebuild, nothing written but
    // the refusal: the cash "returned" to a customer's account instead of the vault; a
    // variance against a balance the drawer does not have; one signature short.
    let customer = bank.accounts[0];
    let mut to_customer = accounts;
    to_customer.vault = customer;
    let forged = close_body(&tom, to_customer, (balance, balance), "close-forged");
    let call = tom.sign(Route::DrawerClose, &forged).await.unwrap();
    let answer = tom.send(&remote, &call).await.unwrap();
    assert_eq!(
        code(read_answer::<pqbank_api::wire::DrawerEventView>(&answer)),
        "forbidden.device_mismatch"
    );
    let wrong_balance = close_body(&tom, accounts, (balance, balance + 5_000), "close-wrong");
    let call = tom.sign(Route::DrawerClose, &wrong_balance).await.unwrap();
    let answer = tom.send(&remote, &call).await.unwrap();
    let refused = code(read_answer::<pqbank_api::wire::DrawerEventView>(&answer));
    assert!(refused.starts_with("store."), "{refused}");
    let mut short = close_body(&tom, accounts, (balance - 100, balance), "close-short");
    short.signatures.pop();
    let call = tom.sign(Route::DrawerClose, &short).await.unwrap();
    let answer = tom.send(&remote, &call).await.unwrap();
    assert_eq!(
        code(read_answer::<pqbank_api::wire::DrawerEventView>(&answer)),
        "forbidden.invalid_request"
    );
    let [transfers, _, refusals, ..] = served.written().await;
    assert_eq!(
        (transfers, refusals, drawer_events().await),
        (written_before[0], written_before[2] + 2, events_before),
        "two refusals logged (a signature and a count); the flow's refusal writes nothing"
    );

    // The genuine close, 1.00 short: the variance and the return posted with it.
    let closed = tom
        .close_drawer(&remote, balance - 100, "close-1")
        .await
        .unwrap();
    assert_eq!(closed.variance_minor, Some(-100));
    assert!(!tom.drawer(&remote).await.unwrap().open);
    assert_eq!(served.written().await[0], written_before[0] + 2);

    // Tom cannot sign off his own variance (his role); Maria signs off, her act signed on
    // her workstation; a signature for another close is refused.
    assert_eq!(
        code(tom.variance_queue(&remote).await),
        "forbidden.action_not_allowed"
    );
    let maria = served.login(&remote, &bank.managers[0]).await;
    let queue = maria.variance_queue(&remote).await.unwrap();
    assert_eq!(
        queue.closes.iter().map(|c| c.id).collect::<Vec<_>>(),
        [closed.id]
    );
    let forged = pqbank_api::wire::SignOffBody {
        event_id: closed.id,
        signature: maria
            .sign_act(&pqbank_ledger::variance_sign_off_bytes(
                closed.id + 1,
                maria.staff_id,
            ))
            .unwrap(),
    };
    let call = maria.sign(Route::VarianceSignOff, &forged).await.unwrap();
    let answer = maria.send(&remote, &call).await.unwrap();
    assert_eq!(
        code(read_answer::<pqbank_api::wire::Empty>(&answer)),
        "forbidden.device_mismatch"
    );
    maria.sign_off_variance(&remote, closed.id).await.unwrap();
    // A manager's lists, under her actions.
    assert!(
        maria
            .enrolment_queue(&remote)
            .await
            .unwrap()
            .requests
            .is_empty()
    );
    assert!(
        !maria
            .current_crls(&remote, Route::Crls)
            .await
            .unwrap()
            .crls
            .is_empty()
    );
    assert_eq!(
        code(tom.enrolment_queue(&remote).await),
        "forbidden.action_not_allowed"
    );
    assert!(
        maria
            .variance_queue(&remote)
            .await
            .unwrap()
            .closes
            .is_empty()
    );

    // The next morning: Tom opens again with a float, and deposits through it.
    let opened = tom.open_drawer(&remote, 50_000, "open-2").await.unwrap();
    assert!(opened.event_id > closed.id);
    let again = tom.drawer(&remote).await.unwrap();
    assert!(again.open);
    let till = again.drawer.unwrap();
    assert_eq!(till.balances.balance(till.kind.normal_side()), 50_000);
    let posted = tom
        .post_transfer(
            &remote,
            deposit(&bank.tellers[0], till.id, customer, 700, "after-open"),
        )
        .await
        .unwrap();
    assert_eq!(posted.status, TransferStatus::Posted);

    // The close's two events keep one request, next to each other on Tom's chain.
    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let invariants = pqbank_db::flows::check_invariants(&served.root_store)
        .await
        .unwrap();
    assert!(invariants.is_sound(), "{invariants:?}");

    // The close's request used again later, by whoever holds the server's key: named.
    let db = &served.root_store;
    let kept: Vec<u8> = sqlx::query_scalar(
        "SELECT request FROM accountability_events WHERE kind = 'drawer.close' LIMIT 1",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let rogue = Rogue {
        key: &served.server_key,
        server: *served.server_certificate.fingerprint().as_bytes(),
        request: kept,
    };
    let chain = *tom.certificate().as_bytes();
    let again = pqbank_db::IdentityStore::append_event(db, &chain, "drawer.close", b"x", 1, &rogue)
        .await
        .unwrap()
        .event
        .seq;
    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    let row = format!("{} #{again}", &tom.certificate().to_hex()[..16]);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.row == row && p.reason == "the device's request was used twice"),
        "{:?}",
        report.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_checkpoints_proves_and_reports_through_the_server() {
    let served = serve(None).await;
    let remote = served.remote();
    let bank = &served.bank;
    let tom = served.login(&remote, &bank.tellers[0]).await;
    let till = bank.drawers[0];
    tom.post_transfer(
        &remote,
        deposit(&bank.tellers[0], till, bank.accounts[0], 250, "a-1"),
    )
    .await
    .unwrap();
    // A teller is refused every auditor's route (the role), the refusal logged.
    assert_eq!(
        code(tom.checkpoint(&remote).await),
        "forbidden.action_not_allowed"
    );
    assert_eq!(
        code(tom.verify_log(&remote).await),
        "forbidden.action_not_allowed"
    );

    let ines = served.login(&remote, &bank.auditor).await;
    // A checkpoint signed over a root the server did not compute is refused.
    let head: pqbank_api::wire::HeadAnswer = read_answer(
        &ines
            .send(
                &remote,
                &ines
                    .sign(Route::CheckpointHead, &pqbank_api::wire::Empty {})
                    .await
                    .unwrap(),
            )
            .await
            .unwrap(),
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let forged = pqbank_api::wire::CheckpointBody {
        tree_size: head.tree_size,
        created_at: now,
        signature: ines
            .sign_act(&pqbank_api::checkpoint_bytes(head.tree_size, &[7; 32], now))
            .unwrap(),
    };
    // (The server's own, signed at the first sign-in, is there already.)
    let checkpoints = served.root_store.count("checkpoints").await;
    let call = ines.sign(Route::Checkpoint, &forged).await.unwrap();
    let answer = ines.send(&remote, &call).await.unwrap();
    assert_eq!(
        code(read_answer::<pqbank_api::wire::CheckpointAnswer>(&answer)),
        "forbidden.device_mismatch"
    );
    assert_eq!(served.root_store.count("checkpoints").await, checkpoints);

    // The genuine checkpoint; the first event's inclusion proof checks against its root.
    let checkpoint = ines.checkpoint(&remote).await.unwrap();
    assert!(checkpoint.tree_size >= head.tree_size);
    assert_eq!(checkpoint.signer, bank.auditor.cert.fingerprint().to_hex());
    let chain = ines.chain(&remote, tom.certificate()).await.unwrap();
    let first = &chain.events[0];
    assert_eq!(first.kind, "login");
    let proof = ines
        .inclusion_proof(&remote, first.id, checkpoint.tree_size)
        .await
        .unwrap();
    assert_eq!(proof.root, checkpoint.root);
    let hash = |h: &str| <[u8; 32]>::try_from(hex::decode(h).unwrap()).unwrap();
    let path: Vec<[u8; 32]> = proof.path.iter().map(|h| hash(h)).collect();
    pqbank_audit::merkle::verify_inclusion(
        &hash(&proof.leaf),
        proof.index,
        proof.tree_size,
        &path,
        &hash(&proof.root),
    )
    .unwrap();
    assert_eq!(
        hash(&proof.leaf),
        pqbank_audit::merkle::leaf_hash(&hash(&first.hash))
    );

    // The report: the server's bytes, signed here by the auditor's device.
    let (json, signature) = ines
        .accountability_report(&remote, tom.certificate())
        .await
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        report["certificate"]["fingerprint"],
        tom.certificate().to_hex()
    );
    assert!(
        bank.auditor
            .device
            .key()
            .verifying_key()
            .verify(&json, pqbank_api::ACT_CONTEXT, &signature)
            .is_ok()
    );
    let activity = ines.activity(&remote).await.unwrap();
    assert!(activity.events.iter().any(|e| e.kind == "audit.report"));

    // The lists an auditor reads, under audit.read; not the manager's routes.
    let staff = ines.staff(&remote, Route::StaffAudit).await.unwrap();
    assert!(staff.staff.iter().any(|s| s.id == bank.tellers[0].staff_id));
    assert!(
        staff
            .certificates
            .iter()
            .any(|c| c.fingerprint == tom.certificate().to_hex())
    );
    assert_eq!(
        code(ines.staff(&remote, Route::Staff).await),
        "forbidden.action_not_allowed"
    );
    let crls = ines.current_crls(&remote, Route::CrlsAudit).await.unwrap();
    let root_crl = crls
        .crls
        .iter()
        .find(|c| c.issuer == bank.root.fingerprint().to_hex())
        .unwrap();
    let der =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &root_crl.der).unwrap();
    pqbank_pki::Crl::from_der(&der)
        .unwrap()
        .verify_signed_by(&bank.root)
        .unwrap();
    assert_eq!(
        code(tom.current_crls(&remote, Route::CrlsAudit).await),
        "forbidden.action_not_allowed"
    );

    // The log proves itself, read through the server.
    let verified = ines.verify_log(&remote).await.unwrap();
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
    assert!(verified.events > 0 && verified.transfers > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_renews_and_revokes_through_the_server_signing_on_her_workstation() {
    let served = serve(None).await;
    let remote = served.remote();
    let bank = &served.bank;
    let (tom, tara) = (&bank.tellers[0], &bank.tellers[1]);
    let maria = served.login(&remote, &bank.managers[0]).await;
    let marco = served.login(&remote, &bank.managers[1]).await;
    let crls = || served.root_store.count("crls");
    let crls_before = crls().await;

    // Marco did not issue Tom's certificate: refused, the refusal chained.
    assert_eq!(
        code(
            marco
                .revoke(
                    &remote,
                    tom.cert.fingerprint(),
                    RevocationReason::KeyCompromise
                )
                .await
        ),
        "forbidden.issuer_not_authorised"
    );

    // A CRL that drops the earlier revocations (built on no CRL at all), signed by Maria:
    // the service's rebuild from her newest CRL differs, so her signature does not verify.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let reason = RevocationReason::KeyCompromise;
    let tara_fp = tara.cert.fingerprint();
    let issuer = &bank.managers[0].cert;
    maria
        .revoke(
            &remote,
            tom.cert.fingerprint(),
            RevocationReason::Superseded,
        )
        .await
        .unwrap();
    let crl_after_tom = crls().await;
    let fresh = pqbank_api::acts::next_crl(None, tara.cert.serial(), reason, now, 7);
    let sign = |bytes: &[u8], context: &[u8]| {
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            CompositeSigningKey::from_seed(bank.managers[0].device.key().seed())
                .sign(bytes, context, &[9; 32])
                .unwrap()
                .as_bytes(),
        )
    };
    let forged = pqbank_api::wire::RevokeBody {
        certificate: tara_fp.to_hex(),
        reason,
        created_at: now,
        signatures: vec![
            sign(&fresh.tbs(issuer).unwrap(), &[]),
            sign(
                &pqbank_api::acts::revocation_bytes(&tara_fp, reason.as_str(), 1, now),
                pqbank_api::ACT_CONTEXT,
            ),
        ],
    };
    let call = maria.sign(Route::CertificateRevoke, &forged).await.unwrap();
    let answer = maria.send(&remote, &call).await.unwrap();
    assert_eq!(
        code(read_answer::<pqbank_api::wire::RevokeAnswer>(&answer)),
        "forbidden.device_mismatch"
    );
    assert_eq!(crls().await, crl_after_tom, "no CRL published by a refusal");

    // The genuine revocation of Tara: the next CRL still lists Tom, now Tara too.
    let revoked = maria.revoke(&remote, tara_fp, reason).await.unwrap();
    let latest =
        pqbank_db::IdentityStore::latest_crl(&served.root_store, issuer.fingerprint().as_bytes())
            .await
            .unwrap()
            .unwrap();
    let listed = pqbank_pki::Crl::from_der(&latest.der).unwrap();
    assert_eq!(listed.number(), revoked.crl_number);
    assert!(listed.lookup(tom.cert.serial()).is_some());
    assert!(listed.lookup(tara.cert.serial()).is_some());
    assert_eq!(crls().await, crls_before + 2);

    // Theo's certificate renewed on Maria's workstation: the old one superseded, the new
    // one signs Theo in; a renewal whose certificate signature is over another serial is
    // refused.
    let theo = &bank.tellers[2];
    let mut renew = pqbank_api::wire::RenewBody {
        certificate: theo.cert.fingerprint().to_hex(),
        serial: hex::encode([0x11; 16]),
        created_at: now,
        signatures: Vec::new(),
    };
    let other = pqbank_api::acts::renewal(&theo.cert, issuer, [0x22; 16], now)
        .unwrap()
        .tbs_issued_by(issuer)
        .unwrap();
    let latest = listed;
    let crl = pqbank_api::acts::next_crl(
        Some(&latest),
        theo.cert.serial(),
        RevocationReason::Superseded,
        now,
        7,
    );
    let number = i64::try_from(crl.number).unwrap();
    renew.signatures = vec![
        sign(&other, &[]),
        sign(&crl.tbs(issuer).unwrap(), &[]),
        sign(
            &pqbank_api::acts::revocation_bytes(
                &theo.cert.fingerprint(),
                RevocationReason::Superseded.as_str(),
                number,
                now,
            ),
            pqbank_api::ACT_CONTEXT,
        ),
    ];
    let call = maria.sign(Route::CertificateRenew, &renew).await.unwrap();
    let answer = maria.send(&remote, &call).await.unwrap();
    assert_eq!(
        code(read_answer::<pqbank_api::wire::RenewAnswer>(&answer)),
        "forbidden.device_mismatch"
    );
    // A renewal under a serial Maria already issued (Tom's): refused, a CRL lists serials.
    let taken: [u8; 16] = tom.cert.serial().try_into().unwrap();
    let tbs = pqbank_api::acts::renewal(&theo.cert, issuer, taken, now)
        .unwrap()
        .tbs_issued_by(issuer)
        .unwrap();
    renew.serial = hex::encode(taken);
    renew.signatures[0] = sign(&tbs, &[]);
    let call = maria.sign(Route::CertificateRenew, &renew).await.unwrap();
    let answer = maria.send(&remote, &call).await.unwrap();
    assert_eq!(
        code(read_answer::<pqbank_api::wire::RenewAnswer>(&answer)),
        "forbidden.invalid_request"
    );
    assert_eq!(
        crls().await,
        crls_before + 2,
        "no CRL published by a refusal"
    );
    let renewed = maria.renew(&remote, theo.cert.fingerprint()).await.unwrap();
    let new_fp = pqbank_pki::Fingerprint::from_hex(&renewed.fingerprint).unwrap();
    let theos = remote
        .login(
            pqbank_tests::server::device_key(theo),
            new_fp,
            "branch-7 desk 3",
        )
        .await
        .unwrap();
    assert!(theos.drawer(&remote).await.unwrap().open);
    let old = remote
        .login(
            pqbank_tests::server::device_key(theo),
            theo.cert.fingerprint(),
            "branch-7 desk 3",
        )
        .await;
    assert_eq!(
        old.err().map(|e| e.code).as_deref(),
        Some("certificate.revoked")
    );

    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_hire_enrols_through_the_server_and_signs_in_with_the_delivered_certificate() {
    use pqbank_db::Backend as _;
    let served = serve(None).await;
    let remote = served.remote();
    let bank = &served.bank;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let staff = pqbank_db::NewStaff {
        number: "T-88".into(),
        display_name: "Nora New".into(),
        role: "teller".into(),
    };
    let maria = &bank.managers[0];
    let sign = maria.device.event_signer();
    let maker = pqbank_db::master::Maker {
        certificate: *maria.cert.fingerprint().as_bytes(),
        sign: &sign,
    };
    let nora_id = served
        .admin
        .store()
        .create_staff(&staff, now, Some(maker))
        .await
        .unwrap();
    let device = Arc::new(DeviceKey {
        id: b"nora-desk-1".to_vec(),
        key: CompositeSigningKey::from_seed(&[0x5a; 64]),
        recipient: pqbank_pki::bundle::RecipientSecret::from_seeds(
            pqbank_pki::bundle::Suite::MlKem512X25519,
            &[0x5b; 64],
            &[0x5c; 32],
        ),
    });

    // A staff number the bank does not hold is refused, and nothing is stored.
    let requests = served.root_store.count("enrolment_requests").await;
    assert_eq!(
        code(
            remote
                .request_enrolment(&device, "T-404", pqbank_pki::Role::Teller)
                .await
        ),
        "enrolment"
    );
    // Nor may a teller's number ask for an auditor's certificate.
    assert_eq!(
        code(
            remote
                .request_enrolment(&device, "T-88", pqbank_pki::Role::Auditor)
                .await
        ),
        "enrolment"
    );
    assert_eq!(
        served.root_store.count("enrolment_requests").await,
        requests
    );

    // Nora's device asks by her staff number, before anyone signs in; only her device
    // reads the request.
    let (id, shown) = remote
        .request_enrolment(&device, " t-88 ", pqbank_pki::Role::Teller)
        .await
        .unwrap();
    assert_eq!(
        remote.enrolment_status(&device, id).await.unwrap().status,
        "pending"
    );
    let stranger = DeviceKey {
        id: device.id.clone(),
        key: CompositeSigningKey::from_seed(&[0x01; 64]),
        recipient: pqbank_pki::bundle::RecipientSecret::from_seeds(
            pqbank_pki::bundle::Suite::MlKem512X25519,
            &[0x02; 64],
            &[0x03; 32],
        ),
    };
    assert_eq!(
        code(remote.enrolment_status(&stranger, id).await),
        "certificate.device_mismatch"
    );

    // Maria approves it from her workstation: a wrong code and a certificate signed over
    // another role are refused; the typed code and her signature over the service's
    // rebuild are taken.
    let maria = served.login(&remote, &bank.managers[0]).await;
    let queue = maria.enrolment_queue(&remote).await.unwrap();
    let request = queue.requests.iter().find(|r| r.id == id).unwrap();
    assert_eq!(
        code(
            maria
                .approve_enrolment(&remote, &queue, request, "AAAA-BBBB-CCCC")
                .await
        ),
        "enrolment"
    );
    let issuer = pqbank_pki::Certificate::from_der(
        &base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &queue.issuer).unwrap(),
    )
    .unwrap();
    assert_eq!(issuer.fingerprint(), bank.managers[0].cert.fingerprint());
    let csr = pqbank_pki::CertificateRequest::from_der(
        &base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &request.csr).unwrap(),
    )
    .unwrap();
    let hash = csr.device_id_hash().unwrap();
    let serial = [0x33; 16];
    assert_eq!(request.name, "Nora New");
    let as_auditor = pqbank_api::acts::staff_certificate(
        pqbank_api::acts::StaffRequest {
            csr: &csr,
            device_hash: hash,
            role: pqbank_pki::Role::Auditor,
            number: &request.staff_number,
            name: &request.name,
        },
        &issuer,
        serial,
        now,
    )
    .tbs_issued_by(&issuer)
    .unwrap();
    let forged = pqbank_api::wire::ApproveBody {
        request_id: id,
        code: shown.clone(),
        serial: hex::encode(serial),
        created_at: now,
        signature: base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            CompositeSigningKey::from_seed(bank.managers[0].device.key().seed())
                .sign(&as_auditor, &[], &[4; 32])
                .unwrap()
                .as_bytes(),
        ),
    };
    let call = maria.sign(Route::EnrolmentApprove, &forged).await.unwrap();
    let answer = maria.send(&remote, &call).await.unwrap();
    assert_eq!(
        code(read_answer::<pqbank_api::wire::ApproveAnswer>(&answer)),
        "forbidden.device_mismatch"
    );
    assert_eq!(served.root_store.count("devices").await, 6);
    let issued = maria
        .approve_enrolment(&remote, &queue, request, &shown.to_lowercase())
        .await
        .unwrap();
    assert_eq!(served.root_store.count("devices").await, 7);

    // Nora's device opens the bundle and signs in at the server: the session secret is
    // sealed to the delivery key the approval registered.
    let cert = remote.collect_enrolment(&device, id).await.unwrap();
    assert_eq!(cert.fingerprint().to_hex(), issued.certificate);
    assert_eq!(cert.claims().role, Some(pqbank_pki::Role::Teller));
    // The bank names the holder from its records, not from what the device asked.
    assert!(
        cert.subject_text().contains("CN=Nora New"),
        "{}",
        cert.subject_text()
    );
    let nora = remote
        .login(device.clone(), cert.fingerprint(), "branch-7 desk 4")
        .await
        .unwrap();
    assert_eq!(nora.staff_id, nora_id);
    nora.find_customers(&remote, "Ada").await.unwrap();

    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// Proves a workstation holds the server's log to its pin at every sign-in: the login
/// answer's checkpoint is the server's, signed with its key (one signed at the first
/// sign-in if it had none); a newer one must extend the pinned log (its consistency
/// proof holds); a log shorter than the pin, or diverging from it, is refused with code
/// `audit`; a head another key signed is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_holds_the_log_to_the_workstations_pin() {
    use pqbank_db::IdentityStore as _;
    let served = serve(None).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let tom = &served.bank.tellers[0];
    let device = pqbank_tests::server::device_key(tom);
    let remote = served.remote();
    let login = |pin| {
        let (remote, device) = (&remote, device.clone());
        async move {
            remote
                .login_pinned(device, tom.cert.fingerprint(), "desk", pin)
                .await
                .map(|(_, pin)| pin)
        }
    };
    // A server with no checkpoint of its own signs one at the first sign-in: there is
    // always a head to hold the log to.
    assert!(served.admin.store().checkpoints().await.unwrap().is_empty());
    let pin = login(None).await.unwrap().expect("the server's checkpoint");
    let first = served.admin.store().checkpoints().await.unwrap()[0].clone();
    assert_eq!(
        first.signer,
        *served.server_certificate.fingerprint().as_bytes()
    );
    assert_eq!((pin.size, pin.root), (first.tree_size as u64, first.root));
    assert_eq!(login(Some(pin)).await.unwrap(), Some(pin), "the same log");

    // Five minutes on, the server checkpoints the longer log: the pin rises to it, the
    // consistency proof from the old pin checked.
    let second = served.server_checkpoint(now + 301).await;
    assert!(second.tree_size > first.tree_size);
    let raised = login(Some(pin)).await.unwrap().unwrap();
    assert_eq!(
        (raised.size, raised.root),
        (second.tree_size as u64, second.root)
    );

    // A log shorter than this workstation has seen: events were removed.
    let ahead = pqbank_api::LogPin {
        size: raised.size + 10,
        ..raised
    };
    let refused = login(Some(ahead)).await.unwrap_err();
    assert_eq!(refused.code, "audit");
    assert!(refused.message.contains("shorter"), "{refused:?}");
    // A log whose first events are not those this workstation has seen: rewritten.
    let rewritten = pqbank_api::LogPin {
        root: [7; 32],
        ..pin
    };
    let refused = login(Some(rewritten)).await.unwrap_err();
    assert_eq!(refused.code, "audit");
    assert!(refused.message.contains("diverges"), "{refused:?}");

    // A head signed by any key but the server's is refused, whatever it says.
    let head = |key: &CompositeSigningKey| {
        let bytes = pqbank_api::checkpoint_bytes(second.tree_size as u64, &second.root, now);
        let signature = key.sign(&bytes, pqbank_api::ACT_CONTEXT, &[0; 32]).unwrap();
        pqbank_api::wire::LogHead {
            tree_size: second.tree_size as u64,
            root: hex::encode(second.root),
            created_at: now,
            signature: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                signature.as_bytes(),
            ),
            consistency: vec![],
        }
    };
    let server = &served.server_certificate;
    assert_eq!(
        pqbank_client::check_log_head(&head(&served.server_key), Some(raised), server).unwrap(),
        raised
    );
    let forged = head(tom.device.key());
    assert_eq!(
        pqbank_client::check_log_head(&forged, Some(raised), server)
            .unwrap_err()
            .code,
        "audit"
    );
}

/// Proves the server's checkpoint job leaves no two consecutive checkpoints more than
/// `CHECKPOINT_EVENTS_MAX` events apart however late it runs: a burst of events between
/// two of its turns is covered by a checkpoint every 1,000 events, then one of the
/// whole log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_checkpointed_every_thousand_events() {
    use pqbank_db::IdentityStore as _;
    use pqbank_service::CHECKPOINT_EVENTS_MAX;
    let served = serve(None).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let first = served.server_checkpoint(now + 301).await;
    let tom = &served.bank.tellers[0];
    let sign = tom.device.event_signer();
    let burst = 2 * CHECKPOINT_EVENTS_MAX + 100;
    for i in 0..burst {
        served
            .admin
            .store()
            .append_event(
                tom.cert.fingerprint().as_bytes(),
                "note",
                &i.to_be_bytes(),
                now,
                &sign,
            )
            .await
            .unwrap();
    }
    let last = served.server_checkpoint(now + 302).await;
    let sizes: Vec<u64> = served
        .admin
        .store()
        .checkpoints()
        .await
        .unwrap()
        .iter()
        .map(|c| c.tree_size as u64)
        .collect();
    let step = CHECKPOINT_EVENTS_MAX;
    let start = first.tree_size as u64;
    assert_eq!(
        sizes,
        [start, start + step, start + 2 * step, last.tree_size as u64],
        "one every {step} events, then the whole log"
    );
    assert!(last.tree_size as u64 > start + burst);
    // Each one the log's root at its size, signed by the server.
    let report = served.admin.verify_log(&|_, _| {}).await.unwrap();
    let checkpoints: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.table == "checkpoints")
        .collect();
    assert!(checkpoints.is_empty(), "{checkpoints:?}");
}
