-- Fulfillments per host group with support types, lineage and attributes; batch
-- activation requests; consolidated licenses; the hosts of each account (SPEC LIC-1,
-- LIC-2, LIC-6, LIC-7, LIC-10).
ALTER TABLE fulfillments
    ADD COLUMN support_type text NOT NULL DEFAULT 'master'
        CHECK (support_type IN ('master', 'return', 'repair', 'rehost', 'obsolete', 'upgrade', 'upsell', 'renew')),
    ADD COLUMN server_host_ids text[] NOT NULL DEFAULT '{}',
    ADD COLUMN node_host_ids text[] NOT NULL DEFAULT '{}',
    ADD COLUMN overdraft bigint NOT NULL DEFAULT 0 CHECK (overdraft >= 0),
    ADD COLUMN product_id text NOT NULL DEFAULT '',
    ADD COLUMN version text NOT NULL DEFAULT '',
    ADD COLUMN model_type text NOT NULL DEFAULT '',
    ADD COLUMN technology text NOT NULL DEFAULT 'certificate',
    ADD COLUMN expire_time timestamptz,
    ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN parent_id text,
    ADD COLUMN consolidated_id text,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
-- A batch stores several fulfillments under one request ID.
ALTER TABLE fulfillments DROP CONSTRAINT fulfillments_tenant_id_request_id_key;
CREATE INDEX fulfillments_request ON fulfillments (tenant_id, request_id);
CREATE INDEX fulfillments_account ON fulfillments (tenant_id, account_id, created_at DESC);

CREATE TABLE activation_requests (
    tenant_id       text NOT NULL,
    request_id      text NOT NULL,
    fulfillment_ids text[] NOT NULL,
    user_id         text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, request_id)
);

CREATE TABLE consolidated_licenses (
    tenant_id       text NOT NULL,
    id              text NOT NULL,
    account_id      text NOT NULL,
    server_host_ids text[] NOT NULL,
    technology      text NOT NULL,
    license_text    text NOT NULL,
    license_json    text NOT NULL,
    key_id          text NOT NULL,
    request_id      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, key_id) REFERENCES signing_keys (tenant_id, id)
);
CREATE INDEX consolidated_request ON consolidated_licenses (tenant_id, request_id);

-- Every host an account activated for, for reuse and the hosts view.
CREATE TABLE hosts (
    tenant_id  text NOT NULL,
    account_id text NOT NULL,
    host_id    text NOT NULL,
    kind       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, account_id, host_id)
);
