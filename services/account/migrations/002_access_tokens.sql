-- Named access tokens (SPEC ACC-17) share the table with password sessions.
ALTER TABLE access_tokens
    ADD COLUMN name        text NOT NULL DEFAULT '',
    ADD COLUMN description text NOT NULL DEFAULT '',
    ADD COLUMN request_id  text,
    ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();
ALTER TABLE access_tokens
    ADD CONSTRAINT access_tokens_named CHECK (kind = 'session' OR char_length(name) BETWEEN 5 AND 25);
CREATE UNIQUE INDEX access_tokens_request ON access_tokens (tenant_id, created_by, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX access_tokens_created_by ON access_tokens (tenant_id, created_by);
