-- A reservation may replace another of the same line item (a partial return of a
-- fulfillment's seats): until it is confirmed the replaced one is only suspended, so
-- that releasing or expiring the replacement restores it exactly (DESIGN decision 3).
ALTER TABLE seat_reservations ADD COLUMN replaces uuid;
ALTER TABLE seat_reservations ADD COLUMN replaced_state text;
ALTER TABLE seat_reservations DROP CONSTRAINT seat_reservations_state_check;
ALTER TABLE seat_reservations ADD CONSTRAINT seat_reservations_state_check
    CHECK (state IN ('reserved', 'confirmed', 'released', 'expired', 'replaced'));
CREATE UNIQUE INDEX seat_reservations_one_replacement ON seat_reservations (tenant_id, replaces)
    WHERE replaces IS NOT NULL AND state IN ('reserved', 'confirmed');
