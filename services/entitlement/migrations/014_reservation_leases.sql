-- Reservations expire when their holder never confirms or releases them (SPEC ENT-5,
-- DESIGN decision 3): the entitlement service's own reconciler gives the seats back.
ALTER TABLE seat_reservations ADD COLUMN expire_time timestamptz;
ALTER TABLE seat_reservations DROP CONSTRAINT seat_reservations_state_check;
ALTER TABLE seat_reservations ADD CONSTRAINT seat_reservations_state_check
    CHECK (state IN ('reserved', 'confirmed', 'released', 'expired'));
CREATE INDEX seat_reservations_open ON seat_reservations (expire_time) WHERE state = 'reserved';
