-- A committed claim whose reservation expired in the entitlement service and whose
-- seats others took meanwhile: kept apart for an operator instead of retried forever.
ALTER TABLE seat_claims DROP CONSTRAINT seat_claims_state_check;
ALTER TABLE seat_claims ADD CONSTRAINT seat_claims_state_check
    CHECK (state IN ('pending', 'committed', 'confirmed', 'released', 'lost'));
