-- Subscription tokens (SPEC ENT-11): one per account, kept only as a SHA-256.
CREATE TABLE subscription_tokens (
    tenant_id  text NOT NULL,
    account_id text NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, account_id)
);
