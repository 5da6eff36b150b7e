-- The runtime account pqbank-server runs with, on one migrated pqbank database: no DDL,
-- no TRIGGER, no DELETE, no UPDATE of an append-only table, UPDATE only of the columns
-- the server rewrites. Run by an account that may create users (root), after params.sql
-- (the wrapper scripts/db-accounts puts it first) and after the migrations (a table-level
-- grant needs its table). Re-running drops and re-creates the account, so no grant from
-- an earlier version survives.
--
-- The lists below are the statements of crates/db/src/sql. A migration that adds a table
-- the server writes adds its grant here; the runtime story in tests/tests/privilege.rs
-- fails until it does.

SET @pqbank_sql = CONCAT('DROP USER IF EXISTS ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('CREATE USER ', @pqbank_account, @pqbank_identified);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;

-- Reads of every table, `_sqlx_migrations` among them (the server's schema check).
-- MariaDB takes the flows' locking reads (`SELECT ... FOR UPDATE` of accounts with
-- account_balances, of accountability_events and of log_head) with SELECT alone; MySQL
-- 8.0.22 and later would want UPDATE, DELETE or LOCK TABLES beside it.
SET @pqbank_sql = CONCAT('GRANT SELECT ON ', @pqbank_db_all, ' TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;

-- INSERT into the tables the server appends to (devices: a manager's enrolment approval
-- registers the new device's delivery key). Not staff, customers, accounts or
-- account_balances (only the admin opens those: installation, the demo bank).
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.transfers TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.approvals TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.drawer_events TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.accountability_events TO ',
    @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.log_entries TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.checkpoints TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.certificates TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.crls TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.revocations TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.login_challenges TO ',
    @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.sessions TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.enrolment_requests TO ',
    @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT INSERT ON ', @pqbank_db, '.devices TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;

-- UPDATE of exactly the columns the server rewrites.
-- account_balances: the cached totals, rewritten under the account's row lock, with the
-- newest transfer applied and the row's seal.
SET @pqbank_sql = CONCAT('GRANT UPDATE (debits_posted, credits_posted, debits_pending, ',
    'credits_pending, last_transfer_id, seal) ON ', @pqbank_db, '.account_balances TO ',
    @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
-- sessions: seen at each call; a signed request's counter claimed; ended at logout,
-- revocation or idle timeout.
SET @pqbank_sql = CONCAT('GRANT UPDATE (last_seen_at, last_counter, ended_at, end_reason) ON ', @pqbank_db,
    '.sessions TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
-- login_challenges: a nonce is consumed once.
SET @pqbank_sql = CONCAT('GRANT UPDATE (consumed_at) ON ', @pqbank_db, '.login_challenges TO ',
    @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
-- enrolment_requests: a manager's decision and the sealed certificate.
SET @pqbank_sql = CONCAT('GRANT UPDATE (status, decided_by, decided_at, ',
    'certificate_fingerprint, bundle) ON ', @pqbank_db, '.enrolment_requests TO ',
    @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
-- log_head: the sequenced log's size.
SET @pqbank_sql = CONCAT('GRANT UPDATE (size) ON ', @pqbank_db, '.log_head TO ',
    @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;

DEALLOCATE PREPARE pqbank_stmt;
