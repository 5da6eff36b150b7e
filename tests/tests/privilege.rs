//! Least privilege at the database, on the real MariaDB: the runtime account that
//! pqbank-server runs with (made by `scripts/db-accounts`, as an installation makes it)
//! is refused by MariaDB itself when it drops a trigger, rewrites or removes an
//! append-only row, changes the schema or migrates, and nothing changes; its grants still
//! suffice for a whole day at the bank through the service; and a schema this build did
//! not make is refused before anything is served.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failure is a test failure"
)]

use pqbank_db::flows::check_invariants;
use pqbank_db::schema::SchemaMismatch;
use pqbank_db::{Backend, StoreError};
use pqbank_db_mysql::{MIGRATOR, MySqlStore};
use pqbank_ledger::{Amount, Currency, TransferKind, TransferRequest, TransferStatus};
use pqbank_pki::RevocationReason;
use pqbank_pki::bundle::{RecipientSecret, Suite};
use pqbank_pki::{CompositeSigningKey, Role};
use pqbank_service::demo::{self, DemoBank, DemoPerson};
use pqbank_service::{Config, Device, Service, ServiceError};
use pqbank_tests::{MySqlAccounts, Raw, mysql_accounts};
use sqlx::mysql::MySqlDatabaseError;

/// MariaDB's refusals: `<command> command denied to user ... for table ...`.
const TABLE: u16 = 1142;
/// `<command> command denied to user ... for column ...`.
const COLUMN: u16 = 1143;
/// `Access denied; you need (at least one of) the ... privilege(s)`.
const PRIVILEGE: u16 = 1227;
/// `Access denied for user ... to database ...`.
const DATABASE: u16 = 1044;

/// What the runtime account tries, and the error number MariaDB must refuse it with.
const REFUSED: &[(&str, u16)] = &[
    // The append-only triggers stay.
    ("DROP TRIGGER transfers_append_only_u", TABLE),
    ("DROP TRIGGER accountability_events_append_only_d", TABLE),
    (
        "CREATE TRIGGER shadow BEFORE INSERT ON transfers FOR EACH ROW SET NEW.memo = 'x'",
        TABLE,
    ),
    // No UPDATE or DELETE of an append-only table, not even past its trigger.
    ("UPDATE transfers SET memo = 'x'", TABLE),
    ("UPDATE approvals SET decision = 'void'", TABLE),
    ("DELETE FROM accountability_events", TABLE),
    ("DELETE FROM transfers", TABLE),
    ("TRUNCATE TABLE log_entries", TABLE),
    // No DELETE anywhere.
    ("DELETE FROM sessions", TABLE),
    ("DELETE FROM login_challenges", TABLE),
    // No DDL.
    ("CREATE TABLE shadow (id BIGINT)", TABLE),
    ("ALTER TABLE transfers ADD COLUMN shadow INT", TABLE),
    ("DROP TABLE accountability_events", TABLE),
    ("CREATE INDEX shadow ON transfers (memo)", TABLE),
    // UPDATE only of the granted columns.
    (
        "UPDATE account_balances SET account_id = account_id",
        COLUMN,
    ),
    ("UPDATE sessions SET staff_id = staff_id", COLUMN),
    (
        "UPDATE enrolment_requests SET requested_role = 'manager'",
        COLUMN,
    ),
    ("UPDATE accounts SET floor_minor = NULL", TABLE),
    // Only the admin opens staff, customers and accounts.
    (
        "INSERT INTO staff (staff_number, display_name, role, created_at) \
         VALUES ('X-1', 'Mallory', 'manager', 0)",
        TABLE,
    ),
    (
        "INSERT INTO accounts (account_number, kind, currency, label, created_at) \
         VALUES ('X-1', 'customer', 'EUR', 'x', 0)",
        TABLE,
    ),
    // Nothing beyond the database.
    ("CREATE USER pqbank_intruder", PRIVILEGE),
    ("LOCK TABLES transfers WRITE", DATABASE),
];

