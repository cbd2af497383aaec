-- The relay deletes the rows it published (JetStream keeps the events, audit_log
-- the record), so every row in the outbox waits for it, oldest first.
DROP INDEX outbox_unpublished;
DELETE FROM outbox WHERE published_at IS NOT NULL;
ALTER TABLE outbox DROP COLUMN published_at;
CREATE INDEX outbox_waiting ON outbox (created_at, id);
