-- The devices list (SPEC DEV-2) sorts by name and last change and pages by ID
-- within a tenant: these indexes let a page read its rows in order instead of
-- sorting every device of the tenant. (003 is the history migration.)
CREATE INDEX devices_display_name ON devices (tenant_id, display_name, id);
CREATE INDEX devices_updated ON devices (tenant_id, updated_at, id);
CREATE INDEX devices_host_order ON devices (tenant_id, host_id, id);
DROP INDEX devices_host;
CREATE INDEX devices_server ON devices (tenant_id, server_id) WHERE server_id IS NOT NULL;
-- Name searches compare lower case (platform/filter): equality and prefixes
-- ("Edge*") use this index.
CREATE INDEX devices_display_name_lower ON devices (tenant_id, lower(display_name) text_pattern_ops);
