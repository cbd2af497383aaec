-- Writes that change what a device holds (map, unmap, return, move), one row per
-- request ID: a replay finds its first answer here before any seat is asked for, and
-- the same request ID with other parameters is refused (SPEC DEV-6, DEV-8, PLT-6).
CREATE TABLE device_operations (
    tenant_id   text NOT NULL,
    request_id  text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('map', 'unmap', 'return', 'move')),
    device_id   text NOT NULL,
    -- The request's parameters in a canonical form, compared on a replay.
    fingerprint text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, request_id)
);
