-- The full device model (SPEC DEV-1 … DEV-8, DEV-12, DEV-13). Device types become
-- client / server / served_client; devices may be unowned.
ALTER TABLE devices DROP CONSTRAINT devices_device_type_check;
UPDATE devices SET device_type = 'client' WHERE device_type = 'standalone';
ALTER TABLE devices
    ALTER COLUMN account_id DROP NOT NULL,
    ADD CONSTRAINT devices_device_type_check CHECK (device_type IN ('client', 'server', 'served_client')),
    ADD COLUMN id_type text NOT NULL DEFAULT 'STRING',
    ADD COLUMN status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'returned', 'obsolete', 'normal', 'served_returned', 'dropped', 'expired')),
    ADD COLUMN deployment text NOT NULL DEFAULT 'local' CHECK (deployment IN ('local', 'cloud')),
    ADD COLUMN model text NOT NULL DEFAULT '',
    ADD COLUMN series text NOT NULL DEFAULT '',
    ADD COLUMN site_name text NOT NULL DEFAULT '',
    ADD COLUMN notes text NOT NULL DEFAULT '',
    ADD COLUMN device_user text NOT NULL DEFAULT '',
    ADD COLUMN backup_server_id text,
    ADD COLUMN publisher_identity text NOT NULL DEFAULT '',
    -- The server a served client is reached through.
    ADD COLUMN server_id text,
    ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN virtualization jsonb,
    -- Cloud servers (SPEC DEV-13): the administrator password's hash, never the password.
    ADD COLUMN admin_password_hash text,
    -- Increases with every change of what the device holds (capability responses, DEV-9).
    ADD COLUMN sequence bigint NOT NULL DEFAULT 0,
    ADD COLUMN rma_number text NOT NULL DEFAULT '',
    ADD COLUMN returned_to text,
    ADD COLUMN return_time timestamptz,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
UPDATE devices SET updated_at = created_at;

-- One live device per identity and role: a server and a node-locked client may share
-- an ID and type; a returned device frees its identity. Served clients are unique
-- under their server.
CREATE UNIQUE INDEX devices_identity ON devices (tenant_id, device_type, id_type, host_id)
    WHERE status <> 'returned' AND server_id IS NULL AND host_id <> '';
CREATE UNIQUE INDEX devices_served_identity ON devices (tenant_id, server_id, id_type, host_id)
    WHERE server_id IS NOT NULL;
CREATE INDEX devices_created ON devices (tenant_id, created_at, id);
CREATE INDEX devices_host ON devices (tenant_id, host_id);

-- Publisher-defined device ID types (SPEC DEV-1).
CREATE TABLE device_id_types (
    tenant_id        text NOT NULL,
    id_type          text NOT NULL,
    display_name     text NOT NULL DEFAULT '',
    pattern          text NOT NULL,
    case_insensitive boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id_type)
);

-- Per-tenant device settings; a tenant without a row has the defaults.
CREATE TABLE device_settings (
    tenant_id          text PRIMARY KEY,
    skip_account_check boolean NOT NULL DEFAULT false,
    device_user_mode   text NOT NULL DEFAULT 'free_text' CHECK (device_user_mode IN ('off', 'free_text', 'existing_user')),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Mappings (SPEC DEV-6): each row holds one seat claim; the line item's account is
-- kept for visibility and masking. A row ends (ended_at) when its seats are given
-- back or taken over by a replacing row (a partial unmap: replaces).
ALTER TABLE device_line_items
    ADD COLUMN id uuid,
    ADD COLUMN account_id text NOT NULL DEFAULT '',
    ADD COLUMN product_id text NOT NULL DEFAULT '',
    -- The expiry override chosen when mapping (SPEC DEV-7); fixed afterwards.
    ADD COLUMN expire_at timestamptz,
    -- The line item's own expiry for this mapping; NULL: permanent.
    ADD COLUMN configured_expire_at timestamptz,
    ADD COLUMN replaces uuid,
    ADD COLUMN ended_at timestamptz,
    -- unmapped, override_expired, returned, moved, replaced.
    ADD COLUMN end_reason text;
UPDATE device_line_items SET id = claim_id WHERE id IS NULL;
-- One request may map several line items: rows are keyed by their own ID, and a
-- claim is used by one row only.
ALTER TABLE device_line_items DROP CONSTRAINT device_line_items_pkey;
ALTER TABLE device_line_items ALTER COLUMN id SET NOT NULL, ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX device_line_items_claim ON device_line_items (claim_id);
CREATE INDEX device_line_items_request ON device_line_items (tenant_id, request_id);
CREATE INDEX device_line_items_live ON device_line_items (tenant_id, device_id) WHERE ended_at IS NULL;
CREATE INDEX device_line_items_account ON device_line_items (tenant_id, account_id) WHERE ended_at IS NULL;
CREATE INDEX device_line_items_activation ON device_line_items (tenant_id, activation_id) WHERE ended_at IS NULL;
CREATE INDEX device_line_items_override ON device_line_items (expire_at) WHERE ended_at IS NULL AND expire_at IS NOT NULL;

