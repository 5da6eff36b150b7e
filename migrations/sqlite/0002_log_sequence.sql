-- The checkpoint log's leaf order (see migrations/mysql/0002_log_sequence.sql).

CREATE TABLE log_head (
    id INTEGER PRIMARY KEY,
    size INTEGER NOT NULL
);

INSERT INTO log_head (id, size) VALUES (1, 0);

CREATE TABLE log_entries (
    log_index INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL UNIQUE,
    FOREIGN KEY (event_id) REFERENCES accountability_events (id)
);

CREATE TRIGGER log_entries_append_only_u BEFORE UPDATE ON log_entries BEGIN SELECT RAISE(ABORT, 'pqbank: log_entries is append-only'); END;
CREATE TRIGGER log_entries_append_only_d BEFORE DELETE ON log_entries BEGIN SELECT RAISE(ABORT, 'pqbank: log_entries is append-only'); END;
