-- Roles of a tenant's own (SPEC ACC-7), beside the built-in ones.
CREATE TABLE roles (
    tenant_id    text NOT NULL REFERENCES tenants (id),
    id           text NOT NULL,
    display_name text NOT NULL,
    description  text NOT NULL DEFAULT '',
    tenant_wide  boolean NOT NULL DEFAULT false,
    permissions  text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
