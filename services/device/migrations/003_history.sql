-- Device history (SPEC DEV-12): every audit record (PLT-4) whose event names a device
-- is indexed by that device here, so that a device's history is one index range and
-- not a scan of every event's payload. The trigger fills it in the transaction that
-- writes the event (events.Write), whoever writes it: no event about a device can
-- miss the index. A return that hands seats to another device is on both histories.
CREATE TABLE device_history (
    tenant_id text NOT NULL,
    device_id text NOT NULL,
    event_id  uuid NOT NULL,
    at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, device_id, event_id)
);
CREATE INDEX device_history_newest ON device_history (tenant_id, device_id, at DESC, event_id DESC);

CREATE FUNCTION device_history_index() RETURNS trigger LANGUAGE plpgsql
    -- The schema the migration runs in, whatever the writer's search path.
    SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO device_history (tenant_id, device_id, event_id, at)
    SELECT NEW.tenant_id, d, NEW.id, NEW.at
    FROM unnest(ARRAY[NEW.payload->>'device_id', NEW.payload->>'destination_device_id']) AS d
    WHERE d IS NOT NULL AND d <> ''
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER device_history_index AFTER INSERT ON audit_log
    FOR EACH ROW WHEN (NEW.subject LIKE 'tessera.device.device.%')
    EXECUTE FUNCTION device_history_index();

INSERT INTO device_history (tenant_id, device_id, event_id, at)
SELECT a.tenant_id, d, a.id, a.at
FROM audit_log a, unnest(ARRAY[a.payload->>'device_id', a.payload->>'destination_device_id']) AS d
WHERE a.subject LIKE 'tessera.device.device.%' AND d IS NOT NULL AND d <> ''
ON CONFLICT DO NOTHING;
