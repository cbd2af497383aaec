CREATE TABLE tenants (
    id           text PRIMARY KEY,
    display_name text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    tenant_id           text NOT NULL REFERENCES tenants (id),
    id                  text NOT NULL,
    display_name        text NOT NULL,
    description         text NOT NULL DEFAULT '',
    account_type        text NOT NULL CHECK (account_type IN ('producer', 'customer', 'partner', 'self_registered')),
    address             jsonb NOT NULL DEFAULT '{}',
    visible_to_partners boolean NOT NULL DEFAULT true,
    attributes          jsonb NOT NULL DEFAULT '{}',
    request_id          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX accounts_request ON accounts (tenant_id, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE users (
    tenant_id       text NOT NULL REFERENCES tenants (id),
    id              text NOT NULL,
    username        text NOT NULL,
    first_name      text NOT NULL,
    last_name       text NOT NULL,
    email           text NOT NULL,
    user_type       text NOT NULL CHECK (user_type IN ('producer', 'customer', 'partner', 'self_registered')),
    status          text NOT NULL CHECK (status IN ('active', 'inactive')),
    password_hash   text NOT NULL,
    request_id      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_login_at   timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, username)
);
CREATE UNIQUE INDEX users_request ON users (tenant_id, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE memberships (
    tenant_id  text NOT NULL,
    user_id    text NOT NULL,
    account_id text NOT NULL,
    roles      text[] NOT NULL CHECK (cardinality(roles) > 0),
    PRIMARY KEY (tenant_id, user_id, account_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id)
);
CREATE INDEX memberships_account ON memberships (tenant_id, account_id);

-- Bearer tokens: only a SHA-256 of the value is kept.
CREATE TABLE access_tokens (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL,
    user_id      text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    kind         text NOT NULL CHECK (kind IN ('session', 'normal', 'impersonated')),
    created_by   text NOT NULL,
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX access_tokens_user ON access_tokens (tenant_id, user_id);
