-- The reconciler finds open claims through a partial index. Its predicate is a
-- column of its own, so that only queries asking for open claims can use it: when it
-- read "state IN ('pending', 'committed')", updates of a few claims by ID and state
-- combined it with the primary key and scanned its entries for every row version
-- not yet vacuumed, thousands per update on a busy ledger.
ALTER TABLE seat_claims ADD COLUMN open boolean GENERATED ALWAYS AS (state IN ('pending', 'committed')) STORED;
DROP INDEX seat_claims_open;
CREATE INDEX seat_claims_open ON seat_claims (updated_at) WHERE open;