/// The tables whose rows the refused statements aim at.
const WATCHED: &[&str] = &[
    "transfers",
    "approvals",
    "drawer_events",
    "accountability_events",
    "log_entries",
    "sessions",
    "login_challenges",
    "staff",
    "accounts",
];

/// A migrated database with a small demo bank built by the admin account, and its
/// runtime account.
async fn demo_database() -> (MySqlAccounts, MySqlStore, DemoBank) {
    let accounts = mysql_accounts().await;
    let admin = MySqlStore::connect(&accounts.admin_url()).await.unwrap();
    admin.migrate().await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (_, bank) = demo::build(admin.clone(), [9; 32], 6, 12, now)
        .await
        .unwrap();
    accounts.create_runtime().await;
    (accounts, admin, bank)
}

/// The MariaDB error number of a failed statement, if it has one.
fn error_number(e: &sqlx::Error) -> Option<u16> {
    match e {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(MySqlDatabaseError::number),
        _ => None,
    }
}

/// Row counts of the watched tables, the triggers and the tables, read by the admin.
async fn state(admin: &MySqlStore, database: &str) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in WATCHED {
        counts.push(admin.count(table).await);
    }
    for schema_table in ["TRIGGERS", "TABLES", "COLUMNS"] {
        let column = if schema_table == "TRIGGERS" {
            "TRIGGER_SCHEMA"
        } else {
            "TABLE_SCHEMA"
        };
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM information_schema.{schema_table} WHERE {column} = ?"
        )))
        .bind(database)
        .fetch_one(admin.pool())
        .await
        .unwrap();
        counts.push(n);
    }
    counts
}

/// Proves MariaDB refuses the runtime account every change the server never makes (a
/// trigger dropped or added, an append-only row rewritten or removed, any DELETE, DDL, an
/// ungranted column, a staff or account row, an account or a table lock) with the
/// privilege error itself, and that running the migrations is refused the same way;
/// afterwards every watched row count, the triggers, the tables and the columns are as
/// before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_account_is_refused_what_the_server_never_does() {
    let (accounts, admin, _) = demo_database().await;
    let runtime = MySqlStore::connect_checked(&accounts.runtime_url())
        .await
        .unwrap();
    let before = state(&admin, &accounts.name).await;
    // transfers and accountability_events (WATCHED's first and fourth) hold rows.
    assert!(
        before[0] > 0 && before[3] > 0,
        "rows to protect: {before:?}"
    );
    assert_eq!(before[WATCHED.len()], 18, "the append-only triggers");

    for (statement, expected) in REFUSED {
        let refused = sqlx::query(*statement).execute(runtime.pool()).await;
        let e = refused.expect_err(statement);
        assert_eq!(error_number(&e), Some(*expected), "{statement}: {e}");
        assert!(
            e.to_string().contains(accounts.runtime_user()) || *expected == PRIVILEGE,
            "{statement}: {e}"
        );
    }

    // The migrator stops at its first DDL: the migrations table it would create.
    let e = MIGRATOR.run(runtime.pool()).await.unwrap_err();
    let sqlx::migrate::MigrateError::Execute(e) = e else {
        panic!("migrating as the runtime account: {e}");
    };
    assert_eq!(error_number(&e), Some(TABLE), "{e}");
    assert!(matches!(
        runtime.migrate().await,
        Err(StoreError::Migration(m)) if m.contains("command denied")
    ));

    assert_eq!(state(&admin, &accounts.name).await, before);
}

