-- Splits (SPEC ENT-8), remembered by request ID so that a retry splits once.
CREATE TABLE line_item_splits (
    tenant_id          text NOT NULL,
    request_id         text NOT NULL,
    from_activation_id text NOT NULL,
    to_activation_id   text NOT NULL,
    quantity           bigint NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, request_id)
);
