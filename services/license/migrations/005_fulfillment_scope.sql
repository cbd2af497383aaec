-- What fulfillment lists are scoped and searched by (SPEC LIC-7, ACC-16, ACC-18).
ALTER TABLE fulfillments
    ADD COLUMN entitlement_id text NOT NULL DEFAULT '',
    ADD COLUMN product_line_id text NOT NULL DEFAULT '';
CREATE INDEX fulfillments_entitlement ON fulfillments (tenant_id, entitlement_id);