/// Proves the runtime account's grants suffice for a whole day at the bank, with the
/// server's way in (connect without migrating, check the schema): every act the service
/// writes (sign-in, a posted transfer, one above the four-eyes limit posted by a manager,
/// a drawer closed short with its variance signed off and opened again, an enrolment
/// approved and collected and the new teller's first transfer, a revocation, a
/// checkpoint), with their locking reads (`SELECT ... FOR UPDATE` of the accounts, the
/// chain heads and the log head), and the log verifies and the ledger is sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_account_runs_a_day_at_the_bank() {
    let (accounts, admin, bank) = demo_database().await;
    let maria = &bank.managers[0];
    let sign = maria.device.event_signer();
    let maker = pqbank_db::master::Maker {
        certificate: *maria.cert.fingerprint().as_bytes(),
        sign: &sign,
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let new_hire = pqbank_tests::staff_by(&admin, "T-NEW", "teller", 0, Some(maker), now).await;
    let runtime = MySqlStore::connect_checked(&accounts.runtime_url())
        .await
        .unwrap();
    // The four-eyes policy is the one the demo's root signed, whatever the server's
    // settings: 10,000.00.
    let service = Service::new(runtime, Config::new(bank.root.fingerprint()));
    let [manager, _] = &bank.managers[..] else {
        panic!("two managers");
    };
    let (teller, other) = (&bank.tellers[0], &bank.tellers[1]);
    let t = demo::login(&service, teller).await.unwrap();
    let m = demo::login(&service, manager).await.unwrap();
    signed_request(&service, teller, &t).await;

    let found = service
        .find_customers(&t, &teller.device, "Ada")
        .await
        .unwrap();
    assert!(!found.is_empty(), "a logged read");
    let small = deposit(teller, bank.drawers[0], bank.accounts[0], "small", 20_000);
    let posted = service
        .post_transfer(&t, &teller.device, small)
        .await
        .unwrap();
    assert_eq!(posted.status, TransferStatus::Posted);
    let big = deposit(teller, bank.drawers[0], bank.accounts[1], "big", 1_500_000);
    let hash = big.request_hash();
    let pending = service
        .post_transfer(&t, &teller.device, big)
        .await
        .unwrap();
    assert_eq!(pending.status, TransferStatus::Pending);
    assert_eq!(
        service
            .resolve_transfer(&m, &manager.device, pending.id, hash, true)
            .await,
        Ok(TransferStatus::Posted)
    );

    drawer_day(&service, &bank, other, manager, &m).await;
    enrolment(&service, &bank, manager, &m, (new_hire.id, "T-NEW")).await;
    revocation(&service, &bank, manager, &m).await;

    let a = demo::login(&service, &bank.auditor).await.unwrap();
    let checkpoint = service.checkpoint(&a, &bank.auditor.device).await.unwrap();
    assert!(checkpoint.tree_size > 0);
    let report = service.verify_log(&|_, _| {}).await.unwrap();
    assert_eq!(report.problems, vec![]);
    assert!(check_invariants(service.store()).await.unwrap().is_sound());
}

/// The server's gate for a signed request claims the session's counter (an UPDATE of
/// `sessions.last_counter`); the same request again is refused as replayed.
async fn signed_request(
    service: &Service<MySqlStore>,
    teller: &DemoPerson,
    session: &pqbank_service::SessionToken,
) {
    use pqbank_api::{RequestHeader, Route};
    let body = b"{}";
    let header = RequestHeader {
        route: Route::Drawer,
        session: pqbank_api::session_id(session.as_bytes()),
        device_id: teller.device.id.clone(),
        counter: 1,
        client_time: service.now(),
        body_hash: pqbank_api::body_hash(body),
    }
    .to_bytes()
    .unwrap();
    let signature = teller
        .device
        .sign_act(&RequestHeader::digest(&header))
        .unwrap();
    let request = pqbank_api::decode(Route::Drawer, &header, &signature, body).unwrap();
    let caller = service.authorise_request(&request).await.unwrap();
    assert_eq!(caller.staff_id, teller.staff_id);
    let again = service.authorise_request(&request).await.map(|_| ());
    assert_eq!(again.unwrap_err().code(), "request.replayed");
}

/// A deposit of `minor` cents from a drawer to a customer account, by `teller`.
fn deposit(teller: &DemoPerson, drawer: i64, to: i64, key: &str, minor: i64) -> TransferRequest {
    request(
        teller.staff_id,
        TransferKind::Deposit,
        (drawer, to),
        key,
        minor,
    )
}

