-- Signed requests' counters (see migrations/mysql/0003_request_counter.sql).

ALTER TABLE sessions ADD COLUMN last_counter INTEGER NOT NULL DEFAULT 0;
