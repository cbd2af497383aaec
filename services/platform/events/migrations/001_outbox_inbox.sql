-- Transactional outbox: rows are written in the same transaction as the change they
-- describe and published to JetStream by the relay.
CREATE TABLE outbox (
    id           uuid PRIMARY KEY,
    subject      text NOT NULL,
    event_type   text NOT NULL,
    tenant_id    text NOT NULL,
    payload      bytea NOT NULL,
    trace        jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;

-- Inbox: events a consumer of this schema has already applied (idempotency).
CREATE TABLE processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
