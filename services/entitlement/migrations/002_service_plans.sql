-- Service plans (SPEC ACC-15, ENT-12): a product sold by the unit, assigned to
-- customers as entitlements.
CREATE TABLE service_plans (
    tenant_id        text NOT NULL,
    id               text NOT NULL,
    display_name     text NOT NULL,
    description      text NOT NULL DEFAULT '',
    product_id       text NOT NULL,
    license_model_id text NOT NULL,
    unit             text NOT NULL,
    request_id       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id),
    FOREIGN KEY (tenant_id, license_model_id) REFERENCES license_models (tenant_id, id)
);
CREATE UNIQUE INDEX service_plans_request ON service_plans (tenant_id, request_id) WHERE request_id IS NOT NULL;

ALTER TABLE entitlements ADD COLUMN service_plan_id text NOT NULL DEFAULT '';
