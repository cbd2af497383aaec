-- Per-tenant license settings (SPEC LIC-3: producers may relax IP validation).
CREATE TABLE license_settings (
    tenant_id           text PRIMARY KEY,
    relax_ip_validation boolean NOT NULL DEFAULT false,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
