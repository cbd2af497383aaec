-- Partner-created customers (SPEC ACC-15).
ALTER TABLE accounts
    ADD COLUMN company                 text NOT NULL DEFAULT '',
    ADD COLUMN emergency_contact_email text NOT NULL DEFAULT '';

-- Emails to send at a set time, durable across restarts. A worker leases due rows
-- (FOR UPDATE SKIP LOCKED, so replicas share the work) and marks them sent.
CREATE TABLE scheduled_emails (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id),
    kind        text NOT NULL CHECK (kind IN ('account_created')),
    user_id     text NOT NULL,
    account_id  text NOT NULL,
    send_at     timestamptz NOT NULL,
    sent_at     timestamptz,
    attempts    integer NOT NULL DEFAULT 0,
    lease_until timestamptz,
    last_error  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scheduled_emails_due ON scheduled_emails (send_at) WHERE sent_at IS NULL;
