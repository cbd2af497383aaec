CREATE TABLE devices (
    tenant_id    text NOT NULL,
    id           text NOT NULL,
    account_id   text NOT NULL,
    display_name text NOT NULL,
    host_id      text NOT NULL DEFAULT '',
    device_type  text NOT NULL CHECK (device_type IN ('standalone', 'server')),
    request_id   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX devices_request ON devices (tenant_id, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX devices_account ON devices (tenant_id, account_id);

-- Seats of line items mapped to a device; each mapping holds one seat claim.
CREATE TABLE device_line_items (
    tenant_id     text NOT NULL,
    device_id     text NOT NULL,
    activation_id text NOT NULL,
    quantity      bigint NOT NULL CHECK (quantity > 0),
    request_id    text NOT NULL,
    claim_id      uuid NOT NULL REFERENCES seat_claims (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, request_id),
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id)
);
CREATE INDEX device_line_items_device ON device_line_items (tenant_id, device_id);
