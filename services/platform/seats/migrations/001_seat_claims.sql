-- Seat claims this service holds in the entitlement service. A claim is written
-- before seats are reserved, so that a crash at any point leaves a row the
-- reconciler can finish: pending → release, committed → confirm.
CREATE TABLE seat_claims (
    id            uuid PRIMARY KEY,
    tenant_id     text NOT NULL,
    activation_id text NOT NULL,
    quantity      bigint NOT NULL CHECK (quantity > 0),
    state         text NOT NULL CHECK (state IN ('pending', 'committed', 'confirmed', 'released')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seat_claims_open ON seat_claims (updated_at) WHERE state IN ('pending', 'committed');
