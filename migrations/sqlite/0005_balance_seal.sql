-- The seal on each cached balance (pqbank_db::Seal): the newest transfer applied to the
-- account and an HMAC-SHA3-256, under a key only the bank server holds, over the account,
-- its totals and that transfer. A flow at the server refuses a row its seal and the
-- journal do not prove. Both columns are NULL until a server seals the row.

ALTER TABLE account_balances ADD COLUMN last_transfer_id INTEGER NULL;
ALTER TABLE account_balances ADD COLUMN seal BLOB NULL;

-- The newest transfer touching an account, read under its lock.
CREATE INDEX transfers_debit ON transfers (debit_account_id, id);
CREATE INDEX transfers_credit ON transfers (credit_account_id, id);
