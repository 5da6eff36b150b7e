-- Events of format v2 (see migrations/mysql/0004_server_events.sql).

ALTER TABLE accountability_events ADD COLUMN server_fingerprint BLOB NULL;
ALTER TABLE accountability_events ADD COLUMN request BLOB NULL;
