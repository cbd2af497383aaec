-- Per-tenant signing keys; private halves are sealed with the master key.
CREATE TABLE signing_keys (
    tenant_id          text NOT NULL,
    id                 text NOT NULL,
    algorithm          text NOT NULL CHECK (algorithm IN ('ed25519')),
    public_key         bytea NOT NULL,
    sealed_private_key bytea NOT NULL,
    active             boolean NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (tenant_id) WHERE active;

CREATE TABLE fulfillments (
    tenant_id     text NOT NULL,
    id            text NOT NULL,
    activation_id text NOT NULL,
    account_id    text NOT NULL,
    host_id       text NOT NULL,
    quantity      bigint NOT NULL CHECK (quantity > 0),
    state         text NOT NULL CHECK (state IN ('active', 'returned', 'obsolete')),
    license_text  text NOT NULL,
    key_id        text NOT NULL,
    request_id    text NOT NULL,
    claim_id      uuid NOT NULL REFERENCES seat_claims (id),
    user_id       text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, request_id),
    FOREIGN KEY (tenant_id, key_id) REFERENCES signing_keys (tenant_id, id)
);
CREATE INDEX fulfillments_activation ON fulfillments (tenant_id, activation_id);
