-- Sessions opened with an entitlement ID or activation ID alone (SPEC ACC-18): no
-- user behind them, only the one thing they may see.
CREATE TABLE key_sessions (
    id             uuid PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants (id),
    token_hash     bytea NOT NULL UNIQUE,
    entitlement_id text NOT NULL,
    -- Set when the session sees one line item only.
    activation_id  text NOT NULL DEFAULT '',
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX key_sessions_expiry ON key_sessions (expires_at);
