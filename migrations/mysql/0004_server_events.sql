-- Events of format v2 (pqbank-server): the bank server signs an event's hash with the key
-- of its server-profile certificate, over the device's signed request, which the event
-- keeps. Both columns are NULL on a v1 event, signed by the chain's own device.

ALTER TABLE accountability_events
    ADD COLUMN server_fingerprint BINARY(32) NULL,
    ADD COLUMN request BLOB NULL;
