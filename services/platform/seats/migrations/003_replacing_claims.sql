-- A claim may replace another (a partial return) and then hold 0 seats.
ALTER TABLE seat_claims DROP CONSTRAINT seat_claims_quantity_check;
ALTER TABLE seat_claims ADD CONSTRAINT seat_claims_quantity_check CHECK (quantity >= 0);
ALTER TABLE seat_claims ADD COLUMN replaces uuid;
