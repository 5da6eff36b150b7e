-- pqbank schema, SQLite (the embedded default); the same tables as migrations/mysql. Forward-only. Times are UNIX seconds (INTEGER);
-- money is integer minor units (INTEGER); hashes and fingerprints are SHA3-256 (BLOB).
-- Financial and audit tables are append-only: triggers at the end refuse UPDATE and DELETE.

CREATE TABLE staff (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_number TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id_hash BLOB NOT NULL UNIQUE,
    staff_id INTEGER NOT NULL,
    label TEXT NOT NULL,
    kem_recipient BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    FOREIGN KEY (staff_id) REFERENCES staff (id)
);

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint BLOB NOT NULL UNIQUE,
    der BLOB NOT NULL,
    serial BLOB NOT NULL,
    issuer_fingerprint BLOB NULL,
    replaces_fingerprint BLOB NULL,
    staff_id INTEGER NULL,
    device_id INTEGER NULL,
    role TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    FOREIGN KEY (staff_id) REFERENCES staff (id),
    FOREIGN KEY (device_id) REFERENCES devices (id)
);

CREATE TABLE revocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    certificate_fingerprint BLOB NOT NULL UNIQUE,
    reason TEXT NOT NULL,
    revoked_at INTEGER NOT NULL,
    crl_number INTEGER NOT NULL,
    revoked_by INTEGER NOT NULL,
    signed_bytes BLOB NOT NULL,
    signature BLOB NOT NULL,
    signer_fingerprint BLOB NOT NULL,
    FOREIGN KEY (certificate_fingerprint) REFERENCES certificates (fingerprint),
    FOREIGN KEY (revoked_by) REFERENCES staff (id)
);

CREATE TABLE crls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issuer_fingerprint BLOB NOT NULL,
    crl_number INTEGER NOT NULL,
    fingerprint BLOB NOT NULL UNIQUE,
    der BLOB NOT NULL,
    this_update INTEGER NOT NULL,
    next_update INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (issuer_fingerprint, crl_number)
);

CREATE TABLE enrolment_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    csr_fingerprint BLOB NOT NULL UNIQUE,
    csr_der BLOB NOT NULL,
    kem_recipient BLOB NOT NULL,
    short_code TEXT NOT NULL,
    staff_id INTEGER NULL,
    requested_role TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by INTEGER NULL,
    decided_at INTEGER NULL,
    certificate_fingerprint BLOB NULL,
    bundle BLOB NULL,
    created_at INTEGER NOT NULL,
    FOREIGN KEY (staff_id) REFERENCES staff (id),
    FOREIGN KEY (decided_by) REFERENCES staff (id)
);

CREATE TABLE login_challenges (
    nonce BLOB PRIMARY KEY,
    certificate_fingerprint BLOB NOT NULL,
    device_id_hash BLOB NOT NULL,
    origin TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    consumed_at INTEGER NULL
);

CREATE TABLE sessions (
    id BLOB PRIMARY KEY,
    certificate_fingerprint BLOB NOT NULL,
    staff_id INTEGER NOT NULL,
    pinned_crl_number INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    idle_timeout_secs INTEGER NOT NULL,
    ended_at INTEGER NULL,
    end_reason TEXT NULL,
    FOREIGN KEY (certificate_fingerprint) REFERENCES certificates (fingerprint),
    FOREIGN KEY (staff_id) REFERENCES staff (id)
);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_number TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_number TEXT NOT NULL UNIQUE,
    customer_id INTEGER NULL,
    kind TEXT NOT NULL,
    currency TEXT NOT NULL,
    floor_minor INTEGER NULL,
    closed INTEGER NOT NULL DEFAULT 0,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    FOREIGN KEY (customer_id) REFERENCES customers (id)
);

-- A cache of the journal: rewritten under the account's row lock, recomputable.
CREATE TABLE account_balances (
    account_id INTEGER PRIMARY KEY,
    debits_posted INTEGER NOT NULL DEFAULT 0,
    credits_posted INTEGER NOT NULL DEFAULT 0,
    debits_pending INTEGER NOT NULL DEFAULT 0,
    credits_pending INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY (account_id) REFERENCES accounts (id),
    CHECK (debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0)
);

-- The journal: one row per transfer, exactly as its maker signed it.
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    maker_staff_id INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    kind TEXT NOT NULL,
    debit_account_id INTEGER NOT NULL,
    credit_account_id INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    memo TEXT NOT NULL,
    status TEXT NOT NULL,
    expires_at INTEGER NULL,
    created_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    signed_bytes BLOB NOT NULL,
    signature BLOB NOT NULL,
    signer_fingerprint BLOB NOT NULL,
    UNIQUE (maker_staff_id, idempotency_key),
    FOREIGN KEY (maker_staff_id) REFERENCES staff (id),
    FOREIGN KEY (debit_account_id) REFERENCES accounts (id),
    FOREIGN KEY (credit_account_id) REFERENCES accounts (id),
    CHECK (amount_minor > 0 AND debit_account_id <> credit_account_id)
);