/// A transfer request of `kind` made by `maker`, debiting and crediting `accounts`.
fn request(
    maker: i64,
    kind: TransferKind,
    (debit, credit): (i64, i64),
    key: &str,
    minor: i64,
) -> TransferRequest {
    TransferRequest {
        maker,
        idempotency_key: key.into(),
        kind,
        debit,
        credit,
        amount: Amount::from_minor(minor, Currency::EUR).unwrap(),
        memo: format!("{key} {kind}"),
        created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    }
}

/// A teller closes their drawer 5.00 short, a manager signs the variance off, and the
/// teller opens the drawer again with a counted float.
async fn drawer_day(
    service: &Service<MySqlStore>,
    bank: &DemoBank,
    teller: &DemoPerson,
    manager: &DemoPerson,
    m: &pqbank_service::SessionToken,
) {
    let session = demo::login(service, teller).await.unwrap();
    let drawer = bank.drawers[1];
    let expected = service
        .store()
        .account(drawer)
        .await
        .unwrap()
        .unwrap()
        .balance() as i64;
    let closed = service
        .close_drawer(&session, &teller.device, expected - 500, "close-1")
        .await
        .unwrap();
    assert_eq!(closed.variance_minor, Some(-500));
    service
        .sign_off_variance(m, &manager.device, closed.id)
        .await
        .unwrap();
    service
        .open_drawer(&session, &teller.device, 100_000, "open-2")
        .await
        .unwrap();
}

/// A new teller's device asks to enrol, the manager approves with the short code, the
/// device collects its certificate, signs in and posts a transfer.
async fn enrolment(
    service: &Service<MySqlStore>,
    bank: &DemoBank,
    manager: &DemoPerson,
    m: &pqbank_service::SessionToken,
    (staff_id, staff_number): (i64, &str),
) {
    let device = Device::new(b"device-new", CompositeSigningKey::from_seed(&[7; 64]));
    let recipient = RecipientSecret::from_seeds(Suite::MlKem512X25519, &[8; 64], &[9; 32]);
    let (id, code) = service
        .request_enrolment(&device, &recipient, staff_number, Role::Teller)
        .await
        .unwrap();
    let fp = service
        .approve_enrolment(m, &manager.device, id, &code)
        .await
        .unwrap();
    let cert = service
        .collect_enrolment(id, &device, &recipient)
        .await
        .unwrap();
    assert_eq!(cert.fingerprint(), fp);
    let origin = "127.0.0.1 branch-1";
    let nonce = service.challenge(fp, &device.id, origin).await.unwrap();
    let signed = service.sign_transcript(&device, nonce, fp, origin).unwrap();
    let session = service.login(fp, &device, origin, &signed).await.unwrap();
    // Between two customers: no cash drawer, which is another teller's.
    let between = (bank.accounts[0], bank.accounts[2]);
    let first = request(staff_id, TransferKind::Transfer, between, "new", 1_000);
    let outcome = service.post_transfer(&session, &device, first).await;
    assert_eq!(outcome.map(|o| o.status), Ok(TransferStatus::Posted));
}

/// A manager revokes a teller signed in elsewhere: the teller's next call is refused and
/// ends the session, the one after finds it ended.
async fn revocation(
    service: &Service<MySqlStore>,
    bank: &DemoBank,
    manager: &DemoPerson,
    m: &pqbank_service::SessionToken,
) {
    let teller = &bank.tellers[2];
    let session = demo::login(service, teller).await.unwrap();
    service
        .revoke(
            m,
            &manager.device,
            teller.cert.fingerprint(),
            RevocationReason::KeyCompromise,
        )
        .await
        .unwrap();
    let call = deposit(teller, bank.drawers[2], bank.accounts[3], "late", 100);
    let refused = service
        .post_transfer(&session, &teller.device, call.clone())
        .await;
    assert_eq!(
        refused.map_err(|e| e.code()),
        Err("certificate.revoked".to_string())
    );
    let again = service.post_transfer(&session, &teller.device, call).await;
    assert_eq!(again, Err(ServiceError::SessionEnded));
}

