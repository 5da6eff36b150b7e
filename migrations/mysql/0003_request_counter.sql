-- Signed requests (pqbank-server): each carries a counter that must rise along its
-- session; the service claims it with one conditional UPDATE, so a replayed or
-- reordered request is refused, across restarts of the server too.

ALTER TABLE sessions ADD COLUMN last_counter BIGINT NOT NULL DEFAULT 0;
