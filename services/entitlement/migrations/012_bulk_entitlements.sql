-- Bulk entitlements sold through retailers as web register keys (SPEC ENT-6).
CREATE TABLE bulk_entitlements (
    tenant_id        text NOT NULL,
    id               text NOT NULL,
    product_id       text NOT NULL,
    license_model_id text NOT NULL,
    quantity_per_key bigint NOT NULL CHECK (quantity_per_key > 0),
    expire_after     text NOT NULL DEFAULT '',
    retailer         text NOT NULL DEFAULT '',
    request_id       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id),
    FOREIGN KEY (tenant_id, license_model_id) REFERENCES license_models (tenant_id, id)
);
CREATE UNIQUE INDEX bulk_entitlements_request ON bulk_entitlements (tenant_id, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE web_register_keys (
    tenant_id      text NOT NULL,
    key            text NOT NULL,
    bulk_id        text NOT NULL,
    redeemed_by    text,
    redeemed_at    timestamptz,
    PRIMARY KEY (tenant_id, key),
    FOREIGN KEY (tenant_id, bulk_id) REFERENCES bulk_entitlements (tenant_id, id)
);
CREATE INDEX web_register_keys_bulk ON web_register_keys (tenant_id, bulk_id);

ALTER TABLE entitlements ADD COLUMN bulk_id text NOT NULL DEFAULT '';
