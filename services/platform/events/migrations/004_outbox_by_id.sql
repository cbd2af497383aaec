-- Event IDs are UUIDv7 (time first), so the primary key alone gives the relay its
-- oldest-first order; a second index only cost every event one more insert.
DROP INDEX outbox_waiting;
