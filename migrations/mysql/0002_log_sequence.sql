-- The checkpoint log's leaf order. Events get auto-increment ids at insert, not at commit,
-- so a later commit can take a lower id; the sequencer gives each committed event the next
-- log index once, under the lock of log_head, and checkpoints fold leaves in that order.

CREATE TABLE log_head (
    id INT PRIMARY KEY,
    size BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT INTO log_head (id, size) VALUES (1, 0);

CREATE TABLE log_entries (
    log_index BIGINT PRIMARY KEY,
    event_id BIGINT NOT NULL UNIQUE,
    FOREIGN KEY (event_id) REFERENCES accountability_events (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TRIGGER log_entries_append_only_u BEFORE UPDATE ON log_entries FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: log_entries is append-only';
CREATE TRIGGER log_entries_append_only_d BEFORE DELETE ON log_entries FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pqbank: log_entries is append-only';
