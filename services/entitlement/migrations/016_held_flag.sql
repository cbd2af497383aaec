-- The expiry sweep finds held reservations through a partial index. Its predicate is
-- a column of its own, so that only the sweep can use it: when it read
-- "state = 'reserved'", confirming a batch by ID and state combined it with the
-- primary key and scanned its entries for every row version not yet vacuumed.
ALTER TABLE seat_reservations ADD COLUMN held boolean GENERATED ALWAYS AS (state = 'reserved') STORED;
DROP INDEX seat_reservations_open;
CREATE INDEX seat_reservations_open ON seat_reservations (expire_time) WHERE held;
