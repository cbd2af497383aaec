-- Events the broker refused for good (larger than it accepts, an invalid subject)
-- are parked here by the relay instead of blocking every later event of the
-- service behind them. An operator lists them and replays (back into the outbox)
-- or discards them with `tessera events dead-letters`.
ALTER TABLE outbox ADD COLUMN attempts integer NOT NULL DEFAULT 0;
CREATE TABLE outbox_dead_letters (
    id         uuid PRIMARY KEY,
    subject    text NOT NULL,
    event_type text NOT NULL,
    tenant_id  text NOT NULL,
    payload    bytea NOT NULL,
    trace      jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    -- How many times the broker refused the event (a replay that fails adds one).
    attempts   integer NOT NULL,
    error      text NOT NULL,
    parked_at  timestamptz NOT NULL DEFAULT now()
);
