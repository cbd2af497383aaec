-- Order lines in full (SPEC ENT-3): start at first activation, terms, maintenance and
-- version dates, custom attributes; quantity 0 once a line is cancelled, even with
-- seats out (they stay counted until returned).
ALTER TABLE line_items
    ADD COLUMN start_at_first_activation boolean NOT NULL DEFAULT false,
    ADD COLUMN expire_after              text NOT NULL DEFAULT '',
    ADD COLUMN maintenance_expire_time   timestamptz,
    ADD COLUMN version_date              timestamptz,
    ADD COLUMN version_start_time        timestamptz,
    ADD COLUMN attributes                jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN updated_at                timestamptz NOT NULL DEFAULT now();

DO $$
DECLARE c text;
BEGIN
    SELECT conname INTO c FROM pg_constraint
    WHERE conrelid = 'line_items'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%fulfilled <= quantity%';
    EXECUTE format('ALTER TABLE line_items DROP CONSTRAINT %I', c);
END $$;
ALTER TABLE line_items ADD CONSTRAINT line_items_seats CHECK (fulfilled >= 0 AND (fulfilled <= quantity OR quantity = 0));
