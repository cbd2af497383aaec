-- Account hierarchy (SPEC ACC-2): a DAG of parent → child links; cycles are refused
-- by the application under a per-tenant lock.
CREATE TABLE account_links (
    tenant_id  text NOT NULL,
    parent_id  text NOT NULL,
    child_id   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, parent_id, child_id),
    CHECK (parent_id <> child_id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, child_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX account_links_child ON account_links (tenant_id, child_id);