/// Proves `check_schema` (and the server's `connect_checked`) refuses a database missing
/// a migration (`store.schema_outdated`), one never migrated, one with a migration this
/// build does not know, one applied from other SQL and one left half applied
/// (`store.schema_unknown`), and passes exactly this build's schema, on the runtime
/// account as on the admin's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_schema_refuses_a_schema_this_build_did_not_make() {
    let accounts = mysql_accounts().await;
    let admin = MySqlStore::connect(&accounts.admin_url()).await.unwrap();
    let outdated = |versions: Vec<i64>| StoreError::Schema(SchemaMismatch::Missing { versions });
    let all: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    assert!(all.len() >= 2);
    assert_eq!(admin.check_schema().await, Err(outdated(all.clone())));

    MIGRATOR.run_to(1, admin.pool()).await.unwrap();
    let refused = MySqlStore::connect_checked(&accounts.admin_url()).await;
    let e = refused.map(drop).unwrap_err();
    assert_eq!(e, outdated(all[1..].to_vec()));
    assert_eq!(ServiceError::from(e).code(), "store.schema_outdated");

    admin.migrate().await.unwrap();
    accounts.create_runtime().await;
    let runtime = MySqlStore::connect_checked(&accounts.runtime_url())
        .await
        .unwrap();
    assert_eq!(runtime.check_schema().await, Ok(()));

    // What only someone with the database's own account could do to its record.
    let root = accounts.root().await;
    let saved = saved_migrations(&root).await;
    let changed = |version| StoreError::Schema(SchemaMismatch::Changed { version });
    for (tamper, expected, code) in [
        (
            "DELETE FROM _sqlx_migrations WHERE version = 2",
            outdated(vec![2]),
            "store.schema_outdated",
        ),
        (
            "INSERT INTO _sqlx_migrations (version, description, installed_on, success, \
             checksum, execution_time) VALUES (99, 'newer', NOW(), TRUE, X'00', 0)",
            StoreError::Schema(SchemaMismatch::Unknown { version: 99 }),
            "store.schema_unknown",
        ),
        (
            "UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 1",
            changed(1),
            "store.schema_unknown",
        ),
        (
            "UPDATE _sqlx_migrations SET success = FALSE WHERE version = 1",
            StoreError::Schema(SchemaMismatch::Failed { version: 1 }),
            "store.schema_unknown",
        ),
    ] {
        root.exec(tamper).await;
        let refused = MySqlStore::connect_checked(&accounts.runtime_url()).await;
        let e = refused.map(drop).unwrap_err();
        assert_eq!(e, expected, "{tamper}");
        assert_eq!(ServiceError::from(e).code(), code, "{tamper}");
        restore_migrations(&root, &saved).await;
        assert_eq!(runtime.check_schema().await, Ok(()), "after {tamper}");
    }
}

/// The migrations table's rows, to put back after tampering.
async fn saved_migrations(root: &MySqlStore) -> Vec<(i64, String, bool, Vec<u8>, i64)> {
    sqlx::query_as(
        "SELECT version, description, success, checksum, execution_time \
         FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(root.pool())
    .await
    .unwrap()
}

/// Puts the migrations table back as it was saved.
async fn restore_migrations(root: &MySqlStore, saved: &[(i64, String, bool, Vec<u8>, i64)]) {
    root.exec("DELETE FROM _sqlx_migrations").await;
    for (version, description, success, checksum, time) in saved {
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, installed_on, success, \
             checksum, execution_time) VALUES (?, ?, NOW(), ?, ?, ?)",
        )
        .bind(version)
        .bind(description)
        .bind(success)
        .bind(checksum)
        .bind(time)
        .execute(root.pool())
        .await
        .unwrap();
    }
}
