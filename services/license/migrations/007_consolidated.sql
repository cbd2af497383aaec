-- Consolidated licenses made later, their shipments, and what replaced them (SPEC LIC-6).
CREATE TABLE consolidated_shipments (
    tenant_id       text NOT NULL,
    consolidated_id text NOT NULL,
    recipients      text[] NOT NULL,
    user_id         text NOT NULL DEFAULT '',
    shipped_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, consolidated_id) REFERENCES consolidated_licenses (tenant_id, id)
);
CREATE INDEX consolidated_shipments_of ON consolidated_shipments (tenant_id, consolidated_id);
ALTER TABLE consolidated_licenses ADD COLUMN replaced_by text NOT NULL DEFAULT '';
CREATE INDEX consolidated_account ON consolidated_licenses (tenant_id, account_id, created_at DESC);
