-- The parameters of admin.sql and runtime.sql, checked and quoted; scripts/db-accounts
-- puts this file before either. Parameters, as user variables set on the same session
-- first (the wrapper sets them from hex literals, so no text of theirs is read as SQL):
--   @pqbank_database     the database: letters, digits and `_`, at most 64
--   @pqbank_host         the host the account connects from, as the server sees it
--                        ('localhost', '127.0.0.1', '10.0.0.%', '%')
--   @pqbank_user         the account's user name: letters, digits and `_`, at most 64
--   @pqbank_password     its password, not empty
--   @pqbank_require_tls  1: the account must connect over TLS (a remote database), or 0
--
-- Every statement the scripts run is built with PREPARE from these values once they are
-- checked here: names quoted as identifiers (backticks doubled), the password by QUOTE().

-- QUOTE() escapes with backslashes: a session with NO_BACKSLASH_ESCAPES would read them
-- as text and end the literal early.
SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';

SET @pqbank_sql = IF(
    @pqbank_database REGEXP '^[A-Za-z0-9_]{1,64}$'
        AND @pqbank_user REGEXP '^[A-Za-z0-9_]{1,64}$'
        AND @pqbank_host REGEXP '^[A-Za-z0-9_.:%-]{1,255}$'
        AND LENGTH(@pqbank_password) > 0
        AND @pqbank_require_tls IN (0, 1),
    'DO 0',
    'SIGNAL SQLSTATE ''45000'' SET MESSAGE_TEXT = ''pqbank: a parameter is missing or not allowed''');
PREPARE pqbank_stmt FROM @pqbank_sql;
EXECUTE pqbank_stmt;

SET @pqbank_db = CONCAT('`', REPLACE(@pqbank_database, '`', '``'), '`');
-- A database-level grant reads `_` and `%` in the name as wildcards: escaped, so the
-- account gets this database and no other whose name differs in those places.
SET @pqbank_db_all = CONCAT('`', REPLACE(REPLACE(@pqbank_database, '_', '\\_'), '%', '\\%'), '`.*');
SET @pqbank_account = CONCAT('`', REPLACE(@pqbank_user, '`', '``'), '`@`',
    REPLACE(@pqbank_host, '`', '``'), '`');
SET @pqbank_identified = CONCAT(' IDENTIFIED BY ', QUOTE(@pqbank_password),
    IF(@pqbank_require_tls = 1, ' REQUIRE SSL', ''));
