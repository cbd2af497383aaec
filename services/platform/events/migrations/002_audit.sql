-- Audit trail (SPEC PLT-4): every event written to the outbox is also recorded here
-- with who caused it, through which token, and whether under impersonation.
CREATE TABLE audit_log (
    id              uuid PRIMARY KEY,
    tenant_id       text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    actor_user_id   text NOT NULL DEFAULT '',
    actor_service   text NOT NULL DEFAULT '',
    token_id        text NOT NULL DEFAULT '',
    impersonated    boolean NOT NULL DEFAULT false,
    impersonator_id text NOT NULL DEFAULT '',
    subject         text NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC, id DESC);
