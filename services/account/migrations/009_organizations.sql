-- Organizations share the named-user seats of a permission key (SPEC ACC-14).
CREATE TABLE organizations (
    tenant_id        text NOT NULL REFERENCES tenants (id),
    id               text NOT NULL,
    display_name     text NOT NULL,
    permission_key   text NOT NULL,
    entitlement_id   text NOT NULL,
    activation_id    text NOT NULL DEFAULT '',
    account_id       text NOT NULL,
    admin_user_id    text NOT NULL,
    co_admin_user_id text NOT NULL DEFAULT '',
    request_id       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX organizations_request ON organizations (tenant_id, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE organization_members (
    tenant_id       text NOT NULL,
    organization_id text NOT NULL,
    email           text NOT NULL,
    -- Empty while the invitation is pending.
    user_id         text,
    status          text NOT NULL CHECK (status IN ('pending', 'active', 'disabled')),
    invite_hash     bytea UNIQUE,
    invited_at      timestamptz NOT NULL DEFAULT now(),
    joined_at       timestamptz,
    PRIMARY KEY (tenant_id, organization_id, email),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
-- A user is in one organization at most.
CREATE UNIQUE INDEX organization_members_user ON organization_members (tenant_id, user_id) WHERE user_id IS NOT NULL;

CREATE TABLE organization_grants (
    tenant_id       text NOT NULL,
    organization_id text NOT NULL,
    user_id         text NOT NULL,
    product_id      text NOT NULL,
    seats           bigint NOT NULL CHECK (seats > 0),
    PRIMARY KEY (tenant_id, organization_id, user_id, product_id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE
);