CREATE TABLE drawer_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    drawer_account_id INTEGER NOT NULL,
    teller_staff_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    counted_minor INTEGER NOT NULL,
    expected_minor INTEGER NULL,
    created_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    signed_bytes BLOB NOT NULL,
    signature BLOB NOT NULL,
    signer_fingerprint BLOB NOT NULL,
    UNIQUE (teller_staff_id, idempotency_key),
    FOREIGN KEY (drawer_account_id) REFERENCES accounts (id),
    FOREIGN KEY (teller_staff_id) REFERENCES staff (id)
);

-- Resolutions of pending transfers (post, void, expire) and drawer variance sign-offs.
CREATE TABLE approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transfer_id INTEGER NULL UNIQUE,
    drawer_event_id INTEGER NULL UNIQUE,
    decision TEXT NOT NULL,
    approver_staff_id INTEGER NULL,
    created_at INTEGER NOT NULL,
    signed_bytes BLOB NULL,
    signature BLOB NULL,
    signer_fingerprint BLOB NULL,
    FOREIGN KEY (transfer_id) REFERENCES transfers (id),
    FOREIGN KEY (drawer_event_id) REFERENCES drawer_events (id),
    FOREIGN KEY (approver_staff_id) REFERENCES staff (id)
);

-- Per-certificate hash chains of signed events.
CREATE TABLE accountability_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    certificate_fingerprint BLOB NOT NULL,
    seq INTEGER NOT NULL,
    prev_hash BLOB NOT NULL,
    event_hash BLOB NOT NULL,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    signature BLOB NOT NULL,
    UNIQUE (certificate_fingerprint, seq)
);

CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tree_size INTEGER NOT NULL UNIQUE,
    root_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    signed_bytes BLOB NOT NULL,
    signature BLOB NOT NULL,
    signer_fingerprint BLOB NOT NULL
);

CREATE INDEX customers_name ON customers (full_name);
CREATE INDEX transfers_pending ON transfers (status, expires_at);
CREATE INDEX drawer_events_drawer ON drawer_events (drawer_account_id, id);
CREATE TRIGGER certificates_append_only_u BEFORE UPDATE ON certificates BEGIN SELECT RAISE(ABORT, 'pqbank: certificates is append-only'); END;
CREATE TRIGGER certificates_append_only_d BEFORE DELETE ON certificates BEGIN SELECT RAISE(ABORT, 'pqbank: certificates is append-only'); END;
CREATE TRIGGER revocations_append_only_u BEFORE UPDATE ON revocations BEGIN SELECT RAISE(ABORT, 'pqbank: revocations is append-only'); END;
CREATE TRIGGER revocations_append_only_d BEFORE DELETE ON revocations BEGIN SELECT RAISE(ABORT, 'pqbank: revocations is append-only'); END;
CREATE TRIGGER crls_append_only_u BEFORE UPDATE ON crls BEGIN SELECT RAISE(ABORT, 'pqbank: crls is append-only'); END;
CREATE TRIGGER crls_append_only_d BEFORE DELETE ON crls BEGIN SELECT RAISE(ABORT, 'pqbank: crls is append-only'); END;
CREATE TRIGGER transfers_append_only_u BEFORE UPDATE ON transfers BEGIN SELECT RAISE(ABORT, 'pqbank: transfers is append-only'); END;
CREATE TRIGGER transfers_append_only_d BEFORE DELETE ON transfers BEGIN SELECT RAISE(ABORT, 'pqbank: transfers is append-only'); END;
CREATE TRIGGER drawer_events_append_only_u BEFORE UPDATE ON drawer_events BEGIN SELECT RAISE(ABORT, 'pqbank: drawer_events is append-only'); END;
CREATE TRIGGER drawer_events_append_only_d BEFORE DELETE ON drawer_events BEGIN SELECT RAISE(ABORT, 'pqbank: drawer_events is append-only'); END;
CREATE TRIGGER approvals_append_only_u BEFORE UPDATE ON approvals BEGIN SELECT RAISE(ABORT, 'pqbank: approvals is append-only'); END;
CREATE TRIGGER approvals_append_only_d BEFORE DELETE ON approvals BEGIN SELECT RAISE(ABORT, 'pqbank: approvals is append-only'); END;
CREATE TRIGGER accountability_events_append_only_u BEFORE UPDATE ON accountability_events BEGIN SELECT RAISE(ABORT, 'pqbank: accountability_events is append-only'); END;
CREATE TRIGGER accountability_events_append_only_d BEFORE DELETE ON accountability_events BEGIN SELECT RAISE(ABORT, 'pqbank: accountability_events is append-only'); END;
CREATE TRIGGER checkpoints_append_only_u BEFORE UPDATE ON checkpoints BEGIN SELECT RAISE(ABORT, 'pqbank: checkpoints is append-only'); END;
CREATE TRIGGER checkpoints_append_only_d BEFORE DELETE ON checkpoints BEGIN SELECT RAISE(ABORT, 'pqbank: checkpoints is append-only'); END;
