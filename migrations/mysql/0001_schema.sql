-- pqbank schema, MySQL / MariaDB. Forward-only. Times are UNIX seconds (BIGINT);
-- money is integer minor units (BIGINT); hashes and fingerprints are SHA3-256 (BINARY(32)).
-- Financial and audit tables are append-only: triggers at the end refuse UPDATE and DELETE.

CREATE TABLE staff (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    staff_number VARCHAR(64) NOT NULL UNIQUE,
    display_name VARCHAR(128) NOT NULL,
    role VARCHAR(16) NOT NULL,
    created_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE devices (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    device_id_hash BINARY(32) NOT NULL UNIQUE,
    staff_id BIGINT NOT NULL,
    label VARCHAR(128) NOT NULL,
    kem_recipient BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (staff_id) REFERENCES staff (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE certificates (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    fingerprint BINARY(32) NOT NULL UNIQUE,
    der MEDIUMBLOB NOT NULL,
    serial VARBINARY(21) NOT NULL,
    issuer_fingerprint BINARY(32) NULL,
    replaces_fingerprint BINARY(32) NULL,
    staff_id BIGINT NULL,
    device_id BIGINT NULL,
    role VARCHAR(16) NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (staff_id) REFERENCES staff (id),
    FOREIGN KEY (device_id) REFERENCES devices (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE revocations (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    certificate_fingerprint BINARY(32) NOT NULL UNIQUE,
    reason VARCHAR(32) NOT NULL,
    revoked_at BIGINT NOT NULL,
    crl_number BIGINT NOT NULL,
    revoked_by BIGINT NOT NULL,
    signed_bytes BLOB NOT NULL,
    signature BLOB NOT NULL,
    signer_fingerprint BINARY(32) NOT NULL,
    FOREIGN KEY (certificate_fingerprint) REFERENCES certificates (fingerprint),
    FOREIGN KEY (revoked_by) REFERENCES staff (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE crls (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    issuer_fingerprint BINARY(32) NOT NULL,
    crl_number BIGINT NOT NULL,
    fingerprint BINARY(32) NOT NULL UNIQUE,
    der LONGBLOB NOT NULL,
    this_update BIGINT NOT NULL,
    next_update BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (issuer_fingerprint, crl_number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE enrolment_requests (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    csr_fingerprint BINARY(32) NOT NULL UNIQUE,
    csr_der MEDIUMBLOB NOT NULL,
    kem_recipient BLOB NOT NULL,
    short_code VARCHAR(32) NOT NULL,
    staff_id BIGINT NULL,
    requested_role VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    decided_by BIGINT NULL,
    decided_at BIGINT NULL,
    certificate_fingerprint BINARY(32) NULL,
    bundle MEDIUMBLOB NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (staff_id) REFERENCES staff (id),
    FOREIGN KEY (decided_by) REFERENCES staff (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE login_challenges (
    nonce BINARY(32) PRIMARY KEY,
    certificate_fingerprint BINARY(32) NOT NULL,
    device_id_hash BINARY(32) NOT NULL,
    origin VARCHAR(255) NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE sessions (
    id BINARY(32) PRIMARY KEY,
    certificate_fingerprint BINARY(32) NOT NULL,
    staff_id BIGINT NOT NULL,
    pinned_crl_number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_timeout_secs BIGINT NOT NULL,
    ended_at BIGINT NULL,
    end_reason VARCHAR(32) NULL,
    FOREIGN KEY (certificate_fingerprint) REFERENCES certificates (fingerprint),
    FOREIGN KEY (staff_id) REFERENCES staff (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE customers (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    customer_number VARCHAR(32) NOT NULL UNIQUE,
    full_name VARCHAR(200) NOT NULL,
    created_at BIGINT NOT NULL,
    INDEX customers_name (full_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE accounts (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    account_number VARCHAR(34) NOT NULL UNIQUE,
    customer_id BIGINT NULL,
    kind VARCHAR(16) NOT NULL,
    currency CHAR(3) NOT NULL,
    floor_minor BIGINT NULL,
    closed BOOLEAN NOT NULL DEFAULT FALSE,
    label VARCHAR(128) NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A cache of the journal: rewritten under the account's row lock, recomputable.
CREATE TABLE account_balances (
    account_id BIGINT PRIMARY KEY,
    debits_posted BIGINT NOT NULL DEFAULT 0,
    credits_posted BIGINT NOT NULL DEFAULT 0,
    debits_pending BIGINT NOT NULL DEFAULT 0,
    credits_pending BIGINT NOT NULL DEFAULT 0,
    FOREIGN KEY (account_id) REFERENCES accounts (id),
    CHECK (debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The journal: one row per transfer, exactly as its maker signed it.
CREATE TABLE transfers (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    maker_staff_id BIGINT NOT NULL,
    idempotency_key VARCHAR(64) NOT NULL,
    request_hash BINARY(32) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    debit_account_id BIGINT NOT NULL,
    credit_account_id BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency CHAR(3) NOT NULL,
    memo VARCHAR(560) NOT NULL,
    status VARCHAR(16) NOT NULL,
    expires_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    signed_bytes BLOB NOT NULL,
    signature BLOB NOT NULL,
    signer_fingerprint BINARY(32) NOT NULL,
    UNIQUE (maker_staff_id, idempotency_key),
    INDEX transfers_pending (status, expires_at),
    FOREIGN KEY (maker_staff_id) REFERENCES staff (id),
    FOREIGN KEY (debit_account_id) REFERENCES accounts (id),
    FOREIGN KEY (credit_account_id) REFERENCES accounts (id),
    CHECK (amount_minor > 0 AND debit_account_id <> credit_account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE drawer_events (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    drawer_account_id BIGINT NOT NULL,
    teller_staff_id BIGINT NOT NULL,
    kind VARCHAR(8) NOT NULL,
    idempotency_key VARCHAR(64) NOT NULL,
    counted_minor BIGINT NOT NULL,
    expected_minor BIGINT NULL,
    created_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    signed_bytes BLOB NOT NULL,
    signature BLOB NOT NULL,
    signer_fingerprint BINARY(32) NOT NULL,
    UNIQUE (teller_staff_id, idempotency_key),
    INDEX drawer_events_drawer (drawer_account_id, id),
    FOREIGN KEY (drawer_account_id) REFERENCES accounts (id),
    FOREIGN KEY (teller_staff_id) REFERENCES staff (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Resolutions of pending transfers (post, void, expire) and drawer variance sign-offs.
CREATE TABLE approvals (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    transfer_id BIGINT NULL UNIQUE,
    drawer_event_id BIGINT NULL UNIQUE,
    decision VARCHAR(16) NOT NULL,
    approver_staff_id BIGINT NULL,
    created_at BIGINT NOT NULL,
    signed_bytes BLOB NULL,
    signature BLOB NULL,
    signer_fingerprint BINARY(32) NULL,
    FOREIGN KEY (transfer_id) REFERENCES transfers (id),
    FOREIGN KEY (drawer_event_id) REFERENCES drawer_events (id),
    FOREIGN KEY (approver_staff_id) REFERENCES staff (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Per-certificate hash chains of signed events.
CREATE TABLE accountability_events (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    certificate_fingerprint BINARY(32) NOT NULL,
    seq BIGINT NOT NULL,
    prev_hash BINARY(32) NOT NULL,
    event_hash BINARY(32) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    payload BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    signature BLOB NOT NULL,
    UNIQUE (certificate_fingerprint, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE checkpoints (
    id BIGINT PRIMARY KEY AUTO_INCREMENT,
    tree_size BIGINT NOT NULL UNIQUE,
    root_hash BINARY(32) NOT NULL,
    created_at BIGINT NOT NULL,
    signed_bytes BLOB NOT NULL,
    signature BLOB NOT NULL,
    signer_fingerprint BINARY(32) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TRIGGER certificates_append_only_u BEFORE UPDATE ON certificates FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: certificates is append-only';
CREATE TRIGGER certificates_append_only_d BEFORE DELETE ON certificates FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: certificates is append-only';
CREATE TRIGGER revocations_append_only_u BEFORE UPDATE ON revocations FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: revocations is append-only';
CREATE TRIGGER revocations_append_only_d BEFORE DELETE ON revocations FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: revocations is append-only';
CREATE TRIGGER crls_append_only_u BEFORE UPDATE ON crls FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: crls is append-only';
CREATE TRIGGER crls_append_only_d BEFORE DELETE ON crls FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: crls is append-only';
CREATE TRIGGER transfers_append_only_u BEFORE UPDATE ON transfers FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: transfers is append-only';
CREATE TRIGGER transfers_append_only_d BEFORE DELETE ON transfers FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: transfers is append-only';
CREATE TRIGGER drawer_events_append_only_u BEFORE UPDATE ON drawer_events FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: drawer_events is append-only';
CREATE TRIGGER drawer_events_append_only_d BEFORE DELETE ON drawer_events FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: drawer_events is append-only';
CREATE TRIGGER approvals_append_only_u BEFORE UPDATE ON approvals FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: approvals is append-only';
CREATE TRIGGER approvals_append_only_d BEFORE DELETE ON approvals FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: approvals is append-only';
CREATE TRIGGER accountability_events_append_only_u BEFORE UPDATE ON accountability_events FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: accountability_events is append-only';
CREATE TRIGGER accountability_events_append_only_d BEFORE DELETE ON accountability_events FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: accountability_events is append-only';
CREATE TRIGGER checkpoints_append_only_u BEFORE UPDATE ON checkpoints FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: checkpoints is append-only';
CREATE TRIGGER checkpoints_append_only_d BEFORE DELETE ON checkpoints FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: checkpoints is append-only';
