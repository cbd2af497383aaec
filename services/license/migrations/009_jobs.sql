-- Queued jobs (SPEC LIC-10: host transfers), leased by one worker at a time and
-- retried after a crash; fulfillments moved with their host are marked TRANSFER.
CREATE TABLE jobs (
    tenant_id    text NOT NULL,
    id           text NOT NULL,
    kind         text NOT NULL,
    state        text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    params       jsonb NOT NULL,
    request_id   text NOT NULL,
    user_id      text NOT NULL DEFAULT '',
    done         int NOT NULL DEFAULT 0,
    total        int NOT NULL DEFAULT 0,
    error        text NOT NULL DEFAULT '',
    created      text[] NOT NULL DEFAULT '{}',
    attempts     int NOT NULL DEFAULT 0,
    locked_until timestamptz NOT NULL DEFAULT '-infinity',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, request_id)
);
CREATE INDEX jobs_open ON jobs (locked_until) WHERE state IN ('queued', 'running');
ALTER TABLE fulfillments DROP CONSTRAINT fulfillments_support_type_check;
ALTER TABLE fulfillments ADD CONSTRAINT fulfillments_support_type_check
    CHECK (support_type IN ('master', 'return', 'repair', 'rehost', 'obsolete', 'upgrade', 'upsell', 'renew', 'transfer'));
