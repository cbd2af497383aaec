-- Trials users register for themselves (SPEC ACC-19).
CREATE TABLE trials (
    tenant_id        text NOT NULL,
    part_number      text NOT NULL,
    display_name     text NOT NULL,
    product_id       text NOT NULL,
    license_model_id text NOT NULL,
    quantity         bigint NOT NULL CHECK (quantity > 0),
    duration_days    integer NOT NULL CHECK (duration_days BETWEEN 1 AND 366),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, part_number),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id),
    FOREIGN KEY (tenant_id, license_model_id) REFERENCES license_models (tenant_id, id)
);

-- Who registered for what: a registered trial leaves the user's list for good.
CREATE TABLE trial_registrations (
    tenant_id      text NOT NULL,
    user_id        text NOT NULL,
    part_number    text NOT NULL,
    entitlement_id text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, part_number),
    FOREIGN KEY (tenant_id, part_number) REFERENCES trials (tenant_id, part_number)
);
