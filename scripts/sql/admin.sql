-- The schema-owning admin account of one pqbank database, which it creates if missing:
-- `pqbank-server migrate`, installation and the demo bank run with it; the server does
-- not. Run by an account that may create users (root), after params.sql (the wrapper
-- scripts/db-accounts puts it first). Re-running drops and re-creates the account.
--
-- Everything on this database and nothing beyond it: no GRANT OPTION, no global
-- privilege. The migrations' append-only triggers need TRIGGER, which ALL includes; with
-- binary logging on, MariaDB also wants log_bin_trust_function_creators=1 (or SUPER).

SET @pqbank_sql = CONCAT('CREATE DATABASE IF NOT EXISTS ', @pqbank_db, ' CHARACTER SET utf8mb4');
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;

SET @pqbank_sql = CONCAT('DROP USER IF EXISTS ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('CREATE USER ', @pqbank_account, @pqbank_identified);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;
SET @pqbank_sql = CONCAT('GRANT ALL PRIVILEGES ON ', @pqbank_db_all, ' TO ', @pqbank_account);
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;

DEALLOCATE PREPARE pqbank_stmt;
