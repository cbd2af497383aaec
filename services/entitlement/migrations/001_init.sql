CREATE TABLE license_models (
    tenant_id             text NOT NULL,
    id                    text NOT NULL,
    display_name          text NOT NULL,
    model_type            text NOT NULL,
    allowed_host_id_types text[] NOT NULL DEFAULT '{}',
    request_id            text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX license_models_request ON license_models (tenant_id, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE products (
    tenant_id          text NOT NULL,
    id                 text NOT NULL,
    display_name       text NOT NULL,
    version            text NOT NULL DEFAULT '',
    description        text NOT NULL DEFAULT '',
    license_technology text NOT NULL,
    features           jsonb NOT NULL DEFAULT '[]',
    license_models     text[] NOT NULL DEFAULT '{}',
    part_numbers       text[] NOT NULL DEFAULT '{}',
    request_id         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX products_request ON products (tenant_id, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE entitlements (
    tenant_id      text NOT NULL,
    id             text NOT NULL,
    account_id     text NOT NULL,
    order_id       text NOT NULL,
    ship_to_emails text[] NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, order_id)
);
CREATE INDEX entitlements_account ON entitlements (tenant_id, account_id);

CREATE TABLE line_items (
    tenant_id        text NOT NULL,
    activation_id    text NOT NULL,
    entitlement_id   text NOT NULL,
    product_id       text NOT NULL,
    license_model_id text NOT NULL,
    account_id       text NOT NULL,
    state            text NOT NULL CHECK (state IN ('draft', 'deployed', 'on_hold', 'obsolete')),
    order_line       text NOT NULL,
    quantity         bigint NOT NULL CHECK (quantity >= 0),
    -- Seats held by open and confirmed reservations; never above quantity.
    fulfilled        bigint NOT NULL DEFAULT 0 CHECK (fulfilled >= 0 AND fulfilled <= quantity),
    start_time       timestamptz,
    expire_time      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, activation_id),
    UNIQUE (tenant_id, entitlement_id, order_line),
    FOREIGN KEY (tenant_id, entitlement_id) REFERENCES entitlements (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id),
    FOREIGN KEY (tenant_id, license_model_id) REFERENCES license_models (tenant_id, id)
);
CREATE INDEX line_items_product ON line_items (tenant_id, product_id, account_id);

CREATE TABLE seat_reservations (
    tenant_id     text NOT NULL,
    id            uuid NOT NULL,
    -- Empty for a tombstone: a release that arrived before (or instead of) its reserve.
    activation_id text NOT NULL,
    quantity      bigint NOT NULL CHECK (quantity >= 0),
    holder        text NOT NULL,
    state         text NOT NULL CHECK (state IN ('reserved', 'confirmed', 'released')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
